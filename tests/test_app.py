"""The what-if page's engine, adapter and figures, without a browser (see test_app_browser.py)."""

from __future__ import annotations

import socket
import sys
import threading
from pathlib import Path

import pytest
from matplotlib.figure import Figure
from pydantic import Field

import sim
from sim.app import adapter, figures
from sim.app.engine import Control, control_for, controls_for, default_controls, estimates, numeric_paths
from sim.cli import main
from sim.model.model import OUTCOMES
from sim.scenario.errors import ScenarioError
from sim.scenario.loader import load_with_provenance
from sim.scenario.schema import Scenario

KARABAKH = Path(__file__).resolve().parent.parent / "scenarios" / "nagorno_karabakh_2020.yaml"
RATE = "actors.turkey.outside.escalation_rate"


@pytest.fixture(scope="module")
def loaded():
    return load_with_provenance(KARABAKH)


@pytest.fixture(scope="module")
def refined(loaded):
    """Every estimate of one variant, refined from 1,000 to 5,000 paired runs."""
    return list(estimates(loaded, {RATE: 0.8}, seed=7, first_runs=1_000, target_runs=5_000))


def test_controls_cover_numbers_choices_and_switches_with_the_schema_bounds(loaded) -> None:
    scenario = loaded.scenario
    rate = control_for(scenario, RATE)
    # Turkey's rate is left to the shared value: the control starts from the value it runs with
    assert (rate.baseline, rate.low, rate.numeric) == (scenario.dynamics.escalation_rate, 0.0, True)
    assert rate.low <= rate.baseline <= rate.high <= 1.0
    assert rate.snap(rate.high) == rate.high        # a derived top end is on the slider's grid
    scope = control_for(scenario, "commitments.russia_armenia_pact.trigger")
    assert (scope.baseline, scope.choices) == ("recognised_territory", ("recognised_territory", "forces_anywhere",
                                                                     "defeat_likely", "rival_entry", "fighting_anywhere"))
    switch = control_for(scenario, "regional_escalation.outside_powers_fight")
    assert switch.choices == (True, False)
    leverage = control_for(scenario, "actors.russia.mediator.leverage.armenia")  # a value in a mapping by id
    assert (leverage.baseline, leverage.high) == (0.9, 1.0)  # a probability: capped at 1, not 2 x 0.9
    declared = control_for(scenario, RATE, low=0.01, high=0.08, source="judgement")
    assert (declared.low, declared.high, declared.source) == (0.01, 0.08, "judgement")


def test_a_control_snaps_to_its_grid_and_knows_when_it_has_moved() -> None:
    control = Control("x", 0.03, low=0.0, high=0.13)
    assert control.step == 0.002
    assert control.snap(0.029900000000000003) == 0.03
    assert not control.moved(0.0301)
    assert control.moved(0.032)
    assert Control("k", "a", choices=("a", "b")).moved("b")


@pytest.mark.parametrize(("path", "message"), [
    ("actors.turkey.outside.escalation_rat", "did you mean 'escalation_rate'"),
    ("actors.nobody.outside.escalation_rate", "no entry with id 'nobody'"),
    ("actors.turkey.outside", "found a section; allowed: a path to a number"),
    ("name", "found free text"),
])
def test_a_path_that_is_not_one_overridable_value_is_a_user_error(loaded, path: str, message: str) -> None:
    with pytest.raises(ScenarioError) as error:
        control_for(loaded.scenario, path)
    assert message in error.value.render()
    assert path in error.value.render()


class DeclaringScenario(Scenario):
    """The scenario schema with the ``uncertainties:`` list another change adds (entries as mappings)."""

    uncertainties: list[dict] = Field(default_factory=list)


def test_declared_uncertainties_become_the_controls_with_their_ranges_choices_and_sources(loaded) -> None:
    declared = [
        {"path": RATE, "range": [0.01, 0.08], "source": "judgement: Turkey's caution in 2020"},
        {"path": "commitments.russia_armenia_pact.trigger", "choices": ["recognised_territory", "fighting_anywhere"],
         "source": "Kremlin statement, 7 Oct 2020"},
    ]
    scenario = DeclaringScenario.model_validate({**loaded.scenario.model_dump(), "uncertainties": declared})
    controls = controls_for(scenario)
    assert [(c.path, c.low, c.high, c.choices, c.source) for c in controls] == [
        (RATE, 0.01, 0.08, None, "judgement: Turkey's caution in 2020"),
        ("commitments.russia_armenia_pact.trigger", None, None, ("recognised_territory", "fighting_anywhere"),
         "Kremlin statement, 7 Oct 2020"),
    ]
    assert controls[0].baseline == loaded.scenario.dynamics.escalation_rate
    assert "uncertainties" not in {p.split(".")[0] for p in numeric_paths(scenario)}
    wrong = DeclaringScenario.model_validate({**loaded.scenario.model_dump(),
                                              "uncertainties": [{"path": "actors.turkey.outside.rate"}]})
    with pytest.raises(ScenarioError) as error:
        controls_for(wrong)
    assert error.value.render().startswith(
        "control: actors.turkey.outside.rate: 'actors.turkey.outside' has no field 'rate'; allowed: escalation_rate")


