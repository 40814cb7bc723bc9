"""The JSON Schema of the scenario format, from the pydantic models, for editors.

``escalation schema`` prints it; the package ships it as ``sim/scenario/scenario.schema.json``
(written by ``scripts/generate_schema.py``, checked up to date by a test), so that a scenario
starting with ``# yaml-language-server: $schema=...`` is completed and checked as it is typed.

Outside an editor, :func:`schema_problems` (``escalation validate FILE --schema``) checks a file against
the schema as an editor does. Plain ``jsonschema`` over ``yaml.safe_load`` reports false errors on a
valid scenario: PyYAML reads ``2020-09-27`` as a ``datetime.date``, which is not a JSON string. Read
the file with :func:`load_as_json` instead, which keeps dates (and timestamps) as the text written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from sim.scenario.errors import Problem, UserError
from sim.scenario.schema import Scenario

SCHEMA_FILE = Path(__file__).with_name("scenario.schema.json")
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def scenario_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a scenario file."""
    schema = Scenario.model_json_schema(mode="validation")
    return {"$schema": DIALECT, "title": "escalation-sim scenario", **{k: v for k, v in schema.items()
                                                                     if k != "title"}}


def schema_text() -> str:
    """The schema as the shipped file holds it: indented JSON, keys in schema order, a final newline."""
    return json.dumps(scenario_schema(), indent=2, ensure_ascii=False) + "\n"


class _TextDates(yaml.SafeLoader):
    """PyYAML's safe loader without its timestamp rule: a date stays the text written, as in JSON."""


_TextDates.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_as_json(source: str | Path) -> Any:
    """A scenario file's data as JSON sees it: dates and timestamps as their text (``"2020-09-27"``)."""
    text = Path(source).read_text(encoding="utf-8")
    return yaml.load(text, Loader=_TextDates)  # a safe loader, only without the timestamp rule


def schema_problems(source: str | Path) -> list[Problem]:
    """Every place where the file at ``source`` breaks the JSON Schema, each as a :class:`Problem`.

    Needs the ``jsonschema`` package (in the ``test`` extra): without it, a :class:`UserError` says so.
    """
    try:
        import jsonschema
    except ImportError:
        raise UserError(Problem("checking against the JSON Schema needs the jsonschema package: "
                                "pip install jsonschema", source="--schema")) from None
    from sim.scenario.yamlsource import read_document

    document = read_document(source)  # where each value sits, for file:line:column
    validator = jsonschema.Draft202012Validator(scenario_schema())
    problems = []
    for error in validator.iter_errors(load_as_json(source)):
        path = tuple(error.absolute_path)
        places = [(path, False)]
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = error.schema.get("properties", {})
            places = [((*path, key), True) for key in error.instance if key not in known] or places
        for place, key in places:
            field = "".join(f".{part}" if isinstance(part, str) else f"[{part}]" for part in place).lstrip(".")
            line, column = document.locate(place, key=key) or (None, None)
            problems.append(Problem(f"{error.message} (JSON Schema: {error.validator})", field=field, line=line,
                                    column=column, source=str(source)))
    return sorted(problems, key=lambda problem: (problem.line or 0, problem.column or 0))


__all__ = ["SCHEMA_FILE", "load_as_json", "scenario_schema", "schema_problems", "schema_text"]
