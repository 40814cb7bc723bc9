"""A results folder is the user's file: its manifest is checked before anything is run from it.

``rerun``, ``--resume`` and ``plot`` read ``manifest.json`` from a folder a user may have edited or
damaged. :func:`validate_manifest` refuses absurd or missing values (a seed of ``-1``, ``runs:
10**12``, a design whose rows do not match its columns, a scenario text whose SHA-256 is not the
one recorded) with one message naming the file, the field and what is allowed, before a single
replication runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sim.ensemble.chunks import MAX_CHUNK_SIZE
from sim.scenario.errors import Problem, UserError
from sim.scenario.schema import MAX_RUNS

MAX_SEED = 2**63 - 1
KINDS = ("run", "sweep", "sensitivity", "comparison")


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


def validate_manifest(manifest: Any, path: Path) -> dict[str, Any]:
    """``manifest`` if every field a rerun or resume reads is present and sensible, else a :class:`UserError`."""
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
    return manifest


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
