"""Outside powers and their commitments: mobilisation, triggers, climbing the forms of
involvement, entry into the war, incidents and clashes. docs/MODEL.md section 7.5 and 7.6.

A commitment is a directed tie from a committed actor to a protected one. Each day its trigger is
met (0 to 1) by the events its scope covers; the committed actor climbs, through the eligible
commitment that weighs most, one form of involvement (or, with its readiness, straight to the
commitment's ceiling). An outside power that reaches a combat form (limited or open) becomes a
party: it joins the protected actor's camp and fights on a front from the next day. Cascades thus
advance one link a day: entries take effect tomorrow, and commitments to the entrant (and against
it) trigger on tomorrow's events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model import fronts
from sim.model.lanes import Lanes, at, find, mask, per_lane, rows_at, select
from sim.model.params import DENIABLE, INDIRECT, LIMITED, OPEN, POSTURING
from sim.model.truces import war_wide

if TYPE_CHECKING:
    from sim.model.model import EscalationModel

Array = np.ndarray

TERRITORY, FORCES, DEFEAT, RIVAL, ANY = range(5)


def mobilise(model: EscalationModel, active: Array) -> None:
    """The first day the war is fought in a lane, each willing commitment puts its committed actor
    on its kind's baseline form (a proxy tie: an indirect role at once)."""
    newly = active & model.war_fought & ~model.mobilised
    if not newly.any():
        return
    s = model.params.structure
    ceiling = model.params.commitment["ceiling"]
    for c in range(len(s.commitment_ids)):
        actor = s.committed[c]
        baseline = np.minimum(s.baseline[c], ceiling[c]).astype(np.int8)   # a ceiling below the kind's baseline wins
        lift = newly & model.willing[c] & (model.form[actor] < baseline) & ~model.left[actor]
        model.form[actor] = np.where(lift, baseline, model.form[actor])
        helping = lift & (baseline >= DENIABLE) & (baseline < LIMITED)
        model.client[actor] = np.where(helping, s.protected[c], model.client[actor])
    model.mobilised |= newly


def step_down(model: EscalationModel, draws: dict[str, Array], active: Array) -> None:
    """While a truce holds, an outside power not at war steps down one form of involvement with its
    ``step_down_rate`` a day (restraint once the fighting has stopped); below the deniable form it
    no longer helps its client."""
    rate = model.params.outside["step_down_rate"]
    for a in model.steps_down:
        down = active & war_wide(model) & (model.camp[a] < 0) & (model.form[a] > 0) & (model.form[a] < LIMITED)
        down &= draws["step_down"][a] < rate[a]
        model.form[a] = np.where(down, model.form[a] - 1, model.form[a]).astype(np.int8)
        model.client[a] = np.where(down & (model.form[a] < DENIABLE), -1, model.client[a]).astype(np.int16)


def triggers(model: EscalationModel, lanes: Lanes | None = None, rows: Array | None = None) -> Array:
    """(climbable commitments, lanes): how strongly each commitment's trigger is met today, 0 to 1
    (``lanes``: at those lanes only, as ``np.nonzero`` gives them; ``rows``: for those climbable
    commitments only, by position in ``model.climbable``)."""
    s = model.params.structure
    d = model.dynamics
    positions = np.arange(len(model.climbable)) if rows is None else np.asarray(rows)
    climbable = model.climbable[positions]
    protected = s.protected[climbable]
    committed = s.committed[climbable]

    def of(stack: Array, rows: Array) -> Array:
        """``stack[rows]`` (a stack over actors or commitments, then lanes, or per point) at the lanes."""
        return stack[rows] if lanes is None else rows_at(stack, rows, lanes)

    def lane(value: Array) -> Array:
        return value if lanes is None else per_lane(model, value, lanes)

    struck = of(model.struck, protected)
    hit = of(model.hit, protected)
    distress = of(model.distress, protected)
    at_war = of(model.camp, protected) >= 0
    forces = np.maximum(np.maximum(struck, hit), np.where(of(model.fought_today, protected), distress, 0.0))
    defeat = at_war & (distress >= lane(d["defeat_likely_distress"]))
    everywhere = model.params.commitment["trigger"][climbable]
    trigger = of(model.params.commitment["trigger"], climbable)
    weight = np.where(trigger == TERRITORY, struck, 0.0)
    if np.any(everywhere == FORCES):
        weight = np.where(trigger == FORCES, forces, weight)
    if np.any(everywhere == DEFEAT):
        weight = np.where(trigger == DEFEAT, defeat, weight)
    if np.any((everywhere == RIVAL) | (everywhere == ANY)):
        against = _entrant_against(model, protected, lanes)
        weight = np.where(trigger == RIVAL, against, weight)
        weight = np.where(trigger == ANY, np.maximum(np.maximum(forces, defeat), against), weight)
    # A declared rival in combat against the protected actor's camp pulls, whatever the trigger.
    intensity = model.params.rivalry_intensity
    for r, pair in enumerate(s.rivalry_pairs):
        for me, rival in (pair, pair[::-1]):
            mine = committed == me
            if not mine.any():
                continue
            camp_to = of(model.camp, protected[mine])
            rival_camp = lane(model.camp[rival])
            engaged = (lane(model.form[rival]) >= LIMITED) & (rival_camp >= 0)
            pull = np.where(engaged & (camp_to >= 0) & (camp_to != rival_camp), lane(intensity[r]), 0.0)
            weight[mine] = np.maximum(weight[mine], pull)
    # Cross-pressure: commitments to actors in opposed camps restrain each other.
    row_of = {int(position): row for row, position in enumerate(positions)}
    for position, other in model.cross_pairs:
        if position not in row_of:
            continue
        c = row_of[position]
        camps = lane(model.camp[protected[c]]), lane(model.camp[s.protected[other]])
        opposed = (camps[0] >= 0) & (camps[1] >= 0) & (camps[0] != camps[1])
        weight[c] = weight[c] * np.where(opposed, 1.0 - lane(model.params.commitment["strength"][other]), 1.0)
    return weight


