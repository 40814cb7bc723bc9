"""Declared uncertainties, the list of overridable parameters, the JSON Schema, and overrides without YAML."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import jsonschema
import mesa
import pytest
import yaml

import sim
from sim.analysis.sensitivity import sensitivity
from sim.analysis.sweep import as_loaded, evaluate, sweep
from sim.cli import main
from sim.scenario.errors import ScenarioError, UserError
from sim.scenario.jsonschema import SCHEMA_FILE, scenario_schema, schema_text
from sim.scenario.loader import from_scenario, load_text, load_variants, load_with_provenance
from sim.scenario.uncertainties import overridable_parameters

ROOT = Path(__file__).resolve().parent.parent
MINIMAL = ROOT / "tests" / "scenarios" / "minimal.yaml"
KARABAKH = ROOT / "scenarios" / "nagorno_karabakh_2020.yaml"

DECLARED = """
uncertainties:
  - path: commitments.big_blue.reliability
    range: [0.1, 0.7]
    source: defence pacts honoured 22-41% (Berkemeier & Fuhrmann 2018), widened
  - path: actors.big.outside.escalation_rate
    range: [0.01, 0.2]
    source: judgement
  - path: commitments.big_blue.trigger
    choices: [recognised_territory, fighting_anywhere]
    source: the pact's reading was disputed
