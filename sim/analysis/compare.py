"""Compare two variants of a crisis on common random numbers, with a paired interval.

"Does a peacekeeping mission cut the risk?" Two scenarios (or one with two sets of overrides)
are played on the same seeds, replication by replication. When they share a structure they run as
two points of one ensemble, so each replication sees exactly the same random numbers; otherwise
they run side by side with the same chunk seeds, still paired by replication. The difference in
P(regional escalation) comes with Newcombe's paired 95% interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.stats import paired_difference, spread_beyond_noise
from sim.analysis.summary import Accumulator
from sim.analysis.sweep import ScenarioLike, as_loaded
from sim.ensemble.chunks import DEFAULT_CHUNK_SIZE, Chunk, plan_independent_chunks
from sim.ensemble.runner import dynamics_variants, stream_chunks
from sim.model.params import Parameters, compile_scenarios
from sim.scenario.errors import ScenarioError
from sim.scenario.loader import LoadedScenario, load_variants


@dataclass
class Comparison:
    """Both variants' summaries and the paired difference (first minus second)."""

    labels: tuple[str, str]
    summaries: tuple[dict[str, Any], dict[str, Any]]
    difference: dict[str, float]
    exact_common_random_numbers: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": list(self.labels),
            "difference_in_p_regional_escalation": self.difference,
            "exact_common_random_numbers": self.exact_common_random_numbers,
            "first": self.summaries[0],
            "second": self.summaries[1],
        }


def _escalated_by_replication(params: Parameters, chunks: Sequence[Chunk],
                              **options: Any) -> tuple[Accumulator, np.ndarray]:
    """The accumulator of every point, and a (points, runs) array: did replication r escalate?"""
    accumulator = Accumulator(params)
    runs = max(chunk.first + chunk.replications for chunk in chunks)
    escalated = np.zeros((params.points, runs), dtype=bool)
    for result in stream_chunks(params, chunks, **options):
        accumulator.add(result)
        records = result.runs
        escalated[records["point"], records["replication"]] = records["escalation_day"] >= 0
    return accumulator, escalated


def compare(first: ScenarioLike, second: ScenarioLike | None = None, *, first_overrides: Sequence[str] = (),
            second_overrides: Sequence[str] = (), runs: int = 10_000, seed: int | None = None,
            chunk_size: int = DEFAULT_CHUNK_SIZE, labels: tuple[str, str] | None = None,
            origins: tuple[str, str] = ("first_overrides", "second_overrides"),
            dynamics: pd.DataFrame | None = None, **options: Any) -> Comparison:
    """Play two variants on common random numbers and compare their risk of regional escalation.

    ``second`` defaults to ``first``: then the two ``*_overrides`` lists make the variants. Messages
    about an override name where it was given, ``origins`` (the command line passes its flags).

    ``dynamics``: draws of the shared dynamics from a posterior (``dynamics.<name>`` columns, as
    :func:`sim.analysis.smc_calibration.read_posterior` gives them). The runs are split evenly over the
    draws (rounded up); at each draw both variants play the same replications (paired), each draw with
    random streams of its own; the summaries and the difference pool every pair (the posterior
    predictive), and ``calibration`` says how much each risk and the difference move over the draws.
    """
    loaded_first = as_loaded(first)
    loaded_second = loaded_first if second is None else as_loaded(second)
    seed = loaded_first.scenario.seed if seed is None else seed
    variant_first = load_variants(loaded_first, [list(first_overrides)], origin=origins[0])[0]
    variant_second = load_variants(loaded_second, [list(second_overrides)], origin=origins[1])[0]
    labels = labels or _labels(loaded_first, loaded_second, first_overrides, second_overrides)
    draws = 1 if dynamics is None else len(dynamics)
    firsts, seconds = ([variant_first], [variant_second]) if dynamics is None else (
        dynamics_variants(variant_first, dynamics), dynamics_variants(variant_second, dynamics))
    per_draw = -(-runs // draws)
    try:  # one ensemble, the two variants of a draw side by side: [first, second] at every draw
        params = compile_scenarios([variant for pair in zip(firsts, seconds, strict=True) for variant in pair])
    except ScenarioError:
        params = None
    if params is not None:
        chunks = plan_independent_chunks(per_draw, seed, chunk_size, 2 * draws, group=2)
        accumulator, escalated = _escalated_by_replication(params, chunks, **options)
        accumulators, points = (accumulator, accumulator), (range(0, 2 * draws, 2), range(1, 2 * draws, 2))
    else:  # structures differ: each variant alone, draw d's replications on the same streams in both
        played = [_escalated_by_replication(compile_scenarios(variants),
                                            plan_independent_chunks(per_draw, seed, chunk_size, draws), **options)
                  for variants in (firsts, seconds)]
        accumulators = (played[0][0], played[1][0])
        escalated = np.stack([played[0][1], played[1][1]], axis=1).reshape(2 * draws, per_draw)
        points = (range(draws), range(draws))
    summaries = []
    for accumulator, chosen, variant in zip(accumulators, points, (variant_first, variant_second), strict=True):
        pooled, spread = accumulator.posterior_predictive(list(chosen))
        summary = pooled.summary(0)
        summary.update(scenario=variant.name, title=variant.title, seed=seed)
        if dynamics is not None:
            summary["calibration"] = {"dynamics": list(dynamics.columns), **spread}
        summaries.append(summary)
    pairs = escalated[0::2], escalated[1::2]
    difference = paired_difference(pairs[0].ravel(), pairs[1].ravel())
    if dynamics is not None:
        difference["calibration"] = _difference_spread(*pairs)
    return Comparison(labels, (summaries[0], summaries[1]), difference, params is not None)


def _difference_spread(first: np.ndarray, second: np.ndarray) -> dict[str, Any]:
    """How much the paired difference moves over the draws (rows: draws, columns: paired replications), each
    draw's Monte Carlo noise (the variance of its mean paired difference) taken out."""
    differences = first.astype(float) - second.astype(float)
    runs = differences.shape[1]
    noise = differences.var(axis=1, ddof=1) / runs if runs > 1 else np.zeros(differences.shape[0])
    return {**spread_beyond_noise(differences.mean(axis=1), noise), "runs_per_point": int(runs)}


def _labels(first: LoadedScenario, second: LoadedScenario, first_overrides: Sequence[str],
            second_overrides: Sequence[str]) -> tuple[str, str]:
    if first is second or first.source == second.source:
        return (" ".join(first_overrides) or "as written", " ".join(second_overrides) or "as written")
    return (first.scenario.name, second.scenario.name)
