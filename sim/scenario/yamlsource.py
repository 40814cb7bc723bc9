"""Safe YAML reading that remembers where every value came from.

The text is composed into YAML nodes by PyYAML's safe loader and turned into plain Python
(dict, list, str, int, float, bool, None, date) here, so that each value's line and column can
be looked up by its path in the document. Only standard YAML tags are accepted: a tag that would
construct an object is an error. Duplicate keys, alias bombs, huge and deeply nested documents
are refused with a clear message rather than a crash.

Mistakes that leave the rest of the document readable (a duplicate key, a disallowed tag, a
merge key) are collected in :attr:`Document.problems` so that they are reported together with
the schema's findings; mistakes that make the document unreadable raise :class:`ScenarioError`.
"""

from __future__ import annotations

import unicodedata
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
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass
class Document:
    """A parsed YAML document: its data and where each value (and mapping key) sits.

    ``problems`` holds mistakes found while reading that did not stop it (each also listed by
    its path in ``problem_paths``, so that later findings about the same value can be dropped).
    """

    data: Any
    source: str
    text: str = ""
    values: dict[PathKey, Location] = field(default_factory=dict)
    keys: dict[PathKey, Location] = field(default_factory=dict)
    overridden: dict[PathKey, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    problem_paths: list[PathKey] = field(default_factory=list)
    names: dict[PathKey, str] = field(default_factory=dict)

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
        if not file.exists():
            raise FileNotFoundError(source)
        if not file.is_file():
            raise ScenarioError(Problem("is not a regular file (a device or pipe?); give a scenario file",
                                        source=source))
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ScenarioError(Problem(_too_large(size), source=source))
        with file.open("rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ScenarioError(Problem("no such file", source=source)) from None
    except PermissionError:
        raise ScenarioError(Problem("cannot read the file: permission denied", source=source)) from None
    except OSError as error:
        raise ScenarioError(Problem(f"cannot read the file: {error.strerror or error}", source=source)) from None
    except ValueError as error:  # e.g. a NUL character in the path
        raise ScenarioError(Problem(f"cannot read the file: {error}", source=source)) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(Problem(_too_large(len(raw)), source=source))
    return parse_bytes(raw, source)


def _too_large(size: int, more: bool = False) -> str:
    found = f"more than {MAX_FILE_BYTES:,}" if more else f"{size:,}"
    return f"found a file of {found} bytes; allowed: at most {MAX_FILE_BYTES:,} bytes"


def parse_bytes(raw: bytes, source: str) -> Document:
    """Decode UTF-8 strictly and parse; see :func:`parse_text`."""
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(Problem(_too_large(len(raw)), source=source))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        hint = "save the file as UTF-8 text"
        if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
            hint = "the file looks like UTF-16; save it as UTF-8 text"
        raise ScenarioError(Problem(
            f"found byte 0x{raw[error.start]:02x}, which is not valid UTF-8; {hint}",
            line=line, column=column, source=source,
        )) from None
    return parse_text(text, source)


def parse_text(text: str, source: str, *, locate_fields: bool = True) -> Document:
    """Parse YAML text into a :class:`Document` holding only plain data.

    With ``locate_fields``, an alias or anchor mistake (found before any field is read) is reported
    with the field it sits in, found by reading the text once more with the mistake mended.
    """
    if len(text) > MAX_FILE_BYTES or len(text.encode("utf-8", errors="surrogatepass")) > MAX_FILE_BYTES:
        raise ScenarioError(Problem(_too_large(0, more=True), source=source))
    if not text.strip():
        raise ScenarioError(Problem("the file is empty; allowed: a YAML mapping of fields such as name, "
                                    "title, actors and fronts", source=source))
    if all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()):
        raise ScenarioError(Problem("the file holds only comments; allowed: a YAML mapping of fields such as "
                                    "name, title, actors and fronts", source=source))
    node = _compose_single(text, source, locate_fields=locate_fields)
    document = Document(data=None, source=source, text=text)
    document.data = _Builder(document).build(node, (), "")
    if not isinstance(document.data, dict):
        raise ScenarioError(Problem(
            f"found {_kind(document.data)} at the top level; allowed: a mapping of fields such as "
            "name, title, actors and fronts",
            line=node.start_mark.line + 1, column=node.start_mark.column + 1, source=source,
        ))
    return document


def parse_value(text: str, source: str) -> Any:
    """Read a ``--set`` value as YAML: a scalar, or a flow list or mapping (``[a, b]``, ``{a: 1}``).

    Text that is not valid YAML, or that YAML would read as a block mapping or list (``Crisis:
    the sequel``), is taken as the plain string it was written as.
    """
    stripped = text.strip()
    if not stripped:
        return ""
    if len(text) > MAX_FILE_BYTES:
        raise ScenarioError(Problem(_too_large(0, more=True), source=source))
    document = Document(data=None, source=source, text=text)
    try:
        node = _compose_single(text, source)
        value = _Builder(document).build(node, (), "")
    except ScenarioError as error:
        if error.problems[0].message.startswith(("YAML syntax error", "found 2 YAML", "YAML error")):
            return text
        document.problems[:0] = error.problems
    if document.problems:  # a line and column inside a one-line value would only confuse
        raise ScenarioError([Problem(p.message, source=source) for p in document.problems])
    if isinstance(value, (dict, list)) and stripped[0] not in "[{":
        return text
    return value


class _TooDeepError(Exception):
    def __init__(self, mark: yaml.Mark) -> None:
        super().__init__("too deep")
        self.mark = mark


class _Loader(yaml.SafeLoader):
    """The safe loader, refusing nesting deeper than ``MAX_DEPTH`` before recursing into it."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH + 1:
                raise _TooDeepError(self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _compose_single(text: str, source: str, *, locate_fields: bool = False) -> yaml.Node:
    """The one YAML document in ``text``, composed into nodes (nothing is constructed)."""
    loader: _Loader | None = None
    try:
        loader = _Loader(text)
        node = loader.get_node() if loader.check_node() else None
        if node is not None and loader.check_node():
            mark = loader.peek_event().start_mark
            raise ScenarioError(Problem(
                "found 2 YAML documents (a second one starts here); allowed: exactly one in a scenario file",
                line=mark.line + 1, column=mark.column + 1, source=source,
            ))
    except _TooDeepError as error:
        raise ScenarioError(Problem(
            f"found a value nested more than {MAX_DEPTH} levels deep; allowed: at most {MAX_DEPTH} levels",
            line=error.mark.line + 1, column=error.mark.column + 1, source=source,
        )) from None
    except yaml.composer.ComposerError as error:
        raise ScenarioError(_anchor_problem(error, source, text if locate_fields else None)) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        what = error.problem or error.context or "unreadable YAML"
        if error.context and error.problem:
            context = error.context
            if error.context_mark is not None and error.context_mark is not error.problem_mark:
                start = error.context_mark
                context += f" that starts at line {start.line + 1}, column {start.column + 1}"
            what += f" ({context})"
        if "'\\t'" in what:
            what += "; indent with spaces, not tabs"
        raise ScenarioError(Problem(
            f"YAML syntax error: {what}",
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
            source=source,
        )) from None
    except yaml.reader.ReaderError as error:
        line, column = _position(text, error.position)
        character = error.character
        code = f"U+{character:04X}" if isinstance(character, int) else repr(character)
        raise ScenarioError(Problem(
            f"YAML error: found the control character {code}, which YAML does not allow; "
            "allowed: printable text (remove the character)",
            line=line, column=column, source=source,
        )) from None
    except yaml.YAMLError as error:
        raise ScenarioError(Problem(f"YAML error: {error}", source=source)) from None
    except RecursionError:
        raise ScenarioError(Problem(
            f"found a value nested too deeply; allowed: at most {MAX_DEPTH} levels", source=source
        )) from None
    finally:
        if loader is not None:
            loader.dispose()
    if node is None:
        raise ScenarioError(Problem("the file holds no YAML document; allowed: a YAML mapping of fields "
                                    "such as name, title, actors and fronts", source=source))
    return node


def _anchor_problem(error: yaml.composer.ComposerError, source: str, text: str | None) -> Problem:
    """An alias to an anchor never defined, or an anchor defined twice, said plainly (with its field,
    when ``text`` is given to find it in)."""
    mark = error.problem_mark or error.context_mark
    where: dict[str, Any] = {"line": mark.line + 1, "column": mark.column + 1} if mark else {}
    context, problem = error.context or "", error.problem or ""
    if "undefined alias" in context or "undefined alias" in problem:
        name = (context + problem).split("'")[1] if "'" in context + problem else "?"
        if text is not None and mark is not None:
            where["field"] = _field_at(text, mark.index, len(name) + 1, "null", source)
        return Problem(f"found the alias *{name}, but no anchor &{name} is defined before it; allowed: an alias "
                       f"(*{name}) after the anchor (&{name}) it repeats, or the value written out", source=source,
                       **where)
    if "duplicate anchor" in context:
        name = context.split("'")[1] if "'" in context else "?"
        first = error.context_mark
        at = f" (first at line {first.line + 1}, column {first.column + 1})" if first else ""
        if text is not None and mark is not None:
            end = mark.index + len(name) + 1
            while end < len(text) and text[end] in " \t":  # the value then starts where the anchor did
                end += 1
            where["field"] = _field_at(text, mark.index, end - mark.index, "", source)
        return Problem(f"found the anchor &{name} a second time{at}; allowed: each anchor name once (rename one, "
                       "and the aliases that mean it)", source=source, **where)
    return Problem(f"YAML error: {problem or context}", source=source, **where)


def _field_at(text: str, index: int, length: int, replacement: str, source: str) -> str:
    """The field whose value starts at ``index``, read from the text with ``length`` characters there
    replaced (the alias by ``null``, the second anchor removed); ``""`` if the mended text still fails."""
    mended = text[:index] + replacement + text[index + length:]
    try:
        document = parse_text(mended, source, locate_fields=False)
    except ScenarioError:
        return ""
    line, column = _position(mended, index)
    candidates = [path for path, location in document.values.items() if location == (line, column)]
    return document.names.get(max(candidates, key=len), "") if candidates else ""


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def _kind(value: Any) -> str:
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    return {dict: "a mapping", list: "a list", str: "a string"}.get(type(value), f"a {type(value).__name__}")


def _tag(tag: str) -> str:
    """``!!python/object`` rather than ``tag:yaml.org,2002:python/object``."""
    prefix = "tag:yaml.org,2002:"
    return "!!" + tag[len(prefix):] if tag.startswith(prefix) else tag


def entry_label(item: Any) -> str:
    """The id by which overrides and messages name a list entry ('' when it has none)."""
    if isinstance(item, dict):
        if isinstance(item.get("id"), str):
            return item["id"]
        if {"from", "to", "kind"} <= item.keys():
            return f"{item['from']}_{item['to']}_{item['kind']}"
        between = item.get("between")
        if isinstance(between, list) and all(isinstance(b, str) for b in between):
            return "_".join(between)
    return ""


def _node_label(node: yaml.Node) -> str:
    """:func:`entry_label` of a list entry, read from its YAML node before it is built."""
    if not isinstance(node, yaml.MappingNode):
        return ""
    plain: dict[str, Any] = {}
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode):
            continue
        if isinstance(value, yaml.ScalarNode):
            plain.setdefault(key.value, value.value)
        elif isinstance(value, yaml.SequenceNode) and all(isinstance(v, yaml.ScalarNode) for v in value.value):
            plain.setdefault(key.value, [v.value for v in value.value])
    return entry_label(plain)


def _control_character(text: str) -> tuple[int, str] | None:
    """The first control character (NUL, ESC, DEL, a lone surrogate...) in ``text``, and its position.

    YAML refuses them written raw, but lets escapes such as ``"\\0"`` or ``"\\x1b"`` in double-quoted
    text through; in a title they would break the files and terminals they reach.
    """
    for position, character in enumerate(text):
        if character in "\t\n\r":
            continue
        if unicodedata.category(character) in ("Cc", "Cs"):
            return position, character
    return None


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Builder:
    """Turns composed YAML nodes into plain data, recording each value's location."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.nodes = 0
        self.constructor = yaml.SafeLoader("")

    def problem(self, node: yaml.Node, message: str, name: str) -> Problem:
        return Problem(
            message,
            field=_short(name, 80),
            line=node.start_mark.line + 1,
            column=node.start_mark.column + 1,
            source=self.document.source,
        )

    def fail(self, node: yaml.Node, message: str, name: str = "") -> None:
        raise ScenarioError(self.problem(node, message, name))

    def note(self, node: yaml.Node, message: str, path: PathKey, name: str, *, suspect: bool = True) -> None:
        """A mistake that does not stop reading: reported with the schema's findings.

        With ``suspect``, the value at ``path`` is not as written, so later findings about it are dropped.
        """
        self.document.problems.append(self.problem(node, message, name))
        if suspect:
            self.document.problem_paths.append(tuple(path))

    def build(self, node: yaml.Node, path: PathKey, name: str) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            self.fail(node, f"found more than {MAX_NODES:,} values (are aliases expanding without end?); "
                            f"allowed: at most {MAX_NODES:,}", name)
        if len(path) > MAX_DEPTH:
            self.fail(node, f"found a value nested more than {MAX_DEPTH} levels deep (an alias inside "
                            f"itself?); allowed: at most {MAX_DEPTH} levels", name)
        self.document.values.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        self.document.names.setdefault(path, name)
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP_TAG:
                self.note(node, f"found the tag {_tag(node.tag)}; allowed: plain YAML mappings, lists "
                                "and values, without tags", path, name)
                return None
            return self.mapping(node, path, name)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ_TAG:
                self.note(node, f"found the tag {_tag(node.tag)}; allowed: plain YAML mappings, lists "
                                "and values, without tags", path, name)
                return None
            items = []
            for index, item in enumerate(node.value):
                label = _node_label(item) or str(index)
                items.append(self.build(item, (*path, index), f"{name}[{label}]"))
            return items
        return self.scalar(node, path, name)

    def mapping(self, node: yaml.MappingNode, path: PathKey, name: str) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                kind = "a mapping" if isinstance(key_node, yaml.MappingNode) else "a list"
                self.note(key_node, f"found {kind} as a key; allowed: a plain word such as a field name",
                          path, name, suspect=False)
                continue
            if key_node.tag == _MERGE_TAG:
                self.note(key_node, "found a merge key (<<); allowed: the fields written out in full "
                                    "(merge keys are not supported)", path, name)
                continue
            key = key_node.value
            child = f"{name}.{key}" if name else key
            if _control_character(str(key)) is not None:
                self.note(key_node, "found a control character in a key; allowed: a plain word such as a field name",
                          (*path, key), child)
                continue
            if key_node.tag not in _SCALAR_TAGS:
                self.note(key_node, f"found the tag {_tag(key_node.tag)} on a key; allowed: a plain word",
                          (*path, key), child)
                continue
            if key in result:
                first = self.document.keys.get((*path, key))
                where = f" (first on line {first[0]})" if first else ""
                self.note(key_node, f"found the key '{key}' twice in this mapping{where}; allowed: each key "
                                    "once (delete one)", (*path, key), child)
                continue
            self.document.keys[(*path, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = self.build(value_node, (*path, key), child)
        return result

    def scalar(self, node: yaml.Node, path: PathKey, name: str) -> Any:
        if node.tag not in _SCALAR_TAGS:
            self.note(node, f"found the tag {_tag(node.tag)}; allowed: plain values (text, numbers, "
                            "true/false, dates), without tags", path, name)
            return None
        try:
            value = self.constructor.construct_object(node, deep=True)
        except Exception as error:  # PyYAML raises KeyError, AttributeError... on some bad scalars
            value = str(node.value)
            allowed = "a plain value such as a number, a date YYYY-MM-DD, or text in quotes"
            kind = node.tag.rsplit(":", 1)[-1]
            if kind == "int" and len(value) > 30:
                reason = f"a number of {len(value):,} digits is too long"
            elif isinstance(error, (yaml.YAMLError, ValueError, OverflowError)):
                reason = str(error).splitlines()[0] if str(error) else f"not a valid {kind}"
            else:
                reason = {"bool": "not true or false", "timestamp": "not a date"}.get(kind, f"not a valid {kind}")
            if kind == "timestamp":
                allowed = "a real calendar date written YYYY-MM-DD (or text in quotes)"
            self.note(node, f"found {_short(value)!r}, which cannot be read ({reason}); allowed: {allowed}",
                      path, name)
            return None
        if isinstance(value, str):
            bad = _control_character(value)
            if bad is not None:
                position, character = bad
                self.note(node, f"found the control character U+{ord(character):04X} at character {position + 1} "
                                "of this text; allowed: printable text (tabs and line breaks are fine)", path, name)
                return None
        return value
