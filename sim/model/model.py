"""The escalation model: the world, the daily schedule and the record of each lane.

One ``step()`` is one day for every lane at once. The phases run in a fixed order: scheduled
truces, truce conduct (violations, noisy attribution, spiral retaliation), fighting (attrition,
the front, deep strikes, war weariness, capitulation), mediation, backers' decisions and
incidents, clashes between rival backers, bookkeeping. A single run is a model with one lane.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import mesa
import numpy as np

from sim.model.agents import Backer, Belligerent, Mediator
from sim.model.params import Parameters, compile_scenarios
from sim.scenario.schema import Scenario

Array = np.ndarray

OUTCOMES = ("truce_holding", "war_ongoing", "decisive_victory", "regional_escalation", "backer_war")
TRUCE_HOLDING, WAR_ONGOING, DECISIVE, REGIONAL, BACKER_WAR = range(5)
UNDECIDED = -1


class EscalationModel(mesa.Model):
    """A crisis played out day by day in ``replications`` lanes (per parameter point).

    Args:
        scenario: a :class:`Scenario`, a path to a scenario file, or compiled :class:`Parameters`
            (one or more points, as a sweep builds them).
        replications: lanes per point; 1 is a single run, as ``mesa.batch_run`` drives it.
        rng: seed, ``SeedSequence`` or ``Generator`` for every random draw of the model.
        record_series: collect the daily model-level series in ``datacollector`` (lane means).
    """

    def __init__(self, scenario: Scenario | Parameters | str | Path, replications: int = 1,
                 rng: Any = None, record_series: bool = True) -> None:
        super().__init__(rng=rng)
        params = _as_parameters(scenario)
        self.params = params
        self.replications = int(replications)
        self.lane_shape = (params.points, self.replications)
        self.day = 0
        self.dynamics = params.dynamics
        self.layout = self._draw_layout()
        self._create_agents()
        self._create_world()
        self.record_series = record_series
        # Series are recorded at the end of each day (row k = day k), so that mesa.batch_run,
        # which reads the row of its last step, sees the final day.
        self.datacollector = mesa.DataCollector(model_reporters=self._reporters())
        self.running = True

    # ---- building the world -------------------------------------------------------------

    def _create_agents(self) -> None:
        p = self.params
        self.belligerents = [
            Belligerent(self, actor_id, side, p.belligerent) for side, actor_id in enumerate(p.belligerent_ids)
        ]
        willing_draws = self.rng.random((len(p.ties), self.replications))
        self.backers = []
        for index, actor_id in enumerate(p.backer_ids):
            ties = [(s, {k: v[t] for k, v in p.tie.items()}) for t, s in enumerate(p.ties) if s.backer == index]
            draws = [willing_draws[t] for t, s in enumerate(p.ties) if s.backer == index]
            self.backers.append(Backer(self, actor_id, index, p.backer, ties, draws))
        self.mediators = [Mediator(self, actor_id, index, p.mediator) for index, actor_id in enumerate(p.mediator_ids)]
        # What each belligerent believes its backers would do for it: 1 - prod(1 - strength x reliability).
        for belligerent in self.belligerents:
            unbacked = np.ones_like(belligerent.strength)
            for t, structure in enumerate(p.ties):
                if structure.client_side == belligerent.side:
                    unbacked = unbacked * (1.0 - p.tie["strength"][t] * p.tie["reliability"][t])
            belligerent.backing = 1.0 - unbacked

    def _create_world(self) -> None:
        shape = self.lane_shape
        p = self.params
        self.territory = np.broadcast_to(p.belligerent["contested_territory"][0], shape).copy()
        self.momentum_memory = np.zeros(shape)
        self._momentum: tuple[Array, Array] | None = None
        self.truce_in_force = np.broadcast_to(p.initial_truce, shape).copy()
        self.truce_start = np.zeros(shape, dtype=np.int32)
        self.truce_broker = np.full(shape, -1, dtype=np.int16)
        self.truce_design = np.zeros(shape, dtype=np.int8)
        self.truces_brokered = self.truce_in_force.astype(np.int32)
        self.truces_broken = np.zeros(shape, dtype=np.int32)
        self.fighting_today = np.zeros(shape, dtype=bool)
        self.war_fought = np.zeros(shape, dtype=bool)
        self.fighting_days = np.zeros(shape, dtype=np.int32)
        self.last_fighting_day = np.full(shape, -1, dtype=np.int32)
        self.winner = np.full(shape, -1, dtype=np.int8)
        self.backer_war = np.zeros(shape, dtype=bool)
        self.escalation_day = np.full(shape, -1, dtype=np.int32)
        self.outcome = np.full(shape, UNDECIDED, dtype=np.int8)
        self.finished = np.zeros(shape, dtype=bool)
        self.truce_log: list[tuple[Array, ...]] = []

    def _draw_layout(self) -> dict[str, slice]:
        """Rows of the day's uniform draws, by purpose; the shape never depends on the state."""
        p = self.params
        counts = [("violate", 2), ("false_alarm", 2), ("retaliate", 2), ("deep_strike", 2),
                  ("mediate", len(p.mediator_ids)), ("climb", len(p.backer_ids)),
                  ("incident", len(p.backer_ids)), ("absorb", len(p.backer_ids)),
                  ("clash", len(p.rivalry_pairs))]
        layout, start = {}, 0
        for name, count in counts:
            layout[name] = slice(start, start + count)
            start += count
        self.uniform_rows = start
        return layout

    def _reporters(self) -> dict[str, Any]:
        """The daily series (means over lanes) that the DataCollector records."""
        reporters: dict[str, Any] = {
            "at_war": lambda m: float(m.fighting_today.mean()),
            "truce_in_force": lambda m: float(m.truce_in_force.mean()),
            "regional_escalation": lambda m: float((m.escalation_day >= 0).mean()),
        }
        first = self.params.belligerent_ids[0]
        reporters[f"territory_{first}"] = lambda m: float(m.territory.mean())
        for belligerent in self.belligerents:
            reporters[f"casualties_{belligerent.actor_id}"] = lambda m, b=belligerent: float(b.casualties.mean())
            reporters[f"resolve_{belligerent.actor_id}"] = lambda m, b=belligerent: float(b.resolve.mean())
        for backer in self.backers:
            reporters[f"rung_{backer.actor_id}"] = lambda m, b=backer: float(b.rung.mean())
        return reporters

    # ---- one day ------------------------------------------------------------------------

    def step(self) -> None:
        """Play one day in every lane that is not finished."""
        uniform = self.rng.random((self.uniform_rows, self.replications))[:, None, :]
        normal = self.rng.standard_normal((3, self.replications))[:, None, :]
        draws = {name: uniform[rows] for name, rows in self.layout.items()}
        active = ~self.finished
        for belligerent in self.belligerents:
            belligerent.rung = np.zeros(self.lane_shape, dtype=np.int8)
            belligerent.struck_today = np.zeros(self.lane_shape, dtype=bool)
        self._start_scheduled_truces(active)
        self._truce_conduct(draws, active)
        self.fighting_today = active & ~self.truce_in_force
        self._fight(draws, normal, active)
        self._mediate(draws, active)
        self._backers_decide(draws, active)
        self._backer_clashes(draws, active)
        self._bookkeeping(active)
        self.day += 1
        self.running = not bool(self.finished.all())
        if self.record_series:
            self.datacollector.collect(self)

    def momentum(self) -> tuple[Array, Array]:
        """Each side's momentum, -1 to 1: its recent gains of ground, against the front's pace."""
        if self._momentum is None:  # recomputed only after the front has moved
            first = np.tanh(3.0 * self.momentum_memory / self.dynamics["front_speed"])
            self._momentum = (first, -first)
        return self._momentum

    def pressing(self) -> tuple[Array, Array]:
        """The momentum each side still acts on, given the ground it holds and its war aim."""
        momentum = self.momentum()
        held = (self.territory, 1.0 - self.territory)
        return tuple(b.pressing(momentum[b.side], held[b.side]) for b in self.belligerents)

    def _start_truce(self, where: Array, start_day: int, broker: int, design: Array) -> None:
        self.truce_in_force |= where
        self.truce_start = np.where(where, start_day, self.truce_start)
        self.truce_broker = np.where(where, broker, self.truce_broker)
        self.truce_design = np.where(where, design, self.truce_design).astype(np.int8)
        self.truces_brokered += where
        for belligerent in self.belligerents:
            belligerent.grievance = np.where(where, 0.0, belligerent.grievance)

    def _end_truce(self, where: Array, broken: bool, end_day: int) -> None:
        lanes = np.flatnonzero(where)
        if lanes.size:
            self.truce_log.append((
                lanes,
                self.truce_start.ravel()[lanes],
                end_day - self.truce_start.ravel()[lanes],
                np.full(lanes.size, broken),
                self.truce_broker.ravel()[lanes],
                self.truce_design.ravel()[lanes],
            ))
        self.truce_in_force &= ~where
        if broken:
            self.truces_broken += where

    def _start_scheduled_truces(self, active: Array) -> None:
        """A truce agreed for today takes effect wherever the war is still being fought."""
        for index, broker in enumerate(self.params.truce_brokers):
            due = active & ~self.truce_in_force & (self.params.truce_days[index] == self.day)
            if due.any():
                self._start_truce(due, self.day, broker, self.params.truce_designs[index].astype(np.int8))

    def _truce_conduct(self, draws: dict[str, Array], active: Array) -> None:
        """Violations, noisy attribution and spiral retaliation under a truce in force.

        Each side may violate on purpose; each side perceives the other's violations, and some
        that never happened (attribution noise). An unanswered violation is absorbed and feeds
        the victim's grievance; an answered one is the truce's collapse.
        """
        in_truce = active & self.truce_in_force
        if not in_truce.any():
            return
        d = self.dynamics
        design = self.truce_design
        ones = np.ones_like(d["monitored_violation_factor"])
        design_factor = np.choose(design, (ones, d["monitored_violation_factor"], d["peacekept_violation_factor"]))
        noise_factor = np.choose(design, (ones, d["monitored_noise_factor"], d["peacekept_noise_factor"]))
        false_alarm_rate = d["attribution_noise"] * noise_factor
        pressing = self.pressing()
        violated = []
        for belligerent in self.belligerents:
            bias = np.zeros(self.lane_shape)
            for mediator in self.mediators:
                bias = np.where(self.truce_broker == mediator.index, mediator.bias_against[belligerent.side], bias)
            hazard = belligerent.violation_hazard(pressing[belligerent.side], design_factor, bias, d)
            violated.append(in_truce & (draws["violate"][belligerent.side] < hazard))
        answered = []
        for belligerent in self.belligerents:
            other = 1 - belligerent.side
            perceived = in_truce & (violated[other] | (draws["false_alarm"][belligerent.side] < false_alarm_rate))
            answers = belligerent.answers(perceived, draws["retaliate"][belligerent.side], d["spiral_gain"])
            belligerent.grievance += perceived & ~answers
            answered.append(answers)
        for belligerent in self.belligerents:
            belligerent.reach(3, violated[belligerent.side] | answered[belligerent.side])
        collapsed = answered[0] | answered[1]
        self._end_truce(collapsed, broken=True, end_day=self.day)

    def _fight(self, draws: dict[str, Array], normal: Array, active: Array) -> None:
        """Attrition, the front's movement, deep strikes, war weariness and capitulation."""
        fighting = self.fighting_today
        d = self.dynamics
        a, b = self.belligerents
        support = [sum((k.support_for(side) for k in self.backers), np.zeros(self.lane_shape)) for side in (0, 1)]
        power = [a.combat_power(support[0]), b.combat_power(support[1])]
        total = np.maximum(power[0] + power[1], 1e-12)  # finished lanes may have lost all power
        intensity = 1.0 + support[0] + support[1]
        sigma = d["casualty_noise"]
        # Each side's share of the day's losses grows with the enemy's power; the loss exchange
        # exponent flattens (below 1) or sharpens (above 1) how far the power ratio carries over.
        weight = [power[0] ** d["loss_exchange"], power[1] ** d["loss_exchange"]]
        weight_total = np.maximum(weight[0] + weight[1], 1e-12)
        deaths = [
            np.where(fighting, d["daily_casualties"] * intensity * weight[1 - side] / weight_total
                     * np.exp(sigma * normal[side] - 0.5 * sigma**2), 0.0)
            for side in (0, 1)
        ]
        advance = d["front_speed"] * (power[0] - power[1]) / total + d["front_noise"] * normal[2]
        territory = np.where(fighting, np.clip(self.territory + advance, 0.0, 1.0), self.territory)
        gained = territory - self.territory
        self.territory = territory
        memory = d["momentum_memory_days"]
        self.momentum_memory = np.where(
            fighting, self.momentum_memory + (gained - self.momentum_memory) / memory,
            self.momentum_memory * (1.0 - 1.0 / memory),
        )
        self._momentum = None
        momentum = self.momentum()
        for belligerent in self.belligerents:
            strikes = belligerent.strikes_deep(fighting, momentum[belligerent.side], d["capitulation_resolve"],
                                               draws["deep_strike"][belligerent.side])
            self.belligerents[1 - belligerent.side].struck_today = strikes
            belligerent.reach(5, fighting)
            belligerent.reach(6, strikes)
        a.absorb_losses(deaths[0], self.territory, fighting)
        b.absorb_losses(deaths[1], 1.0 - self.territory, fighting)
        broken = [active & (x.resolve <= d["capitulation_resolve"]) for x in self.belligerents]
        loser = np.where(broken[0] & broken[1], np.where(a.resolve <= b.resolve, 0, 1),
                         np.where(broken[0], 0, np.where(broken[1], 1, -1)))
        decided = loser >= 0
        self.winner = np.where(decided, 1 - loser, self.winner).astype(np.int8)

    def _mediate(self, draws: dict[str, Array], active: Array) -> None:
        """While fighting goes on, mediators try to broker a truce that starts tomorrow."""
        open_lanes = active & self.fighting_today & ~self.truce_in_force & (self.winner < 0)
        open_lanes &= self.params.brokered_truces
        if not open_lanes.any() or not self.mediators:
            return
        d = self.dynamics
        dead = self.belligerents[0].casualties + self.belligerents[1].casualties
        fatality_factor = 1.0 - d["fatality_penalty"] * np.minimum(dead / 10_000.0, 1.0)
        pressing = self.pressing()
        for mediator in self.mediators:
            success = open_lanes & mediator.brokers(pressing, fatality_factor, d["momentum_mediation_refusal"],
                                                    draws["mediate"][mediator.index])
            self._start_truce(success, self.day + 1, mediator.index, mediator.design.astype(np.int8))
            open_lanes &= ~success

    def _backers_decide(self, draws: dict[str, Array], active: Array) -> None:
        """Backers mobilise, weigh each tie's trigger, climb their ladder, and suffer incidents."""
        d = self.dynamics
        momentum = self.momentum()
        distress = [b.distress(momentum[b.side], d["capitulation_resolve"]) for b in self.belligerents]
        self.war_fought |= self.fighting_today
        for backer in self.backers:
            backer.mobilise(self.war_fought & active)
        opposed = self._rival_open_entry()
        for backer in self.backers:
            triggers = []
            for (structure, tie), in_rivalry in zip(backer.ties, opposed[backer.index], strict=True):
                client = self.belligerents[structure.client_side]
                trigger = backer.trigger(structure, tie, client, self.fighting_today, distress[structure.client_side])
                trigger = np.maximum(trigger, in_rivalry)
                for other, other_tie in backer.ties:
                    if other.client_side != structure.client_side:
                        trigger = trigger * (1.0 - other_tie["strength"])
                triggers.append(trigger)
            backer.decide(triggers, draws["climb"][backer.index], active)
            backer.suffer_incident(self.fighting_today, draws["incident"][backer.index], draws["absorb"][backer.index])

    def _rival_open_entry(self) -> list[list[Array]]:
        """Per backer and tie: the rivalry's intensity where a rival entered openly against the client."""
        zero = np.zeros(self.lane_shape)
        result = [[zero for _ in backer.ties] for backer in self.backers]
        for pair, intensity in zip(self.params.rivalry_pairs, self.params.rivalry_intensity, strict=True):
            for me, rival in (pair, pair[::-1]):
                backer, other = self.backers[me], self.backers[rival]
                for t, (structure, _) in enumerate(backer.ties):
                    against = (other.rung >= 8) & (other.side == 1 - structure.client_side)
                    result[me][t] = np.maximum(result[me][t], np.where(against, intensity, 0.0))
        return result

    def _backer_clashes(self, draws: dict[str, Array], active: Array) -> None:
        """Rival backers engaged on opposite sides, one of them openly, may come to blows."""
        for index, ((first, second), intensity) in enumerate(
            zip(self.params.rivalry_pairs, self.params.rivalry_intensity, strict=True)
        ):
            x, y = self.backers[first], self.backers[second]
            engaged = (active & (x.rung >= 7) & (y.rung >= 7) & (x.side >= 0) & (y.side >= 0)
                       & (x.side != y.side) & ((x.rung >= 8) | (y.rung >= 8)))
            clash = engaged & (draws["clash"][index] < self.dynamics["backer_clash_rate"] * intensity)
            x.rung = np.where(clash, np.int8(9), x.rung)
            y.rung = np.where(clash, np.int8(9), y.rung)
            self.backer_war |= clash

    def _bookkeeping(self, active: Array) -> None:
        """Record rungs, escalation and war length; finish lanes that are decided or at the horizon."""
        for actor in (*self.belligerents, *self.backers):
            np.maximum(actor.highest_rung, np.where(active, actor.rung, 0).astype(np.int8), out=actor.highest_rung)
        # Rung 9 is reached only by a clash, which the backer_vs_backer switch governs on its own.
        top = np.zeros(self.lane_shape, dtype=np.int8)
        for backer in self.backers:
            np.maximum(top, np.minimum(backer.rung, 8), out=top)
        escalated = (top >= self.params.escalation_rung) | (self.backer_war & self.params.backer_vs_backer)
        self.escalation_day = np.where(active & escalated & (self.escalation_day < 0), self.day, self.escalation_day)
        self.fighting_days += self.fighting_today
        self.last_fighting_day = np.where(self.fighting_today, self.day, self.last_fighting_day)
        decisive = self.winner >= 0
        at_horizon = self.day + 1 >= self.params.horizon_by_point
        ending = active & (decisive | self.backer_war | at_horizon)
        outcome = np.where(self.truce_in_force, TRUCE_HOLDING, WAR_ONGOING)
        outcome = np.where(decisive, DECISIVE, outcome)
        outcome = np.where(self.escalation_day >= 0, REGIONAL, outcome)
        outcome = np.where(self.backer_war, BACKER_WAR, outcome)
        self.outcome = np.where(ending, outcome, self.outcome).astype(np.int8)
        self._end_truce(ending & self.truce_in_force, broken=False, end_day=self.day + 1)
        self.finished |= ending

    # ---- results ------------------------------------------------------------------------

    def run(self, max_days: int | None = None) -> None:
        """Step until every lane is finished (or ``max_days`` have passed)."""
        limit = self.params.horizon if max_days is None else max_days
        while self.running and self.day < limit:
            self.step()

    def results(self) -> dict[str, Array]:
        """Per-lane records, flattened point-major: one entry per replication."""
        points, reps = self.lane_shape
        flat = {
            "point": np.repeat(np.arange(points, dtype=np.int32), reps),
            "replication": np.tile(np.arange(reps, dtype=np.int64), points),
            "outcome": self.outcome.ravel(),
            "escalation_day": self.escalation_day.ravel(),
            "winner": self.winner.ravel(),
            "war_days": (self.last_fighting_day + 1).ravel(),
            "fighting_days": self.fighting_days.ravel(),
            "truces_brokered": self.truces_brokered.ravel(),
            "truces_broken": self.truces_broken.ravel(),
            "territory": self.territory.ravel(),
        }
        for belligerent in self.belligerents:
            flat[f"casualties_{belligerent.actor_id}"] = belligerent.casualties.ravel()
        for actor in (*self.belligerents, *self.backers):
            flat[f"highest_rung_{actor.actor_id}"] = actor.highest_rung.ravel()
        for backer in self.backers:
            flat[f"incidents_{backer.actor_id}"] = backer.incidents.ravel()
        return flat

    def truces(self) -> dict[str, Array]:
        """One entry per truce: the lane, its start day, days it held, whether it broke."""
        names = ("lane", "start_day", "days", "broken", "broker", "design")
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
