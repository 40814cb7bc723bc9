"""Exact laws of how wars and truces end, in limit cases (issue "How wars and truces end"): punitive
operations and halts, tolerant and consolidating truces, fixed-term pauses, withdrawal to the start
line, coercive mediators, patrons' restraint, mobilisation, arms deliveries and stepping down."""

from __future__ import annotations

import numpy as np

from sim.model import endings, fronts
from sim.model.model import WITHDRAWAL, EscalationModel
from sim.model.params import INDIRECT, OPEN, POSTURING
from sim.model.truces import IMPOSED, SETTLEMENT, UNILATERAL
from tests.factory import entry_tie, make_scenario
from tests.test_mechanisms import assert_share

RUNS = 20_000


def _model(replications: int = RUNS, seed: int = 5, **kwargs) -> EscalationModel:
    return EscalationModel(make_scenario(**kwargs), replications=replications, rng=seed, record_series=False)


def _run(**kwargs) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    model = _model(**kwargs)
    model.run()
    return model.results(), model.truces()


def test_a_punitive_operation_the_other_side_never_answers_ends_on_its_last_day() -> None:
    """A strikes for k days; B wants nothing of A's (war aim 0: it holds its aim) and follows the halt at
    once (acceptance 1): every war lasts exactly k days and ends in a unilateral halt that holds."""
    k = 4
    runs, truces = _run(horizon=30, a={"strength": 2.0, "operation_days": k}, b={"war_aim": 0.0},
                        dynamics={"halt_acceptance": 1.0})
    assert np.all(runs["war_days"] == k)
    assert np.all(runs["ended_by"] == endings.UNILATERAL_HALT)
    assert np.all(truces["kind"] == UNILATERAL) and not truces["broken"].any()


def test_a_halt_followed_with_daily_probability_h_times_distress_leaves_a_product_law_tail() -> None:
    """After the operation's k days, B (losing ground, so short of its aim: no reprisal holds it) follows the halt
    with probability h x its distress d_t a day. Without noise every lane has the same distress while the war
    goes on, read from a one-lane model whose war never stops:
    P(war over by day k + j) = 1 - prod over i <= j of (1 - h d_(k-1+i))."""
    k, h = 3, 0.3
    kwargs = {"horizon": 40, "a": {"strength": 2.0, "operation_days": k}, "b": {"strength": 0.2},
              "dynamics": {"halt_acceptance": h}}
    probe = _model(replications=1, **{**kwargs, "dynamics": {"halt_acceptance": 0.0}})  # a war that goes on
    distress = []
    for _ in range(k + 5):
        probe.step()
        distress.append(float(probe.distress[1].ravel()[0]))
    runs, _ = _run(**kwargs)
    assert runs["war_days"].min() == k
    going_on = 1.0
    for j in range(5):
        going_on *= 1 - h * distress[k - 1 + j]
        assert_share(int((runs["war_days"] <= k + j).sum()), RUNS, 1 - going_on)


def test_a_side_short_of_its_aim_follows_a_halt_only_as_far_as_the_war_goes_badly_for_it() -> None:
    """B, short of its aim (all the ground) and losing ground, follows A's halt with probability its distress;
    without noise every lane has the same distress on day 1, read from a one-lane model. B winning ground has
    answered the two-day raid in kind and holds its start line: nothing is left to fight for, and the halt is
    followed at once."""
    for b in ({"strength": 0.5, "war_weariness": 0.05}, {"strength": 3.0}):
        kwargs = {"horizon": 20, "a": {"operation_days": 2}, "b": b, "dynamics": {"halt_acceptance": 1.0}}
        probe = _model(replications=1, **kwargs)
        probe.step()
        probe.step()
        distress = float(probe.distress[1].ravel()[0])
        runs, _ = _run(**kwargs)
        if b["strength"] > 1:
            assert distress == 0.0 and np.all(runs["war_days"] == 2)
        else:
            assert 0.05 < distress < 0.95
            assert_share(int((runs["war_days"] == 2).sum()), RUNS, distress)


