"""Which built-in algorithm a training image or an algorithm name selects.

SageMaker's built-in algorithms live in ECR repositories of AWS's own accounts, one
account per region (``382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1``,
``683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1``); the SDK's
``image_uris.retrieve`` builds them from the table in ``image_registry.json``, which
this module reads to accept exactly those URIs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from fogbank.core.errors import ValidationException

_URI = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.(?P<domain>amazonaws\.com(?:\.cn)?|[a-z0-9.-]+)"
    r"/(?P<repository>[a-z0-9._/-]+)(?::(?P<tag>[A-Za-z0-9._-]+)|@(?P<digest>sha256:[0-9a-f]{64}))?$"
)

# ECR repository -> the algorithm fogbank runs for it.
REPOSITORIES = {
    "linear-learner": "linear-learner",
    "factorization-machines": "factorization-machines",
    "sagemaker-xgboost": "xgboost",
    "xgboost": "xgboost",
}


@dataclass(frozen=True)
class TrainingImage:
    """A parsed built-in image URI."""

    account: str
    region: str
    repository: str
    tag: str | None
    algorithm: str


@cache
def registry() -> dict[str, Any]:
    """The image registry table (accounts per region, repositories, tags)."""
    text = resources.files("fogbank.ml.training").joinpath("image_registry.json").read_text()
    found: dict[str, Any] = json.loads(text)
    return found


def builtin_algorithm(uri: str) -> str | None:
    """The built-in algorithm an ECR image URI names, or None (any other image)."""
    match = _URI.match(uri)
    return None if match is None else REPOSITORIES.get(match["repository"])


def parse_image(uri: str) -> TrainingImage:
    """The built-in algorithm ``uri`` names, or ValidationException saying what runs.

    fogbank runs SageMaker's built-in algorithms natively; any other image would need a
    container engine, which training jobs here do not use."""
    match = _URI.match(uri)
    if match is None:
        raise ValidationException(
            f"AlgorithmSpecification.TrainingImage {uri!r} is not an ECR image URI "
            "(<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>). Use the URI "
            "sagemaker.image_uris.retrieve() gives for a built-in algorithm."
        )
    repository = match["repository"]
    algorithm = REPOSITORIES.get(repository)
    if algorithm is None:
        raise ValidationException(
            f"AlgorithmSpecification.TrainingImage {uri!r} is not a SageMaker built-in "
            f"algorithm image fogbank runs; it runs {', '.join(sorted(set(REPOSITORIES.values())))}"
            "."
        )
    _check_account(uri, algorithm, match)
    return TrainingImage(
        account=match["account"],
        region=match["region"],
        repository=repository,
        tag=match["tag"],
        algorithm=algorithm,
    )


def _check_account(uri: str, algorithm: str, match: re.Match[str]) -> None:
    table = registry().get("algorithms", {}).get(algorithm)
    if not table:
        return
    repository = table.get("repositories", {}).get(match["repository"], table)
    accounts: dict[str, str] = repository.get("registries", table.get("registries", {}))
    region, account, tag = match["region"], match["account"], match["tag"]
    expected = accounts.get(region)
    if expected is None:
        raise ValidationException(
            f"AlgorithmSpecification.TrainingImage {uri!r}: {algorithm} has no image in "
            f"region {region}."
        )
    if expected != account:
        raise ValidationException(
            f"AlgorithmSpecification.TrainingImage {uri!r}: {algorithm}'s image in {region} "
            f"is in account {expected}, not {account}."
        )
    tags: list[str] = repository.get("tags", table.get("tags", []))
    if tag is not None and tags and tag not in tags:
        raise ValidationException(
            f"AlgorithmSpecification.TrainingImage {uri!r}: the tag {tag!r} names no image of "
            f"{match['repository']}; use one of {', '.join(tags)}."
        )


def image_uri(algorithm: str, region: str, tag: str | None = None) -> str:
    """The URI of ``algorithm``'s image in ``region``, as image_uris.retrieve builds it."""
    table = registry()["algorithms"][algorithm]
    domain = registry().get("domains", {}).get(region, "amazonaws.com")
    chosen = tag or table.get("default_tag") or table["tags"][-1]
    return f"{table['registries'][region]}.dkr.ecr.{region}.{domain}/{table['repository']}:{chosen}"


def algorithm_for(*, training_image: str | None, algorithm_name: str | None) -> str:
    """The built-in algorithm an AlgorithmSpecification selects (image or name)."""
    if training_image and algorithm_name:
        raise ValidationException(
            "AlgorithmSpecification: give TrainingImage or AlgorithmName, not both."
        )
    if training_image:
        return parse_image(training_image).algorithm
    if algorithm_name:
        name = algorithm_name.rsplit("/", 1)[-1]  # an algorithm ARN ends in its name
        return name
    raise ValidationException(
        "AlgorithmSpecification needs TrainingImage (a built-in algorithm's image URI) "
        "or AlgorithmName."
    )
