"""How wars end: halts once an aim is held, settlements in a hurting stalemate, and the coding of how
each run's war ended. docs/MODEL.md section 7.8.

A camp whose parties all hold their war aims (ground, or the days of a punitive operation) stops
and offers a halt; the other camps follow it if they hold their own aims or are losing. A war
whose fronts no longer move while every camp is hurting is ripe (Zartman 1989): the parties may
agree a halt by themselves. Capitulation and withdrawal to the start line are decided on the fronts
(:func:`sim.model.fronts.leave_the_war`); brokered and imposed halts by mediators
(:func:`sim.model.truces.mediate`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model.lanes import Lanes, find, per_lane, rows_at, select
from sim.model.truces import BROKERED, IMPOSED, SETTLEMENT, UNILATERAL, hurting, per_camp_any, war_open, war_wide

if TYPE_CHECKING:
    from sim.model.model import EscalationModel

Array = np.ndarray

#: How a run's war ended, as the case library codes it (scenarios/cases/README.md).
ENDINGS = ("ongoing", "capitulation", "withdrawal", "negotiated_halt", "imposed_halt", "unilateral_halt", "frozen")
ONGOING, CAPITULATION, WITHDRAWAL, NEGOTIATED, IMPOSED_HALT, UNILATERAL_HALT, FROZEN = range(len(ENDINGS))
#: What each ending counts, in words that name no other figure (an escalated run has an ending too).
ENDING_NAMES = {
    "ongoing": "not ended by the horizon",
    "capitulation": "capitulation",
    "withdrawal": "a camp withdrew to the start line",
    "negotiated_halt": "negotiated halt",
    "imposed_halt": "imposed halt",
    "unilateral_halt": "unilateral halt",
    "frozen": "frozen conflict",
}
#: The ending each kind of truce standing at the end stands for.
TRUCE_ENDING = {BROKERED: NEGOTIATED, IMPOSED: IMPOSED_HALT, UNILATERAL: UNILATERAL_HALT, SETTLEMENT: NEGOTIATED}
#: Endings under a truce standing at the end: each has a broker (or the parties themselves).
HALTS = (NEGOTIATED, IMPOSED_HALT, UNILATERAL_HALT, FROZEN)
#: A truce standing at the end under which fire was exchanged on at least this share of its days: a frozen conflict.
FROZEN_EXCHANGE_SHARE = 0.5


def _per_camp_all(model: EscalationModel, holds: Array, among: Array) -> Array:
    """(camps, lanes): whether ``holds`` is true of every actor in ``among`` of each camp (and there is one)."""
    return per_camp_any(model.camp, among, model.camp_count) & ~per_camp_any(model.camp, among & ~holds,
                                                                             model.camp_count)


def offer_halts(model: EscalationModel, draws: dict[str, Array], active: Array) -> None:
    """A camp whose parties all hold their aims stops and offers a halt, from tomorrow. Where every other camp
    holds its aims too, nothing is left to fight for and the halt is followed at once (Blainey 1973, Fearon
    1995: a war goes on only while the sides disagree). Elsewhere the other camps follow with
    ``halt_acceptance`` a day, each camp as one (its actors weighted by the power they bring), an actor
    willing if it holds its own aim, or else as far as the war goes badly for it (its distress; an insurgent
    never for that): a side short of its aims and not hurting answers the halt. A halt not followed leaves
    the war going on."""
    open_lanes = war_open(model, active)
    if not open_lanes.any():
        return
    d = model.dynamics
    # The parties with aims: those at war on day 0, and entrants with aims of their own (the others follow their camp).
    parties = (model.camp >= 0) & (model.day0_party | model.own_aim)
    held = model.aim_held_now     # as the fronts' survey of today found it (no one has joined since)
    content = _per_camp_all(model, held, parties)
    offering = content.any(axis=0) & open_lanes
    if not offering.any():
        return
    # Where every camp at war holds its aims, no one has anything left to fight for: the halt is followed at once.
    at_war = per_camp_any(model.camp, parties, model.camp_count)
    satisfied = offering & (content | ~at_war).all(axis=0)
    if satisfied.any():
        _halt_by_the_parties(model, find(satisfied), np.ones(int(satisfied.sum()), dtype=bool), UNILATERAL)
        offering &= ~satisfied
    # Elsewhere only the lanes whose draw falls below the acceptance rate can follow (consent is at most 1).
    candidates = offering & (draws["halt"] < d["halt_acceptance"] * (1.0 + 1e-9))
    if not candidates.any():
        return
    lanes = find(candidates)
    every_actor = model.every_actor
    in_offering_camp = rows_at(model.own_camp(content), every_actor, lanes) & rows_at(model.camp >= 0, every_actor,
                                                                                       lanes)
    # An actor follows a halt if it holds its own aim, or as far as the war is going badly for it; an
    # insurgent only if it holds its aim (7.8.8: stopping when its enemy stops would concede the war).
    willing = np.where(rows_at(held, every_actor, lanes), 1.0, hurting(model, lanes))
    follow = model.camp_consent(np.where(in_offering_camp, 1.0, willing), lanes)
    succeeded = per_lane(model, draws["halt"], lanes) < per_lane(model, d["halt_acceptance"], lanes) * follow
    _halt_by_the_parties(model, lanes, succeeded, UNILATERAL)


def end_raids(model: EscalationModel, active: Array) -> None:
    """An outside power that entered for a punitive operation of its own leaves the war once it has fought its
    days: it has done what it came to do (7.8.1). It withdraws to posturing and does not come back."""
    operation = model.params.party["operation_days"]
    for a in model.raiders:
        done = active & (model.camp[a] >= 0) & model.own_aim[a] & (model.days_fought[a] >= operation[a])
        if done.any():
            lanes = find(done)
            where = np.zeros((model.actor_count, lanes[0].size), dtype=bool)
            where[a] = True
            model.leave(where, lanes)


def ripeness(model: EscalationModel, lanes: Lanes | None = None) -> Array:
    """(lanes): how ripe the war is for a settlement, 0 to 1: how still the fronts fought on are (the
    fastest-moving one counts), times how badly the least hurting camp is hurting (its most
    distressed party). With ``lanes`` (as ``np.nonzero`` gives them): at those lanes only."""
    d = model.dynamics
    opened, momentum, camp, distress = model.front_opened, model.front_momentum, model.camp, model.distress
    stalemate = np.broadcast_to(d["stalemate_momentum"], model.lane_shape)
    if lanes is not None:
        fronts, actors = np.arange(model.fronts), model.every_actor
        opened, momentum = rows_at(opened, fronts, lanes), rows_at(momentum, fronts, lanes)
        camp, distress = rows_at(camp, actors, lanes), rows_at(distress, actors, lanes)
        stalemate = per_lane(model, d["stalemate_momentum"], lanes)
    moving = np.where(opened, np.abs(momentum), 0.0).max(axis=0)
    still = np.clip(1.0 - moving / np.maximum(stalemate, 1e-9), 0.0, 1.0)
    at_war = camp >= 0
    hurt = np.stack([np.where(at_war & (camp == c), distress, -1.0).max(axis=0) for c in range(model.camp_count)])
    least = np.where(hurt >= 0, hurt, np.inf).min(axis=0)
    return still * np.where(np.isfinite(least), least, 0.0)


def settle(model: EscalationModel, draws: dict[str, Array], active: Array) -> None:
    """In a mutually hurting stalemate the parties agree a halt by themselves, from tomorrow, with
    ``settlement_rate`` a day at full ripeness."""
    open_lanes = war_open(model, active)
    rate = model.dynamics["settlement_rate"]
    # Ripeness is at most 1: only the lanes whose draw falls below the rate can settle.
    candidates = open_lanes & (draws["settle"] < rate * (1.0 + 1e-9))
    if not candidates.any():
        return
    lanes = find(candidates)
    succeeded = per_lane(model, draws["settle"], lanes) < per_lane(model, rate, lanes) * ripeness(model, lanes)
    _halt_by_the_parties(model, lanes, succeeded, SETTLEMENT)


def _halt_by_the_parties(model: EscalationModel, lanes: Lanes, succeeded: Array, kind: int) -> None:
    """A bare, open-ended truce of ``kind`` that the parties made themselves (no broker) starts tomorrow in
    the ``lanes`` where ``succeeded``."""
    model.start_truce(select(lanes, succeeded), model.day + 1, -1, 0, kind, 0)


def ending(model: EscalationModel) -> Array:
    """(lanes): how each lane's war ended, as of today (codes of :data:`ENDINGS`)."""
    result = np.full(model.lane_shape, ONGOING, dtype=np.int8)
    standing = war_wide(model)      # a local truce standing at the end leaves the war going on elsewhere
    for kind, code in TRUCE_ENDING.items():
        result = np.where(standing & (model.truce_kind == kind), code, result)
    days = np.maximum(model.day + 1 - model.truce_start, 1)
    frozen = standing & (model.truce_exchange_days > 0) \
        & (model.truce_exchange_days >= FROZEN_EXCHANGE_SHARE * days)
    result = np.where(frozen, FROZEN, result)
    result = np.where(model.withdrew, WITHDRAWAL, result)
    return np.where(model.winner >= 0, CAPITULATION, result).astype(np.int8)
