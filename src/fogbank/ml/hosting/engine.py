"""SageMaker models and endpoint configurations: CreateModel, DescribeModel, ListModels,
DeleteModel; CreateEndpointConfig, DescribeEndpointConfig, ListEndpointConfigs,
DeleteEndpointConfig.

A model names its container(s) (PrimaryContainer, or Containers for an inference
pipeline of up to 15, run Serial or Direct) and its artifacts; an endpoint
configuration names production variants (a model, instances, a weight) and data
capture. Both are immutable, as on AWS. Records live in the control-plane store
(service ``sagemaker``, kinds ``model`` and ``endpoint-config``); Describe echoes the
request as it was given, with the ARN and the creation time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fogbank.core.clock import Clock, SystemClock
from fogbank.core.errors import FogbankError, ResourceInUseException, ValidationException
from fogbank.core.ids import arn as make_arn
from fogbank.core.store import ControlPlaneStore
from fogbank.lake.engine import Lake
from fogbank.lake.names import parse_location
from fogbank.ml.listing import page

SERVICE = "sagemaker"
MODEL = "model"
ENDPOINT_CONFIG = "endpoint-config"
MAX_CONTAINERS = 15
SORT_KEYS = ("Name", "CreationTime")


@dataclass(frozen=True)
class HostingResource:
    """A model or an endpoint configuration: the request as given, its ARN and time."""

    name: str
    arn: str
    request: dict[str, Any]
    creation_time: datetime

    def to_body(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "arn": self.arn,
            "request": self.request,
            "creation_time": self.creation_time.isoformat(),
        }

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> HostingResource:
        return cls(
            body["name"],
            body["arn"],
            body["request"],
            datetime.fromisoformat(body["creation_time"]),
        )

    @property
    def containers(self) -> list[dict[str, Any]]:
        """A model's containers, in order (a single PrimaryContainer is a list of one)."""
        primary = self.request.get("PrimaryContainer")
        found: list[dict[str, Any]] = [primary] if primary else self.request.get("Containers", [])
        return found


@dataclass(frozen=True)
class HostingPage:
    items: tuple[HostingResource, ...]
    next_token: str | None