def highest_trigger(model: EscalationModel) -> float:
    """An upper bound of every value :func:`triggers` can take today: the events are 0 or 1, distress and
    rivalry pulls at most their highest value, and cross-pressure only lowers (strengths are 0 to 1)."""
    intensity = model.params.rivalry_intensity
    pulls = float(np.max(intensity)) if np.size(intensity) else 0.0
    return max(1.0, float(model.distress.max()), pulls)


def _entrant_against(model: EscalationModel, protected: Array, lanes: Lanes | None = None) -> Array:
    """(len(protected), lanes): an outside power that was not at war on day 0 is in combat in a camp
    other than the protected actor's own (``lanes``: at those lanes only)."""
    def lane(value: Array) -> Array:
        return value if lanes is None else value[lanes]

    shape = model.lane_shape if lanes is None else (lanes[0].size,)
    result = np.zeros((len(protected), *shape), dtype=bool)
    # Entrants in combat in no lane today are left out (their terms are all false).
    in_combat = {k: combat for k in model.outside_index if not model.day0_at_war[k, 0, 0]
                 if (combat := (lane(model.form[k]) >= LIMITED) & (lane(model.camp[k]) >= 0)).any()}
    if not in_combat:
        return result
    done: dict[int, int] = {}
    for i, j in enumerate(protected):
        if j in done:        # the same protected actor for several commitments
            result[i] = result[done[j]]
            continue
        done[j] = i
        camp = lane(model.camp[j])
        for k, combat in in_combat.items():
            if k != j:
                result[i] |= combat & (lane(model.camp[k]) != camp)
        result[i] &= camp >= 0
    return result


