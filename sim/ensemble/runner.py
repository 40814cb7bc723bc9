"""The Monte Carlo runner: chunks through an executor, folded into a streaming summary.

:func:`stream_chunks` is the one loop every entry point shares (the Python API, the results
folder, sweeps, comparisons): it plans chunks, hands them to an executor, and passes each result
to the caller as it finishes, with a progress bar on anything longer than a second.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import tqdm as tqdm_module
from tqdm.auto import tqdm

from sim.analysis.summary import Accumulator
from sim.ensemble.chunks import DEFAULT_CHUNK_SIZE, Chunk, ChunkResult, plan_chunks
from sim.ensemble.executors import WorkerDiedError, make_executor
from sim.ensemble.tables import concatenate, runs_table, truces_table
from sim.model.params import Parameters, compile_scenarios
from sim.scenario.loader import load_scenario
from sim.scenario.schema import Scenario

# No tqdm monitor thread: local workers are forked, and forking a multi-threaded process is unsafe.
tqdm_module.tqdm.monitor_interval = 0
# Nor tqdm's default lock between processes (workers draw no bars): its semaphore would start
# multiprocessing's resource tracker, one more child process of every run for nothing.
if not hasattr(tqdm_module.tqdm, "_lock"):
    tqdm_module.tqdm.set_lock(threading.RLock())


@dataclass
class EnsembleResult:
    """A finished ensemble: per-replication and per-truce tables, the summary and the histograms."""

    runs: pd.DataFrame
    truces: pd.DataFrame
    summary: dict[str, Any]
    distributions: dict[str, Any] = field(repr=False, default_factory=dict)


def stream_chunks(params: Parameters, chunks: Sequence[Chunk], *, workers: int | None = None,
                  executor: Any = None, progress: bool = True,
                  notify: Callable[[str], None] | None = None) -> Iterator[ChunkResult]:
    """Run ``chunks`` and yield each result as it finishes (in any order).

    Without an executor, a single chunk runs in this process: a pool would only add its start-up.
    """
    executor = executor or make_executor(1 if len(chunks) == 1 else workers)
    total = sum(c.replications * c.points for c in chunks)
    results: Iterable[ChunkResult] = executor.map(params, chunks, notify=notify)
    bar = tqdm(total=total, unit="runs", unit_scale=True, disable=not progress, delay=1.0,
               file=sys.stderr, desc=params.name, dynamic_ncols=True)
    expected = {c.index for c in chunks}
    try:
        for result in results:
            bar.update(result.chunk.replications * result.chunk.points)
            expected.discard(result.chunk.index)
            yield result
        if expected:  # an executor must never finish short: a summary of fewer runs would look valid
            raise WorkerDiedError(f"the executor finished without chunk(s) {', '.join(map(str, sorted(expected)))}; "
                                  "the chunks finished so far are kept")
    finally:
        bar.close()
        close = getattr(results, "close", None)
        if close:
            close()


def run_ensemble(scenario: Scenario | str | Path, runs: int | None = None, seed: int | None = None, *,
                 workers: int | None = None, chunk_size: int = DEFAULT_CHUNK_SIZE, executor: Any = None,
                 progress: bool = True) -> EnsembleResult:
    """Run a scenario many times and return the tables and the summary (for notebooks).

    Args:
        scenario: a loaded :class:`Scenario` or a path to a scenario file.
        runs: replications (default: the scenario's ``runs``).
        seed: master seed (default: the scenario's ``seed``).
        workers: local worker processes (default: all cores; 1 runs in this process).
        chunk_size: replications per chunk; results depend on it, not on ``workers``.
        executor: an executor object (``sim.ensemble.executors``), e.g. a Dask executor.
        progress: show a progress bar for runs longer than a second.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    runs = scenario.runs if runs is None else runs
    seed = scenario.seed if seed is None else seed
    params = compile_scenarios([scenario])
    chunks = plan_chunks(runs, seed, chunk_size)
    accumulator = Accumulator(params)
    collected: dict[int, ChunkResult] = {}
    for result in stream_chunks(params, chunks, workers=workers, executor=executor, progress=progress):
        accumulator.add(result)
        collected[result.chunk.index] = result
    ordered = [collected[k] for k in sorted(collected)]
    summary = {"scenario": scenario.name, "title": scenario.title, "seed": seed, "chunk_size": chunk_size,
               **accumulator.summary()}
    return EnsembleResult(
        runs=runs_table(params, concatenate([r.runs for r in ordered])),
        truces=truces_table(params, concatenate([r.truces for r in ordered])),
        summary=summary,
        distributions=accumulator.distributions(),
    )
