"""Small conventions of a command-line tool: --version, progress on a terminal only, counts that agree
with their nouns, and a JSON Schema check that works on a valid scenario."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import jsonschema
import pytest
import yaml

from sim.cli import main
from sim.ensemble.progress import LineProgress, progress_bar
from sim.scenario.jsonschema import load_as_json, scenario_schema, schema_problems
from sim.scenario.words import count

ROOT = Path(__file__).resolve().parent.parent
MINIMAL = ROOT / "tests" / "scenarios" / "minimal.yaml"
KARABAKH = ROOT / "scenarios" / "nagorno_karabakh_2020.yaml"
SHIPPED = [MINIMAL, KARABAKH, ROOT / "scenarios" / "july_1914.yaml", ROOT / "scenarios" / "example_coalition.yaml",
           *sorted((ROOT / "scenarios" / "cases").glob("*.yaml"))]


def test_version_names_the_package_python_and_mesa(capsys) -> None:
    with pytest.raises(SystemExit) as ended:
        main(["--version"])
    assert ended.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"escalation-sim {metadata.version('escalation-sim')} (Python ")
    assert f"Mesa {metadata.version('mesa')})" in out


# ---- progress ------------------------------------------------------------------------------------


def test_a_log_gets_no_carriage_return_and_a_line_a_minute_at_most() -> None:
    now = [0.0]
    stream = io.StringIO()
    bar = LineProgress(total=100_000, desc="karabakh", unit="runs", file=stream, clock=lambda: now[0])
    for _ in range(100):  # 100 chunks, 10 s apart: 990 s in all
        now[0] += 10.0
        bar.update(1_000)
    bar.close()
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert len(lines) == 16  # one every 60 s of 1,000 s
    assert lines[0] == "karabakh: 6,000 of 100,000 runs (6%) after 60 s"


def test_a_short_run_writes_no_progress_to_a_log() -> None:
    stream = io.StringIO()
    bar = progress_bar(total=10, file=stream)
    assert isinstance(bar, LineProgress)  # a StringIO is not a terminal
    bar.update(10)
    bar.close()
    assert stream.getvalue() == ""
    assert [item for item in progress_bar(range(3), file=stream)] == [0, 1, 2]


def test_a_run_with_its_progress_sent_to_a_file_has_whole_lines(tmp_path: Path) -> None:
    """The real command, its standard error a file: no carriage return (tqdm's redraws) in it."""
    done = subprocess.run([sys.executable, "-m", "sim", "run", str(KARABAKH), "--runs", "30000", "--workers", "1",
                           "--no-figures", "--out", str(tmp_path / "run")], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr
    assert len(done.stderr.splitlines()) <= 1


# ---- counts ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("number, noun, expected", [
    (0, "front", "0 fronts"), (1, "front", "1 front"), (2, "front", "2 fronts"), (1_000, "run", "1,000 runs"),
    (1, "party", "1 party"), (3, "party", "3 parties"), (1.0, "day", "1 day"), (2.5, "day", "2.50 days"),
])
def test_a_count_agrees_with_its_noun(number: float, noun: str, expected: str) -> None:
    assert count(number, noun) == expected


def test_validate_says_one_front_not_one_fronts(capsys) -> None:
    assert main(["validate", str(MINIMAL)]) == 0
    out = capsys.readouterr().out
    assert "1 front, 1 commitment, 1 scheduled truce, horizon 30 days" in out
    assert "1 fronts" not in out and "1 commitments" not in out


