"""Compile scenarios into the parameter arrays the vectorised model reads.

A model advances lanes of shape ``(points, replications)``. Every numeric parameter becomes an
array that broadcasts against the lanes: ``(points, 1)`` for a global constant, ``(actors, points,
1)`` for a per-actor one, ``(commitments, points, 1)``, ``(fronts, points, 1)`` and so on: one point
for a plain run, one per sweep point for a sweep. The mechanisms never know which. The structure
(which actors, camps, fronts, commitments, rivalries and scheduled truces exist, and commitment
kinds) must be the same for every point.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from sim.scenario.checks import KIND_DEFAULTS
from sim.scenario.errors import Problem, ScenarioError
from sim.scenario.schema import (
    FORMS,
    SHARED_OUTSIDE_FIELDS,
    Dynamics,
    Front,
    OutsideProfile,
    PartyProfile,
    Scenario,
)

DESIGNS = ("bare", "monitored", "peacekept")
FIELDING_DESIGN = {"none": 0, "monitors": 1, "peacekeepers": 2}
TRIGGERS = ("recognised_territory", "forces_anywhere", "defeat_likely", "rival_entry", "fighting_anywhere")
KINDS = tuple(KIND_DEFAULTS)

NONE, POLITICAL, POSTURING, DENIABLE, INDIRECT, LIMITED, OPEN = range(len(FORMS))
#: The ladder rung of each form of an outside power's involvement; rung 11 is outside powers fighting.
FORM_RUNG = np.array([0, 1, 2, 7, 8, 9, 10], dtype=np.int8)
OUTSIDE_WAR_RUNG = 11

#: Defaults of a fighting profile for an outside power that enters without a ``party:`` section.
ENTRANT_PARTY = {"strength": 0.0, "resolve": 1.0, "war_weariness": None, "casualty_sensitivity": None,
                 "territory_sensitivity": 0.0, "truce_compliance": 0.7, "retaliation_propensity": 0.8,
                 "deep_strike_propensity": 0.0, "recognised_territory": 1.0, "insurgent": 0.0, "war_aim": 1.0,
                 "operation_days": 0.0, "status_quo": 0.0, "reserves": 0.0, "mobilisation_days": 0.0}
PARTY_FIELDS = tuple(name for name in PartyProfile.model_fields if name != "front_shares")
OUTSIDE_FIELDS = ("escalation_rate", "readiness", "indirect_support", "intervention_power", "limited_share",
                  "incident_absorption", "restraint", "step_down_rate")

Array = np.ndarray


@dataclass(frozen=True)
class Structure:
    """What cannot vary between sweep points: who exists, their camps, fronts and commitments."""

    actor_ids: tuple[str, ...]
    camp_ids: tuple[str, ...]
    initial_camp: Array          # (A,) int8, -1 = not at war on day 0
    has_party: Array             # (A,) bool: a party: section
    is_outside: Array            # (A,) bool: an outside: section
    front_ids: tuple[str, ...]
    front_camps: Array           # (F, 2) int8: the camp on each side of a front
    commitment_ids: tuple[str, ...]
    committed: Array             # (C,) int: the committed actor
    protected: Array             # (C,) int: the protected actor
    kind: Array                  # (C,) int: index in KINDS
    baseline: Array              # (C,) int8: form once the war is fought (if willing)
    rivalry_pairs: tuple[tuple[int, int], ...]
    exposures: tuple[tuple[int, int], ...]   # (exposed actor, party whose fire hits it)
    mediator_ids: tuple[str, ...]
    entry_front: Array           # (C,) int: the front the committed actor fights on if it enters for this commitment
    foe_front: Array             # (A,) int: for an actor, the first front it fights on (-1 if none)
    declared_front: Array        # (A,) int: an outside power's declared front (-1 if none)
    truce_fronts: Array          # (T, F) bool: the fronts each scheduled truce covers (all of them: the whole war)
    truce_strikes: Array         # (T,) bool: a truce of deep strikes only (it covers no front)

    @property
    def truce_local(self) -> Array:
        """(T,) bool: whether each scheduled truce is local: it covers some fronts only, or deep strikes only."""
        return ~self.truce_fronts.all(axis=1)


@dataclass(frozen=True)
class Parameters:
    """Parameter arrays for ``points`` variants of one scenario structure."""

    name: str
    points: int
    horizon: int
    horizon_by_point: Array
    initial_truce: Array
    structure: Structure
    party: dict[str, Array]          # per actor (A, points, 1)
    outside: dict[str, Array]        # per actor (A, points, 1); zeros for actors without outside:
    initial_form: Array              # (A, points, 1)
    front_shares: Array              # (A, F, points, 1): day-0 share of each party's strength per front
    front: dict[str, Array]          # control, intensity, mobility: (F, points, 1)
    commitment: dict[str, Array]     # strength, reliability, trigger, ceiling, deliveries: (C, points, 1)
    exposure: Array                  # (E, points, 1)
    rivalry_intensity: Array         # (R, points, 1)
    mediator: dict[str, Array]       # attempt_rate, design, coercion, term_days: (M, points, 1);
    #                                  leverage, bias_against: (M, A, points, 1)
    truce_days: Array
    truce_brokers: tuple[int, ...]
    truce_designs: Array
    truce_terms: Array               # (T, points, 1): days of a fixed-term pause, 0 = open-ended
    brokered_truces: Array
    dynamics: dict[str, Array]
    definition: dict[str, Array]     # outside_form, outside_powers_fight, new_parties (points, 1); actor_forms (A, ...)
    ladder: tuple[str, ...] = field(default=())

    @property
    def actor_ids(self) -> tuple[str, ...]:
        return self.structure.actor_ids

    @property
    def fighters(self) -> tuple[str, ...]:
        """Actors that can fight (a party: section, or an outside power that can enter in combat)."""
        s = self.structure
        return tuple(a for i, a in enumerate(s.actor_ids) if s.has_party[i] or s.is_outside[i])

    @property
    def outside_ids(self) -> tuple[str, ...]:
        s = self.structure
        return tuple(a for i, a in enumerate(s.actor_ids) if s.is_outside[i])


def _column(values: Sequence[float]) -> Array:
    return np.asarray(values, dtype=float).reshape(-1, 1)


def _stack(rows: Sequence[Sequence[float]], items: int) -> Array:
    """(items, points, 1) from a list over points of per-item values."""
    if items == 0:
        return np.zeros((0, len(rows), 1))
    return np.asarray(rows, dtype=float).T.reshape(items, len(rows), 1)


def _first_front(scenario: Scenario, actor_id: str) -> int:
    """The first front on which an actor fights: one naming it, or one its camp fights on (-1)."""
    actor = scenario.actor(actor_id)
    for f, front in enumerate(scenario.fronts):
        if actor_id in (front.between or ()):
            return f
    if actor.camp is not None:
        for f, front in enumerate(scenario.fronts):
            if actor.camp in _sides(scenario, front):
                return f
    return -1


def _sides(scenario: Scenario, front) -> list[str]:
    """The two camps of a front."""
    if front.camps is not None:
        return list(front.camps)
    return [scenario.actor(p).camp for p in front.between]


def world_actors(scenario: Scenario) -> list:
    """The actors with state in the world: every actor but those that only mediate."""
    protected = {c.to for c in scenario.commitments}
    return [a for a in scenario.actors if a.party or a.outside or a.camp or a.id in protected]


def _structure(scenario: Scenario) -> Structure:
    actors = world_actors(scenario)
    ids = tuple(a.id for a in actors)
    index = {a: i for i, a in enumerate(ids)}
    camps = tuple(dict.fromkeys(a.camp for a in actors if a.camp is not None))
    camp_index = {c: i for i, c in enumerate(camps)}
    fronts = scenario.fronts
    front_index = {f.id: i for i, f in enumerate(fronts)}
    commitments = scenario.commitments
    first_front = np.array([_first_front(scenario, a) for a in ids], dtype=np.int64)
    entry = []
    for c in commitments:
        declared = scenario.actor(c.from_).outside.front
        entry.append(front_index[declared] if declared else int(first_front[index[c.to]]))
    mediators = tuple(a.id for a in scenario.actors if a.mediator is not None)
    return Structure(
        actor_ids=ids,
        camp_ids=camps,
        initial_camp=np.array([camp_index[a.camp] if a.camp is not None else -1 for a in actors], dtype=np.int8),
        has_party=np.array([a.party is not None for a in actors], dtype=bool),
        is_outside=np.array([a.outside is not None for a in actors], dtype=bool),
        front_ids=tuple(f.id for f in fronts),
        front_camps=np.array([[camp_index[c] for c in _sides(scenario, f)] for f in fronts],
                             dtype=np.int8).reshape(len(fronts), 2),
        commitment_ids=tuple(c.id for c in commitments),
        committed=np.array([index[c.from_] for c in commitments], dtype=np.int64),
        protected=np.array([index[c.to] for c in commitments], dtype=np.int64),
        kind=np.array([KINDS.index(c.kind) for c in commitments], dtype=np.int64),
        baseline=np.array([FORMS.index(KIND_DEFAULTS[c.kind][0]) for c in commitments], dtype=np.int8),
        rivalry_pairs=tuple((index[r.between[0]], index[r.between[1]]) for r in scenario.rivalries),
        exposures=tuple((index[a.id], index[p]) for a in actors if a.outside for p in a.outside.exposure),
        mediator_ids=mediators,
        entry_front=np.array(entry, dtype=np.int64),
        foe_front=first_front,
        declared_front=np.array([front_index[a.outside.front] if a.outside and a.outside.front else -1
                                 for a in actors], dtype=np.int64),
        truce_fronts=np.array([[t.domain == "all" and (t.fronts is None or f.id in t.fronts) for f in fronts]
                               for t in scenario.truces.scheduled], dtype=bool).reshape(-1, len(fronts)),
        truce_strikes=np.array([t.domain == "strikes" for t in scenario.truces.scheduled], dtype=bool),
    )


def _signature(scenario: Scenario) -> tuple:
    s = _structure(scenario)
    return (s.actor_ids, s.camp_ids, tuple(s.initial_camp), tuple(s.has_party), tuple(s.is_outside), s.front_ids,
            s.front_camps.tobytes(), s.commitment_ids, tuple(s.committed), tuple(s.protected), tuple(s.kind),
            s.rivalry_pairs, s.exposures, s.mediator_ids, tuple(s.entry_front),
            tuple(t.broker for t in scenario.truces.scheduled), s.truce_fronts.tobytes(), s.truce_strikes.tobytes())


def _party_value(scenario: Scenario, actor_id: str, name: str) -> float:
    actor = scenario.actor(actor_id)
    if actor.party is not None:
        value = getattr(actor.party, name)
        return 0.0 if value is None else float(value)   # operation_days: 0 = no operation
    default = ENTRANT_PARTY[name]
    if default is None:
        return float(getattr(scenario.dynamics, {"war_weariness": "entrant_weariness",
                                                 "casualty_sensitivity": "entrant_casualty_sensitivity"}[name]))
    return float(default)


#: The power of dynamics.open_terrain_pace that multiplies a front's pace, by its terrain (7.3.2).
TERRAIN_EXPONENT = {None: 0.0, "rugged": 0.0, "mixed": 0.5, "open": 1.0}


def front_pace(front: Front, dynamics: Dynamics) -> float:
    """A front's pace relative to ``dynamics.front_speed``: its mobility times the pace of its terrain."""
    return front.mobility * dynamics.open_terrain_pace ** TERRAIN_EXPONENT[front.terrain]


