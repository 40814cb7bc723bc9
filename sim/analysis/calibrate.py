"""Shared dynamics fitted across the case library, and leave-one-out forecasts.

The method, in small functions with plain arrays in and out (in the manner of SALib):

1. **Prior and design.** The global dynamics to fit (:data:`DEFAULT_DYNAMICS`, or a YAML file of
   ``name: [low, high]``) each get a uniform prior over a range. A scrambled Sobol' design
   (:func:`sobol_design`, scipy.stats.qmc, fixed seed) draws K candidate sets of dynamics from it.
2. **Simulation.** Every case runs every candidate as one vectorised sweep on common random numbers
   (:func:`simulate_case`): a candidate costs one ensemble per case, and differences between
   candidates come from the dynamics, not from noise. The simulated scenario has its ``observed:``
   block removed before it is compiled: the model cannot see the outcome.
3. **Likelihood.** Each case's observed outcomes are scored under each candidate
   (:func:`case_log_likelihood`): the log of the share of runs that fell in the observed category of
   regional escalation (strict coding), of war length (a few bins of days, the last one "still
   fighting at the horizon"), of truces (none broken or some, none held or some) and of how the war
   ended (``ended_by``), each share clipped to [1/(2n), 1 - 1/(2n)] for n runs so that a category no
   run reached costs a finite amount. Outcomes a case does not record are left out.
4. **Posterior.** The design is a sample from the prior, so candidate k's posterior weight is
   proportional to exp(sum over cases of its log-likelihood) (:func:`posterior_weights`): MAP,
   posterior mean, 90% interval (:func:`weighted_quantile`) and the effective sample size follow.
5. **Leave-one-out.** Case i is forecast with the weights refitted on the other cases only
   (:func:`leave_one_out`: its column of the log-likelihood matrix is deleted before the weights are
   computed, so the refit cannot see it), as the posterior predictive mixture: the weighted mean of
   its forecast over the candidates. This is exact over the design and needs no new simulation.

Only :func:`run_outcomes` reads the model's per-run records and only :func:`observed_outcomes` reads
a case's ``observed:`` block; both are small, to be adapted when the model's outputs change.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.backtest import calibrated_scores, has_committing_tie, load_case_files
from sim.analysis.sweep import stream_design
from sim.ensemble.chunks import DEFAULT_CHUNK_SIZE
from sim.model.endings import ENDINGS
from sim.scenario.errors import Problem, UserError, did_you_mean
from sim.scenario.loader import LoadedScenario
from sim.scenario.schema import SHARED_OUTSIDE_FIELDS, Dynamics, Observed
from sim.scenario.uncertainties import describe_bounds, field_bounds
from sim.scenario.yamlsource import Document, read_document

#: The global dynamics fitted by default, each with its prior range [low, high] (uniform). The only
#: list of them: ``--parameters FILE.yaml`` replaces it. Case facts (``daily_casualties``, each
#: front's intensity, every actor's profile) are never fitted. The ranges bracket the reference
#: values of docs/MODEL.md (section 9) by the judgement stated there:
DEFAULT_DYNAMICS: dict[str, tuple[float, float]] = {
    # reference 0.05, a judgement: from rare to four times as frequent clashes of engaged rivals
    "clash_rate": (0.0, 0.2),
    # reference 0.1 (both sides blamed each other within minutes in 2020): one false alarm a month to one in three days
    "attribution_noise": (0.02, 0.3),
    # reference 0.5, a judgement (the spiral model): no spiral to a doubling per perceived violation
    "spiral_gain": (0.0, 2.0),
    # reference 0.39 (Bercovitch 1996: mediation success 64% vs 39% above 10,000 dead)
    "fatality_penalty": (0.1, 0.7),
    # reference 0.2, a judgement: parties that fight nearly to the end, to parties that give up early
    "capitulation_resolve": (0.05, 0.5),
    # reference 0.5, a judgement: outside powers that stay long, to ones that leave at the first losses
    "withdrawal_resolve": (0.2, 0.8),
    # reference 0.6: the distress at which an ally's defeat becomes "likely" (a commitment's trigger)
    "defeat_likely_distress": (0.3, 0.9),
    # reference 0.5, a convention (docs/MODEL.md 7.8.1): halts followed within weeks to within a day or two
    "halt_acceptance": (0.04, 0.9),
    # reference 0.1, a convention (no published elasticity of settlements to ripeness, 7.8.7)
    "settlement_rate": (0.01, 0.3),
    # reference 0.03-0.05 a day (the Karabakh backers, a judgement): an honoured commitment acted on within
    # a month or two, to within days
    "escalation_rate": (0.01, 0.4),
    # reference 0 (one form at a time): from climbing form by form to a decision that goes straight to the
    # commitment's ceiling
    "readiness": (0.0, 1.0),
    # reference 1 (docs/MODEL.md 7.5.8): a rival's posture deters with the rivalry's intensity times the local
    # balance; from no deterrence at all to that chance taken at face value
    "deterrence": (0.0, 1.0),
    # no reference (docs/MODEL.md 7.3.2): the pace of an open front against the rugged Karabakh front on which
    # front_speed was set, from no difference to ten times as fast (Sinai in 1967 was crossed in four days)
    "open_terrain_pace": (1.0, 10.0),
    # no reference (docs/MODEL.md 7.2; 0 is the rule before it): from a truce that weighs nothing of the momentum
    # its parties agreed it on (every gain still tempts) to one that binds all of it (only gains made since
    # tempt, Werner 1999)
    "agreement_binding": (0.0, 1.0),
    # reference 0.8, a judgement (7.4): from a mediator's acceptance that ignores momentum to one that a side at
    # full momentum never gives; with the binding, the refusal is what keeps a winning side fighting
    "momentum_mediation_refusal": (0.0, 1.0),
    # no reference (docs/MODEL.md 7.4; 0 is the rule before it): from a mediator's acceptance that the war's
    # course does not touch to one that a party in full distress always gives (a losing side seeks the truce)
    "distress_mediation_acceptance": (0.0, 1.0),
}

DEFAULT_CANDIDATES = 64
DEFAULT_RUNS = 500
DESIGN_SEED = 0
#: Below this effective sample size the posterior rests on too few candidates (reported and warned).
SMALL_ESS = 5.0
INTERVAL = (0.05, 0.95)
#: Left edges (days) of the war-length bins; the bins above the horizon are dropped and the last bin
#: is "still fighting at the horizon" (wars coded as capped at the horizon fall in it).
WAR_LENGTH_EDGES = (0, 4, 8, 15, 30, 60, 90, 180, 365)
#: Truce outcome categories: 2 x (a truce broke) + (a truce held).
TRUCE_CATEGORIES = ("none broke, none held", "none broke, one held", "one broke, none held", "one broke, one held")
OUTCOMES = ("regional_escalation", "war_length", "truces", "ended_by")


# ---- the dynamics to fit ---------------------------------------------------------------------------


def check_ranges(ranges: Mapping[str, Any], source: str = "--parameters",
                 document: Document | None = None) -> dict[str, tuple[float, float]]:
    """The dynamics to fit with their prior ranges, checked against the schema's ``dynamics`` fields.

    Args:
        ranges: dynamics field name -> [low, high].
        source: where the ranges come from, for messages (a file name).
        document: the parsed file, to name the line and column of a mistake.

    Raises:
        UserError: a name that is not a field of ``dynamics:``, or a range that is not two numbers
            low < high inside the field's bounds. One problem per mistake.
    """
    fields = Dynamics.model_fields
    problems = []

    def problem(path: tuple[Any, ...], field_name: str, message: str, key: bool = False) -> None:
        line, column = (document.locate(path, key=key) if document is not None else None) or (None, None)
        problems.append(Problem(message, field=field_name, line=line, column=column, source=source))

    if not isinstance(ranges, Mapping) or not ranges:
        problem((), "", "expected a mapping of dynamics names to prior ranges, e.g. 'spiral_gain: [0.0, 2.0]'")
        raise UserError(problems)
    checked = {}
    for name, value in ranges.items():
        if name not in fields:
            problem((name,), str(name), f"not a field of 'dynamics'; allowed: {', '.join(fields)}"
                                        f"{did_you_mean(str(name), fields)}", key=True)
            continue
        numbers = isinstance(value, (list, tuple)) and len(value) == 2 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value)
        if not numbers:
            problem((name,), name, f"found {value!r}; allowed: a prior range [low, high] of two numbers")
            continue
        low, high = float(value[0]), float(value[1])
        bounds = field_bounds(fields[name])
        inside = bool(within_bounds(np.array([low, high]), bounds).all())
        if not low < high:
            problem((name,), name, f"found [{low:g}, {high:g}]; allowed: [low, high] with low below high")
        elif not inside:
            problem((name,), name, f"found [{low:g}, {high:g}]; allowed: values {describe_bounds(bounds)}")
        else:
            checked[name] = (low, high)
    if problems:
        raise UserError(problems)
    return checked


def within_bounds(values: np.ndarray, bounds: Mapping[str, float]) -> np.ndarray:
    """Which values are finite and inside a field's bounds (``ge``, ``gt``, ``le``, ``lt``)."""
    values = np.asarray(values, dtype=float)
    inside = np.isfinite(values)
    for key, compare in (("ge", np.greater_equal), ("gt", np.greater), ("le", np.less_equal), ("lt", np.less)):
        if key in bounds:
            inside &= compare(values, bounds[key])
    return inside


