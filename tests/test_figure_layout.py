"""Every figure of every command reads at a glance on the shipped scenarios with the longest titles and the most
actors (July 1914, twelve actors, the case library): no text clipped at the figure's edges, no legend over the
data, no label over a whisker, no two texts on top of each other (issue 18, item 2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from sim.cli import main
from tests.figure_layout import layout_problems

ROOT = Path(__file__).resolve().parent.parent
JULY_1914 = "scenarios/july_1914.yaml"
TWELVE = "benchmarks/twelve_actors.yaml"
QUIET = ("--workers", "1", "--no-progress")
COMMANDS = {
    "run July 1914": ("run", JULY_1914, "--runs", "400"),
    "run twelve actors": ("run", TWELVE, "--runs", "400"),
    "run Karabakh": ("run", "scenarios/nagorno_karabakh_2020.yaml", "--runs", "400"),
    "run coalition": ("run", "scenarios/example_coalition.yaml", "--runs", "400"),
    "compare": ("compare", JULY_1914, "--set-b", "actors.russia.party.strength=2", "--runs", "200"),
    "morris": ("sensitivity", TWELVE, "--method", "morris", "--samples", "2", "--runs", "40",
               "--param", "actors.patron_a.party.strength=0.5:2", "--param", "actors.patron_b.party.strength=0.5:2",
               "--param", "actors.north.party.resolve=0.5:1", "--param", "actors.south.party.war_weariness=0:0.01",
               "--param", "actors.east.party.casualty_sensitivity=0:0.05"),
    "sobol": ("sensitivity", JULY_1914, "--method", "sobol", "--samples", "4", "--runs", "20",
              "--param", "actors.russia.party.strength=0.5:2", "--param", "actors.germany.party.strength=0.5:2",
              "--param", "actors.serbia.party.resolve=0.5:1"),
    "sweep line": ("sweep", JULY_1914, "--param", "actors.russia.party.strength=0.5:2:3", "--runs", "40"),
    "sweep small grid": ("sweep", JULY_1914, "--param", "actors.russia.party.strength=0.5:2:3",
                         "--param", "actors.germany.party.strength=0.5:2:3", "--runs", "40"),
    "sweep large grid": ("sweep", JULY_1914, "--param", "actors.russia.party.strength=0.5:2:9",
                         "--param", "actors.germany.party.strength=0.5:2:9", "--runs", "10"),
    "sweep lhs": ("sweep", TWELVE, "--design", "lhs", "--samples", "8", "--runs", "20",
                  "--param", "actors.patron_a.party.strength=0.5:2", "--param", "actors.patron_b.party.strength=0.5:2",
                  "--param", "actors.north.party.resolve=0.5:1", "--param", "actors.south.party.war_weariness=0:0.01"),
    "backtest": ("backtest", "scenarios/cases", "--runs", "20"),
    "calibrate": ("calibrate", "scenarios/cases", "--method", "design", "--candidates", "4", "--runs", "20"),
}


@pytest.fixture(scope="module")
def drawn(tmp_path_factory) -> dict[str, dict[str, list[str]]]:
    """Every command run once, small; for each figure it saves, the layout problems found just before saving."""
    found: dict[str, dict[str, list[str]]] = {}
    original = Figure.savefig
    patch = pytest.MonkeyPatch()
    with patch.context() as context:
        context.chdir(ROOT)
        for name, command in COMMANDS.items():
            figures: dict[str, list[str]] = {}

            def savefig(figure: Figure, path, *args, _figures=figures, **kwargs):
                _figures[Path(path).name] = layout_problems(figure)
                return original(figure, path, *args, **kwargs)

            context.setattr(Figure, "savefig", savefig)
            folder = tmp_path_factory.mktemp("layout") / "out"
            assert main([*command, "--out", str(folder), *QUIET]) == 0, name
            found[name] = figures
    return found


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_figure_of_every_command_reads_at_a_glance(drawn, command: str) -> None:
    figures = drawn[command]
    assert figures, f"{command} saved no figure"
    problems = [f"{figure}: {problem}" for figure, found in figures.items() for problem in found]
    assert problems == []


def test_the_standard_figures_are_all_drawn_and_checked(drawn) -> None:
    from sim.output.figures import FIGURES

    assert set(drawn["run twelve actors"]) == set(FIGURES)


def test_the_check_finds_a_clipped_title_a_legend_over_a_bar_and_texts_on_each_other() -> None:
    figure = Figure(figsize=(4, 3), layout="constrained")
    figure.suptitle("A title far too long for a figure four inches wide, as war_widening's was", fontsize=12)
    axes = figure.subplots()
    axes.barh(np.arange(3), [0.9, 0.9, 0.95], label="share")
    axes.legend(loc="lower right", title="form")
    axes.text(0.1, 1, "first label", fontsize=9)
    axes.text(0.12, 1, "second label", fontsize=9)
    axes.errorbar([0.5], [2.3], xerr=[[0.3], [0.3]], fmt="none")
    axes.text(0.45, 2.3, "on the whisker", fontsize=9, va="center")
    problems = layout_problems(figure)
    assert any("is clipped" in p and "far too long" in p for p in problems), problems
    assert any(p.startswith("legend 'form' covers Rectangle") for p in problems), problems
    assert any("'first label' overlaps text 'second label'" in p for p in problems), problems
    assert any("'on the whisker' lies over" in p for p in problems), problems


def test_a_figure_with_room_for_everything_has_no_problem() -> None:
    figure = Figure(figsize=(6, 4), layout="constrained")
    figure.suptitle("Short title", fontsize=12)
    axes = figure.subplots()
    axes.barh(np.arange(3), [0.2, 0.5, 0.4], label="share")
    axes.set_xlim(0, 1)
    axes.legend(loc="lower right")
    assert layout_problems(figure) == []
