"""docs/MODEL.md and the scenario schema describe the same fields, no more and no fewer."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from pydantic import BaseModel

from sim.scenario.schema import Scenario

DOC = Path(__file__).resolve().parent.parent / "docs" / "MODEL.md"


def _inner_model(annotation) -> tuple[type[BaseModel] | None, bool]:
    """The schema class inside an annotation, and whether it sits in a list."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    origin = typing.get_origin(annotation)
    for argument in typing.get_args(annotation):
        model, in_list = _inner_model(argument)
        if model is not None:
            return model, in_list or origin is list
    return None, False


def schema_paths(model: type[BaseModel] = Scenario, prefix: str = "") -> set[str]:
    """Every field path of the schema as a file writes it: ``commitments[].from`` (the alias), never ``from_``."""
    paths = set()
    for name, field in model.model_fields.items():
        path = f"{prefix}{field.alias or name}"
        paths.add(path)
        inner, in_list = _inner_model(field.annotation)
        if inner is not None:
            paths |= schema_paths(inner, f"{path}[]." if in_list else f"{path}.")
    return paths


def documented_paths() -> set[str]:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## 9. Parameters"):text.index("## 10.")]
    return set(re.findall(r"^\|\s*`([a-z_][a-z0-9_\[\]\.]*)`\s*\|", section, flags=re.MULTILINE))


def test_every_schema_field_is_documented() -> None:
    missing = schema_paths() - documented_paths()
    assert not missing, f"fields without a row in docs/MODEL.md section 9: {sorted(missing)}"


def test_every_documented_field_exists() -> None:
    extra = documented_paths() - schema_paths()
    assert not extra, f"docs/MODEL.md section 9 describes fields the schema lacks: {sorted(extra)}"


def test_the_schema_has_the_expected_shape() -> None:
    paths = schema_paths()
    assert "actors[].party.truce_compliance" in paths
    assert "truces.scheduled[].broker" in paths
    assert "commitments[].from" in paths and "commitments[].from_" not in paths
    assert len(paths) > 80
