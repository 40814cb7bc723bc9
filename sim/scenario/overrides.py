"""``--set DOTTED.PATH=VALUE`` overrides, applied to a scenario's data before validation.

A path walks mappings by key and lists by the ``id`` of their entries (``actors.russia.backer.
escalation_rate``, ``ties.turkey_azerbaijan_defence_pact.reliability``), never by position, so an
override keeps meaning the same thing when the file is reordered. The value is read as YAML
(``0.3``, ``true``, ``anywhere``, ``[a, b]``), then the whole scenario is validated again.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import yaml

from sim.scenario.errors import Problem, ScenarioError, did_you_mean
from sim.scenario.yamlsource import Document

PathKey = tuple[Any, ...]


def parse_assignment(text: str) -> tuple[str, Any]:
    """Split ``PATH=VALUE`` and read the value as a YAML scalar or flow list."""
    path, separator, value = text.partition("=")
    if not separator or not path.strip():
        raise ScenarioError(Problem(
            f"found '{text}'; an override is DOTTED.PATH=VALUE, e.g. actors.russia.backer.escalation_rate=0.1",
            source="--set",
        ))
    try:
        parsed = yaml.safe_load(value) if value.strip() else ""
    except yaml.YAMLError:
        parsed = value
    return path.strip(), parsed


def apply_overrides(document: Document, overrides: Sequence[str], origin: str = "--set") -> dict[str, Any]:
    """A copy of the document's data with every override applied; the document learns which.

    ``origin`` names where the overrides came from in messages (``--set``, ``--param``).
    """
    data = copy.deepcopy(document.data)
    for text in overrides:
        dotted, value = parse_assignment(text)
        path = resolve_path(data, dotted, origin=f"{origin} {text}")
        _assign(data, path, value)
        document.overridden[path] = f"{origin} {text}"
    return data


def resolve_path(data: dict[str, Any], dotted: str, *, origin: str, create: bool = True) -> PathKey:
    """The document path (keys and list positions) that a dotted override path names.

    A missing last key is allowed when ``create`` is true (it sets an optional field the file
    leaves to its default); the schema then decides whether that field exists.
    """
    parts = dotted.split(".")
    node: Any = data
    path: list[Any] = []
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, list):
            labels = [entry_label(item) for item in node]
            if part not in labels:
                raise ScenarioError(Problem(
                    f"'{'.'.join(parts[:depth]) or 'the scenario'}' has no entry with id '{part}'; "
                    f"allowed: {', '.join(label for label in labels if label) or 'none'}{did_you_mean(part, labels)}",
                    field=dotted, source=origin,
                ))
            index = labels.index(part)
            path.append(index)
            node = node[index]
        elif isinstance(node, dict):
            if part not in node:
                if last and create:
                    path.append(part)
                    return tuple(path)
                here = ".".join(parts[:depth]) or "the scenario"
                raise ScenarioError(Problem(
                    f"'{here}' has no field '{part}'; allowed: {', '.join(map(str, node))}"
                    f"{did_you_mean(part, node)}",
                    field=dotted, source=origin,
                ))
            path.append(part)
            node = node[part]
        else:
            raise ScenarioError(Problem(
                f"'{'.'.join(parts[:depth])}' is a single value; it has no field '{part}'",
                field=dotted, source=origin,
            ))
    return tuple(path)


def entry_label(item: Any) -> str:
    """The id by which overrides and messages name a list entry ('' when it has none)."""
    if isinstance(item, dict):
        if isinstance(item.get("id"), str):
            return item["id"]
        if {"backer", "client", "kind"} <= item.keys():
            return f"{item['backer']}_{item['client']}_{item['kind']}"
        between = item.get("between")
        if isinstance(between, list) and all(isinstance(b, str) for b in between):
            return "_".join(between)
    return ""


def _assign(data: Any, path: PathKey, value: Any) -> None:
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
