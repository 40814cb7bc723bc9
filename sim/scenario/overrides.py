"""``--set DOTTED.PATH=VALUE`` overrides, applied to a scenario's data before validation.

A path walks mappings by key and lists by the ``id`` of their entries (``actors.russia.backer.
escalation_rate``, ``commitments.turkey_azerbaijan_pact.reliability``), never by position, so an
override keeps meaning the same thing when the file is reordered. The value is read as YAML
(``0.3``, ``true``, ``anywhere``, ``[a, b]``), then the whole scenario is validated again.
"""

from __future__ import annotations

import pickle
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from sim.scenario.errors import Problem, ScenarioError, did_you_mean
from sim.scenario.schema import Scenario
from sim.scenario.yamlsource import Document, entry_label, parse_value

PathKey = tuple[Any, ...]

__all__ = ["allowed_fields", "apply_overrides", "apply_values", "entry_label", "format_value", "parse_assignment",
           "resolve_path", "schema_fields"]


def parse_assignment(text: str, origin: str | None = None) -> tuple[str, Any]:
    """Split ``PATH=VALUE`` and read the value as YAML (see :func:`parse_value`).

    ``origin`` names the override in messages (default ``--set PATH=VALUE``).
    """
    path, separator, value = text.partition("=")
    if not separator or not path.strip():
        raise ScenarioError(Problem(
            f"found '{_short(text)}'; an override is DOTTED.PATH=VALUE, e.g. "
            "actors.russia.outside.escalation_rate=0.1",
            source=(origin or "--set").split(" ")[0],
        ))
    return path.strip(), parse_value(value, origin or f"--set {_short(text)}")


def apply_overrides(document: Document, overrides: Sequence[str], origin: str = "--set") -> dict[str, Any]:
    """A copy of the document's data with every override applied; the document learns which.

    ``origin`` names where the overrides came from in messages (``--set``, ``--param``).
    """
    data = _copy(document.data)
    for text in overrides:
        where = f"{origin} {_short(text)}"
        dotted, value = parse_assignment(text, where)
        _apply_one(document, data, dotted, value, where)
    return data


def apply_values(document: Document, values: Mapping[str, Any], origin: str = "--param") -> dict[str, Any]:
    """Like :func:`apply_overrides` for values that are already typed (path -> value), without YAML.

    Messages name each override as ``ORIGIN PATH=VALUE``, exactly as the same override given as text.
    """
    data = _copy(document.data)
    for dotted, value in values.items():
        _apply_one(document, data, dotted, value, f"{origin} {_short(f'{dotted}={format_value(value)}')}")
    return data


def _copy(data: Any) -> Any:
    """A deep copy of plain parsed data (mappings, lists, text, numbers, dates): a pickle round trip,
    several times faster than ``copy.deepcopy`` for the data of a scenario."""
    return pickle.loads(pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))


def _apply_one(document: Document, data: dict[str, Any], dotted: str, value: Any, where: str) -> None:
    """Set the value a dotted path names, and record in the document which override set it."""
    path = resolve_path(data, dotted, origin=where)
    _assign(data, path, value)
    document.overridden[path] = where
    for length in range(1, len(path)):
        if path[:length] not in document.values:  # a section the override created
            document.overridden.setdefault(path[:length], where)


def format_value(value: Any) -> str:
    """A value as it would be written after ``PATH=`` (``true``, ``0.25``, ``anywhere``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def resolve_path(data: dict[str, Any], dotted: str, *, origin: str, create: bool = True) -> PathKey:
    """The document path (keys and list positions) that a dotted override path names.

    A missing last key is allowed when ``create`` is true (it sets an optional field the file
    leaves to its default; the schema then decides whether that field exists), and so is a
    missing section the schema knows (``dynamics`` in ``dynamics.spiral_gain``), which is
    created empty.
    """
    parts = dotted.split(".")
    node: Any = data
    path: list[Any] = []
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        here = ".".join(parts[:depth]) or "the scenario"
        if isinstance(node, list):
            labels = [entry_label(item) for item in node]
            if not part or part not in labels:
                known = [label for label in labels if label]
                raise ScenarioError(Problem(
                    f"'{here}' has no entry with id '{part}'; allowed: {', '.join(known) or 'none'}"
                    f"{did_you_mean(part, known)}",
                    field=dotted, source=origin,
                ))
            index = labels.index(part)
            path.append(index)
            node = node[index]
        elif isinstance(node, dict):
            if part not in node:
                schema = allowed_fields(tuple(path))
                if create and last:
                    path.append(part)
                    return tuple(path)
                if create and part in schema:
                    # A section the file leaves to its defaults: set a field inside it.
                    path.append(part)
                    if (allowed_fields(tuple(path)) or _is_mapping(tuple(path))) and not _is_list(tuple(path)):
                        node[part] = {}
                        node = node[part]
                    else:
                        node = []  # a list left empty: the next part names an entry it lacks
                    continue
                allowed = list(dict.fromkeys([*schema, *map(str, node)]))
                raise ScenarioError(Problem(
                    f"'{here}' has no field '{part}'; allowed: {', '.join(allowed) or 'none'}"
                    f"{did_you_mean(part, allowed)}",
                    field=dotted, source=origin,
                ))
            path.append(part)
            node = node[part]
        else:
            raise ScenarioError(Problem(
                f"'{here}' is a single value; it has no field '{part}'",
                field=dotted, source=origin,
            ))
    return tuple(path)


def allowed_fields(path: Sequence[Any]) -> list[str]:
    """The field names the schema allows in the mapping at ``path`` ([] when it is not a section)."""
    model: type[BaseModel] | None = Scenario
    for part in path:
        if model is None:
            return []
        if isinstance(part, int):
            continue
        field = schema_fields(model).get(part)
        if field is None:
            return []
        model = model_of(field.annotation)
    return list(schema_fields(model)) if model is not None else []


def schema_fields(model: type[BaseModel]) -> dict[str, Any]:
    """A schema model's fields by the key a file writes (its alias, e.g. ``from``, where it has one)."""
    return {info.alias or name: info for name, info in model.model_fields.items()}


def _annotation_at(path: Sequence[Any]) -> Any:
    """The type of the schema field at ``path`` (a field of a section)."""
    model: Any = Scenario
    for part in path[:-1]:
        if isinstance(part, str):
            model = model_of(schema_fields(model)[part].annotation)
    return schema_fields(model)[path[-1]].annotation


def _is_list(path: Sequence[Any]) -> bool:
    """Whether the schema field at ``path`` holds a list."""
    return typing.get_origin(_annotation_at(path)) is list


def _is_mapping(path: Sequence[Any]) -> bool:
    """Whether the schema field at ``path`` holds a plain mapping (``leverage``, ``actor_forms``)."""
    annotation = _annotation_at(path)
    return any(typing.get_origin(a) is dict for a in (annotation, *typing.get_args(annotation)))


def model_of(annotation: Any) -> type[BaseModel] | None:
    """The schema model inside a field's type (``Actor`` in ``list[Actor]``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in getattr(annotation, "__args__", ()) or ():
        found = model_of(argument)
        if found is not None:
            return found
    return None


def _assign(data: Any, path: PathKey, value: Any) -> None:
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
