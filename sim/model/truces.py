"""Truces: scheduled truces and fixed-term pauses, conduct under a truce (violations, noisy
attribution, spiral retaliation, tolerance) and mediation with leverage, patrons' pressure and
coercion. docs/MODEL.md sections 7.1, 7.2 and 7.4.

A truce binds every party at war in a lane, or, a local truce (7.1), the parties with forces on the fronts it
covers, which it quiets while the war goes on elsewhere. Each party may violate it on purpose (less so when a
patron restrains it); each party perceives the violations of the parties of other camps, and some
that never happened (attribution noise). Every perceived violation feeds the victim's grievance.
An exchange of fire (an answered violation) breaks the truce if it answers an offensive (a
violation by a party still pressing for ground) or if the truce does not absorb it (its design's
tolerance); a truce also breaks when a party's grievance reaches the limit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model.lanes import Lanes, at, drawn, find, gather, own_camp, per_lane, put, put_rows, rows_at, select

if TYPE_CHECKING:
    from sim.model.model import EscalationModel

Array = np.ndarray


#: Kinds of truce: brokered by a mediator, imposed on a side still pressing, a unilateral halt the
#: other side followed, a settlement the parties reached by themselves.
TRUCE_KINDS = ("brokered", "imposed", "unilateral", "settlement")
BROKERED, IMPOSED, UNILATERAL, SETTLEMENT = range(len(TRUCE_KINDS))


def expire(model: EscalationModel, active: Array) -> None:
    """A fixed-term pause ends, unbroken, when its term is over: fighting resumes today."""
    over = active & model.truce_in_force & (model.truce_term > 0) & (model.day >= model.truce_start + model.truce_term)
    model.end_truce(find(over), broken=False, end_day=model.day)


def war_wide(model: EscalationModel) -> Array:
    """(lanes): where a truce of the whole war is in force (not a local truce, 7.1)."""
    if not model.local_truces:
        return model.truce_in_force
    return model.truce_in_force & (model.truce_scope < 0)


def _coverage(model: EscalationModel) -> Array:
    """(scheduled truces + 1, fronts): the fronts each truce scope covers; the last row (scope -1) is the whole war."""
    return np.vstack([model.params.structure.truce_fronts, np.ones(model.fronts, dtype=bool)])


def _strikes_only(model: EscalationModel) -> Array:
    """(scheduled truces + 1,): whether each truce scope is a truce of strikes; the last (scope -1) is not."""
    return np.append(model.params.structure.truce_strikes, False)


def quiet_strikes(model: EscalationModel) -> Array:
    """(lanes): where a truce of deep strikes only is in force (its fronts fight on, 7.1)."""
    return _strikes_only(model)[model.truce_scope] & model.truce_in_force


def quiet_fronts(model: EscalationModel) -> Array:
    """(fronts, lanes): the fronts a local truce in force covers; only the local truces' scenarios call it."""
    return np.moveaxis(_coverage(model)[model.truce_scope], -1, 0) & model.truce_in_force


def bound(model: EscalationModel, lanes: Lanes) -> Array:
    """(A, lanes): the actors a truce in force binds at ``lanes``: every actor, under a truce of the whole war or
    of strikes; under a local truce, those with forces on a front it covers."""
    everyone = np.ones((model.actor_count, lanes[0].size), dtype=bool)
    if not model.local_truces:
        return everyone
    scope = gather(model.truce_scope, lanes)
    covered = _coverage(model)[scope].T                  # (F, lanes)
    every_actor = model.every_actor
    on_covered = np.stack([(rows_at(model.share[:, f], every_actor, lanes) > 0) & covered[f]
                           for f in range(model.fronts)]).any(axis=0)
    return on_covered | (_strikes_only(model)[scope] & everyone)


def war_open(model: EscalationModel, active: Array) -> Array:
    """(lanes): where the war is being fought today and no truce of the whole war or result has come yet: the
    lanes a brokered truce, a halt or a settlement can still end (a local truce does not stop them)."""
    return active & model.fighting_today & ~war_wide(model) & (model.winner < 0) & ~model.decided


def start_scheduled(model: EscalationModel, active: Array) -> None:
    """A truce agreed for today takes effect wherever the war is still being fought."""
    params = model.params
    for index, broker in enumerate(params.truce_brokers):
        if not np.any(params.truce_days[index] == model.day):
            continue
        local = bool(params.structure.truce_local[index])
        due = find(active & ~war_wide(model) & (params.truce_days[index] == model.day))
        if due[0].size:
            model.start_truce(due, model.day, broker, per_lane(model, params.truce_designs[index], due), BROKERED,
                              per_lane(model, params.truce_terms[index], due), index if local else -1, agreed=False)


