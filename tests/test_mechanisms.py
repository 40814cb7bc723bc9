"""Each mechanism in isolation, against exact values, within sampling error (fixed seeds).

Tolerances are four standard errors of the estimate, and the seeds are fixed: the tests are
deterministic, and a failure means the mechanism departs from its documented law.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.model.model import DECISIVE, OUTSIDE_WAR, REGIONAL, TRUCE_HOLDING, EscalationModel
from tests.factory import entry_tie, make_scenario, proxy_tie


def simulate(scenario, replications: int = 20_000, seed: int = 7) -> tuple[dict, dict]:
    model = EscalationModel(scenario, replications=replications, rng=seed, record_series=False)
    model.run()
    return model.results(), model.truces()


def assert_share(successes: int, trials: int, expected: float) -> None:
    """The observed share lies within four standard errors of the exact probability."""
    standard_error = np.sqrt(expected * (1 - expected) / trials)
    assert abs(successes / trials - expected) <= 4 * standard_error + 1e-12, (successes / trials, expected)


# ---- truce conduct ----------------------------------------------------------------------------

def test_truce_survival_follows_the_geometric_law() -> None:
    """Fixed daily compliance c_a, c_b and sure retaliation: P(truce holds >= k days) = (c_a c_b)^k."""
    scenario = make_scenario(initial_state="truce", horizon=40, a={"truce_compliance": 0.9},
                             b={"truce_compliance": 0.8})
    _, truces = simulate(scenario)
    assert truces["days"].size == 20_000  # one truce per lane, never re-brokered
    survive = 0.9 * 0.8
    for k in range(0, 8):
        assert_share(int(np.sum(truces["days"] >= k)), 20_000, survive**k)
    mean_if_uncensored = survive / (1 - survive)
    assert truces["days"].mean() == pytest.approx(mean_if_uncensored, rel=0.03)


def test_attribution_noise_alone_breaks_truces() -> None:
    """No one violates, but each side imagines a violation with probability n a day."""
    noise = 0.1
    scenario = make_scenario(initial_state="truce", horizon=30, dynamics={"attribution_noise": noise})
    _, truces = simulate(scenario)
    survive = (1 - noise) ** 2
    for k in (1, 3, 6):
        assert_share(int(np.sum(truces["days"] >= k)), 20_000, survive**k)


def test_a_perfect_truce_holds_to_the_horizon() -> None:
    runs, truces = simulate(make_scenario(initial_state="truce", horizon=25), replications=2_000)
    assert np.all(runs["outcome"] == TRUCE_HOLDING)
    assert np.all(truces["broken"] == 0) and np.all(truces["days"] == 25)


def test_spiral_retaliation_shortens_truces() -> None:
    """Absorbed violations raise the victim's propensity to answer the next one (same random numbers)."""
    kwargs = dict(initial_state="truce", horizon=60, a={"truce_compliance": 0.9, "retaliation_propensity": 0.2},
                  b={"truce_compliance": 0.9, "retaliation_propensity": 0.2})
    _, calm = simulate(make_scenario(**kwargs, dynamics={"spiral_gain": 0.0}), replications=5_000)
    _, spiral = simulate(make_scenario(**kwargs, dynamics={"spiral_gain": 2.0}), replications=5_000)
    assert spiral["days"].mean() < 0.8 * calm["days"].mean()
    assert np.all(spiral["days"] <= calm["days"])  # common random numbers: never longer, lane by lane


def test_momentum_tempts_the_winning_side_to_break_the_truce() -> None:
    kwargs = dict(horizon=40, a={"strength": 3.0, "truce_compliance": 0.8}, b={"truce_compliance": 1.0},
                  mediators={"m": {"attempt_rate": 0.0, "leverage": {"a": 1.0, "b": 1.0}}},
                  scheduled=[{"day": 10, "broker": "m"}])
    _, plain = simulate(make_scenario(**kwargs, dynamics={"momentum_truce_breaking": 0.0}), replications=5_000)
    _, tempted = simulate(make_scenario(**kwargs, dynamics={"momentum_truce_breaking": 2.0}), replications=5_000)
    # the scheduled truce only (a side that later holds all the ground offers halts of its own)
    plain_days, tempted_days = plain["days"][plain["start_day"] == 10], tempted["days"][tempted["start_day"] == 10]
    assert tempted_days.mean() < 0.7 * plain_days.mean()


