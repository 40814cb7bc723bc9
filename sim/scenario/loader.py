"""Load a scenario file into a validated :class:`~sim.scenario.schema.Scenario`.

Reading, schema validation and cross-reference checks all report in the same form: file, line,
column, field path (list entries named by their id), what was found and what is allowed.

Every problem in a file is reported at once. When the schema rejects some fields, the loader
sets those fields aside (unknown keys and optional fields are dropped, plain required numbers get
a stand-in value) and, if the rest then validates, runs the cross-reference checks on it too,
keeping only the findings that do not depend on a field it set aside.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import hashlib
import re
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic.fields import FieldInfo

from sim.scenario.checks import check_scenario
from sim.scenario.errors import Problem, ScenarioError, did_you_mean
from sim.scenario.exact_types import inexact_values, non_finite_values
from sim.scenario.migrate import old_format, old_format_problem
from sim.scenario.overrides import allowed_fields, apply_overrides, apply_values, entry_label, model_of, schema_fields
from sim.scenario.schema import Scenario
from sim.scenario.uncertainties import (
    annotation_bounds,
    check_uncertainties,
    describe_bounds,
    field_bounds,
    values_outside_ranges,
)
from sim.scenario.yamlsource import Document, parse_bytes, read_document

PathKey = tuple[Any, ...]
_MAX_SALVAGE = 1_000  # past this many schema errors, cross-reference findings would only add noise
_MARKER = re.compile(r"^[a-z][a-z-]*\[.*\]$")


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario with its provenance: the text it came from and the overrides.

    ``document`` keeps the parsed data (overrides applied) and where each value sits in the text,
    so that variants (sweep points, EMA experiments) are validated from it without parsing again.
    """

    scenario: Scenario
    source: str
    text: str
    sha256: str
    overrides: tuple[str, ...] = ()
    document: Document | None = field(default=None, repr=False, compare=False)


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
    return _finish(parse_bytes(text.encode("utf-8", errors="surrogatepass"), source), overrides)


#: The last few Scenario objects written out by :func:`from_scenario`, by content (their JSON): writing
#: the YAML text is most of a call's fixed cost when the same scenario is evaluated again and again.
_WRITTEN: dict[str, LoadedScenario] = {}
_WRITTEN_KEPT = 8


def from_scenario(scenario: Scenario) -> LoadedScenario:
    """A :class:`LoadedScenario` for a Scenario object built in code: its data, with no YAML to parse.

    Its text (for a manifest) is the scenario written out as YAML; messages about its variants name
    ``<scenario NAME>`` and the field, as there are no lines to point to. The same content gives the
    same text, written once (a changed object is a new content: it is written again).
    """
    content = scenario.model_dump_json(by_alias=True)
    written = _WRITTEN.get(content)
    if written is not None:
        return dataclasses.replace(written, scenario=scenario)
    data = scenario.model_dump(mode="json", by_alias=True)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text = yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True)
    loaded = LoadedScenario(scenario=scenario, source=f"<scenario {scenario.name}>", text=text,
                            sha256=hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest(),
                            document=Document(data=data, source=f"<scenario {scenario.name}>", text=text))
    if len(_WRITTEN) >= _WRITTEN_KEPT:
        _WRITTEN.pop(next(iter(_WRITTEN)))
    _WRITTEN[content] = loaded
    return loaded


Variant = Sequence[str] | Mapping[str, Any]


def load_variants(loaded: LoadedScenario, variants: Sequence[Variant], origin: str = "--param") -> list[Scenario]:
    """One validated scenario per variant (sweep point), from the data parsed once at load time.

    A variant is a list of ``PATH=VALUE`` texts (read as YAML, like ``--set``) or a mapping of
    paths to values that are already typed; both are validated, and reported, the same way.
    """
    base = loaded.document
    if base is None:  # a LoadedScenario made by hand: parse its text once
        base = parse_bytes(loaded.text.encode("utf-8", errors="surrogatepass"), loaded.source)
        base.data = apply_overrides(base, loaded.overrides)
    document = dataclasses.replace(base, overridden={})
    scenarios = []
    for overrides in variants:
        document.overridden.clear()
        if isinstance(overrides, Mapping):
            data = apply_values(document, overrides, origin=origin)
            paths = list(overrides)
        else:
            data = apply_overrides(document, overrides, origin=origin)
            paths = [text.partition("=")[0].strip() for text in overrides]
        # the declared uncertainties were checked with the scenario, and a point does not change them
        declared = any(path.split(".")[0] == "uncertainties" for path in paths)
        scenarios.append(validate_data(document, data, uncertainties=declared))
    return scenarios


