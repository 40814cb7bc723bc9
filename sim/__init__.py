"""Scenario simulator of regional escalation risk: an agent-based model on Mesa, vectorised over replications.

The public API, for notebooks and other tools::

    import sim
    scenario = sim.load_scenario("scenarios/nagorno_karabakh_2020.yaml")
    result = sim.run_ensemble(scenario, runs=10_000, seed=1)
    result.summary["p_regional_escalation"]     # estimate with its 95% Wilson interval
    result.runs                                  # one row per replication (pandas)
    sim.read_table("results/.../20261124T232212Z")  # a saved run's table, from CSV or Parquet
"""

from sim.analysis.backtest import backtest
from sim.analysis.compare import compare
from sim.analysis.sensitivity import sensitivity
from sim.analysis.sweep import evaluate, sweep
from sim.ensemble.runner import EnsembleResult, run_ensemble
from sim.model.model import OUTCOMES, EscalationModel
from sim.output.results import read_table
from sim.scenario.errors import ScenarioError, UserError
from sim.scenario.loader import load_scenario
from sim.scenario.schema import Scenario

__version__ = "0.1.0"

__all__ = [
    "OUTCOMES",
    "EnsembleResult",
    "EscalationModel",
    "Scenario",
    "ScenarioError",
    "UserError",
    "backtest",
    "compare",
    "evaluate",
    "load_scenario",
    "read_table",
    "run_ensemble",
    "sensitivity",
    "sweep",
]
