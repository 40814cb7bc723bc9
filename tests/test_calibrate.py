"""Calibration of the shared dynamics: the fit is exact over its design, leave-one-out never sees the
held-out case, mistakes are explained, and results do not depend on the worker count."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.analysis.calibrate import (
    DEFAULT_DYNAMICS,
    CaseForecast,
    calibrate,
    case_log_likelihood,
    check_ranges,
    clip_probability,
    effective_sample_size,
    leave_one_out,
    observed_outcomes,
    posterior_weights,
    simulate_case,
    sobol_design,
    war_length_edges,
    weighted_quantile,
)
from sim.cli import main
from sim.model.endings import ENDINGS
from sim.scenario.errors import UserError
from sim.scenario.loader import load_with_provenance
from tests.factory import entry_tie, proxy_tie, scenario_data

RANGES = {"capitulation_resolve": (0.05, 0.95), "spiral_gain": (0.0, 2.0)}


def _write_case(folder: Path, name: str, rate: float, entered: bool, war_days: int, *, weariness: float = 0.06,
                ended_by: str = "capitulation", seed: int = 1) -> Path:
    """A war the weary party b gives up sooner the higher capitulation_resolve is; a patron of a, struck
    by b, climbs at ``rate`` a day while the war lasts: the dynamics change both war length and entry."""
    data = scenario_data(horizon=20, b={"deep_strike_propensity": 1.0, "war_weariness": weariness},
                         backers={"patron": {"escalation_rate": rate}}, ties=[proxy_tie(), entry_tie()], seed=seed)
    data["name"] = name
    data["dynamics"].pop("capitulation_resolve")   # the fitted field: left to the schema's reference value
    data["observed"] = {"open_entry": entered, "war_days": war_days, "truces_broken": 0, "truces_held": 0,
                        "ended_by": ended_by, "sources": ["synthetic test case"]}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def write_library(folder: Path) -> Path:
    """Three synthetic cases in a new folder: one fast entry, one middle, one that never escalates."""
    folder.mkdir()
    _write_case(folder, "fast", 0.3, True, 20, weariness=0.02, ended_by="ongoing", seed=3)
    _write_case(folder, "middle", 0.08, True, 9, seed=4)
    _write_case(folder, "never", 0.0, False, 6, seed=5)
    return folder


@pytest.fixture
def cases(tmp_path: Path) -> Path:
    return write_library(tmp_path / "cases")


# ---- exact results over a design -------------------------------------------------------------------


def test_the_weights_pick_the_one_candidate_that_makes_what_happened_certain() -> None:
    runs = 100
    # three candidates: the second makes escalation certain and the war last to the horizon (20 days)
    edges = war_length_edges(20)
    war = np.zeros((3, edges.size))
    war[[0, 2], 0] = 1.0  # the others: short wars, never escalation
    war[1, -1] = 1.0
    forecast = CaseForecast("case", runs, {"regional_escalation": np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]),
                                           "war_length": war})
    observed = {"regional_escalation": (1,), "war_length": (edges.size - 1,)}
    log_likelihood = case_log_likelihood(forecast, observed)
    floor, top = np.log(1 / (2 * runs)), np.log(1 - 1 / (2 * runs))
    assert np.allclose(log_likelihood["regional_escalation"], [floor, top, floor])  # clipped: never -inf
    columns = np.column_stack([log_likelihood["regional_escalation"] + log_likelihood["war_length"]] * 3)
    weights = posterior_weights(columns)
    assert int(np.argmax(weights)) == 1
    # exp(3 x 2 x (floor - top)) relative weight for each of the others: (1/199)^6
    assert weights[0] == pytest.approx(weights[1] * (1 / 199) ** 6)
    assert effective_sample_size(weights) == pytest.approx(1.0, abs=1e-10)
    assert effective_sample_size(np.full(8, 1 / 8)) == pytest.approx(8.0)


def test_clipping_keeps_shares_inside_one_over_two_n() -> None:
    assert np.array_equal(clip_probability(np.array([0.0, 0.3, 1.0]), 50), [0.01, 0.3, 0.99])


@pytest.mark.parametrize("size", [1, 2, 7, 20, 64])
def test_weighted_quantiles_equal_numpys_on_equal_weights(size: int) -> None:
    rng = np.random.default_rng(size)
    values = rng.normal(size=size)
    # levels off the steps k/size, where the two differ only by the rounding of size x level
    levels = np.concatenate([[0.0, 0.05, 0.5, 0.95, 1.0], rng.uniform(size=200)])
    levels = levels[np.abs(levels * size - np.round(levels * size)) > 1e-9]
    expected = np.quantile(values, levels, method="inverted_cdf")
    assert np.array_equal(weighted_quantile(values, np.full(size, 1.0 / size), levels), expected)


def test_weighted_quantiles_follow_the_weights() -> None:
    values = np.array([3.0, 1.0, 2.0])
    weights = np.array([0.1, 0.6, 0.3])  # sorted: 1 (0.6), 2 (0.3), 3 (0.1)
    assert list(weighted_quantile(values, weights, [0.05, 0.6, 0.61, 0.9, 0.95])) == [1.0, 1.0, 2.0, 2.0, 3.0]


def test_leave_one_out_weights_are_the_in_sample_weights_of_the_other_cases() -> None:
    rng = np.random.default_rng(7)
    log_likelihood = rng.normal(scale=3.0, size=(16, 5))
    forecasts = rng.uniform(size=(16, 5))
    loo = leave_one_out(log_likelihood, forecasts)
    for i in range(5):
        others = posterior_weights(log_likelihood[:, [c for c in range(5) if c != i]])
        assert loo[i] == pytest.approx(others @ forecasts[:, i], rel=1e-12)
    changed = log_likelihood.copy()
    changed[:, 2] = rng.normal(scale=30.0, size=16)  # a different outcome of case 2
    assert leave_one_out(changed, forecasts)[2] == loo[2]
    assert not np.allclose(posterior_weights(changed), posterior_weights(log_likelihood))


def test_the_design_is_a_fixed_sobol_sample_inside_the_ranges() -> None:
    design = sobol_design(RANGES, 16, seed=3)
    assert list(design.columns) == list(RANGES) and len(design) == 16
    for name, (low, high) in RANGES.items():
        assert design[name].between(low, high).all()
        # a balanced Sobol' sample of 16 points puts exactly 4 in each quarter of each range
        quarters = np.floor((design[name] - low) / (high - low) * 4).clip(0, 3)
        assert np.bincount(quarters.astype(int), minlength=4).tolist() == [4, 4, 4, 4]
    assert design.equals(sobol_design(RANGES, 16, seed=3))
    assert not design.equals(sobol_design(RANGES, 16, seed=4))


def test_the_default_dynamics_are_valid_prior_ranges() -> None:
    assert check_ranges(DEFAULT_DYNAMICS) == DEFAULT_DYNAMICS


# ---- the whole calibration on small cases --------------------------------------------------------


def test_leave_one_out_equals_a_calibration_without_the_case(cases: Path, tmp_path: Path) -> None:
    full = calibrate(cases, RANGES, candidates=8, runs=200, progress=False)
    assert full.cases == ["fast", "middle", "never"]
    assert full.ess < 8  # the cases tell the candidates apart
    for i, name in enumerate(full.cases):
        folder = tmp_path / f"without_{name}"
        folder.mkdir()
        for other in full.cases:
            if other != name:
                shutil.copy(cases / f"{other}.yaml", folder)
        refit = calibrate(folder, RANGES, candidates=8, runs=200, progress=False)
        np.testing.assert_allclose(refit.weights, posterior_weights(np.delete(full.total, i, axis=1)), rtol=1e-12)
        forecast = simulate_case(load_with_provenance(cases / f"{name}.yaml"), full.design, 200)
        assert np.ptp(forecast.p_regional_escalation) > 0.05 or name == "never"  # the candidates differ
        assert full.loo["p_loo"][i] == pytest.approx(refit.weights @ forecast.p_regional_escalation, rel=1e-12)


def test_no_leakage_the_held_out_outcome_never_reaches_its_forecast(cases: Path, tmp_path: Path) -> None:
    """Flipping the middle case's observed block changes the in-sample fit but leaves the middle case's
    leave-one-out forecasts bit-identical, and its simulated shares too (the model never sees it)."""
    flipped = tmp_path / "flipped"
    shutil.copytree(cases, flipped)
    data = yaml.safe_load((flipped / "middle.yaml").read_text(encoding="utf-8"))
    data["observed"].update(open_entry=False, war_days=20, truces_broken=3, sources=["invented"])
    (flipped / "middle.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")

    original = calibrate(cases, RANGES, candidates=8, runs=200, progress=False)
    changed = calibrate(flipped, RANGES, candidates=8, runs=200, progress=False)
    assert not np.array_equal(original.weights, changed.weights)
    middle = original.cases.index("middle")
    assert original.loo["p_in_sample"][middle] != changed.loo["p_in_sample"][middle]
    for column in ("p_loo", "loo_ess"):
        assert original.loo[column][middle] == changed.loo[column][middle], column
    # the MAP candidate may change with the in-sample fit; the reference dynamics' forecast cannot
    assert original.loo["p_reference"][middle] == changed.loo["p_reference"][middle]
    design = original.design
    as_recorded = simulate_case(load_with_provenance(cases / "middle.yaml"), design, 200)
    reversed_case = simulate_case(load_with_provenance(flipped / "middle.yaml"), design, 200)
    for outcome, shares in as_recorded.shares.items():
        assert np.array_equal(shares, reversed_case.shares[outcome]), outcome


def test_observed_outcomes_read_the_strict_coding_and_what_is_recorded(cases: Path) -> None:
    observed = load_with_provenance(cases / "middle.yaml").scenario.observed
    edges = war_length_edges(20)
    assert list(edges) == [0, 4, 8, 15, 20]
    assert observed_outcomes(observed, 20) == {"regional_escalation": (1,), "war_length": (2,), "truces": (0,),
                                               "ended_by": (ENDINGS.index("capitulation"),)}
    partial = observed.model_copy(update={"truces_held": None, "war_days": None, "open_entry": False,
                                          "ended_by": None})
    assert observed_outcomes(partial, 20) == {"regional_escalation": (0,), "truces": (0, 1)}


# ---- the command ----------------------------------------------------------------------------------


def test_a_small_calibration_writes_its_files(cases: Path, tmp_path: Path, capsys) -> None:
    parameters = tmp_path / "parameters.yaml"
    parameters.write_text("capitulation_resolve: [0.05, 0.95]\nspiral_gain: [0, 2]\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["calibrate", str(cases), "--parameters", str(parameters), "--method", "design", "--candidates", "8",
                 "--runs", "100",
                 "--out", str(out), "--no-progress", "--workers", "1"]) == 0
    for name in ("fitted_dynamics.yaml", "candidates.csv", "loo.csv", "report.md", "manifest.json",
                 "figures/weights.png", "figures/loo_forecasts.png"):
        assert (out / name).is_file(), name
    fitted = yaml.safe_load((out / "fitted_dynamics.yaml").read_text(encoding="utf-8"))
    assert set(fitted["dynamics"]) == {"capitulation_resolve", "spiral_gain"}
    candidates = pd.read_csv(out / "candidates.csv")
    assert len(candidates) == 9 and candidates["candidate"].iloc[-1] == "reference"
    assert candidates["weight"].iloc[:8].sum() == pytest.approx(1.0)
    assert "Fitted dynamics" in capsys.readouterr().out

    backtest_out = tmp_path / "backtest"
    assert main(["backtest", str(cases), "--runs", "100", "--out", str(backtest_out), "--calibrated", str(out),
                 "--no-progress", "--workers", "1"]) == 0
    scores = pd.read_csv(backtest_out / "calibrated_scores.csv")
    assert scores["forecaster"].iloc[0] == "model, calibrated, leave-one-out"
    assert "leave-one-out base rate" in set(scores["forecaster"])
    assert "fitted without it" in capsys.readouterr().out

    data = yaml.safe_load((cases / "never.yaml").read_text(encoding="utf-8"))
    data["observed"]["open_entry"] = True  # no longer the outcome the calibration was fitted on
    (cases / "never.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    assert main(["backtest", str(cases), "--runs", "100", "--out", str(tmp_path / "again"), "--calibrated", str(out),
                 "--no-progress", "--workers", "1"]) == 2
    assert "the observed outcome of never differs" in capsys.readouterr().err


@pytest.mark.parametrize(("text", "message"), [
    ("spiral_gian: [0, 2]\n", "parameters.yaml:1:1: spiral_gian: not a field of 'dynamics'; allowed: daily_casualties"),
    ("spiral_gain: [2, 0]\n", "parameters.yaml:1:14: spiral_gain: found [2, 0]; allowed: [low, high] with low "
                              "below high"),
    ("clash_rate: [0, 1.5]\n", "parameters.yaml:1:13: clash_rate: found [0, 1.5]; allowed: values from 0 to 1"),
    ("clash_rate: 0.1\n", "parameters.yaml:1:13: clash_rate: found 0.1; allowed: a prior range [low, high]"),
    ("- clash_rate\n", "parameters.yaml: expected a mapping of dynamics names to prior ranges"),
])
def test_a_bad_parameter_file_is_one_message_and_exit_2(cases: Path, tmp_path: Path, capsys, text: str,
                                                        message: str) -> None:
    parameters = tmp_path / "parameters.yaml"
    parameters.write_text(text, encoding="utf-8")
    assert main(["calibrate", str(cases), "--parameters", str(parameters), "--no-progress"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and message in error, error
    with pytest.raises(UserError):
        check_ranges(yaml.safe_load(text) if isinstance(yaml.safe_load(text), dict) else [])


def test_the_backtest_refuses_a_folder_without_a_calibration(cases: Path, tmp_path: Path, capsys) -> None:
    assert main(["backtest", str(cases), "--calibrated", str(tmp_path), "--no-progress"]) == 2
    assert "no loo.csv here" in capsys.readouterr().err


def test_same_seed_same_candidates_whatever_the_workers(cases: Path, tmp_path: Path) -> None:
    tables = []
    for workers in ("1", "2"):
        out = tmp_path / f"workers_{workers}"
        parameters = tmp_path / "parameters.yaml"
        parameters.write_text("capitulation_resolve: [0.05, 0.95]\n", encoding="utf-8")
        assert main(["calibrate", str(cases), "--parameters", str(parameters), "--method", "design",
                     "--candidates", "4", "--runs", "120", "--chunk-size", "60", "--seed", "9", "--workers", workers,
                     "--out", str(out),
                     "--no-progress"]) == 0
        tables.append((out / "candidates.csv").read_bytes())
    assert tables[0] == tables[1]


def test_the_reference_candidate_forecasts_exactly_what_a_plain_run_does(cases: Path) -> None:
    """The reference point of the design is the case as written (it leaves capitulation_resolve to its
    reference value): its P(regional escalation) is the plain run's, replication for replication."""
    from sim.ensemble.runner import run_ensemble

    result = calibrate(cases, {"capitulation_resolve": (0.05, 0.95)}, candidates=4, runs=200, progress=False)
    for i, name in enumerate(result.cases):
        plain = run_ensemble(cases / f"{name}.yaml", runs=200, workers=1, progress=False)
        assert result.loo["p_reference"][i] == plain.summary["p_regional_escalation"]["estimate"], name


def test_fitting_the_shared_pace_names_the_powers_that_keep_their_own(cases: Path) -> None:
    """dynamics.escalation_rate is the value of the outside powers that leave theirs unset; a case's own value
    is a fact of the case, kept, and the calibration says so."""
    from sim.analysis.calibrate import calibrate

    notes: list[str] = []
    calibrate(cases, {"escalation_rate": (0.01, 0.4)}, candidates=2, runs=20, workers=1, progress=False,
              notify=notes.append)
    assert sum("patron set their own escalation_rate, which the fit of dynamics.escalation_rate does not change"
               in note for note in notes) == 3
