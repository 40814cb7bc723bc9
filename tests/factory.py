"""Small scenarios built in code, for tests that need a mechanism in isolation."""

from __future__ import annotations

import copy
from typing import Any

from sim.scenario.schema import Scenario


def party(**overrides: Any) -> dict[str, Any]:
    """A party that never tires, never capitulates and never strikes deep unless told."""
    profile = {
        "strength": 1.0,
        "resolve": 1.0,
        "war_weariness": 0.0,
        "casualty_sensitivity": 0.0,
        "territory_sensitivity": 0.0,
        "truce_compliance": 1.0,
        "retaliation_propensity": 1.0,
        "deep_strike_propensity": 0.0,
    }
    profile.update(overrides)
    return profile


def outside(**overrides: Any) -> dict[str, Any]:
    profile = {"escalation_rate": 0.0, "readiness": 0.0, "indirect_support": 0.0, "intervention_power": 0.0,
               "exposure": 0.0, "incident_absorption": 1.0}
    profile.update(overrides)
    return profile


QUIET_DYNAMICS = {
    "front_noise": 0.0,
    "attribution_noise": 0.0,
    "spiral_gain": 0.0,
    "emboldening": 0.0,
    "momentum_truce_breaking": 0.0,
    "momentum_mediation_refusal": 0.0,
    # The rule the exact laws were first written with: every gain tempts, the agreed momentum too (7.2).
    "agreement_binding": 0.0,
    "distress_mediation_acceptance": 0.0,
    "fatality_penalty": 0.0,
    # The 2020 limit of truce conduct: any answered violation breaks a truce, which never consolidates;
    # no settlement in a stalemate.
    "bare_tolerance": 0.0,
    "monitored_tolerance": 0.0,
    "peacekept_tolerance": 0.0,
    "consolidation_half_life": 10_000.0,
    "settlement_rate": 0.0,
    # The standing pace alone, the rule the exact laws of climbing were written with: no honour at the news (7.5.12).
    "news_response": 0.0,
    # The reference values the exact laws were written with (the defaults are now fitted, MODEL.md 11.1).
    "capitulation_resolve": 0.2,
    "withdrawal_resolve": 0.5,
    "defeat_likely_distress": 0.6,
    "clash_rate": 0.05,
    "halt_acceptance": 0.5,
}


def scenario_data(*, horizon: int = 30, initial_state: str = "war", a: dict | None = None, b: dict | None = None,
                  backers: dict[str, dict] | None = None, ties: list[dict] | None = None,
                  mediators: dict[str, dict] | None = None, rivalries: list[dict] | None = None,
                  dynamics: dict | None = None, brokered: bool = False, scheduled: list[dict] | None = None,
                  **top: Any) -> dict[str, Any]:
    """A war between parties ``a`` and ``b`` (camps ``a`` and ``b``, one front) with quiet dynamics,
    as plain data. ``backers`` are outside powers (a scalar ``exposure`` is to the fire of the party
    opposing its first commitment's protected actor); ``ties`` use the short keys backer, client, scope."""
    a, b = dict(a or {}), dict(b or {})
    control = a.pop("contested_territory", 0.5)
    b.pop("contested_territory", None)
    actors = [
        {"id": "a", "name": "A", "camp": "a", "party": party(**a)},
        {"id": "b", "name": "B", "camp": "b", "party": party(**b)},
    ]
    ties = [commitment(**tie) for tie in (ties or [])]
    for actor_id, profile in (backers or {}).items():
        profile = dict(profile)
        fighting = profile.pop("party", None)     # an entrant's own fighting profile (its aims among them)
        fighting = None if fighting is None else party(**fighting)
        profile = outside(**profile)
        exposure = profile.pop("exposure", 0.0)
        if exposure:
            protected = next((t["to"] for t in ties if t["from"] == actor_id), "a")
            profile["exposure"] = {"b" if protected == "a" else "a": exposure}
        actors.append({"id": actor_id, "name": actor_id.title(), "outside": profile,
                       **({"party": fighting} if fighting is not None else {})})
    for actor_id, profile in (mediators or {}).items():
        actors.append({"id": actor_id, "name": actor_id.title(), "mediator": copy.deepcopy(profile)})
    data = {
        "name": "test_case",
        "title": "Test case",
        "start_date": "2020-01-01",
        "horizon_days": horizon,
        "initial_state": initial_state,
        "runs": 1000,
        "seed": 1,
        "actors": actors,
        "fronts": [{"id": "front", "between": ["a", "b"], "control": control}],
        "commitments": ties,
        "rivalries": rivalries or [],
        "truces": {"brokered": brokered, "scheduled": scheduled or []},
        "dynamics": {**QUIET_DYNAMICS, **(dynamics or {})},
    }
    data.update(top)
    return data


def make_scenario(**kwargs: Any) -> Scenario:
    """A validated :class:`Scenario` from :func:`scenario_data` arguments."""
    from sim.scenario.checks import check_scenario

    scenario = Scenario.model_validate(scenario_data(**kwargs))
    problems = check_scenario(scenario)
    assert not problems, problems
    return scenario


def commitment(backer: str, client: str, kind: str, scope: str = "anywhere", **rest: Any) -> dict[str, Any]:
    """A commitment from the short form of the first format's tie (backer, client, scope)."""
    kind = {"proxy_fighters": "proxy_forces"}.get(kind, kind)
    trigger = {"anywhere": "fighting_anywhere"}.get(scope, scope)
    return {"from": backer, "to": client, "kind": kind, "trigger": trigger, **rest}


def entry_tie(backer_id: str = "patron", client: str = "a", *, scope: str = "anywhere",
              reliability: float = 1.0, kind: str = "defence_pact") -> dict[str, Any]:
    return {"backer": backer_id, "client": client, "kind": kind, "scope": scope, "strength": 1.0,
            "reliability": reliability}


def proxy_tie(backer_id: str = "patron", client: str = "a") -> dict[str, Any]:
    return {"backer": backer_id, "client": client, "kind": "proxy_fighters", "scope": "anywhere",
            "strength": 0.5, "reliability": 1.0}