def test_monitored_truces_last_longer_than_bare_ones() -> None:
    kwargs = dict(horizon=40, a={"truce_compliance": 0.8}, b={"truce_compliance": 0.8},
                  mediators={"m": {"attempt_rate": 0.0, "leverage": {"a": 1.0, "b": 1.0}}})
    _, bare = simulate(make_scenario(**kwargs, scheduled=[{"day": 1, "broker": "m", "design": "bare"}]), 5_000)
    _, kept = simulate(make_scenario(**kwargs, scheduled=[{"day": 1, "broker": "m", "design": "peacekept"}]), 5_000)
    # peacekept: violation hazard x0.3, so daily survival (1 - 0.2 x 0.3)^2 against 0.8^2
    assert_share(int(np.sum(kept["days"] >= 3)), 5_000, (1 - 0.06) ** 6)
    assert_share(int(np.sum(bare["days"] >= 3)), 5_000, 0.8**6)


# ---- mediation ----------------------------------------------------------------------------

def test_mediation_brokers_at_the_product_of_rate_and_leverage() -> None:
    """Daily success = attempt_rate x leverage_a x leverage_b when no one has momentum."""
    mediator = {"attempt_rate": 0.2, "leverage": {"a": 0.5, "b": 0.6}}
    scenario = make_scenario(horizon=30, brokered=True, mediators={"m": mediator})
    runs, truces = simulate(scenario)
    daily = 0.2 * 0.5 * 0.6
    # compliance is perfect, so the first truce holds to the horizon
    assert_share(int(np.sum(runs["outcome"] == TRUCE_HOLDING)), 20_000, 1 - (1 - daily) ** 30)
    first_start = truces["start_day"]
    assert first_start.min() == 1  # brokered today, in force tomorrow
    assert_share(int(np.sum(first_start <= 5)), 20_000, 1 - (1 - daily) ** 5)


# ---- fighting and war weariness ---------------------------------------------------------------

def test_equal_sides_share_the_daily_losses() -> None:
    scenario = make_scenario(horizon=30, dynamics={"daily_casualties": 100.0, "casualty_noise": 0.5})
    runs, _ = simulate(scenario, replications=4_000)
    per_lane_sd = np.sqrt(30 * 50.0**2 * (np.exp(0.25) - 1))
    for side in ("a", "b"):
        assert abs(runs[f"casualties_{side}"].mean() - 1500.0) <= 4 * per_lane_sd / np.sqrt(4_000)
    assert np.all(runs["control_front"] == 0.5)  # equal power, no noise: the front does not move


def test_the_stronger_side_advances_and_loses_fewer() -> None:
    runs, _ = simulate(make_scenario(horizon=20, a={"strength": 2.0}), replications=2_000)
    assert runs["control_front"].mean() > 0.5 + 20 * 0.04 * (1 / 3) * 0.9
    assert runs["casualties_a"].mean() < runs["casualties_b"].mean()


@pytest.mark.parametrize(("terrain", "factor"), [(None, 1.0), ("rugged", 1.0), ("mixed", 2.0), ("open", 4.0)])
def test_a_fronts_terrain_sets_its_pace(terrain: str | None, factor: float) -> None:
    """Without noise, a day of fighting at 2:1 moves the front by mobility x open_terrain_pace ** (1 open,
    1/2 mixed, 0 rugged or unset) x front_speed x (2 - 1) / (2 + 1) (docs/MODEL.md 7.3.2)."""
    front = {"id": "front", "between": ["a", "b"], "control": 0.5, "mobility": 0.5}
    if terrain is not None:
        front["terrain"] = terrain
    scenario = make_scenario(a={"strength": 2.0}, fronts=[front],
                             dynamics={"front_speed": 0.03, "open_terrain_pace": 4.0})
    model = EscalationModel(scenario, replications=1, rng=3, record_series=False)
    model.step()
    assert float(model.control.ravel()[0]) == pytest.approx(0.5 + 0.5 * factor * 0.03 / 3, rel=1e-12)


