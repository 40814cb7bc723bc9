"""Recompute the figures quoted in docs/MODEL.md (or any Markdown file) and say which have drifted.

A quoted figure is marked with an HTML comment right after it, on the same line, that says how to
recompute it: a value in the run's ``summary.json`` (optionally scaled), the ``escalation run``
command that produces it, and the tolerance within which the quoted figure must agree::

    ... the risk is 10.88% <!-- figure: 100 * p_regional_escalation.estimate from escalation run
    scenarios/nagorno_karabakh_2020.yaml --runs 100000; tolerance 0.005 --> ...

(the comment on one line). The quoted figure is the last number before the comment (``10.88``;
thousands separators and ``%`` are ignored). Each distinct command runs once, with
``--no-figures``, into a temporary folder. The comment is invisible in the rendered page.

Usage: ``python benchmarks/check_docs_figures.py [docs/MODEL.md ...]``; exit status 1 when a figure
has drifted (each listed with its line, the quoted and the recomputed value), 0 when all hold.
tests/test_docs_figures.py runs it in CI.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MARK = re.compile(
    r"<!--\s*figure:\s*(?:(?P<scale>[0-9.]+)\s*\*\s*)?(?P<path>[A-Za-z_][\w.\[\]]*)\s+from\s+"
    r"(?P<command>escalation\s+run\s+[^;]+?)\s*;\s*tolerance\s+(?P<tolerance>[0-9.eE+-]+)\s*-->"
)
NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


@dataclass(frozen=True)
class Figure:
    """A quoted figure and how to recompute it."""

    source: str
    line: int
    quoted: float
    path: str
    scale: float
    command: tuple[str, ...]
    tolerance: float


def find_figures(text: str, source: str = "docs/MODEL.md") -> list[Figure]:
    """Every marked figure in ``text``; a mark with no number before it is an error (ValueError)."""
    figures = []
    for number, line in enumerate(text.splitlines(), start=1):
        for mark in MARK.finditer(line):
            before = NUMBER.findall(line[: mark.start()])
            if not before:
                raise ValueError(f"{source}:{number}: a figure mark with no number before it")
            command = tuple(shlex.split(mark["command"]))[1:]  # without the program name
            figures.append(Figure(source, number, float(before[-1].replace(",", "")), mark["path"],
                                  float(mark["scale"] or 1.0), command, float(mark["tolerance"])))
    if "<!-- figure" in text and not figures:
        raise ValueError(f"{source}: figure marks that do not parse; see benchmarks/check_docs_figures.py")
    return figures


def value_at(data: Any, path: str) -> float:
    """``p_regional_escalation.estimate`` or ``outcomes.backer_war.estimate`` or ``a[0].b`` in ``data``."""
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        data = data[int(part[1:-1])] if part.startswith("[") else data[part]
    return float(data)


def summaries(figures: list[Figure], folder: Path) -> dict[tuple[str, ...], dict[str, Any]]:
    """Run each distinct command once and read its summary.json."""
    from sim.cli import main

    found: dict[tuple[str, ...], dict[str, Any]] = {}
    for index, command in enumerate(dict.fromkeys(figure.command for figure in figures)):
        out = folder / f"figure-run-{index}"
        status = main([*command, "--out", str(out), "--no-figures", "--no-progress"])
        if status != 0:
            raise RuntimeError(f"`escalation {' '.join(command)}` ended with exit status {status}")
        found[command] = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return found


def check(paths: list[Path]) -> list[str]:
    """A line for every figure that has drifted beyond its tolerance (empty when all hold)."""
    figures = [figure for path in paths for figure in find_figures(path.read_text(encoding="utf-8"), str(path))]
    with tempfile.TemporaryDirectory() as folder:
        results = summaries(figures, Path(folder))
    drifted = []
    for figure in figures:
        computed = figure.scale * value_at(results[figure.command], figure.path)
        if abs(computed - figure.quoted) > figure.tolerance:
            command = " ".join(figure.command)
            drifted.append(f"{figure.source}:{figure.line}: quoted {figure.quoted:g}, recomputed {computed:.6g} "
                           f"({figure.path} of `escalation {command}`; tolerance {figure.tolerance:g})")
    return drifted


def main(argv: list[str] | None = None) -> int:
    """Check the files named (default docs/MODEL.md); print each drifted figure."""
    paths = [Path(p) for p in (argv if argv is not None else sys.argv[1:])] or [ROOT / "docs" / "MODEL.md"]
    drifted = check(paths)
    for line in drifted:
        print(line)
    count = sum(len(find_figures(p.read_text(encoding="utf-8"), str(p))) for p in paths)
    print(f"{count - len(drifted)} of {count} quoted figures hold")
    return 1 if drifted else 0


if __name__ == "__main__":
    sys.exit(main())
