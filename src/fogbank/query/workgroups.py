"""Athena workgroups, named queries and prepared statements, kept in the control plane.

A workgroup holds the settings queries run under: the result location (enforced over
the client's with EnforceWorkGroupConfiguration), BytesScannedCutoffPerQuery, ENABLED
or DISABLED. ``primary`` always exists and cannot be deleted. Named queries are saved
SQL with an id; prepared statements are SQL with ``?`` parameters, named within a
workgroup, run by ``EXECUTE name USING ...``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fogbank.core.clock import Clock
from fogbank.core.errors import InvalidRequestException, ResourceNotFoundException
from fogbank.core.store import ControlPlaneStore, Resource

SERVICE = "athena"
WORKGROUP, NAMED, PREPARED = "workgroup", "named-query", "prepared-statement"
PRIMARY = "primary"
ENGINE = {"SelectedEngineVersion": "AUTO", "EffectiveEngineVersion": "Athena engine version 3"}
_NAME = re.compile(r"[a-zA-Z0-9._-]{1,128}")
_SEP = "\x1f"


@dataclass(frozen=True)
class WorkGroup:
    name: str
    state: str
    configuration: Mapping[str, Any]
    description: str | None
    creation_time: datetime


@dataclass(frozen=True)
class NamedQuery:
    named_query_id: str
    name: str
    database: str
    query_string: str
    work_group: str
    description: str | None


@dataclass(frozen=True)
class PreparedStatement:
    statement_name: str
    query_statement: str
    work_group: str
    description: str | None
    last_modified_time: datetime


def _invalid(message: str) -> InvalidRequestException:
    return InvalidRequestException(message, AthenaErrorCode="INVALID_INPUT")


class WorkGroups:
    """Workgroups, named queries and prepared statements of one account and region."""

    def __init__(
        self, store: ControlPlaneStore, *, clock: Clock, account_id: str, region: str
    ) -> None:
        self._store = store
        self._clock = clock
        self.account_id = account_id
        self.region = region

    def arn(self, name: str) -> str:
        return f"arn:aws:athena:{self.region}:{self.account_id}:workgroup/{name}"

    # ------------------------------------------------------------------ workgroups

    def create_work_group(
        self,
        name: str,
        *,
        configuration: Mapping[str, Any] | None = None,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        if not _NAME.fullmatch(name):
            raise _invalid(
                f"WorkGroup name {name!r} must be 1 to 128 letters, digits, '.', '_' or '-'."
            )
        body = {
            "Configuration": _configuration(configuration or {}),
            "Description": description,
            "CreationTime": self._now().isoformat(),
        }
        if name == PRIMARY or self._store.find_resource(SERVICE, WORKGROUP, name) is not None:
            raise _invalid("WorkGroup is already created")
        self._store.put_resource(
            SERVICE, WORKGROUP, name, self.arn(name), body, state="ENABLED", create_only=True
        )
        if tags:
            self._store.tag_resource(self.arn(name), tags)

    def get_work_group(self, name: str) -> WorkGroup:
        resource = self._work_group(name)
        body = resource.body
        return WorkGroup(
            name=resource.name,
            state=resource.state,
            configuration=body["Configuration"],
            description=body.get("Description"),
            creation_time=datetime.fromisoformat(body["CreationTime"]),
        )

    def list_work_groups(
        self, *, max_results: int = 50, next_token: str | None = None
    ) -> tuple[list[WorkGroup], str | None]:
        self._work_group(PRIMARY)
        page, token = self._store.list_resources(
            SERVICE, WORKGROUP, max_results=max_results, next_token=next_token
        )
        return [self.get_work_group(r.name) for r in page], token

    def update_work_group(
        self,
        name: str,
        *,
        description: str | None = None,
        updates: Mapping[str, Any] | None = None,
        state: str | None = None,
    ) -> None:
        resource = self._work_group(name)
        body = dict(resource.body)
        configuration = dict(body["Configuration"])
        updates = dict(updates or {})
        if "ResultConfigurationUpdates" in updates:
            changes = dict(updates.pop("ResultConfigurationUpdates"))
            result = dict(configuration.get("ResultConfiguration") or {})
            if changes.pop("RemoveOutputLocation", False):
                result.pop("OutputLocation", None)
            result.update({k: v for k, v in changes.items() if not k.startswith("Remove")})
            configuration["ResultConfiguration"] = result
        if updates.pop("RemoveBytesScannedCutoffPerQuery", False):
            configuration.pop("BytesScannedCutoffPerQuery", None)
        for member, value in updates.items():
            if not member.startswith("Remove"):
                configuration[member] = value
        body["Configuration"] = _configuration(configuration)
        if description is not None:
            body["Description"] = description
        self._store.put_resource(
            SERVICE, WORKGROUP, name, resource.arn, body, state=state or resource.state
        )

    def delete_work_group(self, name: str, *, recursive: bool = False) -> None:
        if name == PRIMARY:
            raise _invalid("Primary workgroup cannot be deleted")
        self._work_group(name)
        has_statements = self._store.list_resources(
            SERVICE, PREPARED, max_results=1, name_prefix=name + _SEP
        )[0]
        if has_statements and not recursive:
            raise _invalid(
                f"WorkGroup {name} is not empty: it holds prepared statements; delete them, "
                "or delete it with RecursiveDeleteOption true."
            )
        self._store.delete_resources(SERVICE, PREPARED, name_prefix=name + _SEP)
        self._store.delete_resource(SERVICE, WORKGROUP, name)

    def _work_group(self, name: str) -> Resource:
        found = self._store.find_resource(SERVICE, WORKGROUP, name)
        if found is None and name == PRIMARY:
            body = {
                "Configuration": _configuration({}),
                "Description": None,
                "CreationTime": self._now().isoformat(),
            }
            self._store.put_resource(
                SERVICE, WORKGROUP, PRIMARY, self.arn(PRIMARY), body, state="ENABLED"
            )
            found = self._store.find_resource(SERVICE, WORKGROUP, name)
        if found is None:
            raise _invalid(f"WorkGroup {name} is not found.")
        return found

    def tag_resource(self, arn: str, tags: Mapping[str, str]) -> None:
        """TagResource: on a workgroup's ARN (at most 50 tags)."""
        name = self._tagged(arn)
        held = self._store.list_tags(arn)
        if len({**held, **tags}) > 50:
            raise _invalid(f"WorkGroup {name} would have more than 50 tags; remove some first.")
        self._store.tag_resource(arn, tags)

    def untag_resource(self, arn: str, keys: Sequence[str]) -> None:
        self._tagged(arn)
        self._store.untag_resource(arn, keys)

    def list_tags(self, arn: str) -> dict[str, str]:
        self._tagged(arn)
        return self._store.list_tags(arn)

    def _tagged(self, arn: str) -> str:
        prefix = self.arn("")
        name = arn[len(prefix) :] if arn.startswith(prefix) else ""
        if not name or self._store.find_resource(SERVICE, WORKGROUP, name) is None:
            if name == PRIMARY:
                return self._work_group(PRIMARY).name
            raise ResourceNotFoundException(
                f"The resource {arn} does not exist; tags go on a workgroup's ARN, such as "
                f"{self.arn(PRIMARY)}."
            )
        return name

    # ------------------------------------------------------------------ named queries

    def create_named_query(
        self,
        *,
        name: str,
        database: str,
        query_string: str,
        description: str | None = None,
        work_group: str | None = None,
        client_request_token: str | None = None,
    ) -> str:
        group = self._work_group(work_group or PRIMARY).name
        if client_request_token:
            for query in self._all(NAMED):
                if query.body.get("ClientRequestToken") == client_request_token:
                    return query.name
        named_id = str(uuid.uuid4())
        body = {
            "Name": name,
            "Database": database,
            "QueryString": query_string,
            "Description": description,
            "WorkGroup": group,
            "ClientRequestToken": client_request_token,
        }
        self._store.put_resource(
            SERVICE, NAMED, named_id, f"{self.arn(group)}/namedquery/{named_id}", body
        )
        return named_id

    def get_named_query(self, named_id: str) -> NamedQuery:
        found = self._store.find_resource(SERVICE, NAMED, named_id)
        if found is None:
            raise _invalid(f"NamedQuery {named_id} was not found.")
        return _named(found)

    def batch_get_named_query(
        self, ids: Sequence[str]
    ) -> tuple[list[NamedQuery], list[dict[str, str]]]:
        found, missing = batch_find(self._store, NAMED, ids, "NamedQueryId", "NamedQuery")
        return [_named(r) for r in found], missing

    def list_named_queries(
        self, *, work_group: str | None = None, max_results: int = 50, next_token: str | None = None
    ) -> tuple[list[str], str | None]:
        group = self._work_group(work_group or PRIMARY).name
        page, token = self._store.list_resources(
            SERVICE, NAMED, max_results=max_results, next_token=next_token
        )
        return [r.name for r in page if r.body.get("WorkGroup") == group], token

    def update_named_query(
        self, named_id: str, *, name: str, query_string: str, description: str | None = None
    ) -> None:
        current = self.get_named_query(named_id)
        resource = self._store.get_resource(SERVICE, NAMED, named_id)
        body = {**resource.body, "Name": name, "QueryString": query_string}
        if description is not None:
            body["Description"] = description
        self._store.put_resource(SERVICE, NAMED, current.named_query_id, resource.arn, body)

    def delete_named_query(self, named_id: str) -> None:
        self.get_named_query(named_id)
        self._store.delete_resource(SERVICE, NAMED, named_id)

    # ------------------------------------------------------------------ prepared statements

    def create_prepared_statement(
        self,
        name: str,
        work_group: str,
        query_statement: str,
        *,
        description: str | None = None,
        replace: bool = False,
    ) -> None:
        group = self._work_group(work_group).name
        key = group + _SEP + name.lower()
        if not replace and self._store.find_resource(SERVICE, PREPARED, key) is not None:
            raise _invalid(f"Prepared statement {name} already exists in WorkGroup {group}")
        body = {
            "StatementName": name.lower(),
            "QueryStatement": query_statement,
            "WorkGroupName": group,
            "Description": description,
            "LastModifiedTime": self._now().isoformat(),
        }
        self._store.put_resource(
            SERVICE, PREPARED, key, f"{self.arn(group)}/preparedstatement/{name.lower()}", body
        )

    def get_prepared_statement(self, name: str, work_group: str) -> PreparedStatement:
        group = self._work_group(work_group).name
        found = self._store.find_resource(SERVICE, PREPARED, group + _SEP + name.lower())
        if found is None:
            raise ResourceNotFoundException(
                f"Prepared statement {name} was not found in WorkGroup {group}. "
                "ListPreparedStatements lists them."
            )
        body = found.body
        return PreparedStatement(
            statement_name=body["StatementName"],
            query_statement=body["QueryStatement"],
            work_group=body["WorkGroupName"],
            description=body.get("Description"),
            last_modified_time=datetime.fromisoformat(body["LastModifiedTime"]),
        )

    def update_prepared_statement(
        self, name: str, work_group: str, query_statement: str, description: str | None = None
    ) -> None:
        self.get_prepared_statement(name, work_group)
        self.create_prepared_statement(
            name, work_group, query_statement, description=description, replace=True
        )

    def list_prepared_statements(
        self, work_group: str, *, max_results: int = 50, next_token: str | None = None
    ) -> tuple[list[PreparedStatement], str | None]:
        group = self._work_group(work_group).name
        page, token = self._store.list_resources(
            SERVICE,
            PREPARED,
            max_results=max_results,
            next_token=next_token,
            name_prefix=group + _SEP,
        )
        return [self.get_prepared_statement(r.body["StatementName"], group) for r in page], token

    def delete_prepared_statement(self, name: str, work_group: str) -> None:
        statement = self.get_prepared_statement(name, work_group)
        self._store.delete_resource(
            SERVICE, PREPARED, statement.work_group + _SEP + statement.statement_name
        )

    # ------------------------------------------------------------------ plumbing

    def _all(self, kind: str) -> list[Resource]:
        found: list[Resource] = []
        token: str | None = None
        while True:
            page, token = self._store.list_resources(
                SERVICE, kind, max_results=100, next_token=token
            )
            found.extend(page)
            if token is None:
                return found

    def _now(self) -> datetime:
        return self._clock.now().astimezone(UTC)


