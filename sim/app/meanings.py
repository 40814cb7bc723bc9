"""What each parameter means, in the words of docs/MODEL.md section 9, and how the page labels a control.

The table of section 9 (one row per scenario field: meaning, units, allowed values) is shipped with the
package as ``parameter_meanings.json``, made from the document by ``python -m sim.app.meanings docs/MODEL.md``;
a test checks that the two agree. :func:`describe` turns a control's dotted path
(``actors.azerbaijan.party.truce_compliance``) into what an analyst reads: whose parameter it is
(Azerbaijan), what it means, its units and its range.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.scenario.overrides import model_of, resolve_path
from sim.scenario.schema import Scenario

MEANINGS_FILE = Path(__file__).with_name("parameter_meanings.json")
ROW = re.compile(r"^\|\s*`([a-z_][a-z0-9_\[\]\.]*)`\s*\|([^|]*)\|([^|]*)\|([^|]*)\|", flags=re.MULTILINE)


def read_meanings(text: str) -> dict[str, dict[str, str]]:
    """The rows of docs/MODEL.md section 9: field path (``actors[].party.truce_compliance``) -> meaning,
    units and allowed values, as the document writes them."""
    section = text[text.index("## 9. Parameters"):text.index("## 10.")]
    return {path: {"meaning": meaning.strip(), "units": units.strip(), "allowed": allowed.strip()}
            for path, meaning, units, allowed in ROW.findall(section)}


@functools.cache
def meanings() -> dict[str, dict[str, str]]:
    """The shipped table of meanings (see :func:`read_meanings`)."""
    return json.loads(MEANINGS_FILE.read_text(encoding="utf-8"))


def field_path(data: dict[str, Any], dotted: str) -> tuple[str, tuple[Any, ...]]:
    """The documented field a dotted path names, and the document path: list entries become ``[]`` and mapping
    keys drop out (``actors.russia.mediator.leverage.armenia`` -> ``actors[].mediator.leverage``)."""
    key = resolve_path(data, dotted, origin="control", create=False)
    parts: list[str] = []
    model: Any = Scenario
    for part in key:
        if isinstance(part, int):
            parts[-1] += "[]"
            continue
        fields = {(info.alias or name): info for name, info in (model.model_fields.items() if model else ())}
        if part not in fields:  # a key of a mapping (a party id of a mediator's leverage)
            model = None
            continue
        parts.append(part)
        model = model_of(fields[part].annotation)
    return ".".join(parts), key


@dataclass(frozen=True)
class Label:
    """A control as the page labels it."""

    who: str          # whose parameter: an actor's name, a commitment, a front, "all actors"
    meaning: str      # docs/MODEL.md's meaning of the field
    units: str        # its units ('' when the document gives none)
    path: str         # the dotted path, printed small


def _name(data: dict[str, Any], actor_id: str) -> str:
    for actor in data.get("actors") or []:
        if actor.get("id") == actor_id:
            return str(actor.get("name") or actor_id)
    return actor_id.replace("_", " ")


def _who(data: dict[str, Any], key: tuple[Any, ...]) -> str:
    section = key[0]
    entry = data[section][key[1]] if len(key) > 1 and isinstance(key[1], int) else None
    if section == "actors" and entry is not None:
        who = str(entry.get("name") or entry.get("id"))
    elif section == "commitments" and entry is not None:
        who = (f"{_name(data, entry['from'])} → {_name(data, entry['to'])} "
               f"({str(entry.get('kind', 'commitment')).replace('_', ' ')})")
    elif section == "rivalries" and entry is not None:
        who = " / ".join(_name(data, a) for a in entry.get("between") or [entry.get("id", "")]) + " rivalry"
    elif entry is not None:
        who = str(entry.get("name") or entry.get("id") or section).replace("_", " ")
    elif section == "dynamics":
        who = "all actors (shared dynamics)"
    else:
        who = section.replace("_", " ")
    mapping_keys = [part for part in key[2:] if isinstance(part, str) and any(
        part == actor.get("id") for actor in data.get("actors") or [])]
    if mapping_keys:
        who += ", towards " + ", ".join(_name(data, k) for k in mapping_keys)
    return who


def describe(scenario: Scenario, dotted: str) -> Label:
    """Whose parameter ``dotted`` is, what it means and its units (docs/MODEL.md section 9)."""
    data = scenario.model_dump(mode="json", by_alias=True)
    field, key = field_path(data, dotted)
    row = meanings().get(field, {})
    meaning = row.get("meaning") or field.rsplit(".", 1)[-1].replace("_", " ")
    units = row.get("units", "")
    return Label(who=_who(data, key), meaning=meaning, units="" if units in ("-", "") else units, path=dotted)


def main(argv: list[str] | None = None) -> int:
    """``python -m sim.app.meanings docs/MODEL.md``: write the shipped table from the document."""
    arguments = sys.argv[1:] if argv is None else argv
    source = Path(arguments[0] if arguments else "docs/MODEL.md")
    table = read_meanings(source.read_text(encoding="utf-8"))
    MEANINGS_FILE.write_text(json.dumps(table, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{MEANINGS_FILE}: {len(table)} fields from {source}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["Label", "describe", "field_path", "meanings", "read_meanings"]
