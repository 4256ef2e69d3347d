"""Glue on the gateway: each Data Catalog operation translated into one catalog call.

Parameters arrive parsed and validated against botocore's Glue model (member names
as in boto3: ``DatabaseName``, ``TableInput``...); each function returns the output
members by the model's names, and the JSON protocol writes them out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fogbank.catalog.crawler import Crawler
from fogbank.catalog.custom import CustomClassifier
from fogbank.catalog.engine import Catalog
from fogbank.catalog.model import (
    Database,
    Page,
    Partition,
    PartitionFailure,
    Table,
    TableVersion,
)
from fogbank.core.errors import InvalidInputException
from fogbank.gateway.services.registry import Operations, present

if TYPE_CHECKING:
    from fogbank.app import Fogbank

OPERATIONS = Operations()


def _catalog(fogbank: Fogbank, p: dict[str, Any]) -> Catalog:
    catalog: Catalog = fogbank.catalog
    catalog.check_catalog_id(p.get("CatalogId"))
    return catalog


# ------------------------------------------------------------------ databases


@OPERATIONS("CreateDatabase")
def create_database(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    _catalog(fogbank, p).create_database(p["DatabaseInput"], tags=p.get("Tags"))
    return {}


@OPERATIONS("GetDatabase")
def get_database(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    return {"Database": _database(_catalog(fogbank, p).get_database(p["Name"]))}


@OPERATIONS("GetDatabases")
def get_databases(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    page = _catalog(fogbank, p).get_databases(
        max_results=p.get("MaxResults", 100), next_token=p.get("NextToken")
    )
    return {"DatabaseList": [_database(d) for d in page.items], "NextToken": page.next_token}


@OPERATIONS("UpdateDatabase")
def update_database(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    _catalog(fogbank, p).update_database(p["Name"], p["DatabaseInput"])
    return {}


@OPERATIONS("DeleteDatabase")
def delete_database(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    _catalog(fogbank, p).delete_database(p["Name"])
    return {}


# ------------------------------------------------------------------ tables


@OPERATIONS("CreateTable")
def create_table(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    _catalog(fogbank, p).create_table(p["DatabaseName"], _table_input(p))
    return {}


@OPERATIONS("GetTable")
def get_table(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    return {"Table": _table(_catalog(fogbank, p).get_table(p["DatabaseName"], p["Name"]))}


@OPERATIONS("GetTables")
def get_tables(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    page = _catalog(fogbank, p).get_tables(
        p["DatabaseName"],
        expression=p.get("Expression"),
        max_results=p.get("MaxResults", 100),
        next_token=p.get("NextToken"),
    )
    return _tables_page(page)


@OPERATIONS("UpdateTable")
def update_table(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    _catalog(fogbank, p).update_table(
        p["DatabaseName"],
        _table_input(p),
        version_id=p.get("VersionId"),
        skip_archive=p.get("SkipArchive") or False,
    )
    return {}


@OPERATIONS("DeleteTable")
def delete_table(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    _catalog(fogbank, p).delete_table(p["DatabaseName"], p["Name"])
    return {}


@OPERATIONS("BatchDeleteTable")
def batch_delete_table(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    failures = _catalog(fogbank, p).batch_delete_table(p["DatabaseName"], p["TablesToDelete"])
    return {
        "Errors": [
            {"TableName": f.table_name, "ErrorDetail": _error(f.error.code, f.error.message)}
            for f in failures
        ]
    }


@OPERATIONS("GetTableVersion")
def get_table_version(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    version = _catalog(fogbank, p).get_table_version(
        p["DatabaseName"], p["TableName"], p.get("VersionId")
    )
    return {"TableVersion": _table_version(version)}


@OPERATIONS("GetTableVersions")
def get_table_versions(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    page = _catalog(fogbank, p).get_table_versions(
        p["DatabaseName"],
        p["TableName"],
        max_results=p.get("MaxResults", 100),
        next_token=p.get("NextToken"),
    )
    return {
        "TableVersions": [_table_version(v) for v in page.items],
        "NextToken": page.next_token,
    }


@OPERATIONS("DeleteTableVersion")
def delete_table_version(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    _catalog(fogbank, p).delete_table_version(p["DatabaseName"], p["TableName"], p["VersionId"])
    return {}


@OPERATIONS("BatchDeleteTableVersion")
def batch_delete_table_version(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    failures = _catalog(fogbank, p).batch_delete_table_version(
        p["DatabaseName"], p["TableName"], p["VersionIds"]
    )
    return {
        "Errors": [
            {
                "TableName": f.table_name,
                "VersionId": f.version_id,
                "ErrorDetail": _error(f.error.code, f.error.message),
            }
            for f in failures
        ]
    }


@OPERATIONS("SearchTables")
def search_tables(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    criteria = (p.get("SortCriteria") or [{}])[0]
    page = _catalog(fogbank, p).search_tables(
        search_text=p.get("SearchText"),
        filters=p.get("Filters") or (),
        sort_field=criteria.get("FieldName"),
        descending=criteria.get("Sort") == "DESC",
        max_results=p.get("MaxResults", 100),
        next_token=p.get("NextToken"),
    )
    return _tables_page(page)


# ------------------------------------------------------------------ partitions


@OPERATIONS("CreatePartition")
def create_partition(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    _catalog(fogbank, p).create_partition(p["DatabaseName"], p["TableName"], p["PartitionInput"])
    return {}


@OPERATIONS("BatchCreatePartition")
def batch_create_partition(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    failures = _catalog(fogbank, p).batch_create_partition(
        p["DatabaseName"], p["TableName"], p["PartitionInputList"]
    )
    return {"Errors": [_partition_error(f) for f in failures]}


@OPERATIONS("GetPartition")
def get_partition(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    partition = _catalog(fogbank, p).get_partition(
        p["DatabaseName"], p["TableName"], p["PartitionValues"]
    )
    return {"Partition": _partition(partition)}


@OPERATIONS("GetPartitions")
def get_partitions(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    # Segment splits the listing for parallel readers; one segment holding everything
    # is a valid answer for segment 0, so the others are empty.
    segment = p.get("Segment")
    if segment is not None and segment["SegmentNumber"] >= segment["TotalSegments"]:
        raise InvalidInputException(
            f"Segment.SegmentNumber {segment['SegmentNumber']} must be less than "
            f"Segment.TotalSegments {segment['TotalSegments']}."
        )
    if segment is not None and segment["SegmentNumber"] > 0:
        _catalog(fogbank, p).get_table(p["DatabaseName"], p["TableName"])
        return {"Partitions": []}
    page = _catalog(fogbank, p).get_partitions(
        p["DatabaseName"],
        p["TableName"],
        expression=p.get("Expression"),
        max_results=p.get("MaxResults", 1000),
        next_token=p.get("NextToken"),
    )
    exclude_columns = p.get("ExcludeColumnSchema") or False
    return {
        "Partitions": [_partition(x, exclude_columns=exclude_columns) for x in page.items],
        "NextToken": page.next_token,
    }


@OPERATIONS("BatchGetPartition")
def batch_get_partition(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    found = _catalog(fogbank, p).batch_get_partition(
        p["DatabaseName"], p["TableName"], [entry["Values"] for entry in p["PartitionsToGet"]]
    )
    return {"Partitions": [_partition(x) for x in found], "UnprocessedKeys": []}


@OPERATIONS("UpdatePartition")
def update_partition(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    _catalog(fogbank, p).update_partition(
        p["DatabaseName"], p["TableName"], p["PartitionValueList"], p["PartitionInput"]
    )
    return {}


@OPERATIONS("BatchUpdatePartition")
def batch_update_partition(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    failures = _catalog(fogbank, p).batch_update_partition(
        p["DatabaseName"],
        p["TableName"],
        [(entry["PartitionValueList"], entry["PartitionInput"]) for entry in p["Entries"]],
    )
    return {
        "Errors": [
            {
                "PartitionValueList": list(f.values),
                "ErrorDetail": _error(f.error.code, f.error.message),
            }
            for f in failures
        ]
    }


@OPERATIONS("DeletePartition")
def delete_partition(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    _catalog(fogbank, p).delete_partition(p["DatabaseName"], p["TableName"], p["PartitionValues"])
    return {}


@OPERATIONS("BatchDeletePartition")
def batch_delete_partition(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    failures = _catalog(fogbank, p).batch_delete_partition(
        p["DatabaseName"], p["TableName"], [entry["Values"] for entry in p["PartitionsToDelete"]]
    )
    return {"Errors": [_partition_error(f) for f in failures]}


# ------------------------------------------------------------------ tags


@OPERATIONS("TagResource")
def tag_resource(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fogbank.catalog.tag_resource(p["ResourceArn"], p["TagsToAdd"])
    return {}


@OPERATIONS("UntagResource")
def untag_resource(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fogbank.catalog.untag_resource(p["ResourceArn"], p["TagsToRemove"])
    return {}


@OPERATIONS("GetTags")
def get_tags(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    return {"Tags": fogbank.catalog.get_tags(p["ResourceArn"])}


# ------------------------------------------------------------------ shapes


def _table_input(p: dict[str, Any]) -> Any:
    table_input = p.get("TableInput")
    if table_input is None:
        raise InvalidInputException("TableInput is required: give the table's definition.")
    return table_input


def _database(database: Database) -> dict[str, Any]:
    return present(
        {
            "Name": database.name,
            "Description": database.description,
            "LocationUri": database.location_uri,
            "Parameters": database.parameters,
            "CreateTime": database.create_time,
            "CreateTableDefaultPermissions": list(database.create_table_default_permissions),
            "CatalogId": database.catalog_id,
        }
    )


def _table(table: Table) -> dict[str, Any]:
    return present(
        {
            "Name": table.name,
            "DatabaseName": table.database_name,
            "Description": table.description,
            "Owner": table.owner,
            "CreateTime": table.create_time,
            "UpdateTime": table.update_time,
            "LastAccessTime": table.last_access_time,
            "LastAnalyzedTime": table.last_analyzed_time,
            "Retention": table.retention,
            "StorageDescriptor": table.storage_descriptor,
            "PartitionKeys": list(table.partition_keys),
            "ViewOriginalText": table.view_original_text,
            "ViewExpandedText": table.view_expanded_text,
            "TableType": table.table_type,
            "Parameters": table.parameters,
            "CreatedBy": table.created_by,
            "IsRegisteredWithLakeFormation": False,
            "CatalogId": table.catalog_id,
            "VersionId": table.version_id,
        }
    )


def _tables_page(page: Page[Table]) -> dict[str, Any]:
    return {"TableList": [_table(t) for t in page.items], "NextToken": page.next_token}


def _table_version(version: TableVersion) -> dict[str, Any]:
    return {"Table": _table(version.table), "VersionId": version.version_id}


def _partition(partition: Partition, *, exclude_columns: bool = False) -> dict[str, Any]:
    storage: Mapping[str, Any] | None = partition.storage_descriptor
    if exclude_columns and storage is not None:
        storage = {key: value for key, value in storage.items() if key != "Columns"}
    return present(
        {
            "Values": list(partition.values),
            "DatabaseName": partition.database_name,
            "TableName": partition.table_name,
            "CreationTime": partition.creation_time,
            "LastAccessTime": partition.last_access_time,
            "StorageDescriptor": storage,
            "Parameters": partition.parameters,
            "LastAnalyzedTime": partition.last_analyzed_time,
            "CatalogId": partition.catalog_id,
        }
    )


def _error(code: str, message: str) -> dict[str, str]:
    return {"ErrorCode": code, "ErrorMessage": message}


def _partition_error(failure: PartitionFailure) -> dict[str, Any]:
    return {
        "PartitionValues": list(failure.values),
        "ErrorDetail": _error(failure.error.code, failure.error.message),
    }


# ------------------------------------------------------------------ crawlers


@OPERATIONS("CreateCrawler")
def create_crawler(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fogbank.catalog.check_catalog_id(p.get("CatalogId"))
    definition = {k: v for k, v in p.items() if k not in ("Tags", "CatalogId")}
    fogbank.crawlers.create_crawler(definition, tags=p.get("Tags"))  # type: ignore[arg-type]
    return {}


@OPERATIONS("GetCrawler")
def get_crawler(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    return {"Crawler": _crawler(fogbank.crawlers.get_crawler(p["Name"]))}


@OPERATIONS("GetCrawlers")
def get_crawlers(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    page = fogbank.crawlers.get_crawlers(
        max_results=p.get("MaxResults", 100), next_token=p.get("NextToken")
    )
    return {"Crawlers": [_crawler(c) for c in page.items], "NextToken": page.next_token}


@OPERATIONS("ListCrawlers")
def list_crawlers(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    names, token = fogbank.crawlers.list_crawlers(
        max_results=p.get("MaxResults", 100), next_token=p.get("NextToken"), tags=p.get("Tags")
    )
    return {"CrawlerNames": names, "NextToken": token}


@OPERATIONS("UpdateCrawler")
def update_crawler(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fogbank.catalog.check_catalog_id(p.get("CatalogId"))
    changes = {k: v for k, v in p.items() if k not in ("Name", "CatalogId")}
    fogbank.crawlers.update_crawler(p["Name"], changes)  # type: ignore[arg-type]
    return {}


@OPERATIONS("DeleteCrawler")
def delete_crawler(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fogbank.crawlers.delete_crawler(p["Name"])
    return {}


@OPERATIONS("StartCrawler")
def start_crawler(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fogbank.crawlers.start_crawler(p["Name"])
    return {}


@OPERATIONS("StopCrawler")
def stop_crawler(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fogbank.crawlers.stop_crawler(p["Name"])
    return {}


@OPERATIONS("GetCrawlerMetrics")
def get_crawler_metrics(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    metrics, token = fogbank.crawlers.get_crawler_metrics(
        p.get("CrawlerNameList"),
        max_results=p.get("MaxResults", 100),
        next_token=p.get("NextToken"),
    )
    return {
        "CrawlerMetricsList": [
            {
                "CrawlerName": m.crawler_name,
                "TimeLeftSeconds": m.time_left_seconds,
                "StillEstimating": m.still_estimating,
                "LastRuntimeSeconds": m.last_runtime_seconds,
                "MedianRuntimeSeconds": m.median_runtime_seconds,
                "TablesCreated": m.tables_created,
                "TablesUpdated": m.tables_updated,
                "TablesDeleted": m.tables_deleted,
            }
            for m in metrics
        ],
        "NextToken": token,
    }


@OPERATIONS("UpdateCrawlerSchedule")
def update_crawler_schedule(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fogbank.crawlers.update_crawler_schedule(p["CrawlerName"], p.get("Schedule") or "")
    return {}


@OPERATIONS("StartCrawlerSchedule")
def start_crawler_schedule(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fogbank.crawlers.start_crawler_schedule(p["CrawlerName"])
    return {}


@OPERATIONS("StopCrawlerSchedule")
def stop_crawler_schedule(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fogbank.crawlers.stop_crawler_schedule(p["CrawlerName"])
    return {}


@OPERATIONS("ListCrawls")
def list_crawls(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    crawls, token = fogbank.crawlers.list_crawls(
        p["CrawlerName"],
        filters=p.get("Filters") or (),
        max_results=p.get("MaxResults", 20),
        next_token=p.get("NextToken"),
    )
    return {
        "Crawls": [
            present(
                {
                    "CrawlId": c.crawl_id,
                    "State": c.state,
                    "StartTime": c.start_time,
                    "EndTime": c.end_time,
                    "Summary": c.summary,
                    "ErrorMessage": c.error_message,
                    "DPUHour": c.dpu_hour,
                }
            )
            for c in crawls
        ],
        "NextToken": token,
    }


def _crawler(crawler: Crawler) -> dict[str, Any]:
    last = crawler.last_crawl
    return present(
        {
            "Name": crawler.name,
            "Role": crawler.role,
            "Targets": crawler.targets,
            "DatabaseName": crawler.database_name,
            "Description": crawler.description,
            "Classifiers": list(crawler.classifiers),
            "RecrawlPolicy": crawler.recrawl_policy,
            "SchemaChangePolicy": crawler.schema_change_policy,
            "LineageConfiguration": crawler.lineage_configuration,
            "State": crawler.state,
            "TablePrefix": crawler.table_prefix,
            "Schedule": crawler.schedule,
            "CrawlElapsedTime": crawler.crawl_elapsed_time,
            "CreationTime": crawler.creation_time,
            "LastUpdated": crawler.last_updated,
            "LastCrawl": None
            if last is None
            else present(
                {
                    "Status": last.status,
                    "ErrorMessage": last.error_message,
                    "LogGroup": last.log_group,
                    "LogStream": last.log_stream,
                    "MessagePrefix": last.message_prefix or None,
                    "StartTime": last.start_time,
                }
            ),
            "Version": crawler.version,
            "Configuration": crawler.configuration,
            "CrawlerSecurityConfiguration": crawler.crawler_security_configuration,
            "LakeFormationConfiguration": crawler.lake_formation_configuration,
        }
    )


# ------------------------------------------------------------------ classifiers


@OPERATIONS("CreateClassifier")
def create_classifier(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fogbank.classifiers.create_classifier(p)
    return {}


@OPERATIONS("GetClassifier")
def get_classifier(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    return {"Classifier": _classifier(fogbank.classifiers.get_classifier(p["Name"]))}


@OPERATIONS("GetClassifiers")
def get_classifiers(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    page = fogbank.classifiers.get_classifiers(
        max_results=p.get("MaxResults", 100), next_token=p.get("NextToken")
    )
    return {"Classifiers": [_classifier(c) for c in page.items], "NextToken": page.next_token}


@OPERATIONS("UpdateClassifier")
def update_classifier(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fogbank.classifiers.update_classifier(p)
    return {}


@OPERATIONS("DeleteClassifier")
def delete_classifier(fogbank: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fogbank.classifiers.delete_classifier(p["Name"])
    return {}


def _classifier(classifier: CustomClassifier) -> dict[str, Any]:
    return {
        classifier.kind: {
            "Name": classifier.name,
            **classifier.members,
            "CreationTime": classifier.creation_time,
            "LastUpdated": classifier.last_updated,
            "Version": classifier.version,
        }
    }
