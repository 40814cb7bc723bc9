"""The JSON Schema of the scenario format, from the pydantic models, for editors.

``escalation schema`` prints it; the package ships it as ``sim/scenario/scenario.schema.json``
(written by ``scripts/generate_schema.py``, checked up to date by a test), so that a scenario
starting with ``# yaml-language-server: $schema=...`` is completed and checked as it is typed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


__all__ = ["SCHEMA_FILE", "scenario_schema", "schema_text"]