class Hosting:
    """The models and endpoint configurations of one fogbank home."""

    def __init__(
        self,
        store: ControlPlaneStore,
        lake: Lake,
        *,
        clock: Clock | None = None,
        account_id: str = "000000000000",
        region: str = "us-east-1",
    ) -> None:
        self._store = store
        self._lake = lake
        self._clock = clock or SystemClock()
        self._account_id = account_id
        self._region = region

    def arn(self, kind: str, name: str) -> str:
        return make_arn("sagemaker", self._region, self._account_id, f"{kind}/{name.lower()}")

    # ------------------------------------------------------------------ models

    def create_model(self, request: dict[str, Any]) -> HostingResource:
        """CreateModel: one container or a pipeline, each image given, each ModelDataUrl
        an object that exists (AWS checks it here, not at CreateEndpoint)."""
        name = request["ModelName"]
        primary, containers = request.get("PrimaryContainer"), request.get("Containers")
        if bool(primary) == bool(containers):
            raise ValidationException(
                "CreateModel needs PrimaryContainer or Containers (an inference pipeline), "
                "not both and not neither."
            )
        listed: list[dict[str, Any]] = [primary] if primary else list(containers or [])
        if len(listed) > MAX_CONTAINERS:
            raise ValidationException(
                f"Containers has {len(listed)} entries; an inference pipeline holds at most "
                f"{MAX_CONTAINERS}."
            )
        mode = (request.get("InferenceExecutionConfig") or {}).get("Mode")
        if mode is not None and primary:
            raise ValidationException(
                "InferenceExecutionConfig applies to Containers (a pipeline), not to a "
                "PrimaryContainer."
            )
        hostnames = [c["ContainerHostname"] for c in listed if c.get("ContainerHostname")]
        if containers and hostnames and len(hostnames) != len(listed):
            raise ValidationException(
                "ContainerHostname is set for some of the pipeline's Containers but not all: "
                "give every container a ContainerHostname, or none (then each is named by "
                "its position)."
            )
        if len(set(hostnames)) != len(hostnames):
            raise ValidationException("ContainerHostname values must be unique in a model.")
        for index, container in enumerate(listed):
            where = "PrimaryContainer" if primary else f"Containers[{index}]"
            if not container.get("Image") and not container.get("ModelPackageName"):
                raise ValidationException(f"{where}.Image is required: give the container image.")
            url = container.get("ModelDataUrl")
            if url:
                self._require_model_data(where, url)
        stored = {k: v for k, v in request.items() if k != "Tags"}
        model = HostingResource(name, self.arn(MODEL, name), stored, self._clock.now())
        self._create(MODEL, model, "model", request.get("Tags"))
        return model

    def _require_model_data(self, where: str, url: str) -> None:
        try:
            bucket, key = parse_location(url)
            self._lake.head_object(bucket, key)
        except FogbankError:
            raise ValidationException(
                f"Could not find model data at {url}. Check {where}.ModelDataUrl: it must "
                "name a model.tar.gz that exists (a training job's ModelArtifacts)."
            ) from None
        if not url.startswith("s3://"):
            raise ValidationException(f"{where}.ModelDataUrl {url!r} must be an s3:// URI.")

    def describe_model(self, name: str) -> HostingResource:
        return self._get(MODEL, name, "model")

    def list_models(self, **options: Any) -> HostingPage:
        return self._list(MODEL, "ListModels", **options)

    def delete_model(self, name: str) -> None:
        self.describe_model(name)
        self._store.delete_resource(SERVICE, MODEL, name)

    # ------------------------------------------------------------------ endpoint configs

    def create_endpoint_config(self, request: dict[str, Any]) -> HostingResource:
        """CreateEndpointConfig: every variant names an existing model, variant names are
        unique, weights are not negative; the configuration is immutable afterwards."""
        name = request["EndpointConfigName"]
        variants = request["ProductionVariants"]
        names = [v["VariantName"] for v in variants]
        if len(set(names)) != len(names):
            raise ValidationException(
                f"ProductionVariants must have unique VariantName values; got {', '.join(names)}."
            )
        for variant in variants:
            model = variant.get("ModelName")
            if not model:
                raise ValidationException(
                    f"ProductionVariant {variant['VariantName']!r} needs a ModelName."
                )
            self.describe_model(model)
            if variant.get("ServerlessConfig") is None and not variant.get("InitialInstanceCount"):
                raise ValidationException(
                    f"ProductionVariant {variant['VariantName']!r} needs InitialInstanceCount "
                    "(or a ServerlessConfig)."
                )
        capture = request.get("DataCaptureConfig")
        if capture is not None and capture.get("EnableCapture", True):
            destination = str(capture.get("DestinationS3Uri", ""))
            if not destination.startswith("s3://"):
                raise ValidationException(
                    "DataCaptureConfig.DestinationS3Uri must be an s3:// URI where captured "
                    "requests and responses go."
                )
        stored = {k: v for k, v in request.items() if k != "Tags"}
        stored["ProductionVariants"] = [
            {**v, "InitialVariantWeight": float(v.get("InitialVariantWeight", 1.0))}
            for v in variants
        ]
        config = HostingResource(name, self.arn(ENDPOINT_CONFIG, name), stored, self._clock.now())
        self._create(ENDPOINT_CONFIG, config, "endpoint configuration", request.get("Tags"))
        return config

    def describe_endpoint_config(self, name: str) -> HostingResource:
        return self._get(ENDPOINT_CONFIG, name, "endpoint configuration")

    def list_endpoint_configs(self, **options: Any) -> HostingPage:
        return self._list(ENDPOINT_CONFIG, "ListEndpointConfigs", **options)

    def delete_endpoint_config(self, name: str) -> None:
        self.describe_endpoint_config(name)
        self._store.delete_resource(SERVICE, ENDPOINT_CONFIG, name)

    # ------------------------------------------------------------------ plumbing

    def _create(
        self, kind: str, item: HostingResource, noun: str, tags: list[dict[str, str]] | None
    ) -> None:
        try:
            self._store.put_resource(
                SERVICE, kind, item.name, item.arn, item.to_body(), create_only=True
            )
        except ResourceInUseException:
            raise ValidationException(
                f'Cannot create already existing {noun} "{item.arn}".'
            ) from None
        if tags:
            self._store.tag_resource(item.arn, {t["Key"]: t.get("Value", "") for t in tags})

    def _get(self, kind: str, name: str, noun: str) -> HostingResource:
        found = self._store.find_resource(SERVICE, kind, name)
        if found is None:
            raise ValidationException(f'Could not find {noun} "{self.arn(kind, name)}".')
        return HostingResource.from_body(found.body)

    def _list(
        self,
        kind: str,
        operation: str,
        *,
        max_results: int = 10,
        next_token: str | None = None,
        name_contains: str | None = None,
        creation_time_after: datetime | None = None,
        creation_time_before: datetime | None = None,
        sort_by: str = "CreationTime",
        sort_order: str = "Descending",
    ) -> HostingPage:
        if sort_by not in SORT_KEYS:
            raise ValidationException(
                f"SortBy must be one of {', '.join(SORT_KEYS)}; got {sort_by!r}."
            )
        items = [
            HostingResource.from_body(r.body) for r in self._store.all_resources(SERVICE, kind)
        ]

        def keep(item: HostingResource) -> bool:
            return (
                (name_contains is None or name_contains.lower() in item.name.lower())
                and (creation_time_after is None or item.creation_time > creation_time_after)
                and (creation_time_before is None or item.creation_time < creation_time_before)
            )

        key: Callable[[HostingResource], Any] = (
            (lambda i: (i.name,)) if sort_by == "Name" else (lambda i: (i.creation_time, i.name))
        )
        chosen, token = page(
            [i for i in items if keep(i)],
            key=key,
            descending=sort_order == "Descending",
            next_token=next_token,
            max_results=max_results,
            operation=operation,
        )
        return HostingPage(tuple(chosen), token)
