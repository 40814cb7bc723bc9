"""Issue 13: damaged or foreign chunks, non-finite numbers, text drawn as text, results folders not trusted blindly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from sim.cli import main
from sim.ensemble.finite import NonFiniteOutputError, check_chunk_outputs, extreme_parameters
from sim.model.params import compile_scenarios
from sim.output.figures import FIGURES
from sim.scenario.errors import UserError
from sim.scenario.loader import load_scenario

KARABAKH = "scenarios/nagorno_karabakh_2020.yaml"
RUN = ["run", KARABAKH, "--runs", "3000", "--chunk-size", "500", "--seed", "9", "--workers", "1", "--no-progress",
       "--no-figures"]


def _interrupted(folder: Path, monkeypatch, after: int = 3) -> Path:
    """A run of RUN into ``folder`` stopped after ``after`` chunks; returns its .partial folder."""
    import sim.output.results as results

    real_save = results.save_chunk
    saved: list[int] = []

    def interrupt(partial, result, *identity):
        if len(saved) == after:
            raise KeyboardInterrupt
        saved.append(result.chunk.index)
        return real_save(partial, result, *identity)

    monkeypatch.setattr(results, "save_chunk", interrupt)
    assert main([*RUN, "--out", str(folder)]) == 130
    monkeypatch.setattr(results, "save_chunk", real_save)
    return folder.with_name(folder.name + ".partial")


@pytest.fixture(scope="module")
def whole(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("whole") / "run"
    assert main([*RUN, "--out", str(folder)]) == 0
    return folder


def _resume(partial: Path, *flags: str) -> int:
    return main(["run", "--resume", str(partial), "--no-progress", "--no-figures", "--workers", "1", *flags])


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _flip_a_bit(path: Path) -> None:
    """Flip one bit inside an array's data (past the zip and .npy headers), keeping the zip readable."""
    with np.load(path) as data:
        arrays = {name: data[name] for name in data.files}
    values = arrays["runs.control_karabakh"].copy()
    values.view(np.uint8)[3] ^= 0x10
    arrays["runs.control_karabakh"] = values
    np.savez(path, **arrays)


@pytest.mark.parametrize("damage", [_truncate, _empty, _flip_a_bit])
def test_a_damaged_chunk_is_named_and_can_be_recomputed(tmp_path: Path, monkeypatch, capsys, whole: Path,
                                                          damage) -> None:
    partial = _interrupted(tmp_path / "run", monkeypatch)
    victim = partial / "chunks" / "chunk-000001.npz"
    damage(victim)
    capsys.readouterr()
    assert _resume(partial) == 2
    err = capsys.readouterr().err
    assert "chunk-000001.npz" in err and "--recompute-damaged" in err and "Traceback" not in err
    assert _resume(partial, "--recompute-damaged") == 0
    final = tmp_path / "run"
    assert (final / "chunks").exists() is False
    assert (final / "summary.json").read_bytes() == (whole / "summary.json").read_bytes()
    assert (final / "runs.csv").read_bytes() == (whole / "runs.csv").read_bytes()


def test_a_chunk_copied_from_a_run_with_another_seed_is_refused(tmp_path: Path, monkeypatch, capsys,
                                                                  whole: Path) -> None:
    partial = _interrupted(tmp_path / "run", monkeypatch)
    import sim.output.results as results

    other = tmp_path / "other"
    other_partial = other.with_name("other.partial")
    real_save = results.save_chunk
    monkeypatch.setattr(results, "save_chunk", lambda f, r, *i: (_ for _ in ()).throw(KeyboardInterrupt)
                        if r.chunk.index > 2 else real_save(f, r, *i))
    assert main([*RUN[:7], "10", *RUN[8:], "--out", str(other)]) == 130
    monkeypatch.setattr(results, "save_chunk", real_save)
    shutil.copy(other_partial / "chunks" / "chunk-000002.npz", partial / "chunks" / "chunk-000002.npz")
    capsys.readouterr()
    assert _resume(partial) == 2
    err = capsys.readouterr().err
    assert "chunk-000002.npz" in err and "another run" in err and "seed 10, not 9" in err
    assert _resume(partial, "--recompute-damaged") == 0
    assert ((tmp_path / "run") / "summary.json").read_bytes() == (whole / "summary.json").read_bytes()


