"""Parameter sweeps as one vectorised ensemble: every point is more lanes of the same model.

All points of a sweep share the random numbers of each replication (common random numbers), so
differences between points come from the parameters, not from noise. These functions return
DataFrames, so the model can be driven by exploratory-modelling tools (a scenario plus parameter
overrides in, a table of outcomes out).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.designs import (
    COMMAND_LINE,
    ParameterRange,
    give_at_least_one,
    grid_design,
    lhs_design,
    parse_parameter,
    point_values,
)
from sim.analysis.summary import Accumulator, sweep_table
from sim.ensemble.chunks import DEFAULT_CHUNK_SIZE, ChunkResult, plan_chunks
from sim.ensemble.runner import stream_chunks
from sim.model.params import Parameters, compile_scenarios
from sim.scenario.errors import Problem, UserError
from sim.scenario.loader import LoadedScenario, from_scenario, load_variants, load_with_provenance
from sim.scenario.overrides import resolve_path
from sim.scenario.schema import Scenario
from sim.scenario.uncertainties import field_spec

ScenarioLike = Scenario | LoadedScenario | str | Path


def as_loaded(scenario: ScenarioLike) -> LoadedScenario:
    """A scenario with its text, whether given as a path, a loaded scenario or a Scenario object."""
    if isinstance(scenario, LoadedScenario):
        return scenario
    if isinstance(scenario, Scenario):
        return from_scenario(scenario)
    return load_with_provenance(scenario)


DECLARED_SAMPLES = 64
DECLARED_LEVELS = 5


def declared_parameters(scenario: Scenario, *, levels: int | None = None, numeric_only: bool = False,
                        origin: str = COMMAND_LINE) -> list[str]:
    """``--param`` specs for the scenario's declared uncertainties (``PATH=LOW:HIGH[:LEVELS]``, ``PATH=a,b``).

    Raises:
        UserError: when the scenario declares none (of the kind asked for).
    """
    specs = []
    for uncertainty in scenario.uncertainties:
        if uncertainty.range is None:
            if not numeric_only:
                specs.append(uncertainty.spec())
            continue
        specs.append(uncertainty.spec() + (f":{levels}" if levels else ""))
    if not specs:
        kind = "numeric " if numeric_only and scenario.uncertainties else ""
        raise UserError(Problem(f"scenario '{scenario.name}' declares no {kind}uncertainties; "
                                f"{give_at_least_one(origin, 'PATH=LOW:HIGH')}, or declare them under "
                                "uncertainties: in the scenario", source=origin))
    return specs


def study_parameters(scenario: Scenario, parameters: Sequence[str] | None, design: str | None,
                     samples: int | None, origin: str = COMMAND_LINE) -> tuple[list[str], str, int | None]:
    """The specs, design and sample count of a sweep: as given, or the declared uncertainties.

    With no parameters, the scenario's declared uncertainties are swept: by default a Latin
    hypercube of :data:`DECLARED_SAMPLES` points (a grid of :data:`DECLARED_LEVELS` values each
    with ``design="grid"``).
    """
    if parameters:
        return list(parameters), design or "grid", samples
    design = design or "lhs"
    specs = declared_parameters(scenario, levels=DECLARED_LEVELS if design == "grid" else None, origin=origin)
    return specs, design, (samples or DECLARED_SAMPLES) if design == "lhs" else samples


def study_design(scenario: Scenario, parameters: Sequence[str] | None, design: str | None, samples: int | None,
                 seed: int, origin: str = COMMAND_LINE) -> tuple[pd.DataFrame, str]:
    """The points of a sweep (as given, or the declared uncertainties) and the design's kind.

    Values of whole-number fields (``horizon_days``) are made whole: a Latin hypercube keeps one
    value per stratum, a grid rounds to the nearest.
    """
    specs, kind, samples = study_parameters(scenario, parameters, design, samples, origin)
    points = make_design(specs, kind, samples, seed, origin)
    ranges = {r.path: r for r in (parse_parameter(spec, need_num=False, origin=origin) for spec in specs)}
    data = scenario.model_dump(mode="json", by_alias=True)
    for column in points.columns:
        try:
            spec = field_spec(resolve_path(data, column, origin=origin, create=False))
        except UserError:
            continue  # an unknown path is reported, with its remedy, when the points are validated
        if spec is not None and spec.kind == "int" and ranges[column].numeric:
            points[column] = _whole(points[column], kind, ranges[column])
    return points, kind


def _whole(values: pd.Series, kind: str, parameter: ParameterRange) -> pd.Series:
    """Whole numbers for a whole-number field: the nearest for a grid; for a Latin hypercube, each of
    the whole numbers from LOW to HIGH takes an equal share of [LOW, HIGH]."""
    if kind == "grid":
        return np.floor(values.astype(float) + 0.5).astype(int)
    low, high = sorted((float(parameter.low), float(parameter.high)))
    first, last = np.ceil(low), np.floor(high)
    if last <= first:
        return pd.Series(np.full(len(values), int(first)), index=values.index)
    share = (values.astype(float) - low) / (high - low)
    return np.clip(first + np.floor(share * (last - first + 1)), first, last).astype(int)


def make_design(specs: Sequence[str], kind: str = "grid", samples: int | None = None, seed: int = 0,
                origin: str = COMMAND_LINE) -> pd.DataFrame:
    """The points of a sweep from parameter specs: a full grid, or ``samples`` LHS points. Messages name
    the specs' ``origin`` (``--param`` on the command line, the argument's name in Python)."""
    command_line = origin == COMMAND_LINE
    if kind == "grid":
        return grid_design([parse_parameter(spec, origin=origin) for spec in specs], origin)
    if kind == "lhs":
        if samples is None:
            raise UserError(Problem("a Latin hypercube needs --samples K" if command_line else
                                    "a Latin hypercube needs samples=K", source="--design lhs" if command_line
                                    else "design='lhs'"))
        return lhs_design([parse_parameter(spec, need_num=False, origin=origin) for spec in specs], samples, seed,
                          origin)
    raise UserError(Problem(f"found '{kind}'; allowed: 'grid' or 'lhs'", source="--design" if command_line
                            else "design"))


def run_design(scenario: ScenarioLike, design: pd.DataFrame, runs: int, seed: int | None = None, *,
               chunk_size: int = DEFAULT_CHUNK_SIZE, workers: int | None = None, executor: Any = None,
               progress: bool = True, origin: str = COMMAND_LINE) -> pd.DataFrame:
    """Run every point of ``design`` ``runs`` times; one row per point (see :func:`sweep_table`).
    A value a field does not allow is reported as given in ``origin``."""
    params, results = stream_design(scenario, design, runs, seed, chunk_size=chunk_size, workers=workers,
                                    executor=executor, progress=progress, origin=origin)
    accumulator = Accumulator(params)
    for result in results:
        accumulator.add(result)
    return sweep_table(design, accumulator)


def stream_design(scenario: ScenarioLike, design: pd.DataFrame | Sequence[Mapping[str, Any]], runs: int,
                  seed: int | None = None, *, chunk_size: int = DEFAULT_CHUNK_SIZE, workers: int | None = None,
                  executor: Any = None, progress: bool = True,
                  origin: str = COMMAND_LINE) -> tuple[Parameters, Iterator[ChunkResult]]:
    """The compiled points of a design (a table, or one mapping of path -> value per point) and the
    chunks of ``runs`` replications of each as they finish: all points in one vectorised ensemble, on
    common random numbers (the same seed for every point)."""
    loaded = as_loaded(scenario)
    seed = loaded.scenario.seed if seed is None else seed
    values = point_values(design) if isinstance(design, pd.DataFrame) else [dict(point) for point in design]
    params = compile_scenarios(load_variants(loaded, values, origin=origin))
    chunks = plan_chunks(runs, seed, chunk_size, params.points)
    return params, stream_chunks(params, chunks, workers=workers, executor=executor, progress=progress)


def sweep(scenario: ScenarioLike, parameters: Sequence[str] | None = None, runs: int = 1_000, *,
          design: str | None = None,
          samples: int | None = None, seed: int | None = None, workers: int | None = None,
          executor: Any = None, chunk_size: int = DEFAULT_CHUNK_SIZE, progress: bool = True) -> pd.DataFrame:
    """Sweep parameters (``"actors.turkey.outside.escalation_rate=0:0.2:5"``) and tabulate the risk.

    Returns one row per point: the parameter values, runs, ``p_regional_escalation`` with
    ``ci_low`` and ``ci_high``, every outcome share with its interval, outside powers' combat
    probabilities and the median war length. Without ``parameters``, the scenario's declared
    uncertainties are swept (see :func:`study_parameters`).
    """
    loaded = as_loaded(scenario)
    seed = loaded.scenario.seed if seed is None else seed
    points, _ = study_design(loaded.scenario, parameters, design, samples, seed, origin="parameters")
    return run_design(loaded, points, runs, seed, chunk_size=chunk_size, workers=workers, executor=executor,
                      progress=progress, origin="parameters")


def evaluate(scenario: ScenarioLike, overrides: Mapping[str, Any] | Sequence[Mapping[str, Any]], runs: int = 1_000,
             seed: int | None = None, **options: Any) -> pd.DataFrame:
    """Outcomes for one or more sets of parameter overrides (dotted path -> value): one row each.

    The entry point for exploratory-modelling tools, e.g. an EMA Workbench function model.
    """
    rows = [dict(overrides)] if isinstance(overrides, Mapping) else [dict(o) for o in overrides]
    if not rows:
        raise UserError(Problem("no parameter sets given", source="evaluate"))
    keys = list(rows[0])
    if any(list(row) != keys for row in rows):
        raise UserError(Problem("every parameter set must name the same paths", source="evaluate"))
    return run_design(scenario, pd.DataFrame(rows, columns=keys), runs, seed, **{"origin": "overrides", **options})
