"""Cross-reference checks on a scenario whose fields are individually valid.

Each check returns problems rather than raising, so that ``escalation validate`` can report every
mistake in a file at once. A problem's location is a path into the document (list positions as
integers); the loader turns it into a field name, a line and a column.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from sim.scenario.errors import did_you_mean, one_of
from sim.scenario.schema import Scenario

Finding = tuple[tuple, str]


def check_scenario(scenario: Scenario) -> list[Finding]:
    """Every cross-reference problem in the scenario, as (path, message) pairs."""
    findings: list[Finding] = []
    for check in (_actors, _belligerents, _ties, _rivalries, _mediators, _truces, _ladder):
        findings.extend(check(scenario))
    return findings


def _ids(scenario: Scenario, role: str | None = None) -> list[str]:
    return [a.id for a in scenario.actors if role is None or role in a.roles]


def _unknown(kind: str, found: str, known: list[str]) -> str:
    if not known:
        return f"names {kind} '{found}', but the scenario has none"
    return f"no {kind} '{found}'; allowed: {one_of(known)}{did_you_mean(found, known)}"


def _actors(scenario: Scenario) -> Iterator[Finding]:
    counts = Counter(a.id for a in scenario.actors)
    seen: set[str] = set()
    for index, actor in enumerate(scenario.actors):
        if counts[actor.id] > 1 and actor.id in seen:
            yield ("actors", index, "id"), f"duplicate actor id '{actor.id}'; each actor needs its own id"
        seen.add(actor.id)
        if len(set(actor.roles)) != len(actor.roles):
            yield ("actors", index, "roles"), f"a role is listed twice in {actor.roles}"
        for role in ("belligerent", "backer", "mediator"):
            has_profile = getattr(actor, role) is not None
            if role in actor.roles and not has_profile:
                yield ("actors", index), (
                    f"has the role '{role}' but no '{role}:' section describing it"
                )
            if has_profile and role not in actor.roles:
                yield ("actors", index, role), (
                    f"a '{role}:' section, but '{role}' is not among its roles {actor.roles}"
                )


def _belligerents(scenario: Scenario) -> Iterator[Finding]:
    belligerents = [(i, a) for i, a in enumerate(scenario.actors) if a.belligerent is not None]
    ids = [a.id for _, a in belligerents]
    if len(belligerents) != 2:
        yield ("actors",), (
            f"found {len(belligerents)} belligerents ({', '.join(ids) or 'none'}); the model plays "
            "out a war between exactly two belligerents (merge allied forces into one actor)"
        )
    for index, actor in belligerents:
        opponent = actor.belligerent.opponent
        path = ("actors", index, "belligerent", "opponent")
        if opponent == actor.id:
            yield path, "a belligerent cannot be its own opponent"
        elif opponent not in ids:
            yield path, _unknown("belligerent", opponent, [i for i in ids if i != actor.id])
        elif scenario.actor(opponent).belligerent.opponent != actor.id:
            yield path, (
                f"'{opponent}' fights '{scenario.actor(opponent).belligerent.opponent}', not "
                f"'{actor.id}': opponents must name each other"
            )
    if len(belligerents) == 2:
        total = sum(a.belligerent.contested_territory for _, a in belligerents)
        if abs(total - 1.0) > 1e-6:
            yield ("actors", belligerents[0][0], "belligerent", "contested_territory"), (
                f"the belligerents' contested_territory shares add up to {total:g}; "
                "they must add up to 1"
            )


def _ties(scenario: Scenario) -> Iterator[Finding]:
    backers = _ids(scenario, "backer")
    belligerents = _ids(scenario, "belligerent")
    tie_ids = Counter(t.id for t in scenario.ties)
    for index, tie in enumerate(scenario.ties):
        if tie.backer not in backers:
            yield ("ties", index, "backer"), _unknown("backer", tie.backer, backers)
        if tie.client == tie.backer:
            yield ("ties", index, "client"), f"'{tie.backer}' is tied to itself"
        elif tie.client not in belligerents:
            yield ("ties", index, "client"), _unknown("belligerent", tie.client, belligerents)
        if tie_ids[tie.id] > 1:
            yield ("ties", index), f"two ties have the id '{tie.id}'; give each an 'id:' of its own"
    clients = {t.backer for t in scenario.ties}
    for index, actor in enumerate(scenario.actors):
        if actor.backer is not None and actor.id not in clients:
            yield ("actors", index, "backer"), (
                f"backer '{actor.id}' has no client: add a tie from '{actor.id}' to a belligerent"
            )


def _rivalries(scenario: Scenario) -> Iterator[Finding]:
    backers = _ids(scenario, "backer")
    for index, rivalry in enumerate(scenario.rivalries):
        for position, actor_id in enumerate(rivalry.between):
            if actor_id not in backers:
                yield ("rivalries", index, "between", position), _unknown("backer", actor_id, backers)
        if len(set(rivalry.between)) < len(rivalry.between):
            yield ("rivalries", index, "between"), f"'{rivalry.between[0]}' cannot be its own rival"


def _mediators(scenario: Scenario) -> Iterator[Finding]:
    belligerents = _ids(scenario, "belligerent")
    for index, actor in enumerate(scenario.actors):
        mediator = actor.mediator
        if mediator is None:
            continue
        path = ("actors", index, "mediator")
        for party in mediator.leverage:
            if party not in belligerents:
                yield (*path, "leverage", party), _unknown("belligerent", party, belligerents)
        missing = [b for b in belligerents if b not in mediator.leverage]
        if missing:
            yield (*path, "leverage"), f"no leverage given over {one_of(missing)}; give a value for each belligerent"
        if mediator.bias_toward is not None and mediator.bias_toward not in belligerents:
            yield (*path, "bias_toward"), _unknown("belligerent", mediator.bias_toward, belligerents)


def _truces(scenario: Scenario) -> Iterator[Finding]:
    mediators = _ids(scenario, "mediator")
    for index, truce in enumerate(scenario.truces.scheduled):
        path = ("truces", "scheduled", index)
        if truce.broker not in mediators:
            yield (*path, "broker"), _unknown("mediator", truce.broker, mediators)
        if (truce.date is None) == (truce.day is None):
            yield path, "give exactly one of 'date:' (a calendar day) or 'day:' (days from start_date)"
            continue
        day = scenario.truce_day(truce)
        if not 0 <= day < scenario.horizon_days:
            last = scenario.start_date.toordinal() + scenario.horizon_days - 1
            end = type(scenario.start_date).fromordinal(last)
            field = "date" if truce.date is not None else "day"
            yield (*path, field), (
                f"the truce falls on day {day}, outside the horizon; allowed: "
                f"{scenario.start_date} to {end} (days 0 to {scenario.horizon_days - 1})"
            )


def _ladder(scenario: Scenario) -> Iterator[Finding]:
    if len(scenario.ladder) != 10:
        yield ("ladder",), (
            f"found {len(scenario.ladder)} rungs; the ladder has exactly 10 (0 truce holding ... "
            "9 backer against backer), whose meanings the model relies on; rename them freely"
        )
