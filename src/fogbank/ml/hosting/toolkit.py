"""Serving a model with the user's own inference code, as SageMaker's framework containers
(scikit-learn, PyTorch, XGBoost in framework mode...) do with the SageMaker inference
toolkit, without Docker.

This module owns where the user code is (:func:`resolve_program`), importing it, the
toolkit's handler chain and default handlers, and the app that serves it
(:func:`build_program_app`):

- ``GET /ping``: 200 with an empty body.
- ``POST /invocations``: ``transform_fn(model, data, content_type, accept)`` when the
  program defines it, else ``output_fn(predict_fn(input_fn(data, content_type), model),
  accept)``, each handler the program leaves out taken from the defaults below.
- ``GET /execution-parameters``: the same answer as the built-in algorithms' app.

The user module (``SAGEMAKER_PROGRAM``, ``inference.py`` by default) comes from the code
directory (``SAGEMAKER_SUBMIT_DIRECTORY``, by default ``code/`` inside the model, where the
SageMaker SDK's repacked model.tar.gz carries it), imported by name with that directory
on ``sys.path`` so that it can import its sibling modules. ``model_fn(model_dir)`` runs
once, when the app is built; ``pre_model_fn(model_dir)`` before it and
``model_warmup_fn(model_dir, model)`` after it when the program defines them. A handler
may take one parameter more than the convention's: it then gets a
:class:`HandlerContext` last, as the toolkit passes MMS's context.

As the toolkit (``sagemaker_inference.transformer``) does:

- ``data`` is ``str`` (UTF-8 decoded) for ``application/json`` and ``text/csv``, ``bytes``
  for any other type. ``Content-Type`` and ``Accept`` reach the handlers as sent; a
  missing or ``*/*`` ``Accept`` becomes ``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT``
  (``application/json`` unless set).
- ``output_fn`` (or ``transform_fn``) returns the body (``bytes`` or ``str``), or a
  ``(body, content_type)`` tuple; the response's ``Content-Type`` is that content type,
  else the accept type.
- ``transform_fn`` together with ``input_fn``, ``predict_fn`` or ``output_fn`` is refused.
- Default handlers, those of AWS's scikit-learn container (``sagemaker_sklearn_container``,
  which extends the toolkit's): ``model_fn`` raises (the program must load its model);
  ``input_fn`` decodes ``application/json`` (``numpy.array(json.loads(...))``),
  ``text/csv`` (``numpy.genfromtxt``, comma-delimited), ``application/x-npy`` and
  ``application/x-npz`` (a SciPy sparse matrix), turns a 1-D array into one row and JSON
  or CSV into float32; ``predict_fn`` is ``model.predict(data)``; ``output_fn`` writes the
  first type of ``Accept`` that it can: ``application/json``, ``text/csv``
  (``numpy.savetxt``, ``fmt="%s"``) or ``application/x-npy``.
- Errors: :class:`UnsupportedFormatError` (a content type a decoder does not read, an
  accept type an encoder does not write) answers 415 from ``input_fn`` and 406 from
  ``output_fn``, as the scikit-learn container's single-model serving stack
  (sagemaker-containers' ``Transformer``) answers (from ``transform_fn``: 406 when it
  names the accept type, else 415); an exception with an integer ``status_code`` and a
  ``message``, as the toolkit's ``BaseInferenceToolkitError``, answers that status and
  message; any other exception from the user's code or a default handler answers 500
  with the exception's message (its traceback goes to the log).

Where fogbank differs, deliberately:

- The default decoders and encoders match a content type without its parameters
  (``text/csv; charset=utf-8`` is CSV), and an ``Accept`` list skips ``;q=`` weights and
  reads ``*/*`` as the default accept; the toolkit compares the raw strings.
- A missing ``Content-Type`` is ``application/json``, as sagemaker-containers' request
  reads it (the toolkit passes ``None`` on).
- A JSON or CSV body that is not UTF-8 answers 400 (the toolkit: 500).
- ``application/x-npy`` bodies are read with ``allow_pickle=False``, as the scikit-learn
  container's patched decoder reads them (the toolkit allows pickles).
- A handler whose parameter count fits neither form is refused when the app is built
  (the toolkit fails each request with a TypeError).
- Error bodies are plain text naming what to change. The MMS-based toolkit answers
  ``UnsupportedFormatError`` with 500 (it is no ``BaseInferenceToolkitError``) and puts
  the traceback in the body; sagemaker-containers answers 415/406 with a JSON body
  (``error``, ``error-message``, ``stack-trace``). The 500 body here is the failing
  handler, the exception's type and its message.
- No ``execution_parameters_fn`` from the program: ``/execution-parameters`` answers as
  the built-in algorithms' app does.
- ``code/requirements.txt`` is not installed (fogbank does not reach package indexes):
  one log line says so; the packages must already be in fogbank's environment.
- Handler calls run one at a time (a lock), as one model-server worker runs them.
"""

