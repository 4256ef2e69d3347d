"""The error tree: AWS codes, messages, fields, and no HTTP inside."""

from __future__ import annotations

import inspect

import fogbank.core.errors as errors
from fogbank.core.errors import FogbankError, LakeError, NoSuchBucket


def _error_classes() -> list[type[FogbankError]]:
    return [
        obj
        for _, obj in inspect.getmembers(errors, inspect.isclass)
        if issubclass(obj, FogbankError) and obj not in (FogbankError, LakeError)
    ]


RENAMED = {"OperationNotImplemented": "NotImplemented"}  # a Python builtin's name


def test_every_error_is_named_after_its_aws_code() -> None:
    for cls in _error_classes():
        assert cls.code == RENAMED.get(cls.__name__, cls.__name__), cls


def test_every_error_is_drawn_in_the_module_docstring() -> None:
    doc = errors.__doc__ or ""
    for cls in _error_classes():
        assert cls.__name__ in doc, f"{cls.__name__} is missing from the drawn tree"


def test_errors_carry_code_message_and_fields_but_no_http_status() -> None:
    exc = NoSuchBucket("The specified bucket does not exist: 'b'.", BucketName="b")
    assert exc.code == "NoSuchBucket"
    assert exc.message.startswith("The specified bucket")
    assert exc.fields == {"BucketName": "b"}
    assert str(exc) == "NoSuchBucket: The specified bucket does not exist: 'b'."
    for cls in [FogbankError, *_error_classes()]:
        assert not any("status" in name.lower() for name in vars(cls)), cls


def test_a_root_error_can_carry_any_code() -> None:
    assert FogbankError("x", code="ThrottlingException").code == "ThrottlingException"