def read_ranges(path: str | Path) -> dict[str, tuple[float, float]]:
    """The dynamics to fit from a YAML file of ``name: [low, high]`` lines (see :func:`check_ranges`)."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        data = None  # the reader below says what is wrong with the file, and where
    else:
        if not isinstance(data, dict) or not data:
            check_ranges({}, str(path))  # the file's one message: what it must hold
    document = read_document(path)
    return check_ranges(document.data, str(path), document)


def sobol_design(ranges: Mapping[str, tuple[float, float]], candidates: int, seed: int = DESIGN_SEED) -> pd.DataFrame:
    """``candidates`` points of a scrambled Sobol' sequence over the ranges (uniform prior), one column
    per dynamics name. A power of two keeps the sequence balanced; other counts take its first points."""
    from scipy.stats import qmc

    if candidates < 2:
        raise UserError(Problem(f"found {candidates}; allowed: 2 or more candidates", source="--candidates"))
    names = list(ranges)
    sampler = qmc.Sobol(len(names), scramble=True, rng=np.random.default_rng(seed))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*balance properties.*", category=UserWarning)
        unit = sampler.random(candidates)
    lows = np.array([ranges[n][0] for n in names])
    highs = np.array([ranges[n][1] for n in names])
    values = np.round(qmc.scale(unit, lows, highs), 6)
    return pd.DataFrame(values, columns=names)


def reference_values(names: Sequence[str]) -> dict[str, float]:
    """The schema's default (reference) value of each dynamics field."""
    return {name: float(Dynamics.model_fields[name].default) for name in names}


