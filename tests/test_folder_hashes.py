"""Issue 19, item 2: every file of a results folder that rerun, plot or --resume reads again is verified.

``manifest.json`` carries its own SHA-256 (``manifest_sha256``) and the SHA-256 of each data file
(``file_sha256``). Each test edits one file by hand, as a user might, and checks that the command
that reads it again refuses with exit status 2 and a message naming the file and what to do.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sim.cli import main
from sim.output.manifest_checks import DIGEST_FIELD, FILES_FIELD, file_sha256, manifest_digest

KARABAKH = "scenarios/nagorno_karabakh_2020.yaml"
RUN = ["run", KARABAKH, "--runs", "2000", "--chunk-size", "500", "--seed", "3", "--workers", "1", "--no-progress",
       "--no-figures"]
RERUN = ["--no-progress", "--workers", "1"]


@pytest.fixture(scope="module")
def whole(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hashes") / "run"
    assert main([*RUN, "--out", str(folder)]) == 0
    return folder


def _copy(whole: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(whole, copy)
    return copy


def _edit_json(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def _refused(capsys, name: str) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert name in err and "edited" in err and "restore" in err and "escalation run" in err, err
    return err


# ---- what is recorded -----------------------------------------------------------------------------


def test_a_run_records_the_sha256_of_its_manifest_and_of_each_data_file(whole: Path) -> None:
    manifest = json.loads((whole / "manifest.json").read_text(encoding="utf-8"))
    assert manifest[DIGEST_FIELD] == manifest_digest(manifest)
    hashes = manifest[FILES_FIELD]
    assert set(hashes) == {"summary.json", "distributions.json", "runs.csv", "truces.csv"}
    for name, digest in hashes.items():
        assert digest == hashlib.sha256((whole / name).read_bytes()).hexdigest() == file_sha256(whole / name)


# ---- manifest.json --------------------------------------------------------------------------------


def _resolved_parameter(manifest: dict[str, Any]) -> None:
    manifest["resolved_parameters"]["commitments"][0]["reliability"] = 0.01


def _scenario_text_with_its_own_new_sha256(manifest: dict[str, Any]) -> None:
    """The issue's case: a parameter edited in the saved scenario text, and its SHA-256 made to match."""
    text = manifest["scenario"]["text"]
    at = text.index("reliability:")
    end = text.index("\n", at)
    edited = text[:at] + "reliability: 0.01" + text[end:]
    assert edited != text
    manifest["scenario"]["text"] = edited
    manifest["scenario"]["sha256"] = hashlib.sha256(edited.encode()).hexdigest()


def _seed(manifest: dict[str, Any]) -> None:
    manifest["seed"] = 4


def _file_hashes_removed(manifest: dict[str, Any]) -> None:
    del manifest[FILES_FIELD]


EDITS = [_resolved_parameter, _scenario_text_with_its_own_new_sha256, _seed, _file_hashes_removed]


@pytest.mark.parametrize("edit", EDITS, ids=lambda edit: edit.__name__.strip("_"))
def test_rerun_refuses_an_edited_manifest(whole: Path, tmp_path: Path, capsys, edit) -> None:
    copy = _copy(whole, tmp_path)
    _edit_json(copy / "manifest.json", edit)
    assert main(["rerun", str(copy), *RERUN]) == 2
    assert str(copy / "manifest.json") in _refused(capsys, "manifest.json")
    assert not (tmp_path / "copy-rerun").exists() and not (tmp_path / "copy-rerun.partial").exists()


def test_plot_refuses_an_edited_manifest(whole: Path, tmp_path: Path, capsys) -> None:
    copy = _copy(whole, tmp_path)
    _edit_json(copy / "manifest.json", _resolved_parameter)
    assert main(["plot", str(copy)]) == 2
    _refused(capsys, "manifest.json")
    assert not (copy / "figures").exists()


def _interrupted(folder: Path, monkeypatch, after: int = 2) -> Path:
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


def _resume(partial: Path) -> int:
    return main(["run", "--resume", str(partial), "--no-progress", "--no-figures", "--workers", "1"])


