"""A results folder is the user's file: its manifest and what is read again are checked first.

``rerun``, ``--resume`` and ``plot`` read ``manifest.json`` from a folder a user may have edited or
damaged. :func:`validate_manifest` refuses absurd or missing values (a seed of ``-1``, ``runs:
10**12``, a design whose rows do not match its columns, a scenario text whose SHA-256 is not the
one recorded) with one message naming the file, the field and what is allowed, before a single
replication runs; then it checks the manifest against its own SHA-256 (``manifest_sha256``, a
digest of every other field), so that no edit at all (a resolved parameter, the seed, a scenario
text given a new SHA-256 of its own) is trusted silently. :func:`verify_files` checks the result
files a command reads again (``summary.json`` for ``rerun``, ``summary.json`` and
``distributions.json`` for ``plot``) against the SHA-256 the manifest records for each
(``file_sha256``). The chunks of an unfinished run carry checksums of their own
(:mod:`sim.output.chunk_files`).

A folder written before these hashes existed has neither field: it is accepted with a note saying
what was not verified (refusing it would strand every earlier result). A manifest that carries its
own SHA-256 always carries the file hashes once the run is complete: removing them is an edit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sim.ensemble.chunks import MAX_CHUNK_SIZE
from sim.scenario.errors import Problem, UserError
from sim.scenario.schema import MAX_RUNS

MAX_SEED = 2**63 - 1
KINDS = ("run", "sweep", "sensitivity", "comparison")
DIGEST_FIELD = "manifest_sha256"
FILES_FIELD = "file_sha256"
MANIFEST_REMEDY = ("restore manifest.json as the run wrote it; to run an edited scenario, save its text as a YAML "
                   "file and run it with `escalation run FILE --out NEW_DIR`")


def _whole(low: int, high: int) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _texts(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _width(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 1


#: field path -> (test, what is allowed, required)
FIELDS: dict[str, tuple[Callable[[Any], bool], str, bool]] = {
    "scenario.text": (_text, "the scenario's YAML text", True),
    "scenario.source": (_text, "the scenario file's name", True),
    "scenario.sha256": (_text, "the SHA-256 of the scenario text", True),
    "overrides": (_texts, "a list of PATH=VALUE texts", False),
    "seed": (_whole(0, MAX_SEED), f"a whole number from 0 to {MAX_SEED:,}", True),
    "runs": (_whole(1, MAX_RUNS), f"a whole number from 1 to {MAX_RUNS:,}", True),
    "chunk_size": (_whole(1, MAX_CHUNK_SIZE), f"a whole number from 1 to {MAX_CHUNK_SIZE:,}", True),
    "max_runs": (_whole(1, MAX_RUNS), f"a whole number from 1 to {MAX_RUNS:,}", False),
    "target_ci_width": (_width, "a width strictly between 0 and 1", False),
}


def _get(manifest: dict[str, Any], path: str) -> tuple[bool, Any]:
    value: Any = manifest
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return False, None
        value = value[part]
    return True, value


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def manifest_digest(manifest: dict[str, Any]) -> str:
    """The SHA-256 of a manifest's fields other than its own digest, as plain JSON read back from the file.

    ``manifest`` holds only what JSON holds (see ``results.write_manifest``): sorted keys, no
    spaces and ASCII escapes make the text, hence the digest, the same before writing and after reading.
    """
    body = {key: value for key, value in manifest.items() if key != DIGEST_FIELD}
    text = json.dumps(body, sort_keys=True, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in blocks (a table may be gigabytes)."""
    with Path(path).open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def validate_manifest(manifest: Any, path: Path, notify: Callable[[str], None] | None = None) -> dict[str, Any]:
    """``manifest`` if every field a rerun or resume reads is present and sensible, and the manifest is as it
    was written (its ``manifest_sha256``), else a :class:`UserError`; ``notify`` hears of a folder too old to
    carry hashes."""
    source = str(path)
    if not isinstance(manifest, dict):
        raise UserError(Problem(f"found {type(manifest).__name__} at the top level; allowed: the mapping that "
                                "escalation writes", source=source))
    problems = []
    for field, (test, allowed, required) in FIELDS.items():
        present, value = _get(manifest, field)
        if not present:
            if required or (field == "max_runs" and manifest.get("target_ci_width") is not None):
                problems.append(Problem(f"missing; allowed: {allowed}", field=field, source=source))
            continue
        if field in ("max_runs", "target_ci_width") and value is None:
            continue
        if not test(value):
            problems.append(Problem(f"found {_shown(value)}; allowed: {allowed}", field=field, source=source))
    kind = manifest.get("kind", "run")
    if kind not in KINDS:
        problems.append(Problem(f"found {_shown(kind)}; allowed: one of {', '.join(KINDS)}", field="kind",
                                source=source))
    problems.extend(_design_problems(manifest.get("design"), source))
    if not problems:
        text, recorded = manifest["scenario"]["text"], manifest["scenario"]["sha256"]
        if hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest() != recorded:
            problems.append(Problem("the scenario text does not match its recorded SHA-256 (the manifest was "
                                    "edited); allowed: the text the run was started with", field="scenario.text",
                                    source=source))
    if problems:
        raise UserError(problems)
    if DIGEST_FIELD not in manifest:
        if notify:
            notify(f"{source} carries no SHA-256 of its own (written by an earlier version of escalation-sim): "
                   "the manifest and the result files are used unverified")
        return manifest
    recorded = manifest[DIGEST_FIELD]
    if not isinstance(recorded, str) or manifest_digest(manifest) != recorded:
        raise UserError(Problem(
            f"the manifest was edited since the run wrote it (its fields no longer match {DIGEST_FIELD}); "
            f"{MANIFEST_REMEDY}", source=source))
    if manifest.get("status") == "complete" and manifest.get("kind", "run") in ("run", "sweep") \
            and not isinstance(manifest.get(FILES_FIELD), dict):
        raise UserError(Problem(f"missing; allowed: the SHA-256 of each result file, as the run wrote them "
                                f"({MANIFEST_REMEDY})", field=FILES_FIELD, source=source))
    return manifest