# ---- outcomes: the only readers of the model's records and of observed: ---------------------------


def war_length_edges(horizon: int) -> np.ndarray:
    """Left edges of the war-length bins of a case: those of :data:`WAR_LENGTH_EDGES` below the horizon,
    then the horizon itself (the bin of wars still being fought at the end)."""
    return np.array([e for e in WAR_LENGTH_EDGES if e < horizon] + [horizon])


def outcome_sizes(horizon: int) -> dict[str, int]:
    """How many categories each outcome has for a case with this horizon."""
    return {"regional_escalation": 2, "war_length": len(war_length_edges(horizon)), "truces": len(TRUCE_CATEGORIES),
            "ended_by": len(ENDINGS)}


def _war_length_bin(days: np.ndarray, horizon: int) -> np.ndarray:
    clipped = np.clip(np.asarray(days), 0, horizon)
    return np.searchsorted(war_length_edges(horizon), clipped, side="right") - 1


def run_outcomes(runs: Mapping[str, np.ndarray], horizon: int) -> dict[str, np.ndarray]:
    """Each run's category of every outcome, from a chunk's per-run records (the model's outputs).

    The one place that reads them: regional escalation (the scenario's own definition, as
    ``p_regional_escalation``), war length (bins of :func:`war_length_edges`), truces
    (:data:`TRUCE_CATEGORIES`; a truce held is one brokered and not broken by the horizon) and how the
    war ended (the model's ``ENDINGS``, "ongoing" at the horizon).
    """
    broken = np.asarray(runs["truces_broken"]) > 0
    held = (np.asarray(runs["truces_brokered"]) - np.asarray(runs["truces_broken"])) > 0
    return {
        "regional_escalation": (np.asarray(runs["escalation_day"]) >= 0).astype(np.int64),
        "war_length": _war_length_bin(runs["war_days"], horizon),
        "truces": 2 * broken.astype(np.int64) + held.astype(np.int64),
        "ended_by": np.asarray(runs["ended_by"]).astype(np.int64),
    }


