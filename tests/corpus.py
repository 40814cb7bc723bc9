"""Generated hostile inputs: every numeric leaf of a scenario at extreme values, every text leaf made hostile.

Each mutation rewrites one scalar in the YAML *text* (so that errors can point at a file, line and
column), leaving the rest of the file as written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

#: YAML spellings PyYAML reads as floats (``1e308`` without a dot would be a string).
NUMBERS = {"1e308": "1.0e+308", "5e-324": "5.0e-324", "nan": ".nan", "inf": ".inf"}
TEXTS = {"dollars": r"Cost $\frac$ war $$ $x^$", "backslash": "a\\b\\", "nul": "a\u0000b", "long": "x" * 10_000}


@dataclass(frozen=True)
class Mutation:
    """One scalar of the text replaced: where, by what."""

    path: tuple[Any, ...]
    kind: str
    text: str

    @property
    def label(self) -> str:
        return ".".join(str(part) for part in self.path) + f"={self.kind}"


def _scalars(node: yaml.Node, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], yaml.ScalarNode]]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from _scalars(value, (*path, key.value))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _scalars(item, (*path, index))
    elif isinstance(node, yaml.ScalarNode):
        yield path, node


def _replace(text: str, node: yaml.ScalarNode, token: str) -> str:
    start, end = node.start_mark.index, node.end_mark.index
    return text[:start] + token + text[end:]


def mutations(text: str) -> list[Mutation]:
    """Every numeric leaf at each of :data:`NUMBERS`, every text leaf as each of :data:`TEXTS`."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    found = []
    for path, node in _scalars(root, ()):
        if node.tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float"):
            for kind, token in NUMBERS.items():
                found.append(Mutation(path, kind, _replace(text, node, token)))
        elif node.tag == "tag:yaml.org,2002:str":
            for kind, value in TEXTS.items():
                found.append(Mutation(path, kind, _replace(text, node, json.dumps(value))))
    return found


def one_per_leaf(found: list[Mutation]) -> list[Mutation]:
    """One mutation per leaf, the kinds taken in turn along the file: every leaf and every kind are seen."""
    by_leaf: dict[tuple[Any, ...], list[Mutation]] = {}
    for mutation in found:
        by_leaf.setdefault(mutation.path, []).append(mutation)
    return [choices[index % len(choices)] for index, choices in enumerate(by_leaf.values())]
