"""What the page computes: the controls a scenario offers, and estimates that refine as they run.

Every estimate plays the scenario as written (the baseline) and the variant the controls make as
two points of one ensemble, on the same seed and the same chunks: common random numbers, so a
control moved and moved back gives the same figures, and the difference from the baseline is
paired replication by replication. Chunks run one after another in this process (no worker pool
inside a web server); the first estimate comes after one chunk, then it refines in the background.
"""

from __future__ import annotations

import math
import threading
import typing
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.stats import paired_difference
from sim.analysis.summary import Accumulator
from sim.app import adapter
from sim.ensemble.chunks import plan_independent_chunks
from sim.ensemble.executors import SerialExecutor
from sim.ensemble.runner import dynamics_variants, stream_chunks
from sim.model.params import compile_scenarios
from sim.output.report import calibration_interval
from sim.scenario.errors import Problem, ScenarioError
from sim.scenario.loader import LoadedScenario, load_variants
from sim.scenario.overrides import allowed_fields, entry_label, format_value, model_of, resolve_path
from sim.scenario.schema import SHARED_OUTSIDE_FIELDS, Scenario

FIRST_RUNS = 2_000          # the first estimate: one chunk, a fraction of a second
REFINED_RUNS = 64_000       # where background refinement stops
REFINE_FACTOR = 4          # each refined estimate has four times the runs of the one before
MAX_DEFAULT_CONTROLS = 6
SLIDER_STEPS = 100


@dataclass(frozen=True)
class Control:
    """One input of the page: a dotted ``--set`` path with a range or a set of choices."""

    path: str
    baseline: Any                               # the value as the scenario is written
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] | None = None
    source: str = ""
    integer: bool = False

    @property
    def numeric(self) -> bool:
        return self.choices is None

    @property
    def step(self) -> float:
        """The slider's step: 1, 2 or 5 times a power of ten, 50 to 125 steps over the range (1 for
        whole numbers)."""
        if self.integer:
            return 1.0
        span = float(self.high) - float(self.low)
        if span <= 0:
            return 1.0
        power = 10.0 ** math.floor(math.log10(span / 50))
        return max(m * power for m in (1, 2, 5) if m * power <= span / 50)

    def snap(self, value: Any) -> Any:
        """A slider's value on the control's grid, without floating-point dust (0.41, not 0.41000000000000003)."""
        if not self.numeric:
            return value
        if self.integer:
            return round(value)
        digits = max(0, 1 - math.floor(math.log10(self.step)))
        return round(round(float(value) / self.step) * self.step, digits)

    def moved(self, value: Any) -> bool:
        """Whether ``value`` differs from the scenario as written (by more than half a step)."""
        if not self.numeric:
            return value != self.baseline
        return abs(float(value) - float(self.baseline)) > self.step / 2


def _data(scenario: Scenario) -> dict[str, Any]:
    """The scenario as plain data, an outside power's unset shared fields showing the value it runs with."""
    data = scenario.model_dump(mode="json", by_alias=True)
    for actor in data.get("actors") or []:
        for name in SHARED_OUTSIDE_FIELDS if actor.get("outside") else ():
            if actor["outside"].get(name) is None:
                actor["outside"][name] = data["dynamics"][name]
    return data


def read_value(scenario: Scenario, path: str) -> Any:
    """The value at a dotted path (list entries named by id) of a validated scenario."""
    node: Any = _data(scenario)
    for part in resolve_path(node, path, origin="control", create=False):
        node = node[part]
    return node