def observed_outcomes(observed: Observed, horizon: int) -> dict[str, tuple[int, ...]]:
    """The categories of every outcome the case records (strict coding of regional escalation;
    war length capped at the horizon; truces broken and held, either left open when not recorded; how the
    war ended).
    An outcome the case does not record is absent. The one place that reads ``observed:``."""
    found: dict[str, tuple[int, ...]] = {"regional_escalation": (int(observed.regional_escalation),)}
    if observed.war_days is not None:
        found["war_length"] = (int(_war_length_bin(np.array([observed.war_days]), horizon)[0]),)
    if observed.truces_broken is not None or observed.truces_held is not None:
        broke = [0, 1] if observed.truces_broken is None else [int(observed.truces_broken > 0)]
        held = [0, 1] if observed.truces_held is None else [int(observed.truces_held > 0)]
        found["truces"] = tuple(2 * b + h for b in broke for h in held)
    if observed.ended_by is not None:
        found["ended_by"] = (ENDINGS.index(observed.ended_by),)
    return found


class OutcomeTally:
    """Counts of runs in each category of every outcome, per candidate (integer counts: the same
    whatever order chunks finish in)."""

    def __init__(self, points: int, horizon: int) -> None:
        self.horizon = horizon
        self.runs = np.zeros(points, dtype=np.int64)
        self.counts = {name: np.zeros((points, size), dtype=np.int64) for name, size in outcome_sizes(horizon).items()}

    def add(self, runs: Mapping[str, np.ndarray]) -> None:
        """Fold one chunk's per-run records in."""
        point = np.asarray(runs["point"])
        self.runs += np.bincount(point, minlength=self.runs.size)
        for name, category in run_outcomes(runs, self.horizon).items():
            np.add.at(self.counts[name], (point, category), 1)


@dataclass
class CaseForecast:
    """One case's forecast under every candidate: the share of runs in each category of each outcome."""

    name: str
    runs: int
    shares: dict[str, np.ndarray]  # outcome -> (candidates, categories)

    @property
    def p_regional_escalation(self) -> np.ndarray:
        return self.shares["regional_escalation"][:, 1]

    def probability(self, outcome: str, categories: Sequence[int]) -> np.ndarray:
        """P(the outcome falls in one of these categories) under each candidate."""
        return self.shares[outcome][:, list(categories)].sum(axis=1)


def clip_probability(p: np.ndarray | float, runs: int) -> np.ndarray:
    """A share of ``runs`` runs kept inside [1/(2n), 1 - 1/(2n)], so a category no run reached costs a
    finite log score."""
    floor = 1.0 / (2 * runs)
    return np.clip(np.asarray(p, dtype=float), floor, 1 - floor)


def design_points(design: pd.DataFrame) -> list[dict[str, Any]]:
    """Override mappings of a design of dynamics, one per candidate, each removing ``observed:``: the
    scenario that is simulated does not hold the outcome."""
    return [{"observed": None, **{f"dynamics.{name}": float(value) for name, value in row.items()}}
            for row in design.to_dict(orient="records")]


