"""Forecasts that carry the calibration's uncertainty: ``escalation run --posterior`` draws the shared
dynamics from a posterior, pools the draws exactly, and reports their spread as a second interval."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from sim.analysis.calibrate import DEFAULT_DYNAMICS
from sim.analysis.smc_calibration import read_posterior
from sim.analysis.summary import Accumulator
from sim.cli import main
from tests.test_calibrate import _write_case


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    return _write_case(tmp_path, "patron", 0.1, True, 20, seed=7)


@pytest.fixture
def posterior(tmp_path: Path) -> Path:
    """Two draws that differ in the shared pace of entry, which the patron takes (it sets its own rate: the
    escalation rate is dropped from its profile)."""
    path = tmp_path / "posterior.csv"
    pd.DataFrame({"capitulation_resolve": [0.1, 0.3], "spiral_gain": [0.5, 1.5],
                  "log_likelihood": [-3.0, -4.0]}).to_csv(path, index=False)
    return path


def test_the_run_pools_its_draws_exactly_and_reports_their_spread(scenario: Path, posterior: Path, tmp_path: Path,
                                                                  capsys) -> None:
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--posterior", str(posterior), "--runs", "999", "--out", str(out),
                 "--no-progress", "--no-figures", "--workers", "1"]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    points = pd.read_csv(out / "posterior_points.csv")
    assert list(points["runs"]) == [500, 500]  # ceil(999 / 2) runs per draw
    assert summary["runs"] == 1000
    escalated = (points["p_regional_escalation"] * points["runs"]).round().astype(int)
    assert summary["p_regional_escalation"]["count"] == escalated.sum()
    spread = summary["calibration"]
    assert spread["points"] == 2 and spread["runs_per_point"] == 500
    assert spread["mean"] == pytest.approx(points["p_regional_escalation"].mean())
    low, high = spread["interval_90"]
    assert points["p_regional_escalation"].min() <= low + 1e-12 <= high <= points["p_regional_escalation"].max()
    printed = capsys.readouterr().out
    assert "calibration:" in printed and "over 90% of the posterior" in printed
    # the same draws again, and the same summary
    assert main(["rerun", str(out), "--out", str(tmp_path / "again"), "--no-progress", "--workers", "2"]) == 0


def test_the_spread_takes_each_draws_monte_carlo_noise_out() -> None:
    # 4 draws of 100 runs with the same true probability: the spread of their estimates is noise alone
    same = SimpleNamespace(runs=np.full(4, 100), escalation_days=np.array([[30], [30], [30], [30]]))
    assert Accumulator.calibration_spread(same)["sd"] == 0.0
    assert Accumulator.calibration_spread(same)["interval_90"] == [0.3, 0.3]
    apart = SimpleNamespace(runs=np.full(2, 10_000), escalation_days=np.array([[1_000], [5_000]]))
    spread = Accumulator.calibration_spread(apart)
    total = np.var([0.1, 0.5], ddof=1)
    noise = np.mean([0.1 * 0.9, 0.5 * 0.5]) / 9_999
    assert spread["sd"] == pytest.approx(np.sqrt(total - noise), rel=1e-12)
    shrink = np.sqrt((total - noise) / total)
    quantiles = np.quantile([0.1, 0.5], (0.05, 0.95))
    assert spread["interval_90"] == pytest.approx(list(0.3 + shrink * (quantiles - 0.3)), rel=1e-12)


def test_the_shipped_posterior_holds_every_shared_dynamic_inside_its_prior() -> None:
    design = read_posterior()
    assert len(design) >= 100
    assert set(design.columns) == {f"dynamics.{name}" for name in DEFAULT_DYNAMICS}
    for name, (low, high) in DEFAULT_DYNAMICS.items():
        values = design[f"dynamics.{name}"]
        assert values.between(low, high).all(), name


@pytest.mark.parametrize(("text", "message"), [
    (None, "no such file; allowed: a posterior.csv written by escalation calibrate"),
    ("spiral_gain\n0.5\n", "fewer than two draws"),
    ("colour,size\n1,2\n3,4\n", "found no dynamics columns"),
    ("spiral_gain,clash_rate\n0.5,0.1\n0.7,1.5\n", "posterior.csv:3: clash_rate: found 1.5; allowed: a number"),
    ("spiral_gain,clash_rate\n0.5,0.1\n0.7,abc\n", "posterior.csv:3: clash_rate: found 'abc'"),
])
def test_a_bad_posterior_is_one_message_and_exit_2(scenario: Path, tmp_path: Path, capsys, text: str | None,
                                                   message: str) -> None:
    path = tmp_path / "posterior.csv"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    assert main(["run", str(scenario), "--posterior", str(path), "--runs", "10", "--out", str(tmp_path / "out"),
                 "--no-progress", "--no-figures"]) == 2
    assert message in capsys.readouterr().err


def test_every_draw_plays_replications_of_its_own(scenario: Path, tmp_path: Path) -> None:
    """Two identical draws: with common random numbers they would give identical runs, and the pooled
    Wilson interval would count the same replications twice. Each draw has random streams of its own."""
    path = tmp_path / "same.csv"
    pd.DataFrame({"capitulation_resolve": [0.2, 0.2], "spiral_gain": [1.0, 1.0]}).to_csv(path, index=False)
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--posterior", str(path), "--runs", "400", "--out", str(out),
                 "--no-progress", "--no-figures", "--workers", "1"]) == 0
    runs = pd.read_csv(out / "runs.csv")
    first, second = (runs[runs["point"] == p].reset_index(drop=True) for p in (0, 1))
    assert len(first) == len(second) == 200
    assert not first["casualties_a"].equals(second["casualties_a"])


def test_the_backtest_scores_the_posterior_predictive_of_each_case(posterior: Path, tmp_path: Path, capsys) -> None:
    """``backtest --posterior``: each case's forecast is the same pooled posterior predictive that ``run
    --posterior`` gives for it (same seed, same draws, same chunks), with the draws' interval beside it."""
    from tests.test_calibrate import write_library

    cases = write_library(tmp_path / "cases")
    out = tmp_path / "backtest"
    assert main(["backtest", str(cases), "--posterior", str(posterior), "--runs", "400", "--out", str(out),
                 "--no-progress", "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "Posterior predictive" in printed and "2 draws, 200 runs each" in printed
    table = pd.read_csv(out / "backtest.csv").set_index("case")
    assert (table["runs"] == 400).all()
    assert (table["calibration_low"] <= table["calibration_high"]).all()
    run = tmp_path / "run"
    assert main(["run", str(cases / "fast.yaml"), "--posterior", str(posterior), "--runs", "400", "--out",
                 str(run), "--no-progress", "--no-figures", "--workers", "1"]) == 0
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    assert table.loc["fast", "p_regional_escalation"] == summary["p_regional_escalation"]["estimate"]
    assert [table.loc["fast", "calibration_low"], table.loc["fast", "calibration_high"]] == \
        pytest.approx(summary["calibration"]["interval_90"])


def test_compare_pairs_both_variants_at_every_draw(scenario: Path, posterior: Path, tmp_path: Path, capsys) -> None:
    """``compare --posterior``: each variant's forecast is exactly the posterior predictive ``run --posterior``
    gives for it (the same draws on the same streams), the two variants play the same replications at each draw,
    and the difference carries the draws' interval too."""
    out = tmp_path / "compare"
    assert main(["compare", str(scenario), "--set-b", "actors.a.party.strength=1.5", "--posterior", str(posterior),
                 "--runs", "400", "--out", str(out), "--no-progress", "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "Posterior predictive" in printed and "2 draws, 200 paired runs each" in printed
    assert printed.count("calibration") >= 4  # the header, both variants and the difference
    data = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    run = tmp_path / "run"
    assert main(["run", str(scenario), "--posterior", str(posterior), "--runs", "400", "--out", str(run),
                 "--no-progress", "--no-figures", "--workers", "1"]) == 0
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    assert data["first"]["p_regional_escalation"] == summary["p_regional_escalation"]
    assert data["first"]["calibration"]["interval_90"] == pytest.approx(summary["calibration"]["interval_90"])
    difference = data["difference_in_p_regional_escalation"]
    assert difference["runs"] == 400
    low, high = difference["calibration"]["interval_90"]
    assert low <= high


def test_compare_of_a_variant_with_itself_differs_by_nothing_at_any_draw(scenario: Path, posterior: Path) -> None:
    """The same variant twice, paired at every draw: every pair agrees, so the difference and its spread over
    the draws are exactly zero (a test that pairing holds inside each draw, not only on average)."""
    from sim.analysis.compare import compare

    result = compare(scenario, first_overrides=["actors.a.party.strength=1.0"],
                     second_overrides=["actors.a.party.strength=1.0"], runs=300, workers=1, progress=False,
                     dynamics=read_posterior(posterior))
    assert result.exact_common_random_numbers
    assert result.difference["estimate"] == 0.0
    assert result.difference["discordant_first"] == result.difference["discordant_second"] == 0
    assert result.difference["calibration"]["interval_90"] == [0.0, 0.0]
    assert result.summaries[0]["calibration"]["points"] == 2


def test_a_sweep_pools_every_point_over_the_draws(scenario: Path, posterior: Path, tmp_path: Path, capsys) -> None:
    """``sweep --posterior``: every sweep point is played at every draw, the points of a draw on common random
    numbers and each draw on streams of its own, so a point's pooled forecast is exactly the ``run
    --posterior`` of the scenario set to that point; the draws' interval sits beside it in sweep.csv."""
    out = tmp_path / "sweep"
    assert main(["sweep", str(scenario), "--param", "actors.a.party.strength=1.0,1.5", "--posterior", str(posterior),
                 "--runs", "400", "--chunk-size", "100", "--out", str(out), "--no-progress", "--no-figures",
                 "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "Posterior predictive at every point" in printed and "2 draws, 200 runs each" in printed
    table = pd.read_csv(out / "sweep.csv")
    assert list(table["runs"]) == [400, 400]
    assert (table["calibration_low"] <= table["calibration_high"]).all()
    assert len(pd.read_csv(out / "sweep_draws.csv")) == 4
    run = tmp_path / "run"
    assert main(["run", str(scenario), "--set", "actors.a.party.strength=1.5", "--posterior", str(posterior),
                 "--runs", "400", "--chunk-size", "100", "--out", str(run), "--no-progress", "--no-figures",
                 "--workers", "1"]) == 0
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    assert table.loc[1, "p_regional_escalation"] == summary["p_regional_escalation"]["estimate"]
    assert [table.loc[1, "calibration_low"], table.loc[1, "calibration_high"]] == \
        pytest.approx(summary["calibration"]["interval_90"])
    # the same sweep on two workers: the same table
    assert main(["sweep", str(scenario), "--param", "actors.a.party.strength=1.0,1.5", "--posterior", str(posterior),
                 "--runs", "400", "--chunk-size", "100", "--out", str(tmp_path / "again"), "--no-progress",
                 "--no-figures", "--workers", "2"]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "again" / "sweep.csv"), table)


def test_a_sweep_of_a_dynamic_the_posterior_draws_is_one_message(scenario: Path, posterior: Path, tmp_path: Path,
                                                                 capsys) -> None:
    assert main(["sweep", str(scenario), "--param", "dynamics.spiral_gain=0.5,1.0", "--posterior", str(posterior),
                 "--runs", "100", "--out", str(tmp_path / "out"), "--no-progress", "--no-figures"]) == 2
    message = capsys.readouterr().err
    assert "dynamics.spiral_gain is drawn from the posterior" in message and "--param" in message
