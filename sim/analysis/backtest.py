"""Backtests on historical cases: predicted probabilities against what happened, properly scored.

Each case is a scenario whose ``observed`` block records the outcome. The forecast scored is the
probability of regional escalation (a backer entering openly, or backers fighting); it is scored
by the Brier score and the log score against two reference forecasters: the base rate of the case
set itself (in-sample, which flatters the reference) and the published base rate of third-party
joining in militarized disputes (10.2%, GML MID data). Stylised facts are checked as ranges.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.ensemble.runner import run_ensemble
from sim.scenario.errors import Problem, ScenarioError, UserError
from sim.scenario.loader import load_scenario
from sim.scenario.schema import Scenario

PUBLISHED_JOINER_RATE = 0.102  # a third state joins after onset in 10.2% of disputes (GML MID 2.2.1)
LOG_FLOOR = 1e-3


@dataclass
class Backtest:
    """Per-case predictions and facts, and the overall scores."""

    cases: pd.DataFrame
    facts: pd.DataFrame
    scores: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        return {"cases": self.cases.to_dict(orient="records"), "stylised_facts": self.facts.to_dict(orient="records"),
                "scores": self.scores.to_dict(orient="records")}


def statistic(summary: dict[str, Any], name: str) -> float | None:
    """A summary statistic by the name stylised facts use (``schema.STATISTICS``)."""
    if name == "p_regional_escalation":
        return summary["p_regional_escalation"]["estimate"]
    if name.startswith("p_"):
        return summary["outcomes"][name[2:]]["estimate"]
    truces = summary["truces"]
    if name == "truces_broken_within_3_days":
        return truces["broken_within_3_days"]["estimate"] if truces["broken_within_3_days"] else None
    if name == "truces_broken_per_run":
        return truces["broken_per_run"]
    if name == "median_war_days":
        return summary["war_days"]["median"]
    raise KeyError(name)


def brier(forecasts: Sequence[float], outcomes: Sequence[bool]) -> float:
    """Mean squared difference between probability and outcome (0 is perfect)."""
    p = np.asarray(forecasts, dtype=float)
    y = np.asarray(outcomes, dtype=float)
    return float(np.mean((p - y) ** 2))


def log_score(forecasts: Sequence[float], outcomes: Sequence[bool]) -> float:
    """Mean natural log of the probability given to what happened (0 is perfect; floored at 1e-3)."""
    p = np.clip(np.asarray(forecasts, dtype=float), LOG_FLOOR, 1 - LOG_FLOOR)
    y = np.asarray(outcomes, dtype=bool)
    return float(np.mean(np.where(y, np.log(p), np.log(1 - p))))


def load_cases(folder: str | Path) -> list[tuple[Path, Scenario]]:
    """Every case file in a folder (sorted); each must load and record its observed outcome."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(Problem("not a folder of case files", source=str(folder)))
    files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))
    if not files:
        raise UserError(Problem("no case files (*.yaml) in this folder", source=str(folder)))
    cases, problems = [], []
    for path in files:
        try:
            scenario = load_scenario(path)
        except ScenarioError as error:
            problems.extend(error.problems)
            continue
        if scenario.observed is None:
            problems.append(Problem("a case needs an 'observed:' block recording what happened", source=str(path)))
            continue
        cases.append((path, scenario))
    if problems:
        raise ScenarioError(problems)
    return cases


def backtest(folder: str | Path, runs: int = 10_000, seed: int | None = None, **options: Any) -> Backtest:
    """Run every case and score its forecast of regional escalation against what happened."""
    rows, facts = [], []
    for path, scenario in load_cases(folder):
        summary = run_ensemble(scenario, runs=runs, seed=scenario.seed if seed is None else seed, **options).summary
        observed = scenario.observed
        escalation = summary["p_regional_escalation"]
        happened = observed.backer_entered_openly or observed.backers_fought
        rows.append({
            "case": scenario.name,
            "file": path.name,
            "title": scenario.title,
            "runs": summary["runs"],
            "p_regional_escalation": escalation["estimate"],
            "ci_low": escalation["ci_low"],
            "ci_high": escalation["ci_high"],
            "observed_regional_escalation": happened,
            "p_backer_war": summary["outcomes"]["backer_war"]["estimate"],
            "observed_backers_fought": observed.backers_fought,
            "p_decisive_victory": summary["outcomes"]["decisive_victory"]["estimate"],
            "observed_decisive_victory": observed.decisive_victory,
            "median_war_days": summary["war_days"]["median"],
            "observed_war_days": observed.war_days,
            "truces_broken_per_run": summary["truces"]["broken_per_run"],
            "observed_truces_broken": observed.truces_broken,
        })
        for fact in observed.stylised_facts:
            value = statistic(summary, fact.statistic)
            low, high = fact.range
            facts.append({"case": scenario.name, "fact": fact.fact, "statistic": fact.statistic,
                          "value": value, "low": low, "high": high,
                          "holds": value is not None and low <= value <= high})
    cases = pd.DataFrame(rows)
    return Backtest(cases, pd.DataFrame(facts, columns=["case", "fact", "statistic", "value", "low", "high", "holds"]),
                    score(cases))


def score(cases: pd.DataFrame) -> pd.DataFrame:
    """Brier and log scores of the model and of the two reference forecasters, with skill."""
    outcomes = cases["observed_regional_escalation"].astype(bool).to_numpy()
    base_rate = float(outcomes.mean())
    forecasters = {
        "model": cases["p_regional_escalation"].to_numpy(dtype=float),
        f"case-set base rate ({base_rate:.2f}, in-sample)": np.full(len(cases), base_rate),
        f"published joiner base rate ({PUBLISHED_JOINER_RATE:.3f}, GML MID)": np.full(len(cases),
                                                                                    PUBLISHED_JOINER_RATE),
    }
    rows = []
    model_brier = brier(forecasters["model"], outcomes)
    for name, forecast in forecasters.items():
        value = brier(forecast, outcomes)
        rows.append({
            "forecaster": name,
            "cases": len(cases),
            "brier": value,
            "log_score": log_score(forecast, outcomes),
            "model_brier_skill": (1 - model_brier / value) if value > 0 and name != "model" else math.nan,
        })
    return pd.DataFrame(rows)
