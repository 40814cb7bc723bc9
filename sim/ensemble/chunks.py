"""Chunks: the unit of work, and the seeds that make results independent of who runs them.

Chunk ``k`` of a run with seed ``s`` draws from ``SeedSequence(s, spawn_key=(k,))``: its random
stream depends on ``(s, k)`` alone, never on the number of chunks, workers, executors or the order
they finish in. Chunk sizes are fixed by the run (not by the worker count), so a given seed gives
bit-identical results however the chunks are spread.
"""

from __future__ import annotations

from dataclasses import dataclass

import mesa
import numpy as np

from sim.ensemble.finite import check_chunk_outputs, check_floating_point_events, floating_point_events
from sim.model.model import EscalationModel
from sim.model.params import Parameters, select_points

DEFAULT_CHUNK_SIZE = 10_000
MAX_CHUNK_SIZE = 1_000_000
MAX_LANES_PER_CHUNK = 50_000
#: Rough costs behind :func:`chunking_slowdown` (2-core machine, benchmarks/bench_run.py): setting up
#: and stepping a model costs about this much whatever its lanes, and each lane about this much more.
CHUNK_OVERHEAD_SECONDS = 0.015
LANE_SECONDS = 2e-5
#: A chunk size that makes a run this many times slower than the default is refused.
MAX_SLOWDOWN = 20.0

ChunkArrays = dict[str, np.ndarray]


@dataclass(frozen=True)
class Chunk:
    """Replications ``first .. first + replications - 1`` of points ``point_start .. point_stop - 1``.

    Its random stream is ``(seed, block)``: every point of a sweep sees the same random numbers
    for the same replication (common random numbers), whichever chunk of points it falls in.
    """

    index: int
    first: int
    replications: int
    seed: int
    block: int = -1
    point_start: int = 0
    point_stop: int = 1

    @property
    def seed_key(self) -> int:
        """The spawn key of this chunk's random stream: its block of replications."""
        return self.index if self.block < 0 else self.block

    @property
    def points(self) -> int:
        return self.point_stop - self.point_start


@dataclass
class ChunkResult:
    """What one chunk produced: a record per replication and a record per truce."""

    chunk: Chunk
    runs: ChunkArrays
    truces: ChunkArrays


def plan_chunks(runs: int, seed: int, chunk_size: int = DEFAULT_CHUNK_SIZE, points: int = 1) -> list[Chunk]:
    """Split ``runs`` replications of each of ``points`` parameter points into chunks.

    Replications come in blocks of ``chunk_size`` (the last may be smaller); points are grouped so
    that a chunk holds at most ``MAX_LANES_PER_CHUNK`` lanes. Adaptive precision runs the blocks
    in order and stops at the first that meets its target.
    """
    if runs < 1 or chunk_size < 1 or points < 1:
        raise ValueError("runs, chunk_size and points must be at least 1")
    per_chunk = max(1, MAX_LANES_PER_CHUNK // min(chunk_size, runs))
    point_groups = [(start, min(points, start + per_chunk)) for start in range(0, points, per_chunk)]
    chunks = []
    for block in range(-(-runs // chunk_size)):
        replications = min(chunk_size, runs - block * chunk_size)
        for group, (start, stop) in enumerate(point_groups):
            chunks.append(Chunk(index=block * len(point_groups) + group, first=block * chunk_size,
                                replications=replications, seed=seed, block=block,
                                point_start=start, point_stop=stop))
    return chunks


def chunk_count(runs: int, chunk_size: int, points: int = 1) -> int:
    """How many chunks :func:`plan_chunks` makes, without making them."""
    per_chunk = max(1, MAX_LANES_PER_CHUNK // min(chunk_size, runs))
    return -(-runs // chunk_size) * -(-points // per_chunk)


def chunking_slowdown(runs: int, chunk_size: int, points: int = 1) -> float:
    """Roughly how many times slower ``chunk_size`` makes a run than :data:`DEFAULT_CHUNK_SIZE`.

    Each chunk is one model: its set-up and its day-by-day loop cost about
    :data:`CHUNK_OVERHEAD_SECONDS` however few lanes it has, so thousands of tiny chunks spend their
    time on overhead (20,000 runs in chunks of 1 are 20,000 one-lane models).
    """
    lanes = runs * points * LANE_SECONDS

    def cost(size: int) -> float:
        return chunk_count(runs, size, points) * CHUNK_OVERHEAD_SECONDS + lanes

    return cost(chunk_size) / cost(DEFAULT_CHUNK_SIZE)


def smallest_reasonable_chunk_size(runs: int, points: int = 1, limit: float = MAX_SLOWDOWN) -> int:
    """The smallest chunk size whose :func:`chunking_slowdown` is at most ``limit``."""
    low, high = 1, max(1, min(runs, DEFAULT_CHUNK_SIZE))
    while low < high:
        middle = (low + high) // 2
        if chunking_slowdown(runs, middle, points) <= limit:
            high = middle
        else:
            low = middle + 1
    return low


def _forget(model: EscalationModel) -> None:
    """Drop Mesa's class-level reference to a finished model (Mesa 3.3 keeps every model alive in
    ``Agent._ids``, mesa issue #3179), so a worker's memory stays flat chunk after chunk."""
    ids = getattr(mesa.Agent, "_ids", None)
    if isinstance(ids, dict):
        ids.pop(model, None)


def chunk_rng(seed: int, index: int) -> np.random.Generator:
    """The random generator of chunk ``index`` of a run seeded with ``seed``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))


def simulate_chunk(params: Parameters, chunk: Chunk) -> ChunkResult:
    """Play every lane of one chunk to its end; a pure function of its arguments.

    Raises:
        NonFiniteOutputError: an output holds NaN or infinity, or the model overflowed on its way with
            parameters of extreme magnitude.
    """
    if (chunk.point_start, chunk.point_stop) != (0, params.points):
        params = select_points(params, chunk.point_start, chunk.point_stop)
    with floating_point_events() as events:
        model = EscalationModel(params, replications=chunk.replications,
                                rng=chunk_rng(chunk.seed, chunk.seed_key), record_series=False)
        model.run()
        runs = model.results()
    _forget(model)
    runs["replication"] = runs["replication"] + chunk.first
    runs["point"] = runs["point"] + chunk.point_start
    truces = model.truces()
    lane = truces.pop("lane")
    truces["point"] = (lane // chunk.replications + chunk.point_start).astype(np.int32)
    truces["replication"] = (lane % chunk.replications + chunk.first).astype(np.int64)
    check_chunk_outputs(params, {"runs": runs, "truces": truces})
    check_floating_point_events(params, events)
    return ChunkResult(chunk=chunk, runs=runs, truces=truces)
