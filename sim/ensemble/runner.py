"""The Monte Carlo runner: chunks through an executor, folded into a streaming summary.

:func:`stream_chunks` is the one loop every entry point shares (the Python API, the results
folder, sweeps, comparisons): it plans chunks, hands them to an executor, and passes each result
to the caller as it finishes, with a progress bar on anything longer than a second (on a terminal; a
log file gets a line a minute at most: sim.ensemble.progress).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.analysis.summary import Accumulator
from sim.ensemble.chunks import DEFAULT_CHUNK_SIZE, Chunk, ChunkResult, plan_chunks, plan_independent_chunks
from sim.ensemble.executors import WorkerDiedError, make_executor
from sim.ensemble.progress import progress_bar
from sim.ensemble.tables import concatenate, runs_table, truces_table
from sim.model.params import Parameters, compile_scenarios
from sim.scenario.loader import load_scenario
from sim.scenario.schema import Dynamics, Scenario


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
    bar = progress_bar(total=total, unit="runs", unit_scale=True, disable=not progress, delay=1.0,
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
                 progress: bool = True, dynamics: pd.DataFrame | None = None) -> EnsembleResult:
    """Run a scenario many times and return the tables and the summary (for notebooks).

    Args:
        scenario: a loaded :class:`Scenario` or a path to a scenario file.
        runs: replications (default: the scenario's ``runs``).
        seed: master seed (default: the scenario's ``seed``).
        workers: local worker processes (default: all cores; 1 runs in this process).
        chunk_size: replications per chunk; results depend on it, not on ``workers``.
        executor: an executor object (``sim.ensemble.executors``), e.g. a Dask executor.
        progress: show a progress bar for runs longer than a second.
        dynamics: draws of the shared dynamics from a posterior (``dynamics.<name>`` columns, as
            :func:`sim.analysis.smc_calibration.read_posterior` gives them): the runs are split evenly over
            the draws (rounded up), each draw with random streams of its own, and the summary pools them
            (the posterior predictive), with the draws' spread under ``calibration``.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    runs = scenario.runs if runs is None else runs
    seed = scenario.seed if seed is None else seed
    if dynamics is None:
        params = compile_scenarios([scenario])
        chunks = plan_chunks(runs, seed, chunk_size)
    else:
        params = compile_scenarios(dynamics_variants(scenario, dynamics))
        chunks = plan_independent_chunks(-(-runs // len(dynamics)), seed, chunk_size, params.points)
    accumulator = Accumulator(params)
    collected: dict[int, ChunkResult] = {}
    for result in stream_chunks(params, chunks, workers=workers, executor=executor, progress=progress):
        accumulator.add(result)
        collected[result.chunk.index] = result
    ordered = [collected[k] for k in sorted(collected)]
    head = {"scenario": scenario.name, "title": scenario.title, "seed": seed, "chunk_size": chunk_size}
    if dynamics is not None:
        accumulator, spread = accumulator.posterior_predictive()
        head["calibration"] = {"dynamics": list(dynamics.columns), **spread}
    summary = {**head, **accumulator.summary()}
    return EnsembleResult(
        runs=runs_table(params, concatenate([r.runs for r in ordered])),
        truces=truces_table(params, concatenate([r.truces for r in ordered])),
        summary=summary,
        distributions=accumulator.distributions(),
    )


def dynamics_variants(scenario: Scenario, dynamics: pd.DataFrame) -> list[Scenario]:
    """One scenario per row of ``dynamics`` (``dynamics.<name>`` columns): the scenario with those shared
    dynamics, validated by the schema."""
    names = [column.removeprefix("dynamics.") for column in dynamics.columns]
    base = scenario.dynamics.model_dump()
    variants = []
    for row in dynamics.itertuples(index=False, name=None):
        values = Dynamics.model_validate({**base, **dict(zip(names, row, strict=True))})
        variants.append(scenario.model_copy(update={"dynamics": values}))
    return variants