def decide(model: EscalationModel, draws: dict[str, Array], active: Array) -> None:
    """Each outside power weighs its commitments' triggers: it may honour one at the news (straight to its
    ceiling, 7.5.12) or climb one form (or to the ceiling) at its standing pace (7.5.7)."""
    climbable = model.climbable
    if not len(climbable):
        return
    outside = model.params.outside
    strength = model.params.commitment["strength"]
    news_response = model.dynamics["news_response"]
    hearing = model.hearing
    # An actor climbs where its draw is below its rate times its strongest trigger x strength, which is at
    # most its rate x the highest trigger x its strongest commitment: work out the lanes below that only
    # (and, with news, every lane still played where a trigger can still rise above its highest: the news
    # is every such rise, whatever today's draws; where every highest already is the highest any trigger
    # can take today, there is no news and the highest stays).
    # Every actor's options are weighed before any climbs (a climb today must not change another's triggers).
    highest = highest_trigger(model)
    weighed = []
    for a, own in model.commitments_of.items():
        bound = outside["escalation_rate"][a] * (highest * strength[climbable[own]].max(axis=0))
        may_climb = draws["climb"][a] < bound
        if hearing:
            may_climb = may_climb | (model.trigger_high[own].min(axis=0) < highest)
        lanes = find(active & may_climb)
        if not lanes[0].size:
            continue
        ceiling = rows_at(model.params.commitment["ceiling"], climbable[own], lanes).astype(np.int8)
        eligible = (rows_at(model.willing, climbable[own], lanes) & (model.form[a][lanes] < ceiling)
                    & ~model.left[a][lanes])
        trigger = triggers(model, lanes, own)
        weights = rows_at(strength, climbable[own], lanes)
        news = np.where(eligible, news_of(model, own, lanes, trigger) * weights, 0.0) if hearing else None
        weighed.append((a, own, lanes, ceiling, np.where(eligible, trigger * weights, 0.0), news))
    for a, own, lanes, ceiling, options, news in weighed:
        columns = np.arange(lanes[0].size)
        honoured = np.zeros(columns.size, dtype=bool)
        if news is not None:
            best, strongest = _strongest(news)
            honoured = (strongest > 0) & (per_lane(model, draws["honour"][a], lanes)
                                          < per_lane(model, news_response, lanes) * strongest)
            if honoured.any():
                _take(model, a, select(lanes, honoured), climbable[own[best[honoured]]],
                      ceiling[best[honoured], columns[honoured]])
        best, strongest = _strongest(options)
        rate = per_lane(model, outside["escalation_rate"][a], lanes) * strongest
        climbs = (strongest > 0) & (per_lane(model, draws["climb"][a], lanes) < rate) & ~honoured
        if not climbs.any():
            continue
        where = select(lanes, climbs)
        top = ceiling[best[climbs], columns[climbs]]
        jump = per_lane(model, draws["ready"][a], where) < per_lane(model, outside["readiness"][a], where)
        _take(model, a, where, climbable[own[best[climbs]]],
              np.where(jump, top, np.minimum(model.form[a][where] + 1, top)).astype(np.int8))


def news_of(model: EscalationModel, own: Array, lanes: Lanes, trigger: Array) -> Array:
    """(own commitments, lanes): the news of each trigger today, how far it rose above the highest it had
    reached this crisis (7.5.12), which becomes the new highest."""
    high = rows_at(model.trigger_high, own, lanes)
    news = np.maximum(trigger - high, 0.0)
    model.trigger_high[own[:, None], *lanes] = np.maximum(high, trigger)
    return news


def _strongest(options: Array) -> tuple[Array, Array]:
    """The row of the strongest option per lane and its value (options over commitments, then lanes)."""
    if len(options) == 1:
        return np.zeros(options.shape[1], dtype=np.intp), options[0]
    best = np.argmax(options, axis=0)
    return best, options[best, np.arange(options.shape[1])]


def _take(model: EscalationModel, a: int, lanes: Lanes, chosen: Array, new_form: Array) -> None:
    """Actor ``a`` takes ``new_form`` at ``lanes`` through commitments ``chosen`` (both per lane), deterred
    by its rivals' postures where it has any."""
    s = model.params.structure
    if a in model.rivals_of:
        new_form = deterred(model, a, lanes, new_form, s.protected[chosen])
    climb_to(model, a, lanes, new_form, s.protected[chosen], s.entry_front[chosen])


def side(model: EscalationModel, a: int, lanes: Lanes, leaning: bool = False) -> Array:
    """The camp outside power ``a`` fights or helps at ``lanes`` (-1 if none): its own camp at war, its
    client's, or (``leaning``) for a power posturing without a client, the camp of the actor it leans to."""
    backed = model.client[a][lanes]
    if leaning:
        lean = per_lane(model, model.lean[a], lanes)
        backed = np.where(backed >= 0, backed, np.where(model.form[a][lanes] >= POSTURING, lean, -1))
    helped = np.where(backed >= 0, at(model.camp, backed, lanes), -1)
    camp = model.camp[a][lanes]
    return np.where(camp >= 0, camp, helped)


def deterrence(model: EscalationModel, a: int, lanes: Lanes, camp: Array) -> Array:
    """(lanes): the probability that outside power ``a``, about to enter the war in ``camp`` (per lane of
    ``lanes``), is deterred by its declared rivals' postures (7.5.11): each rival visibly backing an
    opposing camp short of combat (posturing to indirect) deters with ``deterrence`` x the rivalry's
    intensity x the rival's share of their combined intervention power (the local balance, Huth and
    Russett 1984); several rivals deter independently."""
    power = model.params.outside["intervention_power"]
    through = np.ones(lanes[0].size)
    for rival, r in model.rivals_of[a]:
        form = model.form[rival][lanes]
        rival_side = side(model, rival, lanes, leaning=True)
        posture = (form >= POSTURING) & (form < LIMITED) & (rival_side >= 0) & (rival_side != camp)
        if not posture.any():
            continue
        balance = power[rival] / np.maximum(power[rival] + power[a], 1e-300)
        strength = model.dynamics["deterrence"] * model.params.rivalry_intensity[r] * balance
        through = through * (1.0 - np.where(posture, per_lane(model, strength, lanes), 0.0))
    return 1.0 - through


