"""The joint calibration of the shared dynamics by sequential Monte Carlo, and its out-of-sample checks.

Every shared dynamic is fitted at once (:data:`sim.analysis.calibrate.DEFAULT_DYNAMICS`) by the
tempered sampler of :mod:`sim.analysis.smc`, with the likelihood of :mod:`sim.analysis.calibrate`
(each case's observed outcomes scored on the shares of its runs, common random numbers). Where the
fixed design gave one candidate all the weight, the sampler keeps an effective sample size of half its
particles at every step and ends on a population that is a sample of the posterior.

Out of sample, an adaptive method places its particles with the data, so a held-out case's forecast
must come from a fit that never saw it: :func:`cross_validate` reruns the whole sampler without each
fold of cases (K folds, or a split by the year the crisis began) and forecasts the held-out cases as
the posterior predictive mixture of the fold's final particles. The held-out cases are not simulated
during that fit at all; their ``observed:`` blocks are read only to score the forecasts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.backtest import has_committing_tie, load_case_files
from sim.analysis.calibrate import (
    DEFAULT_DYNAMICS,
    INTERVAL,
    OUTCOMES,
    case_log_likelihood,
    check_ranges,
    observed_outcomes,
    reference_values,
    simulate_case,
    sobol_design,
    weighted_quantile,
    within_bounds,
)
from sim.analysis.smc import SMCResult, sample
from sim.scenario.errors import Problem, UserError
from sim.scenario.loader import LoadedScenario

DEFAULT_PARTICLES = 128
DEFAULT_SMC_RUNS = 200
DEFAULT_MOVES = 2
DEFAULT_FOLDS = 5
#: Fit on the crises that began before this year, score those from it on (the time split).
SPLIT_YEAR = 1990
#: A dynamic whose posterior variance is more than this share of its prior variance is not identified by
#: the library (posterior contraction below 1 - this; Schad, Betancourt & Vasishth 2021).
UNIDENTIFIED_VARIANCE_SHARE = 0.5


@dataclass
class Case:
    """One case of the library: its scenario (simulated without ``observed:``) and what it recorded."""

    name: str
    path: Path
    loaded: LoadedScenario
    observed: dict[str, tuple[int, ...]]
    regional_escalation: bool
    war_days: int | None
    committing_tie: bool
    year: int


def library(folder: str | Path) -> list[Case]:
    """The cases of a folder, each with its recorded outcomes (the one read of their ``observed:``)."""
    cases = []
    for path, loaded in load_case_files(folder):
        scenario = loaded.scenario
        cases.append(Case(scenario.name, path, loaded, observed_outcomes(scenario.observed, scenario.horizon_days),
                          bool(scenario.observed.regional_escalation), scenario.observed.war_days,
                          has_committing_tie(scenario), scenario.start_date.year))
    return cases


def to_values(unit: np.ndarray, ranges: Mapping[str, tuple[float, float]]) -> pd.DataFrame:
    """Unit-cube points as dynamics values (rounded to 6 decimals, as the overrides are written)."""
    lows = np.array([low for low, _ in ranges.values()])
    highs = np.array([high for _, high in ranges.values()])
    return pd.DataFrame(np.round(lows + np.asarray(unit) * (highs - lows), 6), columns=list(ranges))


@dataclass
class Evaluation:
    """Each point's log-likelihood of every recorded outcome per case and its P(regional escalation)."""

    per_outcome: dict[str, np.ndarray]   # outcome -> (points, cases), 0 where not recorded
    p_escalation: np.ndarray             # (points, cases)

    @property
    def total(self) -> np.ndarray:
        return sum(self.per_outcome.values())


def evaluate(cases: Sequence[Case], design: pd.DataFrame, runs: int, seed: int | None = None,
             **options: Any) -> Evaluation:
    """Every point of the design played ``runs`` times on every case (common random numbers per case)."""
    per_outcome = {name: np.zeros((len(design), len(cases))) for name in OUTCOMES}
    p_escalation = np.zeros((len(design), len(cases)))
    for column, case in enumerate(cases):
        forecast = simulate_case(case.loaded, design, runs, seed, progress=False, **options)
        for name, values in case_log_likelihood(forecast, case.observed).items():
            per_outcome[name][:, column] = values
        p_escalation[:, column] = forecast.p_regional_escalation
    return Evaluation(per_outcome, p_escalation)


