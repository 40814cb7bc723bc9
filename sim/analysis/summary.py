"""Streaming summaries: everything the report and figures need, accumulated chunk by chunk.

An :class:`Accumulator` holds counts and histograms per parameter point, never the replications
themselves, so a run of 10^7 replications summarises in constant memory. Integer counts do not
depend on the order chunks arrive in; float totals are combined with ``math.fsum``, which is
exactly rounded, so the summary is bit-identical whatever the worker count or executor.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.stats import (
    cumulative_proportion,
    histogram_quantile,
    proportion,
    spread_beyond_noise,
    wilson_interval,
)
from sim.ensemble.chunks import ChunkResult
from sim.model.endings import ENDING_NAMES, ENDINGS, HALTS
from sim.model.model import OUTCOME_NAMES, OUTCOMES, REGIONAL
from sim.model.params import LIMITED, Parameters
from sim.scenario.schema import DEFAULT_LADDER, FORMS

CASUALTY_BINS = 400
RUNGS = len(DEFAULT_LADDER)
#: The forms whose reach is reported per outside power (at or above each).
REPORTED_FORMS = ("deniable", "indirect", "limited", "open")


class Accumulator:
    """Counts and histograms of a run's outcomes, per parameter point."""

    def __init__(self, params: Parameters) -> None:
        points, horizon = params.points, params.horizon
        self.params = params
        self.fighters = params.fighters
        self.outside = params.outside_ids
        self.fronts = params.structure.front_ids
        self.camps = params.structure.camp_ids
        actors = len(params.actor_ids)
        self.runs = np.zeros(points, dtype=np.int64)
        self.outcomes = np.zeros((points, len(OUTCOMES)), dtype=np.int64)
        self.escalation_days = np.zeros((points, horizon), dtype=np.int64)
        self.war_days = np.zeros((points, horizon + 1), dtype=np.int64)
        self.truce_days = np.zeros((points, 2, horizon + 2), dtype=np.int64)  # [censored, broken]
        self.truces_brokered = np.zeros(points, dtype=np.int64)
        self.truces_broken = np.zeros(points, dtype=np.int64)
        self.rungs = np.zeros((points, len(self.fighters), RUNGS), dtype=np.int64)
        self.forms = np.zeros((points, len(self.outside), len(FORMS)), dtype=np.int64)
        self.combat_days = np.zeros((points, len(self.outside), horizon), dtype=np.int64)
        self.war_size = np.zeros((points, actors + 1), dtype=np.int64)
        self.winners = np.zeros((points, len(self.camps)), dtype=np.int64)
        self.endings = np.zeros((points, len(ENDINGS)), dtype=np.int64)
        self.mediators = params.structure.mediator_ids
        self.halt_brokers = np.zeros((points, len(self.mediators) + 1), dtype=np.int64)   # last: by the parties
        top = float(np.max(params.dynamics["daily_casualties"]) * np.max(params.front["intensity"], initial=1.0)
                    ) * horizon * 4.0 * max(1, len(self.fronts))
        # The first bin holds the runs without a death (an outside power that never fought).
        self.casualty_edges = np.concatenate([[0.0], np.linspace(0.5, top, CASUALTY_BINS)])
        self.casualties = np.zeros((points, len(self.fighters), CASUALTY_BINS), dtype=np.int64)
        # per chunk, per point: total deaths of each fighter and total control of each front
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
        np.add.at(self.endings, (point, runs["ended_by"]), 1)
        halted = np.isin(runs["ended_by"], HALTS)
        np.add.at(self.halt_brokers, (point[halted], runs["halt_broker"][halted]), 1)   # -1: the parties (last)
        escalated = runs["escalation_day"] >= 0
        np.add.at(self.escalation_days, (point[escalated], runs["escalation_day"][escalated]), 1)
        np.add.at(self.war_days, (point, np.clip(runs["war_days"], 0, horizon)), 1)
        self.truces_brokered += np.bincount(point, weights=runs["truces_brokered"], minlength=points).astype(np.int64)
        self.truces_broken += np.bincount(point, weights=runs["truces_broken"], minlength=points).astype(np.int64)
        np.add.at(self.truce_days, (truces["point"], truces["broken"].astype(int),
                                    np.clip(truces["days"], 0, horizon + 1)), 1)
        for a, actor_id in enumerate(self.fighters):
            np.add.at(self.rungs, (point, a, runs[f"highest_rung_{actor_id}"]), 1)
        for a, actor_id in enumerate(self.outside):
            np.add.at(self.forms, (point, a, runs[f"form_{actor_id}"]), 1)
            day = runs[f"combat_day_{actor_id}"]
            entered = day >= 0
            np.add.at(self.combat_days, (point[entered], a, day[entered]), 1)
        np.add.at(self.war_size, (point, runs["war_size"]), 1)
        decided = runs["winner"] >= 0
        np.add.at(self.winners, (point[decided], runs["winner"][decided]), 1)
        for a, actor_id in enumerate(self.fighters):
            values = runs[f"casualties_{actor_id}"]
            bins = np.clip(np.searchsorted(self.casualty_edges, values, side="right") - 1, 0, CASUALTY_BINS - 1)
            np.add.at(self.casualties, (point, a, bins), 1)
        self.float_sums.append(np.stack(
            [np.bincount(point, weights=runs[f"casualties_{actor_id}"], minlength=points) for actor_id in self.fighters]
            + [np.bincount(point, weights=runs[f"control_{front_id}"], minlength=points) for front_id in self.fronts],
            axis=1))

    def pooled(self, points: Sequence[int] | None = None) -> Accumulator:
        """The counts of ``points`` (default: every point) added together, as one point: the posterior
        predictive of a run whose points are draws of the shared dynamics from a calibration's posterior
        (the points differ only in their dynamics, so the definitions of point 0 hold for all)."""
        return self.pooled_groups([range(self.runs.size) if points is None else points])

    def pooled_groups(self, groups: Sequence[Sequence[int]]) -> Accumulator:
        """One point per group of points, its counts those of the group's points added together (a sweep
        point pooled over the draws of a posterior it was played at)."""
        indices = [np.asarray(group, dtype=np.intp) for group in groups]
        pooled = copy.copy(self)
        for name in ("runs", "outcomes", "escalation_days", "war_days", "truce_days", "truces_brokered",
                     "truces_broken", "rungs", "forms", "combat_days", "war_size", "winners", "endings",
                     "halt_brokers", "casualties"):
            counts = getattr(self, name)
            setattr(pooled, name, np.stack([counts[index].sum(axis=0) for index in indices]))
        pooled.float_sums = [np.stack([sums[index].sum(axis=0) for index in indices]) for sums in self.float_sums]
        pooled.chunks = set(self.chunks)
        return pooled

    def calibration_spread(self, points: Sequence[int] | None = None) -> dict[str, Any]:
        """How much P(regional escalation) moves over ``points`` (default: every point; draws of the dynamics
        from a posterior): the points' mean, and their 90% interval with each point's own Monte Carlo noise
        taken out (:func:`sim.analysis.stats.spread_beyond_noise`)."""
        chosen = slice(None) if points is None else np.asarray(points, dtype=np.intp)
        runs = self.runs[chosen].astype(float)
        estimates = self.escalation_days[chosen].sum(axis=1) / runs
        noise = estimates * (1 - estimates) / np.maximum(runs - 1, 1)
        spread = spread_beyond_noise(estimates, noise)
        return {"points": spread.pop("points"), "runs_per_point": int(runs.min()), **spread}

    def posterior_predictive(self, points: Sequence[int] | None = None) -> tuple[Accumulator, dict[str, Any]]:
        """The runs of ``points`` (draws of the shared dynamics from a posterior, each with runs of its own)
        pooled into one point, and how much P(regional escalation) moves over the draws."""
        return self.pooled(points), self.calibration_spread(points)

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

    def entered(self, point: int = 0) -> dict[str, dict[str, Any]]:
        """Per outside power: the share of runs in which it reached each form (at or above), and when it
        first fought (median day among runs where it did)."""
        n = int(self.runs[point])
        result = {}
        for a, actor_id in enumerate(self.outside):
            counts = self.forms[point, a]
            reached = {form: proportion(int(counts[FORMS.index(form):].sum()), n) for form in REPORTED_FORMS}
            days = self.combat_days[point, a]
            edges = np.arange(self.params.horizon + 1) - 0.5
            reached["median_combat_day"] = histogram_quantile(days, edges, 0.5) if days.sum() else None
            result[actor_id] = reached
        return result

    def summary(self, point: int = 0) -> dict[str, Any]:
        """The figures a report quotes for one point, each probability with its interval."""
        params = self.params
        n = int(self.runs[point])
        war_edges = np.arange(params.horizon + 2) - 0.5
        broken = self.truce_days[point, 1]
        censored = self.truce_days[point, 0]
        total_truces = int(broken.sum() + censored.sum())
        casualties = {}
        for a, actor_id in enumerate(self.fighters):
            histogram = self.casualties[point, a]
            casualties[actor_id] = {
                "mean": self._total(point, a) / n if n else 0.0,
                "p05": histogram_quantile(histogram, self.casualty_edges, 0.05),
                "median": histogram_quantile(histogram, self.casualty_edges, 0.5),
                "p95": histogram_quantile(histogram, self.casualty_edges, 0.95),
            }
        size_edges = np.arange(len(params.actor_ids) + 2) - 0.5
        definition = definition_text(params, point)
        return {
            "runs": n,
            "p_regional_escalation": proportion(self.escalated(point), n),
            "regional_escalation_definition": definition,
            "definitions": definitions(params, point, definition),
            "outcomes": {name: proportion(int(self.outcomes[point, k]), n) for k, name in enumerate(OUTCOMES)},
            "entered": self.entered(point),
            "in_combat": {actor_id: proportion(int(self.forms[point, a, LIMITED:].sum()), n)
                          for a, actor_id in enumerate(self.outside)},
            "decisive_winner": {camp: proportion(int(self.winners[point, c]), n) for c, camp in enumerate(self.camps)},
            "ended_by": {name: proportion(int(self.endings[point, k]), n) for k, name in enumerate(ENDINGS)},
            "halted_by": {broker: proportion(int(self.halt_brokers[point, m]), n)
                          for m, broker in enumerate((*self.mediators, "the parties"))},
            "war_days": {
                "median": histogram_quantile(self.war_days[point], war_edges, 0.5),
                "at_horizon": proportion(int(self.war_days[point, params.horizon:].sum()), n),
                "p05": histogram_quantile(self.war_days[point], war_edges, 0.05),
                "p95": histogram_quantile(self.war_days[point], war_edges, 0.95),
            },
            "war_size": {
                "median": histogram_quantile(self.war_size[point], size_edges, 0.5),
                "mean": float((self.war_size[point] * np.arange(len(self.war_size[point]))).sum() / n) if n else 0.0,
                "at_start": int((params.structure.initial_camp >= 0).sum()),
            },
            "truces": {
                "brokered_per_run": float(self.truces_brokered[point] / n) if n else 0.0,
                "broken_per_run": float(self.truces_broken[point] / n) if n else 0.0,
                "total": total_truces,
                "broken": proportion(int(broken.sum()), total_truces) if total_truces else None,
                "broken_within_3_days": proportion(int(broken[:4].sum()), total_truces) if total_truces else None,
                "median_days": histogram_quantile(broken + censored, np.arange(broken.size + 1) - 0.5, 0.5)
                if total_truces else None,
            },
            "casualties": casualties,
            "control": {front_id: self._total(point, len(self.fighters) + f) / n if n else 0.0
                        for f, front_id in enumerate(self.fronts)},
        }

    def distributions(self, point: int = 0) -> dict[str, Any]:
        """The histograms the figures are drawn from, as plain lists (for distributions.json)."""
        params = self.params
        n = int(self.runs[point])
        cumulative, low, high = cumulative_proportion(self.escalation_days[point], n, params.horizon)
        entry = {}
        for a, actor_id in enumerate(self.outside):
            share, entry_low, entry_high = cumulative_proportion(self.combat_days[point, a], n, params.horizon)
            entry[actor_id] = {"estimate": share.tolist(), "ci_low": entry_low.tolist(), "ci_high": entry_high.tolist()}
        return {
            "runs": n,
            "horizon_days": params.horizon,
            "outcomes": {name: int(self.outcomes[point, k]) for k, name in enumerate(OUTCOMES)},
            "ended_by": {name: int(self.endings[point, k]) for k, name in enumerate(ENDINGS)},
            "regional_outcome_index": REGIONAL,
            "escalation_by_day": {"estimate": cumulative.tolist(), "ci_low": low.tolist(), "ci_high": high.tolist()},
            "entry_by_day": entry,
            "forms": {actor_id: self.forms[point, a].tolist() for a, actor_id in enumerate(self.outside)},
            "form_names": list(FORMS),
            "war_size": self.war_size[point].tolist(),
            "war_days": self.war_days[point].tolist(),
            "truce_days_broken": self.truce_days[point, 1].tolist(),
            "truce_days_censored": self.truce_days[point, 0].tolist(),
            "highest_rung": {actor_id: self.rungs[point, a].tolist() for a, actor_id in enumerate(self.fighters)},
            "actor_roles": {actor_id: ("outside" if actor_id in self.outside else "party")
                            for actor_id in self.fighters},
            "casualty_edges": self.casualty_edges.tolist(),
            "casualties": {actor_id: self.casualties[point, a].tolist() for a, actor_id in enumerate(self.fighters)},
            "ladder": list(params.ladder),
        }


