"""The program a training job runs: ``python -m fogbank.ml.training.container ROOT ALGO``.

It plays the role of a built-in algorithm's image entry point (``train``): it sees
only the container layout under ROOT, trains, and exits 0 on success. On failure it
writes the reason to ``output/failure`` (the first 1,024 characters become the job's
FailureReason), prefixed as SageMaker's built-ins do: ``ClientError:`` for a problem
with the user's data or hyperparameters, ``AlgorithmError:`` for anything else.
SIGTERM (StopTrainingJob) ends it at once.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from pathlib import Path

from fogbank.core.errors import FogbankError
from fogbank.ml.algorithms import algorithm
from fogbank.ml.training.environment import ContainerEnvironment


def main(argv: list[str]) -> int:
    root, name = Path(argv[0]), argv[1]
    signal.signal(signal.SIGTERM, _terminated)
    # XGBoost imports scikit-learn (seconds) only for its estimator wrappers, which no
    # built-in algorithm uses; scikit-learn is not a fogbank dependency anyway.
    sys.modules.setdefault("sklearn", None)  # type: ignore[arg-type]
    env = ContainerEnvironment.from_root(root)
    try:
        chosen = algorithm(name)
        for required in chosen.channels.required:
            if required not in env.channels:
                raise FogbankError(
                    f"Channel {required!r} is required by {name} but the job has only "
                    f"{sorted(env.channels) or 'no channels'}; add it to InputDataConfig."
                )
        chosen.train(env)
    except FogbankError as error:
        return _fail(env, f"ClientError: {error.message}")
    except MemoryError:
        return _fail(
            env, "AlgorithmError: out of memory; use a smaller mini_batch_size or less data"
        )
    except Exception as error:  # the job fails with the reason; the log keeps the trace
        traceback.print_exc()
        return _fail(env, f"AlgorithmError: {type(error).__name__}: {error}")
    sys.stdout.flush()
    return 0


def _fail(env: ContainerEnvironment, reason: str) -> int:
    print(reason, file=sys.stderr, flush=True)
    env.failure_path.parent.mkdir(parents=True, exist_ok=True)
    env.failure_path.write_text(reason, encoding="utf-8")
    return 1


def _terminated(signum: int, frame: object) -> None:
    # os._exit, not sys.exit: a SystemExit raised inside library code (an import, a
    # callback under a broad except) could be swallowed and leave the job running.
    print("Received SIGTERM: stopping training.", file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(143)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
