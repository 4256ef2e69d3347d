"""Training throughput of linear-learner and factorization-machines on a GPU vs the CPU.

One self-contained run for a machine with an NVIDIA GPU (made for an H100 and a
10-minute limit; a full run takes a few minutes), run from the repository root:

    python benchmarks/gpu_training.py                 # 10,000,000 rows, about 100 s
    python benchmarks/gpu_training.py --rows 20000 --allow-cpu   # a smoke run, no GPU

Any python with torch (CUDA), numpy and scipy will do: fogbank is imported from the
checkout's ``src/`` when it is not installed (the repo's .venv, 2.2 GB with a CPU-only
torch, is neither needed nor carried to the GPU machine; its image's python3 is used).

What it measures, each on the GPU (all rows) and on the CPU (the first ``--cpu-rows``,
1,000,000 by default, so the CPU side stays short; rows/s are comparable):

1. linear-learner's training core, ``linear_learner_engine.fit_arrays`` (what the
   container's ``train`` calls after parsing the channel), on ``--rows`` x 100 float32
   synthetic binary rows in memory, predictor_type binary_classifier, num_models 32,
   at mini_batch_size 1,000 and 100,000 (``--ll-epochs`` 2, early stopping as AWS's).
   Two rates: ``epoch`` is the engine's own #throughput_metric (one pass of updates plus
   its per-epoch scoring of a 100,000-row sample; the best epoch), ``fit`` is rows x
   epochs run / the whole ``fit_arrays`` call (scaler, copying the rows to the device,
   every epoch, model selection and threshold calibration). The engine picks CUDA when
   torch sees it; the CPU run pins it with ``linear_learner_engine.device``.
2. A plain PyTorch reference for the same work: 32 logistic models as one batched
   ``torch.bmm``, BCE-with-logits, ``torch.optim.Adam``, rows already on the device, one
   epoch at each mini-batch size.
3. factorization-machines' training core (``factorization_machines._FM``: the
   embedding-bag forward, autograd, MXNet-style lazy Adam; what ``train`` runs per
   batch) on ``--fm-rows`` (default ``--rows``) one-hot (user, item) rows, 1,000,000
   users + 100,000 items, num_factors 64, regressor, at mini_batch_size 1,000 and
   10,000. ``prepare`` is turning the CSR batches into device tensors (the container
   does it once and caches them); ``epoch`` is one pass of ``train_batch`` over them.

Goals (the issue, on an H100): linear-learner >= 10 M rows/s at mini_batch_size 1,000
and >= 200 M rows/s at 100,000 (checked on the epoch rate). Prints a table; with OUT
set, also writes ``$OUT/gpu_training.json``. Without CUDA it says why and exits 2,
unless ``--allow-cpu`` is given (the GPU rows are then skipped).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

DIM = 100
MODELS = 32
LL_GOALS = {1000: 10e6, 100_000: 200e6}
LL_BATCHES = (1000, 100_000)
FM_BATCHES = (1000, 10_000)
FM_USERS, FM_ITEMS, FM_FACTORS = 1_000_000, 100_000, 64


def _sync(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def _clock(device: Any, work: Callable[[], Any]) -> tuple[float, Any]:
    _sync(device)
    started = time.perf_counter()
    value = work()
    _sync(device)
    return time.perf_counter() - started, value


# ---------------------------------------------------------------------------------
# Data


def binary_rows(rows: int, device: Any, seed: int = 0) -> tuple[Any, Any]:
    """``rows`` x 100 float32 Gaussian features (made on ``device``) and 0/1 labels from
    a logistic model."""
    import torch

    generator = torch.Generator(device=device).manual_seed(seed)
    weights = torch.randn(DIM, 1, generator=generator, device=device) * (2.0 / math.sqrt(DIM))
    x = torch.randn(rows, DIM, generator=generator, device=device)
    p = torch.sigmoid(x @ weights - 0.3)[:, 0]
    y = (torch.rand(rows, generator=generator, device=device) < p).float()
    return x, y


def one_hot_rows(rows: int, seed: int = 1) -> tuple[Any, np.ndarray]:
    """One-hot (user, item) CSR rows, skewed towards popular ids, and ratings-like labels."""
    import scipy.sparse

    rng = np.random.default_rng(seed)
    users = (FM_USERS * rng.random(rows) ** 2).astype(np.int32)
    items = (FM_ITEMS * rng.random(rows) ** 3).astype(np.int32)
    user_bias = rng.standard_normal(FM_USERS).astype(np.float32) * 0.4
    item_bias = rng.standard_normal(FM_ITEMS).astype(np.float32) * 0.5
    labels = 3.5 + user_bias[users] + item_bias[items]
    labels += rng.standard_normal(rows).astype(np.float32) * 0.8
    indices = np.empty(2 * rows, np.int32)
    indices[0::2] = users
    indices[1::2] = FM_USERS + items
    indptr = np.arange(0, 2 * rows + 1, 2, dtype=np.int64)
    csr = scipy.sparse.csr_matrix(
        (np.ones(2 * rows, np.float32), indices, indptr), shape=(rows, FM_USERS + FM_ITEMS)
    )
    return csr, labels.astype(np.float32)


# ---------------------------------------------------------------------------------
# linear-learner's core


@contextmanager
def _engine_on(device: Any) -> Any:
    """The linear-learner engine pinned to ``device`` (it picks CUDA when it can)."""
    import torch

    from fogbank.ml.algorithms import linear_learner_engine as engine

    chosen, available = engine.device, torch.cuda.is_available
    engine.device = lambda: device
    if device.type == "cpu":  # and hide the GPU, should the engine ask torch itself
        torch.cuda.is_available = lambda: False
    try:
        yield engine
    finally:
        engine.device = chosen
        torch.cuda.is_available = available


def linear_learner(
    x: np.ndarray, y: np.ndarray, batch: int, epochs: int, device: Any, graphs: bool = True
) -> dict[str, Any]:
    from fogbank.ml.algorithms import linear_learner as ll
    from fogbank.ml.algorithms.linear_learner_metrics import Log
    from fogbank.ml.algorithms.linear_learner_plan import resolve, seed_of

    class Rates(Log):
        """A quiet log that keeps the engine's per-epoch throughput."""

        def __init__(self) -> None:
            super().__init__(quiet=True)
            self.rates: list[float] = []

        def throughput(self, rate: float) -> None:
            self.rates.append(float(rate))

    given = {
        "predictor_type": "binary_classifier",
        "feature_dim": str(DIM),
        "num_models": str(MODELS),
        "mini_batch_size": str(batch),
        "epochs": str(epochs),
    }
    plan = resolve(ll.validate(given), seed=seed_of(given), feature_dim=DIM)
    with _engine_on(device) as engine:
        engine.USE_CUDA_GRAPHS = graphs
        try:
            # Warm up (CUDA context, cuBLAS handles, kernels) on a small slice first.
            warm = min(len(y), max(8 * batch, 20_000))
            engine.fit_arrays(plan, x[:warm], y[:warm], log=Rates())
            log = Rates()
            seconds, fitted = _clock(device, lambda: engine.fit_arrays(plan, x, y, log=log))
        finally:
            engine.USE_CUDA_GRAPHS = True
    epochs_run = int(getattr(fitted, "epochs_run", len(log.rates)) or len(log.rates))
    return {
        "seconds": seconds,
        "epochs_run": epochs_run,
        "fit_rows_per_s": len(y) * epochs_run / seconds,
        "epoch_rows_per_s": max(log.rates) if log.rates else math.nan,
        "epoch_rates": log.rates,
        "weight": np.asarray(fitted.weight).tolist() if len(y) <= 2_000_000 else None,
        "chosen": int(fitted.chosen),
    }


