"""Metrics read from a training job's log, the way SageMaker reads them.

SageMaker applies each metric definition's regex to every log line as CloudWatch
Logs shows it (where a tab reads ``#011``, hence XGBoost's ``#011validation-rmse``
patterns) and takes the first group as the value. The last value of each metric is
the job's FinalMetricDataList entry; every value is also a point of the metric's
series in the control plane (namespace ``/aws/sagemaker/TrainingJobs``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import regex


@dataclass(frozen=True)
class MetricPattern:
    name: str
    pattern: regex.Pattern[str]


def compile_definitions(definitions: Iterable[tuple[str, str]]) -> list[MetricPattern]:
    """Compiled (name, regex) pairs; a regex that does not compile is skipped."""
    compiled = []
    for name, text in definitions:
        try:
            compiled.append(MetricPattern(name, regex.compile(text)))
        except regex.error:
            continue
    return compiled


def as_cloudwatch_shows(line: str) -> str:
    """A raw log line as CloudWatch Logs displays it: tabs escaped as ``#011``."""
    return line.rstrip("\r\n").replace("\t", "#011")


def match_line(patterns: Iterable[MetricPattern], line: str) -> list[tuple[str, float]]:
    """The (metric, value) pairs one log line gives."""
    shown = as_cloudwatch_shows(line)
    found = []
    for metric in patterns:
        hit = metric.pattern.search(shown)
        if hit is None or not hit.groups():
            continue
        try:
            value = float(hit.group(1))
        except (TypeError, ValueError):
            continue
        if math.isfinite(value):
            found.append((metric.name, value))
    return found
