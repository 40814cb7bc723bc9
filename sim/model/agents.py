"""The actors of a crisis, each a Mesa agent whose state is an array over lanes.

A lane is one replication of the crisis; every array here has the model's lane shape
``(points, replications)`` and every parameter broadcasts against it (shape ``(points, 1)``).
Each method is one decision of one actor, written once for all lanes.
"""

from __future__ import annotations

import mesa
import numpy as np

from sim.model.params import BASELINE_RUNG, CAP_RUNG, TieStructure

Array = np.ndarray

# A backer's own ladder skips the belligerents' rungs (3-6): from posturing (2) the next step is
# an indirect combat role (7), then open entry (8), then war with another backer (9).
BACKER_NEXT_RUNG = np.array([1, 2, 7, 7, 7, 7, 7, 8, 9, 9], dtype=np.int8)


class Belligerent(mesa.Agent):
    """A party to the war: it fights and tires, keeps or breaks truces, answers violations.

    Attributes:
        resolve: will to fight; the belligerent capitulates when it falls to the threshold.
        casualties: deaths suffered so far.
        grievance: violations suffered and not answered during the current truce.
        struck_today: whether its recognised territory was struck today.
    """

    def __init__(self, model: mesa.Model, actor_id: str, side: int, params: dict[str, Array]) -> None:
        super().__init__(model)
        self.actor_id = actor_id
        self.side = side
        for name, value in params.items():
            setattr(self, name, value[side])
        shape = model.lane_shape
        self.initial_resolve = self.resolve
        self.initial_held = self.contested_territory
        self.weariness = np.zeros(shape)
        self.resolve = np.broadcast_to(self.resolve, shape).copy()
        self.casualties = np.zeros(shape)
        self.grievance = np.zeros(shape)
        self.struck_today = np.zeros(shape, dtype=bool)
        self.rung = np.zeros(shape, dtype=np.int8)
        self.highest_rung = np.zeros(shape, dtype=np.int8)
        self.backing = np.zeros_like(self.strength)

    def distress(self, momentum: Array, capitulation_resolve: Array) -> Array:
        """How badly the war goes for it, 0 to 1: lost resolve or momentum against it."""
        span = np.maximum(self.initial_resolve - capitulation_resolve, 1e-9)
        lost = (self.initial_resolve - self.resolve) / span
        return np.clip(np.maximum(lost, -momentum), 0.0, 1.0)

    def pressing(self, momentum: Array, held: Array) -> Array:
        """Momentum it still acts on: none once it holds the ground it fights for (a war aim
        below 1; the default 1.0, everything, never stops it)."""
        satisfied = (self.war_aim < 1.0) & (held >= self.war_aim)
        return np.where(satisfied, 0.0, np.maximum(momentum, 0.0))

    def violation_hazard(self, pressing: Array, design_factor: Array, bias_against: Array,
                         dynamics: dict[str, Array]) -> Array:
        """Daily probability of deliberately breaking the truce in force.

        Momentum tempts a side that has not yet won what it fights for; strong backing emboldens
        (Snyder 1984); a monitored or peacekept truce deters; a truce brokered by a mediator
        biased against it is trusted less.
        """
        hazard = (1.0 - self.truce_compliance) * design_factor
        hazard = hazard * (1.0 + dynamics["momentum_truce_breaking"] * pressing)
        hazard = hazard * (1.0 + dynamics["emboldening"] * self.backing) * (1.0 + bias_against)
        return np.minimum(hazard, 1.0)

    def answers(self, perceived: Array, draw: Array, spiral_gain: Array) -> Array:
        """Whether it answers a perceived violation by fire; each unanswered one makes it likelier."""
        propensity = np.minimum(self.retaliation_propensity * (1.0 + spiral_gain * self.grievance), 1.0)
        return perceived & (draw < propensity)

    def combat_power(self, support: Array) -> Array:
        """Strength, scaled by resolve (never below zero) and multiplied by what backers add."""
        return self.strength * np.maximum(self.resolve, 0.0) * (1.0 + support)

    def strikes_deep(self, fighting: Array, momentum: Array, capitulation_resolve: Array,
                     draw: Array) -> Array:
        """Whether it strikes the opponent's recognised territory today; desperation adds."""
        distress = self.distress(momentum, capitulation_resolve)
        return fighting & (draw < np.minimum(self.deep_strike_propensity * (1.0 + distress), 1.0))

    def absorb_losses(self, deaths: Array, held: Array, fighting: Array) -> None:
        """War weariness: days of fighting and deaths wear its resolve down; ground lost since
        the start (net, so a front that sways without moving costs nothing) weighs on it too."""
        self.casualties += deaths
        self.weariness += np.where(fighting, self.war_weariness + self.casualty_sensitivity * deaths / 1000.0, 0.0)
        ground_lost = np.maximum(self.initial_held - held, 0.0)
        self.resolve = self.initial_resolve - self.weariness - self.territory_sensitivity * ground_lost

    def reach(self, rung: int, where: Array) -> None:
        """Stand on ``rung`` today where ``where`` holds, if that is higher than today's rung."""
        np.maximum(self.rung, np.where(where, np.int8(rung), np.int8(0)), out=self.rung)


