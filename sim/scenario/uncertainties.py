"""Declared uncertainties: which parameters of a scenario are uncertain, over what range, and why.

A scenario may list, under ``uncertainties:``, the judgement parameters an analyst should vary::

    uncertainties:
      - path: ties.russia_armenia_pact.reliability      # the --set syntax: list entries by id
        range: [0.1, 0.5]
        source: honoured 22% after 1945 (Berkemeier & Fuhrmann 2018); 2022 CSTO abandonment
      - path: ties.russia_armenia_pact.scope
        choices: [recognised_territory, anywhere]
        source: the Kremlin's 7 Oct 2020 reading could have been reversed

``sweep``, ``sensitivity`` and the EMA Workbench connector use them when no parameter is given.
Each entry is checked against the scenario when it is loaded: the path must name a field, and the
range or choices must be values that field accepts (its bounds from the schema).

This module also lists every overridable path of a scenario with its value, bounds and
description (:func:`overridable_parameters`), walking the schema's models generically.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import types
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator
from pydantic.fields import FieldInfo

# The schema imports this module (for the ``uncertainties`` field), so the helpers below import
# the schema and the override machinery inside the functions that need them.

DOTTED_PATH = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$"
Finding = tuple[tuple, str]


class Uncertainty(BaseModel):
    """One uncertain parameter: its dotted path, a range or a set of choices, and the reasoning."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    path: str = Field(pattern=DOTTED_PATH, max_length=300,
                      description="dotted path of the parameter, as for --set (list entries by id)")
    range: list[float] | None = Field(None, min_length=2, max_length=2,
                                      description="[low, high]: the values it may plausibly take")
    choices: list[Any] | None = Field(None, min_length=2, max_length=100,
                                      description="or: the values it may take (e.g. a tie's scope)")
    source: str = Field(min_length=1, max_length=2000, description="why this range: sources or reasoning")

    @model_validator(mode="after")
    def _one_kind(self) -> Uncertainty:
        if (self.range is None) == (self.choices is None):
            raise ValueError("give either range: [low, high] or choices: [a, b, ...], not both and not neither")
        if self.range is not None:
            low, high = self.range
            if not (math.isfinite(low) and math.isfinite(high)):
                raise ValueError(f"range [{low:g}, {high:g}] must hold finite numbers")
            if not low < high:
                raise ValueError(f"range [{low:g}, {high:g}] must be [low, high] with low below high")
        if self.choices is not None and len({repr(c) for c in self.choices}) != len(self.choices):
            raise ValueError("a choice is listed twice")
        return self

    @property
    def name(self) -> str:
        """A Python identifier for tools that need one (EMA Workbench): the path with '.' as '__'."""
        return self.path.replace(".", "__")

    def spec(self) -> str:
        """The ``--param`` form: ``PATH=LOW:HIGH`` or ``PATH=a,b,c``."""
        if self.range is not None:
            return f"{self.path}={self.range[0]!r}:{self.range[1]!r}"
        return f"{self.path}=" + ",".join(_plain_text(c) for c in self.choices or ())


def _plain_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- the schema field a path names ----------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    """What the schema says of the value at a path: its type, bounds, allowed values and meaning."""

    annotation: Any
    description: str
    bounds: dict[str, Any]

    @property
    def kind(self) -> str:
        """``float``, ``int``, ``bool``, ``choice``, ``text``, ``date``, ``list``, ``mapping`` or ``other``."""
        base = _unwrap(self.annotation)
        if typing.get_origin(base) is typing.Literal:
            return "choice"
        for kind, types_ in (("bool", (bool,)), ("int", (int,)), ("float", (float,)), ("text", (str,)),
                             ("date", (dt.date,))):
            if base in types_:
                return kind
        origin = typing.get_origin(base)
        if origin is list:
            return "list"
        if origin is dict or (isinstance(base, type) and issubclass(base, BaseModel)):
            return "mapping"
        return "other"

    @property
    def choices(self) -> tuple[Any, ...]:
        """The allowed values of a choice field (``()`` otherwise)."""
        base = _unwrap(self.annotation)
        return typing.get_args(base) if typing.get_origin(base) is typing.Literal else ()

    def allowed(self) -> str:
        """What the field accepts, in words: ``from 0 to 1``, ``'a' or 'b'``, ``true or false``."""
        kind = self.kind
        if kind == "choice":
            from sim.scenario.errors import one_of

            return one_of(str(c) for c in self.choices)
        if kind == "bool":
            return "true or false"
        if kind in ("int", "float"):
            noun = "a whole number" if kind == "int" else "a number"
            text = describe_bounds(self.bounds)
            return f"{noun} {text}" if text else noun
        return {"text": "text", "date": "a date YYYY-MM-DD", "list": "a list", "mapping": "a mapping"}.get(kind, "")

    def check(self, value: Any) -> str | None:
        """None when the field accepts ``value``, else what it accepts."""
        try:
            _adapter(self.annotation).validate_python(value)
        except ValidationError:
            return self.allowed() or "another value"
        if self.kind in ("int", "float") and not _within(float(value), self.bounds):
            return self.allowed()
        return None