def test_war_weariness_brings_capitulation_on_the_exact_day() -> None:
    weariness, threshold = 0.07, 0.2
    resolve, days = 1.0, 0
    while resolve > threshold:
        resolve -= weariness
        days += 1
    runs, _ = simulate(make_scenario(horizon=40, a={"war_weariness": weariness}), replications=500)
    assert np.all(runs["outcome"] == DECISIVE)
    assert np.all(runs["winner"] == 1) and np.all(runs["war_days"] == days)


# ---- backers ------------------------------------------------------------------------------

def _patron_scenario(rate: float, *, scope: str = "anywhere", reliability: float = 1.0, struck: bool = True,
                     horizon: int = 20, b: dict | None = None, **kwargs):
    return make_scenario(
        horizon=horizon,
        b={"deep_strike_propensity": 1.0 if struck else 0.0, **(b or {})},
        backers={"patron": {"escalation_rate": rate}},
        ties=[proxy_tie(), entry_tie(scope=scope, reliability=reliability)],
        **kwargs,
    )


def test_fixed_daily_hazard_gives_geometric_time_to_entry() -> None:
    """Client struck every day, tie willing: open entry with probability h each day."""
    hazard, horizon = 0.05, 20
    runs, _ = simulate(_patron_scenario(hazard, horizon=horizon))
    entered = runs["escalation_day"] >= 0
    assert_share(int(entered.sum()), 20_000, 1 - (1 - hazard) ** horizon)
    for day in (0, 4, 9):
        assert_share(int(np.sum(runs["escalation_day"] == day)), 20_000, (1 - hazard) ** day * hazard)
    assert np.all(runs["outcome"][entered] == REGIONAL)


def test_reliability_is_the_chance_of_honouring_the_tie_at_all() -> None:
    runs, _ = simulate(_patron_scenario(1.0, reliability=0.3, horizon=5))
    assert_share(int(np.sum(runs["escalation_day"] == 0)), 20_000, 0.3)
    assert np.all(runs["escalation_day"] <= 0)


def test_a_tie_out_of_scope_never_triggers() -> None:
    """Scope is the client's recognised territory and no one strikes it: no entry, however the war goes."""
    scenario = _patron_scenario(1.0, scope="recognised_territory", struck=False, horizon=40,
                                b={"strength": 5.0}, a={"territory_sensitivity": 0.5})
    runs, _ = simulate(scenario, replications=5_000)
    assert np.all(runs["escalation_day"] < 0)
    assert np.all(runs["highest_rung_patron"] == 8)  # the proxies' indirect role, no further


def test_in_scope_strikes_trigger_a_territorial_tie() -> None:
    runs, _ = simulate(_patron_scenario(0.1, scope="recognised_territory", horizon=10))
    assert_share(int(np.sum(runs["escalation_day"] >= 0)), 20_000, 1 - 0.9**10)


def test_two_independent_backers() -> None:
    """P(at least one enters) = 1 - (1 - p1)(1 - p2) while neither has entered."""
    horizon = 15
    scenario = make_scenario(
        horizon=horizon,
        b={"deep_strike_propensity": 1.0},
        backers={"first": {"escalation_rate": 0.03}, "second": {"escalation_rate": 0.05}},
        ties=[proxy_tie("first"), entry_tie("first"), proxy_tie("second"), entry_tie("second")],
    )
    runs, _ = simulate(scenario)
    p1, p2 = 1 - 0.97**horizon, 1 - 0.95**horizon
    assert_share(int(np.sum(runs["escalation_day"] >= 0)), 20_000, 1 - (1 - p1) * (1 - p2))
    # (after the first entry the two are no longer independent: the entrant can be struck in its client's place)


