"""Load a scenario file into a validated :class:`~sim.scenario.schema.Scenario`.

Reading, schema validation and cross-reference checks all report in the same form: file, line,
column, field path (list entries named by their id), what was found and what is allowed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.scenario.checks import check_scenario
from sim.scenario.errors import Problem, ScenarioError, did_you_mean
from sim.scenario.overrides import apply_overrides, entry_label
from sim.scenario.schema import Scenario
from sim.scenario.yamlsource import Document, parse_bytes, read_document


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario with its provenance: the text it came from and the overrides."""

    scenario: Scenario
    source: str
    text: str
    sha256: str
    overrides: tuple[str, ...] = ()


def load_scenario(path: str | Path, overrides: Sequence[str] = ()) -> Scenario:
    """Load and validate a scenario file, applying ``--set``-style overrides.

    Raises:
        ScenarioError: listing every problem found, each with file, line, field and remedy.
    """
    return load_with_provenance(path, overrides).scenario


def load_with_provenance(path: str | Path, overrides: Sequence[str] = ()) -> LoadedScenario:
    """Like :func:`load_scenario`, keeping the file's text and hash for the manifest."""
    return _finish(read_document(path), overrides)


def load_text(text: str, source: str = "<scenario>", overrides: Sequence[str] = ()) -> LoadedScenario:
    """Load a scenario from its YAML text (for reruns from a manifest, and for tests)."""
    return _finish(parse_bytes(text.encode("utf-8"), source), overrides)


def load_variants(loaded: LoadedScenario, variants: Sequence[Sequence[str]], origin: str = "--param") -> list[Scenario]:
    """One validated scenario per list of extra overrides (sweep points), parsing the text once."""
    document = parse_bytes(loaded.text.encode("utf-8"), loaded.source)
    base = apply_overrides(document, loaded.overrides)
    document.data = base
    scenarios = []
    for overrides in variants:
        document.overridden.clear()
        scenarios.append(validate_data(document, apply_overrides(document, overrides, origin=origin)))
    return scenarios


def validate_file(path: str | Path, overrides: Sequence[str] = ()) -> list[Problem]:
    """Every problem in a scenario file, or an empty list when it is valid."""
    try:
        load_with_provenance(path, overrides)
    except ScenarioError as error:
        return error.problems
    return []


def _finish(document: Document, overrides: Sequence[str]) -> LoadedScenario:
    data = apply_overrides(document, overrides)
    scenario = validate_data(document, data)
    return LoadedScenario(
        scenario=scenario,
        source=document.source,
        text=document.text,
        sha256=hashlib.sha256(document.text.encode("utf-8")).hexdigest(),
        overrides=tuple(overrides),
    )


def validate_data(document: Document, data: dict[str, Any]) -> Scenario:
    """Validate plain data against the schema and the cross-reference checks."""
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as error:
        problems = [_pydantic_problem(document, data, e) for e in error.errors()]
        raise ScenarioError(_sorted(problems)) from None
    findings = check_scenario(scenario)
    if findings:
        problems = [_problem(document, data, path, message) for path, message in findings]
        raise ScenarioError(_sorted(problems))
    return scenario


def _sorted(problems: list[Problem]) -> list[Problem]:
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: (p.line or 0, p.column or 0))


def field_name(data: Any, path: Sequence[Any]) -> str:
    """``actors[russia].backer.escalation_rate``: a path with list entries named by id."""
    text = ""
    node = data
    for part in path:
        if isinstance(part, int):
            item = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            label = entry_label(item) or str(part)
            text += f"[{label}]"
            node = item
        else:
            text += f".{part}" if text else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return text


def _problem(document: Document, data: Any, path: Sequence[Any], message: str, *, key: bool = False) -> Problem:
    override = document.override_for(tuple(path))
    if override is not None:
        return Problem(message, field_name(data, path), source=override)
    location = document.locate(tuple(path), key=key)
    line, column = location if location else (None, None)
    return Problem(message, field_name(data, path), line, column, document.source)


def _pydantic_problem(document: Document, data: Any, error: dict[str, Any]) -> Problem:
    path = tuple(p for p in error["loc"] if not (isinstance(p, str) and "[" in p))
    kind = error["type"]
    found = error.get("input")
    if kind == "extra_forbidden":
        key = path[-1]
        allowed = _allowed_fields(path[:-1], data)
        message = f"unknown field '{key}'"
        if allowed:
            message += f"; allowed here: {', '.join(allowed)}{did_you_mean(str(key), allowed)}"
        return _problem(document, data, path, message, key=True)
    if kind == "missing":
        parent = field_name(data, path[:-1]) or "the scenario"
        problem = _problem(document, data, path, f"the required field '{path[-1]}' is missing from {parent}")
        return problem
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        message = f"found {found!r}; allowed: {expected}"
        if isinstance(found, str):
            choices = [c.strip(" '") for c in expected.replace(" or ", ",").split(",")]
            message += did_you_mean(found, choices)
        return _problem(document, data, path, message)
    text = error["msg"]
    if text.startswith("Input should be "):
        text = "allowed: " + text[len("Input should be "):]
    elif text.startswith("Value error, "):
        text = text[len("Value error, "):]
    if kind.endswith("_type") or "should be" in error["msg"] or kind in {
        "greater_than", "greater_than_equal", "less_than", "less_than_equal",
        "too_short", "too_long", "string_pattern_mismatch", "finite_number",
    }:
        text = f"found {_show(found)}; {text}"
    if kind == "string_pattern_mismatch":
        text = f"found {_show(found)}; allowed: lower-case letters, digits and '_', starting with a letter"
    return _problem(document, data, path, text)


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    text = repr(value)
    return text if len(text) < 60 else text[:57] + "..."


def _allowed_fields(path: Sequence[Any], data: Any) -> list[str]:
    """The field names the schema allows at ``path`` (a mapping inside the scenario)."""
    model: type[BaseModel] | None = Scenario
    for part in path:
        if model is None:
            return []
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return []
        model = _model_of(field.annotation)
    return list(model.model_fields) if model is not None else []


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in getattr(annotation, "__args__", ()) or ():
        found = _model_of(argument)
        if found is not None:
            return found
    return None


__all__ = [
    "LoadedScenario",
    "field_name",
    "load_scenario",
    "load_text",
    "load_variants",
    "load_with_provenance",
    "validate_data",
    "validate_file",
]