@dataclass
class JointCalibration:
    """What the sampler found: the posterior sample of the shared dynamics and each case's forecasts."""

    ranges: dict[str, tuple[float, float]]
    cases: list[str]
    particles: pd.DataFrame              # the final population (equal weights), one column per dynamic
    evaluation: Evaluation               # of the final population, on the fitted cases
    smc: SMCResult
    runs: int
    seed: int | None
    elapsed: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def ess(self) -> float:
        """The effective sample size at the last reweighting (the posterior's, before the last moves)."""
        return self.smc.final_ess

    def parameters(self) -> pd.DataFrame:
        """Per dynamic: prior range, reference, the best particle, posterior mean, sd, 90% interval,
        contraction (1 - posterior variance / prior variance) and whether the library identifies it."""
        best = int(np.argmax(self.evaluation.total.sum(axis=1)))
        reference = reference_values(list(self.ranges))
        equal = np.full(len(self.particles), 1 / len(self.particles))
        rows = []
        for name, (low, high) in self.ranges.items():
            values = self.particles[name].to_numpy(dtype=float)
            lower, upper = weighted_quantile(values, equal, INTERVAL)
            contraction = 1 - values.var() / ((high - low) ** 2 / 12)
            rows.append({"parameter": name, "prior_low": low, "prior_high": high, "reference": reference[name],
                         "map": float(values[best]), "mean": float(values.mean()), "sd": float(values.std()),
                         "low_90": float(lower), "high_90": float(upper), "contraction": float(contraction),
                         "identified": bool(contraction > 1 - UNIDENTIFIED_VARIANCE_SHARE)})
        return pd.DataFrame(rows)

    def forecasts(self) -> pd.DataFrame:
        """Each fitted case's in-sample posterior predictive P(regional escalation)."""
        return pd.DataFrame({"case": self.cases, "p_in_sample": self.evaluation.p_escalation.mean(axis=0)})


def joint_calibration(cases: Sequence[Case], ranges: Mapping[str, tuple[float, float]] | None = None, *,
                      particles: int = DEFAULT_PARTICLES, runs: int = DEFAULT_SMC_RUNS, seed: int | None = None,
                      moves: int = DEFAULT_MOVES, target_fraction: float = 0.5,
                      report: Callable[[int, float, float, float], None] | None = None,
                      **options: Any) -> JointCalibration:
    """Fit the shared dynamics jointly on ``cases`` by tempered sequential Monte Carlo.

    Args:
        cases: the cases to fit (from :func:`library`); nothing else is simulated.
        ranges: dynamics name -> uniform prior range (default :data:`DEFAULT_DYNAMICS`).
        particles: the population; its first generation is a scrambled Sobol' sample of the prior.
        runs: replications per particle and case.
        seed: every case's runs (default: each case's own seed) and the sampler's draws (default 0).
        moves: Metropolis-Hastings steps per tempering step.
        report: called after each tempering step with (step, beta, effective sample size, acceptance).
        options: workers, executor, chunk_size for the simulations.
    """
    import time

    if not cases:
        raise UserError(Problem("no cases to fit", source="calibrate"))
    ranges = check_ranges(dict(DEFAULT_DYNAMICS if ranges is None else ranges))
    if particles < 8:
        raise UserError(Problem(f"found {particles}; allowed: 8 or more particles", source="--particles"))
    started = time.perf_counter()
    start = sobol_design({name: (0.0, 1.0) for name in ranges}, particles, 0 if seed is None else seed)
    rng = np.random.default_rng(np.random.SeedSequence(0 if seed is None else seed, spawn_key=(20,)))

    seen: dict[tuple[float, ...], tuple[dict[str, np.ndarray], np.ndarray]] = {}

    def log_likelihood(unit: np.ndarray) -> np.ndarray:
        values = to_values(unit, ranges)
        evaluation = evaluate(cases, values, runs, seed, **options)
        for i, point in enumerate(values.itertuples(index=False, name=None)):
            seen[point] = ({name: rows[i] for name, rows in evaluation.per_outcome.items()},
                           evaluation.p_escalation[i])
        return evaluation.total

    result = sample(log_likelihood, start.to_numpy(), rng, target_fraction=target_fraction, moves=moves,
                    report=report)
    values = to_values(result.particles, ranges)
    # the final particles were all evaluated on the way (common random numbers: the same values again)
    found = [seen[point] for point in values.itertuples(index=False, name=None)]
    evaluation = Evaluation({name: np.array([outcomes[name] for outcomes, _ in found]) for name in OUTCOMES},
                            np.array([p for _, p in found]))
    return JointCalibration(dict(ranges), [case.name for case in cases], values, evaluation, result, runs, seed,
                            elapsed=time.perf_counter() - started)