def test_distress_drives_a_backer_of_a_losing_client() -> None:
    """Scope anywhere, no strikes: the trigger is the client's distress, so a losing client pulls harder."""
    kwargs = dict(horizon=30, backers={"patron": {"escalation_rate": 0.2}}, ties=[proxy_tie(), entry_tie()])
    losing, _ = simulate(make_scenario(b={"strength": 3.0}, **kwargs), replications=4_000)
    even, _ = simulate(make_scenario(**kwargs), replications=4_000)
    assert np.mean(losing["escalation_day"] >= 0) > 0.5
    assert np.all(even["escalation_day"] < 0)  # even war, no momentum, no distress


def test_dual_ties_restrain_the_backer() -> None:
    kwargs = dict(horizon=20, b={"deep_strike_propensity": 1.0}, backers={"patron": {"escalation_rate": 0.1}})
    single, _ = simulate(make_scenario(ties=[proxy_tie(), entry_tie()], **kwargs))
    arms_to_other = {"backer": "patron", "client": "b", "kind": "arms_supply", "strength": 0.5, "reliability": 1.0}
    dual, _ = simulate(make_scenario(ties=[proxy_tie(), entry_tie(), arms_to_other], **kwargs))
    assert_share(int(np.sum(single["escalation_day"] >= 0)), 20_000, 1 - 0.9**20)
    assert_share(int(np.sum(dual["escalation_day"] >= 0)), 20_000, 1 - 0.95**20)


def test_unabsorbed_incidents_push_a_backer_up_one_rung() -> None:
    exposure, horizon = 0.05, 20
    scenario = make_scenario(
        horizon=horizon, backers={"patron": {"exposure": exposure, "incident_absorption": 0.5}},
        ties=[{"backer": "patron", "client": "a", "kind": "arms_supply", "strength": 0.5, "reliability": 1.0}],
    )
    runs, _ = simulate(scenario)
    assert_share(int(np.sum(runs["highest_rung_patron"] >= 7)), 20_000, 1 - (1 - exposure * 0.5) ** horizon)
    assert_share(int(np.sum(runs["incidents_patron"] >= 1)), 20_000, 1 - (1 - exposure) ** horizon)


def test_open_entry_feeds_back_into_the_war() -> None:
    kwargs = dict(horizon=30, b={"deep_strike_propensity": 1.0}, ties=[proxy_tie(), entry_tie()])
    helped, _ = simulate(make_scenario(backers={"patron": {"escalation_rate": 1.0, "intervention_power": 2.0}},
                                       **kwargs), 2_000)
    unhelped, _ = simulate(make_scenario(backers={"patron": {"escalation_rate": 1.0}}, **kwargs), 2_000)
    assert helped["control_front"].mean() > unhelped["control_front"].mean() + 0.2


def _rivals(clash_rate: float = 0.1, definition: dict | None = None, entry: bool = False):
    ties = [proxy_tie("first", "a"), proxy_tie("second", "b")]
    if entry:
        ties += [entry_tie("first", "a"), entry_tie("second", "b")]
    return make_scenario(
        horizon=20, regional_escalation=definition or {},
        a={"deep_strike_propensity": 1.0}, b={"deep_strike_propensity": 1.0},
        backers={"first": {"escalation_rate": 1.0}, "second": {"escalation_rate": 1.0}},
        ties=ties, rivalries=[{"between": ["first", "second"], "intensity": 1.0}],
        dynamics={"clash_rate": clash_rate},
    )


def test_rivals_involved_indirectly_clash_at_the_rate_their_visibility_allows() -> None:
    """Both rivals hold an indirect role on opposite sides from the end of day 0: a clash each later day
    with probability rate x intensity x visibility(indirect)^2 = 0.1 x 0.3^2."""
    runs, _ = simulate(_rivals())
    clashed = runs["highest_rung_first"] == 11
    assert_share(int(clashed.sum()), 20_000, 1 - (1 - 0.1 * 0.3**2) ** 20)
    assert np.all(runs["highest_rung_second"][clashed] == 11)
    assert np.all(runs["outcome"][clashed] == OUTSIDE_WAR)


