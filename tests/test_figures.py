"""Tests for the seven standard figures and the Kaplan-Meier estimate of truce survival."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.figure import Figure

from sim.output.figures import FIGURES, draw_figures, truce_figure, truce_survival
from sim.scenario.schema import DEFAULT_LADDER

TITLE = "Testland border war, 2031"
RUNS = 1234
HORIZON = 20
LADDER = list(DEFAULT_LADDER)
OUTCOME_COUNTS = {"truce_holding": 100, "war_ongoing": 0, "decisive_victory": 900, "regional_escalation": 200,
                  "outside_war": 34}


def _proportion(count: int, runs: int) -> dict[str, float]:
    estimate = count / runs
    spread = 1.96 * (estimate * (1 - estimate) / runs) ** 0.5
    return {"estimate": estimate, "ci_low": max(estimate - spread, 0.0), "ci_high": min(estimate + spread, 1.0),
            "count": count, "runs": runs}


def _sample(broken: list[int] | None = None, censored: list[int] | None = None) -> tuple[dict[str, Any],
                                                                                          dict[str, Any]]:
    """A small, self-consistent summary and distributions pair."""
    broken = [50, 20, 10, 5, 3, 2] + [0] * (HORIZON - 4) if broken is None else broken
    censored = [1, 0, 2, 0, 0, 4] + [0] * (HORIZON - 4) if censored is None else censored
    total = sum(broken) + sum(censored)
    summary = {
        "scenario": "testland_2031",
        "title": TITLE,
        "seed": 1,
        "chunk_size": 100,
        "runs": RUNS,
        "p_regional_escalation": _proportion(234, RUNS),
        "outcomes": {name: _proportion(count, RUNS) for name, count in OUTCOME_COUNTS.items()},
        "in_combat": {"north": _proportion(200, RUNS), "south": _proportion(40, RUNS)},
        "decisive_winner": {"alpha": _proportion(800, RUNS), "beta": _proportion(100, RUNS)},
        "war_days": {"median": 12.0, "p05": 5.0, "p95": 19.0},
        "truces": {"brokered_per_run": total / RUNS, "broken_per_run": sum(broken) / RUNS, "total": total,
                   "broken": _proportion(sum(broken), total) if total else None,
                   "broken_within_3_days": _proportion(sum(broken[:4]), total) if total else None},
        "casualties": {"alpha": {"mean": 310.0, "p05": 150.0, "median": 300.0, "p95": 480.0},
                       "beta": {"mean": 620.0, "p05": 400.0, "median": 610.0, "p95": 850.0}},
        "control": {"front": 0.6},
        "war_size": {"median": 2.0, "mean": 2.2, "at_start": 2},
    }
    rng = np.random.default_rng(5)
    edges = np.linspace(0.0, 2000.0, 41)
    by_day = np.cumsum(rng.integers(0, 25, HORIZON)) / RUNS
    distributions = {
        "runs": RUNS,
        "horizon_days": HORIZON,
        "outcomes": dict(OUTCOME_COUNTS),
        "escalation_by_day": {"estimate": by_day.tolist(), "ci_low": (by_day * 0.9).tolist(),
                              "ci_high": (by_day * 1.1).tolist()},
        "war_days": rng.multinomial(RUNS, np.full(HORIZON + 1, 1 / (HORIZON + 1))).tolist(),
        "truce_days_broken": broken,
        "truce_days_censored": censored,
        "highest_rung": {"alpha": [0, 0, 0, 0, 34, 1000, 200, 0, 0, 0, 0, 0],
                         "beta": [0, 0, 0, 100, 134, 1000, 0, 0, 0, 0, 0, 0],
                         "north": [0, 0, 500, 0, 0, 0, 0, 0, 534, 100, 66, 34],
                         "south": [0, 1000, 0, 0, 0, 0, 0, 0, 194, 4, 2, 34]},
        "actor_roles": {"alpha": "party", "beta": "party", "north": "outside", "south": "outside"},
        "entry_by_day": {"north": {"estimate": (by_day * 0.8).tolist(), "ci_low": (by_day * 0.7).tolist(),
                                   "ci_high": (by_day * 0.9).tolist()},
                         "south": {"estimate": (by_day * 0.2).tolist(), "ci_low": (by_day * 0.1).tolist(),
                                   "ci_high": (by_day * 0.3).tolist()}},
        "forms": {"north": [0, 0, 500, 0, 534, 166, 34], "south": [0, 1000, 0, 0, 194, 6, 34]},
        "form_names": ["none", "political", "posturing", "deniable", "indirect", "limited", "open"],
        "war_size": [0, 0, 1000, 200, 34],
        "casualty_edges": edges.tolist(),
        "casualties": {"alpha": np.histogram(rng.normal(300, 100, RUNS), edges)[0].tolist(),
                       "beta": np.histogram(rng.normal(610, 140, RUNS), edges)[0].tolist()},
        "ladder": LADDER,
    }
    return summary, distributions


def test_draw_figures_writes_seven_pngs(tmp_path: Path) -> None:
    summary, distributions = _sample()
    folder = tmp_path / "figures" / "nested"
    paths = draw_figures(summary, distributions, folder)
    names = ["outcomes.png", "escalation_over_time.png", "truce_survival.png", "casualties.png",
             "highest_rungs.png", "war_widening.png", "war_endings.png"]
    assert [p.name for p in paths] == names
    for path in paths:
        assert path.parent == folder
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size > 5000


@pytest.mark.parametrize("name", list(FIGURES))
def test_each_title_names_scenario_and_run_count(name: str) -> None:
    summary, distributions = _sample()
    figure = FIGURES[name](summary, distributions)
    assert isinstance(figure, Figure)
    title = figure.get_suptitle()
    assert TITLE in title
    assert f"{RUNS:,} runs" in title


def test_outcome_labels_are_readable() -> None:
    summary, distributions = _sample()
    figure = FIGURES["outcomes.png"](summary, distributions)
    ax = figure.axes[0]
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert "regional escalation" in ticks and "outside war" in ticks
    assert not any("_" in t for t in ticks)
    texts = " ".join(t.get_text() for t in ax.texts)
    share = _proportion(200, RUNS)
    assert f"{100 * share['estimate']:.1f}% [{100 * share['ci_low']:.1f}, {100 * share['ci_high']:.1f}]" in texts


def test_zero_truces_draws_message(tmp_path: Path) -> None:
    summary, distributions = _sample(broken=[0] * (HORIZON + 2), censored=[0] * (HORIZON + 2))
    figure = truce_figure(summary, distributions)
    texts = [t.get_text() for t in figure.axes[0].texts]
    assert "no truces in this run" in texts
    assert not figure.axes[0].lines
    paths = draw_figures(summary, distributions, tmp_path)
    assert all(p.stat().st_size > 0 for p in paths)


def test_km_without_censoring_is_empirical_share_still_holding() -> None:
    broken = np.array([3, 0, 2, 4, 1])
    days, survival, low, high = truce_survival(broken, np.zeros(5))
    assert days.tolist() == [0, 1, 2, 3, 4]
    held = np.repeat(np.arange(5), broken)  # days each truce held before breaking
    expected = [(held > d).mean() for d in range(4)]
    np.testing.assert_allclose(survival[:4], expected)
    assert survival[4] == pytest.approx(0.0)
    assert np.all(low[:5] <= survival[:5]) and np.all(survival[:5] <= high[:5])


def test_km_with_censoring_matches_hand_computation() -> None:
    # 5 truces: two broke on day 0, one on day 1; one held 1 day and one held 2 days when the runs ended.
    _, survival, low, high = truce_survival([2, 1, 0], [0, 1, 1])
    # day 0: 5 at risk, 2 break -> 3/5; day 1: 2 at risk (the one censored after 1 day is gone), 1 breaks
    np.testing.assert_allclose(survival[:2], [0.6, 0.3])
    assert np.isnan(survival[2])  # nobody left at risk on day 2
    var0 = 0.6**2 * (2 / (5 * 3))
    var1 = 0.3**2 * (2 / (5 * 3) + 1 / (2 * 1))
    z = 1.959963984540054
    np.testing.assert_allclose(low[:2], [0.6 - z * var0**0.5, max(0.3 - z * var1**0.5, 0.0)])
    np.testing.assert_allclose(high[:2], [min(0.6 + z * var0**0.5, 1.0), 0.3 + z * var1**0.5])


def test_km_recovers_geometric_law_under_censoring() -> None:
    rng = np.random.default_rng(20240101)
    p, n = 0.25, 40_000
    held = rng.geometric(p, n) - 1  # days held before breaking: P(T > d) = (1 - p) ** (d + 1)
    ends = rng.integers(1, 15, n)  # the run ends after this many days in force
    observed = held < ends
    length = 40
    broken = np.bincount(held[observed], minlength=length)
    censored = np.bincount(ends[~observed], minlength=length)
    assert censored.sum() > 0.1 * n
    days, survival, low, high = truce_survival(broken, censored)
    truth = (1 - p) ** (days + 1)
    check = days[:10]
    np.testing.assert_allclose(survival[check], truth[check], atol=0.01)
    inside = (low[check] <= truth[check]) & (truth[check] <= high[check])
    assert inside.sum() >= 8
    # ignoring the censoring would be biased low: the KM estimate must do better
    naive = np.array([(held[observed] > d).mean() for d in check])
    assert np.abs(survival[check] - truth[check]).max() < np.abs(naive - truth[check]).max()


def test_km_of_nothing_is_undefined() -> None:
    days, survival, low, high = truce_survival([0, 0, 0], [0, 0, 0])
    assert days.size == 3
    assert np.isnan(survival).all() and np.isnan(low).all() and np.isnan(high).all()
