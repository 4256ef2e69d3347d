"""``python -m fogbank.ml.hosting.serve``: a model over HTTP, as SageMaker runs
``docker run <image> serve`` (port 8080, or ``SAGEMAKER_BIND_TO_PORT``): a built-in
algorithm's model, or a model with the user's inference code (a framework container's
``SAGEMAKER_PROGRAM``, served by :mod:`fogbank.ml.hosting.toolkit`).

    python -m fogbank.ml.hosting.serve --model-dir /opt/ml/model --algorithm xgboost
    python -m fogbank.ml.hosting.serve --model-dir /opt/ml/model --program inference.py \
        --code-dir /opt/ml/model/code

Logs go to stdout. Exits 2 with a message on stderr when the model cannot be loaded.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from fogbank.ml.hosting.serving import build_app
from fogbank.ml.hosting.toolkit import build_program_app

DEFAULT_PORT = 8080
DEFAULT_HOST = "127.0.0.1"


def _default_port() -> int:
    raw = os.environ.get("SAGEMAKER_BIND_TO_PORT", "").strip()
    return int(raw) if raw.isdigit() else DEFAULT_PORT


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m fogbank.ml.hosting.serve",
        description="Serve a model with SageMaker's container contract.",
    )
    parser.add_argument("--model-dir", required=True, type=Path, help="what train left in model/")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--algorithm", help="a built-in algorithm: linear-learner, xgboost, ...")
    mode.add_argument(
        "--program", help="the user's inference module (SAGEMAKER_PROGRAM), e.g. inference.py"
    )
    parser.add_argument(
        "--code-dir",
        type=Path,
        default=None,
        help="with --program: the directory it is in (default: MODEL_DIR/code)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help=f"default: SAGEMAKER_BIND_TO_PORT, else {DEFAULT_PORT}",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"default: {DEFAULT_HOST}")
    return parser


def _exit_with_parent() -> None:
    """End this instance when the process that started it is gone (fogbank killed with
    kill -9): an orphaned instance would keep its port and model for ever."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.code_dir is not None and args.program is None:
        parser.error("--code-dir goes with --program")
    _exit_with_parent()
    logging.basicConfig(
        stream=sys.stdout,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    log = logging.getLogger("fogbank.ml.hosting")
    if args.program is not None:
        code_dir = args.code_dir if args.code_dir is not None else args.model_dir / "code"
        what = f"model in {args.model_dir} with {args.program} from {code_dir}"
    else:
        what = f"{args.algorithm} model in {args.model_dir}"
    try:
        if args.program is not None:
            app = build_program_app(args.model_dir, code_dir, args.program)
        else:
            app = build_app(args.model_dir, args.algorithm)
    except Exception as error:  # any failure to load means the container cannot start
        print(f"fogbank serve: cannot load the {what}: {error}", file=sys.stderr)
        return 2
    port = args.port if args.port is not None else _default_port()
    log.info("Loaded the %s; serving on %s:%d", what, args.host, port)
    config = uvicorn.Config(
        app,
        host=args.host,
        port=port,
        log_config=None,  # uvicorn's loggers propagate to the stdout handler above
        lifespan="off",
        timeout_keep_alive=60,
    )
    uvicorn.Server(config).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