def deterred(model: EscalationModel, a: int, lanes: Lanes, new_form: Array, protected: Array) -> Array:
    """``new_form`` for actor ``a``'s climb at ``lanes``, with deterrence decided once a crisis: the first
    climb into combat that meets a rival's posture is deterred where the actor's draw of the crisis
    (``model.deterrence_draw``) is below :func:`deterrence`; a deterred power goes no further than indirect
    support for as long as a rival's posture stands against it."""
    entering = (new_form >= LIMITED) & (model.camp[a][lanes] < 0)
    if not entering.any():
        return new_form
    into = select(lanes, entering)
    chance = deterrence(model, a, into, entry_camp(model, protected[entering], into))
    decided = model.deterred[a][into]
    draw = model.deterrence_draw[model.deterrence_row[a]][into]
    held_back = (decided | (draw < chance)) & (chance > 0)
    model.deterred[a][into] = decided | held_back
    capped = new_form.copy()
    capped[entering] = np.where(held_back, np.maximum(model.form[a][into], INDIRECT), new_form[entering])
    return capped


def climb_to(model: EscalationModel, a: int, lanes: Lanes, new_form: Array, protected: Array,
             front: Array) -> None:
    """Actor ``a`` takes ``new_form`` in ``lanes`` (as ``np.nonzero`` gives them; the other arguments are
    per lane of ``lanes``), for ``protected``; a combat form makes it a party of the protected actor's
    camp (or, for an actor at war on no front, of the camp opposing whoever attacked it), fighting from
    tomorrow."""
    helping = (new_form >= DENIABLE) & (new_form < LIMITED)
    model.client[a][select(lanes, helping)] = protected[helping]
    entering = (new_form >= LIMITED) & (model.camp[a][lanes] < 0)
    if entering.any():
        into = select(lanes, entering)
        protected, front = protected[entering], front[entering]
        camp = entry_camp(model, protected, into)
        front = np.where(front >= 0, front, model.main_front[protected, *into])
        cannot = camp < 0
        new_form = new_form.copy()
        new_form[entering] = np.where(cannot, INDIRECT, new_form[entering])
        _enter(model, a, select(into, ~cannot), camp[~cannot], front[~cannot])
    model.form[a][lanes] = np.maximum(model.form[a][lanes], new_form)


def entry_camp(model: EscalationModel, protected: Array, lanes: Lanes) -> Array:
    """(lanes): the camp an outside power entering for ``protected`` (per lane of ``lanes``) joins: the
    protected actor's camp, or, for an actor at war on no front, the camp opposing whoever attacked it."""
    camp = model.camp[protected, *lanes]
    return np.where(camp >= 0, camp, opposing_camp(model, model.attacker[protected, *lanes], lanes))


def opposing_camp(model: EscalationModel, attacker: Array, lanes: Lanes | None = None) -> Array:
    """(lanes): the camp the attacker fights on its main front (-1 where there is no attacker); ``lanes``:
    ``attacker`` is given for those lanes only (as ``np.nonzero`` gives them)."""
    foe = model.gather(model.foe_camp, attacker) if lanes is None else at(model.foe_camp, attacker, lanes)
    return np.where(attacker >= 0, foe, -1).astype(np.int8)


def _enter(model: EscalationModel, a: int, lanes: Lanes, camp: Array, front: Array) -> None:
    """``model.enter`` for ``lanes`` only (``camp`` and ``front`` per lane of ``lanes``)."""
    if not lanes[0].size:
        return
    where = mask(model, lanes)
    camp_by_lane = np.full(model.lane_shape, -1, dtype=camp.dtype)
    camp_by_lane[lanes] = camp
    front_by_lane = np.full(model.lane_shape, -1, dtype=front.dtype)
    front_by_lane[lanes] = front
    model.enter(a, where, camp_by_lane, front_by_lane)