def test_default_controls_come_from_the_scenario_itself(loaded) -> None:
    paths = numeric_paths(loaded.scenario)
    assert RATE in paths and "commitments.russia_armenia_pact.reliability" in paths
    assert not any(p.startswith(("observed", "runs", "seed")) for p in paths)
    controls = default_controls(loaded.scenario)
    assert 1 <= len(controls) <= 6
    assert controls[0].path == RATE  # escalation rates come first
    assert all(c.numeric and c.low <= c.baseline <= c.high for c in controls)


def test_estimates_refine_on_quadrupling_runs_and_are_reproducible(loaded, refined) -> None:
    assert [e.runs for e in refined] == [1_000, 4_000, 5_000]
    assert [e.finished for e in refined] == [False, False, True]
    assert refined[-1].changed == (f"{RATE}=0.8",)
    again = list(estimates(loaded, {RATE: 0.8}, seed=7, first_runs=1_000, target_runs=5_000))
    assert [e.variant for e in again] == [e.variant for e in refined]


def test_the_baseline_is_the_scenario_run_alone_and_the_difference_is_the_paired_comparison(loaded, refined) -> None:
    last = refined[-1]
    alone = sim.run_ensemble(loaded.scenario, runs=5_000, seed=7, chunk_size=1_000, workers=1, progress=False)
    assert last.baseline["p_regional_escalation"] == alone.summary["p_regional_escalation"]
    assert last.baseline["outcomes"] == alone.summary["outcomes"]
    comparison = sim.compare(loaded, first_overrides=[f"{RATE}=0.8"], runs=5_000, seed=7, chunk_size=1_000,
                             workers=1, progress=False)
    assert last.difference == comparison.difference
    assert last.variant["p_regional_escalation"] == comparison.summaries[0]["p_regional_escalation"]
    assert last.exact_common_random_numbers
    # A rate over three times the shared one raises the risk well beyond sampling error.
    assert last.difference["ci_low"] > 0.02


def test_an_override_the_scenario_rejects_is_a_user_error_and_stop_ends_the_estimates(loaded) -> None:
    with pytest.raises(ScenarioError) as error:
        next(estimates(loaded, {"commitments.russia_armenia_pact.reliability": 2}, seed=1))
    assert "commitments.russia_armenia_pact.reliability" in error.value.render()
    stop = threading.Event()
    stop.set()
    assert list(estimates(loaded, {}, seed=1, first_runs=500, target_runs=1_000, stop=stop)) == []


def test_the_adapter_reads_entries_and_a_single_run_day_by_day(loaded, refined) -> None:
    entries = adapter.entries(refined[-1].variant)
    assert set(entries) == {"turkey", "russia"}
    assert entries["turkey"]["estimate"] > entries["russia"]["estimate"]
    model = sim.EscalationModel(loaded.scenario, replications=1, rng=42)
    days = []
    while model.running:
        model.step()
        days.append(adapter.day_state(model))
    assert [d.day for d in days] == list(range(1, len(days) + 1))
    assert set(days[0].rungs) == {"azerbaijan", "armenia", "turkey", "russia"}
    assert all(d.outcome is None for d in days[:-1]) and days[-1].outcome in OUTCOMES
    assert all(0.0 <= d.front <= 1.0 for d in days)
    assert days[-1].casualties["armenia"] > 0


def test_every_figure_draws(loaded, refined) -> None:
    model = sim.EscalationModel(loaded.scenario, replications=1, rng=3)
    history = []
    for _ in range(5):
        model.step()
        history.append(adapter.day_state(model))
    drawn = [figures.outcome_figure(refined[-1]), figures.entries_figure(refined[-1]),
             figures.difference_figure(refined[-1]), figures.single_run_figure(history, 60),
             figures.single_run_figure([], 60)]
    assert all(isinstance(f, Figure) and f.axes for f in drawn)


def test_the_app_command_names_the_extra_when_solara_is_missing(monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "solara", None)  # as if the app extra were not installed
    assert main(["app", str(KARABAKH)]) == 2
    assert "pip install 'escalation-sim[app]'" in capsys.readouterr().err


def test_the_app_command_rejects_a_bad_scenario_before_serving(tmp_path, capsys) -> None:
    pytest.importorskip("solara", reason="the app extra is not installed")
    bad = tmp_path / "bad.yaml"
    bad.write_text(KARABAKH.read_text().replace("horizon_days: 60", "horizon_days: -1"))
    assert main(["app", str(bad)]) == 2
    message = capsys.readouterr().err
    assert "bad.yaml" in message and "horizon_days" in message


def test_the_app_command_rejects_a_port_in_use(capsys) -> None:
    pytest.importorskip("solara", reason="the app extra is not installed")
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        assert main(["app", str(KARABAKH), "--host", "127.0.0.1", "--port", str(port)]) == 2
    message = capsys.readouterr().err
    assert f"--port: cannot serve on 127.0.0.1:{port}" in message and "a free port" in message
