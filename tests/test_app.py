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


# ---- the page in the analyst's words (issue 18, item 3) -------------------------------------------------------

SHIPPED = [KARABAKH.parent / "july_1914.yaml", KARABAKH, KARABAKH.parent.parent / "benchmarks" / "twelve_actors.yaml"]


def test_the_shipped_meanings_are_docs_model_md_section_9() -> None:
    from sim.app.meanings import meanings, read_meanings

    doc = (KARABAKH.parent.parent / "docs" / "MODEL.md").read_text(encoding="utf-8")
    assert meanings() == read_meanings(doc), "run: python -m sim.app.meanings docs/MODEL.md"
    assert meanings()["actors[].party.truce_compliance"]["units"] == "p/day"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_control_is_labelled_with_whose_it_is_and_what_it_means(path: Path) -> None:
    from sim.app.meanings import describe, field_path, meanings

    scenario = load_with_provenance(path).scenario
    names = {actor.id: actor.name for actor in scenario.actors}
    data = scenario.model_dump(mode="json", by_alias=True)
    for control in controls_for(scenario):
        label = describe(scenario, control.path)
        field, _ = field_path(data, control.path)
        assert label.meaning == meanings()[field]["meaning"], control.path
        assert label.path == control.path and "." not in label.who and "_" not in label.who, label
        if control.path.startswith("actors."):
            assert label.who == names[control.path.split(".")[1]]


def test_a_label_reads_name_meaning_units_value_as_written_range_and_the_path_in_small_print(loaded) -> None:
    pytest.importorskip("solara", reason="the page's components need the app extra")
    from sim.app.components import control_heading
    from sim.app.meanings import describe

    path = "actors.azerbaijan.party.truce_compliance"
    control = control_for(loaded.scenario, path, low=0.3, high=0.8)
    html = control_heading(describe(loaded.scenario, path), control, 0.4)
    assert "<b class='escalation-control-who'>Azerbaijan</b>" in html
    assert "daily probability of not deliberately violating a truce" in html and "(p/day)" in html
    assert "now <span class='escalation-control-value'>0.4</span>" in html
    assert "as written 0.55" in html and "range 0.3 to 0.8" in html
    assert f"font-size: 0.8em; color: #666; font-family: monospace'>{path}</div>" in html
    leverage = describe(loaded.scenario, "actors.russia.mediator.leverage.armenia")
    assert leverage.who.startswith("Russia, towards Armenia")
    pact = describe(loaded.scenario, "commitments.turkey_azerbaijan_pact.reliability")
    assert pact.who == "Turkey → Azerbaijan (defence pact)"


def _widgets(widget):
    yield widget
    for child in getattr(widget, "children", None) or []:
        if not isinstance(child, str):
            yield from _widgets(child)


def test_the_controls_panel_renders_the_labels(loaded) -> None:
    solara = pytest.importorskip("solara", reason="the app extra is not installed")
    from sim.app.components import ControlsPanel

    controls = controls_for(loaded.scenario)

    @solara.component
    def Panel():  # noqa: N802 - Solara components are named like classes
        ControlsPanel(loaded, solara.use_reactive(controls), solara.use_reactive({}))

    box, _ = solara.render(Panel(), handle_error=False)
    html = " ".join(getattr(w, "unsafe_innerHTML", "") or "" for w in _widgets(box))
    assert html.count("class='escalation-control-who'") == len(controls)
    assert "<b class='escalation-control-who'>Azerbaijan</b>" in html
    assert all(f"monospace'>{c.path}</div>" in html for c in controls)


def test_the_single_run_line_never_says_fighting_once_the_run_has_ended(loaded) -> None:
    pytest.importorskip("solara", reason="the page's components need the app extra")
    from sim.app.components import day_status

    seen_end = False
    for seed in range(8):
        model = sim.EscalationModel(loaded.scenario, replications=1, rng=seed)
        while model.running:
            model.step()
            state = adapter.day_state(model)
            line = day_status(state, 60, "nobody", "")
            if state.outcome:
                seen_end = True
                assert "fighting" not in line and "truce in force" not in line
                assert f"ended with {state.outcome.replace('_', ' ')}" in line
            else:
                assert "ended" not in line
    assert seen_end


