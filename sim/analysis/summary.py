"""Streaming summaries: everything the report and figures need, accumulated chunk by chunk.

An :class:`Accumulator` holds counts and histograms per parameter point, never the replications
themselves, so a run of 10^7 replications summarises in constant memory. Integer counts do not
depend on the order chunks arrive in; float totals are combined with ``math.fsum``, which is
exactly rounded, so the summary is bit-identical whatever the worker count or executor.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.stats import cumulative_proportion, histogram_quantile, proportion, wilson_interval
from sim.ensemble.chunks import ChunkResult
from sim.model.model import OUTCOMES, REGIONAL
from sim.model.params import Parameters

CASUALTY_BINS = 400
RUNGS = 10


class Accumulator:
    """Counts and histograms of a run's outcomes, per parameter point."""

    def __init__(self, params: Parameters) -> None:
        points, horizon = params.points, params.horizon
        self.params = params
        self.runs = np.zeros(points, dtype=np.int64)
        self.outcomes = np.zeros((points, len(OUTCOMES)), dtype=np.int64)
        self.escalation_days = np.zeros((points, horizon), dtype=np.int64)
        self.war_days = np.zeros((points, horizon + 1), dtype=np.int64)
        self.truce_days = np.zeros((points, 2, horizon + 2), dtype=np.int64)  # [censored, broken]
        self.truces_brokered = np.zeros(points, dtype=np.int64)
        self.truces_broken = np.zeros(points, dtype=np.int64)
        self.rungs = np.zeros((points, len(params.actor_ids), RUNGS), dtype=np.int64)
        self.winners = np.zeros((points, 2), dtype=np.int64)
        top = float(np.max(params.dynamics["daily_casualties"])) * horizon * 4.0
        self.casualty_edges = np.linspace(0.0, top, CASUALTY_BINS + 1)
        self.casualties = np.zeros((points, 2, CASUALTY_BINS), dtype=np.int64)
        # per chunk, per point: total deaths of each side and total territory of the first side
        self.float_sums: list[np.ndarray] = []
        self.chunks: set[int] = set()

    def add(self, result: ChunkResult) -> None:
        """Fold one chunk's records into the counts."""
        if result.chunk.index in self.chunks:
            raise ValueError(f"chunk {result.chunk.index} was added twice")
        self.chunks.add(result.chunk.index)
        runs, truces = result.runs, result.truces
        point = runs["point"]
        points = self.params.points
        horizon = self.params.horizon
        self.runs += np.bincount(point, minlength=points)
        np.add.at(self.outcomes, (point, runs["outcome"]), 1)
        escalated = runs["escalation_day"] >= 0
        np.add.at(self.escalation_days, (point[escalated], runs["escalation_day"][escalated]), 1)
        np.add.at(self.war_days, (point, np.clip(runs["war_days"], 0, horizon)), 1)
        self.truces_brokered += np.bincount(point, weights=runs["truces_brokered"], minlength=points).astype(np.int64)
        self.truces_broken += np.bincount(point, weights=runs["truces_broken"], minlength=points).astype(np.int64)
        np.add.at(self.truce_days, (truces["point"], truces["broken"].astype(int),
                                    np.clip(truces["days"], 0, horizon + 1)), 1)
        for a, actor_id in enumerate(self.params.actor_ids):
            np.add.at(self.rungs, (point, a, runs[f"highest_rung_{actor_id}"]), 1)
        decided = runs["winner"] >= 0
        np.add.at(self.winners, (point[decided], runs["winner"][decided]), 1)
        for side, actor_id in enumerate(self.params.belligerent_ids):
            values = runs[f"casualties_{actor_id}"]
            bins = np.clip(np.searchsorted(self.casualty_edges, values, side="right") - 1, 0, CASUALTY_BINS - 1)
            np.add.at(self.casualties, (point, side, bins), 1)
        self.float_sums.append(np.stack([
            np.bincount(point, weights=runs[f"casualties_{actor_id}"], minlength=points)
            for actor_id in self.params.belligerent_ids
        ] + [np.bincount(point, weights=runs["territory"], minlength=points)], axis=1))

    def _total(self, point: int, column: int) -> float:
        """An exactly rounded total over chunks (math.fsum), whatever order they arrived in."""
        return math.fsum(float(sums[point, column]) for sums in self.float_sums)

    # ---- reading the counts ---------------------------------------------------------------

    def max_interval_width(self) -> float:
        """The widest 95% interval of P(regional escalation) over all points (1 before any run)."""
        if not self.runs.min():
            return 1.0
        low, high = wilson_interval(self.escalation_days.sum(axis=1), self.runs)
        return float(np.max(high - low))

    def escalated(self, point: int = 0) -> int:
        """Replications with a regional escalation, by the scenario's definition."""
        return int(self.escalation_days[point].sum())

    def summary(self, point: int = 0) -> dict[str, Any]:
        """The figures a report quotes for one point, each probability with its interval."""
        params = self.params
        n = int(self.runs[point])
        war_edges = np.arange(params.horizon + 2) - 0.5
        broken = self.truce_days[point, 1]
        censored = self.truce_days[point, 0]
        total_truces = int(broken.sum() + censored.sum())
        backers = {
            actor_id: proportion(int(self.rungs[point, len(params.belligerent_ids) + b, 8:].sum()), n)
            for b, actor_id in enumerate(params.backer_ids)
        }
        casualties = {}
        for side, actor_id in enumerate(params.belligerent_ids):
            histogram = self.casualties[point, side]
            casualties[actor_id] = {
                "mean": self._total(point, side) / n if n else float("nan"),
                "p05": histogram_quantile(histogram, self.casualty_edges, 0.05),
                "median": histogram_quantile(histogram, self.casualty_edges, 0.5),
                "p95": histogram_quantile(histogram, self.casualty_edges, 0.95),
            }
        return {
            "runs": n,
            "p_regional_escalation": proportion(self.escalated(point), n),
            "outcomes": {name: proportion(int(self.outcomes[point, k]), n) for k, name in enumerate(OUTCOMES)},
            "backer_entered_openly": backers,
            "decisive_winner": {
                actor_id: proportion(int(self.winners[point, side]), n)
                for side, actor_id in enumerate(params.belligerent_ids)
            },
            "war_days": {
                "median": histogram_quantile(self.war_days[point], war_edges, 0.5),
                "p05": histogram_quantile(self.war_days[point], war_edges, 0.05),
                "p95": histogram_quantile(self.war_days[point], war_edges, 0.95),
            },
            "truces": {
                "brokered_per_run": float(self.truces_brokered[point] / n) if n else float("nan"),
                "broken_per_run": float(self.truces_broken[point] / n) if n else float("nan"),
                "total": total_truces,
                "broken": proportion(int(broken.sum()), total_truces) if total_truces else None,
                "broken_within_3_days": proportion(int(broken[:4].sum()), total_truces) if total_truces else None,
            },
            "casualties": casualties,
            "territory_held": {
                params.belligerent_ids[0]: self._total(point, 2) / n if n else float("nan"),
                params.belligerent_ids[1]: 1.0 - self._total(point, 2) / n if n else float("nan"),
            },
        }

    def distributions(self, point: int = 0) -> dict[str, Any]:
        """The histograms the figures are drawn from, as plain lists (for distributions.json)."""
        params = self.params
        n = int(self.runs[point])
        cumulative, low, high = cumulative_proportion(self.escalation_days[point], n, params.horizon)
        return {
            "runs": n,
            "horizon_days": params.horizon,
            "outcomes": {name: int(self.outcomes[point, k]) for k, name in enumerate(OUTCOMES)},
            "regional_outcome_index": REGIONAL,
            "escalation_by_day": {"estimate": cumulative.tolist(), "ci_low": low.tolist(), "ci_high": high.tolist()},
            "war_days": self.war_days[point].tolist(),
            "truce_days_broken": self.truce_days[point, 1].tolist(),
            "truce_days_censored": self.truce_days[point, 0].tolist(),
            "highest_rung": {actor_id: self.rungs[point, a].tolist() for a, actor_id in enumerate(params.actor_ids)},
            "actor_roles": {actor_id: ("belligerent" if actor_id in params.belligerent_ids else "backer")
                            for actor_id in params.actor_ids},
            "casualty_edges": self.casualty_edges.tolist(),
            "casualties": {actor_id: self.casualties[point, side].tolist()
                           for side, actor_id in enumerate(params.belligerent_ids)},
            "ladder": list(params.ladder),
        }