@functools.lru_cache(maxsize=256)
def _adapter(annotation: Any) -> TypeAdapter:
    """A pydantic validator for a field's type (built once per type: building one is slow)."""
    return TypeAdapter(annotation)


def _within(value: float, bounds: dict[str, Any]) -> bool:
    return (value >= bounds.get("ge", -math.inf) and value > bounds.get("gt", -math.inf)
            and value <= bounds.get("le", math.inf) and value < bounds.get("lt", math.inf))


def _unwrap(annotation: Any) -> Any:
    """``float`` for ``Annotated[float, ...]`` and ``float | None``."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            rest = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(rest) != 1:
                return annotation
            annotation = rest[0]
        else:
            return annotation


def _metadata_bounds(annotation: Any, metadata: Sequence[Any] = ()) -> dict[str, Any]:
    """The ge/gt/le/lt constraints on a field, from its metadata and its Annotated type."""
    items = list(metadata)
    current = annotation
    while True:
        origin = typing.get_origin(current)
        if origin is typing.Annotated:
            arguments = typing.get_args(current)
            items.extend(arguments[1:])
            current = arguments[0]
        elif origin in (typing.Union, types.UnionType):
            rest = [a for a in typing.get_args(current) if a is not type(None)]
            if len(rest) != 1:
                break
            current = rest[0]
        else:
            break
    bounds: dict[str, Any] = {}
    while items:
        item = items.pop(0)
        items.extend(getattr(item, "metadata", ()) or ())   # a Field(...) inside Annotated carries its own
        for name in ("ge", "gt", "le", "lt"):
            value = getattr(item, name, None)
            if value is not None:
                bounds[name] = value
        for inner in getattr(item, "metadata", ()) or ():  # a FieldInfo inside Annotated
            for name in ("ge", "gt", "le", "lt"):
                value = getattr(inner, name, None)
                if value is not None:
                    bounds[name] = value
    return bounds


def annotation_bounds(annotation: Any) -> dict[str, Any]:
    """The ge/gt/le/lt bounds inside a type (``Annotated[float, Field(ge=0)]``, also in ``X | None``)."""
    return _metadata_bounds(annotation)


def field_bounds(info: FieldInfo | None) -> dict[str, Any]:
    """The ge/gt/le/lt bounds of a schema field ({} for none)."""
    if info is None:
        return {}
    return _metadata_bounds(info.annotation, info.metadata)


def describe_bounds(bounds: dict[str, Any]) -> str:
    """``from 0 to 1``, ``more than 0``, ``at least 1 and at most 3,650``: bounds in words."""
    if "ge" in bounds and "le" in bounds:
        return f"from {_number(bounds['ge'])} to {_number(bounds['le'])}"
    low = (f"at least {_number(bounds['ge'])}" if "ge" in bounds
           else f"more than {_number(bounds['gt'])}" if "gt" in bounds else "")
    high = (f"at most {_number(bounds['le'])}" if "le" in bounds
            else f"less than {_number(bounds['lt'])}" if "lt" in bounds else "")
    return " and ".join(part for part in (low, high) if part)


def _number(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}" if abs(value) >= 1_000 else str(value)
    if isinstance(value, float):
        return f"{int(value):,}" if value.is_integer() and abs(value) >= 1_000 else f"{value:g}"
    return str(value)


def field_spec(path: Sequence[Any]) -> FieldSpec | None:
    """The schema's view of the value at a document path (keys and list positions), if any."""
    from sim.scenario.schema import Scenario

    annotation: Any = Scenario
    description = ""
    bounds: dict[str, Any] = {}
    for part in path:
        base = _unwrap(annotation)
        origin = typing.get_origin(base)
        if isinstance(base, type) and issubclass(base, BaseModel) and isinstance(part, str):
            info = base.model_fields.get(part)
            if info is None:
                return None
            annotation, description, bounds = info.annotation, info.description or "", field_bounds(info)
        elif origin is list and isinstance(part, int):
            annotation = typing.get_args(base)[0]
            bounds = _metadata_bounds(annotation)
        elif origin is dict and isinstance(part, str):
            annotation = typing.get_args(base)[1]
            bounds = _metadata_bounds(annotation)  # the dict field's description stays
        else:
            return None
    return FieldSpec(annotation, description, bounds)