def per_camp_any(camp: Array, mask: Array, camps: int) -> Array:
    """(camps, lanes): whether ``mask`` holds for any actor of each camp (``camp``: each actor's camp)."""
    return np.stack([(mask & (camp == c)).any(axis=0) for c in range(camps)])


def _by_other_camps(camp: Array, mask: Array, camps: int) -> Array:
    """(A, lanes): whether ``mask`` holds for an actor in a camp other than each actor's own."""
    per_camp = per_camp_any(camp, mask, camps)
    total = per_camp.sum(axis=0)
    own = own_camp(camp, per_camp)
    return (total - np.where(camp >= 0, own, 0)) > 0


def temptation(pressing: Array, agreed: Array, binding: Array | float) -> Array:
    """The momentum that tempts a party to break the truce in force (7.2): what it presses today (``pressing``),
    less the share ``binding`` (``dynamics.agreement_binding``) of what it pressed on the day it agreed the truce
    (``agreed``; 0 under a scheduled truce, agreed on its day whatever the lane's war), which its agreement
    already weighed (Werner 1999: terms break when the balance moves from the one they reflect)."""
    return np.maximum(pressing - binding * agreed, 0.0)


def bound_and_tempted(model: EscalationModel, lanes: Lanes) -> tuple[Array, Array]:
    """(A, lanes) each, at ``lanes`` under a truce in force: whether each actor is at war and bound by the truce,
    and the momentum that tempts it to break it (:func:`temptation`)."""
    camp = rows_at(model.camp, model.every_actor, lanes)
    tempting = temptation(rows_at(model.pressing_now, model.every_actor, lanes),
                          rows_at(model.agreed_pressing, model.every_actor, lanes),
                          per_lane(model, model.dynamics["agreement_binding"], lanes))
    return (camp >= 0) & bound(model, lanes), tempting


def conduct(model: EscalationModel, draws: dict[str, Array], active: Array) -> None:
    """Violations, noisy attribution, spiral retaliation and the truce's tolerance, under a truce in force.
    Worked out in the lanes under a truce only."""
    lanes = find(active & model.truce_in_force)
    if not lanes[0].size:
        return
    d = model.dynamics
    party = model.params.party
    every_actor = model.every_actor

    def rows(stack: Array) -> Array:
        return rows_at(stack, every_actor, lanes)

    def lane(value: Array) -> Array:
        return per_lane(model, value, lanes)

    design = gather(model.truce_design, lanes)
    ones = np.ones_like(d["monitored_violation_factor"])
    design_factor = at(np.stack([ones, d["monitored_violation_factor"], d["peacekept_violation_factor"]]), design,
                       lanes)
    # A truce that lasts consolidates: deliberate violations and false alarms halve every half-life.
    lasted = np.maximum(model.day - gather(model.truce_start, lanes), 0)
    consolidation = np.exp2(-lasted / lane(d["consolidation_half_life"]))
    noise_factor = at(np.stack([ones, d["monitored_noise_factor"], d["peacekept_noise_factor"]]), design, lanes)
    noise_factor = noise_factor * consolidation
    tolerance = at(np.stack([d["bare_tolerance"], d["monitored_tolerance"], d["peacekept_tolerance"]]), design, lanes)
    broker = gather(model.truce_broker, lanes)
    bias = np.zeros((model.actor_count, lanes[0].size))
    for m in range(len(model.params.structure.mediator_ids)):
        bias = np.where(broker == m, rows(model.params.mediator["bias_against"][m]), bias)
    camp = rows(model.camp)
    at_war, pressing = bound_and_tempted(model, lanes)
    hazard = (1.0 - rows(party["truce_compliance"])) * design_factor * (1.0 - rows(model.pressure)) * consolidation
    hazard = hazard * (1.0 + lane(d["momentum_truce_breaking"]) * pressing)
    hazard = np.minimum(hazard * (1.0 + lane(d["emboldening"]) * rows(model.backing)) * (1.0 + bias), 1.0)
    violated = at_war & (drawn(draws["violate"], lanes) < hazard)
    offensive = (violated & (pressing > 0)).any(axis=0)
    false_alarm = drawn(draws["false_alarm"], lanes) < lane(d["attribution_noise"]) * noise_factor
    perceived = at_war & (_by_other_camps(camp, violated, model.camp_count) | false_alarm)
    grievance = rows(model.grievance)
    propensity = np.minimum(rows(party["retaliation_propensity"]) * (1.0 + lane(d["spiral_gain"]) * grievance), 1.0)
    answers = perceived & (drawn(draws["retaliate"], lanes) < propensity)
    grievance = grievance + perceived
    put_rows(model.grievance, lanes, grievance)
    model.reach_at(3, violated | answers, lanes)
    exchange = answers.any(axis=0)
    collapse = exchange & (offensive | (drawn(draws["tolerate"], lanes) >= tolerance))
    collapse |= (at_war & (grievance >= lane(d["grievance_limit"]))).any(axis=0)
    put(model.truce_exchange_days, lanes, gather(model.truce_exchange_days, lanes) + (exchange & ~collapse))
    model.end_truce(select(lanes, collapse), broken=True, end_day=model.day)


