"""Chunks: the unit of work, and the seeds that make results independent of who runs them.

Chunk ``k`` of a run with seed ``s`` draws from ``SeedSequence(s, spawn_key=(k,))``: its random
stream depends on ``(s, k)`` alone, never on the number of chunks, workers, executors or the order
they finish in. Chunk sizes are fixed by the run (not by the worker count), so a given seed gives
bit-identical results however the chunks are spread.
"""

from __future__ import annotations

from collections.abc import Sequence
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


def plan_independent_chunks(runs: int, seed: int, chunk_size: int = DEFAULT_CHUNK_SIZE,
                            points: int = 1, group: int = 1) -> list[Chunk]:
    """Like :func:`plan_chunks`, but every group of ``group`` consecutive points draws its own replications:
    group g's blocks of replications have random streams of their own (blocks ``g * B .. g * B + B - 1`` for
    B blocks a group), so no two groups share random numbers, while the points of a group share them (common
    random numbers). For draws of the dynamics from a posterior, whose runs are pooled: with common random
    numbers the pooled runs would hold only ``runs`` independent replications. A group holds the variants
    played at one draw (``escalation compare --posterior``: both variants, paired)."""
    if runs < 1 or chunk_size < 1 or points < 1 or group < 1 or points % group:
        raise ValueError("runs, chunk_size, points and group must be at least 1, and group must divide points")
    per_group = -(-runs // chunk_size)
    chunks = []
    for first_point in range(0, points, group):
        for block in range(per_group):
            chunks.append(Chunk(index=len(chunks), first=block * chunk_size,
                                replications=min(chunk_size, runs - block * chunk_size), seed=seed,
                                block=first_point // group * per_group + block, point_start=first_point,
                                point_stop=first_point + group))
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
    return simulate_chunks(params, [chunk])[0]


def groups(chunks: Sequence[Chunk], lanes: int = MAX_LANES_PER_CHUNK) -> list[list[Chunk]]:
    """``chunks`` in order, gathered into runs of consecutive chunks of the same points and seed with at most
    ``lanes`` lanes together (a chunk larger than that alone): each run can be played as one model."""
    result: list[list[Chunk]] = []
    for chunk in chunks:
        last = result[-1][-1] if result else None
        if (last is not None and (chunk.seed, chunk.point_start, chunk.point_stop)
                == (last.seed, last.point_start, last.point_stop) and chunk.first == last.first + last.replications
                and sum(c.replications for c in result[-1]) * chunk.points + chunk.replications * chunk.points
                <= lanes):
            result[-1].append(chunk)
        else:
            result.append([chunk])
    return result


def simulate_chunks(params: Parameters, chunks: Sequence[Chunk]) -> list[ChunkResult]:
    """Play consecutive chunks of the same points (see :func:`groups`) side by side in one model, each from its
    own random stream: every result is bit for bit what :func:`simulate_chunk` gives for that chunk alone,
    while the cost of a day's array operations is shared.

    Raises:
        NonFiniteOutputError: an output holds NaN or infinity, or the model overflowed on its way with
            parameters of extreme magnitude.
    """
    first = chunks[0]
    if len(groups(chunks, lanes=sum(c.replications * c.points for c in chunks))) != 1:
        raise ValueError("simulate_chunks plays consecutive chunks of the same points and seed")
    if (first.point_start, first.point_stop) != (0, params.points):
        params = select_points(params, first.point_start, first.point_stop)
    sizes = [chunk.replications for chunk in chunks]
    replications = sum(sizes)
    with floating_point_events() as events:
        rngs = [chunk_rng(chunk.seed, chunk.seed_key) for chunk in chunks]
        model = EscalationModel(params, replications=replications, rng=rngs if len(chunks) > 1 else rngs[0],
                                record_series=False, blocks=sizes if len(chunks) > 1 else None)
        model.run()
        runs = model.results()
    _forget(model)
    truces = model.truces()
    lane = truces.pop("lane")
    truces["point"] = (lane // replications).astype(np.int32)
    truces["replication"] = (lane % replications).astype(np.int64)
    check_floating_point_events(params, events)
    results = []
    for chunk, start in zip(chunks, np.cumsum([0, *sizes[:-1]]).tolist(), strict=True):
        own_runs = _block(runs, start, chunk, len(chunks) > 1)
        own_truces = _block(truces, start, chunk, len(chunks) > 1)
        check_chunk_outputs(params, {"runs": own_runs, "truces": own_truces})
        results.append(ChunkResult(chunk=chunk, runs=own_runs, truces=own_truces))
    return results


def _block(records: ChunkArrays, start: int, chunk: Chunk, select: bool) -> ChunkArrays:
    """The records of one chunk's replications (model columns ``start ..``), numbered as the run numbers them."""
    if select:
        column = records["replication"]
        keep = (column >= start) & (column < start + chunk.replications)
        records = {name: values[keep] for name, values in records.items()}
    else:
        records = dict(records)
    records["replication"] = (records["replication"] - start + chunk.first).astype(np.int64)
    records["point"] = (records["point"] + chunk.point_start).astype(np.int32)
    return records