# --- checking declared uncertainties against the scenario -----------------------------------------


def _declared_paths(scenario: Any) -> tuple[dict[str, Any], list[tuple[int, Uncertainty, tuple | str]]]:
    """The scenario as data (every field, defaults included), and each declared uncertainty with the document path
    its dotted path names there, or the message saying why it names none."""
    from sim.scenario.errors import ScenarioError
    from sim.scenario.overrides import resolve_path

    data = scenario.model_dump(mode="json", by_alias=True)
    declared: list[tuple[int, Uncertainty, tuple | str]] = []
    for index, uncertainty in enumerate(scenario.uncertainties):
        try:
            declared.append((index, uncertainty, tuple(resolve_path(data, uncertainty.path, origin="", create=False))))
        except ScenarioError as error:
            declared.append((index, uncertainty, error.problems[0].message))
    return data, declared


def check_uncertainties(scenario: Any) -> list[Finding]:
    """Every problem with the scenario's declared uncertainties, as (document path, message) pairs.

    The path must name a value of the scenario (list entries by id) that is a number, a choice or a
    flag; a range must lie inside the field's bounds (whole numbers for a whole-number field) and
    every choice must be a value the field accepts.
    """
    findings: list[Finding] = []
    seen: dict[str, int] = {}
    for index, uncertainty, path in _declared_paths(scenario)[1]:
        here = ("uncertainties", index)
        if uncertainty.path in seen:
            findings.append(((*here, "path"), f"'{uncertainty.path}' is declared twice "
                                              f"(first as uncertainties[{seen[uncertainty.path]}])"))
            continue
        seen[uncertainty.path] = index
        if uncertainty.path.split(".")[0] in ("uncertainties", "observed"):
            findings.append(((*here, "path"), f"found '{uncertainty.path}'; an uncertainty names a model "
                                              "parameter, not the uncertainties or the observed record"))
            continue
        if isinstance(path, str):
            findings.append(((*here, "path"), path))
            continue
        spec = field_spec(path)
        kind = spec.kind if spec is not None else "other"
        if uncertainty.range is not None:
            findings.extend(_check_range(uncertainty, spec, kind, here))
        else:
            findings.extend(_check_choices(uncertainty, spec, kind, here))
    return findings


def values_outside_ranges(scenario: Any) -> list[Finding]:
    """The declared ranges that leave out the value the scenario gives (as written, or its default), as (document
    path, message) pairs: a warning, not an error (a refitted default may fall outside a range written before),
    but the sweeps and the what-if page start from a value the analyst has called implausible."""
    findings: list[Finding] = []
    data, declared = _declared_paths(scenario)
    for index, uncertainty, path in declared:
        if uncertainty.range is None or isinstance(path, str):
            continue     # a path that names nothing is reported by check_uncertainties
        value = functools.reduce(lambda node, part: node[part], path, data)   # the data holds every field
        if value is None:
            value = shared_value(scenario, uncertainty.path)
        low, high = uncertainty.range
        if isinstance(value, (int, float)) and not isinstance(value, bool) and not low <= value <= high:
            findings.append((("uncertainties", index, "range"),
                             f"the range [{low:g}, {high:g}] leaves out the value the scenario gives "
                             f"'{uncertainty.path}', {value:g}: sweeps and the what-if page start from it"))
    return findings


def shared_value(scenario: Any, dotted: str) -> float | None:
    """The value an outside power's unset field runs with: the shared one of ``dynamics`` (None for any other
    path)."""
    from sim.scenario.schema import SHARED_OUTSIDE_FIELDS

    name = dotted.rsplit(".", 1)[-1]
    if name in SHARED_OUTSIDE_FIELDS and dotted.startswith("actors."):
        return getattr(scenario.dynamics, name)
    return None


