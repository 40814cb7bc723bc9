"""Backtests on historical cases: predicted probabilities against what happened, properly scored.

Each case is a scenario whose ``observed`` block records the outcome (coded by the rules of
scenarios/cases/README.md). The forecast scored is the probability of regional escalation as the
case defines it; the observed event is the strict coding (an outside power's acknowledged combat
within the horizon, or outside powers fighting each other). Scores: Brier and log scores with
bootstrap intervals, against reference forecasters that a sceptic would try first: the
leave-one-out base rate of the case set, the published joiner rate (10.2% of militarized disputes
see a third state join after onset; Gibler, Miller & Little 2016), and a one-variable logistic
baseline on an obvious predictor (an outside power has a defence pact, guarantee or patronage
commitment that can carry it into combat for a party at war), fitted leave-one-out. Discrimination
(AUC), calibration (slope and binned reliability with counts), timing (P(entry by the observed
day)), war length (CRPS of the war-length distribution) and stylised facts complete the report.
Only this module reads ``observed:``; the model never does.
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
from sim.scenario.checks import KIND_DEFAULTS
from sim.scenario.errors import Problem, ScenarioError, UserError
from sim.scenario.loader import LoadedScenario, load_with_provenance
from sim.scenario.schema import FORMS, Scenario

PUBLISHED_JOINER_RATE = 0.102  # a third state joins after onset in 10.2% of disputes (GML MID 2.2.1)
LOG_FLOOR = 1e-3
BOOTSTRAP = 2_000
COMMITTING_KINDS = ("defence_pact", "guarantee", "patronage")


@dataclass
class Backtest:
    """Per-case predictions and facts, and the overall scores."""

    cases: pd.DataFrame
    facts: pd.DataFrame
    scores: pd.DataFrame
    summary: dict[str, Any]
    calibrated_scores: pd.DataFrame | None = None  # with --calibrated: leave-one-out and in-sample scores

    def to_dict(self) -> dict[str, Any]:
        data = {"cases": self.cases.to_dict(orient="records"), "stylised_facts": self.facts.to_dict(orient="records"),
                "scores": self.scores.to_dict(orient="records"), "summary": self.summary}
        if self.calibrated_scores is not None:
            data["calibrated_scores"] = self.calibrated_scores.to_dict(orient="records")
        return data


def statistic(summary: dict[str, Any], name: str) -> float | None:
    """A summary statistic by the name stylised facts use (``schema.STATISTICS``)."""
    if name == "p_regional_escalation":
        return summary["p_regional_escalation"]["estimate"]
    if name.startswith("p_ended_"):
        return summary["ended_by"][name[len("p_ended_"):]]["estimate"]
    if name == "p_war_at_horizon":
        return summary["war_days"]["at_horizon"]["estimate"]
    if name.startswith("p_"):
        return summary["outcomes"][name[2:]]["estimate"]
    truces = summary["truces"]
    if name == "truces_broken_within_3_days":
        return truces["broken_within_3_days"]["estimate"] if truces["broken_within_3_days"] else None
    if name == "truces_broken_per_run":
        return truces["broken_per_run"]
    if name == "median_war_days":
        return summary["war_days"]["median"]
    if name == "median_war_size":
        return summary["war_size"]["median"]
    if name == "median_truce_days":
        return truces["median_days"]
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


def auc(forecasts: Sequence[float], outcomes: Sequence[bool]) -> float | None:
    """Area under the ROC curve: the chance a positive case gets a higher forecast than a negative one."""
    p = np.asarray(forecasts, dtype=float)
    y = np.asarray(outcomes, dtype=bool)
    if y.all() or not y.any():
        return None
    positives, negatives = p[y], p[~y]
    greater = (positives[:, None] > negatives[None, :]).sum()
    ties = (positives[:, None] == negatives[None, :]).sum()
    return float((greater + 0.5 * ties) / (positives.size * negatives.size))


def calibration_slope(forecasts: Sequence[float], outcomes: Sequence[bool]) -> float | None:
    """Slope of a logistic regression of the outcome on the forecast's log-odds (1 is well calibrated;
    below 1, forecasts too extreme). None when it cannot be fitted (one class, or no spread)."""
    from scipy.optimize import minimize

    p = np.clip(np.asarray(forecasts, dtype=float), LOG_FLOOR, 1 - LOG_FLOOR)
    y = np.asarray(outcomes, dtype=float)
    x = np.log(p / (1 - p))
    if y.min() == y.max() or np.ptp(x) < 1e-9:
        return None

    def loss(theta: np.ndarray) -> float:
        z = theta[0] + theta[1] * x
        return float(np.sum(np.logaddexp(0.0, z) - y * z) + 1e-6 * theta @ theta)

    fitted = minimize(loss, np.array([0.0, 1.0]), method="BFGS")
    return float(fitted.x[1]) if fitted.success else None


def crps_of_histogram(counts: Sequence[float], observed: int) -> float:
    """Continuous ranked probability score of a distribution over whole days (0, 1, 2, ...) for the
    observed day (capped at the last day of the histogram): sum over days of (F(d) - [d >= observed])^2."""
    counts = np.asarray(counts, dtype=float)
    if counts.sum() <= 0:
        return float("nan")
    cumulative = np.cumsum(counts) / counts.sum()
    days = np.arange(counts.size)
    return float(np.sum((cumulative - (days >= min(observed, counts.size - 1))) ** 2))


def has_committing_tie(scenario: Scenario) -> bool:
    """The logistic baseline's predictor: an outside power not at war on day 0 has a defence pact,
    guarantee or patronage commitment that can carry it into combat for a party at war on day 0."""
    at_war = {a.id for a in scenario.actors if a.camp is not None}
    outside = {a.id for a in scenario.actors if a.outside is not None and a.camp is None}
    for commitment in scenario.commitments:
        ceiling = commitment.ceiling or KIND_DEFAULTS[commitment.kind][1]
        if (commitment.kind in COMMITTING_KINDS and commitment.from_ in outside and commitment.to in at_war
                and FORMS.index(ceiling) >= FORMS.index("limited")):
            return True
    return False


def load_cases(folder: str | Path) -> list[tuple[Path, Scenario]]:
    """Every case file in a folder (sorted); each must load and record its observed outcome."""
    return [(path, loaded.scenario) for path, loaded in load_case_files(folder)]


def load_case_files(folder: str | Path) -> list[tuple[Path, LoadedScenario]]:
    """:func:`load_cases` with each case's source document (for overrides and line numbers)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(Problem("not a folder of case files", source=str(folder)))
    files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))
    if not files:
        raise UserError(Problem("no case files (*.yaml) in this folder", source=str(folder)))
    cases, problems = [], []
    for path in files:
        try:
            loaded = load_with_provenance(path)
        except ScenarioError as error:
            problems.extend(error.problems)
            continue
        if loaded.scenario.observed is None:
            problems.append(Problem("a case needs an 'observed:' block recording what happened", source=str(path)))
            continue
        cases.append((path, loaded))
    if problems:
        raise ScenarioError(problems)
    return cases