def definition_text(params: Parameters, point: int = 0) -> str:
    """The scenario's definition of regional escalation at ``point``, in words (docs/MODEL.md 7.7)."""
    definition = params.definition
    conditions = []
    form = int(definition["outside_form"][point, 0])
    if form < len(FORMS):
        conditions.append(f"an outside power newly at {' or '.join(FORMS[form:])}")
    if definition["outside_powers_fight"][point, 0]:
        conditions.append("outside powers fighting each other")
    new_parties = int(definition["new_parties"][point, 0])
    if new_parties <= len(params.actor_ids):
        conditions.append(f"{new_parties} or more actors at war that were not at war on day 0" if new_parties > 1
                          else "an actor at war that was not at war on day 0")
    for a, actor_id in enumerate(params.actor_ids):
        actor_form = int(definition["actor_forms"][a, point, 0])
        if actor_form < len(FORMS):
            conditions.append(f"{actor_id} at {' or '.join(FORMS[actor_form:])}")
    return ", or ".join(conditions)


def definitions(params: Parameters, point: int = 0, definition: str | None = None) -> dict[str, str]:
    """What each figure of the summary counts, so that no two different numbers pass under one name."""
    definition = definition_text(params, point) if definition is None else definition
    counted = bool(params.definition["outside_powers_fight"][point, 0])
    parts = ("outcomes.regional_escalation + outcomes.outside_war" if counted else
             "outcomes.regional_escalation + those runs of outcomes.outside_war that met it otherwise")
    return {
        "p_regional_escalation": f"runs in which regional escalation ({definition}) happened on any day; "
                                 f"= {parts}",
        "outcomes": "each run's outcome at its end, counted once, in the first of these that applies: "
                    + "; ".join(f"{code}: {OUTCOME_NAMES[code]}" for code in OUTCOME_NAMES),
        "ended_by": "how each run's war ended, whether or not it escalated: "
                    + "; ".join(f"{code}: {ENDING_NAMES[code]}" for code in ENDINGS),
        "halted_by": "runs ending under a halt (negotiated, imposed, unilateral or frozen), by who brought it about",
        "in_combat": "per outside power: runs in which it fought in combat (limited or open)",
        "entered": "per outside power and form: runs in which it reached that form or above (deniable: "
                   "deniable, indirect, limited or open)",
        "war_days": "war length: last day of fighting + 1; at_horizon: runs whose war length reached the "
                    "horizon (fighting on its last day)",
        "war_size": "actors at war at any time in a run (the day-0 parties plus entrants)",
    }


