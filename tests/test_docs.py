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


README = DOC.parent.parent / "README.md"
QUOTED_RUN = "$ escalation run scenarios/nagorno_karabakh_2020.yaml\n"


def test_the_readme_quotes_the_karabakh_run_byte_for_byte(tmp_path: Path, capsys, monkeypatch) -> None:
    """The README's first output block is what the command prints today, but for the results folder's name
    (a timestamp): regenerate it with the command itself when the report or the model changes."""
    from sim.cli import main

    monkeypatch.chdir(README.parent)
    text = README.read_text(encoding="utf-8")
    start = text.index("```text\n" + QUOTED_RUN) + len("```text\n" + QUOTED_RUN)
    quoted = text[start:text.index("```", start)]
    command = QUOTED_RUN[2:].split()[1:]
    assert main([*command, "--out", str(tmp_path / "run"), "--no-progress", "--no-figures"]) == 0
    printed = capsys.readouterr().out
    folder = re.compile(r"^  Results: .*$", flags=re.MULTILINE)
    assert folder.sub("  Results: FOLDER", printed) == folder.sub("  Results: FOLDER", quoted)
