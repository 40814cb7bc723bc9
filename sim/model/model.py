"""The escalation model: the world, the daily schedule and the record of each lane.

One ``step()`` is one day for every lane at once. The phases run in a fixed order: scheduled
truces, truce conduct (violations, noisy attribution, spiral retaliation), fighting on every front
(attrition, the fronts, deep strikes, war weariness, leaving the war), mediation, incidents,
outside powers' decisions, clashes between outside powers, bookkeeping. A single run is a model
with one lane. docs/MODEL.md describes every rule in ODD form; the mechanisms live in
:mod:`sim.model.fronts`, :mod:`sim.model.truces` and :mod:`sim.model.commitments`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import mesa
import numpy as np

from sim.model import commitments, endings, fronts, truces
from sim.model.agents import Actor
from sim.model.lanes import Lanes, find, gather, own_camp, per_lane, put, put_rows, rows_at, select
from sim.model.params import DENIABLE, FORM_RUNG, LIMITED, POSTURING, Parameters, compile_scenarios
from sim.scenario.schema import Scenario

Array = np.ndarray

OUTCOMES = ("truce_holding", "war_ongoing", "decisive_victory", "regional_escalation", "outside_war", "withdrawal")
TRUCE_HOLDING, WAR_ONGOING, DECISIVE, REGIONAL, OUTSIDE_WAR, WITHDRAWAL = range(6)
#: What each outcome counts, in words that name no other figure: a run has one outcome, the first that
#: applies in :data:`OUTCOME_PRECEDENCE` (docs/MODEL.md 7.7).
OUTCOME_NAMES = {
    "outside_war": "outside powers fought each other",
    "regional_escalation": "escalated, no outside powers fighting each other",
    "decisive_victory": "decisive victory, not escalated",
    "withdrawal": "withdrawal to the start line, not escalated",
    "truce_holding": "truce holding at the end, not escalated",
    "war_ongoing": "fighting at the end, not escalated",
}
OUTCOME_PRECEDENCE = tuple(OUTCOME_NAMES)
UNDECIDED = -1
COMPACT_FROM = 512       # replications below which compacting finished lanes does not pay
#: Per-lane records that outlive a compacted lane (read by results()).
RECORDS = ("outcome", "escalation_day", "winner", "last_fighting_day", "fighting_days", "truces_brokered",
           "truces_broken", "ever_at_war", "control", "casualties", "highest_rung", "highest_form", "form_day",
           "combat_day", "incidents", "ended_by", "halt_broker")


class EscalationModel(mesa.Model):
    """A crisis played out day by day in ``replications`` lanes (per parameter point).

    Args:
        scenario: a :class:`Scenario`, a path to a scenario file, or compiled :class:`Parameters`
            (one or more points, as a sweep builds them).
        replications: lanes per point; 1 is a single run, as ``mesa.batch_run`` drives it.
        rng: seed, ``SeedSequence`` or ``Generator`` for every random draw of the model; or a sequence of
            generators, one per block of replications (``blocks``).
        record_series: collect the daily model-level series in ``datacollector`` (lane means).
        blocks: the replications of each block, when ``rng`` has one generator per block: the blocks are
            played side by side in one model, each drawing from its own generator exactly as a model of
            that block alone would (so a block's results do not depend on its neighbours), while the cost
            of a day's array operations is shared.
    """

    def __init__(self, scenario: Scenario | Parameters | str | Path, replications: int = 1,
                 rng: Any = None, record_series: bool = True, blocks: Sequence[int] | None = None) -> None:
        generators = list(rng) if blocks is not None else [rng]
        super().__init__(rng=generators[0])
        # What Mesa draws from a model's generator as it starts, it draws from each block's too.
        self.block_rngs = [self.rng, *(mesa.Model(rng=generator).rng for generator in generators[1:])]
        params = _as_parameters(scenario)
        self.params = params
        self.scenario_name = params.name
        self.replications = int(replications)
        self.blocks = [self.replications] if blocks is None else [int(size) for size in blocks]
        if sum(self.blocks) != self.replications or len(self.blocks) != len(self.block_rngs):
            raise ValueError("blocks must give the replications of each generator of rng and add up to replications")
        self.lane_shape = (params.points, self.replications)
        # The replications still played: finished ones are compacted away in ensemble chunks (see _compact).
        self.columns = np.arange(self.replications)
        self.archive: dict[str, Array] = {}
        self._index_lanes()
        self.day = 0
        self.dynamics = params.dynamics
        self._index_structure()
        self.layout = self._draw_layout()
        # Each front draws its noise from a stream of its own (children of the model's stream), so
        # that a front added to a scenario leaves every other draw as it was.
        self.front_rngs = [generator.spawn(self.fronts) for generator in self.block_rngs]
        # Draws of the mechanisms of war termination (tolerance, halts, settlements, stepping down) come from
        # a stream of their own too: switched off, they leave every other draw as it was.
        self.ending_rngs = [generator.spawn(1)[0] for generator in self.block_rngs]
        # Deterrence is decided once a crisis from a stream of its own (7.5.11): every other draw stays as it
        # was, and a faster or slower climb meets the same decision.
        self.deterrence_rngs = [generator.spawn(1)[0] for generator in self.block_rngs]
        # Honour at the news (7.5.12) draws from a stream of its own, drawn only where some point weighs news:
        # with dynamics.news_response 0 every point reads and draws exactly what it did before.
        self.news_rngs = [generator.spawn(1)[0] for generator in self.block_rngs]
        self.hearing = bool(np.any(np.asarray(self.dynamics["news_response"]) > 0))
        self._create_world()
        self._create_actors()
        self.record_series = record_series
        #: Drop finished replications from the arrays as the run goes (results unchanged; not for series).
        self.compact = not record_series and self.replications >= COMPACT_FROM
        # Series are recorded at the end of each day (row k = day k), so that mesa.batch_run,
        # which reads the row of its last step, sees the final day.
        self.datacollector = mesa.DataCollector(model_reporters=self._reporters())
        self.running = True

    # ---- building the world -------------------------------------------------------------

    def _index_lanes(self) -> None:
        points, width = self.lane_shape
        self._lane_offset = np.arange(points * width).reshape(self.lane_shape)       # for stacks over lanes
        self._point_offset = np.repeat(np.arange(points), width).reshape(self.lane_shape)

    def _index_structure(self) -> None:
        s = self.params.structure
        n = len(s.actor_ids)
        self.actor_count = n
        self.camp_count = len(s.camp_ids)
        self.fronts = len(s.front_ids)
        self.front_camps = s.front_camps
        self.every_actor = np.arange(n)
        self.outside_index = [a for a in range(n) if s.is_outside[a]]
        self.fighter_index = [a for a in range(n) if s.has_party[a] or s.is_outside[a]]
        propensity = self.params.party["deep_strike_propensity"]
        self.striker_index = [a for a in self.fighter_index if np.any(propensity[a] > 0)]
        territory = self.params.party["recognised_territory"]
        self.target_index = [a for a in self.fighter_index if np.any(territory[a] > 0)]
        self.exposed_index = sorted({a for a, _ in s.exposures if s.is_outside[a]})
        self.is_outside_row = s.is_outside[:, None, None]
        self.day0_at_war = (s.initial_camp >= 0)[:, None, None]
        self.day0_party = self.day0_at_war & s.has_party[:, None, None]
        # Actors that withdraw rather than capitulate: outside powers.
        self.withdraws = self.is_outside_row
        # Commitments whose ceiling is above their baseline can carry their committed actor further by
        # decision; the others act only through mobilisation, backing and cross-pressure.
        ceiling = self.params.commitment["ceiling"]
        self.climbable = np.array([c for c in range(len(s.committed)) if np.any(ceiling[c] > s.baseline[c])],
                                  dtype=np.int64)
        self.commitments_of = {a: np.flatnonzero(s.committed[self.climbable] == a) for a in self.outside_index
                               if np.any(s.committed[self.climbable] == a)}
        self.cross_pairs = [(i, o) for i, c in enumerate(self.climbable) for o in range(len(s.committed))
                            if c != o and s.committed[c] == s.committed[o]]
        # Each outside power's declared rivals, with the rivalry's row (deterrence, 7.5.11).
        self.rivals_of: dict[int, list[tuple[int, int]]] = {}
        for r, (x, y) in enumerate(s.rivalry_pairs):
            self.rivals_of.setdefault(x, []).append((y, r))
            self.rivals_of.setdefault(y, []).append((x, r))
        self.outside_pairs = [(x, y) for i, x in enumerate(self.outside_index) for y in self.outside_index[i + 1:]
                              if not (s.initial_camp[x] >= 0 and s.initial_camp[y] >= 0)]
        self.camp_first_front = np.array([
            next((f for f in range(self.fronts) if c in s.front_camps[f]), 0) for c in range(self.camp_count)
        ], dtype=np.int64)
        self.declared_front = s.declared_front
        self.suppliers = np.flatnonzero(np.any(self.params.commitment["deliveries"] > 0,
                                               axis=tuple(range(1, self.params.commitment["deliveries"].ndim))))
        self.steps_down = [a for a in self.outside_index if np.any(self.params.outside["step_down_rate"][a] > 0)]
        # How hard the patrons of each actor press it to halt: 1 - prod(1 - restraint) over its committed actors.
        free = np.ones((n, self.params.points, 1))
        for c in range(len(s.committed)):
            free[s.protected[c]] *= 1.0 - self.params.outside["restraint"][s.committed[c]]
        self.pressure = 1.0 - free
        # Regional escalation by an actor's form (escalated()): the lowest form at which each actor's
        # involvement counts, per point: an outside power not at war on day 0 going beyond its day-0
        # form to the definition's outside form, or any actor beyond its day-0 form to its own form.
        definition, beyond = self.params.definition, self.params.initial_form.astype(np.int16) + 1
        newcomer = self.is_outside_row & ~self.day0_at_war
        self.escalating_form = np.minimum(
            np.where(newcomer, np.maximum(beyond, definition["outside_form"]), 999),
            np.maximum(beyond, definition["actor_forms"])).astype(np.int16)
        self.new_parties_count = bool(np.any(definition["new_parties"] <= n))
        self.outside_war_counts = bool(np.any(definition["outside_powers_fight"]))

    def _draw_layout(self) -> dict[str, slice]:
        """Rows of the day's uniform draws, by purpose; the shape depends on the structure only, never on
        the state or on parameter values (common random numbers across sweep points).

        Purposes drawn per actor for some actors only (deep strikes for actors with a party profile,
        climbs for outside powers, absorption for exposed ones) are handed to the mechanisms as
        ``{actor: row}``; the others as arrays over all actors (or mediators, exposures, rivalries).
        """
        s = self.params.structure
        n = self.actor_count
        party_rows = [a for a in range(n) if s.has_party[a]]
        self.row_actors = {"deep_strike": party_rows, "strike_target": party_rows, "climb": self.outside_index,
                           "ready": self.outside_index, "absorb": self.exposed_index}
        counts = [("violate", n), ("false_alarm", n), ("retaliate", n), ("mediate", len(s.mediator_ids)),
                  ("incident", len(s.exposures)), ("clash", len(s.rivalry_pairs))]
        counts += [(name, len(actors)) for name, actors in self.row_actors.items()]
        layout, start = {}, 0
        for name, count in counts:
            layout[name] = slice(start, start + count)
            start += count
        self.uniform_rows = start
        return layout

    def _create_world(self) -> None:
        p = self.params
        s = p.structure
        shape = self.lane_shape
        actors = (self.actor_count, *shape)
        self.camp = np.broadcast_to(s.initial_camp[:, None, None], actors).astype(np.int8)
        self.form = np.broadcast_to(p.initial_form, actors).astype(np.int8)
        self.client = np.full(actors, -1, dtype=np.int16)
        self.main_front = np.broadcast_to(s.foe_front[:, None, None], actors).astype(np.int16)
        # The camp each actor at war fights on its main front (-1 if none): whom its fire hits.
        foe = [s.front_camps[f][1] if s.front_camps[f][0] == s.initial_camp[a] else s.front_camps[f][0]
               if f >= 0 and s.initial_camp[a] >= 0 else -1 for a, f in enumerate(s.foe_front)]
        self.foe_camp = np.broadcast_to(np.array(foe, dtype=np.int8)[:, None, None], actors).copy()
        self.share = np.broadcast_to(p.front_shares, (self.actor_count, self.fronts, *shape)).copy()
        self.fronts_present: list[list[int]] | None = None     # fronts.front_rows, kept until shares change
        self.signed_share = fronts.signed_share(self)
        self.initial_resolve = p.party["resolve"]
        self.resolve = np.broadcast_to(self.initial_resolve, actors).copy()
        self.weariness = np.zeros(actors)
        self.casualties = np.zeros(actors)
        self.grievance = np.zeros(actors)
        # The momentum each party pressed when it agreed the truce in force (7.2): 0 under a scheduled truce.
        self.agreed_pressing = np.zeros(actors)
        self.distress = np.zeros(actors)
        self.struck = np.zeros(actors, dtype=bool)
        self.hit = np.zeros(actors, dtype=bool)
        self.fought_today = np.zeros(actors, dtype=bool)
        self.days_fought = np.zeros(actors, dtype=np.int16)
        self.attacker = np.full(actors, -1, dtype=np.int16)
        self.left = np.zeros(actors, dtype=bool)
        self.deterred = np.zeros(actors, dtype=bool)    # turned back from combat by a rival's posture (7.5.11)
        self.ever_at_war = self.camp >= 0
        self.rung = np.zeros(actors, dtype=np.int8)
        self.highest_rung = np.zeros(actors, dtype=np.int8)
        self.highest_form = self.form.copy()
        self.form_day = np.where(self.form > 0, 0, -1).astype(np.int16)
        self.combat_day = np.where((self.form >= LIMITED) & (self.camp >= 0), 0, -1).astype(np.int16)
        self.incidents = np.zeros(actors, dtype=np.int32)
        # The highest each climbable commitment's trigger has reached this crisis: a rise above it is news (7.5.12);
        # kept only in a model that weighs news.
        self.trigger_high = np.zeros((len(self.climbable) if self.hearing else 0, *shape))
        self.willing = self._uniform(self.block_rngs, len(s.commitment_ids), np.float64)[:, None, :] \
            < p.commitment["reliability"]
        # Each outside power with declared rivals: one uniform a crisis against which deterrence is decided.
        self.deterrence_row = {a: row for row, a in enumerate(sorted(self.rivals_of))}
        draw = self._uniform(self.deterrence_rngs, len(self.deterrence_row), np.float64)[:, None, :]
        self.deterrence_draw = np.broadcast_to(draw, (len(self.deterrence_row), *shape)).copy()
        self.control = np.broadcast_to(p.front["control"], (self.fronts, *shape)).copy()
        self.front_memory = np.zeros((self.fronts, *shape))
        self.front_momentum = np.zeros((self.fronts, *shape))
        self.held_now = fronts.held(self)
        self.momentum_now = np.zeros(actors)
        self.pressing_now = np.zeros(actors)
        self.aim_held_now = np.zeros(actors, dtype=bool)
        # Days of answer that hold the aim of a party raided by a punitive operation (7.8.1), and whether any is.
        self.reprisal_days = fronts.reprisal_days(self)
        self.raided = bool(self.reprisal_days.any())
        # Whether any party's aim is the status quo: its start line (7.8.1).
        self.status_quo = bool(self.params.party["status_quo"].any())
        # Outside powers with aims of their own (7.8.1): their party profile sets a limited aim, a status-quo aim
        # or a punitive operation. Entered, they count in their camp's halt; a raider leaves once its raid is done.
        party = self.params.party
        own = (party["war_aim"] < 1) | (party["status_quo"] > 0) | (party["operation_days"] > 0)
        self.own_aim = self.is_outside_row & s.has_party[:, None, None] & ~self.day0_at_war & own
        self.raiders = [a for a in self.outside_index
                        if np.any(self.own_aim[a] & (party["operation_days"][a] > 0))]
        self.power_now = np.zeros(actors)
        self.held_at_entry = self.held_now.copy()
        # What each actor's camp held on day 0 (its start line; for an entrant, its camp's, set on entry).
        self.held_at_outbreak = self.held_now.copy()
        fronts.survey(self)
        self.camps_changed: set[int] = set()
        engaged = (p.party["strength"][:, None] * p.front_shares * self.day0_party[:, None]).sum(axis=0)
        self.engaged_at_start = engaged                          # (F, points, 1); 0 for a front opening later
        # Whether each front has been fought on (a front declared by its camps opens when both reach it).
        self.front_opened = np.broadcast_to(engaged > 0, (self.fronts, *shape)).copy()
        # What each actor believes its protectors would do for it: 1 - prod(1 - strength x reliability).
        unprotected = np.ones((self.actor_count, p.points, 1))
        for c, protected in enumerate(s.protected):
            unprotected[protected] *= 1.0 - p.commitment["strength"][c] * p.commitment["reliability"][c]
        self.backing = 1.0 - unprotected
        # Where an incident pushes an outside power: towards the actor it is most committed to (per point).
        self.lean = np.full((self.actor_count, p.points, 1), -1, dtype=np.int16)
        for a in self.outside_index:
            own = np.flatnonzero(s.committed == a)
            if own.size:
                weights = p.commitment["strength"][own] * p.commitment["reliability"][own]
                self.lean[a] = s.protected[own][np.argmax(weights, axis=0)]
        # An outside power involved deniably or indirectly on day 0 helps the actor it is most committed to.
        involved = (self.form >= DENIABLE) & (self.form < LIMITED)
        self.client = np.where(involved, self.lean, self.client).astype(np.int16)
        self.truce_in_force = np.broadcast_to(p.initial_truce, shape).copy()
        self.truce_start = np.zeros(shape, dtype=np.int32)
        self.truce_broker = np.full(shape, -1, dtype=np.int16)
        self.truce_design = np.zeros(shape, dtype=np.int8)
        self.truce_kind = np.zeros(shape, dtype=np.int8)
        self.truce_term = np.zeros(shape, dtype=np.int32)
        # The truce's scope: -1 the whole war, else the scheduled truce whose fronts it covers (a local truce).
        self.truce_scope = np.full(shape, -1, dtype=np.int16)
        self.local_truces = bool(s.truce_local.any())
        self.truce_exchange_days = np.zeros(shape, dtype=np.int32)
        self.truces_brokered = self.truce_in_force.astype(np.int32)
        self.truces_broken = np.zeros(shape, dtype=np.int32)
        self.fighting_today = np.zeros(shape, dtype=bool)
        self.war_fought = np.zeros(shape, dtype=bool)
        self.mobilised = np.zeros(shape, dtype=bool)
        self.fighting_days = np.zeros(shape, dtype=np.int32)
        self.last_fighting_day = np.full(shape, -1, dtype=np.int32)
        self.winner = np.full(shape, -1, dtype=np.int8)
        self.decided = np.zeros(shape, dtype=bool)
        self.withdrew = np.zeros(shape, dtype=bool)
        self.ended_by = np.full(shape, endings.ONGOING, dtype=np.int8)
        self.halt_broker = np.full(shape, -1, dtype=np.int16)
        self.outside_war = np.zeros(shape, dtype=bool)
        self.escalation_day = np.full(shape, -1, dtype=np.int32)
        self.outcome = np.full(shape, UNDECIDED, dtype=np.int8)
        self.finished = np.zeros(shape, dtype=bool)
        self.truce_log: list[tuple[Array, ...]] = []

    def _create_actors(self) -> None:
        """One agent per actor; an actor that only mediates has no row in the world's arrays."""
        s = self.params.structure
        mediators = set(s.mediator_ids)
        self.actors = [
            Actor(self, actor_id, index, has_party=bool(s.has_party[index]), is_outside=bool(s.is_outside[index]),
                  is_mediator=actor_id in mediators)
            for index, actor_id in enumerate(s.actor_ids)
        ]
        self.actors += [Actor(self, actor_id, -1, has_party=False, is_outside=False, is_mediator=True)
                        for actor_id in s.mediator_ids if actor_id not in s.actor_ids]

    def _reporters(self) -> dict[str, Any]:
        """The daily series (means over lanes) that the DataCollector records."""
        reporters: dict[str, Any] = {
            "at_war": lambda m: float(m.fighting_today.mean()),
            "truce_in_force": lambda m: float(m.truce_in_force.mean()),
            "regional_escalation": lambda m: float((m.escalation_day >= 0).mean()),
            "war_size": lambda m: float(m.ever_at_war.sum(axis=0).mean()),
        }
        for f, front_id in enumerate(self.params.structure.front_ids):
            reporters[f"control_{front_id}"] = lambda m, f=f: float(m.control[f].mean())
        for actor in self.actors:
            if actor.can_fight:
                reporters[f"casualties_{actor.actor_id}"] = lambda m, a=actor.index: float(m.casualties[a].mean())
                reporters[f"resolve_{actor.actor_id}"] = lambda m, a=actor.index: float(m.resolve[a].mean())
            if actor.is_outside:
                reporters[f"form_{actor.actor_id}"] = lambda m, a=actor.index: float(m.form[a].mean())
        return reporters

    # ---- one day ------------------------------------------------------------------------

    def step(self) -> None:
        """Play one day in every lane that is not finished."""
        # Draws for every replication, whatever its state (common random numbers); compacted lanes skip theirs.
        uniform = self._uniform(self.block_rngs, self.uniform_rows)
        normal = self._normal()
        ending = self._uniform(self.ending_rngs, 3 + len(self.outside_index))
        if self.columns.size < self.replications:
            uniform, normal, ending = uniform[:, self.columns], normal[:, self.columns], ending[:, self.columns]
        uniform, normal, ending = uniform[:, None, :], normal[:, None, :], ending[:, None, :]
        draws: dict[str, Any] = {name: uniform[rows] for name, rows in self.layout.items()}
        for name, actors in self.row_actors.items():
            draws[name] = dict(zip(actors, draws[name], strict=True))
        draws.update(tolerate=ending[0], halt=ending[1], settle=ending[2],
                     step_down=dict(zip(self.outside_index, ending[3:], strict=True)))
        if self.hearing:
            honour = self._uniform(self.news_rngs, len(self.outside_index))
            if self.columns.size < self.replications:
                honour = honour[:, self.columns]
            draws["honour"] = dict(zip(self.outside_index, honour[:, None, :], strict=True))
        active = ~self.finished
        self.rung[:] = 0
        self.struck[:] = False
        self.hit[:] = False
        self.fought_today[:] = False
        truces.expire(self, active)
        truces.start_scheduled(self, active)
        truces.conduct(self, draws, active)
        self.fighting_today = active & ~truces.war_wide(self)
        fronts.fight(self, draws, normal, active)
        endings.end_raids(self, active)
        truces.mediate(self, draws, active)
        endings.offer_halts(self, draws, active)
        endings.settle(self, draws, active)
        self.war_fought |= self.fighting_today
        commitments.step_down(self, draws, active)
        commitments.mobilise(self, active)
        commitments.incidents(self, draws, active)
        commitments.decide(self, draws, active)
        commitments.clashes(self, draws, active)
        if self.camps_changed:  # entries and withdrawals change what those actors see of the fronts
            fronts.survey(self, np.array(sorted(self.camps_changed), dtype=np.intp))
            self.camps_changed = set()
        self._bookkeeping(active)
        self.day += 1
        self.running = not bool(self.finished.all())
        if self.compact and self.running:
            self._compact()
        if self.record_series:
            self.datacollector.collect(self)

    def _uniform(self, generators: list[np.random.Generator], rows: int, dtype: type = np.float32) -> Array:
        """(rows, replications) uniform draws, each block's columns from its own generator."""
        if len(generators) == 1:
            return generators[0].random((rows, self.replications), dtype=dtype)
        return np.concatenate([generator.random((rows, size), dtype=dtype)
                               for generator, size in zip(generators, self.blocks, strict=True)], axis=1)

    def _normal(self) -> Array:
        """(3 x fronts, replications) standard normal draws: three per front from the front's own stream."""
        def block(fronts: list[np.random.Generator], size: int) -> Array:
            return np.concatenate([front.standard_normal((3, size), dtype=np.float32) for front in fronts])

        if len(self.blocks) == 1:
            return block(self.front_rngs[0], self.replications)
        return np.concatenate([block(fronts, size) for fronts, size in zip(self.front_rngs, self.blocks, strict=True)],
                              axis=1)

    # ---- changes of state the mechanisms share ------------------------------------------

    def own_camp(self, per_camp: Array) -> Array:
        """(A, lanes): ``per_camp[camp of each actor]`` (0 where the actor has no camp)."""
        return own_camp(self.camp, per_camp)

    def camp_consent(self, willing: Array, lanes: tuple[Array, Array] | None = None) -> Array:
        """(lanes): the probability that every camp at war agrees, when each actor at war agrees with
        ``willing`` (A, lanes): a camp agrees as one, with its actors' willingness weighted by the power
        they bring (a camp whose actors bring none: their plain mean); the camps agree independently.
        With ``lanes`` (as ``np.nonzero`` gives them), ``willing`` is (A, len) and so is the result."""
        camp, power = self.camp, self.power_now
        if lanes is not None:
            camp, power = rows_at(camp, self.every_actor, lanes), rows_at(power, self.every_actor, lanes)
        at_war = camp >= 0
        consent = np.ones(camp.shape[1:])
        for c in range(self.camp_count):
            members = at_war & (camp == c)
            weight = np.where(members, np.maximum(power, 1e-9), 0.0)
            total = weight.sum(axis=0)
            mean = np.where(total > 0, (weight * willing).sum(axis=0) / np.maximum(total, 1e-300), 1.0)
            consent = consent * mean
        return consent

    def gather(self, stack: Array, index: Array) -> Array:
        """(lanes): ``stack[index[lane], lane]`` for a stack over actors (or anything) then lanes;
        ``stack`` may be per point (last axis 1). Negative indices read row 0: mask them yourself."""
        index = np.maximum(index, 0).astype(np.intp)
        if stack.shape[-1] > 1:
            return np.take(stack, index * (stack.size // stack.shape[0]) + self._lane_offset)
        return np.take(stack, index * stack.shape[-2] + self._point_offset)

    def reach(self, rung: int, where: Array) -> None:
        """Every actor stands on ``rung`` today where ``where`` (actors x lanes) holds, if higher."""
        np.maximum(self.rung, np.where(where, np.int8(rung), np.int8(0)), out=self.rung)

    def reach_at(self, rung: int, where: Array, lanes: Lanes) -> None:
        """Every actor stands on ``rung`` today at ``lanes`` where ``where`` (actors x len(lanes)) holds, if higher."""
        put_rows(self.rung, lanes, np.maximum(rows_at(self.rung, self.every_actor, lanes),
                                              np.where(where, np.int8(rung), np.int8(0))))

    def reach_one(self, actor: int, rung: int, where: Array) -> None:
        """Actor ``actor`` stands on ``rung`` today where ``where`` holds, if higher."""
        np.maximum(self.rung[actor], np.where(where, np.int8(rung), np.int8(0)), out=self.rung[actor])

    def enter(self, actor: int, where: Array, camp: Array, front: Array) -> None:
        """An outside power joins ``camp`` and fights on ``front`` (per lane) from tomorrow."""
        lanes = find(where)      # only the lanes it enters in change: work on those alone
        camp = np.broadcast_to(camp, where.shape)[lanes]
        front = np.broadcast_to(front, where.shape)[lanes]
        sides = self.front_camps[np.maximum(front, 0)]
        valid = (front >= 0) & ((sides[..., 0] == camp) | (sides[..., 1] == camp))
        front = np.where(valid, front, self.camp_first_front[np.maximum(camp, 0)])
        self.camp[actor][lanes] = camp
        self.main_front[actor][lanes] = front
        sides = self.front_camps[front]
        self.foe_camp[actor][lanes] = np.where(sides[..., 0] == camp, sides[..., 1], sides[..., 0])
        for f in range(self.fronts):
            self.share[actor, f][lanes] = (front == f).astype(float)
        self.signed_share[actor][:, *lanes] = fronts.signed_share(self, np.array([actor]), lanes)[0]
        self.fronts_present = None
        self.held_at_entry[actor][:, *lanes] = fronts.held(self, np.array([actor]), lanes)[0]
        day0_control = np.stack([per_lane(self, self.params.front["control"][f], lanes) for f in range(self.fronts)])
        self.held_at_outbreak[actor][:, *lanes] = fronts.held(self, np.array([actor]), lanes, day0_control)[0]
        self.camps_changed.add(actor)
        self.ever_at_war[actor][lanes] = True
        first = self.combat_day[actor][lanes] < 0
        self.combat_day[actor][lanes[0][first], lanes[1][first]] = self.day

    def leave(self, where: Array, lanes: Lanes) -> None:
        """Actors leave the war at ``lanes`` (as ``np.nonzero`` gives them) where ``where`` (actors x len(lanes))
        holds: a party capitulates, an outside power withdraws to posturing and does not come back."""
        self.camp[:, *lanes] = np.where(where, -1, self.camp[:, *lanes])
        self.foe_camp[:, *lanes] = np.where(where, -1, self.foe_camp[:, *lanes])
        leaving = np.flatnonzero(where.any(axis=1))
        for a in leaving:   # only the rows of the actors that leave change
            self.share[a][:, *select(lanes, where[a])] = 0.0
            self.signed_share[a][:, *select(lanes, where[a])] = 0.0
        self.fronts_present = None
        self.left[:, *lanes] |= where
        self.camps_changed.update(int(a) for a in leaving)
        form = self.form[:, *lanes]
        self.form[:, *lanes] = np.where(where & self.is_outside_row[:, :, 0], np.minimum(form, POSTURING), form)

    def start_truce(self, lanes: Lanes, start_day: int, broker: int, design: Array | int, kind: Array | int,
                    term: Array | int, scope: int = -1, agreed: bool = True) -> None:
        """A truce starts on ``start_day`` at ``lanes`` (as ``np.nonzero`` gives them): brokered by mediator
        ``broker`` (-1: by the parties), of a design (bare, monitored, peacekept), a kind (``truces.TRUCE_KINDS``),
        and a fixed term in days (0: open-ended); each value one number or one per lane of ``lanes``. ``scope``:
        -1 for the whole war, else the scheduled truce whose fronts it covers. It supersedes a local truce in
        force there, which ends unbroken. ``agreed``: the parties agreed it in the lane, on the momentum each
        pressed that day (a mediator's truce, a halt, a settlement), not on a scheduled day whatever the lane's
        war (7.2)."""
        if not lanes[0].size:
            return
        if self.local_truces:
            self.end_truce(select(lanes, gather(self.truce_in_force, lanes)), broken=False, end_day=start_day)
        put(self.truce_scope, lanes, scope)
        put(self.truce_in_force, lanes, True)
        put(self.truce_start, lanes, start_day)
        put(self.truce_broker, lanes, broker)
        put(self.truce_design, lanes, design)
        put(self.truce_kind, lanes, kind)
        put(self.truce_term, lanes, term)
        put(self.truce_exchange_days, lanes, 0)
        put(self.truces_brokered, lanes, gather(self.truces_brokered, lanes) + 1)
        put_rows(self.grievance, lanes, 0.0)
        put_rows(self.agreed_pressing, lanes,
                 rows_at(self.pressing_now, self.every_actor, lanes) if agreed else 0.0)

    def end_truce(self, lanes: Lanes, broken: bool, end_day: int) -> None:
        """The truces in force at ``lanes`` (as ``np.nonzero`` gives them) end on ``end_day`` (``broken``: by a
        collapse)."""
        if not lanes[0].size:
            return
        original = lanes[0] * self.replications + self.columns[lanes[1]]
        start = gather(self.truce_start, lanes)
        self.truce_log.append((
            original,
            start,
            end_day - start,
            np.full(lanes[0].size, broken),
            gather(self.truce_broker, lanes),
            gather(self.truce_design, lanes),
            gather(self.truce_kind, lanes),
            gather(self.truce_scope, lanes),
        ))
        put(self.truce_in_force, lanes, False)
        if broken:
            put(self.truces_broken, lanes, gather(self.truces_broken, lanes) + 1)

    def escalated(self) -> Array:
        """(lanes): whether the scenario's definition of regional escalation is met today."""
        definition = self.params.definition
        # An outside power escalates by going beyond its involvement on day 0, never by where it starts.
        result = (self.form >= self.escalating_form).any(axis=0)
        if self.outside_war_counts:
            result |= self.outside_war & definition["outside_powers_fight"]
        if self.new_parties_count:
            result |= (self.ever_at_war & ~self.day0_at_war).sum(axis=0) >= definition["new_parties"]
        return result

    def _bookkeeping(self, active: Array) -> None:
        """Record rungs, forms, escalation and war length; finish lanes that are decided or at the horizon."""
        rung = np.maximum(self.rung, FORM_RUNG[self.form])
        np.maximum(self.highest_rung, np.where(active, rung, 0).astype(np.int8), out=self.highest_rung)
        higher = active & (self.form > self.highest_form)
        self.highest_form = np.where(higher, self.form, self.highest_form)
        self.form_day = np.where(higher, self.day, self.form_day).astype(np.int16)
        self.escalation_day = np.where(active & self.escalated() & (self.escalation_day < 0), self.day,
                                       self.escalation_day)
        self.fighting_days += self.fighting_today
        self.last_fighting_day = np.where(self.fighting_today, self.day, self.last_fighting_day)
        decisive = self.winner >= 0
        at_horizon = self.day + 1 >= self.params.horizon_by_point
        ending = active & (self.decided | at_horizon)
        lanes = find(ending)        # the outcome is written where the war ends today only
        if not lanes[0].size:
            return
        truce = gather(truces.war_wide(self), lanes)
        outcome = np.where(truce, TRUCE_HOLDING, WAR_ONGOING)
        outcome = np.where(gather(decisive, lanes), DECISIVE, outcome)
        outcome = np.where(gather(self.withdrew, lanes), WITHDRAWAL, outcome)
        outcome = np.where(gather(self.escalation_day, lanes) >= 0, REGIONAL, outcome)
        outcome = np.where(gather(self.outside_war, lanes), OUTSIDE_WAR, outcome)
        put(self.outcome, lanes, outcome)
        put(self.ended_by, lanes, gather(endings.ending(self), lanes))
        put(self.halt_broker, lanes, np.where(truce, gather(self.truce_broker, lanes), gather(self.halt_broker, lanes)))
        self.end_truce(select(lanes, gather(self.truce_in_force, lanes)), broken=False, end_day=self.day + 1)
        put(self.finished, lanes, True)

    def _compact(self) -> None:
        """Drop the replications finished at every point, once they are a quarter of those played.

        Their records go to ``archive`` (full width); every other lane array is cut to the columns
        still played. Random draws keep their full shape (see ``step``), so results are unchanged.
        """
        done = self.finished.all(axis=0)
        width = done.size
        if done.sum() < width // 4 or width - done.sum() < 2:
            return
        keep = ~done
        self._archive(done)
        kept = np.flatnonzero(keep)
        for name, value in list(vars(self).items()):
            if (isinstance(value, np.ndarray) and value.ndim >= 2 and value.shape[-1] == width
                    and value.shape[-2] == self.lane_shape[0] and name not in ("_lane_offset", "_point_offset")):
                setattr(self, name, np.take(value, kept, axis=-1))
        self.columns = self.columns[kept]
        self.fronts_present = None
        self.lane_shape = (self.lane_shape[0], int(kept.size))
        self._index_lanes()

    def _archive(self, where: Array) -> None:
        """Copy the records of the current columns where ``where`` holds into the full-width archive."""
        for name in RECORDS:
            value = getattr(self, name)
            if name not in self.archive:
                self.archive[name] = np.zeros((*value.shape[:-1], self.replications), dtype=value.dtype)
            self.archive[name][..., self.columns[where]] = value[..., where]

    def record(self, name: str) -> Array:
        """A per-lane record over all replications, compacted or not."""
        if not self.archive:
            return getattr(self, name)
        self.archive[name][..., self.columns] = getattr(self, name)     # the columns still played, as they are now
        return self.archive[name]

    # ---- results ------------------------------------------------------------------------

    def run(self, max_days: int | None = None) -> None:
        """Step until every lane is finished (or ``max_days`` have passed)."""
        limit = self.params.horizon if max_days is None else max_days
        while self.running and self.day < limit:
            self.step()

    def results(self) -> dict[str, Array]:
        """Per-lane records, flattened point-major: one entry per replication."""
        points, reps = self.params.points, self.replications
        s = self.params.structure
        r = self.record
        flat = {
            "point": np.repeat(np.arange(points, dtype=np.int32), reps),
            "replication": np.tile(np.arange(reps, dtype=np.int64), points),
            "outcome": r("outcome").ravel(),
            "escalation_day": r("escalation_day").ravel(),
            "winner": r("winner").ravel(),
            "war_days": (r("last_fighting_day") + 1).ravel(),
            "fighting_days": r("fighting_days").ravel(),
            "truces_brokered": r("truces_brokered").ravel(),
            "truces_broken": r("truces_broken").ravel(),
            "war_size": r("ever_at_war").sum(axis=0).astype(np.int16).ravel(),
            "ended_by": r("ended_by").ravel(),
            "halt_broker": r("halt_broker").ravel(),
        }
        for f, front_id in enumerate(s.front_ids):
            flat[f"control_{front_id}"] = r("control")[f].ravel()
        for a in self.fighter_index:
            flat[f"casualties_{s.actor_ids[a]}"] = r("casualties")[a].ravel()
        for a in self.fighter_index:
            flat[f"highest_rung_{s.actor_ids[a]}"] = r("highest_rung")[a].ravel()
        for a in self.outside_index:
            flat[f"form_{s.actor_ids[a]}"] = r("highest_form")[a].ravel()
            flat[f"form_day_{s.actor_ids[a]}"] = r("form_day")[a].ravel()
            flat[f"combat_day_{s.actor_ids[a]}"] = r("combat_day")[a].ravel()
        for a in self.exposed_index:
            flat[f"incidents_{s.actor_ids[a]}"] = r("incidents")[a].ravel()
        return flat

    def truces(self) -> dict[str, Array]:
        """One entry per truce: the lane, its start day, days it held, whether it broke."""
        names = ("lane", "start_day", "days", "broken", "broker", "design", "kind", "scope")
        if not self.truce_log:
            return {name: np.zeros(0, dtype=np.int64) for name in names}
        return {name: np.concatenate([entry[i] for entry in self.truce_log]) for i, name in enumerate(names)}


def _as_parameters(scenario: Scenario | Parameters | str | Path) -> Parameters:
    if isinstance(scenario, Parameters):
        return scenario
    if isinstance(scenario, (str, Path)):
        from sim.scenario.loader import load_scenario

        scenario = load_scenario(scenario)
    if isinstance(scenario, Sequence):
        return compile_scenarios(list(scenario))
    return compile_scenarios([scenario])