def sweep_table(design: pd.DataFrame, accumulator: Accumulator) -> pd.DataFrame:
    """One row per sweep point: its parameter values, runs, P(regional escalation) with its
    interval, every outcome share with its interval, backers' entry and the median war length."""
    params = accumulator.params
    runs = accumulator.runs
    table = design.reset_index(drop=True).copy()
    table["runs"] = runs
    escalated = accumulator.escalation_days.sum(axis=1)
    low, high = wilson_interval(escalated, runs)
    table["p_regional_escalation"] = escalated / runs
    table["ci_low"] = low
    table["ci_high"] = high
    for k, name in enumerate(OUTCOMES):
        low, high = wilson_interval(accumulator.outcomes[:, k], runs)
        table[f"share_{name}"] = accumulator.outcomes[:, k] / runs
        table[f"share_{name}_ci_low"] = low
        table[f"share_{name}_ci_high"] = high
    for b, actor_id in enumerate(params.backer_ids):
        table[f"p_entry_{actor_id}"] = accumulator.rungs[:, len(params.belligerent_ids) + b, 8:].sum(axis=1) / runs
    edges = np.arange(params.horizon + 2) - 0.5
    table["median_war_days"] = [histogram_quantile(row, edges, 0.5) for row in accumulator.war_days]
    return table