def validate_file(path: str | Path, overrides: Sequence[str] = ()) -> list[Problem]:
    """Every problem in a scenario file, or an empty list when it is valid."""
    try:
        load_with_provenance(path, overrides)
    except ScenarioError as error:
        return error.problems
    return []


def _finish(document: Document, overrides: Sequence[str]) -> LoadedScenario:
    try:
        data = apply_overrides(document, overrides)
    except ScenarioError as error:
        raise ScenarioError([*document.problems, *error.problems]) from None
    scenario = validate_data(document, data)
    document.data = data
    return LoadedScenario(
        scenario=scenario,
        source=document.source,
        text=document.text,
        sha256=hashlib.sha256(document.text.encode("utf-8", errors="surrogatepass")).hexdigest(),
        overrides=tuple(overrides),
        document=document,
    )


def validate_data(document: Document, data: dict[str, Any], *, uncertainties: bool = True) -> Scenario:
    """Validate plain data against the schema and the cross-reference checks.

    ``uncertainties`` false skips checking the declared uncertainties against the scenario (for
    variants of a scenario checked already, whose overrides leave them alone).

    Raises:
        ScenarioError: with every problem: those found while reading the YAML, the schema's,
            and the cross-reference checks' (as far as the fields they need are valid).
    """
    reason = old_format(data)
    if reason is not None:
        raise old_format_problem(reason, document.source)
    problems = list(document.problems)
    set_aside: list[PathKey] = list(document.problem_paths)
    suspect: list[PathKey] = list(document.problem_paths)
    for path, message in [*non_finite_values(data), *inexact_values(Scenario, data)]:
        if not any(_depends(path, bad) for bad in suspect):
            problems.append(_problem(document, data, path, message))
            set_aside.append(path)
            suspect.append(path)
    scenario: Scenario | None = None
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as error:
        errors = error.errors()
        for item in errors:
            item["path"] = _error_path(item, data)
        for item in _without_misspelt_missing(errors):
            path = item["path"]
            if not any(_depends(path, bad) for bad in suspect):
                problems.append(_pydantic_problem(document, data, item))
        salvaged = _salvage(data, errors) if len(errors) <= _MAX_SALVAGE else None
        if salvaged is not None:
            repaired, patched = salvaged
            set_aside += patched
            try:
                scenario = Scenario.model_validate(repaired)
            except ValidationError:
                scenario = None
    if scenario is not None:
        findings = check_scenario(scenario) + (check_uncertainties(scenario) if uncertainties else [])
        for path, message in findings:
            if not any(_depends(tuple(path), bad) for bad in set_aside):
                problems.append(_problem(document, data, path, message))
    if problems:
        raise ScenarioError(_sorted(problems))
    assert scenario is not None
    return scenario


def range_warnings(loaded: LoadedScenario) -> list[Problem]:
    """Warnings, with file, line and field: the declared uncertainty ranges that leave out the scenario's own
    value (:func:`sim.scenario.uncertainties.values_outside_ranges`)."""
    document = loaded.document
    assert document is not None     # every LoadedScenario keeps its document
    findings = values_outside_ranges(loaded.scenario)
    return [_problem(document, document.data, path, message) for path, message in findings]


def _sorted(problems: list[Problem]) -> list[Problem]:
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: (p.line or 0, p.column or 0))


def _depends(finding: PathKey, bad: PathKey) -> bool:
    """Whether a problem at ``finding`` may only be a consequence of the bad value at ``bad``."""
    if finding[: len(bad)] == bad:
        return True
    if len(finding) >= 2 and bad[: len(finding)] == finding:
        return True
    if finding and finding[-1] == "front_shares" and bad and "front_shares" in bad:
        return True
    if bad and bad[0] == "fronts" and finding and finding[0] == "actors" and finding[-1] == "camp":
        return True  # "fights on no front" follows from a front that could not be read
    if bad and bad[-1] in ("camp", "party", "outside", "mediator") and finding and finding[0] in (
            "actors", "fronts", "commitments", "rivalries", "truces"):
        return True  # cross-references need every actor's camp and sections as written
    return bool(finding) and finding[0] == "truces" and bad in {("start_date",), ("horizon_days",)}


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