def _front_shares(scenario: Scenario, structure: Structure) -> Array:
    """(A, F): the share of each day-0 party's strength on each front."""
    shares = np.zeros((len(structure.actor_ids), len(structure.front_ids)))
    for a, actor_id in enumerate(structure.actor_ids):
        actor = scenario.actor(actor_id)
        if actor.camp is None:
            continue
        if actor.party is not None and actor.party.front_shares is not None:
            for front_id, share in actor.party.front_shares.items():
                shares[a, structure.front_ids.index(front_id)] = share
            continue
        named = [f for f, front in enumerate(scenario.fronts) if actor.id in (front.between or ())]
        if not named:
            camp = structure.initial_camp[a]
            named = [f for f in range(len(scenario.fronts)) if camp in structure.front_camps[f]]
        if not named and actor.outside is not None and actor.outside.front is not None:
            named = [structure.front_ids.index(actor.outside.front)]
        for f in named:
            shares[a, f] = 1.0 / len(named)
    return shares


def compile_scenarios(scenarios: Sequence[Scenario]) -> Parameters:
    """Stack one or more variants of a scenario into :class:`Parameters`.

    Raises:
        ScenarioError: when the variants differ in structure (actors, camps, fronts, commitments, truces).
    """
    if not scenarios:
        raise ValueError("compile_scenarios needs at least one scenario")
    first = scenarios[0]
    signature = _signature(first)
    for scenario in scenarios[1:]:
        if _signature(scenario) != signature:
            raise ScenarioError(Problem(
                "sweep points must share the scenario's structure (actors and camps, fronts, commitments and "
                "their kinds, rivalries, exposures, scheduled truces); vary numbers, triggers and ceilings, not "
                "who exists", source=first.name,
            ))
    structure = _structure(first)
    ids = structure.actor_ids
    points = len(scenarios)
    n_actors, n_commitments = len(ids), len(structure.commitment_ids)

    party = {name: _stack([[_party_value(s, a, name) for a in ids] for s in scenarios], n_actors)
             for name in PARTY_FIELDS}

    def outside_value(s: Scenario, actor_id: str, name: str) -> float:
        profile = s.actor(actor_id).outside
        value = None if profile is None else getattr(profile, name)
        if value is not None:
            return float(value)
        if name in SHARED_OUTSIDE_FIELDS:   # the shared value, fitted across the case library (section 9)
            return float(getattr(s.dynamics, name))
        default = OutsideProfile.model_fields[name].default
        return float(default) if isinstance(default, (int, float)) else 0.0

    outside = {name: _stack([[outside_value(s, a, name) for a in ids] for s in scenarios], n_actors)
               for name in OUTSIDE_FIELDS}
    initial_form = _stack([[FORMS.index(s.actor(a).outside.initial_form) if s.actor(a).outside else 0 for a in ids]
                           for s in scenarios], n_actors)
    shares = np.stack([_front_shares(s, structure) for s in scenarios], axis=-1)[..., None]

    def commitment_value(c, name: str) -> float:
        kind = KIND_DEFAULTS[c.kind]
        if name == "trigger":
            return TRIGGERS.index(c.trigger or kind[2])
        if name == "ceiling":
            return FORMS.index(c.ceiling or kind[1])
        if name == "reliability":
            return kind[3] if c.reliability is None else c.reliability
        return getattr(c, name)

    commitment = {name: _stack([[commitment_value(c, name) for c in s.commitments] for s in scenarios], n_commitments)
                  for name in ("strength", "reliability", "trigger", "ceiling", "deliveries")}
    exposure = _stack([[a.outside.exposure[p] for a in world_actors(s) if a.outside for p in a.outside.exposure]
                       for s in scenarios], len(structure.exposures))

    mediator_ids = structure.mediator_ids
    mediator = {
        "attempt_rate": _stack([[s.actor(m).mediator.attempt_rate for m in mediator_ids] for s in scenarios],
                               len(mediator_ids)),
        "design": _stack([[FIELDING_DESIGN[s.actor(m).mediator.fields] for m in mediator_ids] for s in scenarios],
                         len(mediator_ids)),
        "coercion": _stack([[s.actor(m).mediator.coercion for m in mediator_ids] for s in scenarios],
                           len(mediator_ids)),
        "term_days": _stack([[s.actor(m).mediator.term_days or 0 for m in mediator_ids] for s in scenarios],
                            len(mediator_ids)),
    }
    leverage = np.full((len(mediator_ids), n_actors, points, 1), np.nan)
    bias = np.zeros((len(mediator_ids), n_actors, points, 1))
    for p, scenario in enumerate(scenarios):
        for m, mediator_id in enumerate(mediator_ids):
            profile = scenario.actor(mediator_id).mediator
            for a, actor_id in enumerate(ids):
                if actor_id in profile.leverage:
                    leverage[m, a, p, 0] = profile.leverage[actor_id]
                leans_against = profile.bias_toward is not None and profile.bias_toward != actor_id
                bias[m, a, p, 0] = profile.bias if leans_against else 0.0
    mediator["leverage"] = leverage          # NaN: not listed (an entrant follows its camp)
    mediator["bias_against"] = bias

    truce_brokers = tuple(mediator_ids.index(t.broker) for t in first.truces.scheduled)
    truce_days = _stack([[s.truce_day(t) for t in s.truces.scheduled] for s in scenarios], len(truce_brokers))
    truce_designs = _stack([[DESIGNS.index(t.design) for t in s.truces.scheduled] for s in scenarios],
                           len(truce_brokers))
    truce_terms = _stack([[t.term_days or 0 for t in s.truces.scheduled] for s in scenarios], len(truce_brokers))

    definition = {
        "outside_form": _column([FORMS.index(s.regional_escalation.outside_form) if s.regional_escalation.outside_form
                                 != "none" else 99 for s in scenarios]),
        "outside_powers_fight": _column([s.regional_escalation.outside_powers_fight for s in scenarios]).astype(bool),
        "new_parties": _column([s.regional_escalation.new_parties or 10_000 for s in scenarios]),
        "actor_forms": _stack([[FORMS.index(s.regional_escalation.actor_forms[a])
                                if a in s.regional_escalation.actor_forms else 99 for a in ids] for s in scenarios],
                              n_actors),
    }
    horizons = [s.horizon_days for s in scenarios]
    return Parameters(
        name=first.name,
        points=points,
        horizon=max(horizons),
        horizon_by_point=_column(horizons),
        initial_truce=_column([s.initial_state == "truce" for s in scenarios]).astype(bool),
        structure=structure,
        party=party,
        outside=outside,
        initial_form=initial_form,
        front_shares=shares,
        front={"control": _stack([[f.control for f in s.fronts] for s in scenarios], len(structure.front_ids)),
               "intensity": _stack([[f.intensity for f in s.fronts] for s in scenarios], len(structure.front_ids)),
               "mobility": _stack([[front_pace(f, s.dynamics) for f in s.fronts] for s in scenarios],
                                  len(structure.front_ids))},
        commitment=commitment,
        exposure=exposure,
        rivalry_intensity=_stack([[r.intensity for r in s.rivalries] for s in scenarios], len(structure.rivalry_pairs)),
        mediator=mediator,
        truce_days=truce_days,
        truce_brokers=truce_brokers,
        truce_designs=truce_designs,
        truce_terms=truce_terms,
        brokered_truces=_column([s.truces.brokered for s in scenarios]).astype(bool),
        dynamics={name: _column([getattr(s.dynamics, name) for s in scenarios]) for name in Dynamics.model_fields},
        definition=definition,
        ladder=tuple(first.ladder),
    )


def select_points(params: Parameters, start: int, stop: int) -> Parameters:
    """The same parameters restricted to points ``start .. stop - 1`` (the points axis is always -2)."""
    def cut(value):
        if isinstance(value, np.ndarray) and value.ndim >= 2 and value.shape[-2] == params.points:
            return value[..., start:stop, :]
        if isinstance(value, dict):
            return {name: cut(item) for name, item in value.items()}
        return value

    changes = {name: cut(getattr(params, name)) for name in params.__dataclass_fields__ if name != "structure"}
    changes["structure"] = params.structure
    horizons = changes["horizon_by_point"]
    changes.update(points=stop - start, horizon=int(horizons.max()))
    return Parameters(**changes)