def _check_range(uncertainty: Uncertainty, spec: FieldSpec | None, kind: str, here: tuple) -> Iterator[Finding]:
    low, high = uncertainty.range or (0.0, 0.0)
    where = (*here, "range")
    if spec is None or kind not in ("int", "float"):
        yield where, (f"'{uncertainty.path}' is not a number ({spec.allowed() if spec else 'not a field'}); "
                      "a range is for numbers: give choices: [...] instead")
        return
    if kind == "int" and not (float(low).is_integer() and float(high).is_integer()):
        yield where, f"found [{low:g}, {high:g}]; '{uncertainty.path}' takes whole numbers"
        return
    for end, value in (("low", low), ("high", high)):
        if spec.check(int(value) if kind == "int" else value) is not None:
            yield where, (f"found [{low:g}, {high:g}]: the {end} end {value:g} is outside what "
                          f"'{uncertainty.path}' allows; allowed: {spec.allowed()}")
            return


def _check_choices(uncertainty: Uncertainty, spec: FieldSpec | None, kind: str, here: tuple) -> Iterator[Finding]:
    where = (*here, "choices")
    if spec is None or kind not in ("choice", "bool", "int", "float", "text"):
        what = spec.allowed() if spec else "not a field"
        yield where, f"'{uncertainty.path}' is {what}; choices are for single values"
        return
    for choice in uncertainty.choices or ():
        allowed = spec.check(choice)
        if allowed is not None:
            yield where, f"found {choice!r} among the choices; '{uncertainty.path}' allows {allowed}"
            return


# --- every overridable parameter --------------------------------------------------------------------


@dataclass(frozen=True)
class ParameterInfo:
    """One overridable value of a scenario: its path (as for --set), value, what it allows, meaning."""

    path: str
    value: Any
    allowed: str
    description: str
    declared: Uncertainty | None = None


def overridable_parameters(scenario: Any) -> list[ParameterInfo]:
    """Every value of a scenario that ``--set`` can change, in schema order.

    Walks the schema's models generically (sections, list entries by id, mappings by key), so it
    follows the schema as it changes. Lists of entries without an id cannot be addressed and are
    left out, as are the declared uncertainties themselves.
    """
    declared = {u.path: u for u in getattr(scenario, "uncertainties", [])}
    found: list[ParameterInfo] = []
    _walk(scenario, [], [], found, declared)
    return found


def _walk(node: Any, path: list[Any], dotted: list[str], found: list[ParameterInfo],
          declared: dict[str, Uncertainty]) -> None:
    if isinstance(node, BaseModel):
        for name in type(node).model_fields:
            if (not path and name == "uncertainties") or (name == "id" and path and isinstance(path[-1], int)):
                continue  # the declared uncertainties themselves; an entry's id is how paths name it
            _walk(getattr(node, name), [*path, name], [*dotted, name], found, declared)
        return
    spec = field_spec(path)
    if isinstance(node, list) and node and all(isinstance(item, BaseModel) for item in node):
        for index, item in enumerate(node):
            label = getattr(item, "id", None)
            if isinstance(label, str) and label:
                _walk(item, [*path, index], [*dotted, label], found, declared)
        return
    if isinstance(node, dict) and spec is not None and spec.kind == "mapping":
        for key, value in node.items():
            _walk(value, [*path, key], [*dotted, str(key)], found, declared)
        return
    if spec is None or (node is None and _is_section(spec)):
        return  # an absent optional section (a backer's mediator profile): nothing to override
    text = ".".join(dotted)
    found.append(ParameterInfo(text, node, spec.allowed(), spec.description, declared.get(text)))


def _is_section(spec: FieldSpec) -> bool:
    base = _unwrap(spec.annotation)
    return isinstance(base, type) and issubclass(base, BaseModel)


def parameter_rows(scenario: Any) -> list[dict[str, str]]:
    """:func:`overridable_parameters` as text rows (path, value, allowed, declared range, description)."""
    rows = []
    for info in overridable_parameters(scenario):
        declared = ""
        if info.declared is not None:
            declared = (f"[{info.declared.range[0]:g}, {info.declared.range[1]:g}]" if info.declared.range
                        else "{" + ", ".join(_plain_text(c) for c in info.declared.choices or ()) + "}")
        value = _show(info.value)
        shared = shared_value(scenario, info.path) if info.value is None else None
        if shared is not None:
            value = f"{shared:g} (dynamics)"   # an unset field runs with the shared value
        rows.append({"path": info.path, "value": value, "allowed": info.allowed,
                     "uncertainty": declared, "description": info.description})
    return rows


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return re.sub(r"\s+", " ", str(value)).strip()


__all__ = [
    "FieldSpec",
    "ParameterInfo",
    "Uncertainty",
    "annotation_bounds",
    "check_uncertainties",
    "describe_bounds",
    "field_bounds",
    "field_spec",
    "overridable_parameters",
    "parameter_rows",
    "shared_value",
    "values_outside_ranges",
]