def test_a_run_of_one_says_one_run(tmp_path: Path, capsys) -> None:
    assert main(["run", str(MINIMAL), "--runs", "1", "--no-figures", "--no-progress",
                 "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "- 1 run, seed" in out and "of 1 run;" in out and "1 runs" not in out


# ---- the JSON Schema -------------------------------------------------------------------------------


def test_plain_pyyaml_reads_dates_that_the_json_schema_refuses() -> None:
    """Why the helper exists: yaml.safe_load gives datetime.date, which no JSON string schema accepts."""
    validator = jsonschema.Draft202012Validator(scenario_schema())
    plain = list(validator.iter_errors(yaml.safe_load(KARABAKH.read_text(encoding="utf-8"))))
    assert len(plain) == 3 and all("datetime.date" in error.message for error in plain)
    assert load_as_json(KARABAKH)["start_date"] == "2020-09-27"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_scenario_satisfies_the_schema_as_loaded_by_the_helper(path: Path) -> None:
    assert schema_problems(path) == []
    jsonschema.Draft202012Validator(scenario_schema()).validate(load_as_json(path))


def test_validate_schema_reports_each_break_with_file_line_and_field(tmp_path: Path, capsys) -> None:
    assert main(["validate", str(KARABAKH), "--schema"]) == 0
    assert "satisfies the JSON Schema" in capsys.readouterr().out
    text = MINIMAL.read_text(encoding="utf-8").replace("horizon_days: 30", "horizon_days: 30\nbogus_field: 1")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    problems = schema_problems(bad)
    assert len(problems) == 1
    rendered = problems[0].render()
    line = text.splitlines().index("bogus_field: 1") + 1
    assert rendered.startswith(f"{bad}:{line}:") and "bogus_field" in rendered


# ---- the fixed cost of one call (sim.evaluate, and sim.ema's experiments through it) --------------


POINT = {"commitments.russia_armenia_pact.reliability": 0.9}


@pytest.fixture()
def simulation_replaced(monkeypatch):
    """sim.evaluate with the simulation replaced by a finished chunk: what is left is the call's own cost."""
    import sim.ensemble.executors as executors
    from sim.ensemble.chunks import plan_chunks, simulate_chunk
    from sim.model.params import compile_scenarios
    from sim.scenario.loader import load_variants, load_with_provenance

    loaded = load_with_provenance(KARABAKH)
    finished = simulate_chunk(compile_scenarios(load_variants(loaded, [POINT])), plan_chunks(1_000, 1)[0])
    monkeypatch.setattr(executors, "simulate_chunk", lambda params, chunk: finished)
    return loaded


def test_a_call_adds_under_10_ms_of_cpu_to_the_simulation(simulation_replaced) -> None:
    import statistics
    import time

    import sim

    for scenario in (simulation_replaced, simulation_replaced.scenario):
        sim.evaluate(scenario, POINT, runs=1_000, seed=1, progress=False)
        times = []
        for _ in range(20):
            started = time.process_time()
            sim.evaluate(scenario, POINT, runs=1_000, seed=1, progress=False)
            times.append(time.process_time() - started)
        assert statistics.median(times) < 0.010, (type(scenario).__name__, times)


def test_the_table_of_a_call_is_built_at_once_and_a_scenario_object_written_once(simulation_replaced,
                                                                                 monkeypatch) -> None:
    """What made a call slow: one DataFrame column inserted at a time (about 0.2 ms each, 40 columns), and a
    Scenario object written out as YAML again at every call."""
    import pandas as pd

    import sim

    inserted, written = [], []
    insert = pd.DataFrame.__setitem__
    monkeypatch.setattr(pd.DataFrame, "__setitem__", lambda self, key, value: (inserted.append(key),
                                                                                insert(self, key, value))[1])
    dump = yaml.dump
    monkeypatch.setattr(yaml, "dump", lambda *args, **kwargs: (written.append(1), dump(*args, **kwargs))[1])
    scenario = simulation_replaced.scenario.model_copy(update={"runs": 999})
    first = sim.evaluate(scenario, POINT, runs=1_000, seed=1, progress=False)
    again = sim.evaluate(scenario, POINT, runs=1_000, seed=1, progress=False)
    pd.testing.assert_frame_equal(first, again)
    assert inserted == [] and len(written) == 1
    changed = scenario.model_copy(update={"runs": 998})
    sim.evaluate(changed, POINT, runs=1_000, seed=1, progress=False)
    assert len(written) == 2  # new content, written again
