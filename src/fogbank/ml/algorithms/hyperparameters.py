"""Hyperparameters declared as data, coerced and validated once, with one message shape.

SageMaker's API hands every hyperparameter over as a string. Each built-in algorithm
declares what it accepts (:class:`Hyperparameter`: AWS's name, type, default, interval
or options, whether it is required, whether ``auto`` is allowed); :func:`coerce` turns
the strings into typed values and rejects a bad one with a message that names the
parameter, what is allowed and what was given, as scikit-learn's parameter
constraints do::

    The 'eta' hyperparameter of xgboost must be a float in [0, 1]. Got '3' instead.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from fogbank.core.errors import ValidationException

Kind = Literal["int", "float", "bool", "str", "list"]

AUTO = "auto"


class HyperparameterError(ValidationException):
    """A hyperparameter that is unknown, missing, of the wrong type or out of range.

    CreateTrainingJob turns it into a ValidationException; inside a container it is
    written to ``output/failure`` as a ClientError."""

    code = "ValidationException"

    def __init__(self, algorithm: str, name: str, message: str) -> None:
        super().__init__(message)
        self.algorithm = algorithm
        self.name = name


@dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter as AWS documents it.

    ``default`` is the value AWS uses when it is not given, as AWS writes it (``"auto"``
    included); ``None`` with ``required=False`` means "unset" (the algorithm decides).
    ``low``/``high`` bound numbers (``low_open``/``high_open`` exclude the bound);
    ``options`` lists the allowed strings of a ``str`` parameter, and ``extra`` lists
    words a number also accepts (``balanced`` for positive_example_weight_mult).
    """

    name: str
    kind: Kind
    default: str | None = None
    required: bool = False
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    options: tuple[str, ...] = ()
    allow_auto: bool = False
    extra: tuple[str, ...] = ()
    description: str = ""

    def allowed(self) -> str:
        """What the parameter accepts, in words: the middle of the error message."""
        if self.kind == "bool":
            text = "a boolean (true or false)"
        elif self.kind == "list":
            text = "a JSON list"
        elif self.kind == "str":
            text = (
                "one of " + ", ".join(repr(o) for o in self.options) if self.options else "a string"
            )
        else:
            noun = "an integer" if self.kind == "int" else "a float"
            text = noun + self._interval()
        words = [repr(w) for w in ((AUTO,) if self.allow_auto else ()) + self.extra]
        if words and self.kind != "str":
            text += " or " + " or ".join(words)
        elif words:
            text += ", " + ", ".join(words)
        return text

    def _interval(self) -> str:
        if self.low is None and self.high is None:
            return ""
        if self.high is None:
            return f" {'>' if self.low_open else '>='} {_number(self.low)}"
        if self.low is None:
            return f" {'<' if self.high_open else '<='} {_number(self.high)}"
        left = "(" if self.low_open else "["
        right = ")" if self.high_open else "]"
        return f" in {left}{_number(self.low)}, {_number(self.high)}{right}"

    def coerce(self, algorithm: str, raw: str) -> Any:
        """The typed value of ``raw``, or :class:`HyperparameterError`."""
        text = raw.strip()
        if self.allow_auto and text.lower() == AUTO:
            return AUTO
        if text in self.extra:
            return text
        value = self._parse(text)
        if value is None:
            raise self._error(algorithm, raw)
        if self.kind in ("int", "float") and not self._inside(float(value)):
            raise self._error(algorithm, raw)
        return value

    def _parse(self, text: str) -> Any:
        if self.kind == "bool":
            return {"true": True, "false": False, "1": True, "0": False}.get(text.lower())
        if self.kind == "int":
            try:
                number = float(text)
            except ValueError:
                return None
            # The SDK writes str() of Python values: "10" and "10.0" both mean 10.
            return int(number) if math.isfinite(number) and number == int(number) else None
        if self.kind == "float":
            try:
                number = float(text)
            except ValueError:
                return None
            return number if math.isfinite(number) else None
        if self.kind == "list":
            try:
                value = json.loads(text.replace("'", '"'))
            except ValueError:
                return None
            return value if isinstance(value, list) else None
        if self.options:
            return text if text in self.options else None
        return text

    def _inside(self, number: float) -> bool:
        if self.low is not None and (number < self.low or (self.low_open and number == self.low)):
            return False
        return not (
            self.high is not None
            and (number > self.high or (self.high_open and number == self.high))
        )

    def _error(self, algorithm: str, raw: str) -> HyperparameterError:
        return HyperparameterError(
            algorithm,
            self.name,
            f"The {self.name!r} hyperparameter of {algorithm} must be {self.allowed()}. "
            f"Got {raw!r} instead.",
        )


def _number(value: float | None) -> str:
    assert value is not None
    return str(int(value)) if float(value).is_integer() else repr(value)


def coerce(
    algorithm: str,
    declared: Iterable[Hyperparameter],
    given: Mapping[str, str],
    *,
    ignore: Iterable[str] = (),
) -> dict[str, Any]:
    """Every declared hyperparameter's typed value: the given one, else AWS's default.

    Unknown names fail (AWS's built-ins refuse them), except those in ``ignore`` (names
    the platform adds, such as ``_tuning_objective_metric``). A parameter left unset with
    no default is ``None``.
    """
    table = {h.name: h for h in declared}
    skipped = set(ignore)
    for name in given:
        if name not in table and name not in skipped and not name.startswith("_"):
            known = ", ".join(sorted(table))
            raise HyperparameterError(
                algorithm,
                name,
                f"{name!r} is not a hyperparameter of {algorithm}; it accepts: {known}.",
            )
    values: dict[str, Any] = {}
    for name, spec in table.items():
        if name in given:
            values[name] = spec.coerce(algorithm, given[name])
        elif spec.required:
            raise HyperparameterError(
                algorithm,
                name,
                f"The {name!r} hyperparameter of {algorithm} is required: give {spec.allowed()}.",
            )
        else:
            values[name] = None if spec.default is None else spec.coerce(algorithm, spec.default)
    return values


def invalid(algorithm: str, name: str, message: str) -> HyperparameterError:
    """An error for a rule between parameters (``num_class`` needed by ``multi:softmax``)."""
    return HyperparameterError(
        algorithm, name, f"The {name!r} hyperparameter of {algorithm} {message}"
    )