# ---- out of sample --------------------------------------------------------------------------------


def k_folds(cases: Sequence[Case], folds: int) -> list[list[int]]:
    """Case indices in ``folds`` folds, dealt in alphabetical order (case 0 to fold 0, case 1 to fold 1...):
    fixed, and each fold a spread of eras and regions rather than a block."""
    if not 2 <= folds <= len(cases):
        raise UserError(Problem(f"found {folds}; allowed: 2 to {len(cases)} folds (the number of cases)",
                                source="--folds"))
    return [list(range(fold, len(cases), folds)) for fold in range(folds)]


def time_split(cases: Sequence[Case], year: int = SPLIT_YEAR) -> list[list[int]]:
    """One fold: the cases that began in ``year`` or later (fitted on those that began before)."""
    later = [i for i, case in enumerate(cases) if case.year >= year]
    if not later or len(later) == len(cases):
        raise UserError(Problem(f"every case falls on one side of {year}; allowed: a year that splits the library",
                                source="--split-year"))
    return [later]


def cross_validate(cases: Sequence[Case], folds: Sequence[Sequence[int]],
                   ranges: Mapping[str, tuple[float, float]] | None = None, *,
                   fold_report: Callable[[int, JointCalibration], None] | None = None,
                   **settings: Any) -> pd.DataFrame:
    """Each held-out case forecast by a joint calibration on the cases outside its fold.

    The fit of a fold never simulates, nor reads the outcomes of, the cases it holds out: only their
    forecasts (P(regional escalation), simulated without ``observed:``) and the predictive probability of
    each outcome they recorded (for scoring) are computed afterwards, from the fold's final particles.

    Returns:
        One row per held-out case: ``case``, ``fold``, ``observed_regional_escalation``, ``committing_tie``,
        ``p_loo`` (the posterior predictive forecast), ``p_loo_low``/``p_loo_high`` (the 5% and 95% points
        of the forecast over the fold's particles: the calibration's uncertainty), ``observed_war_days``,
        ``loo_log_likelihood_<outcome>`` and the fold's ``fold_ess``.
    """
    options = {key: settings.pop(key) for key in ("workers", "executor", "chunk_size") if key in settings}
    rows = []
    for number, held in enumerate(folds):
        held_out = set(held)
        training = [case for i, case in enumerate(cases) if i not in held_out]
        fit = joint_calibration(training, ranges, **settings, **options)
        if fold_report is not None:
            fold_report(number, fit)
        tested = [cases[i] for i in held]
        evaluation = evaluate(tested, fit.particles, fit.runs, fit.seed, **options)
        for column, case in enumerate(tested):
            p = evaluation.p_escalation[:, column]
            low, high = np.quantile(p, INTERVAL)
            row = {"case": case.name, "fold": number, "observed_regional_escalation": case.regional_escalation,
                   "committing_tie": case.committing_tie, "p_loo": float(p.mean()), "p_loo_low": float(low),
                   "p_loo_high": float(high), "observed_war_days": case.war_days, "fold_ess": fit.ess}
            for name in OUTCOMES:
                values = evaluation.per_outcome[name][:, column]
                row[f"loo_log_likelihood_{name}"] = float(np.log(np.mean(np.exp(values)))) if name in case.observed \
                    else 0.0
            rows.append(row)
    table = pd.DataFrame(rows)
    order = {case.name: i for i, case in enumerate(cases)}
    return table.sort_values("case", key=lambda names: names.map(order), kind="stable").reset_index(drop=True)



def reference_forecasts_of(cases: Sequence[Case], runs: int, seed: int | None = None, **options: Any) -> np.ndarray:
    """Each case's P(regional escalation) under the reference dynamics (the schema's defaults)."""
    reference = pd.DataFrame([reference_values(list(DEFAULT_DYNAMICS))])
    return evaluate(cases, reference, runs, seed, **options).p_escalation[0]


