"""Global sensitivity analysis with SALib: which parameters drive the risk of regional escalation.

SALib draws the design (Sobol' or Morris) and computes the indices; this module only runs the
design as one vectorised sweep (common random numbers across points) and hands SALib the
estimated probabilities. The estimators are SALib's own, not re-implemented here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.designs import COMMAND_LINE, give_at_least_one, parse_parameter
from sim.analysis.sweep import ScenarioLike, as_loaded, declared_parameters, run_design
from sim.scenario.errors import Problem, UserError

METHODS = ("sobol", "morris")
MORRIS_LEVELS = 4


@dataclass
class SensitivityResult:
    """Indices per parameter (ranked, most influential first) and the evaluated design."""

    method: str
    indices: pd.DataFrame
    design: pd.DataFrame


def problem_for(specs: Sequence[str], origin: str = COMMAND_LINE) -> dict[str, Any]:
    """SALib's problem dictionary from ``PATH=LOW:HIGH`` specs (numeric ranges only); messages name
    ``origin``, where the specs were given."""
    ranges = [parse_parameter(spec, need_num=False, origin=origin) for spec in specs]
    if not ranges:
        raise UserError(Problem(give_at_least_one(origin, "PATH=LOW:HIGH"), source=origin))
    for spec, parameter in zip(specs, ranges, strict=True):
        if not parameter.numeric:
            raise UserError(Problem("sensitivity analysis needs a numeric range LOW:HIGH, not a list",
                                    source=f"{origin} {spec}"))
    paths = [r.path for r in ranges]
    if len(set(paths)) != len(paths):
        raise UserError(Problem("the same parameter is given twice", source=origin))
    return {"num_vars": len(ranges), "names": paths,
            "bounds": [[min(r.low, r.high), max(r.low, r.high)] for r in ranges]}


def sample(problem: dict[str, Any], method: str, samples: int, seed: int) -> np.ndarray:
    """The SALib design: Sobol' (N x (D + 2) points) or Morris (N x (D + 1) points)."""
    if method == "sobol":
        from SALib.sample import sobol

        if samples < 2 or samples & (samples - 1):
            raise UserError(Problem(f"found {samples}; Sobol' sampling needs a power of two (e.g. 64, 256)",
                                    source="--samples"))
        return sobol.sample(problem, samples, calc_second_order=False, seed=seed % 2**32)
    if method == "morris":
        from SALib.sample import morris

        if samples < 2:
            raise UserError(Problem(f"found {samples}; allowed: 2 or more trajectories", source="--samples"))
        return morris.sample(problem, samples, num_levels=MORRIS_LEVELS, seed=seed % 2**32)
    raise UserError(Problem(f"found '{method}'; allowed: 'sobol' or 'morris'", source="--method"))


def analyse(problem: dict[str, Any], method: str, inputs: np.ndarray, outputs: np.ndarray, seed: int) -> pd.DataFrame:
    """SALib's indices with 95% confidence intervals, ranked by total (Sobol') or mu* (Morris)."""
    if method == "sobol":
        from SALib.analyze import sobol

        result = sobol.analyze(problem, outputs, calc_second_order=False, conf_level=0.95, seed=seed % 2**32)
        table = pd.DataFrame({"parameter": problem["names"], "S1": result["S1"], "S1_conf": result["S1_conf"],
                              "ST": result["ST"], "ST_conf": result["ST_conf"]})
        return table.sort_values("ST", ascending=False, ignore_index=True)
    from SALib.analyze import morris

    result = morris.analyze(problem, inputs, outputs, conf_level=0.95, num_levels=MORRIS_LEVELS, seed=seed % 2**32)
    table = pd.DataFrame({"parameter": problem["names"], "mu_star": result["mu_star"],
                          "mu_star_conf": result["mu_star_conf"], "mu": result["mu"], "sigma": result["sigma"]})
    return table.sort_values("mu_star", ascending=False, ignore_index=True)


def sensitivity(scenario: ScenarioLike, parameters: Sequence[str] | None = None, method: str = "sobol",
                samples: int = 64,
                runs: int = 500, seed: int | None = None, origin: str = "parameters",
                **options: Any) -> SensitivityResult:
    """Sensitivity of P(regional escalation) to ``parameters`` (``PATH=LOW:HIGH`` each).

    Every design point is played ``runs`` times on common random numbers; the Monte Carlo noise
    of each point's estimate adds to SALib's confidence intervals, so give enough runs. Without
    ``parameters``, the scenario's declared uncertainties with a numeric range are used (those with
    choices are left out: SALib needs numbers). Messages about a parameter name ``origin``, where the
    parameters were given (the command line passes ``--param``).
    """
    if method not in METHODS:
        raise UserError(Problem(f"found '{method}'; allowed: 'sobol' or 'morris'", source="--method"))
    loaded = as_loaded(scenario)
    seed = loaded.scenario.seed if seed is None else seed
    problem = problem_for(parameters or declared_parameters(loaded.scenario, numeric_only=True, origin=origin),
                          origin)
    inputs = sample(problem, method, samples, seed)
    design = pd.DataFrame(inputs, columns=problem["names"])
    table = run_design(loaded, design, runs, seed, origin=origin, **options)
    outputs = table["p_regional_escalation"].to_numpy(dtype=float)
    return SensitivityResult(method, analyse(problem, method, inputs, outputs, seed), table)