def _leaf_type(key: Sequence[Any]) -> tuple[Any, dict[str, float]]:
    """The schema's type and numeric bounds for the field a resolved document path names."""
    model: Any = Scenario
    annotation: Any = None
    for part in key:
        if isinstance(part, int):
            continue
        if model is not None and part in model.model_fields:
            info = model.model_fields[part]
            annotation, metadata = info.annotation, list(info.metadata)
            model = model_of(annotation)
        elif typing.get_origin(annotation) is dict:  # a mapping keyed by id, e.g. a mediator's leverage
            annotation = typing.get_args(annotation)[1]
            metadata = list(getattr(annotation, "__metadata__", ()))
            model = None
        else:
            return None, {}
    bounds: dict[str, float] = {}
    expanded = [inner for item in metadata for inner in (item, *getattr(item, "metadata", ()))]
    for item in expanded:
        for name in ("ge", "gt", "le", "lt"):
            if getattr(item, name, None) is not None:
                bounds[name] = float(getattr(item, name))
    return annotation, bounds


def _literal_choices(annotation: Any) -> tuple[Any, ...] | None:
    """The allowed values of a ``Literal`` field (possibly inside ``X | None``)."""
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)
    for argument in typing.get_args(annotation):
        found = _literal_choices(argument)
        if found:
            return found
    return None


def control_for(scenario: Scenario, path: str, *, low: float | None = None, high: float | None = None,
                choices: Sequence[Any] | None = None, source: str = "") -> Control:
    """A control for any overridable single value; the range defaults to a span around the value
    within the schema's bounds.

    Raises:
        ScenarioError: the path names nothing, or a section or list rather than one value.
    """
    data = _data(scenario)
    key = resolve_path(data, path, origin="control", create=False)
    value: Any = data
    for part in key:
        value = value[part]
    annotation, bounds = _leaf_type(key)
    if choices is None and isinstance(value, bool):
        choices = (True, False)
    if choices is None and isinstance(value, str):
        choices = _literal_choices(annotation)
    if choices is not None:
        return Control(path, value, choices=tuple(choices), source=source)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        found = {dict: "a section", list: "a list", str: "free text", type(None): "a value left unset"}.get(
            type(value), type(value).__name__)
        raise ScenarioError(Problem(f"found {found}; allowed: a path to a number, true/false or one of a fixed "
                                    "set of words", field=path, source="control"))
    integer = isinstance(value, int) and not any(isinstance(v, float) for v in (low, high) if v is not None)
    floor = bounds.get("ge", bounds.get("gt", 0.0 if value >= 0 else None))
    ceiling = bounds.get("le", bounds.get("lt"))
    if low is None:
        low = floor if floor is not None else value - max(abs(value), 1.0)
    if high is None:
        wide = max(2.0 * abs(value), value + (10.0 if integer else 0.1))
        high = wide if ceiling is None else min(ceiling, wide)
        # a derived top end falls on the slider's grid (0.465, not 0.4668), inside the field's bounds
        grid = Control(path, value, low=low, high=high, integer=integer)
        on_grid = grid.snap(high)
        high = on_grid if on_grid >= value and (ceiling is None or on_grid <= ceiling) else high
    return Control(path, value, low=low, high=high, source=source, integer=integer)


def declared_controls(scenario: Scenario) -> list[Control]:
    """Controls for the uncertainties the scenario declares (path, range or choices, source)."""
    controls = []
    for entry in getattr(scenario, "uncertainties", None) or []:
        get = entry.get if isinstance(entry, Mapping) else lambda name, e=entry: getattr(e, name, None)
        bounds = get("range")
        low, high = (bounds[0], bounds[1]) if bounds else (None, None)
        controls.append(control_for(scenario, get("path"), low=low, high=high, choices=get("choices"),
                                    source=get("source") or ""))
    return controls


def numeric_paths(scenario: Scenario) -> list[str]:
    """Every overridable numeric value of a scenario, as a dotted path (list entries by id)."""
    found: list[str] = []

    def walk(node: Any, prefix: str, key: tuple[Any, ...]) -> None:
        if isinstance(node, dict):
            for name, value in node.items():
                if prefix == "" and name in adapter.NOT_MODEL_INPUTS:
                    continue
                walk(value, f"{prefix}{name}.", (*key, name))
        elif isinstance(node, list):
            for index, item in enumerate(node):
                label = entry_label(item)
                if label and allowed_fields((*key, index)):
                    walk(item, f"{prefix}{label}.", (*key, index))
        elif isinstance(node, (int, float)) and not isinstance(node, bool):
            found.append(prefix[:-1])

    walk(_data(scenario), "", ())
    return found