def test_a_raid_answered_in_kind_ends_when_both_sides_hold_their_aims() -> None:
    """A raids for k days; B, as strong, keeps its start line and answers for as many days (a reprisal in kind,
    7.8.1). Then every camp holds its aim and the halt is followed at once, even with a halt acceptance of 0:
    every war lasts exactly k days. A B that loses ground has not restored the status quo and fights on."""
    k = 3
    runs, truces = _run(horizon=30, a={"operation_days": k}, b={}, dynamics={"halt_acceptance": 0.0})
    assert np.all(runs["war_days"] == k)
    assert np.all(runs["ended_by"] == endings.UNILATERAL_HALT) and not truces["broken"].any()
    losing, _ = _run(horizon=30, a={"strength": 2.0, "operation_days": k}, b={}, dynamics={"halt_acceptance": 0.0})
    assert np.all(losing["war_days"] > k)


def test_a_status_quo_side_holds_its_aim_exactly_while_it_keeps_its_start_line() -> None:
    """A wants half the ground and holds it; B's aim is the status quo (7.8.1). As strong as A, B keeps its start
    line: both camps hold their aims on day 0 and every war ends on its first day in a halt, even with a halt
    acceptance of 0. With the default aim (all the ground) B is short of it, never hurts, and every war runs to
    the horizon; so it does when a stronger A wanting more takes ground from B's start line."""
    quiet = {"horizon": 30, "dynamics": {"halt_acceptance": 0.0}}
    content, truces = _run(a={"war_aim": 0.5}, b={"status_quo": True}, **quiet)
    assert np.all(content["war_days"] == 1)
    assert np.all(content["ended_by"] == endings.UNILATERAL_HALT) and not truces["broken"].any()
    short_of_all, _ = _run(a={"war_aim": 0.5}, b={}, **quiet)
    assert np.all(short_of_all["war_days"] == 30)
    pushed_back, _ = _run(a={"war_aim": 0.6, "strength": 2.0}, b={"status_quo": True}, **quiet)
    assert np.all(pushed_back["war_days"] == 30)


def _entrant(party: dict, **kwargs) -> EscalationModel:
    """A patron bound to A that enters on day 0 at once (its client struck every day, sure climbs to open
    entry), with a fighting profile of its own."""
    backer = {"escalation_rate": 1.0, "readiness": 1.0, "intervention_power": kwargs.pop("power", 1.0),
              "party": party}
    return _model(horizon=30, ties=[entry_tie(scope=kwargs.pop("scope", "recognised_territory"))],
                  backers={"patron": backer}, **kwargs)


def test_an_entrant_raiding_for_its_own_operation_holds_its_camps_halt_and_leaves_when_done() -> None:
    """A's two-day raid is done on day 2 and B wants nothing: with a patron that came only to fight with its
    camp, the halt is followed at once and every war lasts 2 days. A patron whose own aim is a raid of k days
    (entered on day 0, fighting from day 1) keeps its camp from offering a halt until its raid is done; then it
    leaves the war, back to posturing, and every war lasts exactly k + 1 days (7.8.1)."""
    k = 5
    quiet = {"a": {"operation_days": 2}, "b": {"war_aim": 0.0, "deep_strike_propensity": 1.0},
             "dynamics": {"halt_acceptance": 0.0}}
    follower = _entrant({"truce_compliance": 1.0}, replications=500, **quiet)
    follower.run()
    assert np.all(follower.results()["war_days"] == 2)
    raider = _entrant({"operation_days": k}, replications=500, **quiet)
    raider.run()
    patron = raider.params.structure.actor_ids.index("patron")
    assert np.all(raider.results()["war_days"] == k + 1)
    assert np.all(raider.days_fought[patron] == k) and np.all(raider.camp[patron] == -1)
    assert np.all(raider.form[patron] == POSTURING) and np.all(raider.results()["form_patron"] == OPEN)


def test_an_entrants_status_quo_aim_is_its_camps_day0_line() -> None:
    """A patron whose aim is the status quo holds it exactly while its camp holds at least the ground it held on
    day 0 (the status quo ante, here half the front), whatever it held when it entered: checked every day in
    every lane where it fights, through a front that swings both ways."""
    model = _entrant({"status_quo": True}, replications=2000, power=1.5, scope="fighting_anywhere",
                     b={"strength": 2.0}, dynamics={"halt_acceptance": 0.0, "front_noise": 0.05})
    patron = model.params.structure.actor_ids.index("patron")
    actor = next(agent for agent in model.agents if agent.actor_id == "patron")
    seen = np.zeros(2, dtype=int)
    for _ in range(30):
        model.step()
        fighting = model.camp[patron] >= 0
        held = actor.holds_its_aim[fighting]
        assert np.array_equal(held, model.control[0][fighting] >= 0.5 - 1e-9)
        seen += [held.sum(), (~held).sum()]
    assert seen.min() > 1000


