"""The EMA Workbench connector (Python 3.12+ with the ``ema`` extra; skipped elsewhere)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ema_workbench = pytest.importorskip(
    "ema_workbench", reason="EMA Workbench 3 needs Python 3.12+ and the ema extra: pip install -e '.[ema]'")

from ema_workbench import (  # noqa: E402
    CategoricalParameter,
    IntegerParameter,
    RealParameter,
    SequentialEvaluator,
)

from sim.analysis.sweep import evaluate  # noqa: E402
from sim.ema import BatchedEvaluator, default_outcomes, ema_model  # noqa: E402
from sim.scenario.errors import ScenarioError, UserError  # noqa: E402
from sim.scenario.loader import load_text  # noqa: E402
from sim.scenario.uncertainties import Uncertainty  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MINIMAL = ROOT / "tests" / "scenarios" / "minimal.yaml"
DECLARED = """
uncertainties:
  - path: commitments.big_blue.reliability
    range: [0.1, 0.7]
    source: s
  - path: horizon_days
    range: [20, 40]
    source: s
  - path: commitments.big_blue.trigger
    choices: [recognised_territory, fighting_anywhere]
    source: s
"""
TIMEOUT = 300  # seconds: a hang fails the test instead of stalling the suite


def declared_minimal():
    return load_text(MINIMAL.read_text(encoding="utf-8") + DECLARED, str(MINIMAL))


def run_experiments(model, evaluator_class, scenarios: int = 6):
    with evaluator_class(model) as evaluator:
        return evaluator.perform_experiments(scenarios=scenarios, uncertainty_sampling_kwargs={"rng": 7})


def test_the_model_has_the_declared_uncertainties_and_float_outcomes() -> None:
    model = ema_model(declared_minimal(), runs=200)
    parameters = {p.name: p for p in model.uncertainties}
    assert list(parameters) == ["commitments__big_blue__reliability", "horizon_days", "commitments__big_blue__trigger"]
    assert isinstance(parameters["commitments__big_blue__reliability"], RealParameter)
    assert (parameters["commitments__big_blue__reliability"].lower_bound,
            parameters["commitments__big_blue__reliability"].upper_bound) == (0.1, 0.7)
    assert isinstance(parameters["horizon_days"], IntegerParameter)
    assert isinstance(parameters["commitments__big_blue__trigger"], CategoricalParameter)
    assert [o.name for o in model.outcomes] == default_outcomes(model.loaded.scenario)
    assert model.name == "minimal"


def test_sequential_outcomes_are_floats_equal_to_sim_evaluate() -> None:
    loaded = declared_minimal()
    model = ema_model(loaded, runs=300, seed=5)
    experiments, outcomes = run_experiments(model, SequentialEvaluator)
    assert all(values.dtype == float and values.shape == (6,) for values in outcomes.values())
    first = experiments.iloc[0]
    point = {"commitments.big_blue.reliability": float(first["commitments__big_blue__reliability"]),
             "horizon_days": int(first["horizon_days"]), "commitments.big_blue.trigger": str(first["commitments__big_blue__trigger"])}
    table = evaluate(loaded, point, runs=300, seed=5, progress=False)
    assert outcomes["p_regional_escalation"][0] == table["p_regional_escalation"].iloc[0]
    assert outcomes["median_war_days"][0] == table["median_war_days"].iloc[0]


def test_the_batched_evaluator_gives_exactly_the_sequential_outcomes() -> None:
    """Every experiment sees the same random numbers alone or in a batch (common random numbers)."""
    model = ema_model(declared_minimal(), runs=300)
    experiments, sequential = run_experiments(model, SequentialEvaluator)
    batched_experiments, batched = run_experiments(model, BatchedEvaluator)
    columns = [p.name for p in model.uncertainties]
    assert experiments[columns].equals(batched_experiments[columns])
    for name, values in sequential.items():
        np.testing.assert_array_equal(values, batched[name], err_msg=name)
    assert len(set(sequential["p_regional_escalation"])) > 1  # the points differ


def test_a_scenario_error_raises_from_the_sequential_evaluator() -> None:
    model = ema_model(declared_minimal(), runs=50)
    model.uncertainties = [*model.uncertainties, RealParameter("actors__big__outside__escalation_rate", 1.5, 2.0)]
    model.paths["actors__big__outside__escalation_rate"] = "actors.big.outside.escalation_rate"
    with pytest.raises(ScenarioError, match=r"escalation_rate=1\.\d+: .*allowed: from 0 to 1"):
        run_experiments(model, SequentialEvaluator, scenarios=3)


def test_bad_models_are_user_errors() -> None:
    with pytest.raises(UserError, match="declares no uncertainties"):
        ema_model(MINIMAL)
    with pytest.raises(UserError, match="unknown outcome 'p_escalation'"):
        ema_model(declared_minimal(), outcomes=["p_escalation"])
    with pytest.raises(UserError, match=r"the high end 1\.5 is outside"):
        ema_model(MINIMAL, uncertainties=[Uncertainty(path="commitments.big_blue.reliability", range=[0.1, 1.5], source="s")])


def _python(script: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True,
                          timeout=TIMEOUT)


MULTIPROCESSING = """
import numpy as np
from ema_workbench import MultiprocessingEvaluator
from sim.ema import BatchedEvaluator, ema_model
from sim.scenario.loader import load_text
DECLARED = {declared!r}

if __name__ == "__main__":
    model = ema_model(load_text(open({minimal!r}).read() + DECLARED, "minimal.yaml"), runs={runs})
    {extra}
    with MultiprocessingEvaluator(model, n_processes=2) as evaluator:
        experiments, outcomes = evaluator.perform_experiments(scenarios=8, uncertainty_sampling_kwargs={{"rng": 3}})
    with BatchedEvaluator(model) as evaluator:
        _, batched = evaluator.perform_experiments(scenarios=8, uncertainty_sampling_kwargs={{"rng": 3}})
    for name in outcomes:
        np.testing.assert_array_equal(outcomes[name], batched[name])
    print("same outcomes", len(experiments))
"""


def test_the_multiprocessing_evaluator_runs_without_nested_pools(tmp_path: Path) -> None:
    """runs > chunk size would start a pool in each EMA worker; inside a daemonic worker it runs serially."""
    script = MULTIPROCESSING.format(declared=DECLARED, minimal=str(MINIMAL), runs=20_500, extra="")
    done = _python(script, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "same outcomes 8" in done.stdout


def test_an_error_inside_an_ema_worker_ends_the_run_instead_of_hanging(tmp_path: Path) -> None:
    extra = textwrap.dedent("""
    from ema_workbench import RealParameter
    model.uncertainties = [*model.uncertainties, RealParameter("actors__big__outside__escalation_rate", 1.5, 2.0)]
    model.paths["actors__big__outside__escalation_rate"] = "actors.big.outside.escalation_rate"
    """).strip().replace("\n", "\n    ")
    script = MULTIPROCESSING.format(declared=DECLARED, minimal=str(MINIMAL), runs=50, extra=extra)
    done = _python(script, tmp_path)
    assert done.returncode != 0
    assert "not all runs have completed. Expected 8, got 0" in done.stderr
    assert "allowed: from 0 to 1" in done.stderr  # the worker's own message, printed by EMA