def default_controls(scenario: Scenario) -> list[Control]:
    """A few controls found in the scenario itself, for one that declares no uncertainties."""
    paths = numeric_paths(scenario)
    preferred = [p for name in adapter.DEFAULT_CONTROL_FIELDS for p in paths if p.rsplit(".", 1)[-1] == name]
    controls: list[Control] = []
    for path in dict.fromkeys([*preferred, *paths]):
        control = control_for(scenario, path, source="not declared in the scenario: a range around its value")
        if not control.integer:
            controls.append(control)
        if len(controls) == MAX_DEFAULT_CONTROLS:
            break
    return controls


def controls_for(scenario: Scenario) -> list[Control]:
    """The declared uncertainties, or a few numeric fields when the scenario declares none."""
    return declared_controls(scenario) or default_controls(scenario)


@dataclass(frozen=True)
class Estimate:
    """The baseline and the variant after ``runs`` paired replications each."""

    runs: int
    target_runs: int
    baseline: dict[str, Any]
    variant: dict[str, Any]
    difference: dict[str, float]                    # variant minus baseline, paired interval
    escalation_by_day: tuple[dict[str, list[float]], dict[str, list[float]]]  # baseline, variant
    exact_common_random_numbers: bool
    changed: tuple[str, ...] = field(default=())   # the overrides, as --set assignments
    #: Drawn from a posterior: how much each risk moves over the draws (baseline, variant), as ``run --posterior``.
    calibration: tuple[dict[str, Any], dict[str, Any]] | None = None

    @property
    def finished(self) -> bool:
        return self.runs >= self.target_runs


def assignments(overrides: Mapping[str, Any]) -> list[str]:
    """``--set``-style assignments for a mapping of dotted paths to values."""
    return [f"{path}={format_value(value)}" for path, value in overrides.items()]