def test_a_tolerant_truce_collapses_at_the_rate_of_unabsorbed_exchanges() -> None:
    """A violates with probability v a day, B always answers, the truce absorbs a share t of exchanges:
    P(the first truce is broken within d days) = 1 - (1 - v (1 - t))^d."""
    v, t = 0.5, 0.8
    q = v * (1 - t)
    _, truces = _run(horizon=30, initial_state="truce", a={"truce_compliance": 1 - v},
                     dynamics={"bare_tolerance": t, "grievance_limit": 1000.0})
    first = truces["start_day"] == 0
    assert first.sum() == RUNS
    broken_early = truces["broken"][first] & (truces["days"][first] < 10)
    assert_share(int(broken_early.sum()), RUNS, 1 - (1 - q) ** 10)


def _first_truce_of_a_pressing_side(binding: float, compliance: float, scheduled: bool) -> dict[str, np.ndarray]:
    """A (strength 3) presses B on day 0 with momentum tanh(0.3); a truce starts on day 1, agreed by both
    on day 0 through a mediator that always succeeds, or scheduled; A violates, B always answers, every
    exchange breaks the truce (tolerance 0)."""
    mediators = {"m": {"attempt_rate": 0.0 if scheduled else 1.0, "leverage": {"a": 1.0, "b": 1.0}}}
    _, truces = _run(horizon=30, brokered=not scheduled, a={"strength": 3.0, "truce_compliance": compliance},
                     mediators=mediators, scheduled=[{"day": 1, "broker": "m"}] if scheduled else None,
                     dynamics={"agreement_binding": binding, "momentum_truce_breaking": 20.0})
    first = truces["start_day"] == 1
    assert first.sum() == RUNS
    return {name: value[first] for name, value in truces.items()}


def test_an_agreed_truce_tempts_only_with_the_momentum_gained_since_its_agreement() -> None:
    """Binding 1: A agreed the truce on the momentum it pressed, and the quiet fronts of a truce gain it no
    more, so it violates at its bare rate 1 - c and the truce lasts d days with probability c^d exactly;
    binding 0 (every gain tempts) or a scheduled truce (agreed whatever the lane's war): at
    (1 - c)(1 + 20 tanh(0.3)) on its first day."""
    c, d = 0.9, 5
    bound = _first_truce_of_a_pressing_side(1.0, c, scheduled=False)
    assert_share(int((bound["days"] >= d).sum()), RUNS, c**d)
    assert_share(int((bound["days"] == 0).sum()), RUNS, 1 - c)
    first_day = min(1.0, (1 - c) * (1 + 20 * np.tanh(0.3)))
    for binding, scheduled in ((0.0, False), (1.0, True)):
        tempted = _first_truce_of_a_pressing_side(binding, c, scheduled)
        assert_share(int((tempted["days"] == 0).sum()), RUNS, first_day)


def test_the_actor_tells_whether_the_momentum_since_its_agreement_tempts_it() -> None:
    """The agent's view of 7.2: on the first day of the truce it agreed while pressing, A is tempted only where
    its agreement binds nothing of that momentum."""
    for binding, tempted in ((1.0, False), (0.0, True)):
        model = _model(replications=200, horizon=30, brokered=True, a={"strength": 3.0},
                       mediators={"m": {"attempt_rate": 1.0, "leverage": {"a": 1.0, "b": 1.0}}},
                       dynamics={"agreement_binding": binding})
        model.step()
        model.step()
        a = next(agent for agent in model.agents if agent.actor_id == "a")
        assert np.all(model.truce_in_force)
        assert np.all(a.tempted_to_break_the_truce == tempted)


def test_half_a_binding_agreement_leaves_half_the_agreed_momentum_tempting() -> None:
    """Binding b: on the first day the temptation is (1 - b) tanh(0.3), so A violates at
    (1 - c)(1 + 20 (1 - b) tanh(0.3))."""
    c, b = 0.9, 0.5
    half = _first_truce_of_a_pressing_side(b, c, scheduled=False)
    assert_share(int((half["days"] == 0).sum()), RUNS, (1 - c) * (1 + 20 * (1 - b) * np.tanh(0.3)))


