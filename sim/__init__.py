"""Scenario simulator of regional escalation risk: an agent-based model on Mesa, vectorised over replications.

The public API, for notebooks and other tools::

    import sim
    scenario = sim.load_scenario("scenarios/nagorno_karabakh_2020.yaml")
    result = sim.run_ensemble(scenario, runs=10_000, seed=1)
    result.summary["p_regional_escalation"]     # estimate with its 95% Wilson interval
    result.runs                                  # one row per replication (pandas)
    sim.read_table("results/.../20261124T232212Z")  # a saved run's table, from CSV or Parquet

The names are imported on first use (PEP 562), so that ``import sim.console`` (the command's entry
point) is instant and a Ctrl-C while numpy, pandas and Mesa load is handled like any other.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Each public name and the module that defines it.
_EXPORTS = {
    "OUTCOMES": "sim.model.model",
    "EnsembleResult": "sim.ensemble.runner",
    "EscalationModel": "sim.model.model",
    "Scenario": "sim.scenario.schema",
    "ScenarioError": "sim.scenario.errors",
    "UserError": "sim.scenario.errors",
    "backtest": "sim.analysis.backtest",
    "calibrate": "sim.analysis.calibrate",
    "compare": "sim.analysis.compare",
    "evaluate": "sim.analysis.sweep",
    "load_scenario": "sim.scenario.loader",
    "read_table": "sim.output.results",
    "run_ensemble": "sim.ensemble.runner",
    "sensitivity": "sim.analysis.sensitivity",
    "sweep": "sim.analysis.sweep",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from sim.analysis.backtest import backtest as backtest
    from sim.analysis.calibrate import calibrate as calibrate
    from sim.analysis.compare import compare as compare
    from sim.analysis.sensitivity import sensitivity as sensitivity
    from sim.analysis.sweep import evaluate as evaluate
    from sim.analysis.sweep import sweep as sweep
    from sim.ensemble.runner import EnsembleResult as EnsembleResult
    from sim.ensemble.runner import run_ensemble as run_ensemble
    from sim.model.model import OUTCOMES as OUTCOMES
    from sim.model.model import EscalationModel as EscalationModel
    from sim.output.results import read_table as read_table
    from sim.scenario.errors import ScenarioError as ScenarioError
    from sim.scenario.errors import UserError as UserError
    from sim.scenario.loader import load_scenario as load_scenario
    from sim.scenario.schema import Scenario as Scenario


def __getattr__(name: str) -> Any:
    """Import a public name on first use."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