def simulate_case(loaded: LoadedScenario, design: pd.DataFrame, runs: int, seed: int | None = None,
                  **options: Any) -> CaseForecast:
    """Every candidate of the design played ``runs`` times on common random numbers (one sweep)."""
    params, results = stream_design(loaded, design_points(design), runs, seed, **options)
    tally = OutcomeTally(params.points, int(params.horizon))
    for result in results:
        tally.add(result.runs)
    shares = {name: counts / tally.runs[:, None] for name, counts in tally.counts.items()}
    return CaseForecast(loaded.scenario.name, runs, shares)


def case_log_likelihood(forecast: CaseForecast, observed: Mapping[str, Sequence[int]]) -> dict[str, np.ndarray]:
    """Log-likelihood of each recorded outcome under each candidate (clipped shares, see
    :func:`clip_probability`)."""
    return {name: np.log(clip_probability(forecast.probability(name, categories), forecast.runs))
            for name, categories in observed.items()}


# ---- the fit -------------------------------------------------------------------------------------


def posterior_weights(log_likelihood: np.ndarray) -> np.ndarray:
    """Normalised weights of the candidates (rows) from their log-likelihood per case (columns): the
    design is a sample of the prior, so a weight is proportional to exp(sum over cases)."""
    values = np.asarray(log_likelihood, dtype=float)
    total = values.sum(axis=1) if values.ndim == 2 else values
    weights = np.exp(total - total.max())
    return weights / weights.sum()


def effective_sample_size(weights: np.ndarray) -> float:
    """Kish's effective sample size of normalised weights: 1 when one candidate has all the weight,
    K when all K candidates weigh the same."""
    weights = np.asarray(weights, dtype=float)
    return float(1.0 / np.sum(weights**2))


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float | Sequence[float]) -> np.ndarray:
    """Quantiles of a weighted sample by the inverted empirical distribution function: the smallest value
    whose cumulative weight reaches q (numpy's ``method="inverted_cdf"`` when the weights are equal)."""
    values = np.asarray(values, dtype=float)
    weights = np.asarray(weights, dtype=float)
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    cumulative /= cumulative[-1]
    q = np.atleast_1d(np.asarray(q, dtype=float))
    # a relative tolerance, so that equal weights summing to exactly q pick the same value as numpy
    index = np.searchsorted(cumulative, q * (1 - 1e-12), side="left")
    return values[order][np.minimum(index, values.size - 1)]


def summarise(design: pd.DataFrame, weights: np.ndarray, ranges: Mapping[str, tuple[float, float]]) -> pd.DataFrame:
    """Per parameter: prior range, reference value, MAP, posterior mean and 90% interval."""
    best = int(np.argmax(weights))
    reference = reference_values(list(design.columns))
    rows = []
    for name in design.columns:
        values = design[name].to_numpy(dtype=float)
        low, high = weighted_quantile(values, weights, INTERVAL)
        rows.append({"parameter": name, "prior_low": ranges[name][0], "prior_high": ranges[name][1],
                     "reference": reference[name], "map": float(values[best]), "mean": float(weights @ values),
                     "low_90": float(low), "high_90": float(high)})
    return pd.DataFrame(rows)


def leave_one_out(log_likelihood: np.ndarray, forecasts: np.ndarray) -> np.ndarray:
    """Each case's forecast from the weights refitted without it: the mixture over candidates.

    Args:
        log_likelihood: (candidates, cases) log-likelihood of each case's observed outcomes.
        forecasts: (candidates, cases) the quantity to forecast for each case under each candidate
            (computed without its outcome).

    Returns:
        (cases,) ``posterior_weights(log_likelihood without column i) @ forecasts[:, i]``.
    """
    log_likelihood = np.asarray(log_likelihood, dtype=float)
    forecasts = np.asarray(forecasts, dtype=float)
    return np.array([posterior_weights(np.delete(log_likelihood, i, axis=1)) @ forecasts[:, i]
                     for i in range(log_likelihood.shape[1])])


def leave_one_out_ess(log_likelihood: np.ndarray) -> np.ndarray:
    """The effective sample size of each leave-one-out refit."""
    return np.array([effective_sample_size(posterior_weights(np.delete(log_likelihood, i, axis=1)))
                     for i in range(np.asarray(log_likelihood).shape[1])])


