"""Run every ``benchmarks/bench_*.py`` module: ``python -m benchmarks [--quick] [NAME ...]``.

A module is picked up when its file is named ``bench_<name>.py`` and it defines
``main(argv: list[str] | None = None) -> int``; nothing needs registering. Each module
accepts ``--quick`` (fewer iterations) and ``--json PATH``; arguments after ``--`` are
passed to every selected module unchanged.

    python -m benchmarks                   # all of them, full length
    python -m benchmarks --quick lake      # only modules whose name contains "lake"
    python -m benchmarks streams           # bench_streams.py: Kinesis vs MiniStack, moto
    python -m benchmarks --json-dir out/   # also write out/bench_<name>.json
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import cast

PACKAGE = "benchmarks"
PREFIX = "bench_"


def discover() -> list[str]:
    """The names (``bench_lake``, ...) of every benchmark module in this package, sorted."""
    here = str(Path(__file__).resolve().parent)
    return sorted(
        info.name
        for info in pkgutil.iter_modules([here])
        if info.name.startswith(PREFIX) and not info.ispkg
    )


def select(names: list[str], filters: list[str]) -> list[str]:
    """The modules whose name (with or without ``bench_``) contains any of ``filters``."""
    if not filters:
        return names
    return [name for name in names if any(f.removeprefix(PREFIX) in name for f in filters)]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Run the side-by-side benchmarks (bench_*.py) and print their ratios.",
        epilog="Arguments after `--` go to every selected module unchanged.",
    )
    parser.add_argument("names", nargs="*", help="run only modules whose name contains one")
    parser.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run)")
    parser.add_argument("--list", action="store_true", help="list the modules and exit")
    parser.add_argument(
        "--json-dir", type=Path, default=None, help="write each module's results to DIR/<name>.json"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in args_in:
        cut = args_in.index("--")
        args_in, extra = args_in[:cut], args_in[cut + 1 :]
    args = _parser().parse_args(args_in)

    available = discover()
    chosen = select(available, args.names)
    if args.list:
        print("\n".join(available))
        return 0
    if not chosen:
        print(
            f"no benchmark module matches {' '.join(args.names)!r}; "
            f"available: {', '.join(available) or 'none'}",
            file=sys.stderr,
        )
        return 2

    status = 0
    for name in chosen:
        module_argv = list(extra)
        if args.quick:
            module_argv.append("--quick")
        if args.json_dir is not None:
            module_argv += ["--json", str(args.json_dir / f"{name}.json")]
        print(f"== {name} {' '.join(module_argv)}".rstrip(), flush=True)
        started = time.perf_counter()
        try:
            module = importlib.import_module(f"{PACKAGE}.{name}")
            run = cast(Callable[[list[str]], int], module.main)
            code = run(module_argv)
        except Exception:
            traceback.print_exc()
            code = 1
        print(f"== {name}: exit {code} in {time.perf_counter() - started:.1f} s\n", flush=True)
        status = status or code
    return status


if __name__ == "__main__":
    raise SystemExit(main())
