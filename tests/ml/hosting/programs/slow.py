"""An inference program that takes longer than a caller waits (for the timeout test)."""

from __future__ import annotations

import time
from typing import Any


def model_fn(model_dir: str) -> Any:
    return None


def transform_fn(model: Any, data: Any, content_type: str, accept: str) -> tuple[str, str]:
    time.sleep(5)
    return "late", "text/plain"
