"""Safe YAML reading that remembers where every value came from.

The text is composed into YAML nodes by PyYAML's safe loader and turned into plain Python
(dict, list, str, int, float, bool, None, date) here, so that each value's line and column can
be looked up by its path in the document. Only standard YAML tags are accepted: a tag that would
construct an object is an error. Duplicate keys, alias bombs, huge and deeply nested documents
are refused with a clear message rather than a crash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sim.scenario.errors import Problem, ScenarioError

MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 40
MAX_NODES = 200_000

Location = tuple[int, int]
PathKey = tuple[Any, ...]

_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}


@dataclass
class Document:
    """A parsed YAML document: its data and where each value (and mapping key) sits."""

    data: Any
    source: str
    text: str = ""
    values: dict[PathKey, Location] = field(default_factory=dict)
    keys: dict[PathKey, Location] = field(default_factory=dict)
    overridden: dict[PathKey, str] = field(default_factory=dict)

    def override_for(self, path: PathKey) -> str | None:
        """The ``--set`` text that replaced the value at ``path`` or one of its ancestors."""
        path = tuple(path)
        for length in range(len(path), -1, -1):
            if path[:length] in self.overridden:
                return self.overridden[path[:length]]
        return None

    def locate(self, path: PathKey, *, key: bool = False) -> Location | None:
        """Line and column of the value (or key) at ``path``, else of its nearest ancestor."""
        table = self.keys if key else self.values
        if path in table:
            return table[path]
        path = tuple(path)
        while path:
            path = path[:-1]
            if path in self.values:
                return self.values[path]
        return None


def read_document(path: str | Path) -> Document:
    """Read a scenario file as a :class:`Document`; every failure is a :class:`ScenarioError`."""
    source = str(path)
    try:
        file = Path(path)
        if file.is_dir():
            raise ScenarioError(Problem("is a folder, not a scenario file", source=source))
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ScenarioError(Problem(
                f"the file is {size:,} bytes; a scenario may be at most {MAX_FILE_BYTES:,} bytes",
                source=source,
            ))
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(Problem("no such file", source=source)) from None
    except PermissionError:
        raise ScenarioError(Problem("cannot read the file: permission denied", source=source)) from None
    except OSError as error:
        raise ScenarioError(Problem(f"cannot read the file: {error.strerror}", source=source)) from None
    return parse_bytes(raw, source)


def parse_bytes(raw: bytes, source: str) -> Document:
    """Decode UTF-8 strictly and parse; see :func:`parse_text`."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        raise ScenarioError(Problem(
            f"byte 0x{raw[error.start]:02x} is not valid UTF-8; save the file as UTF-8 text",
            line=line, column=column, source=source,
        )) from None
    return parse_text(text, source)


def parse_text(text: str, source: str) -> Document:
    """Parse YAML text into a :class:`Document` holding only plain data."""
    if len(text.encode("utf-8", errors="replace")) > MAX_FILE_BYTES:
        raise ScenarioError(Problem(
            f"the document is larger than {MAX_FILE_BYTES:,} bytes", source=source
        ))
    if not text.strip() or all(
        not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()
    ):
        raise ScenarioError(Problem("the file is empty; a scenario is a YAML mapping", source=source))
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        what = " ".join(p for p in (error.context, error.problem) if p)
        raise ScenarioError(Problem(
            f"YAML syntax error: {what}",
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
            source=source,
        )) from None
    except yaml.YAMLError as error:
        raise ScenarioError(Problem(f"YAML error: {error}", source=source)) from None
    except RecursionError:
        raise ScenarioError(Problem(
            f"the document is nested too deeply (at most {MAX_DEPTH} levels)", source=source
        )) from None
    if len(nodes) != 1:
        raise ScenarioError(Problem(
            f"found {len(nodes)} YAML documents; a scenario file holds exactly one", source=source
        ))
    document = Document(data=None, source=source, text=text)
    builder = _Builder(document)
    document.data = builder.build(nodes[0], ())
    if not isinstance(document.data, dict):
        raise ScenarioError(Problem(
            f"found {_kind(document.data)} at the top level; a scenario is a YAML mapping "
            "of fields such as name, actors and ties",
            line=1, column=1, source=source,
        ))
    return document


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string"}.get(type(value), type(value).__name__)


class _Builder:
    """Turns composed YAML nodes into plain data, recording each value's location."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.nodes = 0
        self.constructor = yaml.SafeLoader("")

    def fail(self, node: yaml.Node, message: str, path: PathKey = ()) -> None:
        raise ScenarioError(Problem(
            message,
            field=".".join(str(p) for p in path),
            line=node.start_mark.line + 1,
            column=node.start_mark.column + 1,
            source=self.document.source,
        ))

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            self.fail(node, f"the document has more than {MAX_NODES:,} values (are aliases "
                            "expanding without end?)")
        if len(path) > MAX_DEPTH:
            self.fail(node, f"nested more than {MAX_DEPTH} levels deep", path)
        self.document.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            if node.tag != "tag:yaml.org,2002:map":
                self.fail(node, f"the tag {node.tag} is not allowed; use plain YAML", path)
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    self.fail(key_node, "a mapping key must be a plain word", path)
                key = self.scalar(key_node, path)
                if key == "<<":
                    self.fail(key_node, "merge keys (<<) are not supported in scenarios", path)
                if not isinstance(key, str):
                    key = str(key)
                if key in result:
                    self.fail(key_node, f"the key '{key}' appears twice in this mapping", path)
                self.document.keys[(*path, key)] = (
                    key_node.start_mark.line + 1, key_node.start_mark.column + 1
                )
                result[key] = self.build(value_node, (*path, key))
            return result
        if isinstance(node, yaml.SequenceNode):
            if node.tag != "tag:yaml.org,2002:seq":
                self.fail(node, f"the tag {node.tag} is not allowed; use plain YAML", path)
            return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
        return self.scalar(node, path)

    def scalar(self, node: yaml.Node, path: PathKey) -> Any:
        if node.tag not in _SCALAR_TAGS:
            self.fail(node, f"the tag {node.tag} is not allowed; scenarios hold plain values "
                            "(text, numbers, true/false, dates)", path)
        try:
            return self.constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError) as error:
            self.fail(node, f"cannot read the value {node.value!r}: {error}", path)
