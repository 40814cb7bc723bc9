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

from sim.model.params import DENIABLE, INDIRECT, LIMITED, OPEN, POSTURING

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
    for c in range(len(s.commitment_ids)):
        actor, baseline = s.committed[c], s.baseline[c]
        lift = newly & model.willing[c] & (model.form[actor] < baseline) & ~model.left[actor]
        model.form[actor] = np.where(lift, baseline, model.form[actor])
        if baseline >= DENIABLE:
            model.client[actor] = np.where(lift, s.protected[c], model.client[actor])
    model.mobilised |= newly


def triggers(model: EscalationModel) -> Array:
    """(C, lanes): how strongly each commitment's trigger is met today, 0 to 1."""
    s = model.params.structure
    d = model.dynamics
    protected = s.protected
    struck = model.struck[protected]
    hit = model.hit[protected]
    distress = model.distress[protected]
    at_war = model.camp[protected] >= 0
    forces = np.maximum(np.maximum(struck, hit), np.where(model.fought_today[protected], distress, 0.0))
    defeat = at_war & (distress >= d["defeat_likely_distress"])
    against = _entrant_against(model)[protected]
    choices = (struck.astype(float), forces, defeat.astype(float), against.astype(float),
               np.maximum(np.maximum(forces, defeat), against))
    weight = np.choose(np.broadcast_to(model.params.commitment["trigger"].astype(np.intp), struck.shape), choices)
    # A declared rival in combat against the protected actor's camp pulls, whatever the trigger.
    intensity = model.params.rivalry_intensity
    for r, pair in enumerate(s.rivalry_pairs):
        for me, rival in (pair, pair[::-1]):
            mine = s.committed == me
            if not mine.any():
                continue
            camp_to = model.camp[protected[mine]]
            engaged = (model.form[rival] >= LIMITED) & (model.camp[rival] >= 0)
            pull = np.where(engaged & (camp_to >= 0) & (camp_to != model.camp[rival]), intensity[r], 0.0)
            weight[mine] = np.maximum(weight[mine], pull)
    # Cross-pressure: commitments to actors in opposed camps restrain each other.
    for c, other in model.cross_pairs:
        camps = model.camp[protected[c]], model.camp[protected[other]]
        opposed = (camps[0] >= 0) & (camps[1] >= 0) & (camps[0] != camps[1])
        weight[c] = weight[c] * np.where(opposed, 1.0 - model.params.commitment["strength"][other], 1.0)
    return weight


def _entrant_against(model: EscalationModel) -> Array:
    """(A, lanes): an outside power is in combat in a camp other than the actor's own."""
    entrants = model.is_outside_row & (model.form >= LIMITED) & (model.camp >= 0) & ~model.day0_at_war
    per_camp = np.stack([(entrants & (model.camp == c)).sum(axis=0) for c in range(model.camp_count)])
    own = np.take_along_axis(per_camp, np.maximum(model.camp, 0).astype(np.intp), axis=0)
    return (model.camp >= 0) & (per_camp.sum(axis=0) - own > 0)


def decide(model: EscalationModel, draws: dict[str, Array], active: Array) -> None:
    """Each outside power weighs its commitments' triggers and may climb one form (or to the ceiling)."""
    if not len(model.params.structure.commitment_ids):
        return
    s = model.params.structure
    outside = model.params.outside
    ceiling = model.params.commitment["ceiling"].astype(np.int8)
    weight = triggers(model)
    eligible = model.willing & (model.form[s.committed] < ceiling) & ~model.left[s.committed]
    candidate = np.where(eligible, weight * model.params.commitment["strength"], 0.0)
    for a, own in model.commitments_of.items():
        options = candidate[own]
        best = np.argmax(options, axis=0)
        strongest = np.take_along_axis(options, best[None], axis=0)[0]
        climbs = active & (strongest > 0) & (draws["climb"][a] < outside["escalation_rate"][a] * strongest)
        if not climbs.any():
            continue
        chosen = own[best]
        top = np.take_along_axis(np.broadcast_to(ceiling[own], options.shape), best[None], axis=0)[0]
        jump = draws["ready"][a] < outside["readiness"][a]
        new_form = np.where(jump, top, np.minimum(model.form[a] + 1, top)).astype(np.int8)
        climb_to(model, a, climbs, new_form, s.protected[chosen], s.entry_front[chosen])


def climb_to(model: EscalationModel, a: int, where: Array, new_form: Array, protected: Array,
             front: Array) -> None:
    """Actor ``a`` takes ``new_form`` where ``where`` holds, for ``protected``; a combat form makes it
    a party of the protected actor's camp (or, for an actor at war on no front, of the camp opposing
    whoever attacked it), fighting from tomorrow."""
    helping = where & (new_form >= DENIABLE) & (new_form < LIMITED)
    model.client[a] = np.where(helping, protected, model.client[a])
    entering = where & (new_form >= LIMITED) & (model.camp[a] < 0)
    if entering.any():
        camp = np.take_along_axis(model.camp, protected[None].astype(np.intp), axis=0)[0]
        attacker = np.take_along_axis(model.attacker, protected[None].astype(np.intp), axis=0)[0]
        camp = np.where(camp >= 0, camp, opposing_camp(model, attacker))
        protected_front = np.take_along_axis(model.main_front, protected[None].astype(np.intp), axis=0)[0]
        front = np.where(front >= 0, front, protected_front)
        cannot = entering & (camp < 0)
        new_form = np.where(cannot, INDIRECT, new_form).astype(np.int8)
        entering &= ~cannot
        model.enter(a, entering, camp, front)
    model.form[a] = np.where(where, np.maximum(model.form[a], new_form), model.form[a])


