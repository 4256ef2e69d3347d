"""SageMaker on the gateway: each operation translated into one engine call.

Requests arrive parsed and validated against botocore's sagemaker model; the training
job's configuration members pass through in their AWS shape and come back in
DescribeTrainingJob as they were given (with the built-in algorithm's
MetricDefinitions filled in, as SageMaker does).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fogbank.gateway.services.registry import Operations, present
from fogbank.ml.training.model import TrainingJob

if TYPE_CHECKING:
    from fogbank.app import Fogbank

OPERATIONS = Operations()

# CreateTrainingJob members DescribeTrainingJob echoes as given.
_ECHOED = (
    "HyperParameters",
    "AlgorithmSpecification",
    "RoleArn",
    "InputDataConfig",
    "OutputDataConfig",
    "ResourceConfig",
    "VpcConfig",
    "StoppingCondition",
    "EnableNetworkIsolation",
    "EnableInterContainerTrafficEncryption",
    "EnableManagedSpotTraining",
    "CheckpointConfig",
    "DebugHookConfig",
    "ExperimentConfig",
    "DebugRuleConfigurations",
    "TensorBoardOutputConfig",
    "ProfilerConfig",
    "Environment",
    "RetryStrategy",
    "RemoteDebugConfig",
    "InfraCheckConfig",
)


@OPERATIONS("CreateTrainingJob")
def create_training_job(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    job = fb.training.create_training_job(p)
    return {"TrainingJobArn": job.arn}


@OPERATIONS("DescribeTrainingJob")
def describe_training_job(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    return describe(fb.training.describe_training_job(p["TrainingJobName"]))


@OPERATIONS("ListTrainingJobs")
def list_training_jobs(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    page = fb.training.list_training_jobs(
        max_results=p.get("MaxResults", 10),
        next_token=p.get("NextToken"),
        creation_time_after=p.get("CreationTimeAfter"),
        creation_time_before=p.get("CreationTimeBefore"),
        last_modified_time_after=p.get("LastModifiedTimeAfter"),
        last_modified_time_before=p.get("LastModifiedTimeBefore"),
        name_contains=p.get("NameContains"),
        status_equals=p.get("StatusEquals"),
        sort_by=p.get("SortBy", "CreationTime"),
        sort_order=p.get("SortOrder", "Ascending"),
    )
    summaries = [
        present(
            {
                "TrainingJobName": job.name,
                "TrainingJobArn": job.arn,
                "CreationTime": job.creation_time,
                "TrainingEndTime": job.training_end_time,
                "LastModifiedTime": job.last_modified_time,
                "TrainingJobStatus": job.status,
                "SecondaryStatus": job.secondary_status,
            }
        )
        for job in page.jobs
    ]
    return present({"TrainingJobSummaries": summaries, "NextToken": page.next_token})


@OPERATIONS("StopTrainingJob")
def stop_training_job(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fb.training.stop_training_job(p["TrainingJobName"])
    return {}


@OPERATIONS("AddTags")
def add_tags(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    tags = {t["Key"]: t.get("Value", "") for t in p["Tags"]}
    fb.sagemaker_tags.add_tags(p["ResourceArn"], tags)
    return {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}


@OPERATIONS("ListTags")
def list_tags(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    tags = sorted(fb.sagemaker_tags.list_tags(p["ResourceArn"]).items())
    start = int(p["NextToken"]) if str(p.get("NextToken", "")).isdigit() else 0
    limit = p.get("MaxResults", 50)
    page = tags[start : start + limit]
    more = start + limit < len(tags)
    return present(
        {
            "Tags": [{"Key": k, "Value": v} for k, v in page],
            "NextToken": str(start + limit) if more else None,
        }
    )


@OPERATIONS("DeleteTags")
def delete_tags(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fb.sagemaker_tags.delete_tags(p["ResourceArn"], p["TagKeys"])
    return {}


def describe(job: TrainingJob) -> dict[str, Any]:
    """DescribeTrainingJob's answer for ``job``."""
    out: dict[str, Any] = {
        "TrainingJobName": job.name,
        "TrainingJobArn": job.arn,
        "ModelArtifacts": {"S3ModelArtifacts": job.model_artifacts},
        "TrainingJobStatus": job.status,
        "SecondaryStatus": job.secondary_status,
        "CreationTime": job.creation_time,
        "LastModifiedTime": job.last_modified_time,
        "TrainingStartTime": job.training_start_time,
        "TrainingEndTime": job.training_end_time,
        "FailureReason": job.failure_reason,
        "SecondaryStatusTransitions": [
            present(
                {
                    "Status": t.status,
                    "StartTime": t.start,
                    "EndTime": t.end,
                    "StatusMessage": t.message,
                }
            )
            for t in job.transitions
        ],
        "FinalMetricDataList": [
            {"MetricName": m.name, "Value": m.value, "Timestamp": m.timestamp}
            for m in job.final_metrics
        ],
        "TrainingTimeInSeconds": job.training_seconds,
        "BillableTimeInSeconds": job.training_seconds,
    }
    for member in _ECHOED:
        if member in job.request:
            out[member] = job.request[member]
    return present(out)