"""


def minimal_text(extra: str = DECLARED) -> str:
    return MINIMAL.read_text(encoding="utf-8") + extra


def problems_of(text: str) -> str:
    with pytest.raises(ScenarioError) as caught:
        load_text(text, "case.yaml")
    return caught.value.render()


def line_of(text: str, fragment: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if fragment in line)


# ---- declaring and checking ------------------------------------------------------------------

def test_declared_uncertainties_load_with_their_sources() -> None:
    scenario = load_text(minimal_text()).scenario
    assert [u.path for u in scenario.uncertainties] == [
        "commitments.big_blue.reliability", "actors.big.outside.escalation_rate", "commitments.big_blue.trigger"]
    assert scenario.uncertainties[0].range == [0.1, 0.7]
    assert scenario.uncertainties[2].choices == ["recognised_territory", "fighting_anywhere"]
    assert scenario.uncertainties[0].spec() == "commitments.big_blue.reliability=0.1:0.7"
    assert scenario.uncertainties[2].spec() == "commitments.big_blue.trigger=recognised_territory,fighting_anywhere"
    assert scenario.uncertainties[1].name == "actors__big__outside__escalation_rate"


@pytest.mark.parametrize(("entry", "anchor", "fragment"), [
    ("  - path: actors.big.outside.escalaton_rate\n    range: [0, 0.1]\n    source: s\n",
     "escalaton_rate", "uncertainties[0].path: 'actors.big.outside' has no field 'escalaton_rate'; allowed: "
                       "escalation_rate"),
    ("  - path: commitments.big_red.reliability\n    range: [0, 0.1]\n    source: s\n",
     "big_red", "'commitments' has no entry with id 'big_red'; allowed: big_blue"),
    ("  - path: commitments.big_blue.reliability\n    range: [0.2, 1.5]\n    source: s\n",
     "[0.2, 1.5]", "uncertainties[0].range: found [0.2, 1.5]: the high end 1.5 is outside what "
                   "'commitments.big_blue.reliability' allows; allowed: a number from 0 to 1"),
    ("  - path: actors.red.party.strength\n    range: [0, 2]\n    source: s\n",
     "[0, 2]", "the low end 0 is outside what 'actors.red.party.strength' allows; allowed: a number "
               "more than 0"),
    ("  - path: actors.neutral.mediator.leverage.red\n    range: [0.5, 1.1]\n    source: s\n",
     "[0.5, 1.1]", "allowed: a number from 0 to 1"),
    ("  - path: horizon_days\n    range: [20, 40.5]\n    source: s\n",
     "[20, 40.5]", "found [20, 40.5]; 'horizon_days' takes whole numbers"),
    ("  - path: commitments.big_blue.trigger\n    choices: [fighting_anywhere, everywhere]\n    source: s\n",
     "everywhere", "found 'everywhere' among the choices; 'commitments.big_blue.trigger' allows "
                   "'recognised_territory', 'forces_anywhere', 'defeat_likely', 'rival_entry' or 'fighting_anywhere'"),
    ("  - path: commitments.big_blue.trigger\n    range: [0, 1]\n    source: s\n",
     "range: [0, 1]", "'commitments.big_blue.trigger' is not a number ('recognised_territory', 'forces_anywhere', 'defeat_likely', 'rival_entry' or 'fighting_anywhere'); a range is "
                      "for numbers"),
    ("  - path: commitments.big_blue.strength\n    range: [0.6, 0.2]\n    source: s\n",
     "path: commitments.big_blue.strength", "range [0.6, 0.2] must be [low, high] with low below high"),
    ("  - path: commitments.big_blue.strength\n    range: [0.2, 0.6]\n    choices: [0.2, 0.3]\n    source: s\n",
     "path: commitments.big_blue.strength", "give either range: [low, high] or choices"),
    ("  - path: commitments.big_blue.strength\n    range: [0.2, 0.6]\n",
     "path: commitments.big_blue.strength", "the required field 'source' is missing"),
    ("  - path: commitments.big_blue.strength\n    range: [0.2, 0.6]\n    source: s\n"
     "  - path:  commitments.big_blue.strength\n    range: [0.1, 0.6]\n    source: t\n",
     "path:  commitments", "'commitments.big_blue.strength' is declared twice (first as uncertainties[0])"),
])
def test_bad_uncertainties_are_reported_at_their_line(entry: str, anchor: str, fragment: str) -> None:
    text = minimal_text("\nuncertainties:\n" + entry)
    message = problems_of(text)
    assert fragment in message
    assert f"case.yaml:{line_of(text, anchor)}:" in message


def test_every_bad_uncertainty_is_reported_at_once() -> None:
    text = minimal_text("\nuncertainties:\n"
                        "  - path: commitments.big_blue.reliability\n    range: [0.2, 1.5]\n    source: s\n"
                        "  - path: commitments.big_blue.trigger\n    choices: [fighting_anywhere, everywhere]\n    source: s\n")
    message = problems_of(text)
    assert message.startswith("2 problems in case.yaml:")


def test_the_command_line_reports_a_bad_uncertainty_with_exit_2(tmp_path: Path, capsys) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(minimal_text("\nuncertainties:\n  - path: commitments.big_blue.reliability\n    range: [0.2, 1.5]\n"
                                 "    source: s\n"), encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and f"{path}:" in error and "uncertainties[0].range" in error


def test_a_range_that_leaves_out_the_scenarios_own_value_is_a_warning_at_its_line(tmp_path: Path, capsys) -> None:
    """The tie's reliability is written 0.4 and the outside power's pace of entry is left to the shared value;
    ranges that leave them out are noted (file, line, field, value), and the command goes on: exit 0, not 2."""
    from sim.scenario.schema import Dynamics

    shared = Dynamics().escalation_rate
    text = minimal_text("\nuncertainties:\n  - path: commitments.big_blue.reliability\n    range: [0.5, 0.9]\n"
                        "    source: s\n  - path: actors.big.outside.escalation_rate\n"
                        f"    range: [{shared * 2:g}, {shared * 3:g}]\n    source: s\n"
                        "  - path: commitments.big_blue.strength\n    range: [0.1, 1.0]\n    source: s\n")
    text = text.replace("      escalation_rate: 0.05\n", "      indirect_support: 0.0\n")
    path = tmp_path / "ranges.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["validate", str(path)]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("note: warning:")]
    assert len(notes) == 2, notes
    assert f"{path}:{line_of(text, 'range: [0.5, 0.9]')}:" in notes[0] and "uncertainties[0].range" in notes[0]
    assert "leaves out" in notes[0] and "0.4" in notes[0]
    assert f"{shared:g}" in notes[1] and "uncertainties[1].range" in notes[1]


def test_the_proposed_karabakh_uncertainties_are_valid() -> None:
    """tests/scenarios/karabakh_uncertainties.yaml: the ranges proposed for the shipped scenario."""
    text = KARABAKH.read_text(encoding="utf-8")
    if "\nuncertainties:" in text:
        pytest.skip("the shipped scenario declares its own uncertainties")
    proposed = (ROOT / "tests" / "scenarios" / "karabakh_uncertainties.yaml").read_text(encoding="utf-8")
    scenario = load_text(text + "\n" + proposed, str(KARABAKH)).scenario
    assert len(scenario.uncertainties) >= 10 and all(u.range for u in scenario.uncertainties)


# ---- used by default ----------------------------------------------------------------------------

def test_sweep_without_parameters_samples_the_declared_uncertainties() -> None:
    loaded = load_text(minimal_text())
    table = sweep(loaded, runs=50, samples=16, workers=1, progress=False)
    assert len(table) == 16
    assert table["commitments.big_blue.reliability"].between(0.1, 0.7).all()
    assert table["actors.big.outside.escalation_rate"].between(0.01, 0.2).all()
    assert set(table["commitments.big_blue.trigger"]) == {"recognised_territory", "fighting_anywhere"}
    # a Latin hypercube: one point in each sixteenth of every range
    strata = ((table["commitments.big_blue.reliability"] - 0.1) / 0.6 * 16).astype(int).clip(0, 15)
    assert sorted(strata) == list(range(16))


def test_sweep_grid_of_declared_uncertainties_takes_five_levels_each() -> None:
    table = sweep(load_text(minimal_text()), runs=20, design="grid", workers=1, progress=False)
    assert len(table) == 5 * 5 * 2
    assert sorted(set(table["commitments.big_blue.reliability"])) == pytest.approx([0.1, 0.25, 0.4, 0.55, 0.7])


def test_a_whole_number_uncertainty_is_sampled_as_whole_numbers() -> None:
    text = minimal_text("\nuncertainties:\n  - path: horizon_days\n    range: [20, 40]\n    source: s\n")
    table = sweep(load_text(text), runs=20, samples=42, workers=1, progress=False)
    # a Latin hypercube of 42 points over the 21 whole numbers 20..40: each twice
    assert table["horizon_days"].value_counts().to_dict() == dict.fromkeys(range(20, 41), 2)


def test_sensitivity_without_parameters_uses_the_declared_numeric_ranges() -> None:
    result = sensitivity(load_text(minimal_text()), method="morris", samples=4, runs=50, workers=1, progress=False)
    assert set(result.indices["parameter"]) == {"commitments.big_blue.reliability", "actors.big.outside.escalation_rate"}


def test_nothing_declared_and_nothing_given_is_a_user_error() -> None:
    with pytest.raises(UserError, match="declares no uncertainties; give at least one entry in parameters"):
        sweep(MINIMAL, runs=10, progress=False)
    assert main(["sweep", str(MINIMAL), "--runs", "10", "--no-progress"]) == 2


RATE = "actors.big.outside.escalation_rate"


@pytest.mark.parametrize("call, named", [
    (lambda: sim.evaluate(MINIMAL, {RATE: 1.5}, runs=10, progress=False), f"overrides {RATE}=1.5: "),
    (lambda: sim.sweep(MINIMAL, [f"{RATE}=0:1.5:3"], runs=10, progress=False), f"parameters {RATE}=1.5: "),
    (lambda: sim.sweep(MINIMAL, [f"{RATE}=0:0.1:0"], runs=10, progress=False), f"parameters {RATE}=0:0.1:0: "),
    (lambda: sim.sweep(MINIMAL, [f"{RATE}=0:0.1"], design="lhs", runs=10, progress=False),
     "design='lhs': a Latin hypercube needs samples=K"),
    (lambda: sim.sensitivity(MINIMAL, [f"{RATE}=a,b"], runs=10, progress=False), f"parameters {RATE}=a,b: "),
    (lambda: sim.compare(MINIMAL, first_overrides=[f"{RATE}=2"], runs=10, progress=False),
     f"first_overrides {RATE}=2: "),
    (lambda: sim.compare(MINIMAL, second_overrides=[f"{RATE}=2"], runs=10, progress=False),
     f"second_overrides {RATE}=2: "),
])
def test_errors_through_the_python_api_name_the_api_argument(call, named: str) -> None:
    """A mistake given to a Python function is named by that function's argument, never a command-line flag."""
    with pytest.raises(UserError) as raised:
        call()
    message = str(raised.value)
    assert named in message and "--" not in message, message