def _entry_by_day(result: Any, day: int | None) -> float | None:
    """P(regional escalation by the end of ``day``) from the run's cumulative curve."""
    if day is None:
        return None
    curve = result.distributions["escalation_by_day"]["estimate"]
    return float(curve[min(day, len(curve) - 1)]) if curve else None


def case_row(path: Path, scenario: Scenario, result: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One case's forecasts next to its observed outcomes, and its stylised facts."""
    summary = result.summary
    observed = scenario.observed
    escalation = summary["p_regional_escalation"]
    combat = FORMS.index("limited")
    entry_days = [e.day for e in observed.entries if e.day is not None and FORMS.index(e.form) >= combat]
    first_entry = min(entry_days) if entry_days and observed.regional_escalation else None
    row = {
        "case": scenario.name,
        "file": path.name,
        "title": scenario.title,
        "runs": summary["runs"],
        "p_regional_escalation": escalation["estimate"],
        "ci_low": escalation["ci_low"],
        "ci_high": escalation["ci_high"],
        "observed_regional_escalation": bool(observed.regional_escalation),
        "observed_broad_entry": bool(observed.broad_entry or observed.regional_escalation),
        "committing_tie": has_committing_tie(scenario),
        "p_outside_war": summary["outcomes"]["outside_war"]["estimate"],
        "observed_outside_powers_fought": observed.outside_powers_fought,
        "p_decisive_victory": summary["outcomes"]["decisive_victory"]["estimate"],
        "observed_decisive_victory": observed.decisive_victory,
        "median_war_days": summary["war_days"]["median"],
        "observed_war_days": observed.war_days,
        "crps_war_days": (crps_of_histogram(result.distributions["war_days"], observed.war_days)
                          if observed.war_days is not None else None),
        "observed_first_entry_day": first_entry,
        "p_escalation_by_observed_day": _entry_by_day(result, first_entry),
        "observed_ended_by": observed.ended_by,
        "p_observed_ending": (summary["ended_by"][observed.ended_by]["estimate"] if observed.ended_by else None),
        "modal_ending": max(summary["ended_by"], key=lambda name: summary["ended_by"][name]["estimate"]),
        "truces_broken_per_run": summary["truces"]["broken_per_run"],
        "observed_truces_broken": observed.truces_broken,
        "horizon_days": scenario.horizon_days,
    }
    if "calibration" in summary:  # a posterior predictive forecast: the draws' 90% interval
        row["calibration_low"], row["calibration_high"] = summary["calibration"]["interval_90"]
    facts = []
    for fact in observed.stylised_facts:
        value = statistic(summary, fact.statistic)
        low, high = fact.range
        facts.append({"case": scenario.name, "fact": fact.fact, "statistic": fact.statistic,
                      "value": value, "low": low, "high": high,
                      "holds": value is not None and low <= value <= high})
    return row, facts


def backtest(folder: str | Path, runs: int = 10_000, seed: int | None = None, *,
             calibrated: str | Path | None = None, posterior: pd.DataFrame | None = None,
             **options: Any) -> Backtest:
    """Run every case and score its forecast of regional escalation against what happened.

    With ``calibrated`` (a folder written by ``escalation calibrate``), the calibration's leave-one-out
    and in-sample forecasts are scored too (:func:`calibrated_scores`). With ``posterior`` (draws of the
    shared dynamics, :func:`sim.analysis.smc_calibration.read_posterior`), every case's forecast is the
    posterior predictive: its runs split over the draws and pooled (``run_ensemble(dynamics=)``).
    """
    if calibrated is not None and not (Path(calibrated) / "loo.csv").is_file():
        read_calibration(calibrated, pd.DataFrame({"case": []}))  # the message, before anything runs
    rows, facts = [], []
    for path, scenario in load_cases(folder):
        result = run_ensemble(scenario, runs=runs, seed=scenario.seed if seed is None else seed, dynamics=posterior,
                              **options)
        row, case_facts = case_row(path, scenario, result)
        rows.append(row)
        facts.extend(case_facts)
    cases = pd.DataFrame(rows)
    fact_table = pd.DataFrame(facts, columns=["case", "fact", "statistic", "value", "low", "high", "holds"])
    if calibrated is None:
        return Backtest(cases, fact_table, score(cases), overview(cases, fact_table))
    cases = read_calibration(calibrated, cases)
    return Backtest(cases, fact_table, score(cases), overview(cases, fact_table), calibrated_scores(cases))


def reference_forecasts(cases: pd.DataFrame, model: str = "p_regional_escalation") -> dict[str, np.ndarray]:
    """The model's forecasts (column ``model``) and the reference forecasters', each case forecast without
    its own outcome."""
    outcomes = cases["observed_regional_escalation"].astype(bool).to_numpy()
    n = len(outcomes)
    others = (outcomes.sum() - outcomes) / max(n - 1, 1) if n > 1 else np.full(n, 0.5)
    predictor = cases["committing_tie"].astype(bool).to_numpy() if "committing_tie" in cases else np.zeros(n, bool)
    logistic = np.empty(n)
    for i in range(n):
        same = np.delete(predictor == predictor[i], i)
        hits = np.delete(outcomes, i)[same]
        # A logistic regression on one binary predictor predicts each group's rate; Jeffreys' prior keeps
        # an empty or one-sided group away from 0 and 1.
        logistic[i] = (hits.sum() + 0.5) / (hits.size + 1.0)
    return {
        "model": cases[model].to_numpy(dtype=float),
        "leave-one-out base rate": others,
        f"published joiner rate ({PUBLISHED_JOINER_RATE:.3f}, GML MID)": np.full(n, PUBLISHED_JOINER_RATE),
        "logistic on a committing tie (leave-one-out)": logistic,
    }


#: Forecasts of a calibration (loo.csv columns), scored by :func:`calibrated_scores` when present.
CALIBRATED_FORECASTS = {
    "p_loo": "model, calibrated, leave-one-out",
    "p_in_sample": "model, calibrated, in sample",
    "p_regional_escalation": "model, the case files' dynamics",
    "p_reference": "model, reference dynamics",
}


def calibrated_scores(cases: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Scores of the leave-one-out forecasts (``p_loo``) against the reference forecasters, with the
    differences and their intervals, followed by the other forecasts of :data:`CALIBRATED_FORECASTS` that
    ``cases`` holds (in sample, the case files' dynamics, the reference dynamics), each scored alone."""
    table = score(cases, seed, model="p_loo")
    table.loc[0, "forecaster"] = CALIBRATED_FORECASTS["p_loo"]
    happened = cases["observed_regional_escalation"].astype(float).to_numpy()
    loo_each = (cases["p_loo"].to_numpy(dtype=float) - happened) ** 2
    rows = []
    for column, label in CALIBRATED_FORECASTS.items():
        if column == "p_loo" or column not in cases:
            continue
        row = score(cases, seed, model=column).iloc[0].to_dict()
        this_each = (cases[column].to_numpy(dtype=float) - happened) ** 2
        difference = loo_each - this_each
        row.update(forecaster=label, model_minus_this_brier=float(difference.mean()),
                   model_minus_this_brier_ci=_bootstrap(difference, np.random.default_rng(seed)),
                   model_brier_skill=1 - loo_each.mean() / this_each.mean() if this_each.mean() > 0 else math.nan)
        rows.append(row)
    return pd.concat([table.iloc[[0]], pd.DataFrame(rows), table.iloc[1:]], ignore_index=True)


def read_calibration(folder: str | Path, cases: pd.DataFrame) -> pd.DataFrame:
    """``cases`` with the forecasts of a calibration folder (its loo.csv) beside them, matched by case.

    Raises:
        UserError: no loo.csv, different cases, or a case whose observed outcome differs from the one
            the calibration was fitted on.
    """
    path = Path(folder) / "loo.csv"
    if not path.is_file():
        raise UserError(Problem("no loo.csv here; allowed: a folder written by escalation calibrate",
                                source=str(folder)))
    loo = pd.read_csv(path)
    missing = sorted(set(cases["case"]) ^ set(loo["case"]))
    if missing:
        raise UserError(Problem(f"the calibration and the backtest hold different cases ({', '.join(missing)}); "
                                "allowed: a calibration of the same folder", source=str(path)))
    merged = cases.merge(loo[["case", "p_loo", "p_in_sample", "p_reference", "observed_regional_escalation"]],
                         on="case", suffixes=("", "_calibrated"))
    differ = merged["observed_regional_escalation"].astype(bool) != merged["observed_regional_escalation_calibrated"]
    if differ.any():
        raise UserError(Problem(f"the observed outcome of {', '.join(merged['case'][differ])} differs from the one "
                                "the calibration was fitted on; run escalation calibrate again", source=str(path)))
    return merged.drop(columns=["observed_regional_escalation_calibrated"])


def _bootstrap(values: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    """95% percentile interval of the mean of per-case values, resampling cases."""
    if values.size == 0:
        return (math.nan, math.nan)
    means = values[rng.integers(0, values.size, (BOOTSTRAP, values.size))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def score(cases: pd.DataFrame, seed: int = 0, model: str = "p_regional_escalation") -> pd.DataFrame:
    """Brier and log scores of the model (column ``model``) and the reference forecasters, with bootstrap
    intervals, and the model's difference from each reference (positive Brier difference: the model is worse)."""
    outcomes = cases["observed_regional_escalation"].astype(bool).to_numpy()
    forecasts = reference_forecasts(cases, model)
    model = forecasts["model"]
    y = outcomes.astype(float)
    rows = []
    for name, forecast in forecasts.items():
        brier_each = (forecast - y) ** 2
        p = np.clip(forecast, LOG_FLOOR, 1 - LOG_FLOOR)
        log_each = np.where(outcomes, np.log(p), np.log(1 - p))
        model_brier_each = (model - y) ** 2
        rng = np.random.default_rng(seed)
        difference = model_brier_each - brier_each
        rows.append({
            "forecaster": name,
            "cases": len(cases),
            "brier": float(brier_each.mean()),
            "brier_ci": _bootstrap(brier_each, np.random.default_rng(seed)),
            "log_score": float(log_each.mean()),
            "log_score_ci": _bootstrap(log_each, np.random.default_rng(seed)),
            "auc": auc(forecast, outcomes),
            "model_minus_this_brier": float(difference.mean()) if name != "model" else math.nan,
            "model_minus_this_brier_ci": _bootstrap(difference, rng) if name != "model" else (math.nan, math.nan),
            "model_brier_skill": (1 - model_brier_each.mean() / brier_each.mean())
            if brier_each.mean() > 0 and name != "model" else math.nan,
        })
    return pd.DataFrame(rows)


def _ending_scores(cases: pd.DataFrame) -> dict[str, Any]:
    """How well the model says how wars ended: the mean log probability it gave the recorded ending (floored
    at 1/(2n) runs) and the share of cases whose most likely ending in the model is the recorded one."""
    recorded = cases.dropna(subset=["observed_ended_by"])
    if not len(recorded):
        return {"endings_recorded": 0, "mean_log_p_ending": None, "modal_ending_matches": None}
    floor = 0.5 / recorded["runs"].to_numpy(dtype=float)
    p = np.maximum(recorded["p_observed_ending"].to_numpy(dtype=float), floor)
    return {"endings_recorded": len(recorded), "mean_log_p_ending": float(np.log(p).mean()),
            "modal_ending_matches": int((recorded["modal_ending"] == recorded["observed_ended_by"]).sum())}


#: A war of at most this many days in history is a short one: a third of day-dated UCDP interstate episodes
#: end within a week (docs/MODEL.md 7.8.7); the library holds ten of ten days or less.
SHORT_WAR_DAYS = 10


def _short_wars(recorded: pd.DataFrame) -> dict[str, Any]:
    """How many of the wars that history ended within :data:`SHORT_WAR_DAYS` the model ends as fast (its median
    war length within the same days), and which it does not."""
    short = recorded[recorded["observed_war_days"] <= SHORT_WAR_DAYS]
    reproduced = short["median_war_days"] <= SHORT_WAR_DAYS
    return {"short_war_days": SHORT_WAR_DAYS, "short_wars": len(short), "short_wars_reproduced": int(reproduced.sum()),
            "short_wars_missed": sorted(short.loc[~reproduced, "case"].astype(str))}


def overview(cases: pd.DataFrame, facts: pd.DataFrame) -> dict[str, Any]:
    """Discrimination, calibration, timing, war length and stylised facts in a few numbers."""
    from scipy.stats import spearmanr

    outcomes = cases["observed_regional_escalation"].astype(bool).to_numpy()
    forecast = cases["p_regional_escalation"].to_numpy(dtype=float)
    recorded = cases.dropna(subset=["observed_war_days"])
    rank = None
    if len(recorded) >= 3:
        observed_days = recorded["observed_war_days"].clip(upper=recorded["horizon_days"]).to_numpy(dtype=float)
        model_days = recorded["median_war_days"].to_numpy(dtype=float)
        if np.ptp(observed_days) > 0 and np.ptp(model_days) > 0:  # undefined (and warned of) when one is constant
            correlation = spearmanr(model_days, observed_days)
            rank = None if math.isnan(correlation.statistic) else float(correlation.statistic)
    timing = cases["p_escalation_by_observed_day"].dropna()
    edges = np.array([0.0, 0.05, 0.15, 0.35, 1.0 + 1e-9])
    bins = np.clip(np.digitize(forecast, edges) - 1, 0, len(edges) - 2)
    reliability = [{"low": float(edges[b]), "high": float(min(edges[b + 1], 1.0)), "cases": int((bins == b).sum()),
                    "mean_forecast": float(forecast[bins == b].mean()) if (bins == b).any() else None,
                    "observed_rate": float(outcomes[bins == b].mean()) if (bins == b).any() else None}
                   for b in range(len(edges) - 1)]
    return {
        "cases": len(cases),
        "positives": int(outcomes.sum()),
        "broad_positives": int(cases["observed_broad_entry"].astype(bool).sum()),
        "auc": auc(forecast, outcomes),
        "calibration_slope": calibration_slope(forecast, outcomes),
        "reliability": reliability,
        "mean_p_escalation_by_observed_day": float(timing.mean()) if len(timing) else None,
        "mean_crps_war_days": float(cases["crps_war_days"].dropna().mean()) if cases["crps_war_days"].notna().any()
        else None,
        "war_days_rank_correlation": rank,
        **_short_wars(recorded),
        **_ending_scores(cases),
        "stylised_facts_holding": int(facts["holds"].sum()) if len(facts) else 0,
        "stylised_facts": len(facts),
    }