def sweep_table(design: pd.DataFrame, accumulator: Accumulator) -> pd.DataFrame:
    """One row per sweep point: its parameter values, runs, P(regional escalation) with its
    interval, every outcome share with its interval, the share of each way the war ended, outside powers'
    entry, the median war length and the median life of a truce."""
    params = accumulator.params
    runs = accumulator.runs
    # The columns are gathered first and joined to the design once: a column at a time into a DataFrame
    # costs about 0.2 ms each, several milliseconds a call for one point (an EMA experiment).
    columns: dict[str, Any] = {"runs": runs}
    escalated = accumulator.escalation_days.sum(axis=1)
    low, high = wilson_interval(escalated, runs)
    columns["p_regional_escalation"] = escalated / runs
    columns["ci_low"] = low
    columns["ci_high"] = high
    for k, name in enumerate(OUTCOMES):
        low, high = wilson_interval(accumulator.outcomes[:, k], runs)
        columns[f"share_{name}"] = accumulator.outcomes[:, k] / runs
        columns[f"share_{name}_ci_low"] = low
        columns[f"share_{name}_ci_high"] = high
    for k, name in enumerate(ENDINGS):
        columns[f"share_ended_{name}"] = accumulator.endings[:, k] / runs
    for a, actor_id in enumerate(accumulator.outside):
        columns[f"p_combat_{actor_id}"] = accumulator.forms[:, a, LIMITED:].sum(axis=1) / runs
    edges = np.arange(params.horizon + 2) - 0.5
    columns["median_war_days"] = [histogram_quantile(row, edges, 0.5) for row in accumulator.war_days]
    truce_days = accumulator.truce_days.sum(axis=1)
    truce_edges = np.arange(truce_days.shape[1] + 1) - 0.5
    columns["median_truce_days"] = [histogram_quantile(row, truce_edges, 0.5) if row.sum() else np.nan
                                    for row in truce_days]
    size_edges = np.arange(len(params.actor_ids) + 2) - 0.5
    columns["median_war_size"] = [histogram_quantile(row, size_edges, 0.5) for row in accumulator.war_size]
    table = design.reset_index(drop=True)
    kept = table.drop(columns=[name for name in columns if name in table.columns])
    return pd.concat([kept, pd.DataFrame(columns, index=table.index)], axis=1)