# ---- the whole calibration -----------------------------------------------------------------------


@dataclass
class Calibration:
    """What ``escalation calibrate`` found: the design, each case's log-likelihood, the fit and the
    leave-one-out forecasts."""

    ranges: dict[str, tuple[float, float]]
    design: pd.DataFrame                      # candidates x parameters
    cases: list[str]
    log_likelihood: dict[str, np.ndarray]     # outcome -> (candidates, cases); 0 where not recorded
    reference_log_likelihood: dict[str, np.ndarray]  # outcome -> (cases,): the schema's reference dynamics
    recorded: dict[str, np.ndarray]           # outcome -> (cases,) whether the case records it
    weights: np.ndarray
    parameters: pd.DataFrame
    loo: pd.DataFrame
    runs: int
    seed: int | None
    design_seed: int
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> np.ndarray:
        """(candidates, cases) log-likelihood of every recorded outcome."""
        return sum(self.log_likelihood.values())

    @property
    def ess(self) -> float:
        return effective_sample_size(self.weights)

    def outcome_totals(self) -> pd.DataFrame:
        """Per outcome: the cases recording it and the log-likelihood summed over them, of the reference
        dynamics and of the MAP candidate."""
        best = int(np.argmax(self.weights))
        return pd.DataFrame([{"outcome": name, "cases": int(self.recorded[name].sum()),
                              "reference": float(self.reference_log_likelihood[name].sum()),
                              "map": float(self.log_likelihood[name][best].sum())} for name in OUTCOMES])

    def loo_outcome_scores(self) -> pd.DataFrame:
        """Per outcome: the mean log score of the leave-one-out forecasts over the cases recording it, next to
        the reference dynamics'."""
        rows = []
        for name in OUTCOMES:
            mask = self.recorded[name]
            count = int(mask.sum())
            rows.append({"outcome": name, "cases": count,
                         "reference": float(self.reference_log_likelihood[name][mask].mean()) if count else math.nan,
                         "loo": float(self.loo[f"loo_log_likelihood_{name}"][mask].mean()) if count else math.nan})
        return pd.DataFrame(rows)

    def escalation_scores(self) -> pd.DataFrame:
        """Brier and log scores of regional escalation: leave-one-out, in sample and with the reference
        dynamics, against the reference forecasters (see :func:`sim.analysis.backtest.calibrated_scores`)."""
        return calibrated_scores(self.loo)

    def candidates_table(self) -> pd.DataFrame:
        """candidates.csv: the design, each candidate's weight, its log-likelihood per outcome (summed over
        cases) and per case; the last row is the reference dynamics (not part of the design)."""
        design = pd.concat([self.design, pd.DataFrame([reference_values(list(self.design.columns))])],
                           ignore_index=True)
        table = pd.DataFrame({"candidate": [*range(len(self.design)), "reference"]})
        table = pd.concat([table, design], axis=1)
        table["weight"] = [*self.weights, math.nan]
        total = np.vstack([self.total, sum(self.reference_log_likelihood.values())[None, :]])
        table["log_likelihood"] = total.sum(axis=1)
        for name in OUTCOMES:
            values = np.vstack([self.log_likelihood[name], self.reference_log_likelihood[name][None, :]])
            table[f"log_likelihood_{name}"] = values.sum(axis=1)
        for c, case in enumerate(self.cases):
            table[f"case_{case}"] = total[:, c]
        return table