from __future__ import annotations

import importlib
import inspect
import io
import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fogbank.core.errors import InvalidConfiguration
from fogbank.ml.hosting.serving import (
    InvocationError,
    ServingSettings,
    execution_parameters,
    plain_text,
    read_body,
)

__all__ = [
    "DEFAULT_PROGRAM",
    "HandlerContext",
    "UnsupportedFormatError",
    "build_program_app",
    "decode",
    "default_input_fn",
    "default_model_fn",
    "default_output_fn",
    "default_predict_fn",
    "encode",
    "resolve_program",
]

_log = logging.getLogger(__name__)

JSON = "application/json"
CSV = "text/csv"
NPY = "application/x-npy"
NPZ = "application/x-npz"
ANY = "*/*"
# The types the toolkit hands to input_fn as text rather than bytes.
UTF8_TYPES = (JSON, CSV)

DEFAULT_PROGRAM = "inference.py"
# Where the toolkit looks for the user code by default (environment.code_dir).
CONTAINER_CODE_DIR = "/opt/ml/model/code"
_CODE = "code"


class UnsupportedFormatError(Exception):
    """A content type the default decoders do not read, or an accept type the default
    encoders do not write (``sagemaker_inference.errors.UnsupportedFormatError``)."""

    def __init__(self, content_type: str | None) -> None:
        self.content_type = content_type
        super().__init__(
            f"Content type {content_type} is not supported by this framework. Implement "
            "input_fn to deserialize the request data or output_fn to serialize the response."
        )


@dataclass(frozen=True)
class HandlerContext:
    """What a handler that takes one parameter more than the convention's gets last: the
    parts of the model server's context (MMS ``Context``) that user code reads."""

    model_dir: str
    request_headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def system_properties(self) -> dict[str, Any]:
        return {"model_dir": self.model_dir}

    def get_request_header(self, idx: int, key: str) -> str | None:
        """The request's header ``key`` (case-insensitive); ``idx`` is the batch index,
        always 0 here, where each request is its own batch."""
        return self.request_headers.get(key.lower())


# --- where the code is -------------------------------------------------------------------


def resolve_program(model_dir: Path, environ: Mapping[str, str]) -> tuple[Path, str] | None:
    """Where the user code of a model is, and its program: ``(code_dir, program)``, or
    ``None`` when the model carries no user code and ``SAGEMAKER_PROGRAM`` is unset.

    ``SAGEMAKER_SUBMIT_DIRECTORY`` unset or ``/opt/ml/model/code`` (the SDK's repacked
    model.tar.gz) means ``model_dir/code``; a local path (or ``file://`` URL, as the SDK's
    local mode sets it) is used as is. An ``s3://`` URL is refused: the caller downloads
    and extracts sourcedir.tar.gz and passes the local directory. ``SAGEMAKER_PROGRAM``
    defaults to ``inference.py`` when ``code/inference.py`` exists."""
    submit = environ.get("SAGEMAKER_SUBMIT_DIRECTORY", "").strip()
    if submit.startswith("s3://"):
        raise InvalidConfiguration(
            f"SAGEMAKER_SUBMIT_DIRECTORY={submit!r} is an S3 URL: download and extract it, "
            "then pass the local directory in SAGEMAKER_SUBMIT_DIRECTORY."
        )
    if submit.startswith("file://"):
        submit = submit.removeprefix("file://")
    if not submit or submit.rstrip("/") == CONTAINER_CODE_DIR:
        code_dir = Path(model_dir) / _CODE
    else:
        code_dir = Path(submit)
    program = environ.get("SAGEMAKER_PROGRAM", "").strip()
    if not program:
        if not (code_dir / DEFAULT_PROGRAM).is_file():
            return None
        program = DEFAULT_PROGRAM
    return code_dir, program