def graph_check(
    x: np.ndarray, y: np.ndarray, batch: int, epochs: int, device: Any
) -> dict[str, Any]:
    """linear-learner with and without CUDA graphs on the same rows: the same models
    (weights to float32 rounding) and each one's rate."""
    graphed = linear_learner(x, y, batch, epochs, device, graphs=True)
    eager = linear_learner(x, y, batch, epochs, device, graphs=False)
    a, b = np.asarray(graphed["weight"]), np.asarray(eager["weight"])
    return {
        "seconds": graphed["seconds"],
        "epoch_rows_per_s": graphed["epoch_rows_per_s"],
        "eager_epoch_rows_per_s": eager["epoch_rows_per_s"],
        "max_abs_weight_difference": float(np.max(np.abs(a - b))),
        "max_abs_weight": float(np.max(np.abs(b))),
        "same_chosen_model": graphed["chosen"] == eager["chosen"],
    }


# ---------------------------------------------------------------------------------
# The plain PyTorch reference


def reference_logistic(x: Any, y: Any, batch: int) -> dict[str, Any]:
    """32 logistic models as one batched bmm, Adam, one epoch; rows already on device."""
    import torch
    from torch.nn.functional import binary_cross_entropy_with_logits

    device = x.device
    weight = torch.zeros(MODELS, DIM, 1, device=device, requires_grad=True)
    bias = torch.zeros(MODELS, 1, 1, device=device, requires_grad=True)
    optimizer = torch.optim.Adam([weight, bias], lr=0.01)

    def step(start: int) -> None:
        xb = x[start : start + batch]
        yb = y[start : start + batch]
        z = torch.bmm(xb.expand(MODELS, -1, -1), weight) + bias  # (models, rows, 1)
        loss = binary_cross_entropy_with_logits(z[:, :, 0], yb.expand(MODELS, -1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()

    rows = int(y.shape[0])
    for start in range(0, min(rows, 20 * batch), batch):  # warm-up
        step(start)

    def epoch() -> None:
        for start in range(0, rows, batch):
            step(start)

    seconds, _ = _clock(device, epoch)
    return {"seconds": seconds, "epoch_rows_per_s": rows / seconds}


# ---------------------------------------------------------------------------------
# factorization-machines' core


def factorization_machines(csr: Any, labels: np.ndarray, batch: int, device: Any) -> dict[str, Any]:
    import torch

    from fogbank.ml.algorithms import factorization_machines as fm

    typed = fm.validate(
        {
            "feature_dim": str(csr.shape[1]),
            "num_factors": str(FM_FACTORS),
            "predictor_type": "regressor",
            "mini_batch_size": str(batch),
            "bias_lr": "0.1",
            "linear_lr": "0.01",
            "factors_lr": "0.001",
        }
    )
    threads = torch.get_num_threads()
    if device.type == "cpu" and batch * FM_FACTORS < fm.SMALL_WORK:
        torch.set_num_threads(1)  # as fm.train does for small batches on CPU
    try:
        model = fm._FM(typed, device)
        rows = len(labels)

        def prepare() -> list[tuple[Any, Any]]:
            return [
                (
                    model.batch(csr[start : start + batch]),
                    torch.from_numpy(labels[start : start + batch]).to(device),
                )
                for start in range(0, rows, batch)
            ]

        prepare_s, batches = _clock(device, prepare)
        for data, target in batches[:5]:  # warm-up
            model.train_batch(data, target)

        def epoch() -> float:
            total = 0.0
            for data, target in batches:
                total += model.train_batch(data, target)
            return total

        seconds, _ = _clock(device, epoch)
    finally:
        torch.set_num_threads(threads)
    return {
        "prepare_seconds": prepare_s,
        "seconds": seconds,
        "epoch_rows_per_s": rows / seconds,
        "prepare_rows_per_s": rows / prepare_s,
    }


# ---------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    made = argparse.ArgumentParser(
        prog="python benchmarks/gpu_training.py",
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    made.add_argument("--rows", type=int, default=10_000_000, help="GPU rows (10,000,000)")
    made.add_argument(
        "--cpu-rows", type=int, default=1_000_000, help="CPU rows: the first N (1,000,000)"
    )
    made.add_argument("--fm-rows", type=int, default=None, help="FM rows on GPU (--rows)")
    made.add_argument("--ll-epochs", type=int, default=2, help="linear-learner epochs (2)")
    made.add_argument(
        "--allow-cpu", action="store_true", help="run without CUDA (the CPU rows only)"
    )
    made.add_argument(
        "--skip", action="append", default=[], choices=("ll", "reference", "fm", "cpu")
    )
    return made


def _line(cells: list[str], widths: list[int]) -> str:
    return "  ".join(
        c.ljust(w) if i < 3 else c.rjust(w)
        for i, (c, w) in enumerate(zip(cells, widths, strict=True))
    )


def _find_fogbank() -> None:
    """Import fogbank from the checkout's ``src/`` when it is not installed (the GPU
    machine's own python3, which has torch with CUDA, numpy and scipy, but no venv)."""
    try:
        import fogbank  # noqa: F401
    except ImportError:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _find_fogbank()
    import torch

    cuda = torch.cuda.is_available()
    if not cuda:
        why = (
            f"torch {torch.__version__} is a CPU-only build (torch.version.cuda is None)"
            if torch.version.cuda is None
            else f"torch {torch.__version__} (CUDA {torch.version.cuda}) sees no GPU"
        )
        print(f"gpu_training: no CUDA device: {why}.", file=sys.stderr, flush=True)
        if not args.allow_cpu:
            print(
                "gpu_training: install a CUDA build of torch in this venv, or pass "
                "--allow-cpu for a CPU-only run.",
                file=sys.stderr,
            )
            return 2
    gpu = torch.device("cuda") if cuda else None
    cpu = torch.device("cpu")
    environment = {
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "gpu": torch.cuda.get_device_name(0) if cuda else None,
        "cpu_threads": torch.get_num_threads(),
        "host": platform.node(),
        "rows": args.rows,
        "cpu_rows": min(args.cpu_rows, args.rows),
    }
    print(f"gpu_training: {json.dumps(environment)}", flush=True)
    started = time.perf_counter()
    results: list[dict[str, Any]] = []

    def record(
        measure: str, device: str, batch: int, rows: int, run: Callable[[], dict[str, Any]]
    ) -> None:
        print(f"... {measure} on {device}, mini_batch_size {batch:,}, {rows:,} rows", flush=True)
        entry: dict[str, Any] = {"measure": measure, "device": device, "batch": batch, "rows": rows}
        try:
            entry.update(run())
        except Exception as error:  # one failure must not lose the other figures
            traceback.print_exc()
            entry["error"] = f"{type(error).__name__}: {error}"
        results.append(entry)

    devices = ([gpu] if gpu is not None else []) + ([] if "cpu" in args.skip else [cpu])
    cpu_rows = min(args.cpu_rows, args.rows)

    # linear learner and the reference, on one data set
    if "ll" not in args.skip or "reference" not in args.skip:
        source = gpu if gpu is not None else cpu
        t0 = time.perf_counter()
        x_t, y_t = binary_rows(args.rows, source)
        x_np = x_t.cpu().numpy()
        y_np = y_t.cpu().numpy()
        print(
            f"... made {args.rows:,} x {DIM} rows in {time.perf_counter() - t0:.1f} s", flush=True
        )
        if gpu is not None and "ll" not in args.skip:
            check_rows = min(args.rows, 1_000_000)
            record(
                "linear-learner CUDA graph vs eager",
                "cuda",
                1000,
                check_rows,
                partial(graph_check, x_np[:check_rows], y_np[:check_rows], 1000, 2, gpu),
            )
        for device in devices:
            rows = args.rows if device.type == "cuda" else cpu_rows
            for batch in LL_BATCHES:
                if "ll" not in args.skip:
                    record(
                        "linear-learner fit_arrays",
                        device.type,
                        batch,
                        rows,
                        partial(
                            linear_learner, x_np[:rows], y_np[:rows], batch, args.ll_epochs, device
                        ),
                    )
                if "reference" not in args.skip:
                    xd = x_t[:rows].to(device)
                    yd = y_t[:rows].to(device)
                    record(
                        "torch bmm + Adam reference",
                        device.type,
                        batch,
                        rows,
                        partial(reference_logistic, xd, yd, batch),
                    )
                    del xd, yd
        del x_t, y_t, x_np, y_np
        if gpu is not None:
            torch.cuda.empty_cache()

    if "fm" not in args.skip:
        fm_rows = args.fm_rows or args.rows
        t0 = time.perf_counter()
        csr, labels = one_hot_rows(fm_rows)
        print(f"... made {fm_rows:,} one-hot rows in {time.perf_counter() - t0:.1f} s", flush=True)
        for device in devices:
            rows = fm_rows if device.type == "cuda" else min(cpu_rows, fm_rows)
            for batch in FM_BATCHES:
                record(
                    "factorization-machines _FM",
                    device.type,
                    batch,
                    rows,
                    partial(factorization_machines, csr[:rows], labels[:rows], batch, device),
                )

    # the table
    header = [
        "measure",
        "device",
        "batch",
        "rows",
        "seconds",
        "epoch rows/s",
        "fit rows/s",
        "vs cpu",
        "goal",
        "met",
    ]
    lines: list[list[str]] = []
    cpu_rate = {
        (r["measure"], r["batch"]): r.get("epoch_rows_per_s")
        for r in results
        if r["device"] == "cpu"
    }
    for r in results:
        rate = r.get("epoch_rows_per_s", math.nan)
        fit = r.get("fit_rows_per_s")
        base = cpu_rate.get((r["measure"], r["batch"]))
        ratio = f"{rate / base:.1f}x" if r["device"] == "cuda" and base else ""
        goal = (
            LL_GOALS.get(r["batch"])
            if r["measure"].startswith("linear") and r["device"] == "cuda"
            else None
        )
        met = "" if goal is None or "error" in r else ("yes" if rate >= goal else "no")
        seconds = r.get("seconds", math.nan)
        if "prepare_seconds" in r:
            extra = f"{seconds:.2f} (+{r['prepare_seconds']:.2f} prepare)"
        else:
            extra = f"{seconds:.2f}"
        lines.append(
            [
                r["measure"],
                r["device"],
                f"{r['batch']:,}",
                f"{r['rows']:,}",
                "error" if "error" in r else extra,
                "-" if "error" in r else f"{rate / 1e6:,.2f} M",
                f"{fit / 1e6:,.2f} M" if fit else "",
                ratio,
                f">= {goal / 1e6:,.0f} M" if goal else "",
                met,
            ]
        )
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]
    print()
    print(_line(header, widths))
    print(_line(["-" * w for w in widths], widths))
    for row in lines:
        print(_line(row, widths))
    for r in results:
        if "max_abs_weight_difference" in r:
            print(
                f"CUDA graph vs eager (1,000-row batches, {r['rows']:,} rows): max |weight "
                f"difference| {r['max_abs_weight_difference']:.3g} of max |weight| "
                f"{r['max_abs_weight']:.3g}; same chosen model: {r['same_chosen_model']}; "
                f"eager epoch rate {r['eager_epoch_rows_per_s'] / 1e6:,.2f} M rows/s"
            )
    for r in results:
        if "error" in r:
            print(f"error: {r['measure']} on {r['device']} at {r['batch']:,}: {r['error']}")
    elapsed = time.perf_counter() - started
    print(
        f"\nepoch rows/s: linear-learner: the engine's #throughput_metric (best epoch: updates "
        f"+ scoring a 100k sample); reference and FM: one pass of updates on device-resident "
        f"batches. fit rows/s: rows x epochs / the whole fit_arrays call. CPU rows are the "
        f"first {cpu_rows:,}. Total {elapsed:.0f} s."
    )
    out = os.environ.get("OUT")
    if out:
        path = Path(out) / "gpu_training.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        document = {"environment": environment, "seconds": elapsed, "results": results}
        path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
        print(f"results written to {path}")
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
