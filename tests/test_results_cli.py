"""The command line and the results folder: files, identity across workers, resume, rerun, errors."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.output.figures import FIGURES

KARABAKH = "scenarios/nagorno_karabakh_2020.yaml"
ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str) -> int:
    return main([*args])


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("runs") / "karabakh"
    assert run_cli("run", KARABAKH, "--runs", "3000", "--seed", "5", "--chunk-size", "1000", "--workers", "1",
                   "--out", str(folder), "--no-progress") == 0
    return folder


def test_run_writes_a_complete_results_folder(finished_run: Path, capsys) -> None:
    names = {p.name for p in finished_run.iterdir()}
    assert {"manifest.json", "summary.json", "runs.csv", "truces.csv", "distributions.json", "figures"} <= names
    assert not (finished_run.parent / "karabakh.partial").exists()
    figures = sorted(p.name for p in (finished_run / "figures").iterdir())
    assert figures == ["casualties.png", "escalation_over_time.png", "highest_rungs.png", "outcomes.png",
                       "truce_survival.png", "war_endings.png", "war_widening.png"]
    summary = json.loads((finished_run / "summary.json").read_text())
    assert summary["runs"] == 3000 and summary["seed"] == 5
    assert set(summary["p_regional_escalation"]) >= {"estimate", "ci_low", "ci_high"}
    assert set(summary["outcomes"]) == {"truce_holding", "war_ongoing", "decisive_victory",
                                        "regional_escalation", "outside_war", "withdrawal"}
    assert set(summary["ended_by"]) == {"ongoing", "capitulation", "withdrawal", "negotiated_halt", "imposed_halt",
                                        "unilateral_halt", "frozen"}
    assert sum(share["count"] for share in summary["ended_by"].values()) == 3000
    manifest = json.loads((finished_run / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["runs"] == 3000 and manifest["seed"] == 5
    assert manifest["scenario"]["text"] == (ROOT / KARABAKH).read_text(encoding="utf-8")
    assert len(manifest["scenario"]["sha256"]) == 64
    assert {"python", "mesa", "numpy", "escalation-sim"} <= set(manifest["versions"])
    assert manifest["wall_time_seconds"] > 0
    assert manifest["resolved_parameters"]["actors"][0]["id"] == "azerbaijan"
    runs = pd.read_csv(finished_run / "runs.csv")
    assert len(runs) == 3000 and runs["run"].tolist() == list(range(3000))
    assert runs["regional_escalation"].sum() == summary["p_regional_escalation"]["count"]


def test_summary_is_identical_with_one_or_two_workers(tmp_path: Path, finished_run: Path) -> None:
    other = tmp_path / "two"
    assert run_cli("run", KARABAKH, "--runs", "3000", "--seed", "5", "--chunk-size", "1000", "--workers", "2",
                   "--out", str(other), "--no-progress", "--no-figures") == 0
    assert (other / "summary.json").read_bytes() == (finished_run / "summary.json").read_bytes()
    assert (other / "runs.csv").read_bytes() == (finished_run / "runs.csv").read_bytes()


def test_a_run_never_overwrites_a_folder(finished_run: Path, capsys) -> None:
    assert run_cli("run", KARABAKH, "--runs", "10", "--out", str(finished_run), "--no-progress") == 2
    assert "exists already" in capsys.readouterr().err


def test_default_folder_is_under_results_by_scenario_and_time(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    scenario = str(ROOT / KARABAKH)
    assert run_cli("run", scenario, "--runs", "50", "--no-progress", "--no-figures", "--workers", "1") == 0
    assert run_cli("run", scenario, "--runs", "50", "--no-progress", "--no-figures", "--workers", "1") == 0
    folders = sorted((tmp_path / "results" / "nagorno_karabakh_2020").iterdir())
    assert len(folders) == 2 and all(f.name.endswith("Z") or "Z-" in f.name for f in folders)


def test_plot_redraws_the_figures(finished_run: Path, capsys) -> None:
    for figure in (finished_run / "figures").iterdir():
        figure.unlink()
    assert run_cli("plot", str(finished_run)) == 0
    assert len(list((finished_run / "figures").iterdir())) == len(FIGURES)


def test_plot_of_a_folder_that_is_not_a_run(tmp_path: Path, capsys) -> None:
    assert run_cli("plot", str(tmp_path)) == 2
    assert "not a complete results folder" in capsys.readouterr().err


def test_rerun_reproduces_summary_bit_for_bit(finished_run: Path, tmp_path: Path, capsys) -> None:
    assert run_cli("rerun", str(finished_run), "--out", str(tmp_path / "again"), "--no-progress") == 0
    assert "identical" in capsys.readouterr().out
    assert (tmp_path / "again" / "summary.json").read_bytes() == (finished_run / "summary.json").read_bytes()


def test_run_prints_the_summary_table(tmp_path: Path, capsys) -> None:
    assert run_cli("run", KARABAKH, "--runs", "500", "--out", str(tmp_path / "r"), "--no-progress",
                   "--no-figures", "--workers", "1") == 0
    out = capsys.readouterr().out
    for fragment in ("P(regional escalation)", "decisive victory", "Median war length", "Truces", "Results:"):
        assert fragment in out


REPORT_ROW = re.compile(r"^\s+(?P<name>[A-Za-z(][^\d\[]*?)\s+(?P<value>\d+\.\d+)% \[")


def report_rows(text: str) -> list[tuple[str, float]]:
    """(name, share) of every line of a run report that gives a share with its interval."""
    rows = []
    for line in text.splitlines():
        match = REPORT_ROW.match(line)
        if match:
            name = match["name"].strip()
            rows.append((name[2:-1] if name.startswith("P(") else name, float(match["value"])))
    return rows


def test_no_two_figures_of_the_run_report_share_a_name(finished_run: Path) -> None:
    """The headline is not an outcome row under the same name, 'ongoing' is not 'war ongoing': each
    share has a name no other share's name contains, and the report says how the headline is made up."""
    from sim.output.report import run_report

    summary = json.loads((finished_run / "summary.json").read_text())
    text = run_report(summary)
    rows = report_rows(text)
    names = [name.lower() for name, _ in rows]
    assert len(rows) >= 12 and len(set(names)) == len(names), rows
    for name in names:
        for other in names:
            assert other == name or not re.search(rf"\b{re.escape(name)}\b", other), (name, other)
    shares = dict(rows)
    made_up = re.search(r"^    = (.+?) (\d+\.\d+)% \+ (.+?) (\d+\.\d+)% ", text, flags=re.MULTILINE)
    assert made_up, text
    assert shares[made_up[1]] == float(made_up[2]) and shares[made_up[3]] == float(made_up[4])
    assert abs(float(made_up[2]) + float(made_up[4]) - shares["regional escalation"]) < 0.015
    assert "regional escalation here: an outside power newly at limited or open" in text
    assert "in combat (limited or open)" in text and "involved (deniable or more)" in text


