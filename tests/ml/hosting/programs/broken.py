"""A program whose model_fn fails: the container does not start."""

from __future__ import annotations

from typing import Any


def model_fn(model_dir: str) -> Any:
    raise FileNotFoundError(f"no weights.bin in {model_dir}")
