"""Exact laws of the many-parties mechanisms in limit cases: chains of commitments, ceilings,
relabelled camps, inert fronts (issue "Many parties")."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from sim.model.model import EscalationModel
from sim.model.params import LIMITED, OPEN
from sim.scenario.schema import Scenario
from tests.factory import scenario_data
from tests.test_mechanisms import assert_share


def _chain(r1: float, r2: float, horizon: int = 10) -> Scenario:
    """b strikes a's territory every day; X protects a (trigger: its territory struck), Y protects b
    against any outside power entering against it. Both climb at once (rate 1) straight to their
    ceiling (readiness 1) when willing."""
    data = scenario_data(horizon=horizon, b={"deep_strike_propensity": 1.0})
    data["actors"] += [
        {"id": "x", "name": "X", "outside": {"escalation_rate": 1.0, "readiness": 1.0, "intervention_power": 0.5}},
        {"id": "y", "name": "Y", "outside": {"escalation_rate": 1.0, "readiness": 1.0, "intervention_power": 0.5}},
    ]
    data["commitments"] = [
        {"from": "x", "to": "a", "kind": "defence_pact", "trigger": "recognised_territory", "strength": 1.0,
         "reliability": r1},
        {"from": "y", "to": "b", "kind": "defence_pact", "trigger": "rival_entry", "strength": 1.0,
         "reliability": r2},
    ]
    return Scenario.model_validate(data)


def _run(scenario: Scenario, replications: int = 20_000, seed: int = 11) -> dict[str, np.ndarray]:
    model = EscalationModel(scenario, replications=replications, rng=seed, record_series=False)
    model.run()
    return model.results()


def test_a_chain_of_two_pacts_enters_with_the_product_of_their_reliabilities() -> None:
    """P(X in combat) = r1; P(Y in combat) = r1 x r2, one day after X (cascades advance one link a day)."""
    r1, r2 = 0.6, 0.35
    runs = _run(_chain(r1, r2))
    x_in, y_in = runs["combat_day_x"] >= 0, runs["combat_day_y"] >= 0
    assert_share(int(x_in.sum()), 20_000, r1)
    assert_share(int(y_in.sum()), 20_000, r1 * r2)
    assert not np.any(y_in & ~x_in)                          # Y only ever answers X
    assert np.all(runs["combat_day_x"][x_in] == 0)           # X climbs on day 0 and fights from day 1
    assert np.all(runs["combat_day_y"][y_in] == 1)           # Y answers the next day
    assert np.all(runs["form_x"][x_in] == OPEN) and np.all(runs["form_y"][y_in] == OPEN)  # readiness 1
    assert np.all(runs["war_size"] == 2 + x_in + y_in)


def test_a_commitment_never_carries_its_actor_past_its_ceiling() -> None:
    """The same certain triggers, but X's pact may carry it only to an indirect role: it never fights."""
    scenario = _chain(1.0, 1.0)
    data = scenario.model_dump(mode="json", by_alias=True)
    data["commitments"][0]["ceiling"] = "indirect"
    runs = _run(Scenario.model_validate(data), replications=2_000)
    assert np.all(runs["form_x"] == 4) and np.all(runs["combat_day_x"] < 0)   # indirect, never in combat
    assert np.all(runs["combat_day_y"] < 0)                                     # no entrant, no counter-entry
    assert np.all(runs["escalation_day"] < 0)


def test_relabelling_the_camps_changes_nothing_but_the_names() -> None:
    data = scenario_data(horizon=30, a={"strength": 2.0, "war_weariness": 0.02}, b={"war_weariness": 0.03},
                         dynamics={"front_noise": 0.02, "casualty_noise": 0.5})
    renamed = copy.deepcopy(data)
    renamed["actors"][0]["camp"], renamed["actors"][1]["camp"] = "blue", "red"
    first, second = _run(Scenario.model_validate(data), 3_000), _run(Scenario.model_validate(renamed), 3_000)
    for name in first:
        assert np.array_equal(first[name], second[name]), name
    assert np.any(first["winner"] >= 0)


def test_an_inert_extra_front_changes_nothing() -> None:
    """A front that opens only if both camps reach it, which no party or entrant does, leaves every record
    of every replication exactly as it was (its draws come after those of the existing fronts)."""
    data = scenario_data(horizon=30, a={"strength": 1.5, "war_weariness": 0.02},
                         dynamics={"front_noise": 0.02, "casualty_noise": 0.5})
    extra = copy.deepcopy(data)
    extra["fronts"].append({"id": "elsewhere", "camps": ["a", "b"], "control": 0.3})
    first, second = _run(Scenario.model_validate(data), 3_000), _run(Scenario.model_validate(extra), 3_000)
    for name in first:
        assert np.array_equal(first[name], second[name]), name
    assert np.all(second["control_elsewhere"] == 0.3)


@pytest.mark.parametrize("visibility", ["deniable", "limited"])
def test_an_entrant_joins_its_protected_actors_camp_and_fights_on_its_front(visibility: str) -> None:
    """An outside power in combat adds its power to its camp's side of the front: the front moves its way."""
    scenario = _chain(1.0, 0.0, horizon=20)
    data = scenario.model_dump(mode="json", by_alias=True)
    data["actors"][2]["outside"]["intervention_power"] = 3.0
    data["commitments"][0]["ceiling"] = "limited" if visibility == "limited" else "deniable"
    runs = _run(Scenario.model_validate(data), 2_000)
    if visibility == "limited":
        assert np.all(runs["form_x"] == LIMITED) and np.all(runs["combat_day_x"] == 0)
        assert runs["control_front"].mean() > 0.6       # a (with X) gains ground on an even front
    else:
        assert np.all(runs["combat_day_x"] < 0) and np.all(runs["casualties_x"] == 0)


def test_the_worked_example_validates_and_runs() -> None:
    """scenarios/example_coalition.yaml, the README's worked example: two parties in one camp, an outside power
    at war on day 0, a guarantor with troops in the zone, an alliance behind a backer."""
    from sim.scenario.loader import load_scenario

    scenario = load_scenario("scenarios/example_coalition.yaml")
    runs = _run(scenario, replications=500, seed=3)
    assert np.all(runs["combat_day_volunteer_state"] == 0)      # in combat from day 0
    assert np.all(runs["war_size"] >= 4)                         # four actors at war on day 0
    assert (runs["incidents_guarantor"] > 0).any()
