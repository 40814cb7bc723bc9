"""A commitment honoured at the news (docs/MODEL.md 7.5.12): exact laws on small scenarios."""

from __future__ import annotations

import numpy as np

from sim.model.commitments import news_of
from sim.model.model import EscalationModel
from sim.model.params import FORM_RUNG, OPEN, POSTURING
from tests.factory import entry_tie, make_scenario, proxy_tie
from tests.test_mechanisms import assert_share, simulate

RUNS = 20_000


def _bound(*, news: float, strength: float, rate: float = 0.0, horizon: int = 15):
    """``patron`` is bound to A (a defence pact, ceiling open) and B strikes A's territory every day from the
    first: the trigger is met in full on day 0 and never rises again. Readiness 0: a standing climb takes
    one form at a time."""
    tie = {**entry_tie(), "strength": strength}
    return make_scenario(horizon=horizon, b={"deep_strike_propensity": 1.0},
                         backers={"patron": {"escalation_rate": rate, "readiness": 0.0}}, ties=[tie],
                         dynamics={"news_response": news})


def test_a_commitment_is_honoured_at_the_news_with_news_response_times_strength_and_then_only_at_the_pace() -> None:
    """Without a standing pace, P(entry) = news_response x strength, all on the day the trigger is first met,
    straight to the commitment's ceiling (open combat); a trigger that stays met is no news: nobody else enters."""
    news, strength = 0.7, 0.5
    runs, _ = simulate(_bound(news=news, strength=strength), RUNS)
    entered = runs["combat_day_patron"] >= 0
    assert_share(int(entered.sum()), RUNS, news * strength)
    assert np.all(runs["combat_day_patron"][entered] <= 1)
    assert np.all(runs["highest_rung_patron"][entered] == FORM_RUNG[OPEN])
    assert np.all(runs["highest_rung_patron"][~entered] == FORM_RUNG[POSTURING])   # the pact's baseline


def test_without_news_response_only_the_standing_pace_climbs() -> None:
    """news_response 0 is the rule of 7.5.7 alone: with no standing pace, the patron stays at its baseline."""
    runs, _ = simulate(_bound(news=0.0, strength=1.0), 2_000)
    assert np.all(runs["highest_rung_patron"] == FORM_RUNG[POSTURING])


def test_the_news_is_the_rise_of_a_trigger_above_the_highest_it_had_reached() -> None:
    """news_of returns how far each trigger rose above its highest this crisis and keeps the new highest:
    a trigger met at 0.4, then 1.0, then 0.2, then 1.0 again brings news of 0.4, 0.6, 0 and 0."""
    model = EscalationModel(_bound(news=0.5, strength=1.0), replications=3, rng=1, record_series=False)
    own = model.commitments_of[model.params.structure.actor_ids.index("patron")]
    lanes = (np.zeros(3, dtype=np.intp), np.arange(3))
    seen = []
    for level in (0.4, 1.0, 0.2, 1.0):
        seen.append(news_of(model, own, lanes, np.full((1, 3), level))[0])
    assert np.allclose(seen, [[0.4] * 3, [0.6] * 3, [0.0] * 3, [0.0] * 3])
    assert np.allclose(model.trigger_high[own], 1.0)


def test_news_and_the_standing_pace_add_up() -> None:
    """As 7.5.7's law of the pace (tests/test_mechanisms.py), with the news on top: a patron held at indirect
    support by a proxy tie, whose entry tie of strength 0.4 is met every day from day 0, is honoured at the news
    with p = news_response x 0.4 on day 0, and otherwise climbs into combat with rate x 0.4 a day, on day 0 too:
    P(entry within 10 days) = 1 - (1 - p)(1 - rate x 0.4)^10."""
    news, rate, strength = 0.5, 0.25, 0.4
    weak = {**entry_tie(), "strength": strength}
    scenario = make_scenario(horizon=10, b={"deep_strike_propensity": 1.0},
                             backers={"patron": {"escalation_rate": rate}}, ties=[proxy_tie(), weak],
                             dynamics={"news_response": news})
    runs, _ = simulate(scenario, RUNS)
    expected = 1 - (1 - news * strength) * (1 - rate * strength) ** 10
    assert_share(int(np.sum(runs["escalation_day"] >= 0)), RUNS, expected)


def test_the_actor_knows_how_strongly_it_has_been_called_upon() -> None:
    """Actor.called_upon: the patron's pact has been met in full since day 0, in every replication."""
    model = EscalationModel(_bound(news=0.5, strength=1.0, horizon=3), replications=50, rng=2, record_series=False)
    model.run()
    patron = next(actor for actor in model.agents if actor.actor_id == "patron")
    assert np.all(patron.called_upon == 1.0)
    party = next(actor for actor in model.agents if actor.actor_id == "a")
    assert not np.any(party.called_upon)


def test_the_fit_with_the_news_is_the_default_fit_plus_news_response() -> None:
    """docs/calibration/with_news.yaml (MODEL.md 11.2) has the shipped fit's prior ranges and news_response's."""
    from pathlib import Path

    from sim.analysis.calibrate import DEFAULT_DYNAMICS, read_ranges

    ranges = read_ranges(Path(__file__).parent.parent / "docs" / "calibration" / "with_news.yaml")
    assert ranges == {**DEFAULT_DYNAMICS, "news_response": (0.0, 1.0)}