def opposing_camp(model: EscalationModel, attacker: Array) -> Array:
    """(lanes): the camp on the other side of the attacker's main front (-1 where there is no attacker)."""
    safe = np.maximum(attacker, 0).astype(np.intp)
    camp = np.take_along_axis(model.camp, safe[None], axis=0)[0]
    front = np.take_along_axis(model.main_front, safe[None], axis=0)[0]
    sides = model.front_camps[np.maximum(front, 0)]          # (lanes..., 2)
    other = np.where(sides[..., 0] == camp, sides[..., 1], sides[..., 0])
    return np.where((attacker >= 0) & (camp >= 0) & (front >= 0), other, -1).astype(np.int8)


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
        if not answers.any():
            continue
        new_form = np.where(model.form[a] < POSTURING, model.form[a] + 1,
                            np.maximum(model.form[a] + 1, DENIABLE)).astype(np.int8)
        lean = np.broadcast_to(model.lean[a], model.form[a].shape)
        lean_camp = np.take_along_axis(model.camp, np.maximum(lean, 0)[None].astype(np.intp), axis=0)[0]
        against = opposing_camp(model, model.attacker[a])
        # Help the protected actor it leans to if that actor fights the attacker; else enter against it.
        protected = np.where((lean >= 0) & (lean_camp >= 0) & (lean_camp == against), lean, a)
        front = np.take_along_axis(model.main_front, model.attacker[a][None].astype(np.intp), axis=0)[0]
        if model.declared_front[a] >= 0:
            front = np.full_like(front, model.declared_front[a])
        _enter_against(model, a, answers, new_form, protected, against, front)


def _enter_against(model: EscalationModel, a: int, where: Array, new_form: Array, protected: Array,
                   camp: Array, front: Array) -> None:
    helping = where & (new_form >= DENIABLE) & (new_form < LIMITED) & (protected != a)
    model.client[a] = np.where(helping, protected, model.client[a])
    entering = where & (new_form >= LIMITED) & (model.camp[a] < 0) & (camp >= 0)
    if entering.any():
        model.enter(a, entering, camp, front)
    blocked = where & (new_form >= LIMITED) & (model.camp[a] < 0) & (camp < 0)
    model.form[a] = np.where(where & ~blocked, np.maximum(model.form[a], new_form), model.form[a])


def clashes(model: EscalationModel, draws: dict[str, Array], active: Array) -> None:
    """Outside powers fight each other: two in combat against each other on a shared front; or
    declared rivals involved on opposite sides coming to blows, at a rate that grows with how
    visible their involvement is (deniable presences rarely meet as open war)."""
    d = model.dynamics
    visibility = np.stack(np.broadcast_arrays(
        0.0, 0.0, 0.0, d["deniable_visibility"], d["indirect_visibility"], d["limited_visibility"], 1.0))
    side = np.where(model.camp >= 0, model.camp,
                    np.where(model.client >= 0,
                             np.take_along_axis(model.camp, np.maximum(model.client, 0).astype(np.intp), axis=0), -1))
    for r, (x, y) in enumerate(model.params.structure.rivalry_pairs):
        engaged = (active & (side[x] >= 0) & (side[y] >= 0) & (side[x] != side[y])
                   & (model.form[x] >= DENIABLE) & (model.form[y] >= DENIABLE))
        if not engaged.any():
            continue
        vis_x = np.take_along_axis(np.broadcast_to(visibility, (7, *model.form[x].shape)),
                                   model.form[x][None].astype(np.intp), axis=0)[0]
        vis_y = np.take_along_axis(np.broadcast_to(visibility, (7, *model.form[y].shape)),
                                   model.form[y][None].astype(np.intp), axis=0)[0]
        rate = d["backer_clash_rate"] * model.params.rivalry_intensity[r] * vis_x * vis_y
        clash = engaged & (draws["clash"][r] < rate)
        model.outside_war |= clash
        model.reach_one(x, 11, clash)
        model.reach_one(y, 11, clash)
    for x, y in model.outside_pairs:
        facing = ((model.share[x] > 0) & (model.share[y] > 0)).any(axis=0)
        fighting = (active & model.fought_today[x] & model.fought_today[y] & (model.camp[x] != model.camp[y])
                    & facing)
        model.outside_war |= fighting
        model.reach_one(x, 11, fighting)
        model.reach_one(y, 11, fighting)
