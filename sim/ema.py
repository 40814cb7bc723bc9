"""The EMA Workbench connector: a scenario's declared uncertainties as an EMA ``Model``.

Install the extra on Python 3.12+ (EMA Workbench 3 needs it): ``pip install "escalation-sim[ema]"``.

* :func:`ema_model` builds an ``ema_workbench.Model`` whose uncertainties are the scenario's
  declared ones (``RealParameter``, ``IntegerParameter`` or ``CategoricalParameter``, named by
  their path with ``.`` written ``__``) and whose outcomes are plain floats (``ScalarOutcome``).
  It works with EMA's ``SequentialEvaluator`` and ``MultiprocessingEvaluator``: inside an EMA
  worker process the ensemble runs in that process (no nested pools), and an error inside a worker
  ends the run with an error instead of hanging it.
* :class:`BatchedEvaluator` hands every experiment of a design to ONE vectorised ensemble
  (:func:`sim.analysis.sweep.run_design`): all points are lanes of the same model, on common
  random numbers, spread over the local cores in chunks. It is many times faster than one call
  per experiment (``benchmarks/bench_ema.py``).

Example (LHS over the declared uncertainties, then PRIM)::

    from ema_workbench import perform_experiments
    from ema_workbench.analysis import prim
    from sim.ema import BatchedEvaluator, ema_model

    model = ema_model("scenarios/nagorno_karabakh_2020.yaml", runs=1_000)
    with BatchedEvaluator(model) as evaluator:
        experiments, outcomes = evaluator.perform_experiments(scenarios=256)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
from ema_workbench import CategoricalParameter, IntegerParameter, Model, RealParameter, ScalarOutcome
from ema_workbench.em_framework.evaluators import BaseEvaluator

from sim.analysis.sweep import ScenarioLike, as_loaded, run_design
from sim.model.model import OUTCOMES
from sim.scenario.errors import Problem, UserError
from sim.scenario.loader import LoadedScenario
from sim.scenario.overrides import resolve_path
from sim.scenario.schema import Scenario
from sim.scenario.uncertainties import Uncertainty, check_uncertainties, field_spec

__all__ = ["BatchedEvaluator", "ScenarioModel", "default_outcomes", "ema_model"]


def default_outcomes(scenario: Scenario) -> list[str]:
    """The outcome columns of a sweep table an EMA model reports by default, all scalar floats.

    The one place that names model-specific outputs (outcome kinds, backers): P(regional
    escalation) with its 95% interval, each outcome's share, each outside power's chance of combat,
    and the median war length.
    """
    names = ["p_regional_escalation", "ci_low", "ci_high"]
    names += [f"share_{outcome.replace(' ', '_')}" for outcome in OUTCOMES]
    names += [f"p_combat_{actor.id}" for actor in scenario.actors if actor.outside is not None]
    return [*names, "median_war_days"]


def _parameter(uncertainty: Uncertainty, loaded: LoadedScenario) -> Any:
    """The EMA parameter for one declared uncertainty (whole-number fields get an IntegerParameter)."""
    if uncertainty.choices is not None:
        return CategoricalParameter(uncertainty.name, list(uncertainty.choices))
    low, high = uncertainty.range or (0.0, 1.0)
    data = loaded.scenario.model_dump(mode="json", by_alias=True)
    spec = field_spec(resolve_path(data, uncertainty.path, origin="uncertainties", create=False))
    if spec is not None and spec.kind == "int":
        return IntegerParameter(uncertainty.name, int(low), int(high))
    return RealParameter(uncertainty.name, float(low), float(high))


class _Evaluate:
    """The function an EMA ``Model`` calls: one experiment's values in, scalar outcomes out.

    A module-level class, so that it pickles into EMA's worker processes.
    """

    def __init__(self, model: ScenarioModel) -> None:
        self.loaded = model.loaded
        self.paths = model.paths  # the same mapping: a parameter added to the model is known here
        self.runs = model.runs
        self.seed = model.seed
        self.outcome_names = list(model.outcome_names)
        self.options = dict(model.options)

    def __call__(self, **values: Any) -> dict[str, float]:
        table = self.table([values])
        return outcome_row(table.iloc[0], self.outcome_names)

    def table(self, points: Sequence[Mapping[str, Any]], **options: Any) -> pd.DataFrame:
        """One vectorised ensemble over ``points`` (experiment values by parameter name)."""
        design = pd.DataFrame([{self.paths[name]: _plain(value) for name, value in point.items()
                                if name in self.paths} for point in points])
        if list(design.columns) != list(self.paths.values()):
            missing = sorted(set(self.paths.values()) - set(design.columns))
            raise UserError(Problem(f"an experiment lacks values for {', '.join(missing)}", source="sim.ema"))
        return run_design(self.loaded, design, self.runs, self.seed, **{"progress": False, "origin": "experiment",
                                                                        **self.options, **options})


def _plain(value: Any) -> Any:
    """A sampled value as plain Python (EMA hands numpy scalars and category values)."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def outcome_row(row: pd.Series, names: Sequence[str]) -> dict[str, float]:
    """The named outcome columns of one sweep-table row, as floats."""
    return {name: float(row[name]) for name in names}