def test_summary_json_says_what_each_figure_counts(finished_run: Path) -> None:
    summary = json.loads((finished_run / "summary.json").read_text())
    outcomes = summary["outcomes"]
    assert summary["p_regional_escalation"]["count"] == \
        outcomes["regional_escalation"]["count"] + outcomes["outside_war"]["count"]
    assert summary["definitions"]["p_regional_escalation"].endswith(
        "= outcomes.regional_escalation + outcomes.outside_war")
    assert summary["regional_escalation_definition"] in summary["definitions"]["p_regional_escalation"]
    for key in ("outcomes", "ended_by"):
        for code in summary[key]:
            assert f"{code}: " in summary["definitions"][key]


@pytest.mark.parametrize("args, fragment", [
    (["run", KARABAKH, "--runs", "0"], "allowed: 1 or more"),
    (["run", KARABAKH, "--runs", "1000000000000"], "at most"),
    (["run", KARABAKH, "--seed", "-3"], "allowed"),
    (["run", KARABAKH, "--set", "actors.turkey.outside.escalation_rate=7", "--no-progress"], "escalation_rate"),
    (["run", KARABAKH, "--set", "actors.turky.outside.escalation_rate=0.1"], "did you mean 'turkey'"),
    (["run", "missing.yaml"], "no such file"),
    (["run", KARABAKH, "--bogus"], "unrecognized arguments"),
    (["run", KARABAKH, "--max-runs", "10"], "--target-ci-width"),
    (["sweep", KARABAKH, "--param", "actors.turkey.outside.escalation_rate=0:1:0"], "empty range"),
    (["sweep", KARABAKH, "--param", "actors.turkey.outside.nothing=0:1:2", "--no-progress"], "unknown field"),
    (["compare", KARABAKH], "second scenario"),
    (["sensitivity", KARABAKH, "--param", "actors.turkey.outside.escalation_rate=a,b"], "numeric range"),
])
def test_user_errors_exit_2_with_one_message(args: list[str], fragment: str, capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        code = main(args)
        raise SystemExit(code)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err


def test_sweep_writes_its_table_and_figure(tmp_path: Path, capsys) -> None:
    out = tmp_path / "sweep"
    assert run_cli("sweep", KARABAKH, "--param", "actors.turkey.outside.escalation_rate=0:0.1:3", "--runs", "300",
                   "--out", str(out), "--no-progress", "--workers", "1") == 0
    table = pd.read_csv(out / "sweep.csv")
    assert len(table) == 3 and {"p_regional_escalation", "ci_low", "ci_high", "runs"} <= set(table.columns)
    assert (out / "figures" / "sweep_line.png").stat().st_size > 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "sweep" and len(manifest["design"]["rows"]) == 3


def test_adaptive_precision_stops_at_the_target(tmp_path: Path, capsys) -> None:
    out = tmp_path / "adaptive"
    assert run_cli("run", KARABAKH, "--target-ci-width", "0.05", "--chunk-size", "100", "--out", str(out),
                   "--no-progress", "--no-figures", "--workers", "1") == 0
    summary = json.loads((out / "summary.json").read_text())
    estimate = summary["p_regional_escalation"]
    assert estimate["ci_high"] - estimate["ci_low"] < 0.05
    assert summary["runs"] % 100 == 0
    # one block fewer would not have met the target: the run stopped at the first block that did
    fewer = tmp_path / "fewer"
    assert run_cli("run", KARABAKH, "--runs", str(summary["runs"] - 100), "--chunk-size", "100", "--out",
                   str(fewer), "--no-progress", "--no-figures", "--workers", "1") == 0
    previous = json.loads((fewer / "summary.json").read_text())["p_regional_escalation"]
    assert previous["ci_high"] - previous["ci_low"] >= 0.05


def _start(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sim", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _wait_for_chunks(folder: Path, count: int, process: subprocess.Popen, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if len(list((folder / "chunks").glob("chunk-*.npz"))) >= count:
            return
        if process.poll() is not None:
            pytest.fail(f"the run ended before it could be interrupted: {process.communicate()}")
        time.sleep(0.05)
    pytest.fail("no chunks appeared")


@pytest.mark.parametrize("how", ["kill", "interrupt"])
def test_an_interrupted_run_resumes_to_the_same_summary(tmp_path: Path, how: str) -> None:
    args = ["run", KARABAKH, "--runs", "60000", "--chunk-size", "2000", "--seed", "9", "--workers", "1",
            "--no-progress", "--no-figures"]
    folder = tmp_path / "interrupted"
    partial = tmp_path / "interrupted.partial"
    process = _start([*args, "--out", str(folder)])
    _wait_for_chunks(partial, 3, process)
    if how == "kill":
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    else:
        os.killpg(process.pid, signal.SIGINT)
        _, err = process.communicate(timeout=60)
        assert process.returncode == 130
        assert "--resume" in err and "Traceback" not in err
    saved = len(list((partial / "chunks").glob("chunk-*.npz")))
    assert 3 <= saved < 30 and not folder.exists()
    assert main(["run", "--resume", str(partial), "--no-progress", "--no-figures", "--workers", "1"]) == 0
    assert folder.exists() and not partial.exists()
    whole = tmp_path / "whole"
    assert main([*args, "--out", str(whole)]) == 0
    assert (folder / "summary.json").read_bytes() == (whole / "summary.json").read_bytes()
    assert (folder / "runs.csv").read_bytes() == (whole / "runs.csv").read_bytes()


def test_python_m_sim_is_the_command_line() -> None:
    done = subprocess.run([sys.executable, "-m", "sim", "validate", KARABAKH], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and "valid scenario" in done.stdout


def test_a_folder_that_cannot_be_created_is_a_clear_error(capsys) -> None:
    assert main(["run", KARABAKH, "--runs", "10", "--out", "/proc/escalation-test/run", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "cannot create the results folder" in err and "Traceback" not in err


def test_a_full_disk_keeps_the_finished_chunks_and_says_so(tmp_path: Path, monkeypatch, capsys) -> None:
    import errno

    import sim.output.results as results

    real_save = results.save_chunk
    saved = []

    def save_until_full(folder, result, *identity):
        if len(saved) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        saved.append(result.chunk.index)
        return real_save(folder, result, *identity)

    monkeypatch.setattr(results, "save_chunk", save_until_full)
    out = tmp_path / "full"
    assert main(["run", KARABAKH, "--runs", "2000", "--chunk-size", "500", "--out", str(out), "--workers", "1",
                 "--no-progress", "--no-figures"]) == 2
    err = capsys.readouterr().err
    assert "the disk is full" in err and "--resume" in err and "Traceback" not in err
    assert len(list((tmp_path / "full.partial" / "chunks").glob("chunk-*.npz"))) == 2
    monkeypatch.setattr(results, "save_chunk", real_save)
    assert main(["run", "--resume", str(tmp_path / "full.partial"), "--no-progress", "--no-figures",
                 "--workers", "1"]) == 0
    assert json.loads((out / "summary.json").read_text())["runs"] == 2000


def test_an_interrupted_sweep_resumes_to_the_same_table(tmp_path: Path, monkeypatch, capsys) -> None:
    import sim.output.results as results

    real_save = results.save_chunk
    calls = []

    def interrupt_after_two(folder, result, *identity):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(result.chunk.index)
        return real_save(folder, result, *identity)

    args = ["sweep", KARABAKH, "--param", "actors.turkey.outside.escalation_rate=0:0.1:3", "--runs", "900",
            "--chunk-size", "300", "--seed", "4", "--workers", "1", "--no-progress", "--no-figures"]
    monkeypatch.setattr(results, "save_chunk", interrupt_after_two)
    assert main([*args, "--out", str(tmp_path / "cut")]) == 130
    assert "--resume" in capsys.readouterr().err
    monkeypatch.setattr(results, "save_chunk", real_save)
    assert main(["sweep", "--resume", str(tmp_path / "cut.partial"), "--workers", "1", "--no-progress",
                 "--no-figures"]) == 0
    assert main([*args, "--out", str(tmp_path / "whole")]) == 0
    assert (tmp_path / "cut" / "sweep.csv").read_bytes() == (tmp_path / "whole" / "sweep.csv").read_bytes()
