"""Chunks: the unit of work, and the seeds that make results independent of who runs them.

Chunk ``k`` of a run with seed ``s`` draws from ``SeedSequence(s, spawn_key=(k,))``: its random
stream depends on ``(s, k)`` alone, never on the number of chunks, workers, executors or the order
they finish in. Chunk sizes are fixed by the run (not by the worker count), so a given seed gives
bit-identical results however the chunks are spread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.model import EscalationModel
from sim.model.params import Parameters

DEFAULT_CHUNK_SIZE = 10_000

ChunkArrays = dict[str, np.ndarray]


@dataclass(frozen=True)
class Chunk:
    """Replications ``first .. first + replications - 1`` of every point, seeded by ``(seed, index)``."""

    index: int
    first: int
    replications: int
    seed: int


@dataclass
class ChunkResult:
    """What one chunk produced: a record per replication and a record per truce."""

    chunk: Chunk
    runs: ChunkArrays
    truces: ChunkArrays


def plan_chunks(runs: int, seed: int, chunk_size: int = DEFAULT_CHUNK_SIZE) -> list[Chunk]:
    """Split ``runs`` replications into chunks of ``chunk_size`` (the last one may be smaller)."""
    if runs < 1 or chunk_size < 1:
        raise ValueError("runs and chunk_size must be at least 1")
    return [
        Chunk(index=k, first=k * chunk_size, replications=min(chunk_size, runs - k * chunk_size), seed=seed)
        for k in range(-(-runs // chunk_size))
    ]


def chunk_rng(seed: int, index: int) -> np.random.Generator:
    """The random generator of chunk ``index`` of a run seeded with ``seed``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))


def simulate_chunk(params: Parameters, chunk: Chunk) -> ChunkResult:
    """Play every lane of one chunk to its end; a pure function of its arguments."""
    model = EscalationModel(params, replications=chunk.replications, rng=chunk_rng(chunk.seed, chunk.index),
                            record_series=False)
    model.run()
    runs = model.results()
    runs["replication"] = runs["replication"] + chunk.first
    truces = model.truces()
    lane = truces.pop("lane")
    truces["point"] = (lane // chunk.replications).astype(np.int32)
    truces["replication"] = (lane % chunk.replications + chunk.first).astype(np.int64)
    return ChunkResult(chunk=chunk, runs=runs, truces=truces)
