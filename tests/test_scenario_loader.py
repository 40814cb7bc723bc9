"""Scenario loading: valid files, defaults, ``--set`` overrides, and one clear message per mistake.

The corpus in tests/scenarios/bad/ holds one file per mistake; tests/scenarios/bad/expected.yaml
says, for each, the line, column, field path and message fragments that must be reported.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

import sim.output.results
from sim.cli import main
from sim.scenario import DEFAULT_LADDER, Scenario, ScenarioError, load_scenario, load_text, validate_file
from sim.scenario.errors import Problem
from sim.scenario.loader import load_with_provenance
from sim.scenario.migrate import migrate_text
from sim.scenario.schema import Dynamics
from sim.scenario.yamlsource import MAX_FILE_BYTES

ROOT = Path(__file__).resolve().parent.parent
KARABAKH = ROOT / "scenarios" / "nagorno_karabakh_2020.yaml"
MINIMAL = ROOT / "tests" / "scenarios" / "minimal.yaml"
BAD = ROOT / "tests" / "scenarios" / "bad"
EXPECTED: dict[str, list[dict[str, Any]]] = yaml.safe_load((BAD / "expected.yaml").read_text(encoding="utf-8"))
CORPUS = sorted(EXPECTED)


def _problems(path: Path | str, overrides: tuple[str, ...] = ()) -> list[Problem]:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path, list(overrides))
    return caught.value.problems


def _text_problems(text: str, overrides: tuple[str, ...] = ()) -> list[Problem]:
    with pytest.raises(ScenarioError) as caught:
        load_text(text, "t.yaml", list(overrides))
    return caught.value.problems


def _one(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, [p.render() for p in problems]
    return problems[0]


MINIMAL_TEXT = MINIMAL.read_text(encoding="utf-8")


def _minimal(old: str, new: str) -> str:
    assert old in MINIMAL_TEXT, old
    return MINIMAL_TEXT.replace(old, new, 1)


# Valid scenarios and defaults


def test_karabakh_scenario_loads() -> None:
    # Structure only: the calibrated numbers belong to the model's own tests.
    scenario = load_scenario(KARABAKH)
    assert scenario.name == "nagorno_karabakh_2020"
    assert {"azerbaijan", "armenia", "turkey", "russia"} <= {a.id for a in scenario.actors}
    assert [a.id for a in scenario.actors if a.camp is not None] == ["azerbaijan", "armenia"]
    assert all(scenario.actor(name).party is not None for name in ("azerbaijan", "armenia"))
    russia = scenario.actor("russia")
    assert russia.outside is not None and russia.mediator is not None and russia.camp is None
    assert set(russia.mediator.leverage) == {"azerbaijan", "armenia"}
    assert [f.between for f in scenario.fronts] == [["azerbaijan", "armenia"]]
    assert {(c.from_, c.to) for c in scenario.commitments} >= {("turkey", "azerbaijan"), ("russia", "armenia")}
    assert scenario.start_date == dt.date(2020, 9, 27)
    for truce in scenario.truces.scheduled:
        assert 0 <= scenario.truce_day(truce) < scenario.horizon_days
    assert scenario.observed is not None
    assert validate_file(KARABAKH) == []


def test_unset_escalation_rate_and_readiness_run_with_the_shared_dynamics_values() -> None:
    from sim.model.params import compile_scenarios

    unset = load_scenario(MINIMAL, overrides=["dynamics.readiness=0.6", "dynamics.escalation_rate=0.07"])
    params = compile_scenarios([unset])
    a = params.structure.actor_ids.index("big")
    assert unset.actor("big").outside.readiness is None
    assert params.outside["readiness"][a].item() == 0.6                 # the shared value
    assert params.outside["escalation_rate"][a].item() == 0.05          # its own value, set in the file
    own = compile_scenarios([load_scenario(MINIMAL, overrides=["actors.big.outside.readiness=0.2",
                                                               "dynamics.readiness=0.6"])])
    assert own.outside["readiness"][a].item() == 0.2                    # its own value wins
    default = compile_scenarios([load_scenario(MINIMAL)])
    assert default.outside["readiness"][a].item() == Dynamics().readiness


def test_minimal_scenario_loads_with_defaults() -> None:
    scenario = load_scenario(MINIMAL)
    red = scenario.actor("red").party
    assert (red.resolve, red.war_weariness, red.deep_strike_propensity) == (1.0, 0.0, 0.0)
    assert (red.recognised_territory, red.war_aim, red.front_shares) == (True, 1.0, None)
    big = scenario.actor("big")
    assert (big.camp, big.party, big.mediator) == (None, None, None)
    outside = big.outside
    assert (outside.indirect_support, outside.exposure, outside.incident_absorption) == (0.0, {}, 1.0)
    assert (outside.initial_form, outside.front, outside.readiness, outside.limited_share) == ("none", None, None, 0.4)
    mediator = scenario.actor("neutral").mediator
    assert (mediator.bias_toward, mediator.bias, mediator.fields) == (None, 0.0, "none")
    assert scenario.initial_state == "war"
    assert scenario.ladder == DEFAULT_LADDER
    assert scenario.dynamics == Dynamics()
    definition = scenario.regional_escalation
    assert (definition.outside_form, definition.outside_powers_fight) == ("limited", True)
    assert (definition.new_parties, definition.actor_forms) == (None, {})
    assert scenario.fronts[0].intensity == 1.0
    assert (scenario.commitments[0].from_, scenario.commitments[0].ceiling) == ("big", None)
    assert scenario.truces.brokered is True and scenario.truces.scheduled[0].design == "bare"
    assert scenario.rivalries == [] and scenario.observed is None
    assert isinstance(scenario, Scenario)


def test_default_ids_of_commitments_and_rivalries() -> None:
    text = _minimal("  - id: big_blue\n    from: big", "  - from: big")
    text += "rivalries:\n  - between: [big, big2]\n    intensity: 0.3\n"
    text = text.replace("  - id: neutral\n", "  - id: big2\n    name: Big Two\n    outside:\n"
                                              "      escalation_rate: 0.01\n  - id: neutral\n")
    text = text.replace("commitments:\n", "commitments:\n  - {from: big2, to: red, kind: arms_supply, strength: 0.5, "
                                          "reliability: 1}\n")
    scenario = load_text(text).scenario
    assert [c.id for c in scenario.commitments] == ["big2_red_arms_supply", "big_blue_defence_pact"]
    assert scenario.rivalries[0].id == "big_big2"


def test_provenance_keeps_text_and_hash() -> None:
    loaded = load_with_provenance(MINIMAL, ["seed=7"])
    assert loaded.text == MINIMAL_TEXT and len(loaded.sha256) == 64
    assert loaded.overrides == ("seed=7",) and loaded.scenario.seed == 7


def test_utf8_byte_order_mark_and_windows_line_ends_are_accepted() -> None:
    assert load_text("\ufeff" + MINIMAL_TEXT.replace("\n", "\r\n")).scenario.name == "minimal"


# --set overrides


def test_override_by_id() -> None:
    scenario = load_scenario(MINIMAL, [
        "actors.big.outside.escalation_rate=0.2",
        "commitments.big_blue.reliability=0.9",
        "truces.scheduled.first.day=5",
        "actors.neutral.mediator.leverage.red=0.25",
        "horizon_days=90",
    ])
    assert scenario.actor("big").outside.escalation_rate == 0.2
    assert scenario.commitments[0].reliability == 0.9
    assert scenario.truce_day(scenario.truces.scheduled[0]) == 5
    assert scenario.actor("neutral").mediator.leverage == {"red": 0.25, "blue": 0.5}
    assert scenario.horizon_days == 90


def test_override_does_not_depend_on_file_order() -> None:
    red = MINIMAL_TEXT[MINIMAL_TEXT.index("  - id: red\n"):MINIMAL_TEXT.index("  - id: blue\n")]
    reordered = MINIMAL_TEXT.replace(red, "").replace("  - id: neutral\n", red + "  - id: neutral\n")
    assert [a.id for a in load_text(reordered).scenario.actors] == ["blue", "big", "red", "neutral"]
    for text in (MINIMAL_TEXT, reordered):
        scenario = load_text(text, overrides=["actors.red.party.strength=2.5"]).scenario
        assert scenario.actor("red").party.strength == 2.5
        assert scenario.actor("blue").party.strength == 1.0


def test_override_sets_optional_fields_and_sections_the_file_leaves_out() -> None:
    scenario = load_scenario(MINIMAL, [
        "actors.red.party.resolve=0.5",
        "dynamics.spiral_gain=0.3",
        "regional_escalation.outside_form=indirect",
        "regional_escalation.actor_forms={big: posturing}",
        "actors.neutral.mediator.bias_toward=blue",
        "actors.big.outside.exposure={red: 0.1}",
        "commitments.big_blue.ceiling=limited",
    ])
    assert scenario.actor("red").party.resolve == 0.5
    assert scenario.dynamics.spiral_gain == 0.3 and scenario.dynamics.emboldening == Dynamics().emboldening
    assert scenario.regional_escalation.outside_form == "indirect"
    assert scenario.regional_escalation.actor_forms == {"big": "posturing"}
    assert scenario.actor("big").outside.exposure == {"red": 0.1}
    assert scenario.commitments[0].ceiling == "limited"
    assert scenario.actor("neutral").mediator.bias_toward == "blue"


@pytest.mark.parametrize("override", [
    "regional_escalation.actor_forms.big=posturing",
    "actors.big.outside.exposure.red=0.1",
    "actors.red.party.front_shares.contested=1",
])
def test_override_sets_one_key_of_a_mapping_the_file_leaves_out(override: str) -> None:
    path, value = override.split("=")
    *section, key = path.split(".")
    scenario = load_scenario(MINIMAL, [override])
    node: Any = scenario
    for part in section:
        node = scenario.actor(part) if part in {"big", "red"} else getattr(node, part)
    assert node[key] == yaml.safe_load(value)


def test_override_values_are_read_as_yaml() -> None:
    scenario = load_scenario(MINIMAL, [
        "actors.neutral.mediator.leverage={red: 0.1, blue: 0.2}",
        "fronts.contested.between=[blue, red]",
        "title=Crisis: the sequel",
        "truces.brokered=false",
        "start_date=2021-03-04",
    ])
    assert scenario.actor("neutral").mediator.leverage == {"red": 0.1, "blue": 0.2}
    assert scenario.fronts[0].between == ["blue", "red"]
    assert scenario.title == "Crisis: the sequel"
    assert scenario.truces.brokered is False
    assert scenario.start_date == dt.date(2021, 3, 4)


def test_later_override_wins() -> None:
    assert load_scenario(MINIMAL, ["seed=3", "seed=4"]).seed == 4


def test_override_fixes_an_invalid_value() -> None:
    bad = BAD / "strength_negative.yaml"
    assert _problems(bad)
    scenario = load_scenario(bad, ["actors.red.party.strength=1.5"])
    assert scenario.actor("red").party.strength == 1.5
    fixed = load_scenario(BAD / "commitment_unknown_to.yaml", ["commitments.big_blue.to=blue"])
    assert fixed.commitments[0].to == "blue"
    fixed = load_scenario(BAD / "commitment_unknown_from.yaml", ["commitments.big_blue.from=big"])
    assert fixed.commitments[0].from_ == "big"


def test_override_with_bad_value_names_the_set_origin() -> None:
    problem = _one(_problems(MINIMAL, ("actors.red.party.strength=-1",)))
    assert problem.source == "--set actors.red.party.strength=-1"
    assert problem.line is None
    assert problem.field == "actors[red].party.strength"
    assert "found -1; allowed: more than 0 and at most 100" in problem.message
    assert problem.render() == ("--set actors.red.party.strength=-1: actors[red].party.strength: "
                                "found -1; allowed: more than 0 and at most 100")


def test_override_cross_reference_mistake_names_the_set_origin() -> None:
    problem = _one(_problems(MINIMAL, ("commitments.big_blue.to=bleu",)))
    assert problem.source == "--set commitments.big_blue.to=bleu"
    assert problem.field == "commitments[big_blue].to"
    assert "no actor 'bleu'" in problem.message and "did you mean 'blue'?" in problem.message


@pytest.mark.parametrize(("override", "fragments"), [
    ("actors.bleu.party.strength=1", ["'actors' has no entry with id 'bleu'", "did you mean 'blue'?"]),
    ("dynamcs.spiral_gain=0.3", ["'the scenario' has no field 'dynamcs'", "did you mean 'dynamics'?"]),
    ("actors.red.party.strenght=2", ["unknown field 'strenght'", "did you mean 'strength'?"]),
    ("commitments.big_bleu.strength=0.5", ["'commitments' has no entry with id 'big_bleu'",
                                           "did you mean 'big_blue'?"]),
    ("fronts.contestd.control=0.5", ["'fronts' has no entry with id 'contestd'", "did you mean 'contested'?"]),
    ("commitments.big_blue.form=big", ["unknown field 'form'", "did you mean 'from'?"]),
    ("actors.big.outside.initial_form=covert", ["found 'covert'", "allowed: 'none', 'political'"]),
    ("rivalries.x.intensity=0.5", ["'rivalries' has no entry with id 'x'", "allowed: none"]),
    ("seed.value=1", ["'seed' is a single value; it has no field 'value'"]),
    ("seed", ["an override is DOTTED.PATH=VALUE"]),
    ("=3", ["an override is DOTTED.PATH=VALUE"]),
    ("seed=!!python/object/apply:os.system [echo hi]", ["found the tag !!python/object/apply:os.system"]),
    ("description=" + "[" * 1000, ["nested more than 40 levels deep"]),
])
def test_bad_override_is_explained(override: str, fragments: list[str]) -> None:
    problem = _one(_problems(MINIMAL, (override,)))
    assert problem.source is not None and problem.source.startswith("--set")
    for fragment in fragments:
        assert fragment in problem.message, problem.render()


def test_override_problems_come_with_the_files_own() -> None:
    problems = _problems(BAD / "duplicate_key.yaml", ("actors.bleu.name=x",))
    assert {p.source for p in problems} == {str(BAD / "duplicate_key.yaml"), "--set actors.bleu.name=x"}


# The corpus: one file per mistake


def test_every_corpus_file_has_an_expectation() -> None:
    files = sorted(p.name for p in BAD.glob("*.yaml") if p.name != "expected.yaml")
    assert files == CORPUS


@pytest.mark.parametrize("name", CORPUS)
def test_bad_file_is_explained(name: str) -> None:
    path = BAD / name
    problems = _problems(path)
    expected = EXPECTED[name]
    assert len(problems) == len(expected), "\n".join(p.render() for p in problems)
    for problem, want in zip(problems, expected, strict=True):
        rendered = problem.render()
        assert problem.source == str(path), rendered
        assert problem.line == want["line"], rendered
        if "column" in want:
            assert problem.column == want["column"], rendered
        if "field" in want:
            assert problem.field == want["field"], rendered
        for fragment in want["contains"]:
            assert fragment in problem.message, rendered
        assert "Traceback" not in rendered
    assert validate_file(path) == problems


def test_several_mistakes_are_all_reported_each_with_its_line() -> None:
    problems = _problems(BAD / "several_mistakes.yaml")
    assert [p.line for p in problems] == [14, 22, 44, 53]
    rendered = ScenarioError(problems).render()
    assert rendered.startswith(f"4 problems in {BAD / 'several_mistakes.yaml'}:")


def test_file_over_the_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text(MINIMAL_TEXT + "description: >\n" + ("  " + "x" * 98 + "\n") * (MAX_FILE_BYTES // 100 + 10))
    problem = _one(_problems(path))
    assert "found a file of 1,0" in problem.message and "allowed: at most 1,000,000 bytes" in problem.message
    huge_text = MINIMAL_TEXT + "#" + "x" * MAX_FILE_BYTES
    assert "allowed: at most 1,000,000 bytes" in _one(_text_problems(huge_text)).message


def test_non_utf8_bytes_written_by_the_test(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(MINIMAL_TEXT.replace("title: Minimal", "title: Sc\xe9nario").encode("latin-1"))
    problem = _one(_problems(path))
    assert (problem.line, problem.column) == (3, 10)
    assert "found byte 0xe9, which is not valid UTF-8" in problem.message
    utf16 = tmp_path / "utf16.yaml"
    utf16.write_bytes(MINIMAL_TEXT.encode("utf-16"))
    assert "looks like UTF-16" in _one(_problems(utf16)).message


def test_python_tags_construct_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "made"
    text = _minimal("seed: 1", f"seed: !!python/object/apply:os.mkdir [{str(marker)!r}]")
    text = text.replace("title: Minimal test scenario", f"title: !!python/object/apply:os.mkdir [{str(marker)!r}]")
    problems = _text_problems(text + f"x: !!python/name:os.system\ny: !!python/object/new:os.mkdir [{str(marker)!r}]\n")
    assert [p.field for p in problems] == ["title", "seed", "x", "y"]
    assert all("found the tag !!python/" in p.message for p in problems)
    assert not marker.exists()


def test_missing_file_and_folder(tmp_path: Path) -> None:
    assert _one(_problems(tmp_path / "nope.yaml")).message == "no such file"
    assert "is a folder" in _one(_problems(tmp_path)).message


@pytest.mark.parametrize(("old", "new", "line", "fragments"), [
    ("seed: 1", 'seed: "\x07"', 7, ["control character U+0007"]),
    ("seed: 1", "seed: " + "9" * 5000, 7, ["a number of 5,000 digits is too long"]),
    ("seed: 1", "seed: 1\n? [a, b]\n: 1", 8, ["found a list as a key"]),
    ("seed: 1", "seed: 1\n!!python/name:os.system : 1", 8, ["found the tag !!python/name:os.system on a key"]),
    ("seed: 1", "seed: !!set {a, b}", 7, ["found the tag !!set"]),
    ("seed: 1", "seed: *nowhere", 7, ["found the alias *nowhere", "no anchor &nowhere is defined", "allowed:"]),
    ("seed: 1", "seed: !!bool maybe", 7, ["found 'maybe', which cannot be read (not true or false)"]),
    ("seed: 1", "seed: !!timestamp soon", 7, ["found 'soon', which cannot be read (not a date)"]),
    ("seed: 1", "seed: !!int many", 7, ["found 'many', which cannot be read"]),
    ("seed: 1", "seed: " + "9" * 30, 7, ["found 9999999999", "at least 0 and less than 9,223,372,036,854,775,808"]),
    ("start_date: 2020-01-01", "start_date: 2020-01-01 10:00:00", 4, ["without a time"]),
    ("start_date: 2020-01-01", "start_date: 9999-12-20", 4, ["runs past 9999-12-31", "on or before 9999-12-02"]),
    ("      strength: 1.2", "      strength: .nan", 14, ["found nan; allowed: a finite number"]),
    ("      strength: 1.2", "      strength: " + "9" * 400, 14, ["found a number of 400 digits"]),
    ("      strength: 1.2", "      strength: 1.0e+308", 14, ["found 1e+308; allowed: more than 0 and at most 100"]),
    ("    name: Red", "    name: ''", 11, ["found ''; allowed: non-empty text"]),
    ("  - id: red", "  - id: Red", 10, ["found 'Red'; allowed: lower-case letters"]),
    ("    control: 0.4", "    control: 1.5", 39, ["found 1.5; allowed: from 0 to 1"]),
    ("    between:\n      - red\n      - blue", "    between: [red, blue, big]", 36, ["at most 2 entries"]),
    ("    strength: 0.8", "    strength: 1.5", 47, ["found 1.5; allowed: from 0 to 1"]),
    ("    from: big", "    form: big", 43, ["unknown field 'form'", "did you mean 'from'?"]),
    ("seed: 1", "seed: 1\nregional_escalation: {new_parties: 0}", 8, ["found 0; allowed: from 1 to 40"]),
])
def test_other_mistakes_in_the_minimal_scenario(old: str, new: str, line: int, fragments: list[str]) -> None:
    problems = _text_problems(_minimal(old, new))
    assert problems[0].line == line, [p.render() for p in problems]
    for fragment in fragments:
        assert fragment in problems[0].message, problems[0].render()


def test_thousands_of_mistakes_are_counted_not_all_listed() -> None:
    error = ScenarioError(_text_problems(MINIMAL_TEXT + "dynamics: {"
                                         + ", ".join(f"unknown_{n}: 1" for n in range(5000)) + "}\n"))
    assert len(error.problems) == 5000
    rendered = error.render()
    assert rendered.startswith("5,000 problems in t.yaml:")
    assert rendered.endswith("... and 4,950 more (fix these first)")
    assert rendered.count("\n") == 51


def test_actor_duplicated_under_a_partys_id_is_reported_not_crashed() -> None:
    text = _minimal("  - id: red\n", "  - id: blue\n    name: X\n    mediator: "
                                     "{attempt_rate: 0.1, leverage: {red: 0.5, blue: 0.5}}\n  - id: red\n")
    problem = _one(_text_problems(text))
    assert "duplicate actor id 'blue'" in problem.message


def test_actor_duplicated_under_a_partys_id_is_reported_first() -> None:
    text = _minimal("  - id: red\n", "  - id: blue\n    name: X\n    mediator: "
                                     "{attempt_rate: 0.1, leverage: {red: 0.5, blue: 0.5}}\n  - id: red\n")
    problems = _text_problems(text)
    assert "duplicate actor id 'blue'" in problems[0].message and problems[0].field == "actors[blue].id"


def test_invalid_camp_is_reported_alone() -> None:
    problem = _one(_text_problems(_minimal("    camp: red", "    camp: Red")))
    assert (problem.line, problem.field) == (12, "actors[red].camp")
    assert "found 'Red'; allowed: lower-case letters" in problem.message


def test_truce_far_outside_the_calendar_is_reported_not_crashed() -> None:
    text = _minimal("start_date: 2020-01-01", "start_date: 9999-12-01").replace("day: 10", "day: 100")
    messages = [p.message for p in _text_problems(text)]
    assert any("the truce falls on day 100" in m for m in messages)


# The first format and `escalation migrate`

OLD_FORMAT_TEXT = (BAD / "old_format.yaml").read_text(encoding="utf-8")


def _old(old: str, new: str) -> str:
    assert OLD_FORMAT_TEXT.count(old) == 1, old
    return OLD_FORMAT_TEXT.replace(old, new)


@pytest.mark.parametrize(("text", "reason"), [
    (OLD_FORMAT_TEXT, "a 'ties:' list"),
    (OLD_FORMAT_TEXT[:OLD_FORMAT_TEXT.index("ties:")], "an actor with 'roles:'"),
    (OLD_FORMAT_TEXT[:OLD_FORMAT_TEXT.index("ties:")].replace("    roles: [belligerent]\n", ""),
     "an actor with 'belligerent:'"),
])
def test_first_format_is_refused_with_a_pointer_to_migrate(text: str, reason: str) -> None:
    problem = _one(_text_problems(text))
    assert problem.source == "t.yaml"
    assert "this file is in the first scenario format" in problem.message and reason in problem.message
    assert "`escalation migrate FILE`" in problem.message


def test_migrate_turns_the_first_format_into_the_current_one() -> None:
    migrated = load_text(migrate_text(OLD_FORMAT_TEXT, "old.yaml"), "migrated.yaml").scenario
    assert migrated.model_dump() == load_scenario(MINIMAL).model_dump()


def test_migrate_keeps_comments_and_rescales_the_backers_power() -> None:
    text = _old("    strength: 0.8\n", "    strength: 0.8             # how much the pact binds\n")
    text = text.replace("      strength: 1.0\n", "      strength: 2.0           # twice the reference side\n")
    text = text.replace("runs: 100\n", "runs: 100                     # a quick run\n")
    text = text.replace("      escalation_rate: 0.05\n", "      escalation_rate: 0.05\n      intervention_power: 0.5\n"
                                                         "      exposure: 0.1\n")
    migrated = migrate_text(text, "old.yaml")
    for comment in ("# a file in the first scenario format", "# how much the pact binds", "# twice the reference side",
                    "# a quick run"):
        assert comment in migrated, migrated
    scenario = load_text(migrated, "migrated.yaml").scenario
    assert [(a.id, a.camp) for a in scenario.actors if a.party is not None] == [("red", "red"), ("blue", "blue")]
    assert [(f.between, f.control) for f in scenario.fronts] == [(["red", "blue"], 0.4)]
    commitment = scenario.commitments[0]
    assert (commitment.id, commitment.from_, commitment.to) == ("big_blue", "big", "blue")
    assert commitment.kind == "defence_pact"
    assert (commitment.trigger, commitment.strength, commitment.reliability) == ("fighting_anywhere", 0.8, 0.4)
    outside = scenario.actor("big").outside
    assert outside.intervention_power == 1.0  # a share 0.5 of its client's strength 2.0, now in the parties' units
    assert outside.exposure == {"red": 0.1}  # the fire of its client's opponent


@pytest.mark.parametrize(("old", "new"), [
    pytest.param("    backer: big\n", "", id="tie_without_backer"),
    pytest.param("kind: defence_pact", "kind: defense_pact", id="tie_kind_misspelt"),
    pytest.param("    kind: defence_pact\n", "    kind: defence_pact\n    scope: everywhere\n", id="tie_scope_unknown"),
    pytest.param("      strength: 1.0\n", "      strength: strong\n", id="strength_text"),
    pytest.param("ties:\n", "ties: 3\nrest:\n", id="ties_a_number"),
    pytest.param("seed: 1\n", "seed: 1\nregional_escalation: {backer_rung: high}\n", id="backer_rung_text"),
    pytest.param("      broker: neutral\n", "      broker: neutral\n  bad: [\n", id="yaml_syntax_error"),
])
def test_migrate_explains_mistakes_in_the_first_format(old: str, new: str) -> None:
    try:
        migrated = migrate_text(_old(old, new), "old.yaml")
    except ScenarioError as error:
        assert all(p.source == "old.yaml" and p.message for p in error.problems)
    else:  # left for the loader to explain
        assert _text_problems(migrated)


def test_migrate_refuses_a_file_in_the_current_format() -> None:
    with pytest.raises(ScenarioError, match="already in the current format"):
        migrate_text(MINIMAL_TEXT, "minimal.yaml")


# The command line


def test_cli_validate_valid_files(capsys: pytest.CaptureFixture[str]) -> None:
    for path in (MINIMAL, KARABAKH):
        assert main(["validate", str(path)]) == 0
        out, err = capsys.readouterr()
        assert "valid scenario" in out and err == ""


@pytest.mark.parametrize("name", CORPUS)
def test_cli_validate_bad_file(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = BAD / name
    assert main(["validate", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in err
    for want in EXPECTED[name]:
        where = f"{path}:{want['line']}:" if want["line"] is not None else f"{path}: "
        assert where in err, err
        assert want["contains"][0] in err, err
    if len(EXPECTED[name]) == 1:
        assert err.startswith("error: ") and err.count("\n") == 1, err
    else:
        assert err.startswith(f"{len(EXPECTED[name])} problems in {path}:"), err


def test_cli_validate_with_set(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(BAD / "runs_zero.yaml"), "--set", "runs=10"]) == 0
    assert main(["validate", str(MINIMAL), "--set", "runs=0"]) == 2
    _, err = capsys.readouterr()
    assert "--set runs=0: runs: found 0; allowed: from 1 to 100,000,000" in err


def test_cli_validate_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["several_mistakes.yaml", "python_object_tag.yaml", "alias_bomb.yaml"])
def test_cli_run_on_bad_file_stops_before_any_work(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_work(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the run started")

    monkeypatch.setattr(sim.output.results, "execute_run", no_work)
    out = tmp_path / "out"
    assert main(["run", str(BAD / name), "--out", str(out), "--executor", "serial", "--no-progress"]) == 2
    _, err = capsys.readouterr()
    assert str(BAD / name) in err and "Traceback" not in err
    assert not out.exists()


def test_cli_run_with_bad_override_stops_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sim.output.results, "execute_run", lambda *a, **k: pytest.fail("the run started"))
    copy = tmp_path / "minimal.yaml"
    shutil.copy(MINIMAL, copy)
    assert main(["run", str(copy), "--set", "actors.bleu.name=x", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'blue'?" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