def test_resume_refuses_an_edited_manifest(tmp_path: Path, monkeypatch, capsys) -> None:
    partial = _interrupted(tmp_path / "run", monkeypatch)
    manifest = json.loads((partial / "manifest.json").read_text(encoding="utf-8"))
    assert manifest[DIGEST_FIELD] == manifest_digest(manifest) and FILES_FIELD not in manifest
    _edit_json(partial / "manifest.json", _resolved_parameter)
    capsys.readouterr()
    assert _resume(partial) == 2
    assert "chunk" not in _refused(capsys, "manifest.json")
    assert len(list((partial / "chunks").glob("chunk-*.npz"))) == 2


def test_resume_of_an_unedited_manifest_still_ends_identically(whole: Path, tmp_path: Path, monkeypatch) -> None:
    partial = _interrupted(tmp_path / "run", monkeypatch)
    assert _resume(partial) == 0
    for name in ("summary.json", "runs.csv"):
        assert (tmp_path / "run" / name).read_bytes() == (whole / name).read_bytes()


# ---- summary.json and distributions.json ----------------------------------------------------------


def _one_number_changed(data: dict[str, Any]) -> None:
    data["title"] = data["title"] + " (edited)"
    if "p_regional_escalation" in data:
        data["p_regional_escalation"]["estimate"] = 0.5


@pytest.mark.parametrize("command", ["rerun", "plot"])
def test_an_edited_summary_is_refused(whole: Path, tmp_path: Path, capsys, command: str) -> None:
    copy = _copy(whole, tmp_path)
    _edit_json(copy / "summary.json", _one_number_changed)
    assert main([command, str(copy), *(RERUN if command == "rerun" else [])]) == 2
    assert str(copy / "summary.json") in _refused(capsys, "summary.json")
    assert not (tmp_path / "copy-rerun").exists() and not (copy / "figures").exists()


def test_plot_refuses_edited_distributions(whole: Path, tmp_path: Path, capsys) -> None:
    copy = _copy(whole, tmp_path)
    _edit_json(copy / "distributions.json", _one_number_changed)
    assert main(["plot", str(copy)]) == 2
    assert str(copy / "distributions.json") in _refused(capsys, "distributions.json")


def test_a_byte_appended_is_an_edit(whole: Path, tmp_path: Path, capsys) -> None:
    copy = _copy(whole, tmp_path)
    with (copy / "distributions.json").open("a", encoding="utf-8") as handle:
        handle.write(" ")  # still the same JSON, but not the bytes the run wrote
    assert main(["plot", str(copy)]) == 2
    _refused(capsys, "distributions.json")


def test_an_unedited_folder_plots_and_reruns(whole: Path, tmp_path: Path, capsys) -> None:
    copy = _copy(whole, tmp_path)
    assert main(["plot", str(copy)]) == 0
    assert main(["rerun", str(copy), *RERUN]) == 0
    assert "identical" in capsys.readouterr().out
    assert main(["plot", str(copy)]) == 0  # figures drawn anew are not hashed: plot again is fine


# ---- folders written before the hashes ------------------------------------------------------------


def _older(manifest: dict[str, Any]) -> None:
    manifest.pop(DIGEST_FIELD)
    manifest.pop(FILES_FIELD, None)


@pytest.mark.parametrize("command", ["rerun", "plot"])
def test_a_folder_without_hashes_is_used_with_a_note(whole: Path, tmp_path: Path, capsys, command: str) -> None:
    copy = _copy(whole, tmp_path)
    _edit_json(copy / "manifest.json", _older)
    assert main([command, str(copy), *(RERUN if command == "rerun" else [])]) == 0
    err = capsys.readouterr().err
    assert "note:" in err and "manifest.json carries no SHA-256" in err and "unverified" in err


def test_an_older_unfinished_run_resumes_with_a_note(whole: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    partial = _interrupted(tmp_path / "run", monkeypatch)
    _edit_json(partial / "manifest.json", _older)
    capsys.readouterr()
    assert _resume(partial) == 0
    assert "unverified" in capsys.readouterr().err
    assert (tmp_path / "run" / "summary.json").read_bytes() == (whole / "summary.json").read_bytes()