def test_a_truce_breaks_when_grievance_reaches_its_limit() -> None:
    """Every violation absorbed (tolerance 1), one perceived a day: the truce breaks on the day the count
    reaches the limit (a violation is missed only with the tiny chance left by the longest half-life)."""
    _, truces = _run(horizon=30, replications=500, initial_state="truce", a={"truce_compliance": 0.0},
                     dynamics={"bare_tolerance": 1.0, "grievance_limit": 6.0})
    first = truces["start_day"] == 0
    assert np.all(truces["broken"][first]) and np.all(truces["days"][first] >= 5)
    assert np.mean(truces["days"][first] == 5) > 0.98


def test_violations_halve_every_consolidation_half_life() -> None:
    """With half-life L, a violator's hazard on day d of the truce is v 2^(-d/L): the truce (tolerance 0,
    sure answers) survives d days with probability prod_{i<d} (1 - v 2^(-i/L))."""
    v, half_life, d = 0.4, 2.0, 6
    _, truces = _run(horizon=30, initial_state="truce", a={"truce_compliance": 1 - v},
                     dynamics={"consolidation_half_life": half_life})
    first = truces["start_day"] == 0
    survives = np.prod([1 - v * 2 ** (-i / half_life) for i in range(d)])
    held = ~truces["broken"][first] | (truces["days"][first] >= d)
    assert_share(int(held.sum()), RUNS, survives)


def test_a_fixed_term_pause_ends_unbroken_and_the_war_resumes() -> None:
    runs, truces = _run(horizon=20, replications=200, scheduled=[{"day": 5, "broker": "un", "term_days": 3}],
                        mediators={"un": {"attempt_rate": 0.0, "leverage": {"a": 1.0, "b": 1.0}}})
    assert np.all(truces["days"] == 3) and not truces["broken"].any()
    assert np.all(truces["start_day"] == 5)
    assert np.all(runs["fighting_days"] == 17) and np.all(runs["war_days"] == 20)


def test_an_exhausted_attacker_still_holding_its_start_line_withdraws_to_it() -> None:
    """A gains ground but tires by 1/8 a day: on the 7th day its resolve falls below the threshold 0.2 and it withdraws;
    no one is defeated and the ground it took is given back."""
    runs, _ = _run(horizon=30, replications=500, a={"strength": 2.0, "war_weariness": 0.125},
                   dynamics={"casualty_noise": 0.0})
    assert np.all(runs["outcome"] == WITHDRAWAL)
    assert np.all(runs["ended_by"] == endings.WITHDRAWAL) and np.all(runs["winner"] == -1)
    assert np.allclose(runs["control_front"], 0.5)
    assert np.all(runs["war_days"] == 7)


def test_a_coercive_mediator_brokers_at_its_attempt_rate_whatever_the_momentum() -> None:
    """Coercion 1 and full leverage: a truce starts with probability a a day although A presses for ground;
    the halt on a side still pressing is coded imposed."""
    a_rate = 0.2
    _, truces = _run(horizon=40, a={"strength": 3.0}, brokered=True,
                     dynamics={"momentum_mediation_refusal": 1.0},
                     mediators={"power": {"attempt_rate": a_rate, "coercion": 1.0,
                                          "leverage": {"a": 1.0, "b": 1.0}}})
    first_start = np.full(RUNS, 10_000)
    np.minimum.at(first_start, truces["lane"], truces["start_day"])
    assert_share(int((first_start == 1).sum()), RUNS, a_rate)
    assert_share(int((first_start <= 3).sum()), RUNS, 1 - (1 - a_rate) ** 3)
    assert np.any(truces["kind"] == IMPOSED)


def test_a_patron_with_full_restraint_stops_its_client_violating() -> None:
    """A would violate every day; its patron's restraint 1 cuts that to nothing: no truce ever breaks."""
    _, truces = _run(horizon=20, replications=500, initial_state="truce", a={"truce_compliance": 0.0},
                     backers={"patron": {"restraint": 1.0}},
                     ties=[{"backer": "patron", "client": "a", "kind": "patronage", "strength": 0.5,
                            "reliability": 1.0}])
    assert not truces["broken"].any()