def incidents(model: EscalationModel, draws: dict[str, Array], active: Array) -> None:
    """Fire hits exposed forces and assets; an outside power answers an unabsorbed hit by climbing one
    form, against the party that fired, outside any commitment (its own forces were hit)."""
    s = model.params.structure
    if not s.exposures:
        return
    for e, (a, firing) in enumerate(s.exposures):
        hit = active & model.fought_today[firing] & (draws["incident"][e] < model.params.exposure[e])
        model.hit[a] |= hit
        model.attacker[a] = np.where(hit, firing, model.attacker[a])
        model.incidents[a] += hit
    outside = model.params.outside
    for a in model.exposed_index:
        answers = (model.hit[a] & (draws["absorb"][a] >= outside["incident_absorption"][a])
                   & (model.form[a] < OPEN) & ~model.left[a])
        lanes = find(answers)     # the rest is worked out for the lanes that answer only
        if not lanes[0].size:
            continue
        form = model.form[a][lanes]
        new_form = np.where(form < POSTURING, form + 1, np.maximum(form + 1, DENIABLE)).astype(np.int8)
        lean = per_lane(model, model.lean[a], lanes)
        lean_camp = at(model.camp, lean, lanes)
        attacker = model.attacker[a][lanes]
        against = opposing_camp(model, attacker, lanes)
        # Help the protected actor it leans to if that actor fights the attacker; else enter against it.
        protected = np.where((lean >= 0) & (lean_camp >= 0) & (lean_camp == against), lean, a)
        front = at(model.main_front, attacker, lanes)
        if model.declared_front[a] >= 0:
            front = np.full_like(front, model.declared_front[a])
        _enter_against(model, a, lanes, new_form, protected, against, front)


def _enter_against(model: EscalationModel, a: int, lanes: Lanes, new_form: Array, protected: Array,
                   camp: Array, front: Array) -> None:
    """Actor ``a`` answers in ``lanes``: it helps ``protected`` or enters in ``camp`` (arguments per lane)."""
    helping = (new_form >= DENIABLE) & (new_form < LIMITED) & (protected != a)
    model.client[a][select(lanes, helping)] = protected[helping]
    outside_the_war = model.camp[a][lanes] < 0
    entering = (new_form >= LIMITED) & outside_the_war & (camp >= 0)
    blocked = (new_form >= LIMITED) & outside_the_war & (camp < 0)
    _enter(model, a, select(lanes, entering), camp[entering], front[entering])
    moves = select(lanes, ~blocked)
    model.form[a][moves] = np.maximum(model.form[a][moves], new_form[~blocked])


def clashes(model: EscalationModel, draws: dict[str, Array], active: Array) -> None:
    """Outside powers fight each other: two in combat against each other on a shared front; or
    declared rivals involved on opposite sides coming to blows, at a rate that grows with how
    visible their involvement is (deniable presences rarely meet as open war)."""
    d = model.dynamics
    visibility = np.stack(np.broadcast_arrays(
        0.0, 0.0, 0.0, d["deniable_visibility"], d["indirect_visibility"], d["limited_visibility"], 1.0))
    most_visible = visibility.max(axis=0)

    for r, (x, y) in enumerate(model.params.structure.rivalry_pairs):
        scale = d["clash_rate"] * model.params.rivalry_intensity[r]
        # The rate is at most the scale times the highest visibility twice: only lanes whose draw is below
        # that can clash.
        lanes = find(active & (draws["clash"][r] < scale * most_visible * most_visible))
        if not lanes[0].size:
            continue
        form_x, form_y = model.form[x][lanes], model.form[y][lanes]
        side_x, side_y = side(model, x, lanes), side(model, y, lanes)
        engaged = (side_x >= 0) & (side_y >= 0) & (side_x != side_y) & (form_x >= DENIABLE) & (form_y >= DENIABLE)
        rate = per_lane(model, scale, lanes) * at(visibility, form_x, lanes) * at(visibility, form_y, lanes)
        clash = select(lanes, engaged & (per_lane(model, draws["clash"][r], lanes) < rate))
        if not clash[0].size:
            continue
        model.outside_war[clash] = True
        clash = mask(model, clash)
        model.reach_one(x, 11, clash)
        model.reach_one(y, 11, clash)
    if not model.outside_pairs:
        return
    # Only powers that fought today in some lane, on a front both have forces on in some lane, can meet.
    fought = model.fought_today.reshape(model.actor_count, -1).any(axis=1)
    fronts_of = fronts.front_rows(model)
    for x, y in model.outside_pairs:
        common = sorted(set(fronts_of[x]) & set(fronts_of[y]))
        if not (fought[x] and fought[y] and common):
            continue
        facing = np.zeros(model.lane_shape, dtype=bool)
        for f in common:
            facing |= (model.share[x, f] > 0) & (model.share[y, f] > 0)
        fighting = (active & model.fought_today[x] & model.fought_today[y] & (model.camp[x] != model.camp[y])
                    & facing)
        if fighting.any():
            model.outside_war |= fighting
            model.reach_one(x, 11, fighting)
            model.reach_one(y, 11, fighting)
