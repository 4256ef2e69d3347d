"""The botocore service models the gateway speaks, and how a request finds its operation.

The models are the ones installed with botocore (the version boto3 uses), loaded
with botocore's own loader: operation names, shapes, HTTP bindings and limits
come from there, never from a copy. A JSON-protocol request names its operation
in ``X-Amz-Target``; a REST request is matched on method, path and query against
each operation's ``requestUri``.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass

import botocore.session
from botocore.model import OperationModel, OperationNotFoundError, ServiceModel

from fogbank.core.errors import UnknownOperationException

_LABEL = re.compile(r"^\{([^}+]+)(\+?)\}$")


@dataclass(frozen=True)
class RestRoute:
    """One operation's HTTP binding: method, path segments and the query keys it requires."""

    operation: str
    method: str
    segments: tuple[str, ...]
    """Literal segments, or ``{Label}`` / ``{Label+}`` (greedy: the rest of the path)."""
    query: tuple[tuple[str, str | None], ...]
    """Query keys the request must carry, with the value required, if any."""
    headers: tuple[str, ...]
    """Headers (lower case) the request must carry: required members bound to headers."""

    @classmethod
    def parse(cls, operation: OperationModel) -> RestRoute:
        uri: str = operation.http["requestUri"]
        path, _, query = uri.partition("?")
        segments = tuple(s for s in path.split("/") if s)
        required: dict[str, str | None] = {}
        for item in filter(None, query.split("&")):
            key, eq, value = item.partition("=")
            required[key] = None if value.startswith("{") or not eq else value
        headers: list[str] = []
        shape = operation.input_shape
        if shape is not None:
            # Operations sharing a URI (GetObject / ListParts, PutObject / CopyObject) differ
            # by the query keys and headers their required members are bound to.
            for name in shape.required_members:
                member = shape.members[name]
                location = member.serialization.get("location")
                wire = member.serialization.get("name", name)
                if location == "querystring":
                    required.setdefault(wire, None)
                elif location == "header":
                    headers.append(wire.lower())
        return cls(
            operation.name,
            operation.http["method"],
            segments,
            tuple(required.items()),
            tuple(headers),
        )

    def match(
        self, segments: list[str], query: Mapping[str, str], headers: Container[str]
    ) -> dict[str, str] | None:
        """The labels this route binds, or ``None`` when the request is not for it."""
        for key, value in self.query:
            if key not in query or (value is not None and query[key] != value):
                return None
        for header in self.headers:
            if header not in headers:
                return None
        labels: dict[str, str] = {}
        for index, template in enumerate(self.segments):
            label = _LABEL.match(template)
            if label is None:
                if index >= len(segments) or segments[index] != template:
                    return None
                continue
            name, greedy = label.groups()
            if greedy:
                rest = "/".join(segments[index:])
                if not rest:
                    return None
                labels[name] = rest
                return labels
            if index >= len(segments) or not segments[index]:
                return None
            labels[name] = segments[index]
        if len(segments) != len(self.segments):
            return None
        return labels


@dataclass(frozen=True)
class Service:
    """One AWS service as the gateway sees it: its model and how to find an operation."""

    name: str
    model: ServiceModel
    routes: tuple[RestRoute, ...]

    @property
    def protocol(self) -> str:
        return str(self.model.protocol)

    def operation(self, name: str) -> OperationModel:
        try:
            return self.model.operation_model(name)
        except OperationNotFoundError:
            raise UnknownOperationException(
                f"{self.model.service_id} has no operation {name!r}; check the X-Amz-Target "
                "header.",
            ) from None

    def route(
        self, method: str, segments: list[str], query: Mapping[str, str], headers: Container[str]
    ) -> tuple[OperationModel, dict[str, str]]:
        """The operation a REST request is for, with its path labels.

        The most specific route wins: the one requiring the most query keys, then
        the one with the most literal path segments.
        """
        best: tuple[int, int] | None = None
        found: tuple[RestRoute, dict[str, str]] | None = None
        for route in self.routes:
            if route.method != method:
                continue
            labels = route.match(segments, query, headers)
            if labels is None:
                continue
            literal = sum(1 for s in route.segments if not _LABEL.match(s))
            score = (len(route.query) + len(route.headers), literal)
            if best is None or score > best:
                best, found = score, (route, labels)
        if found is None:
            raise UnknownOperationException(
                f"{self.model.service_id} has no operation for {method} /{'/'.join(segments)}"
                f"{'?' + '&'.join(sorted(query)) if query else ''}.",
            )
        return self.model.operation_model(found[0].operation), found[1]


# The services the gateway speaks, by the X-Amz-Target prefix their JSON requests carry
# (None: a REST protocol). A test checks this table against botocore's own models.
TARGET_PREFIXES: dict[str, str | None] = {
    "s3": None,
    "kinesis": "Kinesis_20131202",
    "firehose": "Firehose_20150804",
    "glue": "AWSGlue",
    "athena": "AmazonAthena",
    "sagemaker": "SageMaker",
    "sagemaker-runtime": None,
    "logs": "Logs_20140328",
    "stepfunctions": "AWSStepFunctions",
}


@functools.cache
def _load_model(name: str) -> ServiceModel:
    """botocore's model of ``name``: read-only data from the installed package, loaded once
    per process (the SageMaker model alone is megabytes of JSON)."""
    return botocore.session.get_session().get_service_model(name)


class ServiceCatalog:
    """The services the gateway speaks, each loaded from botocore on first use and kept."""

    def __init__(self, names: Iterable[str] = TARGET_PREFIXES) -> None:
        self._names = tuple(names)
        self._services: dict[str, Service] = {}
        self._lock = threading.Lock()
        self._by_target = {
            prefix: name for name in self._names if (prefix := TARGET_PREFIXES.get(name))
        }

    def __getitem__(self, name: str) -> Service:
        service = self._services.get(name)
        if service is not None:
            return service
        if name not in self._names:
            raise KeyError(name)
        with self._lock:
            if name not in self._services:
                model = _load_model(name)
                routes: tuple[RestRoute, ...] = ()
                if model.protocol in ("rest-xml", "rest-json"):
                    routes = tuple(
                        RestRoute.parse(model.operation_model(op)) for op in model.operation_names
                    )
                self._services[name] = Service(name, model, routes)
            return self._services[name]

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def names(self) -> list[str]:
        return sorted(self._names)

    def by_target_prefix(self, prefix: str) -> Service | None:
        name = self._by_target.get(prefix)
        return None if name is None else self[name]
