"""The built-in algorithms, one module each, found by their SageMaker name.

:func:`algorithm` imports the module on first use, so the gateway and the CLI can
name and validate algorithms without loading PyTorch or XGBoost.
"""

from __future__ import annotations

import importlib

from fogbank.core.errors import ValidationException
from fogbank.ml.algorithms.base import Algorithm

# SageMaker's algorithm name -> the module whose ``ALGORITHM`` implements it.
MODULES: dict[str, str] = {
    "linear-learner": "fogbank.ml.algorithms.linear_learner",
    "xgboost": "fogbank.ml.algorithms.xgboost",
    "factorization-machines": "fogbank.ml.algorithms.factorization_machines",
}


def algorithm(name: str) -> Algorithm:
    """The algorithm called ``name``; ValidationException naming the ones there are."""
    module = MODULES.get(name)
    if module is None:
        known = ", ".join(sorted(MODULES))
        raise ValidationException(f"fogbank has no built-in algorithm {name!r}; it runs: {known}.")
    found: Algorithm = importlib.import_module(module).ALGORITHM
    return found


def names() -> list[str]:
    return sorted(MODULES)