def test_rivals_in_combat_on_one_front_are_at_war_with_each_other() -> None:
    """Both enter in combat on day 0 (certain triggers, rate 1) and fight each other from day 1; the war
    goes on (an outside war does not end a run: others may still be drawn in)."""
    runs, _ = simulate(_rivals(clash_rate=0.0, entry=True), 2_000)
    assert np.all(runs["outcome"] == OUTSIDE_WAR) and np.all(runs["highest_rung_first"] == 11)
    assert np.all(runs["combat_day_first"] == 0) and np.all(runs["war_days"] == 20)


def test_outside_powers_fighting_counts_only_when_the_definition_says_so() -> None:
    counted, _ = simulate(_rivals(definition={"outside_form": "none", "outside_powers_fight": True}), 5_000)
    clashed = counted["highest_rung_first"] == 11
    assert np.array_equal(counted["escalation_day"] >= 0, clashed) and clashed.any()
    with pytest.raises(AssertionError, match="nothing could count"):
        _rivals(definition={"outside_form": "none", "outside_powers_fight": False})


def test_an_unwilling_tie_does_not_mobilise_its_backer() -> None:
    unreliable_proxies = {**proxy_tie(), "reliability": 0.25}
    runs, _ = simulate(make_scenario(horizon=5, backers={"patron": {}}, ties=[unreliable_proxies]))
    assert_share(int(np.sum(runs["highest_rung_patron"] == 8)), 20_000, 0.25)
    assert np.all(np.isin(runs["highest_rung_patron"], (0, 8)))


def test_tie_strength_scales_the_climb() -> None:
    weak = {**entry_tie(), "strength": 0.4}
    runs, _ = simulate(make_scenario(horizon=10, b={"deep_strike_propensity": 1.0},
                                     backers={"patron": {"escalation_rate": 0.25}}, ties=[proxy_tie(), weak]))
    assert_share(int(np.sum(runs["escalation_day"] >= 0)), 20_000, 1 - (1 - 0.25 * 0.4) ** 10)


def test_lost_ground_weighs_on_resolve_net_of_the_front_swaying() -> None:
    """Resolve counts ground lost since the start, net: ground regained restores it."""
    from sim.model.fronts import absorb_losses, survey

    model = EscalationModel(make_scenario(a={"territory_sensitivity": 2.0, "war_weariness": 0.01}), rng=1)
    fought = model.camp >= 0
    none = np.zeros(model.camp.shape)
    model.control[0] = 0.3
    survey(model)
    absorb_losses(model, none, fought)
    assert model.resolve[0, 0, 0] == pytest.approx(1.0 - 0.01 - 2.0 * 0.2)
    model.control[0] = 0.6
    survey(model)
    absorb_losses(model, none, fought)
    assert model.resolve[0, 0, 0] == pytest.approx(1.0 - 0.02)
    losing, _ = simulate(make_scenario(horizon=60, a={"territory_sensitivity": 2.0}, b={"strength": 3.0}), 500)
    assert np.all(losing["winner"] == 1)


def test_reported_intervals_cover_the_exact_probability() -> None:
    """Over 1,000 independent seeds, the 95% interval of P(entry by the horizon) holds the exact
    value 93-97% of the time: the model's randomness and the interval are both honest."""
    from sim.analysis.stats import wilson_interval
    from sim.ensemble.chunks import Chunk, simulate_chunk
    from sim.model.params import compile_scenarios

    hazard, horizon, runs = 0.03, 10, 200
    exact = 1 - (1 - hazard) ** horizon
    params = compile_scenarios([_patron_scenario(hazard, horizon=horizon)])
    counts = np.array([
        int(np.sum(simulate_chunk(params, Chunk(0, 0, runs, seed)).runs["escalation_day"] >= 0))
        for seed in range(1_000)
    ])
    low, high = wilson_interval(counts, runs)
    coverage = np.mean((low <= exact) & (exact <= high))
    assert 0.93 <= coverage <= 0.97, coverage
    assert abs(counts.mean() / runs - exact) < 4 * np.sqrt(exact * (1 - exact) / (runs * 1_000))


