"""Athena on the gateway: each operation translated into one call on the query engine.

Parameters arrive parsed and validated against botocore's Athena model; each function
returns the output members by the model's names, and the JSON protocol lays them out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fogbank.catalog.model import Database
from fogbank.gateway.services.registry import Operations, present
from fogbank.query.engine import QueryExecution
from fogbank.query.workgroups import ENGINE, NamedQuery, PreparedStatement, WorkGroup

if TYPE_CHECKING:
    from fogbank.app import Fogbank

OPERATIONS = Operations()
_NULL: dict[str, str] = {}
"""A NULL's Datum (no VarCharValue), one for every NULL of a page: only ever read."""


# ------------------------------------------------------------------ executions


@OPERATIONS("StartQueryExecution")
def start_query_execution(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    context = p.get("QueryExecutionContext") or {}
    execution_id = fogbank.queries.start_query_execution(
        p["QueryString"],
        database=context.get("Database"),
        catalog=context.get("Catalog"),
        output_location=(p.get("ResultConfiguration") or {}).get("OutputLocation"),
        work_group=p.get("WorkGroup"),
        client_request_token=p.get("ClientRequestToken"),
        execution_parameters=p.get("ExecutionParameters") or (),
    )
    return {"QueryExecutionId": execution_id}


# How long GetQueryExecution may wait for a running query to end before it answers
# RUNNING: a client that polls between sleeps (every SDK) sees the end when it comes,
# not a sleep later; bounded so that a poll still answers within 0.1 s.
EXECUTION_HOLD_SECONDS = 0.1


@OPERATIONS("GetQueryExecution")
def get_query_execution(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    execution = fogbank.queries.get_query_execution(
        p["QueryExecutionId"], hold=EXECUTION_HOLD_SECONDS
    )
    return {"QueryExecution": _execution(execution)}


@OPERATIONS("BatchGetQueryExecution")
def batch_get_query_execution(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    found, missing = fogbank.queries.batch_get_query_execution(p["QueryExecutionIds"])
    return {
        "QueryExecutions": [_execution(e) for e in found],
        "UnprocessedQueryExecutionIds": missing,
    }


@OPERATIONS("ListQueryExecutions")
def list_query_executions(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    ids, token = fogbank.queries.list_query_executions(
        work_group=p.get("WorkGroup"),
        max_results=p.get("MaxResults", 50),
        next_token=p.get("NextToken"),
    )
    return present({"QueryExecutionIds": ids, "NextToken": token})


@OPERATIONS("StopQueryExecution")
def stop_query_execution(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fogbank.queries.stop_query_execution(p["QueryExecutionId"])
    return {}


@OPERATIONS("GetQueryResults")
def get_query_results(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    page = fogbank.queries.get_query_results(
        p["QueryExecutionId"],
        max_results=p.get("MaxResults", 1000),
        next_token=p.get("NextToken"),
    )
    rows = [
        {"Data": [_NULL if v is None else {"VarCharValue": v} for v in row]} for row in page.rows
    ]
    out: dict[str, Any] = {
        "ResultSet": {
            "Rows": rows,
            "ResultSetMetadata": {"ColumnInfo": [c.info() for c in page.columns]},
        },
        "UpdateCount": page.update_count or 0,
    }
    if page.next_token:
        out["NextToken"] = page.next_token
    return out


@OPERATIONS("GetQueryRuntimeStatistics")
def get_query_runtime_statistics(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    statistics = fogbank.queries.get_query_runtime_statistics(p["QueryExecutionId"])
    return {"QueryRuntimeStatistics": statistics}


# ------------------------------------------------------------------ workgroups


@OPERATIONS("CreateWorkGroup")
def create_work_group(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fogbank.queries.workgroups.create_work_group(
        p["Name"],
        configuration=p.get("Configuration"),
        description=p.get("Description"),
        tags={t["Key"]: t.get("Value", "") for t in p.get("Tags") or ()},
    )
    return {}


@OPERATIONS("GetWorkGroup")
def get_work_group(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    return {"WorkGroup": _work_group(fogbank.queries.workgroups.get_work_group(p["WorkGroup"]))}


@OPERATIONS("ListWorkGroups")
def list_work_groups(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    groups, token = fogbank.queries.workgroups.list_work_groups(
        max_results=p.get("MaxResults", 50), next_token=p.get("NextToken")
    )
    summaries = [
        present(
            {
                "Name": g.name,
                "State": g.state,
                "Description": g.description,
                "CreationTime": g.creation_time,
                "EngineVersion": g.configuration.get("EngineVersion", ENGINE),
            }
        )
        for g in groups
    ]
    return present({"WorkGroups": summaries, "NextToken": token})


@OPERATIONS("UpdateWorkGroup")
def update_work_group(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fogbank.queries.workgroups.update_work_group(
        p["WorkGroup"],
        description=p.get("Description"),
        updates=p.get("ConfigurationUpdates"),
        state=p.get("State"),
    )
    return {}


@OPERATIONS("DeleteWorkGroup")
def delete_work_group(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fogbank.queries.workgroups.delete_work_group(
        p["WorkGroup"], recursive=bool(p.get("RecursiveDeleteOption"))
    )
    return {}


# ------------------------------------------------------------------ named queries


@OPERATIONS("CreateNamedQuery")
def create_named_query(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    named_id = fogbank.queries.workgroups.create_named_query(
        name=p["Name"],
        database=p["Database"],
        query_string=p["QueryString"],
        description=p.get("Description"),
        work_group=p.get("WorkGroup"),
        client_request_token=p.get("ClientRequestToken"),
    )
    return {"NamedQueryId": named_id}


@OPERATIONS("GetNamedQuery")
def get_named_query(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    return {"NamedQuery": _named(fogbank.queries.workgroups.get_named_query(p["NamedQueryId"]))}


@OPERATIONS("BatchGetNamedQuery")
def batch_get_named_query(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    found, missing = fogbank.queries.workgroups.batch_get_named_query(p["NamedQueryIds"])
    return {"NamedQueries": [_named(q) for q in found], "UnprocessedNamedQueryIds": missing}


@OPERATIONS("ListNamedQueries")
def list_named_queries(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    ids, token = fogbank.queries.workgroups.list_named_queries(
        work_group=p.get("WorkGroup"),
        max_results=p.get("MaxResults", 50),
        next_token=p.get("NextToken"),
    )
    return present({"NamedQueryIds": ids, "NextToken": token})


@OPERATIONS("UpdateNamedQuery")
def update_named_query(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fogbank.queries.workgroups.update_named_query(
        p["NamedQueryId"],
        name=p["Name"],
        query_string=p["QueryString"],
        description=p.get("Description"),
    )
    return {}


@OPERATIONS("DeleteNamedQuery")
def delete_named_query(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fogbank.queries.workgroups.delete_named_query(p["NamedQueryId"])
    return {}


# ------------------------------------------------------------------ prepared statements


@OPERATIONS("CreatePreparedStatement")
def create_prepared_statement(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fogbank.queries.workgroups.create_prepared_statement(
        p["StatementName"], p["WorkGroup"], p["QueryStatement"], description=p.get("Description")
    )
    return {}


@OPERATIONS("GetPreparedStatement")
def get_prepared_statement(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    statement = fogbank.queries.workgroups.get_prepared_statement(
        p["StatementName"], p["WorkGroup"]
    )
    return {"PreparedStatement": _prepared(statement)}


@OPERATIONS("BatchGetPreparedStatement")
def batch_get_prepared_statement(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    found, missing = [], []
    for name in p["PreparedStatementNames"]:
        try:
            found.append(
                _prepared(fogbank.queries.workgroups.get_prepared_statement(name, p["WorkGroup"]))
            )
        except Exception as error:  # an unknown name is reported, not raised
            missing.append(
                {
                    "StatementName": name,
                    "ErrorCode": "INVALID_INPUT",
                    "ErrorMessage": getattr(error, "message", str(error)),
                }
            )
    return {"PreparedStatements": found, "UnprocessedPreparedStatementNames": missing}


@OPERATIONS("ListPreparedStatements")
def list_prepared_statements(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    statements, token = fogbank.queries.workgroups.list_prepared_statements(
        p["WorkGroup"], max_results=p.get("MaxResults", 50), next_token=p.get("NextToken")
    )
    summaries = [
        {"StatementName": s.statement_name, "LastModifiedTime": s.last_modified_time}
        for s in statements
    ]
    return present({"PreparedStatements": summaries, "NextToken": token})


@OPERATIONS("UpdatePreparedStatement")
def update_prepared_statement(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fogbank.queries.workgroups.update_prepared_statement(
        p["StatementName"], p["WorkGroup"], p["QueryStatement"], p.get("Description")
    )
    return {}


@OPERATIONS("DeletePreparedStatement")
def delete_prepared_statement(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fogbank.queries.workgroups.delete_prepared_statement(p["StatementName"], p["WorkGroup"])
    return {}


# ------------------------------------------------------------------ catalogs, tags


@OPERATIONS("ListDataCatalogs")
def list_data_catalogs(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    return {"DataCatalogsSummary": fogbank.queries.metadata.list_data_catalogs()}


@OPERATIONS("GetDataCatalog")
def get_data_catalog(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    return {"DataCatalog": fogbank.queries.metadata.get_data_catalog(p["Name"])}


@OPERATIONS("ListDatabases")
def list_databases(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    databases, token = fogbank.queries.metadata.list_databases(
        p["CatalogName"], max_results=p.get("MaxResults", 50), next_token=p.get("NextToken")
    )
    return present({"DatabaseList": [_database(d) for d in databases], "NextToken": token})


@OPERATIONS("GetDatabase")
def get_database(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    database = fogbank.queries.metadata.get_database(p["CatalogName"], p["DatabaseName"])
    return {"Database": _database(database)}


@OPERATIONS("ListTableMetadata")
def list_table_metadata(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    tables, token = fogbank.queries.metadata.list_table_metadata(
        p["CatalogName"],
        p["DatabaseName"],
        expression=p.get("Expression"),
        max_results=p.get("MaxResults", 50),
        next_token=p.get("NextToken"),
    )
    return present({"TableMetadataList": [t.shape() for t in tables], "NextToken": token})


@OPERATIONS("GetTableMetadata")
def get_table_metadata(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    table = fogbank.queries.metadata.get_table_metadata(
        p["CatalogName"], p["DatabaseName"], p["TableName"]
    )
    return {"TableMetadata": table.shape()}


@OPERATIONS("TagResource")
def tag_resource(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    tags = {t["Key"]: t.get("Value", "") for t in p["Tags"]}
    fogbank.queries.workgroups.tag_resource(p["ResourceARN"], tags)
    return {}


@OPERATIONS("UntagResource")
def untag_resource(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fogbank.queries.workgroups.untag_resource(p["ResourceARN"], p["TagKeys"])
    return {}


@OPERATIONS("ListTagsForResource")
def list_tags_for_resource(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    tags = fogbank.queries.workgroups.list_tags(p["ResourceARN"])
    return {"Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}


# ------------------------------------------------------------------ shapes


def _database(d: Database) -> dict[str, Any]:
    return present(
        {"Name": d.name, "Description": d.description, "Parameters": dict(d.parameters or {})}
    )


def _execution(e: QueryExecution) -> dict[str, Any]:
    status = present(
        {
            "State": e.state,
            "StateChangeReason": e.state_change_reason,
            "SubmissionDateTime": e.submission_time,
            "CompletionDateTime": e.completion_time,
            "AthenaError": e.athena_error,
        }
    )
    statistics = {
        "EngineExecutionTimeInMillis": e.engine_ms,
        "DataScannedInBytes": e.data_scanned_bytes,
        "TotalExecutionTimeInMillis": e.total_ms,
        "QueryQueueTimeInMillis": e.queue_ms,
        "QueryPlanningTimeInMillis": e.planning_ms,
        "ServiceProcessingTimeInMillis": 0,
    }
    return present(
        {
            "QueryExecutionId": e.query_execution_id,
            "Query": e.query,
            "StatementType": e.statement_type,
            "SubstatementType": e.substatement_type,
            "ResultConfiguration": present({"OutputLocation": e.output_location}),
            "QueryExecutionContext": present({"Database": e.database, "Catalog": e.catalog}),
            "Status": status,
            "Statistics": statistics,
            "WorkGroup": e.work_group,
            "EngineVersion": ENGINE,
            "ExecutionParameters": list(e.execution_parameters) or None,
        }
    )


def _work_group(g: WorkGroup) -> dict[str, Any]:
    return present(
        {
            "Name": g.name,
            "State": g.state,
            "Configuration": g.configuration,
            "Description": g.description,
            "CreationTime": g.creation_time,
        }
    )


def _named(q: NamedQuery) -> dict[str, Any]:
    return present(
        {
            "Name": q.name,
            "Description": q.description,
            "Database": q.database,
            "QueryString": q.query_string,
            "NamedQueryId": q.named_query_id,
            "WorkGroup": q.work_group,
        }
    )


def _prepared(s: PreparedStatement) -> dict[str, Any]:
    return present(
        {
            "StatementName": s.statement_name,
            "QueryStatement": s.query_statement,
            "WorkGroupName": s.work_group,
            "Description": s.description,
            "LastModifiedTime": s.last_modified_time,
        }
    )
