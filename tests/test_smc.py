"""The joint calibration by sequential Monte Carlo: the sampler against posteriors known in closed form,
its effective sample size, the command's files, out-of-sample forecasts that never see the held-out
outcome, and results that do not depend on the worker count."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats
from scipy.stats import qmc

from sim.analysis.smc import effective_sample_size, next_beta, sample, systematic_resample
from sim.analysis.smc_calibration import (
    cross_validate,
    joint_calibration,
    k_folds,
    library,
    split_scores,
    time_split,
)
from sim.cli import main
from tests.test_calibrate import _write_case, write_library

RANGES = {"capitulation_resolve": (0.05, 0.95), "spiral_gain": (0.0, 2.0)}


def _prior(particles: int, dimensions: int, seed: int = 0) -> np.ndarray:
    return qmc.Sobol(dimensions, rng=np.random.default_rng(seed)).random(particles)


# ---- the sampler, exactly ---------------------------------------------------------------------------


def test_the_sampler_recovers_a_gaussian_posterior_and_its_evidence() -> None:
    """Uniform prior on the unit square, Gaussian likelihood centred inside it: the posterior is the
    Gaussian (its mass outside the square is below 1e-9), the evidence its normaliser."""
    centre, sd = np.array([0.3, 0.7]), np.array([0.05, 0.02])

    def log_likelihood(unit: np.ndarray) -> np.ndarray:
        return -0.5 * ((unit - centre) / sd) ** 2  # one "case" per dimension

    result = sample(log_likelihood, _prior(512, 2), np.random.default_rng(1), moves=4)
    assert result.betas[0] == 0.0 and result.betas[-1] == 1.0
    assert min(result.ess) >= 0.5 * 512 - 1e-6
    # 512 particles after moves are correlated: allow four standard errors of an independent sample, doubled
    error = 2 * 4 * sd / np.sqrt(512)
    np.testing.assert_array_less(np.abs(result.particles.mean(axis=0) - centre), error)
    np.testing.assert_allclose(result.particles.std(axis=0), sd, rtol=0.25)
    exact = np.sum(np.log(sd * np.sqrt(2 * np.pi)))
    assert result.log_evidence == pytest.approx(exact, abs=0.5)
    # a Kolmogorov-Smirnov check of the marginals
    for d in range(2):
        assert stats.kstest(result.particles[:, d], stats.norm(centre[d], sd[d]).cdf).pvalue > 1e-3


def test_a_flat_likelihood_is_one_step_and_leaves_the_prior() -> None:
    result = sample(lambda unit: np.zeros((len(unit), 1)), _prior(256, 3), np.random.default_rng(2), moves=2)
    assert result.betas == [0.0, 1.0]
    assert result.final_ess == pytest.approx(256)
    # uniform marginals: mean 1/2 with standard error sqrt(1/12 / 256); four of them
    np.testing.assert_array_less(np.abs(result.particles.mean(axis=0) - 0.5), 4 * np.sqrt(1 / 12 / 256) * 2)


def test_next_beta_keeps_the_effective_sample_size_at_the_target() -> None:
    total = np.random.default_rng(3).normal(0, 30, 400)
    beta = next_beta(total, 0.0, 200.0)
    assert 0 < beta < 1
    assert effective_sample_size(beta * total) == pytest.approx(200.0, rel=1e-3)
    assert next_beta(np.zeros(10), 0.3, 5.0) == 1.0


def test_systematic_resampling_gives_each_particle_its_expected_count_to_within_one() -> None:
    weights = np.random.default_rng(4).dirichlet(np.ones(50))
    counts = np.bincount(systematic_resample(weights, np.random.default_rng(5)), minlength=50)
    assert counts.sum() == 50
    assert np.all(np.abs(counts - 50 * weights) < 1 + 1e-9)


# ---- on cases -------------------------------------------------------------------------------------


@pytest.fixture
def cases(tmp_path: Path) -> Path:
    folder = write_library(tmp_path / "cases")
    _write_case(folder, "slow", 0.02, False, 12, seed=6)
    for name, year in (("fast", 1970), ("middle", 1980), ("never", 1995), ("slow", 2005)):
        path = folder / f"{name}.yaml"
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["start_date"] = f"{year}-01-01"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return folder


SMALL = {"particles": 16, "runs": 60, "moves": 1, "workers": 1}


def test_the_joint_fit_keeps_half_its_particles_and_moves_towards_what_happened(cases: Path) -> None:
    fit = joint_calibration(library(cases), RANGES, **SMALL)
    assert fit.smc.betas[-1] == 1.0 and min(fit.smc.ess) >= 8 - 1e-6
    assert fit.ess >= 8 - 1e-6
    table = fit.parameters()
    assert list(table["parameter"]) == list(RANGES)
    assert np.all(table["low_90"] <= table["mean"]) and np.all(table["mean"] <= table["high_90"])
    assert np.all((table["prior_low"] <= table["low_90"]) & (table["high_90"] <= table["prior_high"]))
    # the posterior is more likely than the prior sample it started from
    start = joint_calibration(library(cases), RANGES, **{**SMALL, "moves": 0})
    assert fit.evaluation.total.sum(axis=1).mean() >= start.evaluation.total.sum(axis=1).mean() - 1.0


def test_folds_deal_cases_in_turn_and_the_time_split_cuts_at_the_year(cases: Path) -> None:
    found = library(cases)
    assert k_folds(found, 2) == [[0, 2], [1, 3]]
    assert time_split(found, 1990) == [[2, 3]]  # never (1995) and slow (2005)
    with pytest.raises(Exception, match="allowed: a year that splits the library"):
        time_split(found, 1900)
    with pytest.raises(Exception, match="allowed: 2 to 4 folds"):
        k_folds(found, 9)


def test_no_leakage_a_held_out_outcome_never_reaches_its_own_forecast(cases: Path, tmp_path: Path) -> None:
    """The whole fit is rerun without the held-out fold: flipping what the middle case recorded changes
    neither its forecast nor its fold's posterior, only its score."""
    flipped = tmp_path / "flipped"
    shutil.copytree(cases, flipped)
    data = yaml.safe_load((flipped / "middle.yaml").read_text(encoding="utf-8"))
    data["observed"].update(open_entry=False, war_days=20, truces_broken=3, sources=["invented"])
    (flipped / "middle.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    folds = [[1], [0, 2, 3]]  # middle alone
    original = cross_validate(library(cases), folds, RANGES, **SMALL)
    changed = cross_validate(library(flipped), folds, RANGES, **SMALL)
    middle = original.index[original["case"] == "middle"][0]
    for column in ("p_loo", "p_loo_low", "p_loo_high", "fold_ess"):
        assert original.loc[middle, column] == changed.loc[middle, column], column
    assert original.loc[middle, "loo_log_likelihood_war_length"] != changed.loc[middle, "loo_log_likelihood_war_length"]
    # the other fold was fitted on the middle case: its forecasts see the change
    others = original["case"] != "middle"
    assert not np.array_equal(original.loc[others, "p_loo"], changed.loc[others, "p_loo"])


def test_the_time_split_is_scored_against_forecasters_fitted_before_it(cases: Path) -> None:
    found = library(cases)
    held = cross_validate(found, time_split(found, 1990), RANGES, **SMALL)
    assert list(held["case"]) == ["never", "slow"]
    table = split_scores(held, [found[0], found[1]])
    # both earlier cases saw an outside power in combat: the base rate before the split is 1
    assert table.loc[1, "forecaster"] == "base rate before the split"
    assert table.loc[1, "brier"] == pytest.approx(1.0)
    assert table.loc[0, "brier"] == pytest.approx(float(np.mean(held["p_loo"] ** 2)))


def test_the_command_writes_the_posterior_and_its_report_whatever_the_workers(cases: Path, tmp_path: Path,
                                                                             capsys) -> None:
    parameters = tmp_path / "parameters.yaml"
    parameters.write_text("capitulation_resolve: [0.05, 0.95]\nspiral_gain: [0, 2]\n", encoding="utf-8")
    folders = []
    for workers in ("1", "2"):
        out = tmp_path / f"out_{workers}"
        assert main(["calibrate", str(cases), "--parameters", str(parameters), "--particles", "16", "--runs", "40",
                     "--moves", "1", "--folds", "2", "--split-year", "1990", "--out", str(out), "--no-progress",
                     "--workers", workers]) == 0
        folders.append(out)
    for name in ("posterior.csv", "parameters.csv", "steps.csv", "in_sample.csv", "fitted_dynamics.yaml", "loo.csv",
                 "scores.csv", "time_split.csv", "time_split_scores.csv", "report.md", "manifest.json",
                 "figures/posterior.png", "figures/loo_forecasts.png"):
        assert (folders[0] / name).is_file(), name
        if name.endswith(".csv"):
            assert (folders[0] / name).read_bytes() == (folders[1] / name).read_bytes(), name
    posterior = pd.read_csv(folders[0] / "posterior.csv")
    assert len(posterior) == 16 and set(RANGES) <= set(posterior.columns)
    fitted = yaml.safe_load((folders[0] / "fitted_dynamics.yaml").read_text(encoding="utf-8"))
    assert set(fitted["dynamics"]) == set(RANGES)
    out = capsys.readouterr().out
    assert "effective sample size" in out and "fitted on the crises before 1990" in out

    backtest_out = tmp_path / "backtest"
    assert main(["backtest", str(cases), "--runs", "40", "--out", str(backtest_out), "--calibrated", str(folders[0]),
                 "--no-progress", "--workers", "1"]) == 0


@pytest.mark.parametrize(("flags", "message"), [
    (["--candidates", "8"], "--candidates is for --method design"),
    (["--method", "design", "--folds", "2"], "--folds is for --method smc"),
    (["--particles", "4"], "allowed: 8 or more particles"),
    (["--folds", "9"], "allowed: 2 to 4 folds"),
    (["--split-year", "1900"], "allowed: a year that splits the library"),
])
def test_mistakes_in_the_command_are_one_message_and_exit_2(cases: Path, tmp_path: Path, capsys, flags: list[str],
                                                            message: str) -> None:
    assert main(["calibrate", str(cases), *flags, "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    assert message in capsys.readouterr().err
