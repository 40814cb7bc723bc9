"""The speed-ups that work on fewer rows or lanes compute exactly what the dense formulas compute.

The mechanisms skip actors with no forces on a front, sides an actor is on in no lane, and lanes
whose draw rules an event out. These tests build models in varied states (a 12-actor scenario
after some days, so that outside powers have entered in some lanes) and compare, bit for bit, the
fast forms against the dense expressions they replace, written out here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.model import commitments, fronts
from sim.model.model import EscalationModel
from sim.model.params import DENIABLE, LIMITED

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = [ROOT / "benchmarks" / "twelve_actors.yaml", ROOT / "scenarios" / "nagorno_karabakh_2020.yaml",
             ROOT / "scenarios" / "july_1914.yaml"]


def advanced(path: Path, days: int = 25, replications: int = 3_000, seed: int = 11) -> EscalationModel:
    model = EscalationModel(path, replications=replications, rng=seed, record_series=False)
    model.run(max_days=days)
    return model


@pytest.fixture(scope="module", params=SCENARIOS, ids=lambda path: path.stem)
def model(request: pytest.FixtureRequest) -> EscalationModel:
    return advanced(request.param)


def test_some_outside_power_has_entered_in_some_lanes_only(model: EscalationModel) -> None:
    """The state the other tests need: rows with forces on a front in some lanes and not in others."""
    partial = [(model.share[a] > 0).any() and not (model.share[a] > 0).any(axis=0).all()
               for a in model.outside_index]
    assert any(partial)


def test_momentum_and_pressing_equal_the_dense_sums(model: EscalationModel) -> None:
    side0 = model.camp[:, None] == model.front_camps[None, :, 0, None, None]
    per_front = np.where(side0, model.front_momentum[None], -model.front_momentum[None])
    momentum = (model.share * per_front).sum(axis=1)
    # Skipping the zero terms can only change the sign of a zero (equal here).
    assert np.array_equal(fronts.side_momentum(model), momentum)
    party = model.params.party
    holding = (model.share * model.held_now).sum(axis=1)
    operation = party["operation_days"]
    held = (holding >= party["war_aim"]) | ((operation > 0) & (model.days_fought >= operation))
    assert np.array_equal(fronts.aim_held(model), held)
    dense = np.where(held | (model.camp < 0), 0.0, np.maximum(model.momentum_now, 0.0))
    assert np.array_equal(fronts.pressing(model), dense)


def test_support_equals_the_dense_sum(model: EscalationModel) -> None:
    dense = np.zeros(model.camp.shape)
    indirect = model.params.outside["indirect_support"]
    for k in model.outside_index:
        helping = (model.form[k] >= DENIABLE) & (model.form[k] < LIMITED) & (model.client[k] >= 0)
        for a in model.fighter_index:
            dense[a] += np.where(helping & (model.client[k] == a), indirect[k], 0.0)
    assert np.array_equal(fronts.support(model), dense)


def test_held_on_some_lanes_equals_held_everywhere(model: EscalationModel) -> None:
    lanes = np.nonzero(np.random.default_rng(1).random(model.lane_shape) < 0.1)
    rows = np.array(model.outside_index)
    assert np.array_equal(fronts.held(model, rows, lanes), fronts.held(model, rows)[:, :, *lanes])


def test_triggers_on_some_rows_and_lanes_equal_the_full_triggers(model: EscalationModel) -> None:
    if not len(model.climbable):
        pytest.skip("no commitment can carry its actor further")
    full = commitments.triggers(model)
    lanes = np.nonzero(np.random.default_rng(2).random(model.lane_shape) < 0.2)
    assert np.array_equal(commitments.triggers(model, lanes), full[:, *lanes])
    for own in model.commitments_of.values():
        assert np.array_equal(commitments.triggers(model, lanes, own), full[own][:, *lanes])
    assert full.max() <= commitments.highest_trigger(model)


def test_front_rows_lists_exactly_the_fronts_with_forces(model: EscalationModel) -> None:
    expected = [[f for f in range(model.fronts) if (model.share[a, f] > 0).any()] for a in range(model.actor_count)]
    assert fronts.front_rows(model) == expected