def test_a_manifest_whose_seed_was_edited_does_not_resume_silently(tmp_path: Path, monkeypatch, capsys) -> None:
    partial = _interrupted(tmp_path / "run", monkeypatch)
    manifest = json.loads((partial / "manifest.json").read_text())
    manifest["seed"] = 10
    (partial / "manifest.json").write_text(json.dumps(manifest))
    capsys.readouterr()
    assert _resume(partial) == 2  # the manifest's own SHA-256 (issue 19) refuses it first
    assert "manifest.json: the manifest was edited" in capsys.readouterr().err
    # one who also writes a matching manifest_sha256 still meets the chunks' run identity
    from sim.output.manifest_checks import DIGEST_FIELD, manifest_digest

    manifest[DIGEST_FIELD] = manifest_digest(manifest)
    (partial / "manifest.json").write_text(json.dumps(manifest))
    assert _resume(partial) == 2
    err = capsys.readouterr().err
    assert "3 chunk file(s) cannot be trusted" in err and "seed 9, not 10" in err


def test_a_stray_file_in_the_chunks_folder_is_not_a_chunk(tmp_path: Path, monkeypatch, whole: Path) -> None:
    partial = _interrupted(tmp_path / "run", monkeypatch)
    (partial / "chunks" / "chunk-copy.npz").write_bytes(b"junk")
    assert _resume(partial) == 0
    assert ((tmp_path / "run") / "summary.json").read_bytes() == (whole / "summary.json").read_bytes()