def split_scores(held_out: pd.DataFrame, training: Sequence[Case], seed: int = 0) -> pd.DataFrame:
    """Brier and log scores of the held-out forecasts of a time split against forecasters fitted on the
    training cases only: their base rate, and the rate of their cases with and without a committing tie
    (Jeffreys' prior), with 95% bootstrap intervals over the held-out cases for every difference."""
    from sim.analysis.backtest import LOG_FLOOR, _bootstrap

    happened = held_out["observed_regional_escalation"].astype(bool).to_numpy()
    tie = held_out["committing_tie"].astype(bool).to_numpy()
    trained = np.array([case.regional_escalation for case in training], dtype=float)
    trained_tie = np.array([case.committing_tie for case in training], dtype=bool)
    logistic = np.array([(trained[trained_tie == flag].sum() + 0.5) / ((trained_tie == flag).sum() + 1.0)
                         for flag in tie])
    forecasts = {"model, fitted before the split": held_out["p_loo"].to_numpy(dtype=float),
                 "base rate before the split": np.full(len(held_out), trained.mean()),
                 "logistic on a committing tie, before the split": logistic}
    y = happened.astype(float)
    model_each = (forecasts["model, fitted before the split"] - y) ** 2
    rows = []
    for name, forecast in forecasts.items():
        brier_each = (forecast - y) ** 2
        p = np.clip(forecast, LOG_FLOOR, 1 - LOG_FLOOR)
        log_each = np.where(happened, np.log(p), np.log(1 - p))
        first = name.startswith("model")
        difference = model_each - brier_each
        rows.append({"forecaster": name, "cases": len(held_out), "brier": float(brier_each.mean()),
                     "brier_ci": _bootstrap(brier_each, np.random.default_rng(seed)),
                     "log_score": float(log_each.mean()),
                     "log_score_ci": _bootstrap(log_each, np.random.default_rng(seed)),
                     "model_minus_this_brier": np.nan if first else float(difference.mean()),
                     "model_minus_this_brier_ci": (np.nan, np.nan) if first
                     else _bootstrap(difference, np.random.default_rng(seed)),
                     "model_brier_skill": np.nan if first or brier_each.mean() == 0
                     else float(1 - model_each.mean() / brier_each.mean())})
    return pd.DataFrame(rows)


# ---- the posterior in forecasts --------------------------------------------------------------------

#: The posterior of the shared dynamics that ships with the package (``escalation run --posterior``): the
#: final population of ``escalation calibrate scenarios/cases`` (docs/MODEL.md 11.1).
SHIPPED_POSTERIOR = Path(__file__).with_name("posterior.csv")


def read_posterior(path: str | Path | None = None) -> pd.DataFrame:
    """A posterior sample of the shared dynamics as a design of ``dynamics.<name>`` columns, one row per
    draw: the shipped one, or a ``posterior.csv`` written by ``escalation calibrate`` (a folder will do).

    Raises:
        UserError: no such file, no dynamics columns, fewer than two draws, or a value that is not a finite
            number inside its field's bounds (naming the line and the column).
    """
    from sim.scenario.schema import Dynamics
    from sim.scenario.uncertainties import describe_bounds, field_bounds

    path = SHIPPED_POSTERIOR if path is None else Path(path)
    if path.is_dir():
        path = path / "posterior.csv"
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise UserError(Problem("no such file; allowed: a posterior.csv written by escalation calibrate, or its "
                                "folder", source=str(path))) from None
    except (OSError, ValueError) as error:
        raise UserError(Problem(f"cannot read it as a table ({error}); allowed: a posterior.csv written by "
                                "escalation calibrate", source=str(path))) from None
    fields = Dynamics.model_fields
    names = [name for name in table.columns if name in fields]
    if not names or len(table) < 2:
        raise UserError(Problem("found no dynamics columns or fewer than two draws; allowed: a posterior.csv "
                                f"of escalation calibrate (columns from: {', '.join(fields)})", source=str(path)))
    for name in names:
        values = pd.to_numeric(table[name], errors="coerce").to_numpy(dtype=float)
        bounds = field_bounds(fields[name])
        inside = within_bounds(values, bounds)
        if not inside.all():
            row = int(np.flatnonzero(~inside)[0])
            text = table[name].iloc[row]
            found = text if np.isfinite(pd.to_numeric(text, errors="coerce")) else repr(text)
            raise UserError(Problem(f"found {found}; allowed: a number {describe_bounds(bounds)}",
                                    field=name, line=row + 2, source=str(path)))
    return pd.DataFrame({f"dynamics.{name}": table[name].astype(float) for name in names})