class ScenarioModel(Model):
    """An EMA ``Model`` of a scenario: declared uncertainties in, scalar outcomes out.

    Built by :func:`ema_model`. If an experiment fails inside an EMA worker process, the error is
    raised again from :meth:`cleanup`, which EMA calls right after a failure: EMA's experiment
    runner then keeps its models, the remaining experiments run, and ``perform_experiments`` ends
    with an error (the failure's own message is printed by EMA) rather than hanging.
    """

    def __init__(self, name: str, loaded: LoadedScenario, uncertainties: Sequence[Uncertainty], *, runs: int,
                 seed: int, outcomes: Sequence[str], options: Mapping[str, Any] | None = None) -> None:
        self.loaded = loaded
        self.runs = runs
        self.seed = seed
        self.paths = {u.name: u.path for u in uncertainties}
        self.outcome_names = list(outcomes)
        self.options = dict(options or {})
        self._failure: BaseException | None = None
        super().__init__(name, function=_Evaluate(self))
        self.uncertainties = [_parameter(u, loaded) for u in uncertainties]
        self.outcomes = [ScalarOutcome(name) for name in self.outcome_names]

    def run_model(self, scenario: Any, policy: Any, constants: Any) -> None:
        """Run one experiment (EMA's hook), remembering a failure for :meth:`cleanup`."""
        try:
            super().run_model(scenario, policy, constants)
        except Exception as error:
            self._failure = error
            raise

    def cleanup(self) -> None:
        """EMA's hook after the experiments, and right after a failure: raise the failure again."""
        failure, self._failure = self._failure, None
        if failure is not None:
            raise failure
        super().cleanup()

    def evaluate_points(self, points: Sequence[Mapping[str, Any]], **options: Any) -> pd.DataFrame:
        """Every point (values by parameter name) in one vectorised ensemble; one sweep-table row each."""
        return self.function.table(points, **options)


