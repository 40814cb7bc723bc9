"""Backtests: proper scores, case loading, stylised facts, and the command."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim.analysis.backtest import backtest, brier, load_cases, log_score, score
from sim.cli import main
from sim.scenario.errors import UserError
from tests.factory import entry_tie, proxy_tie, scenario_data


def test_brier_and_log_scores_known_values() -> None:
    assert brier([1.0, 0.0], [True, False]) == 0.0
    assert brier([0.5, 0.5], [True, False]) == 0.25
    assert brier([0.2], [True]) == pytest.approx(0.64)
    assert log_score([0.5, 0.5], [True, False]) == pytest.approx(math.log(0.5))
    assert log_score([0.0], [True]) == pytest.approx(math.log(1e-3))  # floored, never -inf


def _write_case(folder: Path, name: str, rate: float, entered: bool) -> None:
    data = scenario_data(horizon=20, b={"deep_strike_propensity": 1.0},
                         backers={"patron": {"escalation_rate": rate}}, ties=[proxy_tie(), entry_tie()])
    data["name"] = name
    data["observed"] = {
        "open_entry": entered,
        "sources": ["synthetic test case"],
        "stylised_facts": [{"fact": "entry is likely", "statistic": "p_regional_escalation", "range": [0.5, 1.0]}],
    }
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")


def test_backtest_scores_a_sharp_model_above_the_references(tmp_path: Path) -> None:
    _write_case(tmp_path, "likely", 0.3, True)     # P(entry in 20 days) = 1 - 0.7^20, about 0.999
    _write_case(tmp_path, "unlikely", 0.0, False)  # never
    result = backtest(tmp_path, runs=500, seed=1, workers=1, progress=False)
    assert list(result.cases["case"]) == ["likely", "unlikely"]
    model, base, published, logistic = result.scores.itertuples()
    assert model.brier < 0.01 and model.brier < base.brier and model.brier < published.brier
    assert base.brier == pytest.approx(1.0)  # leave-one-out: each case gets the other's outcome
    assert logistic.brier == pytest.approx(0.75**2)  # one group of one other case: (0 + 0.5) / 2 for the positive
    assert list(result.facts["holds"]) == [True, False]


def test_score_table_has_the_two_references() -> None:
    import pandas as pd

    cases = pd.DataFrame({"p_regional_escalation": [0.1, 0.9], "observed_regional_escalation": [False, True]})
    table = score(cases)
    assert len(table) == 4 and table["brier"].iloc[0] == pytest.approx(0.01)
    assert "GML" in table["forecaster"].iloc[2]
    low, high = table["brier_ci"].iloc[0]
    assert low <= 0.01 <= high


def test_cases_need_an_observed_block(tmp_path: Path) -> None:
    data = scenario_data()
    (tmp_path / "x.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(UserError, match="observed"):
        load_cases(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError, match="no case files"):
        load_cases(empty)


def test_the_case_library_loads_and_each_case_records_its_outcome() -> None:
    cases = load_cases(Path(__file__).resolve().parent.parent / "scenarios" / "cases")
    assert len(cases) >= 5
    names = {scenario.name for _, scenario in cases}
    assert len(names) == len(cases)
    for _, scenario in cases:
        assert scenario.observed.sources, scenario.name


def test_backtest_command_writes_table_scores_and_plot(tmp_path: Path, capsys) -> None:
    cases = tmp_path / "cases"
    cases.mkdir()
    _write_case(cases, "likely", 0.3, True)
    _write_case(cases, "unlikely", 0.0, False)
    out = tmp_path / "out"
    assert main(["backtest", str(cases), "--runs", "300", "--out", str(out), "--no-progress", "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "Brier" in printed and "Stylised facts: 1 of 2 hold" in printed
    assert (out / "backtest.csv").exists() and (out / "figures" / "reliability.png").stat().st_size > 0


def test_the_karabakh_case_is_the_reference_scenario() -> None:
    """The case library's 2020 file must carry the reference scenario's parameters unchanged."""
    from sim.scenario.loader import load_scenario

    root = Path(__file__).resolve().parent.parent
    reference = load_scenario(root / "scenarios" / "nagorno_karabakh_2020.yaml").model_dump()
    case = load_scenario(root / "scenarios" / "cases" / "nagorno_karabakh_2020.yaml").model_dump()
    for field in ("name", "title", "description", "observed"):
        reference.pop(field)
        case.pop(field)
    assert case == reference


def test_auc_crps_and_calibration_slope_known_values() -> None:
    from sim.analysis.backtest import auc, calibration_slope, crps_of_histogram

    assert auc([0.1, 0.9], [False, True]) == 1.0
    assert auc([0.5, 0.5], [False, True]) == 0.5
    assert auc([0.2, 0.3], [True, True]) is None
    assert crps_of_histogram([0, 0, 1], 2) == 0.0  # all mass on the observed day
    assert crps_of_histogram([1, 0, 0], 2) == 2.0  # all mass two days early: (1 - 0)^2 twice
    assert crps_of_histogram([0, 0, 1], 9) == 0.0  # an observation past the last day is capped at it
    # forecasts that are exactly the frequencies of their groups have slope near 1
    forecasts = [0.2] * 10 + [0.8] * 10
    outcomes = [True] * 2 + [False] * 8 + [True] * 8 + [False] * 2
    assert calibration_slope(forecasts, outcomes) == pytest.approx(1.0, abs=0.01)
    assert calibration_slope([0.3, 0.3], [True, False]) is None


def test_the_logistic_baseline_reads_committing_ties() -> None:
    from sim.analysis.backtest import has_committing_tie
    from sim.scenario.loader import load_scenario

    karabakh = load_scenario("scenarios/nagorno_karabakh_2020.yaml")
    assert has_committing_tie(karabakh)  # Turkey's pact can carry it into combat for Azerbaijan
    arms_only = load_scenario("scenarios/nagorno_karabakh_2020.yaml",
                              ["commitments.turkey_azerbaijan_pact.ceiling=indirect",
                               "commitments.russia_armenia_pact.ceiling=indirect"])
    assert not has_committing_tie(arms_only)


def test_the_model_never_reads_the_observed_block() -> None:
    """No leakage: a case with its observed outcome reversed (and its stylised facts and sources changed)
    compiles to the same parameters and plays exactly the same runs; only scoring reads `observed:`."""
    import numpy as np

    from sim.ensemble.chunks import Chunk, simulate_chunk
    from sim.model.params import compile_scenarios
    from sim.scenario.loader import load_scenario

    as_recorded = load_scenario("scenarios/cases/georgia_2008.yaml")
    reversed_data = as_recorded.model_dump(mode="json", by_alias=True)
    reversed_data["observed"].update(open_entry=False, outside_powers_fought=True, war_days=0, decisive_victory=False,
                                     truces_broken=7, sources=["invented"], stylised_facts=[])
    reversed_case = type(as_recorded).model_validate(reversed_data)
    first, second = (simulate_chunk(compile_scenarios([s]), Chunk(0, 0, 2_000, 5)) for s in (as_recorded,
                                                                                            reversed_case))
    for name in first.runs:
        assert np.array_equal(first.runs[name], second.runs[name]), name
    for name in first.truces:
        assert np.array_equal(first.truces[name], second.truces[name]), name


def test_short_wars_count_the_wars_history_ended_within_ten_days_and_the_model_as_fast() -> None:
    from sim.analysis.backtest import SHORT_WAR_DAYS, _short_wars

    recorded = pd.DataFrame({"case": ["raid", "blitz", "long", "edge"], "observed_war_days": [4, 10, 40, 11],
                             "median_war_days": [3.5, 25.0, 8.0, 2.0]})
    result = _short_wars(recorded)
    assert SHORT_WAR_DAYS == 10
    # "long" and "edge" are not short in history, whatever the model says; "blitz" is missed
    assert (result["short_wars"], result["short_wars_reproduced"], result["short_wars_missed"]) == (2, 1, ["blitz"])
