"""Every Python example of README.md and docs/*.md runs as written, so that none can drift.

The python blocks of a file are read as a reader follows them: in order, each continuing the ones before
(they share their names), as one script run from a folder that holds the repository's ``scenarios/`` and
the results of the README's first command (``escalation run scenarios/nagorno_karabakh_2020.yaml``). A
block that needs the EMA Workbench (it imports ``ema_workbench`` or ``sim.ema``) runs on its own, and is
skipped, saying why, where the ``ema`` extra is not installed. A block opts out only with a marker on the
line before it that gives the reason: ``<!-- example: not run, REASON -->``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", flags=re.MULTILINE | re.DOTALL)
OPT_OUT = re.compile(r"<!-- example: not run, (?P<reason>[^-]*\S)\s*-->\s*$")
NEEDS_EMA = re.compile(r"^\s*(from|import) (ema_workbench|sim\.ema)\b", flags=re.MULTILINE)
EMA_INSTALLED = importlib.util.find_spec("ema_workbench") is not None
#: Blocks of the what-if page or Mesa's SolaraViz page need the ``app`` extra (Solara).
NEEDS_APP = re.compile(r"^\s*(from|import) (solara|mesa\.visualization|sim\.app\.(mesa_page|components|app))\b",
                       flags=re.MULTILINE)
APP_INSTALLED = importlib.util.find_spec("solara") is not None
TIMEOUT = 900  # seconds: the EMA example runs 2 x 256 experiments of 1,000 runs


@dataclass
class Example:
    """One script made of one or more python blocks of a document."""

    document: Path
    lines: list[int]
    code: str
    needs_ema: bool
    needs_app: bool = False

    @property
    def name(self) -> str:
        where = ", ".join(str(line) for line in self.lines)
        return f"{self.document.relative_to(ROOT)} line{'s' if len(self.lines) > 1 else ''} {where}"


def examples(document: Path) -> tuple[list[Example], list[tuple[int, str]]]:
    """The scripts of a document, and the blocks it opts out (line, reason)."""
    text = document.read_text(encoding="utf-8")
    scripts: list[Example] = []
    opted_out = []
    session: Example | None = None
    for match in BLOCK.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = text[:match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = OPT_OUT.search(before)
        if marker:
            opted_out.append((line, marker["reason"]))
            continue
        code = match.group(1)
        if NEEDS_EMA.search(code) or NEEDS_APP.search(code):   # these run on their own
            scripts.append(Example(document, [line], code, needs_ema=bool(NEEDS_EMA.search(code)),
                                   needs_app=bool(NEEDS_APP.search(code))))
            continue
        if session is None:
            session = Example(document, [], "", needs_ema=False)
            scripts.append(session)
        session.lines.append(line)
        session.code += f"# {document.name}, line {line}\n{code}\n"
    return scripts, opted_out


ALL = [example for document in DOCUMENTS for example in examples(document)[0]]


def test_the_documents_have_examples_and_every_opt_out_gives_a_reason() -> None:
    assert any(example.needs_ema for example in ALL), "the README's EMA example is not found"
    assert sum(len(example.lines) for example in ALL) >= 3
    for document in DOCUMENTS:
        text = document.read_text(encoding="utf-8")
        markers = re.findall(r"<!-- example:.*?-->", text)
        _, opted_out = examples(document)
        assert len(markers) == len(opted_out), f"{document.name}: a marker without 'not run, REASON': {markers}"


@pytest.fixture(scope="module")
def reader_folder(tmp_path_factory) -> Path:
    """A folder as a reader's after the README's first command: the scenarios, and one saved run."""
    folder = tmp_path_factory.mktemp("reader")
    (folder / "scenarios").symlink_to(ROOT / "scenarios", target_is_directory=True)
    saved = folder / "results" / "nagorno_karabakh_2020" / "20260101T000000Z"
    done = subprocess.run([sys.executable, "-m", "sim", "run", "scenarios/nagorno_karabakh_2020.yaml", "--runs",
                           "500", "--no-figures", "--no-progress", "--out", str(saved)], cwd=folder,
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    return folder


@pytest.mark.parametrize("example", ALL, ids=lambda example: example.name)
def test_the_example_runs_as_written(example: Example, reader_folder: Path) -> None:
    if example.needs_ema and not EMA_INSTALLED:
        pytest.skip("needs the EMA Workbench: Python 3.12+ with pip install -e '.[ema]'")
    if example.needs_app and not APP_INSTALLED:
        pytest.skip("needs the app extra (Solara): pip install -e '.[app]'")
    script = reader_folder / f"example_{example.lines[0]}.py"
    script.write_text(example.code, encoding="utf-8")
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, script.name], cwd=reader_folder, capture_output=True, text=True,
                          timeout=TIMEOUT, env=environment)
    assert done.returncode == 0, f"{example.name} fails as written:\n{done.stderr[-3000:]}"
