"""Statistics, sweep designs, sweeps, sensitivity and comparison."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.analysis.compare import compare
from sim.analysis.designs import grid_design, parse_parameter
from sim.analysis.sensitivity import sensitivity
from sim.analysis.stats import paired_difference, proportion, wilson_interval
from sim.analysis.sweep import evaluate, make_design, sweep
from sim.scenario.errors import UserError
from tests.factory import entry_tie, make_scenario, proxy_tie

KARABAKH = "scenarios/nagorno_karabakh_2020.yaml"


# ---- statistics ---------------------------------------------------------------------------

def test_wilson_interval_known_values() -> None:
    # Reference values (Newcombe 1998, table I): 81/263 -> 0.2553 to 0.3662
    low, high = wilson_interval(81, 263)
    assert float(low) == pytest.approx(0.2553, abs=1e-4)
    assert float(high) == pytest.approx(0.3662, abs=1e-4)
    low, high = wilson_interval(0, 10)
    assert float(low) == 0.0 and float(high) == pytest.approx(0.2775, abs=1e-4)


def test_proportion_reports_estimate_interval_and_counts() -> None:
    estimate = proportion(10, 100)
    assert estimate["estimate"] == 0.1 and estimate["count"] == 10 and estimate["runs"] == 100
    assert estimate["ci_low"] < 0.1 < estimate["ci_high"]


def test_paired_difference_matches_newcombe_example() -> None:
    # Newcombe (1998) paired example: a=1, b=1, c=1, d=... ; check symmetric case and a known one
    first = np.array([1] * 12 + [1] * 5 + [0] * 2 + [0] * 81, dtype=bool)
    second = np.array([1] * 12 + [0] * 5 + [1] * 2 + [0] * 81, dtype=bool)
    result = paired_difference(first, second)
    assert result["estimate"] == pytest.approx(0.03)
    assert result["ci_low"] < 0.03 < result["ci_high"]
    same = paired_difference(first, first)
    assert same["estimate"] == 0.0 and same["ci_low"] <= 0.0 <= same["ci_high"]


def test_wilson_coverage_is_close_to_95_percent() -> None:
    """Over many independent seeds the interval holds the exact probability 93-97% of the time."""
    p, n, trials = 0.3, 400, 2_000
    rng = np.random.default_rng(12345)
    successes = rng.binomial(n, p, size=trials)
    low, high = wilson_interval(successes, n)
    coverage = np.mean((low <= p) & (p <= high))
    assert 0.93 <= coverage <= 0.97


# ---- designs --------------------------------------------------------------------------------

def test_grid_is_the_full_factorial_with_inclusive_ends() -> None:
    design = grid_design([parse_parameter("x.y=0:1:3"), parse_parameter("z=a,b")])
    assert len(design) == 6
    assert sorted(design["x.y"].unique()) == [0, 0.5, 1]
    assert sorted(design["z"].unique()) == ["a", "b"]


@pytest.mark.parametrize("spec, fragment", [
    ("x=0:1:0", "empty range"),
    ("x=0.5:0.5:3", "empty range"),
    ("x=0:1", "START:STOP:NUM"),
    ("x=a:b:3", "must be numbers"),
    ("x=", "expected"),
    ("x=1,1", "twice"),
])
def test_bad_parameter_specs_are_user_errors(spec: str, fragment: str) -> None:
    with pytest.raises(UserError, match=fragment):
        make_design([spec])


def test_lhs_design_stays_in_range() -> None:
    design = make_design(["a=0:1", "b=10:20"], "lhs", samples=50, seed=3)
    assert len(design) == 50
    assert design["a"].between(0, 1).all() and design["b"].between(10, 20).all()
    # one sample per stratum: each tenth of [0, 1] holds 5 of the 50 points
    assert np.all(np.bincount(np.minimum((design["a"] * 10).astype(int), 9)) == 5)


def test_unknown_paths_and_values_out_of_range_are_user_errors() -> None:
    with pytest.raises(UserError, match="did you mean 'escalation_rate'"):
        sweep(KARABAKH, ["actors.turkey.outside.escalation_rat=0:0.1:2"], runs=10, progress=False)
    with pytest.raises(UserError, match="escalation_rate: found 2"):
        sweep(KARABAKH, ["actors.turkey.outside.escalation_rate=0:2:3"], runs=10, progress=False)
    with pytest.raises(UserError, match="no entry with id 'turky'"):
        sweep(KARABAKH, ["actors.turky.outside.escalation_rate=0:1:3"], runs=10, progress=False)


# ---- sweeps -----------------------------------------------------------------------------------

def test_a_parameter_that_cannot_matter_gives_flat_results() -> None:
    """The USA leans towards no one, so its bias cannot act: every point gives the same counts."""
    table = sweep(KARABAKH, ["actors.usa.mediator.bias=0:1:5"], runs=2_000, seed=3, workers=1, progress=False)
    assert table["p_regional_escalation"].nunique() == 1
    assert (table["share_decisive_victory"] == table["share_decisive_victory"].iloc[0]).all()


def test_truce_compliance_moves_the_risk_in_the_expected_direction() -> None:
    """Better compliance keeps truces, so less fighting, fewer strikes, fewer backers drawn in."""
    scenario = make_scenario(
        horizon=40, initial_state="truce",
        a={"truce_compliance": 0.9, "deep_strike_propensity": 0.2},
        b={"truce_compliance": 0.9, "deep_strike_propensity": 0.2},
        backers={"patron": {"escalation_rate": 0.1}}, ties=[proxy_tie(), entry_tie()],
    )
    table = sweep(scenario, ["actors.a.party.truce_compliance=0.8:1.0:5"], runs=4_000, seed=5,
                  workers=1, progress=False)
    risk = table["p_regional_escalation"].to_numpy()
    assert np.all(np.diff(risk) < 0)
    assert table["ci_high"].iloc[-1] < table["ci_low"].iloc[0]


def test_sweep_points_use_common_random_numbers() -> None:
    table = sweep(KARABAKH, ["actors.turkey.outside.escalation_rate=0.02:0.04:3"], runs=3_000, seed=2,
                  workers=1, progress=False)
    # Higher rate, same random numbers: escalation can only be more frequent, never less.
    assert np.all(np.diff(table["p_combat_turkey"].to_numpy()) >= 0)


def test_sweep_results_do_not_depend_on_workers_or_point_blocks(monkeypatch) -> None:
    from sim.ensemble import chunks

    spec = ["actors.turkey.outside.escalation_rate=0.01:0.05:4"]
    serial = sweep(KARABAKH, spec, runs=600, seed=8, workers=1, chunk_size=200, progress=False)
    monkeypatch.setattr(chunks, "MAX_LANES_PER_CHUNK", 200)  # one point per chunk
    split = sweep(KARABAKH, spec, runs=600, seed=8, workers=2, chunk_size=200, progress=False)
    assert serial.equals(split)


def test_evaluate_takes_a_dict_of_overrides() -> None:
    table = evaluate(KARABAKH, [{"actors.turkey.outside.escalation_rate": 0.0},
                                {"actors.turkey.outside.escalation_rate": 0.2}], runs=1_000, seed=1, workers=1,
                     progress=False)
    assert len(table) == 2
    assert table["p_combat_turkey"].iloc[0] == 0.0 < table["p_combat_turkey"].iloc[1]


# ---- sensitivity ------------------------------------------------------------------------------

def test_sobol_ranks_the_dominant_parameter_first() -> None:
    scenario = make_scenario(
        horizon=20, b={"deep_strike_propensity": 1.0},
        backers={"patron": {"escalation_rate": 0.05}}, ties=[proxy_tie(), entry_tie()],
        mediators={"m": {"attempt_rate": 0.0, "leverage": {"a": 0.5, "b": 0.5}}},
    )
    result = sensitivity(scenario, ["actors.patron.outside.escalation_rate=0:0.2",
                                    "commitments.patron_a_defence_pact.reliability=0.9:1",
                                    "actors.m.mediator.bias=0:1"],
                         method="sobol", samples=32, runs=300, seed=4, workers=1, progress=False)
    assert result.indices["parameter"].iloc[0] == "actors.patron.outside.escalation_rate"
    assert result.indices["ST"].iloc[0] > 0.8
    inert = result.indices.set_index("parameter").loc["actors.m.mediator.bias"]
    assert abs(inert["ST"]) < 1e-9


def test_morris_runs_and_ranks() -> None:
    scenario = make_scenario(horizon=20, b={"deep_strike_propensity": 1.0},
                             backers={"patron": {"escalation_rate": 0.05}}, ties=[proxy_tie(), entry_tie()])
    result = sensitivity(scenario, ["actors.patron.outside.escalation_rate=0:0.2",
                                    "actors.a.party.truce_compliance=0:1"],
                         method="morris", samples=10, runs=300, seed=4, workers=1, progress=False)
    assert result.indices["parameter"].iloc[0] == "actors.patron.outside.escalation_rate"


def test_sobol_needs_a_power_of_two() -> None:
    with pytest.raises(UserError, match="power of two"):
        sensitivity(KARABAKH, ["actors.turkey.outside.escalation_rate=0:0.1"], samples=30, runs=10, progress=False)


# ---- comparison -------------------------------------------------------------------------------

def test_identical_variants_differ_by_exactly_nothing() -> None:
    result = compare(KARABAKH, runs=2_000, seed=1, workers=1, progress=False,
                     first_overrides=["actors.usa.mediator.bias=0.5"])
    assert result.exact_common_random_numbers
    assert result.difference["estimate"] == 0.0
    assert result.difference["discordant_first"] == result.difference["discordant_second"] == 0


def test_a_riskier_variant_shows_a_positive_paired_difference() -> None:
    result = compare(KARABAKH, runs=4_000, seed=1, workers=1, progress=False,
                     first_overrides=["actors.turkey.outside.escalation_rate=0.8"])
    assert result.difference["ci_low"] > 0
    assert result.difference["discordant_second"] == 0  # common random numbers: never less escalation


def test_scenarios_of_different_structure_are_still_paired(tmp_path) -> None:
    text = Path(KARABAKH).read_text(encoding="utf-8")
    start = text.index("rivalries:")  # the second variant has no rivalry: another structure
    end = text.index("truces:", start)
    second = tmp_path / "no_rivalry.yaml"
    text = text[:start] + text[end:]
    declared = text.index("  - path: rivalries.turkey_russia.intensity")   # its declared range goes with it
    text = text[:declared] + text[text.index("  - path:", declared + 1):]
    second.write_text(text, encoding="utf-8")
    result = compare(KARABAKH, second, runs=1_000, seed=1, workers=1, progress=False)
    assert not result.exact_common_random_numbers
    assert result.difference["runs"] == 1_000
