"""Resharding plans: which shards close and which open, as pairwise splits and merges.

Pure functions over shard rows; the engine checks the rules and the log applies a
plan in one transaction. UpdateShardCount is planned the way Kinesis carries it out:
every open shard is split at the new boundaries inside it, then each new range's
pieces are merged pairwise, so every shard has at most two parents and a consumer
that finishes parents before children keeps its order.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from fogbank.streams import keys
from fogbank.streams.store import ShardRow


@dataclass(frozen=True)
class Plan:
    close: list[int]
    create: list[ShardRow]


def split(parent: ShardRow, start: int, first_index: int, now_ms: int) -> Plan:
    """Split ``parent`` so that hash keys from ``start`` on go to the second child."""
    return Plan(
        [parent.index],
        [
            _child(first_index, parent.start_hash, start - 1, parent.index, None, now_ms),
            _child(first_index + 1, start, parent.end_hash, parent.index, None, now_ms),
        ],
    )


def merge(first: ShardRow, second: ShardRow, index: int, now_ms: int) -> Plan:
    """Merge two adjacent shards; the child's parent is ``first``, as named in the call."""
    low, high = sorted((first, second), key=lambda s: s.start_hash)
    child = _child(index, low.start_hash, high.end_hash, first.index, second.index, now_ms)
    return Plan([first.index, second.index], [child])


def uniform(open_shards: list[ShardRow], target: int, first_index: int, now_ms: int) -> Plan:
    """UNIFORM_SCALING to ``target`` shards of even ranges, by splits then merges."""
    next_index = first_index
    closed: list[int] = []
    created: list[ShardRow] = []
    pieces = sorted(open_shards, key=lambda s: s.start_hash)
    ranges = keys.even_ranges(target)
    for start, _ in ranges[1:]:
        position = next(
            (i for i, s in enumerate(pieces) if s.start_hash < start <= s.end_hash), None
        )
        if position is None:
            continue  # already a boundary
        step = split(pieces[position], start, next_index, now_ms)
        next_index += 2
        closed += step.close
        created += step.create
        pieces[position : position + 1] = step.create
    for start, end in ranges:
        group = [s for s in pieces if start <= s.start_hash and s.end_hash <= end]
        while len(group) > 1:
            step = merge(group[0], group[1], next_index, now_ms)
            next_index += 1
            closed += step.close
            created += step.create
            group[0:2] = step.create
    # Shards made and merged away within this one change are born closed.
    born = {s.index for s in created}
    gone = set(closed)
    return Plan(
        [i for i in closed if i not in born],
        [replace(s, closed_ms=now_ms) if s.index in gone else s for s in created],
    )


def _child(
    index: int, start: int, end: int, parent: int, adjacent: int | None, now_ms: int
) -> ShardRow:
    return ShardRow(index, start, end, parent, adjacent, now_ms, None, 1, now_ms)
