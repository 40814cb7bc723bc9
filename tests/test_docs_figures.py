"""The figures quoted in docs/MODEL.md are recomputed from the commands marked beside them (issue 13, item 10)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("check_docs_figures", ROOT / "benchmarks" / "check_docs_figures.py")
checker = importlib.util.module_from_spec(_spec)
sys.modules["check_docs_figures"] = checker  # dataclasses look their module up here
_spec.loader.exec_module(checker)

COMMAND = "escalation run tests/scenarios/minimal.yaml --runs 2000 --seed 3 --workers 1"


def test_marks_are_read_with_their_number_command_and_tolerance() -> None:
    text = (f"risk 1,234.5% <!-- figure: 100 * p_regional_escalation.estimate from {COMMAND}; tolerance 0.05 -->\n"
            f"war <!-- figure: war_days.median from {COMMAND} --set seed=2; tolerance 1 --> none\n")
    with pytest.raises(ValueError, match="no number before it"):
        checker.find_figures(text, "x.md")
    [figure] = checker.find_figures(text.splitlines()[0], "x.md")
    assert (figure.quoted, figure.scale, figure.path, figure.tolerance, figure.line) == \
        (1234.5, 100.0, "p_regional_escalation.estimate", 0.05, 1)
    assert figure.command == tuple(COMMAND.split()[1:])


def test_a_drifted_figure_is_reported_and_a_true_one_is_not(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    [figure] = checker.find_figures(f"x 0 <!-- figure: runs from {COMMAND}; tolerance 0 -->")
    computed = checker.summaries([figure], tmp_path)[figure.command]
    page = tmp_path / "page.md"
    page.write_text(f"runs {computed['runs']:,} <!-- figure: runs from {COMMAND}; tolerance 0 -->\n"
                    f"war {computed['war_days']['median'] + 2} <!-- figure: war_days.median from {COMMAND}; "
                    "tolerance 1 -->\n", encoding="utf-8")
    drifted = checker.check([page])
    assert len(drifted) == 1 and drifted[0].startswith(f"{page}:2: quoted")


def test_the_figures_quoted_in_model_md_hold(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    doc = ROOT / "docs" / "MODEL.md"
    assert len(checker.find_figures(doc.read_text(encoding="utf-8"))) >= 3
    assert checker.check([doc]) == []