# ---------------------------------------------------------------------------- hosting


@OPERATIONS("CreateModel")
def create_model(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    return {"ModelArn": fb.hosting.create_model(p).arn}


@OPERATIONS("DescribeModel")
def describe_model(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    model = fb.hosting.describe_model(p["ModelName"])
    return {
        **model.request,
        "ModelName": model.name,
        "ModelArn": model.arn,
        "CreationTime": model.creation_time,
    }


@OPERATIONS("ListModels")
def list_models(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    found = fb.hosting.list_models(**_list_options(p))
    models = [
        {"ModelName": m.name, "ModelArn": m.arn, "CreationTime": m.creation_time}
        for m in found.items
    ]
    return present({"Models": models, "NextToken": found.next_token})


@OPERATIONS("DeleteModel")
def delete_model(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fb.hosting.delete_model(p["ModelName"])
    return {}


@OPERATIONS("CreateEndpointConfig")
def create_endpoint_config(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    return {"EndpointConfigArn": fb.hosting.create_endpoint_config(p).arn}


@OPERATIONS("DescribeEndpointConfig")
def describe_endpoint_config(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    config = fb.hosting.describe_endpoint_config(p["EndpointConfigName"])
    return {
        **config.request,
        "EndpointConfigName": config.name,
        "EndpointConfigArn": config.arn,
        "CreationTime": config.creation_time,
    }


@OPERATIONS("ListEndpointConfigs")
def list_endpoint_configs(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    found = fb.hosting.list_endpoint_configs(**_list_options(p))
    configs = [
        {"EndpointConfigName": c.name, "EndpointConfigArn": c.arn, "CreationTime": c.creation_time}
        for c in found.items
    ]
    return present({"EndpointConfigs": configs, "NextToken": found.next_token})


@OPERATIONS("DeleteEndpointConfig")
def delete_endpoint_config(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fb.hosting.delete_endpoint_config(p["EndpointConfigName"])
    return {}


@OPERATIONS("CreateEndpoint")
def create_endpoint(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    tags = {t["Key"]: t.get("Value", "") for t in p.get("Tags") or []}
    endpoint = fb.endpoints.create_endpoint(p["EndpointName"], p["EndpointConfigName"], tags)
    return {"EndpointArn": endpoint.arn}


@OPERATIONS("DescribeEndpoint")
def describe_endpoint(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    endpoint = fb.endpoints.describe_endpoint(p["EndpointName"])
    running = endpoint.status == "InService"
    return present(
        {
            "EndpointName": endpoint.name,
            "EndpointArn": endpoint.arn,
            "EndpointConfigName": endpoint.config,
            "ProductionVariants": [
                {
                    "VariantName": v.name,
                    "DeployedImages": [
                        {
                            "SpecifiedImage": image,
                            "ResolvedImage": image,
                            "ResolutionTime": endpoint.creation_time,
                        }
                        for image in v.model.images
                    ],
                    "CurrentWeight": v.weight,
                    "DesiredWeight": v.weight,
                    "CurrentInstanceCount": v.instances if running else 0,
                    "DesiredInstanceCount": v.instances,
                }
                for v in endpoint.variants
            ],
            "EndpointStatus": endpoint.status,
            "FailureReason": endpoint.failure_reason,
            "CreationTime": endpoint.creation_time,
            "LastModifiedTime": endpoint.last_modified_time,
        }
    )


@OPERATIONS("ListEndpoints")
def list_endpoints(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    found, token = fb.endpoints.list_endpoints(
        max_results=p.get("MaxResults", 10),
        next_token=p.get("NextToken"),
        name_contains=p.get("NameContains"),
        status_equals=p.get("StatusEquals"),
        sort_by=p.get("SortBy", "CreationTime"),
        sort_order=p.get("SortOrder", "Descending"),
    )
    summaries = [
        {
            "EndpointName": e.name,
            "EndpointArn": e.arn,
            "CreationTime": e.creation_time,
            "LastModifiedTime": e.last_modified_time,
            "EndpointStatus": e.status,
        }
        for e in found
    ]
    return present({"Endpoints": summaries, "NextToken": token})


@OPERATIONS("UpdateEndpoint")
def update_endpoint(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    return {
        "EndpointArn": fb.endpoints.update_endpoint(p["EndpointName"], p["EndpointConfigName"]).arn
    }


@OPERATIONS("UpdateEndpointWeightsAndCapacities")
def update_endpoint_weights_and_capacities(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    endpoint = fb.endpoints.update_weights_and_capacities(
        p["EndpointName"], p["DesiredWeightsAndCapacities"]
    )
    return {"EndpointArn": endpoint.arn}


@OPERATIONS("DeleteEndpoint")
def delete_endpoint(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fb.endpoints.delete_endpoint(p["EndpointName"])
    return {}


# ---------------------------------------------------------------------------- transform


@OPERATIONS("CreateTransformJob")
def create_transform_job(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    return {"TransformJobArn": fb.transforms.create_transform_job(p).arn}


@OPERATIONS("DescribeTransformJob")
def describe_transform_job(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    job = fb.transforms.describe_transform_job(p["TransformJobName"])
    return present(
        {
            **job.request,
            "TransformJobName": job.name,
            "TransformJobArn": job.arn,
            "TransformJobStatus": job.status,
            "FailureReason": job.failure_reason,
            "CreationTime": job.creation_time,
            "TransformStartTime": job.start_time,
            "TransformEndTime": job.end_time,
        }
    )


@OPERATIONS("ListTransformJobs")
def list_transform_jobs(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    found, token = fb.transforms.list_transform_jobs(
        max_results=p.get("MaxResults", 10),
        next_token=p.get("NextToken"),
        name_contains=p.get("NameContains"),
        status_equals=p.get("StatusEquals"),
        creation_time_after=p.get("CreationTimeAfter"),
        creation_time_before=p.get("CreationTimeBefore"),
        last_modified_time_after=p.get("LastModifiedTimeAfter"),
        last_modified_time_before=p.get("LastModifiedTimeBefore"),
        sort_by=p.get("SortBy", "CreationTime"),
        sort_order=p.get("SortOrder", "Descending"),
    )
    summaries = [
        present(
            {
                "TransformJobName": job.name,
                "TransformJobArn": job.arn,
                "CreationTime": job.creation_time,
                "TransformEndTime": job.end_time,
                "LastModifiedTime": job.last_modified_time,
                "TransformJobStatus": job.status,
                "FailureReason": job.failure_reason,
            }
        )
        for job in found
    ]
    return present({"TransformJobSummaries": summaries, "NextToken": token})


@OPERATIONS("StopTransformJob")
def stop_transform_job(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fb.transforms.stop_transform_job(p["TransformJobName"])
    return {}


def _list_options(p: dict[str, Any]) -> dict[str, Any]:
    """ListModels / ListEndpointConfigs: the shared filters (newest first by default)."""
    return {
        "max_results": p.get("MaxResults", 10),
        "next_token": p.get("NextToken"),
        "name_contains": p.get("NameContains"),
        "creation_time_after": p.get("CreationTimeAfter"),
        "creation_time_before": p.get("CreationTimeBefore"),
        "sort_by": p.get("SortBy", "CreationTime"),
        "sort_order": p.get("SortOrder", "Descending"),
    }