def test_the_results_download_holds_the_figures_the_page_shows(refined) -> None:
    import io

    import pandas as pd

    from sim.app.export import RESULT_COLUMNS, results_csv

    last = refined[-1]
    table = pd.read_csv(io.StringIO(results_csv(last, seed=7)))
    assert tuple(table.columns) == RESULT_COLUMNS
    variant = table[table["variant"] == "with your changes"].set_index("quantity")
    baseline = table[table["variant"] == "as written"].set_index("quantity")
    assert variant.loc["p_regional_escalation", "estimate"] == last.variant["p_regional_escalation"]["estimate"]
    assert baseline.loc["p_regional_escalation", "ci_high"] == last.baseline["p_regional_escalation"]["ci_high"]
    assert variant.loc["in_combat_turkey", "estimate"] == last.variant["in_combat"]["turkey"]["estimate"]
    assert {f"outcome_{name}" for name in OUTCOMES} <= set(variant.index)
    assert (table["runs"] == 5_000).all() and (table["seed"] == 7).all()
    assert set(variant["changes"]) == {f"{RATE}=0.8"} and baseline["changes"].isna().all()


def test_the_variant_saved_as_a_scenario_loads_and_runs_as_the_variant(loaded, tmp_path) -> None:
    from sim.app.export import variant_yaml
    from sim.scenario.loader import load_scenario

    changes = {RATE: 0.13, "actors.azerbaijan.party.truce_compliance": 0.3,
               "commitments.russia_armenia_pact.trigger": "fighting_anywhere"}
    saved = tmp_path / "variant.yaml"
    saved.write_text(variant_yaml(loaded, changes), encoding="utf-8")
    text = saved.read_text(encoding="utf-8")
    assert text.startswith("# A variant of ") and f"#   {RATE}=0.13" in text
    assert "# The 2020 Nagorno-Karabakh war" in text   # the scenario's own comments are kept
    scenario = load_scenario(saved)
    turkey = next(a for a in scenario.actors if a.id == "turkey")
    azerbaijan = next(a for a in scenario.actors if a.id == "azerbaijan")
    pact = next(c for c in scenario.commitments if c.id == "russia_armenia_pact")
    assert (turkey.outside.escalation_rate, azerbaijan.party.truce_compliance, pact.trigger) == \
        (0.13, 0.3, "fighting_anywhere")
    # the saved file runs exactly as the variant the page estimated
    [variant] = sim.scenario.loader.load_variants(loaded, [[f"{p}={v}" for p, v in changes.items()]])
    assert scenario.model_dump() == variant.model_dump()
    out = tmp_path / "run"
    assert main(["run", str(saved), "--runs", "200", "--out", str(out), "--workers", "1", "--no-progress",
                 "--no-figures"]) == 0
    assert (out / "summary.json").exists()


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_the_page_figures_read_at_a_glance(path: Path) -> None:
    from tests.figure_layout import layout_problems

    shipped = load_with_provenance(path)
    estimate = next(estimates(shipped, {"dynamics.escalation_rate": 0.1}, seed=7, first_runs=300, target_runs=300))
    model = sim.EscalationModel(shipped.scenario, replications=1, rng=3)
    history = []
    while model.running:
        model.step()
        history.append(adapter.day_state(model))
    for figure in (figures.outcome_figure(estimate), figures.entries_figure(estimate),
                   figures.difference_figure(estimate), figures.single_run_figure(history, shipped.scenario.horizon_days),
                   figures.single_run_figure([], 60)):
        assert layout_problems(figure) == []


def test_the_page_can_draw_the_shared_dynamics_from_the_posterior(loaded) -> None:
    """With the posterior, each estimate pools both variants over the draws (paired at every draw), and carries
    the draws' spread; the baseline's pooled risk is exactly ``run --posterior``'s with the same chunks."""
    from sim.analysis.smc_calibration import read_posterior
    from sim.app.engine import calibration_text
    from sim.ensemble.runner import run_ensemble

    posterior = read_posterior().iloc[:4]
    *_, last = estimates(loaded, {RATE: 0.8}, seed=7, first_runs=400, target_runs=800, dynamics=posterior)
    assert last.runs == 800 and last.finished
    assert last.calibration is not None and last.calibration[0]["points"] == 4
    assert last.difference["runs"] == 800
    assert calibration_text(last).startswith("calibration: ")
    pooled = run_ensemble(loaded.scenario, runs=800, seed=7, chunk_size=100, workers=1, progress=False,
                          dynamics=posterior)
    assert last.baseline["p_regional_escalation"] == pooled.summary["p_regional_escalation"]
    # without the posterior nothing changes: no calibration
    assert next(estimates(loaded, {RATE: 0.8}, seed=7, first_runs=400, target_runs=400)).calibration is None
