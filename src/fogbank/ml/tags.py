"""SageMaker's AddTags, ListTags and DeleteTags: tags on any SageMaker resource's ARN.

An ARN is ``arn:aws:sagemaker:<region>:<account>:<kind>/<name>`` (the name lowercased,
as SageMaker writes it); tags on an ARN that names no resource are refused.
"""

from __future__ import annotations

from fogbank.core.errors import ResourceNotFound
from fogbank.core.store import ControlPlaneStore

SERVICE = "sagemaker"
# ARN resource type -> the control-plane kind holding it.
KINDS = {
    "training-job": "training-job",
    "model": "model",
    "endpoint-config": "endpoint-config",
    "endpoint": "endpoint",
    "transform-job": "transform-job",
}


class SageMakerTags:
    def __init__(self, store: ControlPlaneStore) -> None:
        self._store = store

    def add_tags(self, resource_arn: str, tags: dict[str, str]) -> None:
        self._require(resource_arn)
        self._store.tag_resource(resource_arn, tags)

    def list_tags(self, resource_arn: str) -> dict[str, str]:
        self._require(resource_arn)
        return self._store.list_tags(resource_arn)

    def delete_tags(self, resource_arn: str, keys: list[str]) -> None:
        self._require(resource_arn)
        self._store.untag_resource(resource_arn, keys)

    def _require(self, resource_arn: str) -> None:
        kind, _, name = resource_arn.rpartition(":")[2].partition("/")
        stored = KINDS.get(kind)
        if (
            stored is not None
            and name
            and any(r.arn == resource_arn for r in self._store.all_resources(SERVICE, stored))
        ):
            return
        raise ResourceNotFound(f"Resource {resource_arn!r} does not exist; check the ARN.")