def test_the_command_line_still_names_its_flags(capsys) -> None:
    assert main(["sweep", str(MINIMAL), "--param", f"{RATE}=0:1.5:3", "--runs", "10", "--no-progress"]) == 2
    assert f"--param {RATE}=1.5: " in capsys.readouterr().err
    assert main(["sensitivity", str(MINIMAL), "--param", f"{RATE}=a,b", "--runs", "10", "--no-progress"]) == 2
    assert f"--param {RATE}=a,b: " in capsys.readouterr().err
    assert main(["compare", str(MINIMAL), "--set-a", f"{RATE}=2", "--runs", "10", "--no-progress"]) == 2
    assert f"--set-a {RATE}=2: " in capsys.readouterr().err


def test_the_sweep_command_uses_the_declared_uncertainties(tmp_path: Path, capsys) -> None:
    path = tmp_path / "declared.yaml"
    path.write_text(minimal_text(), encoding="utf-8")
    out = tmp_path / "sweep"
    assert main(["sweep", str(path), "--samples", "8", "--runs", "20", "--out", str(out), "--workers", "1",
                 "--no-progress", "--no-figures"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["design"]["kind"] == "lhs" and len(manifest["design"]["rows"]) == 8
    assert manifest["design"]["columns"] == ["commitments.big_blue.reliability", "actors.big.outside.escalation_rate",
                                             "commitments.big_blue.trigger"]


# ---- escalation params -------------------------------------------------------------------------------

def test_params_shows_an_unset_shared_field_at_the_value_it_runs_with() -> None:
    from sim.scenario.uncertainties import parameter_rows

    scenario = load_text(minimal_text(), overrides=["dynamics.readiness=0.375"]).scenario
    rows = {row["path"]: row for row in parameter_rows(scenario)}
    assert rows["actors.big.outside.readiness"]["value"] == "0.375 (dynamics)"
    assert rows["actors.big.outside.escalation_rate"]["value"] == "0.05"      # set in the file


def test_params_lists_every_overridable_path_with_value_bounds_and_meaning() -> None:
    scenario = load_text(minimal_text()).scenario
    infos = {info.path: info for info in overridable_parameters(scenario)}
    rate = infos["actors.big.outside.escalation_rate"]
    assert rate.value == 0.05 and rate.allowed == "a number from 0 to 1"
    assert rate.description.startswith("daily probability of climbing when a commitment")
    assert rate.declared is not None and rate.declared.range == [0.01, 0.2]
    assert infos["actors.neutral.mediator.leverage.red"].allowed == "a number from 0 to 1"
    assert infos["commitments.big_blue.trigger"].allowed == "'recognised_territory', 'forces_anywhere', 'defeat_likely', 'rival_entry' or 'fighting_anywhere'"
    assert infos["horizon_days"].allowed == "a whole number from 1 to 3,650"
    from sim.scenario.schema import Dynamics

    assert infos["dynamics.spiral_gain"].value == Dynamics.model_fields["spiral_gain"].default == 1.003  # a default
    assert "actors.big.mediator.attempt_rate" not in infos  # no such section
    assert not any(path.startswith("uncertainties") or path.endswith(".id") for path in infos)
    # every listed path is one that --set accepts
    loaded = load_with_provenance(MINIMAL)
    numeric = [info for info in infos.values() if isinstance(info.value, float)]
    variants = load_variants(loaded, [{info.path: info.value} for info in numeric])
    assert all(variant == loaded.scenario for variant in variants)


def test_the_params_command_prints_a_table_and_json(tmp_path: Path, capsys) -> None:
    path = tmp_path / "declared.yaml"
    path.write_text(minimal_text(), encoding="utf-8")
    assert main(["params", str(path)]) == 0
    out = capsys.readouterr().out
    line = next(row for row in out.splitlines() if row.startswith("commitments.big_blue.reliability "))
    assert "0.4" in line and "a number from 0 to 1" in line and "[0.1, 0.7]" in line
    assert "(3 with a declared uncertainty)" in out
    assert main(["params", str(path), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"path": "commitments.big_blue.trigger", "value": "fighting_anywhere", "allowed": "'recognised_territory', 'forces_anywhere', 'defeat_likely', 'rival_entry' or 'fighting_anywhere'",
            "uncertainty": "{recognised_territory, fighting_anywhere}", "description": rows[[r["path"] for r in rows].index(
                "commitments.big_blue.trigger")]["description"]} in rows
    assert main(["params", str(tmp_path / "missing.yaml")]) == 2


# ---- JSON Schema ----------------------------------------------------------------------------------

def test_the_shipped_schema_is_up_to_date() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), \
        "run `python scripts/generate_schema.py` after changing the schema"


def test_the_schema_command_prints_the_shipped_schema(capsys) -> None:
    assert main(["schema"]) == 0
    assert capsys.readouterr().out == SCHEMA_FILE.read_text(encoding="utf-8")


def _as_json(path: Path, extra: str = "") -> object:
    data = yaml.safe_load(path.read_text(encoding="utf-8") + extra)
    return json.loads(json.dumps(data, default=str))  # dates as YYYY-MM-DD text, as an editor sees them


@pytest.mark.parametrize("path", [MINIMAL, KARABAKH, *sorted((ROOT / "scenarios" / "cases").glob("*.yaml"))],
                         ids=lambda p: p.name)
def test_shipped_scenarios_satisfy_the_json_schema(path: Path) -> None:
    jsonschema.Draft202012Validator(scenario_schema()).validate(_as_json(path))


def test_the_json_schema_rejects_what_the_loader_rejects() -> None:
    validator = jsonschema.Draft202012Validator(scenario_schema())
    data = _as_json(MINIMAL, DECLARED)
    validator.validate(data)
    data["actors"][2]["outside"]["escalaton_rate"] = 0.1
    data["commitments"][0]["reliability"] = 1.5
    data["uncertainties"][0]["range"] = [0.1]
    messages = sorted(error.message for error in validator.iter_errors(data))
    assert len(messages) == 3
    assert any("escalaton_rate" in m for m in messages) and any("1.5" in m for m in messages)


# ---- overrides as typed values; Scenario objects without YAML ------------------------------------

def test_typed_overrides_give_the_same_scenarios_and_messages_as_text() -> None:
    loaded = load_with_provenance(MINIMAL)
    as_text = load_variants(loaded, [["actors.big.outside.escalation_rate=0.125", "commitments.big_blue.trigger=fighting_anywhere"]])
    as_values = load_variants(loaded, [{"actors.big.outside.escalation_rate": 0.125, "commitments.big_blue.trigger": "fighting_anywhere"}])
    assert as_text == as_values
    messages = []
    for variant in (["actors.big.outside.escalation_rate=1.5"], {"actors.big.outside.escalation_rate": 1.5},
                    ["actors.big.outside.escalaton_rate=0.5"], {"actors.big.outside.escalaton_rate": 0.5}):
        with pytest.raises(ScenarioError) as caught:
            load_variants(loaded, [variant])
        messages.append(caught.value.render())
    assert messages[0] == messages[1] == ("--param actors.big.outside.escalation_rate=1.5: "
                                          "actors[big].outside.escalation_rate: found 1.5; allowed: from 0 to 1")
    assert messages[2] == messages[3] and "did you mean 'escalation_rate'" in messages[2]


def test_a_scenario_object_evaluates_exactly_like_its_file() -> None:
    loaded = load_with_provenance(KARABAKH)
    point = {"commitments.russia_armenia_pact.reliability": 0.9, "commitments.russia_armenia_pact.trigger": "fighting_anywhere"}
    from_file = evaluate(KARABAKH, point, runs=400, seed=3, progress=False)
    from_object = evaluate(loaded.scenario, point, runs=400, seed=3, progress=False)
    from_loaded = evaluate(loaded, point, runs=400, seed=3, progress=False)
    assert from_file.equals(from_object) and from_file.equals(from_loaded)
    copy = from_scenario(loaded.scenario)
    assert copy.document is not None and yaml.safe_load(copy.text)["name"] == loaded.scenario.name
    assert as_loaded(loaded.scenario).scenario == loaded.scenario


def test_one_point_of_a_small_evaluation_runs_in_this_process(monkeypatch) -> None:
    """A single chunk needs no pool: the default executor runs it here (the fixed cost of a call)."""
    from sim.ensemble import executors

    def no_pool(*args, **kwargs):
        raise AssertionError("a process pool was started for a single chunk")

    monkeypatch.setattr(executors, "ProcessExecutor", no_pool)
    table = evaluate(MINIMAL, {"actors.big.outside.escalation_rate": 0.2}, runs=300, seed=1, progress=False)
    assert int(table["runs"].iloc[0]) == 300


# ---- Mesa conventions ------------------------------------------------------------------------------

def test_batch_run_rows_name_the_scenario() -> None:
    scenario = sim.load_scenario(MINIMAL)
    runs = {"rng": [1, 2]} if _batch_run_takes_rng() else {"iterations": 2}  # Mesa 3.5 deprecates iterations
    rows = mesa.batch_run(sim.EscalationModel, parameters={"scenario": [scenario], "replications": 1}, **runs,
                          max_steps=scenario.horizon_days, number_processes=1, display_progress=False)
    assert len(rows) == 2
    assert repr(rows[0]["scenario"]) == str(rows[0]["scenario"]) == "Scenario(name='minimal')"


def _batch_run_takes_rng() -> bool:
    return "rng" in inspect.signature(mesa.batch_run).parameters


def test_batch_run_with_rng_seeds_each_run_as_the_readme_shows() -> None:
    if not _batch_run_takes_rng():
        pytest.skip(f"mesa.batch_run takes rng= from Mesa 3.5 (this is Mesa {mesa.__version__})")
    scenario = sim.load_scenario(MINIMAL)

    def rows() -> list[dict]:
        return mesa.batch_run(sim.EscalationModel, parameters={"scenario": [scenario], "replications": 1},
                              rng=[1, 2, 3], max_steps=scenario.horizon_days, number_processes=1,
                              display_progress=False)

    first, again = rows(), rows()
    assert [row["rng"] for row in first] == [1, 2, 3]
    assert [row["scenario"] for row in first] == [scenario] * 3
    assert str(first[0]["scenario"]) == "Scenario(name='minimal')"
    assert [row["casualties_red"] for row in first] == [row["casualties_red"] for row in again]
    assert len({row["casualties_red"] for row in first}) > 1
