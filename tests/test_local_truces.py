"""Exact laws of truces limited to some fronts (docs/MODEL.md 7.1): a local truce quiets the fronts it covers while
the war goes on elsewhere, binds only the parties with forces there, gives way to a truce of the whole war, and
does not end the war."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from sim.ensemble.tables import truces_table
from sim.model import endings
from sim.model.model import TRUCE_HOLDING, EscalationModel
from sim.scenario.errors import ScenarioError
from sim.scenario.loader import load_text
from tests.factory import make_scenario, scenario_data

FRONTS = [{"id": "north", "between": ["a", "b"], "control": 0.5},
          {"id": "south", "between": ["a", "b"], "control": 0.5}]
UN = {"un": {"attempt_rate": 0.0, "leverage": {"a": 1.0, "b": 1.0}}}


def _model(replications: int = 2000, *, term: int | None = 10, mediators: dict | None = None,
           **kwargs) -> EscalationModel:
    truce = {"day": 0, "broker": "un", "fronts": ["north"], **({"term_days": term} if term else {})}
    scenario = make_scenario(horizon=30, fronts=FRONTS, scheduled=[truce], brokered=mediators is not None,
                             mediators=mediators or UN, **kwargs)
    return EscalationModel(scenario, replications=replications, rng=11, record_series=False)


def test_a_local_truce_quiets_its_front_for_its_term_while_the_war_goes_on_elsewhere() -> None:
    """No one violates (full compliance, no false alarms): the northern front does not move for the truce's ten
    days, then moves as the southern one did from day 0, at front_speed x (2 - 1) / 3 a day without noise."""
    model = _model(replications=20, a={"strength": 2.0})
    step = 0.04 * (1.0 - 0.5) / 1.5     # 2 x 1/2 against 1 x 1/2 on each front (equal shares)
    for day in range(14):
        model.step()
        north, south = model.control[0].ravel(), model.control[1].ravel()
        assert np.allclose(south, 0.5 + step * (day + 1))
        assert np.allclose(north, 0.5 + step * max(0, day - 9))
        assert model.fighting_today.all()
    model.run()
    runs, truces = model.results(), model.truces()
    assert np.all(runs["ended_by"] == endings.ONGOING) and not np.any(runs["outcome"] == TRUCE_HOLDING)
    assert np.all(truces["days"] == 10) and not truces["broken"].any()
    table = truces_table(model.params, {**truces, "replication": truces["lane"]})
    assert set(table["scope"]) == {"north"}


@pytest.mark.parametrize("on_the_truce_front", [True, False])
def test_a_local_truce_binds_only_the_parties_with_forces_on_its_fronts(on_the_truce_front: bool) -> None:
    """A never complies and B always answers, with no tolerance: where A has forces on the northern front its
    violation breaks the truce on day 0 in every run; where all of A's forces are in the south it is not bound,
    never violates the truce, and the truce holds its term."""
    shares = {"north": 0.5, "south": 0.5} if on_the_truce_front else {"north": 0.0, "south": 1.0}
    model = _model(replications=500, a={"truce_compliance": 0.0, "front_shares": shares})
    model.run()
    truces = model.truces()
    first = truces["start_day"] == 0
    assert first.sum() == 500
    if on_the_truce_front:
        assert truces["broken"][first].all() and np.all(truces["days"][first] == 0)
    else:
        assert not truces["broken"][first].any() and np.all(truces["days"][first] == 10)


def test_a_truce_of_the_whole_war_supersedes_a_local_one() -> None:
    """A mediator that always brokers (attempt rate 1, full leverage, nobody pressing) agrees a truce of the whole
    war on day 0 for day 1: the open-ended local truce ends unbroken after one day, and the whole war's truce
    holds to the horizon (a truce holding)."""
    mediators = {"un": {"attempt_rate": 1.0, "leverage": {"a": 1.0, "b": 1.0}}}
    model = _model(replications=300, term=None, mediators=mediators)
    model.run()
    runs, truces = model.results(), model.truces()
    local = truces["scope"] >= 0
    assert local.sum() == 300 and np.all(truces["days"][local] == 1) and not truces["broken"].any()
    assert np.all(truces["start_day"][~local] == 1) and np.all(runs["outcome"] == TRUCE_HOLDING)


def test_a_local_truce_naming_an_unknown_front_is_refused_with_its_path() -> None:
    data = scenario_data(scheduled=[{"day": 0, "broker": "un", "fronts": ["nowhere"]}], mediators=UN)
    expected = r"t\.yaml:\d+:\d+: truces\.scheduled\[0\]\.fronts\[0\]: no front 'nowhere'"
    with pytest.raises(ScenarioError, match=expected):
        load_text(yaml.safe_dump(data, sort_keys=False), source="t.yaml")


def test_a_truce_of_strikes_stops_deep_strikes_for_its_term_while_the_fronts_fight_on() -> None:
    """B strikes A's territory every day it fights (propensity 1). Under a truce of strikes for five days that no
    one violates, no strike falls on days 0 to 4 while both fronts move as without it; from day 5 a strike falls
    every day. The truce is written with its scope, and a truce of strikes naming fronts is refused."""
    truce = {"day": 0, "broker": "un", "domain": "strikes", "term_days": 5}
    scenario = make_scenario(horizon=30, fronts=FRONTS, scheduled=[truce], mediators=UN, brokered=False,
                             a={"strength": 2.0}, b={"deep_strike_propensity": 1.0})
    model = EscalationModel(scenario, replications=50, rng=5, record_series=False)
    step = 0.04 * (1.0 - 0.5) / 1.5
    for day in range(8):
        model.step()
        assert np.allclose(model.control[:, ...].reshape(2, -1), 0.5 + step * (day + 1))
        assert np.all(model.struck[0] == (day >= 5))
    model.run()
    table = truces_table(model.params, {**model.truces(), "replication": model.truces()["lane"]})
    assert set(table["scope"]) == {"strikes"} and np.all(table["days"] == 5)
    data = scenario_data(scheduled=[{**truce, "fronts": ["front"]}], mediators=UN)
    with pytest.raises(ScenarioError, match=r"truces\.scheduled\[0\]\.fronts: a truce of strikes covers no front"):
        load_text(yaml.safe_dump(data, sort_keys=False), source="t.yaml")