def verify_files(folder: Path, manifest: dict[str, Any], names: Iterable[str]) -> None:
    """Refuse any of ``names`` (files of ``folder``) whose bytes are not those the manifest's
    ``file_sha256`` records; a manifest without file hashes (an earlier version's) is not checked
    (:func:`validate_manifest` has said so)."""
    recorded = manifest.get(FILES_FIELD)
    if DIGEST_FIELD not in manifest or not isinstance(recorded, dict):
        return
    for name in names:
        path = Path(folder) / name
        expected = recorded.get(name)
        if expected is None:
            raise UserError(Problem(f"manifest.json records no SHA-256 for {name}; allowed: the files the run "
                                    "wrote", source=str(path)))
        if file_sha256(path) != expected:
            raise UserError(Problem(
                f"{name} was edited or damaged since the run wrote it (its SHA-256 is not the one manifest.json "
                f"records); restore it as the run wrote it, or compute the run afresh into a new folder with "
                f"`escalation run` (its scenario text is in manifest.json)", source=str(path)))


def _design_problems(design: Any, source: str) -> list[Problem]:
    if design is None:
        return []
    allowed = "a mapping with kind, columns (parameter paths) and rows (one value per column)"
    if not isinstance(design, dict) or not _texts(design.get("columns")) or not design.get("columns") \
            or not isinstance(design.get("rows"), list) or not design["rows"]:
        return [Problem(f"found {_shown(design)}; allowed: {allowed}", field="design", source=source)]
    width = len(design["columns"])
    for index, row in enumerate(design["rows"]):
        if not isinstance(row, list) or len(row) != width:
            return [Problem(f"found {_shown(row)}; allowed: a list of {width} values", field=f"design.rows[{index}]",
                            source=source)]
    return []
