"""Fighting on the fronts: combat power, the casualty split, the front and momentum, war weariness,
deep strikes, and parties leaving the war (capitulation, withdrawal). docs/MODEL.md section 7.3.

Every function reads and writes the model's stacked arrays: actors first, then fronts where they
apply, then the lanes ``(points, replications)``. Loops go over fronts and actors, never lanes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model import truces
from sim.model.lanes import Lanes, find, mask, per_lane, rows_at, select
from sim.model.params import DENIABLE, LIMITED

if TYPE_CHECKING:
    from sim.model.model import EscalationModel

Array = np.ndarray


def support(model: EscalationModel) -> Array:
    """(A, lanes): the share of combat power outside powers add to each party at the deniable and
    indirect forms (drones, advisers, proxies, contractors)."""
    result = np.zeros(model.camp.shape)
    indirect = model.params.outside["indirect_support"]
    for k in model.outside_index:
        helping = (model.form[k] >= DENIABLE) & (model.form[k] < LIMITED) & (model.client[k] >= 0)
        if not helping.any():
            continue
        # Only the actors it helps in some lane get a (nonzero) term.
        clients = np.flatnonzero(np.bincount(model.client[k][helping], minlength=model.actor_count))
        for a in clients:
            if a in model.fighter_index:
                result[a] += np.where(helping & (model.client[k] == a), indirect[k], 0.0)
    return result


def base_power(model: EscalationModel) -> Array:
    """(A, lanes): the combat power each actor at war brings before resolve: a party's strength with its
    reserves as they mobilise and the arms delivered to it, or an entrant's intervention power (its limited
    share in a limited entry)."""
    outside = model.params.outside
    party = model.params.party
    entrant = outside["intervention_power"] * np.where(model.form == LIMITED, outside["limited_share"], 1.0)
    days = party["mobilisation_days"]
    mobilised = np.where(days > 0, np.clip(model.day / np.maximum(days, 1e-9), 0.0, 1.0), 1.0)   # 0: at once
    power = np.where(model.day0_party, party["strength"] * (1.0 + party["reserves"] * mobilised), entrant)
    if model.suppliers.size:
        power = power * (1.0 + supplied(model))
    return np.where(model.camp >= 0, power, 0.0)


def supplied(model: EscalationModel) -> Array:
    """(A, lanes): combat power delivered to each actor so far, as a share of its own: each honoured
    commitment with deliveries adds its rate per 30 days of war."""
    s = model.params.structure
    rate = model.params.commitment["deliveries"]
    result = np.zeros(model.camp.shape)
    months = model.fighting_days / 30.0
    for c in model.suppliers:
        result[s.protected[c]] += np.where(model.willing[c], rate[c] * months, 0.0)
    return result


def front_rows(model: EscalationModel, rows: Array | slice = slice(None)) -> list[list[int]]:
    """For each actor of ``rows``, the fronts where it has forces in some lane (``share > 0``). Every
    per-front sum over actors skips the others, whose terms are exactly zero."""
    if model.fronts_present is None:    # worked out again after the shares change (entries, withdrawals, compaction)
        share = model.share
        reach = share.reshape(*share.shape[:2], -1).max(axis=-1) > 0     # shares are never negative
        model.fronts_present = [[f for f, present in enumerate(fronts) if present] for fronts in reach.tolist()]
    if isinstance(rows, slice) and rows == slice(None):
        return list(model.fronts_present)
    return [model.fronts_present[a] for a in model.every_actor[rows]]


def held(model: EscalationModel, rows: Array | slice = slice(None), lanes: Lanes | None = None,
         control: Array | None = None) -> Array:
    """(A, F, lanes): the share of each front's contested ground held by each actor's camp (``rows``: those
    actors only; ``lanes``: those lanes only, as ``np.nonzero`` gives them; ``control``: the fronts' control to
    read, (F, lanes), default today's)."""
    camp = model.camp[rows]
    if lanes is not None:
        camp = camp[:, *lanes]
    if control is None:
        control = model.control if lanes is None else model.control[:, *lanes]
    side0 = camp[:, None] == model.front_camps[None, :, 0].reshape(1, -1, *[1] * (camp.ndim - 1))
    return np.where(side0, control[None], 1.0 - control[None])


def signed_share(model: EscalationModel, rows: Array | slice = slice(None), lanes: Lanes | None = None) -> Array:
    """(A, F, lanes): each actor's share of its forces on each front, negated unless the actor is in the front's
    first camp: a front's value for its first camp times it is the value as the actor's camp sees it, weighted
    by its forces there (multiplying by -1 is exact). Kept by the model as shares and camps change."""
    camp, share = model.camp[rows], model.share[rows]
    if lanes is not None:
        camp, share = camp[:, *lanes], share[:, :, *lanes]
    side0 = camp[:, None] == model.front_camps[None, :, 0].reshape(1, -1, *[1] * (camp.ndim - 1))
    return np.where(side0, share, -share)


def side_momentum(model: EscalationModel, rows: Array | slice = slice(None),
                  fronts_of: list[list[int]] | None = None) -> Array:
    """(A, lanes): each actor's momentum, -1 to 1, its recent gains weighted by its forces per front.
    ``fronts_of``: :func:`front_rows` of ``rows``, if known."""
    actors = model.every_actor[rows]
    fronts_of = front_rows(model, actors) if fronts_of is None else fronts_of
    result = np.zeros((len(actors), *model.lane_shape))
    for i, (a, fronts) in enumerate(zip(actors, fronts_of, strict=True)):
        for f in fronts:
            result[i] += model.signed_share[a, f] * model.front_momentum[f]
    return result


def holdings(model: EscalationModel, ground: Array, rows: Array | slice = slice(None),
             fronts_of: list[list[int]] | None = None, lanes: Lanes | None = None) -> Array:
    """(A, lanes): ``ground`` (A, F, lanes: the share of each front its camp holds, now or at entry) weighted by
    each actor's forces per front (``rows``: those actors only). ``fronts_of``: :func:`front_rows` of ``rows``,
    if known; ``lanes``: at those lanes only (as ``np.nonzero`` gives them)."""
    actors = model.every_actor[rows]
    fronts_of = front_rows(model, actors) if fronts_of is None else fronts_of
    result = np.zeros((len(actors), *(model.lane_shape if lanes is None else (lanes[0].size,))))
    for i, (a, fronts) in enumerate(zip(actors, fronts_of, strict=True)):
        for f in fronts:
            if lanes is None:
                result[i] += model.share[a, f] * ground[a, f]
            else:
                result[i] += model.share[a, f][lanes] * ground[a, f][lanes]
    return result


def reprisal_days(model: EscalationModel) -> Array:
    """(A, points, 1): for each day-0 party, the longest punitive operation (``operation_days``) of a day-0 party
    of another camp: the days of fighting that answer it in kind (7.8.1); 0 where no other camp raids."""
    s, operation = model.params.structure, model.params.party["operation_days"]
    days = np.zeros_like(operation)
    for a in np.flatnonzero((s.initial_camp >= 0) & s.has_party):
        raiders = (s.initial_camp >= 0) & s.has_party & (s.initial_camp != s.initial_camp[a])
        if raiders.any():
            days[a] = operation[raiders].max(axis=0)
    return days


def keeps_start_line(holding: Array, at_start: Array) -> Array:
    """Whether an actor still holds at least the ground it held when it joined the war (both weighted over its
    fronts, :func:`holdings`), to rounding: withdrawal to the start line (7.8.3) and a reprisal in kind (7.8.1)."""
    return holding >= at_start - 1e-9


def aim_held(model: EscalationModel, rows: Array | slice = slice(None),
             fronts_of: list[list[int]] | None = None) -> Array:
    """(A, lanes): whether each actor holds its war aim: the ground it fights for (all of it, for an aim
    of 1), or the days of a punitive or coercive operation fought, or its start line where its aim is the
    status quo (for an entrant, its camp's day-0 line: the status quo ante), or, raided by such an operation,
    as many days of answer fought while it still holds its start line (a reprisal in kind, 7.8.1).
    ``fronts_of``: :func:`front_rows` of ``rows``, if known."""
    actors = model.every_actor[rows]
    party = model.params.party
    aim = party["war_aim"][actors]
    holding = holdings(model, model.held_now, actors, fronts_of)
    operation = party["operation_days"][actors]
    fought = model.days_fought[actors]
    held = (holding >= aim) | ((operation > 0) & (fought >= operation))
    if model.raided or model.status_quo:
        on_start_line = keeps_start_line(holding, holdings(model, model.held_at_outbreak, actors, fronts_of))
        held |= (party["status_quo"][actors] > 0) & on_start_line
        if model.raided:
            reprisal = model.reprisal_days[actors]
            held |= (reprisal > 0) & (fought >= reprisal) & on_start_line
    return held


def pressing(model: EscalationModel, rows: Array | slice = slice(None),
             fronts_of: list[list[int]] | None = None, done: Array | None = None) -> Array:
    """(A, lanes): the momentum each actor still acts on: none once it holds its war aim.
    ``fronts_of``: :func:`front_rows` of ``rows``, if known; ``done``: :func:`aim_held` of ``rows``, if known."""
    done = aim_held(model, rows, fronts_of) if done is None else done
    # Momentum is never -0.0 (a sum from +0.0): the product with the mask is np.where(..., 0.0, ...).
    return np.maximum(model.momentum_now[rows], 0.0) * ~(done | (model.camp[rows] < 0))


def survey(model: EscalationModel, actors: Array | None = None, fronts_of: list[list[int]] | None = None) -> None:
    """What every actor sees of the fronts now: the ground its camp holds on each front, its
    momentum, whether it holds its war aim (read by halts) and the momentum it still presses (read by
    truce conduct, mediation and distress).
    ``actors``: recompute only these rows (after an entry or a withdrawal); ``fronts_of``:
    :func:`front_rows` of every actor, if known."""
    if actors is None:
        # Rows of actors at war in no lane are read nowhere (every reader masks them by camp).
        actors = np.flatnonzero((model.camp >= 0).any(axis=tuple(range(1, model.camp.ndim))))
    rows = slice(None) if actors.size == model.actor_count else actors
    fronts_of = front_rows(model, actors) if fronts_of is None else [fronts_of[a] for a in actors]
    # The ground held is read only where the actor has forces (every reader weights it by the actor's share
    # on that front): the other entries keep their last value.
    lost = 1.0 - model.control
    for a, fronts in zip(actors.tolist(), fronts_of, strict=True):
        for f in fronts:
            model.held_now[a, f] = np.where(model.camp[a] == model.front_camps[f, 0], model.control[f], lost[f])
    model.momentum_now[rows] = side_momentum(model, rows, fronts_of)
    model.aim_held_now[rows] = done = aim_held(model, rows, fronts_of)
    model.pressing_now[rows] = pressing(model, rows, done=done)


def fight(model: EscalationModel, draws: dict[str, Array], normal: Array, active: Array) -> None:
    """One day of fighting on every front where no truce holds."""
    d = model.dynamics
    p = model.params
    fighting = model.fighting_today
    # A local truce quiets the fronts it covers (7.1); the war goes on elsewhere.
    quiet = truces.quiet_fronts(model) if model.local_truces else None
    helped = 1.0 + support(model)
    base = base_power(model)
    model.power_now = base
    effective = base * np.maximum(model.resolve, 0.0) * helped
    deaths = np.zeros(model.camp.shape)
    fought = np.zeros(model.camp.shape, dtype=bool)
    sigma = d["casualty_noise"]
    # Sums over the actors on a front run over those with forces there in some lane, in actor order.
    fronts_of = front_rows(model)
    for f in range(model.fronts):
        rows = [a for a in range(model.actor_count) if f in fronts_of[a]]
        on = {}
        power = {}
        sides = [np.zeros(model.lane_shape), np.zeros(model.lane_shape)]
        for a in rows:
            share = model.share[a, f]
            present = share > 0
            # The sides the actor is on in some lane (a term for a side it is on in no lane is exactly 0).
            on[a] = {}
            for k in (0, 1):
                side = (model.camp[a] == model.front_camps[f, k]) & present
                if side.any():
                    on[a][k] = side
            if not on[a]:
                continue
            power[a] = effective[a] * share
            for k, side in on[a].items():
                sides[k] += power[a] * side      # power is never negative: the product is np.where(side, power, 0)
        fighting_here = fighting if quiet is None else fighting & ~quiet[f]
        contested = fighting_here & (sides[0] > 0) & (sides[1] > 0)
        # A side with no forces left on a front that was fought on loses its ground to the other.
        abandoned = fighting_here & model.front_opened[f] & ((sides[0] > 0) != (sides[1] > 0))
        model.front_opened[f] |= contested
        model.control[f] = np.where(abandoned, np.where(sides[0] > 0, 1.0, 0.0), model.control[f])
        if not contested.any():
            model.front_memory[f] *= 1.0 - 1.0 / d["momentum_memory_days"]
            continue
        total = np.maximum(sides[0] + sides[1], 1e-12)
        engaged = np.zeros(model.lane_shape)
        for a in rows:
            if on[a]:
                either = on[a][0] | on[a][1] if len(on[a]) == 2 else next(iter(on[a].values()))
                engaged += base[a] * model.share[a, f] * helped[a] * either
        # Casualties scale with the power engaged, against the front's day-0 power (or, for a front that
        # opened later, against itself: its declared intensity).
        reference = np.where(model.engaged_at_start[f] > 0, model.engaged_at_start[f], engaged)
        intensity = p.front["intensity"][f] * engaged / np.maximum(reference, 1e-12)
        weight = [sides[0] ** d["loss_exchange"], sides[1] ** d["loss_exchange"]]
        weight_total = np.maximum(weight[0] + weight[1], 1e-12)
        side_deaths = [d["daily_casualties"] * intensity * weight[1 - k] / weight_total
                       * np.exp(sigma * normal[3 * f + k] - 0.5 * sigma**2) * contested for k in (0, 1)]
        floor = [np.maximum(sides[k], 1e-12) for k in (0, 1)]
        for a in rows:
            for k, side in on[a].items():
                deaths[a] += side_deaths[k] * power[a] / floor[k] * side
                fought[a] |= side & contested
        advance = p.front["mobility"][f] * (d["front_speed"] * (sides[0] - sides[1]) / total
                                            + d["front_noise"] * normal[3 * f + 2])
        control = np.where(contested, np.clip(model.control[f] + advance, 0.0, 1.0), model.control[f])
        gained = control - model.control[f]
        model.control[f] = control
        memory = d["momentum_memory_days"]
        model.front_memory[f] = np.where(contested, model.front_memory[f] + (gained - model.front_memory[f]) / memory,
                                         model.front_memory[f] * (1.0 - 1.0 / memory))
    model.front_momentum = np.tanh(3.0 * model.front_memory / (d["front_speed"] * p.front["mobility"]))
    model.fought_today = fought
    model.days_fought += fought
    survey(model, fronts_of=fronts_of)
    absorb_losses(model, deaths, fought, fronts_of)
    model.distress = distress(model)
    # A truce of strikes (7.1) stops the deep strikes of the parties it binds, not the fighting on the fronts.
    _deep_strikes(model, draws, fought & ~truces.quiet_strikes(model) if model.local_truces else fought, fronts_of)
    model.reach(5, fought)
    _leave_the_war(model, active)


def absorb_losses(model: EscalationModel, deaths: Array, fought: Array,
                  fronts_of: list[list[int]] | None = None) -> None:
    """War weariness: days of fighting and deaths wear resolve down; ground lost since the actor
    joined the war (net, weighted by its forces per front) weighs on it too. ``fronts_of``: the fronts
    where each actor has forces in some lane (:func:`front_rows`), if known."""
    party = model.params.party
    model.casualties += deaths
    model.weariness += (party["war_weariness"] + party["casualty_sensitivity"] * deaths / 1000.0) * fought   # >= 0
    model.resolve = model.initial_resolve - model.weariness
    fronts_of = front_rows(model) if fronts_of is None else fronts_of
    sensitivity = party["territory_sensitivity"]
    for a, fronts in enumerate(fronts_of):
        if not fronts or not np.any(sensitivity[a]):   # subtracting 0 x ground lost changes nothing
            continue
        ground_lost = np.zeros(model.lane_shape)
        for f in fronts:
            ground_lost += model.share[a, f] * np.maximum(model.held_at_entry[a, f] - model.held_now[a, f], 0.0)
        model.resolve[a] -= sensitivity[a] * ground_lost


def distress(model: EscalationModel) -> Array:
    """(A, lanes): how badly the war goes for each actor at war, 0 to 1: resolve lost or momentum against it."""
    d = model.dynamics
    threshold = np.where(model.withdraws, d["withdrawal_resolve"], d["capitulation_resolve"])
    span = np.maximum(model.initial_resolve - threshold, 1e-9)
    lost = (model.initial_resolve - model.resolve) / span
    value = np.clip(np.maximum(lost, -model.momentum_now), 0.0, 1.0)
    return np.where(model.camp >= 0, value, 0.0)


def _deep_strikes(model: EscalationModel, draws: dict[str, Array], fought: Array, fronts_of: list[list[int]]) -> None:
    """Parties strike an opponent's recognised territory; desperation adds. The target is drawn
    uniformly among the opponents it faces on a front that have territory of their own."""
    propensity = model.params.party["deep_strike_propensity"]
    for a in model.striker_index:
        # A strike needs a draw below the chance, which is at most the chance at today's worst distress:
        # the lanes below that are the only ones worth working out.
        highest = np.minimum(propensity[a] * (1.0 + model.distress[a].max()), 1.0)
        lanes = find(fought[a] & (draws["deep_strike"][a] < highest))
        if not lanes[0].size:
            continue
        chance = np.minimum(per_lane(model, propensity[a], lanes) * (1.0 + model.distress[a][lanes]), 1.0)
        lanes = select(lanes, per_lane(model, draws["deep_strike"][a], lanes) < chance)
        if not lanes[0].size:
            continue
        # Opponents it never shares a front with are never eligible: leave them out.
        targets = [j for j in model.target_index if j != a and set(fronts_of[a]) & set(fronts_of[j])]
        eligible = []
        for j in targets:
            facing = np.zeros(lanes[0].size, dtype=bool)
            for f in sorted(set(fronts_of[a]) & set(fronts_of[j])):
                facing |= (model.share[a, f][lanes] > 0) & (model.share[j, f][lanes] > 0)
            camp = model.camp[j][lanes]
            eligible.append((camp >= 0) & (camp != model.camp[a][lanes]) & facing)
        count = np.zeros(lanes[0].size, dtype=np.int64)
        for possible in eligible:
            count += possible
        pick = np.floor(per_lane(model, draws["strike_target"][a], lanes) * count)
        running = np.zeros_like(count)
        for j, possible in zip(targets, eligible, strict=True):
            hit = select(lanes, possible & (running == pick))
            running = running + possible
            model.struck[j][hit] = True
            model.attacker[j][hit] = a
        model.reach_one(a, 6, mask(model, select(lanes, count > 0)))


def _leave_the_war(model: EscalationModel, active: Array) -> None:
    """An actor whose resolve falls to its threshold leaves: a party capitulates, or, if it still holds
    the ground it started from, withdraws to the start line; an outside power withdraws; an insurgent
    that would capitulate fights on instead. When every camp but one is gone, that camp has won, unless
    the last to go withdrew (no one was defeated). Worked out in the lanes where some actor breaks today
    only (a beaten insurgent's lanes among them, every day)."""
    d = model.dynamics
    threshold = np.where(model.withdraws, d["withdrawal_resolve"], d["capitulation_resolve"])
    breaking = active & (model.camp >= 0) & (model.resolve <= threshold)
    lanes = find(breaking.any(axis=0))
    if not lanes[0].size:
        return
    every_actor = model.every_actor
    broken = breaking[:, *lanes]
    fronts_of = front_rows(model)
    holding = holdings(model, model.held_now, fronts_of=fronts_of, lanes=lanes)
    at_start = holdings(model, model.held_at_entry, fronts_of=fronts_of, lanes=lanes)
    day0_party = model.day0_party[:, :, 0]
    would_withdraw = day0_party & keeps_start_line(holding, at_start)
    # An insurgent beaten on the fronts fights on (7.8.8): it may withdraw, accept a halt or be left
    # alone by its camp, but it does not capitulate.
    broken &= ~(day0_party & ~would_withdraw & (rows_at(model.params.party["insurgent"], every_actor, lanes) > 0))
    camp = rows_at(model.camp, every_actor, lanes)
    at_war = camp >= 0
    staying = at_war & ~broken
    camps = model.camp_count
    alive_after = np.stack([(staying & (camp == c)).any(axis=0) for c in range(camps)])
    everyone_breaks = ~alive_after.any(axis=0) & at_war.any(axis=0)
    if everyone_breaks.any():
        # Every camp breaks the same day: the one with the highest resolve among its parties holds on.
        resolve = rows_at(model.resolve, every_actor, lanes)
        best = np.stack([np.where(at_war & (camp == c), resolve, -np.inf).max(axis=0) for c in range(camps)])
        survivor = np.argmax(best, axis=0)
        broken &= ~(everyone_breaks & (camp == survivor))
    withdrawing = broken & would_withdraw
    capitulating = broken & day0_party & ~withdrawing
    fronts_left = (withdrawing[:, None] & (model.share[:, :, *lanes] > 0)).any(axis=0)       # (F, lanes)
    model.leave(broken, lanes)
    camp = rows_at(model.camp, every_actor, lanes)
    remaining = np.stack([((camp >= 0) & (camp == c)).any(axis=0) for c in range(camps)])
    winner_now = model.winner[lanes]
    decided = (remaining.sum(axis=0) <= 1) & (winner_now < 0)
    by_withdrawal = decided & withdrawing.any(axis=0) & ~capitulating.any(axis=0)
    winner = np.where(remaining.any(axis=0) & ~by_withdrawal, np.argmax(remaining, axis=0), -1)
    model.winner[lanes] = np.where(decided, winner, winner_now)
    model.withdrew[lanes] |= by_withdrawal
    # A withdrawal to the start line gives back the ground taken on the fronts it left.
    reset = by_withdrawal & fronts_left
    control = model.control[:, *lanes]
    model.control[:, *lanes] = np.where(reset, rows_at(model.params.front["control"], np.arange(model.fronts), lanes),
                                        control)
    model.decided[lanes] |= decided