def module_name(program: str) -> str:
    """The module a ``SAGEMAKER_PROGRAM`` names: ``inference.py`` is ``inference``."""
    return program.removesuffix(".py")


# Every code directory a program was imported from in this process: their modules are
# forgotten before the next import, so that two apps built in one process (tests, or
# fogbank serving several models) each import their own program and siblings.
_code_dirs: set[str] = set()
_import_lock = threading.Lock()


def _import_program(code_dir: Path, program: str) -> ModuleType:
    name = module_name(program)
    if not all(part.isidentifier() for part in name.split(".")):
        raise InvalidConfiguration(
            f"SAGEMAKER_PROGRAM={program!r} is not a Python module name; name a file such "
            "as inference.py in the code directory."
        )
    top = name.split(".")[0]
    if not code_dir.is_dir():
        raise InvalidConfiguration(
            f"The code directory {code_dir} does not exist; put the program in the model's "
            "code/ directory or point SAGEMAKER_SUBMIT_DIRECTORY at it."
        )
    if not ((code_dir / f"{top}.py").is_file() or (code_dir / top).is_dir()):
        raise InvalidConfiguration(
            f"SAGEMAKER_PROGRAM={program!r}: there is no {top}.py in {code_dir}; "
            "name a file of the code directory."
        )
    root = str(code_dir.resolve())
    with _import_lock:
        _code_dirs.add(root)
        prefixes = tuple(directory + os.sep for directory in _code_dirs)
        for loaded, module in list(sys.modules.items()):
            file = getattr(module, "__file__", None)
            if isinstance(file, str) and file.startswith(prefixes):
                del sys.modules[loaded]
        if root in sys.path:
            sys.path.remove(root)
        sys.path.insert(0, root)  # first, so that its siblings win over same-named modules
        importlib.invalidate_caches()
        module = importlib.import_module(name)
    file = getattr(module, "__file__", None)
    if not isinstance(file, str) or not file.startswith(root + os.sep):
        raise InvalidConfiguration(
            f"SAGEMAKER_PROGRAM={program!r} names the module {name!r}, which fogbank already "
            f"imported from {file}; rename the program."
        )
    requirements = code_dir / "requirements.txt"
    if requirements.is_file():
        _log.warning(
            "%s is not installed (fogbank does not install packages): the packages it names "
            "must already be in fogbank's environment",
            requirements,
        )
    return module


# --- default handlers --------------------------------------------------------------------


