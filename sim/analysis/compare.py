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

from sim.analysis.stats import paired_difference
from sim.analysis.summary import Accumulator
from sim.analysis.sweep import ScenarioLike, as_loaded
from sim.ensemble.chunks import DEFAULT_CHUNK_SIZE, plan_chunks
from sim.ensemble.runner import stream_chunks
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


def _escalated_by_replication(params: Parameters, runs: int, seed: int, chunk_size: int,
                              **options: Any) -> tuple[Accumulator, np.ndarray]:
    """The accumulator of every point, and a (points, runs) array: did replication r escalate?"""
    accumulator = Accumulator(params)
    escalated = np.zeros((params.points, runs), dtype=bool)
    for result in stream_chunks(params, plan_chunks(runs, seed, chunk_size, params.points), **options):
        accumulator.add(result)
        records = result.runs
        escalated[records["point"], records["replication"]] = records["escalation_day"] >= 0
    return accumulator, escalated


def compare(first: ScenarioLike, second: ScenarioLike | None = None, *, first_overrides: Sequence[str] = (),
            second_overrides: Sequence[str] = (), runs: int = 10_000, seed: int | None = None,
            chunk_size: int = DEFAULT_CHUNK_SIZE, labels: tuple[str, str] | None = None,
            origins: tuple[str, str] = ("first_overrides", "second_overrides"), **options: Any) -> Comparison:
    """Play two variants on common random numbers and compare their risk of regional escalation.

    ``second`` defaults to ``first``: then the two ``*_overrides`` lists make the variants. Messages
    about an override name where it was given, ``origins`` (the command line passes its flags).
    """
    loaded_first = as_loaded(first)
    loaded_second = loaded_first if second is None else as_loaded(second)
    seed = loaded_first.scenario.seed if seed is None else seed
    variant_first = load_variants(loaded_first, [list(first_overrides)], origin=origins[0])[0]
    variant_second = load_variants(loaded_second, [list(second_overrides)], origin=origins[1])[0]
    labels = labels or _labels(loaded_first, loaded_second, first_overrides, second_overrides)
    try:
        params = compile_scenarios([variant_first, variant_second])
        exact = True
    except ScenarioError:
        params = None
        exact = False
    if params is not None:
        accumulator, escalated = _escalated_by_replication(params, runs, seed, chunk_size, **options)
        summaries = (accumulator.summary(0), accumulator.summary(1))
        pairs = (escalated[0], escalated[1])
    else:
        (first_acc, first_esc), (second_acc, second_esc) = (
            _escalated_by_replication(compile_scenarios([variant]), runs, seed, chunk_size, **options)
            for variant in (variant_first, variant_second)
        )
        summaries = (first_acc.summary(0), second_acc.summary(0))
        pairs = (first_esc[0], second_esc[0])
    for summary, variant in zip(summaries, (variant_first, variant_second), strict=True):
        summary.update(scenario=variant.name, title=variant.title, seed=seed)
    return Comparison(labels, summaries, paired_difference(*pairs), exact)


def _labels(first: LoadedScenario, second: LoadedScenario, first_overrides: Sequence[str],
            second_overrides: Sequence[str]) -> tuple[str, str]:
    if first is second or first.source == second.source:
        return (" ".join(first_overrides) or "as written", " ".join(second_overrides) or "as written")
    return (first.scenario.name, second.scenario.name)