def test_a_side_that_holds_its_war_aim_stops_pressing() -> None:
    """A strong side that breaks truces while it gains ground stops once it holds what it fights for."""
    kwargs = dict(horizon=60, brokered=True, a={"contested_territory": 0.5},
                  mediators={"m": {"attempt_rate": 0.2, "leverage": {"a": 1.0, "b": 1.0}}},
                  dynamics={"momentum_mediation_refusal": 1.0, "momentum_truce_breaking": 20.0,
                            "momentum_memory_days": 20})
    strong = {"strength": 3.0, "contested_territory": 0.5, "truce_compliance": 0.98}
    total, _ = simulate(make_scenario(b=strong, **kwargs), 3_000)
    limited, _ = simulate(make_scenario(b={**strong, "war_aim": 0.6}, **kwargs), 3_000)
    assert limited["control_front"].mean() > total["control_front"].mean() + 0.15  # it stops short of taking it all
    assert limited["truces_broken"].mean() < 0.7 * total["truces_broken"].mean()
    assert np.median(limited["war_days"]) < np.median(total["war_days"])


def test_the_default_war_aim_stops_a_side_pressing_only_once_it_holds_everything() -> None:
    from sim.model.fronts import survey

    model = EscalationModel(make_scenario(a={"contested_territory": 0.9}), rng=1)
    model.front_momentum = np.full_like(model.front_momentum, 0.4)  # momentum 0.4 for a, which holds 90%
    survey(model)
    assert model.pressing_now[0, 0, 0] == pytest.approx(0.4)
    everything = EscalationModel(make_scenario(a={"contested_territory": 1.0}), rng=1)
    everything.front_momentum = model.front_momentum
    survey(everything)
    assert everything.pressing_now[0, 0, 0] == 0.0
    limited = EscalationModel(make_scenario(a={"contested_territory": 0.9, "war_aim": 0.9}), rng=1)
    limited.front_momentum = model.front_momentum
    survey(limited)
    assert limited.pressing_now[0, 0, 0] == 0.0


def test_a_backer_leans_per_sweep_point() -> None:
    """Which client an incident pushes a backer towards is decided point by point, never averaged."""
    from sim.model.params import compile_scenarios

    def variant(strength_to_b: float):
        return make_scenario(backers={"patron": {}}, ties=[
            {"backer": "patron", "client": "a", "kind": "arms_supply", "strength": 0.5, "reliability": 1.0},
            {"backer": "patron", "client": "b", "kind": "arms_supply", "strength": strength_to_b, "reliability": 1.0},
        ])
    model = EscalationModel(compile_scenarios([variant(0.1), variant(0.9)]), replications=2, rng=1)
    assert model.lean[model.params.actor_ids.index("patron")].ravel().tolist() == [0, 1]


@pytest.mark.parametrize("exponent", [0.0, 0.5, 1.0])
def test_losses_split_by_the_power_ratio_to_the_loss_exchange_exponent(exponent: float) -> None:
    """With powers 2:1 held constant, the weaker side loses 2^k times as many as the stronger."""
    scenario = make_scenario(horizon=30, a={"strength": 2.0}, dynamics={"loss_exchange": exponent})
    runs, _ = simulate(scenario, replications=4_000)
    ratio = runs["casualties_b"].mean() / runs["casualties_a"].mean()
    assert ratio == pytest.approx(2.0**exponent, rel=0.02)
    total = runs["casualties_a"].mean() + runs["casualties_b"].mean()
    assert total == pytest.approx(30 * 150.0, rel=0.02)
