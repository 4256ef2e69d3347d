"""Side-by-side speed measurements of fogbank against named peers (``make bench``).

Each ``benchmarks/bench_<name>.py`` module measures one part of fogbank against a
peer in the same run, prints the ratios next to their goals and exposes
``main(argv: list[str] | None = None) -> int``. ``python -m benchmarks`` discovers
and runs every such module. Benchmarks report; they never fail a build and CI
never runs them.
"""