def test_reserves_mobilise_linearly_and_deliveries_add_per_month() -> None:
    model = _model(replications=10, a={"reserves": 0.5, "mobilisation_days": 10.0},
                   ties=[{"backer": "patron", "client": "b", "kind": "arms_supply", "strength": 0.5,
                          "reliability": 1.0, "deliveries": 0.3}],
                   backers={"patron": {}})
    for _ in range(4):
        model.step()
    power = fronts.base_power(model)
    assert np.allclose(power[0], 1.0 + 0.5 * 4 / 10)
    assert np.allclose(power[1], 1.0 + 0.3 * 4 / 30)


def test_an_outside_power_steps_down_while_a_truce_holds() -> None:
    """Indirect on day 0, under a truce that holds, it steps down one form a day with probability s."""
    s = 0.25
    model = _model(initial_state="truce", backers={"patron": {"initial_form": "indirect", "step_down_rate": s}},
                   ties=[{"backer": "patron", "client": "a", "kind": "patronage", "strength": 0.5,
                          "reliability": 1.0}])
    patron = model.params.actor_ids.index("patron")
    for _ in range(3):
        model.step()
    form = model.form[patron].ravel()
    assert_share(int((form == INDIRECT).sum()), RUNS, (1 - s) ** 3)
    assert_share(int((form == POSTURING).sum()), RUNS, 3 * s**2 * (1 - s))


def test_a_hurting_stalemate_settles_at_the_rate_times_its_ripeness() -> None:
    """Equal sides on a front that never moves (still = 1), both tiring by w a day: ripeness after the
    d-th day of fighting is w d / (1 - capitulation_resolve), and P(war over within D days) =
    1 - prod_{d=1..D} (1 - r w d / 0.8) with settlement rate r."""
    w, r, horizon = 0.01, 0.8, 30
    runs, truces = _run(horizon=horizon, a={"war_weariness": w}, b={"war_weariness": w},
                        dynamics={"settlement_rate": r, "casualty_noise": 0.0})
    assert np.all(truces["kind"] == SETTLEMENT)                     # settlements only
    for days in (5, 10, 20):
        expected = 1 - np.prod([1 - r * w * d / 0.8 for d in range(1, days + 1)])
        assert_share(int((runs["war_days"] <= days).sum()), RUNS, expected)


def test_a_camp_consents_as_one_with_its_parties_weighted_by_their_power() -> None:
    """Camp a has two parties (powers 3 and 1, leverage 0.2 and 1.0), camp b one (leverage 1): a truce is
    agreed on day 0 with probability attempt x (3 x 0.2 + 1 x 1.0) / 4."""
    from sim.scenario.schema import Scenario
    from tests.factory import party, scenario_data

    attempt = 0.5
    data = scenario_data(horizon=5, a={"strength": 3.0}, brokered=True,
                         mediators={"m": {"attempt_rate": attempt, "leverage": {"a": 0.2, "a2": 1.0, "b": 1.0}}})
    data["actors"].insert(1, {"id": "a2", "name": "A2", "camp": "a", "party": party(strength=1.0)})
    data["fronts"].append({"id": "second", "between": ["a2", "b"], "control": 0.5})
    data["actors"][2]["party"]["front_shares"] = {"front": 0.5, "second": 0.5}
    model = EscalationModel(Scenario.model_validate(data), replications=RUNS, rng=9, record_series=False)
    model.run()
    truces = model.truces()
    assert_share(int((truces["start_day"] == 1).sum()), RUNS, attempt * (3 * 0.2 + 1 * 1.0) / 4)


def test_reserves_with_no_mobilisation_time_are_in_line_from_day_0() -> None:
    model = _model(replications=10, a={"reserves": 0.5, "mobilisation_days": 0.0})
    assert np.allclose(fronts.base_power(model)[0], 1.5)


def test_a_beaten_insurgent_fights_on_where_a_state_capitulates() -> None:
    """B loses ground and tires by 1/8 a day: its resolve falls below the threshold 0.2 on day 7. A state
    capitulates that day. An insurgent (7.8.8) fights on: the ground falls to A (B's power is gone), A holds
    its aim and offers a halt every day, B never follows it, and the war goes on to the horizon unwon."""
    kwargs = {"horizon": 30, "replications": 500, "a": {"strength": 2.0},
              "dynamics": {"casualty_noise": 0.0, "halt_acceptance": 1.0}}
    state, _ = _run(b={"war_weariness": 0.125}, **kwargs)
    assert np.all(state["ended_by"] == endings.CAPITULATION) and np.all(state["war_days"] == 7)
    insurgent, _ = _run(b={"war_weariness": 0.125, "insurgent": True}, **kwargs)
    assert np.all(insurgent["ended_by"] == endings.ONGOING) and np.all(insurgent["winner"] == -1)
    assert np.all(insurgent["war_days"] == 30) and np.allclose(insurgent["control_front"], 1.0)