# ---- non-finite numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(("override", "field"), [
    ("dynamics.daily_casualties=1e308", "dynamics.daily_casualties"),
    ("dynamics.casualty_noise=1e308", "dynamics.casualty_noise"),
    ("actors.turkey.outside.indirect_support=1e308", "actors[turkey].outside.indirect_support"),
    ("actors.turkey.outside.intervention_power=1e308", "actors[turkey].outside.intervention_power"),
    ("actors.azerbaijan.party.strength=1e308", "actors[azerbaijan].party.strength"),
    ("dynamics.front_speed=5e-324", "dynamics.front_speed"),
    ("dynamics.front_noise=1e308", "dynamics.front_noise"),
    ("actors.armenia.party.casualty_sensitivity=1e308", "actors[armenia].party.casualty_sensitivity"),
])
def test_magnitudes_that_overflowed_are_refused_before_the_run(tmp_path: Path, capsys, override: str,
                                                               field: str) -> None:
    """Every magnitude that once overflowed inside the model is now beyond its domain bound (docs/MODEL.md
    section 9): refused with exit 2, the field and what is allowed, before anything runs."""
    out = tmp_path / "run"
    assert main(["run", KARABAKH, "--runs", "500", "--workers", "1", "--no-progress", "--set", override,
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert field in err and "allowed:" in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize(("group", "name", "value", "parameter"), [
    ("dynamics", "daily_casualties", 1e305, "dynamics.daily_casualties = 1e+305"),
    # 1e308 overflowed only in a term thrown away (a side the actor is not on), which is no longer computed.
    ("party", "strength", 1.7e308, "party[azerbaijan].strength = 1.7e+308"),
    ("dynamics", "front_speed", 5e-324, "dynamics.front_speed = 4.94066e-324"),
])
def test_the_chunk_check_stops_what_the_schema_would_refuse(group: str, name: str, value: float,
                                                             parameter: str) -> None:
    """Defence in depth: compiled parameters forced past the schema's bounds still never yield a number that
    is not finite; the chunk stops with a user error naming the output and the parameter."""
    from sim.ensemble.chunks import Chunk, simulate_chunk

    params = compile_scenarios([load_scenario(KARABAKH)])
    target = getattr(params, group)[name]
    if group == "party":
        target[params.actor_ids.index("azerbaijan")] = value
    else:
        target[...] = value
    with pytest.raises(UserError) as caught:
        simulate_chunk(params, Chunk(0, 0, 300, 1))
    assert parameter in str(caught.value)


def test_the_chunk_check_names_every_non_finite_output_and_nothing_else() -> None:
    params = compile_scenarios([load_scenario(KARABAKH)])
    fine = {"runs": {"a": np.array([1.0, 2.0]), "b": np.array([-1, 3], dtype=np.int32)}}
    check_chunk_outputs(params, fine)
    bad = {"runs": {"a": np.array([1.0, np.nan]), "b": np.array([np.iinfo(np.int64).min], dtype=np.int64),
                    "c": np.array([np.inf])}, "truces": {"d": np.zeros(0)}}
    with pytest.raises(NonFiniteOutputError) as caught:
        check_chunk_outputs(params, bad)
    message = str(caught.value)
    assert "runs.a, runs.b, runs.c" in message and "truces.d" not in message
    assert "no parameter is beyond" in message  # the shipped scenario has no extreme magnitude
    assert extreme_parameters(params) == []


def test_json_is_strict(tmp_path: Path) -> None:
    from sim.output.results import write_json

    write_json(tmp_path / "a.json", {"share": float("nan"), "values": [np.float64(1.5)]})
    assert json.loads((tmp_path / "a.json").read_text()) == {"share": None, "values": [1.5]}
    with pytest.raises(ValueError, match=r"b\.json\.x\[1\] is inf"):
        write_json(tmp_path / "b.json", {"x": [0.0, float("inf")]})


# ---- text drawn as written ------------------------------------------------------------------------


@pytest.mark.parametrize("title", [r"Cost $\frac$ war", "$$", "Cost of a $2bn arms deal, $5bn in aid", "a\\b $x^$"])
def test_titles_with_dollars_are_drawn_as_text(tmp_path: Path, title: str) -> None:
    out = tmp_path / "run"
    assert main(["run", KARABAKH, "--runs", "300", "--workers", "1", "--no-progress", "--set", f"title={title}",
                 "--out", str(out)]) == 0
    assert len(list((out / "figures").glob("*.png"))) == len(FIGURES)


def test_a_rung_named_like_mathtext_is_drawn_as_text(tmp_path: Path) -> None:
    from sim.output.figures import rung_figure

    scenario = load_scenario(KARABAKH)
    ladder = ["$x^$", *scenario.ladder[1:]]
    distributions = {"ladder": ladder, "actor_roles": {"a": "belligerent"}, "highest_rung": {"a": [1] * len(ladder)}}
    figure = rung_figure({"title": "$$", "runs": 1}, distributions)
    figure.savefig(tmp_path / "rungs.png")
    assert (tmp_path / "rungs.png").stat().st_size > 0


def test_plot_refuses_non_finite_distributions(whole: Path, tmp_path: Path, capsys) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(whole, copy)
    distributions = json.loads((copy / "distributions.json").read_text())
    distributions["casualty_edges"][3] = float("nan")
    (copy / "distributions.json").write_text(json.dumps(distributions))
    assert main(["plot", str(copy)]) == 2
    assert "distributions.json.casualty_edges[3]" in capsys.readouterr().err


# ---- results folders are checked before anything runs ----------------------------------------------


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("runs", 10**12, "runs: found 1000000000000; allowed: a whole number from 1 to 100,000,000"),
    ("seed", -1, "seed: found -1; allowed: a whole number from 0"),
    ("chunk_size", "many", "chunk_size: found 'many'; allowed: a whole number from 1 to 1,000,000"),
    ("runs", True, "runs: found True"),
    ("overrides", "x=1", "overrides: found 'x=1'; allowed: a list of PATH=VALUE texts"),
    ("scenario", None, "scenario.text: missing"),
])
def test_rerun_refuses_an_edited_manifest_before_running(whole: Path, tmp_path: Path, capsys, field: str,
                                                        value, expected: str) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(whole, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest[field] = value
    (copy / "manifest.json").write_text(json.dumps(manifest))
    assert main(["rerun", str(copy), "--no-progress", "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert expected in err and "manifest.json" in err and "Traceback" not in err
    assert not (tmp_path / "copy-rerun").exists() and not (tmp_path / "copy-rerun.partial").exists()


def test_rerun_refuses_an_edited_scenario_text(whole: Path, tmp_path: Path, capsys) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(whole, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["scenario"]["text"] = manifest["scenario"]["text"].replace("seed:", "seed: 1 #", 1)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    assert main(["rerun", str(copy), "--no-progress", "--workers", "1"]) == 2
    assert "does not match its recorded SHA-256" in capsys.readouterr().err


@pytest.mark.parametrize("content", [None, "{not json"])
def test_rerun_checks_summary_json_before_running(whole: Path, tmp_path: Path, capsys, content) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(whole, copy)
    if content is None:
        (copy / "summary.json").unlink()
    else:
        (copy / "summary.json").write_text(content)
    assert main(["rerun", str(copy), "--no-progress", "--workers", "1"]) == 2
    assert "summary.json" in capsys.readouterr().err
    assert not (tmp_path / "copy-rerun").exists() and not (tmp_path / "copy-rerun.partial").exists()


def test_an_over_long_out_name_is_refused(tmp_path: Path, capsys) -> None:
    assert main([*RUN, "--out", str(tmp_path / ("x" * 300))]) == 2
    err = capsys.readouterr().err
    assert "--out: found a folder name of 300 bytes; allowed: at most 247" in err and "Traceback" not in err


@pytest.mark.parametrize("command", [
    ["compare", KARABAKH, "--set-b", "seed=2", "--runs", "200"],
    ["sensitivity", KARABAKH, "--param", "actors.turkey.outside.escalation_rate=0:0.1", "--samples", "2",
     "--runs", "100"],
    ["backtest", "scenarios/cases", "--runs", "100"],
])
def test_analyses_check_out_before_computing(whole: Path, capsys, command: list[str], monkeypatch) -> None:
    import sim.ensemble.runner as runner

    def no_computing(*args, **kwargs):
        raise AssertionError("computed before checking --out")

    monkeypatch.setattr(runner, "stream_chunks", no_computing)
    assert main([*command, "--workers", "1", "--no-progress", "--out", str(whole)]) == 2
    assert "exists already" in capsys.readouterr().err


def test_a_busy_folder_is_reported_as_busy_not_resumable(tmp_path: Path, monkeypatch, capsys) -> None:
    from sim.output.folder_lock import writing

    partial = _interrupted(tmp_path / "run", monkeypatch)
    with writing(partial):
        capsys.readouterr()
        assert main([*RUN, "--out", str(tmp_path / "run")]) == 2
        err = capsys.readouterr().err
        assert "a run is writing this folder now (pid" in err and "--resume" not in err
        assert _resume(partial) == 2
        assert "a run is writing this folder now" in capsys.readouterr().err
    assert main([*RUN, "--out", str(tmp_path / "run")]) == 2  # free again: an unfinished run, to resume
    assert "continue it with --resume" in capsys.readouterr().err
    assert _resume(partial) == 0
    assert not (tmp_path / "run" / ".lock").exists()


# ---- unbounded work ---------------------------------------------------------------------------------


def test_a_chunk_size_that_makes_a_run_far_slower_is_refused_with_the_reason(tmp_path: Path, capsys) -> None:
    assert main(["run", KARABAKH, "--runs", "20000", "--chunk-size", "1", "--no-progress",
                 "--out", str(tmp_path / "slow")]) == 2
    err = capsys.readouterr().err
    assert "--chunk-size: found 1 for 20,000 runs: 20,000 chunks" in err and "times slower" in err
    assert "allowed: at least" in err and not (tmp_path / "slow.partial").exists()


def test_a_moderately_small_chunk_size_runs_with_a_warning(tmp_path: Path, capsys) -> None:
    assert main(["run", KARABAKH, "--runs", "2000", "--chunk-size", "100", "--no-progress", "--no-figures",
                 "--workers", "1", "--out", str(tmp_path / "small")]) == 0
    assert "times slower than the default" in capsys.readouterr().err


@pytest.mark.parametrize("edit", ["delete casualties", "ladder a number", "runs a text"])
def test_plot_refuses_edited_results_files_with_a_message(whole: Path, tmp_path: Path, capsys, edit: str) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(whole, copy)
    summary = json.loads((copy / "summary.json").read_text())
    distributions = json.loads((copy / "distributions.json").read_text())
    if edit == "delete casualties":
        del distributions["casualties"]
    elif edit == "ladder a number":
        distributions["ladder"] = 5
    else:
        summary["runs"] = "many"
    (copy / "summary.json").write_text(json.dumps(summary))
    (copy / "distributions.json").write_text(json.dumps(distributions))
    assert main(["plot", str(copy)]) == 2  # refused first by the SHA-256 the manifest records (issue 19)
    assert "was edited or damaged since the run wrote it" in capsys.readouterr().err
    # a folder from before the hashes: the files' contents are still checked as they are drawn
    manifest = json.loads((copy / "manifest.json").read_text())
    del manifest["manifest_sha256"], manifest["file_sha256"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    assert main(["plot", str(copy)]) == 2
    err = capsys.readouterr().err
    assert "not as a run writes them" in err and "Traceback" not in err
