"""Compile scenarios into the parameter arrays the vectorised model reads.

A model advances lanes of shape ``(points, replications)``. Every numeric parameter becomes an
array of shape ``(points, 1)`` that broadcasts against the lanes: one point for a plain run, one
per sweep point for a sweep. The mechanisms never know which. The structure (which actors, ties,
rivalries and scheduled truces exist, and tie kinds) must be the same for every point.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from sim.scenario.errors import Problem, ScenarioError
from sim.scenario.schema import BackerProfile, BelligerentProfile, Dynamics, Scenario

TIE_KINDS = ("political_support", "arms_supply", "defence_pact", "proxy_fighters")
DESIGNS = ("bare", "monitored", "peacekept")
FIELDING_DESIGN = {"none": 0, "monitors": 1, "peacekeepers": 2}

# The rung a tie's kind puts its backer on as soon as the war is fought, and the highest rung the
# kind can carry it to (only a defence pact obliges open entry).
BASELINE_RUNG = {"political_support": 1, "arms_supply": 2, "defence_pact": 2, "proxy_fighters": 7}
CAP_RUNG = {"political_support": 1, "arms_supply": 2, "defence_pact": 8, "proxy_fighters": 7}

Array = np.ndarray


@dataclass(frozen=True)
class TieStructure:
    """What cannot vary between sweep points: who is tied to whom, and how."""

    id: str
    backer: int
    client_side: int
    kind: str


@dataclass(frozen=True)
class Parameters:
    """Parameter arrays for ``points`` variants of one scenario structure."""

    name: str
    points: int
    horizon: int
    horizon_by_point: Array
    initial_truce: Array
    belligerent_ids: tuple[str, str]
    belligerent: dict[str, Array]
    backer_ids: tuple[str, ...]
    backer: dict[str, Array]
    ties: tuple[TieStructure, ...]
    tie: dict[str, Array]
    rivalry_pairs: tuple[tuple[int, int], ...]
    rivalry_intensity: Array
    mediator_ids: tuple[str, ...]
    mediator: dict[str, Array]
    truce_days: Array
    truce_brokers: tuple[int, ...]
    truce_designs: Array
    brokered_truces: Array
    dynamics: dict[str, Array]
    escalation_rung: Array
    backer_vs_backer: Array
    ladder: tuple[str, ...] = field(default=())

    @property
    def actor_ids(self) -> tuple[str, ...]:
        """Belligerents then backers: the actors whose highest rung is recorded."""
        return self.belligerent_ids + self.backer_ids


def _column(values: Sequence[float]) -> Array:
    return np.asarray(values, dtype=float).reshape(-1, 1)


def _stack(rows: Sequence[Sequence[float]]) -> Array:
    """(items, points, 1) from a list over points of per-item values."""
    return np.asarray(rows, dtype=float).T.reshape(len(rows[0]) if rows else 0, len(rows), 1)


def _structure(scenario: Scenario) -> tuple:
    belligerents = tuple(a.id for a in scenario.actors if a.belligerent is not None)
    backers = tuple(a.id for a in scenario.actors if a.backer is not None)
    mediators = tuple(a.id for a in scenario.actors if a.mediator is not None)
    ties = tuple((t.id, t.backer, t.client, t.kind) for t in scenario.ties)
    rivalries = tuple(tuple(r.between) for r in scenario.rivalries)
    truces = tuple(t.broker for t in scenario.truces.scheduled)
    return belligerents, backers, mediators, ties, rivalries, truces


def compile_scenarios(scenarios: Sequence[Scenario]) -> Parameters:
    """Stack one or more variants of a scenario into :class:`Parameters`.

    Raises:
        ScenarioError: when the variants differ in structure (actors, ties, kinds, truces).
    """
    if not scenarios:
        raise ValueError("compile_scenarios needs at least one scenario")
    first = scenarios[0]
    structure = _structure(first)
    for scenario in scenarios[1:]:
        if _structure(scenario) != structure:
            raise ScenarioError(Problem(
                "sweep points must share the scenario's structure (actors, ties and their kinds, "
                "rivalries, scheduled truces); vary numbers and scopes, not who exists",
                source=first.name,
            ))
    belligerent_ids, backer_ids, mediator_ids, tie_rows, rivalry_rows, truce_brokers = structure
    side = {actor_id: index for index, actor_id in enumerate(belligerent_ids)}
    backer_index = {actor_id: index for index, actor_id in enumerate(backer_ids)}
    mediator_index = {actor_id: index for index, actor_id in enumerate(mediator_ids)}

    def per_actor(role: str, names: Sequence[str], ids: Sequence[str]) -> dict[str, Array]:
        rows = {
            name: [[getattr(getattr(s.actor(i), role), name) for i in ids] for s in scenarios]
            for name in names
        }
        return {name: _stack(values) for name, values in rows.items()}

    numeric_belligerent = [n for n in BelligerentProfile.model_fields if n != "opponent"]
    belligerent = per_actor("belligerent", numeric_belligerent, belligerent_ids)
    backer = per_actor("backer", list(BackerProfile.model_fields), backer_ids)

    ties = tuple(
        TieStructure(id=t[0], backer=backer_index[t[1]], client_side=side[t[2]], kind=t[3])
        for t in tie_rows
    )
    tie = {
        "strength": _stack([[t.strength for t in s.ties] for s in scenarios]),
        "reliability": _stack([[t.reliability for t in s.ties] for s in scenarios]),
        "anywhere": _stack([[float(t.scope == "anywhere") for t in s.ties] for s in scenarios]),
    }
    if not ties:
        tie = {name: np.zeros((0, len(scenarios), 1)) for name in tie}

    mediator = {
        "attempt_rate": _stack([[s.actor(m).mediator.attempt_rate for m in mediator_ids] for s in scenarios]),
        "design": _stack([
            [FIELDING_DESIGN[s.actor(m).mediator.fields] for m in mediator_ids] for s in scenarios
        ]),
    }
    leverage = np.zeros((len(mediator_ids), 2, len(scenarios), 1))
    bias = np.zeros((len(mediator_ids), 2, len(scenarios), 1))
    for p, scenario in enumerate(scenarios):
        for m, mediator_id in enumerate(mediator_ids):
            profile = scenario.actor(mediator_id).mediator
            for belligerent_id, s in side.items():
                leverage[m, s, p, 0] = profile.leverage.get(belligerent_id, 0.0)
                favoured = profile.bias_toward is not None and profile.bias_toward != belligerent_id
                bias[m, s, p, 0] = profile.bias if favoured else 0.0
    mediator["leverage"] = leverage
    mediator["bias_against"] = bias

    scheduled = [s.truces.scheduled for s in scenarios]
    truce_days = _stack([[s.truce_day(t) for t in s.truces.scheduled] for s in scenarios])
    truce_designs = _stack([[DESIGNS.index(t.design) for t in rows] for rows in scheduled])
    if not truce_brokers:
        truce_days = np.zeros((0, len(scenarios), 1))
        truce_designs = np.zeros((0, len(scenarios), 1))

    horizons = [s.horizon_days for s in scenarios]
    return Parameters(
        name=first.name,
        points=len(scenarios),
        horizon=max(horizons),
        horizon_by_point=_column(horizons),
        initial_truce=_column([s.initial_state == "truce" for s in scenarios]).astype(bool),
        belligerent_ids=belligerent_ids,
        belligerent=belligerent,
        backer_ids=backer_ids,
        backer=backer,
        ties=ties,
        tie=tie,
        rivalry_pairs=tuple((backer_index[a], backer_index[b]) for a, b in rivalry_rows),
        rivalry_intensity=_stack([[r.intensity for r in s.rivalries] for s in scenarios])
        if rivalry_rows else np.zeros((0, len(scenarios), 1)),
        mediator_ids=mediator_ids,
        mediator=mediator,
        truce_days=truce_days,
        truce_brokers=tuple(mediator_index[b] for b in truce_brokers),
        truce_designs=truce_designs,
        brokered_truces=_column([s.truces.brokered for s in scenarios]).astype(bool),
        dynamics={
            name: _column([getattr(s.dynamics, name) for s in scenarios])
            for name in Dynamics.model_fields
        },
        escalation_rung=_column([s.regional_escalation.backer_rung for s in scenarios]),
        backer_vs_backer=_column([s.regional_escalation.backer_vs_backer for s in scenarios]).astype(bool),
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

    changes = {name: cut(getattr(params, name)) for name in params.__dataclass_fields__}
    horizons = changes["horizon_by_point"]
    changes.update(points=stop - start, horizon=int(horizons.max()))
    return Parameters(**changes)