def _mime(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _as_bytes(data: str | bytes) -> bytes:
    return data.encode() if isinstance(data, str) else data


def _as_text(data: str | bytes) -> str:
    return data if isinstance(data, str) else data.decode()


def _npz_to_sparse(data: str | bytes) -> Any:
    import scipy.sparse  # only when a client sends a sparse matrix

    return scipy.sparse.load_npz(io.BytesIO(_as_bytes(data)))


_DECODERS: dict[str, Callable[[str | bytes], Any]] = {
    JSON: lambda data: np.array(json.loads(data)),
    CSV: lambda data: np.genfromtxt(io.StringIO(_as_text(data)), delimiter=","),
    NPY: lambda data: np.load(io.BytesIO(_as_bytes(data)), allow_pickle=False),
    NPZ: _npz_to_sparse,
}


def _to_json(value: Any) -> str:
    def default(item: Any) -> Any:
        if hasattr(item, "tolist"):
            return item.tolist()
        raise TypeError(f"Object of type {type(item).__name__} is not JSON serializable")

    return json.dumps(value, default=default)


def _to_csv(value: Any) -> str:
    out = io.StringIO()
    np.savetxt(out, value, delimiter=",", fmt="%s")
    return out.getvalue()


def _to_npy(value: Any) -> bytes:
    out = io.BytesIO()
    np.save(out, value)
    return out.getvalue()


_ENCODERS: dict[str, Callable[[Any], str | bytes]] = {JSON: _to_json, CSV: _to_csv, NPY: _to_npy}


def decode(data: str | bytes, content_type: str | None) -> Any:
    """``data`` as the toolkit's ``decoder.decode`` reads it: a NumPy array (a SciPy
    sparse matrix for ``application/x-npz``); :class:`UnsupportedFormatError` for another
    type."""
    decoder = _DECODERS.get(_mime(content_type))
    if decoder is None:
        raise UnsupportedFormatError(content_type)
    return decoder(data)


def encode(prediction: Any, content_type: str) -> str | bytes:
    """``prediction`` as the toolkit's ``encoder.encode`` writes it (JSON, CSV, NPY);
    :class:`UnsupportedFormatError` for another type."""
    encoder = _ENCODERS.get(_mime(content_type))
    if encoder is None:
        raise UnsupportedFormatError(content_type)
    return encoder(prediction)


def default_model_fn(model_dir: str) -> Any:
    """The scikit-learn container loads no model by itself: the program must."""
    raise NotImplementedError(
        "Please provide a model_fn implementation: the program must define "
        "model_fn(model_dir) returning the loaded model."
    )


def default_input_fn(input_data: str | bytes, content_type: str | None) -> Any:
    """The scikit-learn container's: the decoded array, a 1-D array as one row, JSON and
    CSV as float32."""
    array = decode(input_data, content_type)
    if len(array.shape) == 1:
        array = array.reshape(1, -1)
    return array.astype(np.float32) if _mime(content_type) in UTF8_TYPES else array


def default_predict_fn(data: Any, model: Any) -> Any:
    """The scikit-learn container's: ``model.predict(data)``."""
    return model.predict(data)


def default_output_fn(prediction: Any, accept: str) -> tuple[str | bytes, str]:
    """The toolkit's: ``prediction`` in the first type of ``accept`` that an encoder
    writes, with that type."""
    for entry in accept.split(","):
        mime = _mime(entry)
        if mime in _ENCODERS:
            return _ENCODERS[mime](prediction), mime
    raise UnsupportedFormatError(accept)


# --- the handler chain -------------------------------------------------------------------

Handler = Callable[..., Any]


def _arity(func: Handler) -> int | None:
    try:
        return len(inspect.signature(func).parameters)
    except (TypeError, ValueError):  # a builtin without a signature: call it plainly
        return None


def _check_arity(name: str, func: Handler, count: int) -> None:
    arity = _arity(func)
    if arity is not None and arity not in (count, count + 1):
        raise InvalidConfiguration(
            f"{name} takes {arity} parameters; the toolkit calls it with {count} "
            f"(or {count + 1}, the last being the request context)."
        )


def _call(func: Handler, context: HandlerContext, *args: Any) -> Any:
    # As the toolkit's _run_handler_function: one parameter more means "give me the context".
    if _arity(func) == len(args) + 1:
        return func(*args, context)
    return func(*args)


class _Failed(Exception):
    def __init__(self, stage: str, error: Exception) -> None:
        super().__init__(stage)
        self.stage = stage
        self.error = error


@dataclass
class _Program:
    """A user module's handlers, with the defaults filled in, and the model it loaded."""

    name: str
    model_dir: str
    model: Any = None
    transform_fn: Handler | None = None
    input_fn: Handler = default_input_fn
    predict_fn: Handler = default_predict_fn
    output_fn: Handler = default_output_fn
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def load(cls, module: ModuleType, model_dir: Path) -> _Program:
        handlers: dict[str, Handler | None] = {
            name: getattr(module, name, None)
            for name in (
                "model_fn",
                "input_fn",
                "predict_fn",
                "output_fn",
                "transform_fn",
                "pre_model_fn",
                "model_warmup_fn",
            )
        }
        given = [name for name in ("input_fn", "predict_fn", "output_fn") if handlers[name]]
        if handlers["transform_fn"] is not None and given:
            raise InvalidConfiguration(
                f"{module.__name__} defines transform_fn and {', '.join(given)}: define "
                "transform_fn alone, or input_fn, predict_fn and output_fn without it."
            )
        counts = {
            "model_fn": 1,
            "input_fn": 2,
            "predict_fn": 2,
            "output_fn": 2,
            "transform_fn": 4,
            "pre_model_fn": 1,
            "model_warmup_fn": 2,
        }
        for name, func in handlers.items():
            if func is not None:
                if not callable(func):
                    raise InvalidConfiguration(
                        f"{module.__name__}.{name} is not a function; define it with def."
                    )
                _check_arity(name, func, counts[name])
        program = cls(
            name=module.__name__,
            model_dir=str(model_dir),
            transform_fn=handlers["transform_fn"],
            input_fn=handlers["input_fn"] or default_input_fn,
            predict_fn=handlers["predict_fn"] or default_predict_fn,
            output_fn=handlers["output_fn"] or default_output_fn,
        )
        context = HandlerContext(program.model_dir)
        if handlers["pre_model_fn"] is not None:
            _call(handlers["pre_model_fn"], context, program.model_dir)
        program.model = _call(handlers["model_fn"] or default_model_fn, context, program.model_dir)
        if handlers["model_warmup_fn"] is not None:
            _call(handlers["model_warmup_fn"], context, program.model_dir, program.model)
        return program

    def invoke(
        self, body: bytes, content_type: str, accept: str, headers: Mapping[str, str]
    ) -> tuple[bytes, str]:
        """The response body and its content type for one request."""
        data: str | bytes = body
        if _mime(content_type) in UTF8_TYPES:
            try:
                data = body.decode("utf-8")
            except UnicodeDecodeError as error:
                raise InvocationError(
                    400,
                    f"The body is not UTF-8 text ({error}), which {_mime(content_type)} "
                    "must be. Send UTF-8, or another Content-Type.",
                ) from error
        context = HandlerContext(self.model_dir, headers)
        with self.lock:  # one request at a time, as one model-server worker
            result = self._transform(data, content_type, accept, context)
        payload, used = (result[0], result[1]) if isinstance(result, tuple) else (result, accept)
        return _body(payload, self.name), _content_type(used, self.name)

    def _transform(
        self, data: str | bytes, content_type: str, accept: str, context: HandlerContext
    ) -> Any:
        if self.transform_fn is not None:
            try:
                return _call(self.transform_fn, context, self.model, data, content_type, accept)
            except UnsupportedFormatError as error:
                raise _unsupported(error, accept == error.content_type) from error
            except (InvocationError, _Failed):
                raise
            except Exception as error:
                raise _Failed("transform_fn", error) from error
        try:
            decoded = _call(self.input_fn, context, data, content_type)
        except UnsupportedFormatError as error:
            raise _unsupported(error, output=False) from error
        except Exception as error:
            raise _Failed("input_fn", error) from error
        try:
            prediction = _call(self.predict_fn, context, decoded, self.model)
        except Exception as error:
            raise _Failed("predict_fn", error) from error
        try:
            return _call(self.output_fn, context, prediction, accept)
        except UnsupportedFormatError as error:
            raise _unsupported(error, output=True) from error
        except Exception as error:
            raise _Failed("output_fn", error) from error


def _unsupported(error: UnsupportedFormatError, output: bool) -> InvocationError:
    if output:
        return InvocationError(
            406,
            f"Accept {error.content_type!r} is not a type the program writes: ask for one "
            f"of {', '.join(_ENCODERS)} (the default output_fn's), or define output_fn. "
            f"({error})",
        )
    return InvocationError(
        415,
        f"Content-Type {error.content_type!r} is not one the program reads: send one of "
        f"{', '.join(_DECODERS)} (the default input_fn's), or define input_fn. ({error})",
    )


def _body(payload: Any, program: str) -> bytes:
    if isinstance(payload, bytes | bytearray | memoryview):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode()
    if payload is None:
        return b""
    raise InvocationError(
        500,
        f"{program}'s output_fn (or transform_fn) returned a {type(payload).__name__}; "
        "return bytes or str, or a (body, content_type) tuple.",
    )


def _content_type(value: Any, program: str) -> str:
    if isinstance(value, str) and value:
        return value
    raise InvocationError(
        500,
        f"{program}'s output_fn (or transform_fn) returned the content type {value!r}; "
        "return a (body, content_type) tuple with a MIME type string.",
    )


def _failure(failed: _Failed) -> InvocationError:
    error = failed.error
    status = getattr(error, "status_code", None)
    message = getattr(error, "message", None)
    # The toolkit's BaseInferenceToolkitError: the user's code picks the status.
    if isinstance(status, int) and 400 <= status <= 599 and isinstance(message, str):
        return InvocationError(status, message)
    return InvocationError(500, f"{failed.stage} raised {type(error).__name__}: {error}")


# --- the app -----------------------------------------------------------------------------


def build_program_app(
    model_dir: Path,
    code_dir: Path,
    program: str,
    environ: Mapping[str, str] | None = None,
) -> Starlette:
    """The serving app of a model with the user's inference code: ``program`` (a module
    name, ``inference`` or ``inference.py``) imported from ``code_dir``, its ``model_fn``
    run now on ``model_dir`` (errors propagate: a container whose model does not load
    does not start). Mirrors a SageMaker framework container's ``serve``."""
    settings = ServingSettings.from_environ(os.environ if environ is None else environ)
    module = _import_program(Path(code_dir), program)
    loaded = _Program.load(module, Path(model_dir))
    default_accept = settings.default_accept or JSON

    async def ping(request: Request) -> Response:
        return Response(b"", status_code=200)

    async def parameters(request: Request) -> Response:
        return Response(json.dumps(execution_parameters(settings)), media_type=JSON)

    async def invocations(request: Request) -> Response:
        try:
            body = await read_body(request, settings.max_payload_bytes)
            content_type = request.headers.get("content-type") or JSON
            accept = request.headers.get("accept", "").strip()
            if not accept or accept == ANY:
                accept = default_accept
            else:
                # Within a list, */* reads as the default accept (the toolkit skips it).
                accept = ",".join(
                    default_accept if _mime(entry) == ANY else entry for entry in accept.split(",")
                )
            headers = {key.lower(): value for key, value in request.headers.items()}
            try:
                payload, used = await run_in_threadpool(
                    loaded.invoke, body, content_type, accept, headers
                )
            except _Failed as failed:
                _log.error("%s failed", failed.stage, exc_info=failed.error)
                raise _failure(failed) from failed
            # The raw header: starlette would add "; charset=utf-8" to a text/* media type.
            return Response(payload, status_code=200, headers={"content-type": used})
        except InvocationError as error:
            return plain_text(error.status, error.message)

    routes = [
        Route("/ping", ping, methods=["GET"]),
        Route("/invocations", invocations, methods=["POST"]),
        Route("/execution-parameters", parameters, methods=["GET"]),
    ]
    app = Starlette(routes=routes)
    app.state.model = loaded.model
    app.state.program = loaded.name
    return app