def estimates(loaded: LoadedScenario, overrides: Mapping[str, Any], seed: int, *, first_runs: int = FIRST_RUNS,
              target_runs: int = REFINED_RUNS, stop: threading.Event | None = None,
              dynamics: pd.DataFrame | None = None) -> Iterator[Estimate]:
    """Estimates of the variant against the baseline, each on four times the runs of the one before.

    The first comes after ``first_runs`` paired replications (one chunk); the last after
    ``target_runs``. Chunks are ``first_runs`` replications each, so a result depends on the
    seed and these two numbers only. Setting ``stop`` ends the estimates after the current chunk.

    ``dynamics``: draws of the shared dynamics from a posterior. The runs are then split evenly over the
    draws (``target_runs`` rounded up to a whole number a draw), both variants paired at every draw and every
    draw on streams of its own (as ``compare --posterior``); each round of chunks plays every draw once, and
    each estimate carries the draws' spread.

    Raises:
        ScenarioError: an override the scenario does not accept (raised at the first ``next``).
    """
    changed = assignments(overrides)
    baseline, variant = load_variants(loaded, [[], changed], origin="control")
    draws = 1 if dynamics is None else len(dynamics)
    baselines, variants = ([baseline], [variant]) if dynamics is None else (
        dynamics_variants(baseline, dynamics), dynamics_variants(variant, dynamics))
    chunk, per_draw = max(1, first_runs // draws), -(-target_runs // draws)
    try:  # both variants of a draw side by side: [baseline, variant] at every draw
        groups = [compile_scenarios([scenario for pair in zip(baselines, variants, strict=True) for scenario in pair])]
        plans = [plan_independent_chunks(per_draw, seed, chunk, 2 * draws, group=2)]
    except ScenarioError:  # the variant changes the structure: same seeds side by side, still paired
        groups = [compile_scenarios(baselines), compile_scenarios(variants)]
        plans = [plan_independent_chunks(per_draw, seed, chunk, draws)] * 2
    # Round by round: every draw's first block, then every draw's second, ...
    plans = [sorted(plan, key=lambda c: (c.first, c.point_start)) for plan in plans]
    accumulators = [Accumulator(params) for params in groups]
    escalated = np.zeros((2 * draws, per_draw), dtype=bool)
    executor = SerialExecutor()
    streams = [stream_chunks(params, plan, executor=executor, progress=False)
               for params, plan in zip(groups, plans, strict=True)]
    report_at = first_runs
    for step, results in enumerate(zip(*streams, strict=True), start=1):
        if stop is not None and stop.is_set():
            return
        for group, (accumulator, result) in enumerate(zip(accumulators, results, strict=True)):
            accumulator.add(result)
            records = result.runs
            rows = records["point"] * 2 + group if len(groups) == 2 else records["point"]
            escalated[rows, records["replication"]] = adapter.escalated(records)
        if step % draws:
            continue  # a round is not over until every draw has played its block
        done = int(accumulators[0].runs.min()) * draws
        if (done >= report_at or done >= per_draw * draws) and not (stop is not None and stop.is_set()):
            report_at *= REFINE_FACTOR
            yield _estimate(accumulators, escalated[:, :done // draws], done, per_draw * draws, tuple(changed),
                            posterior=dynamics is not None)


def _estimate(accumulators: list[Accumulator], escalated: np.ndarray, runs: int, target_runs: int,
              changed: tuple[str, ...], posterior: bool = False) -> Estimate:
    """The estimate from the counts so far: ``escalated`` rows alternate baseline and variant, draw by draw."""
    draws = escalated.shape[0] // 2
    if len(accumulators) == 1:
        sides = [(accumulators[0], range(0, 2 * draws, 2)), (accumulators[0], range(1, 2 * draws, 2))]
    else:
        sides = [(accumulators[0], range(draws)), (accumulators[1], range(draws))]
    pooled = [accumulator.posterior_predictive(list(points)) for accumulator, points in sides]
    summaries = [accumulator.summary(0) for accumulator, _ in pooled]
    curves = [accumulator.distributions(0)["escalation_by_day"] for accumulator, _ in pooled]
    return Estimate(runs=runs, target_runs=target_runs, baseline=summaries[0], variant=summaries[1],
                    difference=paired_difference(escalated[1::2].ravel(), escalated[0::2].ravel()),
                    escalation_by_day=(curves[0], curves[1]),
                    exact_common_random_numbers=len(accumulators) == 1, changed=changed,
                    calibration=(pooled[0][1], pooled[1][1]) if posterior else None)


def percent(value: float) -> str:
    """``10.9%``; a dash for an undefined value."""
    return "-" if value is None or math.isnan(value) else f"{100 * value:.1f}%"


def interval_text(value: Mapping[str, float]) -> str:
    """A probability with its interval as the page shows it: ``10.9% [9.6, 12.3]``."""
    return f"{percent(value['estimate'])} [{100 * value['ci_low']:.1f}, {100 * value['ci_high']:.1f}]"


#: The page draws from every fourth draw of the shipped posterior: each draw's chunk is a model of its own, and
#: 32 of them keep the first estimate to a few seconds.
PAGE_DRAWS_EVERY = 4


def page_posterior() -> pd.DataFrame:
    """The draws of the shared dynamics the page uses: every :data:`PAGE_DRAWS_EVERY`-th of the shipped posterior."""
    from sim.analysis.smc_calibration import read_posterior

    return read_posterior().iloc[::PAGE_DRAWS_EVERY].reset_index(drop=True)


def calibration_text(estimate: Estimate) -> str:
    """With the shared dynamics drawn from the posterior: how far the risk moves over the draws."""
    if estimate.calibration is None:
        return ""
    spread = calibration_interval(estimate.calibration[1]["interval_90"], 1)
    return (f"calibration: {spread} over 90% of the posterior ({estimate.calibration[1]['points']} draws of the "
            "shared dynamics)")