def hurting(model: EscalationModel, lanes: Lanes) -> Array:
    """(A, len(lanes)): how badly the war goes for each actor (its distress, 0 to 1: resolve lost or momentum
    against it), as far as that makes it want the fighting stopped: an insurgent never for that (7.8.8: stopping
    because it is beaten would concede the war)."""
    every_actor = model.every_actor
    return rows_at(model.distress, every_actor, lanes) * (1.0 - rows_at(model.params.party["insurgent"], every_actor,
                                                                         lanes))


def mediate(model: EscalationModel, draws: dict[str, Array], active: Array) -> None:
    """While fighting goes on, mediators try to broker a truce that starts tomorrow.

    Every camp at war must accept, as one: its actors' willingness weighted by the power they bring.
    An actor is willing with the mediator's leverage over it (an entrant the mediator has no leverage
    over adds no reluctance), less the more momentum it still presses (a coercive mediator overrides
    that refusal), or because a patron of its presses it to, or because the war hurts it (its distress,
    :func:`hurting`: a losing side seeks the truce); any success falls as the dead mount (Bercovitch
    1996). A halt brought about on a side still pressing, by coercion or a patron's pressure, is an
    imposed one.
    """
    open_lanes = war_open(model, active) & model.params.brokered_truces
    mediators = model.params.mediator
    if not open_lanes.any() or not len(model.params.structure.mediator_ids):
        return
    d = model.dynamics
    dead = model.casualties.sum(axis=0)
    fatality_factor = 1.0 - d["fatality_penalty"] * np.minimum(dead / 10_000.0, 1.0)
    every_actor = model.every_actor
    for m in range(len(model.params.structure.mediator_ids)):
        # Acceptance is at most 1: only the lanes whose draw falls below the attempt rate can succeed.
        attempt = mediators["attempt_rate"][m]
        candidates = open_lanes & (draws["mediate"][m] < attempt * fatality_factor * (1.0 + 1e-9))
        if not candidates.any():
            continue
        lanes = find(candidates)
        leverage = rows_at(np.nan_to_num(mediators["leverage"][m], nan=1.0), every_actor, lanes)
        coercion = mediators["coercion"][m]
        pressing = rows_at(model.pressing_now, every_actor, lanes)
        pressure = rows_at(model.pressure, every_actor, lanes)
        refusal = 1.0 - per_lane(model, d["momentum_mediation_refusal"], lanes) * pressing \
            * (1.0 - per_lane(model, coercion, lanes))
        # A party the war hurts seeks the truce whatever the mediator's hold on it (Zartman 2000, Werner & Yuen 2005).
        seeking = per_lane(model, d["distress_mediation_acceptance"], lanes) * hurting(model, lanes)
        willing = 1.0 - (1.0 - leverage * refusal) * (1.0 - pressure) * (1.0 - seeking)
        accept = model.camp_consent(willing, lanes)
        succeeded = per_lane(model, draws["mediate"][m], lanes) \
            < per_lane(model, attempt, lanes) * accept * per_lane(model, fatality_factor, lanes)
        if not succeeded.any():
            continue
        success = select(lanes, succeeded)
        # Imposed: some party at war still presses, and the mediator coerces or a patron presses.
        pressing_somewhere = (rows_at(model.camp, every_actor, success) >= 0) & (pressing[:, succeeded] > 0)
        imposed = (pressing_somewhere & ((per_lane(model, coercion, success) > 0) | (pressure[:, succeeded] > 0))
                   ).any(axis=0)
        model.start_truce(success, model.day + 1, m, per_lane(model, mediators["design"][m], success),
                          np.where(imposed, IMPOSED, BROKERED), per_lane(model, mediators["term_days"][m], success))
        open_lanes[success] = False
