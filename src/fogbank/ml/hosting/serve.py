"""``python -m fogbank.ml.hosting.serve``: a built-in algorithm's model over HTTP, as
SageMaker runs ``docker run <image> serve`` (port 8080, or ``SAGEMAKER_BIND_TO_PORT``).

    python -m fogbank.ml.hosting.serve --model-dir /opt/ml/model --algorithm xgboost

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

DEFAULT_PORT = 8080
DEFAULT_HOST = "127.0.0.1"


def _default_port() -> int:
    raw = os.environ.get("SAGEMAKER_BIND_TO_PORT", "").strip()
    return int(raw) if raw.isdigit() else DEFAULT_PORT


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m fogbank.ml.hosting.serve",
        description="Serve a built-in algorithm's model with SageMaker's container contract.",
    )
    parser.add_argument("--model-dir", required=True, type=Path, help="what train left in model/")
    parser.add_argument("--algorithm", required=True, help="linear-learner, xgboost, ...")
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
    args = _parser().parse_args(argv)
    _exit_with_parent()
    logging.basicConfig(
        stream=sys.stdout,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    log = logging.getLogger("fogbank.ml.hosting")
    try:
        app = build_app(args.model_dir, args.algorithm)
    except Exception as error:  # any failure to load means the container cannot start
        print(
            f"fogbank serve: cannot load the {args.algorithm} model in {args.model_dir}: {error}",
            file=sys.stderr,
        )
        return 2
    port = args.port if args.port is not None else _default_port()
    log.info(
        "Loaded the %s model from %s; serving on %s:%d",
        args.algorithm,
        args.model_dir,
        args.host,
        port,
    )
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