def test_a_beaten_insurgent_accepts_a_brokered_truce_at_the_mediators_rate() -> None:
    """The same beaten insurgent accepts a mediator's truce as any party does: with full leverage over
    both and attempt rate r, the first truce starts on day 1 + J with P(J = j) = r (1 - r)^j."""
    r = 0.2
    runs, _ = _run(horizon=60, a={"strength": 2.0}, b={"war_weariness": 0.125, "insurgent": True},
                   mediators={"un": {"attempt_rate": r, "leverage": {"a": 1.0, "b": 1.0}}}, brokered=True,
                   dynamics={"casualty_noise": 0.0, "halt_acceptance": 1.0})
    first = runs["war_days"]
    assert np.all(runs["winner"] == -1)
    assert_share(int((first == 1).sum()), RUNS, r)
    assert_share(int((first <= 10).sum()), RUNS, 1 - (1 - r) ** 10)


def test_an_exhausted_insurgent_still_holding_its_start_line_withdraws_like_a_state() -> None:
    """Persistence replaces capitulation only: an insurgent that tires while it still holds the ground it
    started from withdraws to its start line on the same day a state would."""
    kwargs = {"horizon": 30, "replications": 500, "dynamics": {"casualty_noise": 0.0}}
    for insurgent in (False, True):
        runs, _ = _run(a={"strength": 2.0, "war_weariness": 0.125, "insurgent": insurgent}, **kwargs)
        assert np.all(runs["ended_by"] == endings.WITHDRAWAL) and np.all(runs["war_days"] == 7)


def test_a_losing_side_the_mediator_has_no_hold_on_accepts_its_truce_as_far_as_the_war_hurts_it() -> None:
    """The mediator has full leverage over A and none over B, which loses ground: B accepts only as far as the
    war goes badly for it, with probability s x its distress d_t (``distress_mediation_acceptance`` s). Without
    noise every lane has the same distress, read from a one-lane model with no mediation:
    P(first truce started by day t) = 1 - prod over i <= t of (1 - r s d_i). An insurgent B never seeks it."""
    r, s, days = 0.5, 0.6, 8
    kwargs = {"horizon": 30, "a": {"strength": 2.0}, "b": {"strength": 0.5},
              "mediators": {"un": {"attempt_rate": r, "leverage": {"a": 1.0, "b": 0.0}}},
              "dynamics": {"casualty_noise": 0.0, "distress_mediation_acceptance": s}}
    probe = _model(replications=1, brokered=False, **kwargs)
    distress = []
    for _ in range(days):
        probe.step()
        distress.append(float(probe.distress[1].ravel()[0]))
    assert not probe.finished.any() and 0.0 < distress[0] < max(distress) <= 1.0
    _, truces = _run(brokered=True, **kwargs)
    first_start = np.full(RUNS, 10_000)
    np.minimum.at(first_start, truces["lane"], truces["start_day"])
    none_yet = 1.0
    for day in range(1, days + 1):
        none_yet *= 1.0 - r * s * distress[day - 1]
        assert_share(int((first_start <= day).sum()), RUNS, 1.0 - none_yet)
    _, insurgent_truces = _run(brokered=True, **{**kwargs, "b": {"strength": 0.5, "insurgent": True}})
    assert not len(insurgent_truces["lane"])


def test_the_actor_tells_how_far_the_war_hurts_it() -> None:
    """The agent's view of 7.4: a losing state is hurt by the war as far as its distress goes, a losing
    insurgent never (it is not moved to a truce by being beaten)."""
    for insurgent in (False, True):
        model = _model(replications=50, horizon=30, a={"strength": 2.0}, b={"strength": 0.5, "insurgent": insurgent},
                       dynamics={"casualty_noise": 0.0})
        for _ in range(5):
            model.step()
        b = next(agent for agent in model.agents if agent.actor_id == "b")
        assert model.distress[1].min() > 0.0
        assert np.array_equal(b.hurt_by_the_war, 0.0 * model.distress[1] if insurgent else model.distress[1])
