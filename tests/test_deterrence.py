"""Deterrence by a rival's posture (docs/MODEL.md 7.5.8): exact laws on small scenarios."""

from __future__ import annotations

import numpy as np

from sim.model.params import FORM_RUNG, INDIRECT, LIMITED
from tests.factory import entry_tie, make_scenario
from tests.test_mechanisms import assert_share, simulate

RUNS = 20_000


def _crisis(*, deterrence: float, intensity: float, power: tuple[float, float], posture: bool = True,
            third: float | None = None):
    """``first`` is bound to A with a certain trigger, rate 1 and readiness 1: unless deterred it enters in
    open combat on the war's first day. ``second`` (and, given its power, ``third``) postures for B from day 0
    on an arms tie that cannot carry it into combat (without ``posture``: political support only). B strikes
    A's territory every day (a certain trigger)."""
    backers = {"first": {"escalation_rate": 1.0, "readiness": 1.0, "intervention_power": power[0]},
               "second": {"intervention_power": power[1], "initial_form": "posturing" if posture else "none"}}
    ties = [entry_tie("first", "a"),
            {"backer": "second", "client": "b", "kind": "arms_supply" if posture else "political_support",
             "scope": "anywhere", "strength": 1.0}]
    rivalries = [{"between": ["first", "second"], "intensity": intensity}]
    if third is not None:
        backers["third"] = {"intervention_power": third, "initial_form": "posturing"}
        ties.append({"backer": "third", "client": "b", "kind": "arms_supply", "scope": "anywhere", "strength": 1.0})
        rivalries.append({"between": ["first", "third"], "intensity": intensity})
    return make_scenario(horizon=20, b={"deep_strike_propensity": 1.0}, backers=backers, ties=ties, rivalries=rivalries,
                         dynamics={"deterrence": deterrence, "clash_rate": 0.0})


def test_a_rivals_posture_deters_once_a_crisis_with_intensity_times_the_local_balance() -> None:
    """P(first never fights) = deterrence x intensity x power_second / (power_first + power_second); a
    deterred power stays at indirect support to the horizon, the others enter on the first day."""
    deterrence, intensity, power = 0.8, 0.6, (1.0, 3.0)
    runs, _ = simulate(_crisis(deterrence=deterrence, intensity=intensity, power=power), RUNS)
    expected = deterrence * intensity * power[1] / sum(power)
    held_back = runs["combat_day_first"] < 0
    assert_share(int(held_back.sum()), RUNS, expected)
    assert np.all(runs["highest_rung_first"][held_back] == FORM_RUNG[INDIRECT])
    assert np.all(runs["combat_day_first"][~held_back] <= 1)
    assert np.all(runs["highest_rung_first"][~held_back] >= FORM_RUNG[LIMITED])


def test_no_posture_no_deterrence_and_two_rivals_deter_independently() -> None:
    """Without the rival's posture every run enters; with two rivals posturing, each with its own balance,
    P(deterred) = 1 - (1 - p_second)(1 - p_third)."""
    bare, _ = simulate(_crisis(deterrence=1.0, intensity=0.5, power=(1.0, 1.0), posture=False), 2_000)
    assert np.all(bare["combat_day_first"] >= 0)
    runs, _ = simulate(_crisis(deterrence=1.0, intensity=0.5, power=(1.0, 1.0), third=3.0), RUNS)
    p_second, p_third = 0.5 * 1.0 / 2.0, 0.5 * 3.0 / 4.0
    assert_share(int((runs["combat_day_first"] < 0).sum()), RUNS, 1 - (1 - p_second) * (1 - p_third))