def calibrate(folder: str | Path, ranges: Mapping[str, tuple[float, float]] | None = None, *,
              candidates: int = DEFAULT_CANDIDATES, runs: int = DEFAULT_RUNS, seed: int | None = None,
              design_seed: int | None = None, workers: int | None = None, executor: Any = None,
              chunk_size: int = DEFAULT_CHUNK_SIZE, progress: bool = True,
              notify: Callable[[str], None] | None = None) -> Calibration:
    """Fit the shared dynamics on every case of a folder, and forecast each case leave-one-out.

    Args:
        folder: a folder of case scenarios with ``observed:`` blocks.
        ranges: dynamics name -> prior range (default :data:`DEFAULT_DYNAMICS`).
        candidates: points of the Sobol' design.
        runs: replications per candidate and case.
        seed: the seed of every case's runs, and of the design unless ``design_seed`` is given (default:
            each case's own seed, and design seed :data:`DESIGN_SEED`).
        design_seed: the seed of the design alone (to replay a design with other runs).
        workers, executor, chunk_size, progress: as for a sweep.
        notify: receives notes for the user (a case's own value of a fitted dynamic replaced).
    """
    from sim.ensemble.progress import progress_bar

    ranges = check_ranges(dict(DEFAULT_DYNAMICS if ranges is None else ranges))
    if design_seed is None:
        design_seed = DESIGN_SEED if seed is None else seed
    design = sobol_design(ranges, candidates, design_seed)
    with_reference = pd.concat([design, pd.DataFrame([reference_values(list(ranges))])], ignore_index=True)
    found = load_case_files(folder)
    names, notes = [], []
    per_outcome: dict[str, list[np.ndarray]] = {name: [] for name in OUTCOMES}
    recorded: dict[str, list[bool]] = {name: [] for name in OUTCOMES}
    escalation, committing = [], []
    observed_escalation, observed_war = [], []
    bar = progress_bar(found, desc="calibrate", unit="case", disable=not progress, dynamic_ncols=True)
    for path, loaded in bar:
        scenario = loaded.scenario
        own = sorted(set(ranges) & set(scenario.dynamics.model_fields_set))
        if own:
            notes.append(f"{path.name}: its own value of {', '.join(own)} is replaced by each candidate's")
        for name in sorted(set(ranges) & set(SHARED_OUTSIDE_FIELDS)):
            setting = [a.id for a in scenario.actors if a.outside is not None and getattr(a.outside, name) is not None]
            if setting:
                notes.append(f"{path.name}: {', '.join(setting)} set their own {name}, which the fit of "
                             f"dynamics.{name} does not change")
        forecast = simulate_case(loaded, with_reference, runs, seed, workers=workers, executor=executor,
                                 chunk_size=chunk_size, progress=False)
        observed = observed_outcomes(scenario.observed, scenario.horizon_days)
        log_likelihood = case_log_likelihood(forecast, observed)
        for name in OUTCOMES:
            per_outcome[name].append(log_likelihood.get(name, np.zeros(len(with_reference))))
            recorded[name].append(name in log_likelihood)
        names.append(scenario.name)
        escalation.append(forecast.p_regional_escalation)
        committing.append(has_committing_tie(scenario))
        observed_escalation.append(bool(scenario.observed.regional_escalation))
        observed_war.append(scenario.observed.war_days)
    bar.close()
    if notify:
        for note in notes:
            notify(note)
    k = len(design)
    everything = {name: np.column_stack(columns) for name, columns in per_outcome.items()}
    log_likelihood = {name: values[:k] for name, values in everything.items()}
    reference = {name: values[k] for name, values in everything.items()}
    total = sum(log_likelihood.values())
    forecasts = np.column_stack(escalation)
    weights = posterior_weights(total)
    best = int(np.argmax(weights))
    loo = pd.DataFrame({
        "case": names,
        "observed_regional_escalation": observed_escalation,
        "committing_tie": committing,
        "p_reference": forecasts[k],
        "p_map": forecasts[best],
        "p_in_sample": weights @ forecasts[:k],
        "p_loo": leave_one_out(total, forecasts[:k]),
        "loo_ess": leave_one_out_ess(total),
        "observed_war_days": observed_war,
        # the log of the leave-one-out predictive probability of what was observed (0: not recorded)
        **{f"loo_log_likelihood_{name}": np.log(leave_one_out(total, np.exp(log_likelihood[name])))
           for name in OUTCOMES},
    })
    return Calibration(ranges=dict(ranges), design=design, cases=names, log_likelihood=log_likelihood,
                       reference_log_likelihood=reference,
                       recorded={name: np.array(flags) for name, flags in recorded.items()}, weights=weights,
                       parameters=summarise(design, weights, ranges), loo=loo, runs=runs, seed=seed,
                       design_seed=design_seed, notes=notes)