def batch_find(
    store: ControlPlaneStore, kind: str, ids: Sequence[str], member: str, label: str
) -> tuple[list[Resource], list[dict[str, str]]]:
    """The resources a BatchGet names, and an Unprocessed entry for each missing one."""
    found, missing = [], []
    for given in ids:
        resource = store.find_resource(SERVICE, kind, given)
        if resource is None:
            missing.append(
                {
                    member: given,
                    "ErrorCode": "INVALID_INPUT",
                    "ErrorMessage": f"{label} {given} was not found",
                }
            )
        else:
            found.append(resource)
    return found, missing


def _configuration(given: Mapping[str, Any]) -> dict[str, Any]:
    configuration = {
        "ResultConfiguration": {},
        "EnforceWorkGroupConfiguration": False,
        "PublishCloudWatchMetricsEnabled": True,
        "RequesterPaysEnabled": False,
        "EngineVersion": dict(ENGINE),
        **given,
    }
    cutoff = configuration.get("BytesScannedCutoffPerQuery")
    if cutoff is not None and cutoff < 10_000_000:
        raise _invalid(
            f"BytesScannedCutoffPerQuery must be at least 10000000 bytes (10 MB); got {cutoff}."
        )
    return configuration


def _named(resource: Resource) -> NamedQuery:
    body = resource.body
    return NamedQuery(
        named_query_id=resource.name,
        name=body["Name"],
        database=body["Database"],
        query_string=body["QueryString"],
        work_group=body["WorkGroup"],
        description=body.get("Description"),
    )