class Backer(mesa.Agent):
    """An outside power tied to one or both belligerents, climbing its own ladder.

    Each tie is honoured in a lane with its reliability (drawn once per crisis: abandonment or
    not). When a willing tie's trigger is met (an event inside its scope, weighted by the client's
    distress; a strike on the client's own territory counts in full), the backer climbs one rung
    with probability ``escalation_rate`` times the trigger's weight.

    Attributes:
        rung: its current rung (0, 1, 2, 7, 8 or 9).
        side: the side its combat role (rung 7 and above) supports, -1 before it has one.
    """

    def __init__(self, model: mesa.Model, actor_id: str, index: int, params: dict[str, Array],
                 ties: list[tuple[TieStructure, dict[str, Array]]], willing_draws: Array) -> None:
        super().__init__(model)
        self.actor_id = actor_id
        self.index = index
        for name, value in params.items():
            setattr(self, name, value[index])
        shape = model.lane_shape
        self.ties = ties
        self.willing = [draw < tie["reliability"] for (_, tie), draw in zip(ties, willing_draws, strict=True)]
        self.rung = np.zeros(shape, dtype=np.int8)
        self.highest_rung = np.zeros(shape, dtype=np.int8)
        self.side = np.full(shape, -1, dtype=np.int8)
        self.incidents = np.zeros(shape, dtype=np.int32)
        weights = [tie["strength"] * tie["reliability"] for _, tie in ties]
        sides = [structure.client_side for structure, _ in ties]
        # Where an incident pushes it: towards the client it is most committed to.
        # per point (a sweep may vary the ties), never averaged across points
        self.lean = (np.asarray(sides, dtype=np.int8)[np.argmax(np.stack(weights), axis=0)] if ties
                     else np.zeros_like(self.exposure, dtype=np.int8))

    def mobilise(self, war_fought: Array) -> None:
        """Once the war is fought, each willing tie puts it on its kind's baseline rung (proxies: 7)."""
        for (structure, _), willing in zip(self.ties, self.willing, strict=True):
            baseline = BASELINE_RUNG[structure.kind]
            lift = war_fought & willing & (self.rung < baseline)
            if baseline >= 7:
                self.side = np.where(lift, np.int8(structure.client_side), self.side)
            self.rung = np.where(lift, np.int8(baseline), self.rung)

    def trigger(self, structure: TieStructure, tie: dict[str, Array], client: Belligerent,
                fighting: Array, distress: Array) -> Array:
        """How strongly a tie's trigger is met today, 0 to 1 (scope decides which events count)."""
        strike = client.struck_today
        in_scope = strike | ((tie["anywhere"] > 0) & fighting)
        return np.where(in_scope, np.maximum(distress, strike.astype(float)), 0.0)

    def decide(self, triggers: list[Array], draw: Array, active: Array) -> Array:
        """Climb one rung where the strongest eligible tie's trigger, times its rate, says so."""
        if not self.ties:
            return np.zeros(self.rung.shape, dtype=bool)
        weight = np.full(self.rung.shape, -np.inf)
        side = np.zeros(self.rung.shape, dtype=np.int8)
        for (structure, tie), willing, trigger in zip(self.ties, self.willing, triggers, strict=True):
            eligible = willing & (self.rung < CAP_RUNG[structure.kind])
            candidate = np.where(eligible, trigger * tie["strength"], 0.0)
            better = candidate > weight  # strictly: the first of equal ties wins
            weight = np.where(better, candidate, weight)
            side = np.where(better, np.int8(structure.client_side), side)
        climbs = active & (draw < self.escalation_rate * weight)
        new_rung = BACKER_NEXT_RUNG[self.rung]
        self.side = np.where(climbs & (new_rung >= 7), side, self.side)
        self.rung = np.where(climbs, new_rung, self.rung)
        return climbs

    def suffer_incident(self, fighting: Array, hit_draw: Array, absorb_draw: Array) -> Array:
        """Fire hits its assets; unless absorbed, it climbs a rung towards its closest client."""
        hit = fighting & (hit_draw < self.exposure)
        escalates = hit & (absorb_draw >= self.incident_absorption) & (self.rung < 8)
        self.incidents += hit
        new_rung = BACKER_NEXT_RUNG[self.rung]
        self.side = np.where(escalates & (new_rung >= 7), self.lean, self.side)
        self.rung = np.where(escalates, new_rung, self.rung)
        return escalates

    def support_for(self, side: int) -> Array:
        """Combat power it adds to ``side``: indirect at rung 7, open intervention from 8."""
        on_side = self.side == side
        return np.where(on_side & (self.rung >= 8), self.intervention_power,
                        np.where(on_side & (self.rung == 7), self.indirect_support, 0.0))


class Mediator(mesa.Agent):
    """An outside party that tries to broker a truce while fighting goes on."""

    def __init__(self, model: mesa.Model, actor_id: str, index: int, params: dict[str, Array]) -> None:
        super().__init__(model)
        self.actor_id = actor_id
        self.index = index
        self.attempt_rate = params["attempt_rate"][index]
        self.design = params["design"][index]
        self.leverage = params["leverage"][index]
        self.bias_against = params["bias_against"][index]

    def brokers(self, pressing: tuple[Array, Array], fatality_factor: Array, refusal: Array,
                draw: Array) -> Array:
        """Whether an attempt today ends in a truce: both parties must accept.

        A party accepts with the mediator's leverage over it, less the more momentum it still
        presses (see ``Belligerent.pressing``); any success falls as the dead mount (Bercovitch 1996).
        """
        accept = np.ones_like(fatality_factor)
        for side in (0, 1):
            accept = accept * self.leverage[side] * (1.0 - refusal * pressing[side])
        return draw < self.attempt_rate * accept * fatality_factor