def _error_path(error: dict[str, Any], data: Any) -> PathKey:
    """The document path of a pydantic error: its location without pydantic's own markers.

    A marker (``[key]`` after a mapping key that is not allowed, ``function-after[...]``) is
    dropped only where the data has no such key, so that a user's key spelt like one is kept.
    """
    path: list[Any] = []
    node = data
    for part in error["loc"]:
        inside = (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        )
        if inside:
            node = node[part]
        elif isinstance(part, str) and (part == "[key]" or _MARKER.match(part)):
            continue
        else:
            node = None
        path.append(part)
    return tuple(path)


def _without_misspelt_missing(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop "field x is missing" when the same mapping has an unknown key that is a misspelling of x."""
    misspelt: set[PathKey] = set()
    for error in errors:
        if error["type"] == "extra_forbidden":
            path = error["path"]
            if not path:
                continue
            allowed = allowed_fields(path[:-1])
            suggestion = did_you_mean(str(path[-1]), allowed)
            if suggestion:
                misspelt.add((*path[:-1], suggestion.split("'")[1]))
    return [e for e in errors if not (e["type"] == "missing" and e["path"] in misspelt)]


def _pydantic_problem(document: Document, data: Any, error: dict[str, Any]) -> Problem:
    path = error["path"]
    kind = error["type"]
    found = error.get("input")
    context = error.get("ctx") or {}
    if kind == "extra_forbidden" and path:
        key = path[-1]
        allowed = allowed_fields(path[:-1])
        message = f"unknown field {_show(key)}"
        if allowed:
            message += f"; allowed here: {', '.join(allowed)}{did_you_mean(str(key), allowed)}"
        return _problem(document, data, path, message, key=True)
    if kind == "missing" and path:
        parent = field_name(data, path[:-1]) or "the scenario"
        return _problem(document, data, path, f"the required field '{path[-1]}' is missing from {parent}")
    if kind == "literal_error":
        expected = str(context.get("expected", ""))
        message = f"found {_show(found)}; allowed: {expected}"
        if isinstance(found, str):
            choices = [c.strip(" '") for c in expected.replace(" or ", ",").split(",")]
            message += did_you_mean(found, choices)
        return _problem(document, data, path, message)
    if kind == "value_error":
        text = str(error["msg"])
        return _problem(document, data, path, text.removeprefix("Value error, "))
    return _problem(document, data, path, f"found {_show(found)}; allowed: {_allowed(kind, context, path, error)}")


def _allowed(kind: str, context: dict[str, Any], path: PathKey, error: dict[str, Any]) -> str:
    """What a field accepts, in words, for a pydantic error of this kind."""
    if kind in {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}:
        return _range(path) or {
            "greater_than": "more than {gt}", "greater_than_equal": "at least {ge}",
            "less_than": "less than {lt}", "less_than_equal": "at most {le}",
        }[kind].format(**{k: _number(v) for k, v in context.items()})
    simple = {
        "int_type": "a whole number", "int_parsing": "a whole number", "int_from_float": "a whole number",
        "int_parsing_size": "a whole number of sensible size",
        "float_type": "a number", "float_parsing": "a number", "finite_number": "a finite number",
        "bool_type": "true or false", "bool_parsing": "true or false",
        "string_type": "text (in quotes if it looks like a number, a date or true/false)",
        "list_type": "a list", "dict_type": "a mapping",
        "date_type": "a date written YYYY-MM-DD", "date_parsing": "a date written YYYY-MM-DD",
        "date_from_datetime_inexact": "a date written YYYY-MM-DD, without a time",
        "date_from_datetime_parsing": "a date written YYYY-MM-DD",
        "string_pattern_mismatch": "lower-case letters, digits and '_', starting with a letter",
    }
    if kind in simple:
        if kind.startswith(("int_", "float_")):
            return simple[kind] + _range_suffix(path)
        return simple[kind]
    if kind in {"model_type", "model_attributes_type"}:
        fields = allowed_fields(path)
        return f"a mapping with fields such as {', '.join(fields[:6])}" if fields else "a mapping"
    if kind == "too_short":
        noun = "character" if isinstance(error.get("input"), str) else "entry"
        count = context.get("min_length", 1)
        return f"at least {count} {noun if count == 1 else noun.replace('y', 'ie') + 's'}"
    if kind == "too_long":
        noun = "character" if isinstance(error.get("input"), str) else "entry"
        count = context.get("max_length", 0)
        return f"at most {_number(count)} {noun if count == 1 else noun.replace('y', 'ie') + 's'}"
    if kind == "string_too_short":
        return "non-empty text"
    if kind == "string_too_long":
        return f"at most {_number(context.get('max_length', 0))} characters"
    text = str(error["msg"])
    return text.removeprefix("Input should be ")


def _field_info(path: PathKey) -> FieldInfo | None:
    """The schema field at ``path`` (a named field of a section, not a list entry)."""
    if not path or not isinstance(path[-1], str):
        return None
    fields = allowed_fields(path[:-1])
    if path[-1] not in fields:
        return None
    model: Any = Scenario
    for part in path[:-1]:
        if isinstance(part, str):
            model = model_of(schema_fields(model)[part].annotation)
    return schema_fields(model)[path[-1]]


def _value_bounds(path: PathKey) -> dict[str, Any]:
    """Bounds of a mapping's values (``leverage.red``): the dict field's value type."""
    if len(path) < 2:
        return {}
    info = _field_info(path[:-1])
    if info is None:
        return {}
    annotation = info.annotation
    for candidate in (annotation, *typing.get_args(annotation)):
        if typing.get_origin(candidate) is dict:
            return annotation_bounds(typing.get_args(candidate)[1])
    return {}


def _range(path: PathKey) -> str:
    """``from 0 to 1``, ``more than 0``, ``from 1 to 3,650``: the range a numeric field allows."""
    return describe_bounds(field_bounds(_field_info(path)) or _value_bounds(path))


def _range_suffix(path: PathKey) -> str:
    text = _range(path)
    return f", {text}" if text else ""


def _number(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 1_000 else str(value)
    if isinstance(value, float):
        return f"{int(value):,}" if value.is_integer() and abs(value) >= 1_000 else f"{value:g}"
    return str(value)


def _show(value: Any) -> str:
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    if isinstance(value, int) and abs(value) >= 10**40:
        return f"a number of {len(str(abs(value))):,} digits"
    text = repr(value)
    return text if len(text) < 60 else text[:57] + "..."


# Salvage: set aside the fields the schema rejected so that the cross-reference checks can run.

_DETACHED = {"description", "runs", "seed", "initial_state", "ladder", "regional_escalation", "dynamics",
             "observed", "uncertainties"}


def _salvage(data: dict[str, Any], errors: list[dict[str, Any]]) -> tuple[dict[str, Any], list[PathKey]] | None:
    """A copy of ``data`` without the rejected fields, and their paths; None when that is not possible."""
    repaired = copy.deepcopy(data)
    patched: list[PathKey] = []
    for error in errors:
        path = error["path"]
        if not path or "[key]" in error["loc"]:
            return None
        if path[0] in _DETACHED:
            repaired.pop(path[0], None)
            patched.append(path[:1])
            continue
        if not _patch(repaired, path, error["type"]):
            return None
        patched.append(path)
    return repaired, patched


def _patch(data: dict[str, Any], path: PathKey, kind: str) -> bool:
    parent = data
    for part in path[:-1]:
        try:
            parent = parent[part]
        except (KeyError, IndexError, TypeError):
            return False
    if not isinstance(parent, dict):
        return False
    key = path[-1]
    if kind == "extra_forbidden":
        parent.pop(key, None)
        return True
    info = _field_info(path)
    if info is None:
        if len(path) >= 2 and path[-2] == "leverage" and isinstance(key, str):
            parent[key] = 0.5
            return True
        return False
    if path == ("name",):
        parent[key] = "scenario"
        return True
    if not info.is_required() and model_of(info.annotation) is None:
        parent.pop(key, None)
        return True
    value = _stand_in(info)
    if value is None:
        return False
    parent[key] = value
    return True


def _stand_in(info: FieldInfo) -> Any:
    """A valid value for a plain required field that no other field refers to, else None."""
    annotation = info.annotation
    if any(getattr(m, "pattern", None) for m in info.metadata):
        return None  # an identifier: other fields may refer to it
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)[0]
    bounds = field_bounds(info)
    if annotation is bool:
        return False
    if annotation is dt.date:
        return dt.date(2000, 1, 1)
    if annotation is str:
        return "x"
    if annotation in (int, float):
        low = bounds.get("ge", bounds.get("gt", 0))
        high = bounds.get("le", bounds.get("lt"))
        if annotation is int:
            value = low + (1 if "gt" in bounds else 0)
            return value if high is None or value <= high else None
        return (low + high) / 2 if high is not None else low + 1.0
    return None


__all__ = [
    "LoadedScenario",
    "field_name",
    "from_scenario",
    "load_scenario",
    "load_text",
    "load_variants",
    "load_with_provenance",
    "validate_data",
    "validate_file",
]