def ema_model(scenario: ScenarioLike, *, runs: int = 1_000, seed: int | None = None, name: str | None = None,
              uncertainties: Sequence[Uncertainty] | None = None, outcomes: Sequence[str] | None = None,
              **options: Any) -> ScenarioModel:
    """An EMA Workbench ``Model`` of a scenario (a path, a loaded scenario or a Scenario object).

    Args:
        scenario: the scenario; its declared ``uncertainties`` are the model's uncertainties.
        runs: replications per experiment.
        seed: master seed (default: the scenario's); every experiment uses common random numbers.
        name: the model's name (default: the scenario's name), a Python identifier.
        uncertainties: instead of the declared ones (each checked against the scenario the same way).
        outcomes: sweep-table columns to report (default: :func:`default_outcomes`).
        **options: passed on to the ensemble (``workers``, ``chunk_size``, ``executor``).

    Raises:
        UserError: when the scenario declares no uncertainties, or an outcome is unknown.
    """
    loaded = as_loaded(scenario)
    if uncertainties is not None:
        findings = check_uncertainties(loaded.scenario.model_copy(update={"uncertainties": list(uncertainties)}))
        if findings:
            raise UserError([Problem(message, field=f"uncertainties[{path[1]}].{path[2]}", source="sim.ema")
                             for path, message in findings])
    declared = list(loaded.scenario.uncertainties if uncertainties is None else uncertainties)
    if not declared:
        raise UserError(Problem(f"scenario '{loaded.scenario.name}' declares no uncertainties; declare them under "
                                "uncertainties: in the scenario, or pass uncertainties=[...]", source="sim.ema"))
    known = default_outcomes(loaded.scenario)
    chosen = list(outcomes) if outcomes is not None else known
    table_columns = {*known, *(f"share_{o.replace(' ', '_')}_ci_{end}" for o in OUTCOMES for end in ("low", "high"))}
    unknown = [o for o in chosen if o not in table_columns]
    if unknown:
        raise UserError(Problem(f"unknown outcome '{unknown[0]}'; allowed: {', '.join(sorted(table_columns))}",
                                source="sim.ema"))
    seed = loaded.scenario.seed if seed is None else seed
    return ScenarioModel(name or loaded.scenario.name, loaded, declared, runs=runs, seed=seed, outcomes=chosen,
                         options=options)


class BatchedEvaluator(BaseEvaluator):
    """An EMA evaluator that runs every experiment of a design in one vectorised ensemble.

    Use it like EMA's own evaluators (``with BatchedEvaluator(model) as evaluator:
    evaluator.perform_experiments(scenarios=256)``). The models must be :class:`ScenarioModel`
    instances. ``workers`` and ``executor`` choose where the ensemble's chunks run (default: local
    processes on every core).
    """

    def __init__(self, msis: ScenarioModel | list[ScenarioModel], *, workers: int | None = None,
                 executor: Any = None, progress: bool = False) -> None:
        super().__init__(msis)
        for model in self._msis:
            if not isinstance(model, ScenarioModel):
                raise TypeError(f"BatchedEvaluator runs models made by sim.ema.ema_model, not {type(model).__name__}")
        self.options = {"progress": progress, **({"workers": workers} if workers is not None else {}),
                        **({"executor": executor} if executor is not None else {})}

    def initialize(self) -> BatchedEvaluator:
        """Nothing to start: the ensemble starts its own workers per design."""
        return self

    def finalize(self) -> None:
        """Nothing to stop."""

    def evaluate_experiments(self, experiments: Iterable[Any], callback: Callable[..., None], **kwargs: Any) -> None:
        """Run all experiments, one ensemble per model, and report each to EMA's callback."""
        groups: dict[str, list[Any]] = {}
        for experiment in experiments:
            groups.setdefault(experiment.model_name, []).append(experiment)
        models = {model.name: model for model in self._msis}
        for model_name, group in groups.items():
            model = models[model_name]
            points = [_values(experiment, model) for experiment in group]
            table = model.evaluate_points(points, **self.options)
            for experiment, (_, row) in zip(group, table.iterrows(), strict=True):
                callback(experiment, outcome_row(row, model.outcome_names))


def _values(experiment: Any, model: ScenarioModel) -> dict[str, Any]:
    """An experiment's uncertainty values by parameter name (a category named by its text gets its value)."""
    values = {}
    for parameter in model.uncertainties:
        value = experiment.scenario[parameter.name]
        if isinstance(parameter, CategoricalParameter) and isinstance(value, str):
            value = {category.name: category.value for category in parameter.categories}.get(value, value)
        values[parameter.name] = value
    return values
