"""Cross-reference checks on a scenario whose fields are individually valid.

Each check returns problems rather than raising, so that ``escalation validate`` can report every
mistake in a file at once. A problem's location is a path into the document (list positions as
integers); the loader turns it into a field name, a line and a column.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterator
from datetime import date

from sim.scenario.errors import did_you_mean, one_of
from sim.scenario.schema import Scenario

Finding = tuple[tuple, str]
ROLES = ("belligerent", "backer", "mediator")


def check_scenario(scenario: Scenario) -> list[Finding]:
    """Every cross-reference problem in the scenario, as (path, message) pairs."""
    findings: list[Finding] = []
    for check in (_actors, _belligerents, _ties, _rivalries, _mediators, _truces, _horizon, _ladder, _definition):
        findings.extend(check(scenario))
    return findings


def _ids(scenario: Scenario, role: str | None = None) -> list[str]:
    """Ids of the actors with this role, or with its section (a mismatch is reported once, in _actors)."""
    return list(dict.fromkeys(
        a.id for a in scenario.actors if role is None or role in a.roles or getattr(a, role) is not None
    ))


def _unknown(kind: str, found: str, known: list[str]) -> str:
    if not known:
        return f"names {kind} '{found}', but the scenario has none"
    return f"no {kind} '{found}'; allowed: {one_of(known)}{did_you_mean(found, known)}"


def _closest(word: str, known: list[str]) -> str:
    """The known id ``word`` is most likely a misspelling of ('' when none is close)."""
    matches = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    return matches[0] if matches else ""


def _actors(scenario: Scenario) -> Iterator[Finding]:
    counts = Counter(a.id for a in scenario.actors)
    seen: set[str] = set()
    for index, actor in enumerate(scenario.actors):
        if counts[actor.id] > 1 and actor.id in seen:
            yield ("actors", index, "id"), f"duplicate actor id '{actor.id}'; each actor needs its own id"
        seen.add(actor.id)
        if len(set(actor.roles)) != len(actor.roles):
            yield ("actors", index, "roles"), f"a role is listed twice in {actor.roles}"
        no_section = [r for r in ROLES if r in actor.roles and getattr(actor, r) is None]
        no_role = [r for r in ROLES if r not in actor.roles and getattr(actor, r) is not None]
        if no_section and no_role:
            sections = [r for r in ROLES if getattr(actor, r) is not None]
            yield ("actors", index, "roles"), (
                f"found roles [{', '.join(actor.roles)}] with a '{no_role[0]}:' section but no "
                f"'{no_section[0]}:' section; allowed: each role with its section; did you mean "
                f"roles: [{', '.join(sections)}]?"
            )
            continue
        for role in ROLES:
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
        plural = "" if len(belligerents) == 1 else "s"
        yield ("actors",), (
            f"found {len(belligerents)} belligerent{plural} ({', '.join(ids) or 'none'}); allowed: exactly "
            "two, each the other's opponent (the model plays out a war between two sides; merge allied "
            "forces into one actor)"
        )
    # An actor id may be duplicated (reported above): look opponents up among belligerents only.
    fights = {}
    for _, actor in belligerents:
        fights.setdefault(actor.id, actor.belligerent.opponent)
    if len(belligerents) < 2:
        return  # every opponent is unknown: the count above says why
    for index, actor in belligerents:
        opponent = actor.belligerent.opponent
        path = ("actors", index, "belligerent", "opponent")
        if opponent == actor.id:
            others = [i for i in ids if i != actor.id]
            yield path, (
                f"found '{opponent}', the belligerent itself: a belligerent cannot be its own opponent; "
                f"allowed: {one_of(others)}"
            )
        elif opponent not in ids:
            yield path, _unknown("belligerent", opponent, [i for i in ids if i != actor.id])
        elif fights[opponent] != actor.id and fights[opponent] in ids and fights[opponent] != opponent:
            yield path, (
                f"'{opponent}' fights '{fights[opponent]}', not "
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
    seen: set[str | None] = set()
    for index, tie in enumerate(scenario.ties):
        if tie.backer not in backers:
            yield ("ties", index, "backer"), _unknown("backer", tie.backer, backers)
        if tie.client == tie.backer:
            others = [b for b in belligerents if b != tie.backer]
            yield ("ties", index, "client"), (
                f"found '{tie.client}', the backer itself: an actor cannot be tied to itself; "
                f"allowed: {one_of(others)}"
            )
        elif tie.client not in belligerents:
            yield ("ties", index, "client"), _unknown("belligerent", tie.client, belligerents)
        if tie.id in seen:
            yield ("ties", index), f"duplicate tie id '{tie.id}'; give each tie an 'id:' of its own"
        seen.add(tie.id)
    clients = {t.backer for t in scenario.ties}
    # A tie naming a misspelt backer is reported once, not again as that backer lacking a client.
    clients |= {_closest(t.backer, backers) for t in scenario.ties if t.backer not in backers}
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
    ids = Counter(r.id for r in scenario.rivalries)
    for index, rivalry in enumerate(scenario.rivalries):
        if ids[rivalry.id] > 1 and rivalry.id in [r.id for r in scenario.rivalries[:index]]:
            yield ("rivalries", index), f"two rivalries have the id '{rivalry.id}'; give each an 'id:' of its own"


def _definition(scenario: Scenario) -> Iterator[Finding]:
    definition = scenario.regional_escalation
    if definition.backer_rung == 9 and not definition.backer_vs_backer:
        yield ("regional_escalation", "backer_vs_backer"), (
            "with backer_rung 9, only backers fighting each other reach that rung, so backer_vs_backer "
            "false leaves nothing that could count as regional escalation; allowed: backer_vs_backer true, "
            "or backer_rung 7 or 8"
        )


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
        misspelt = {_closest(p, belligerents) for p in mediator.leverage if p not in belligerents}
        missing = [b for b in belligerents if b not in mediator.leverage and b not in misspelt]
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
            field = "date" if truce.date is not None else "day"
            yield (*path, field), (
                f"the truce falls on day {day:,}, outside the horizon; allowed: "
                f"{_calendar(scenario)}days 0 to {scenario.horizon_days - 1}"
            )


def _calendar(scenario: Scenario) -> str:
    """``2020-01-01 to 2020-01-30, ``: the horizon's calendar days ('' past the calendar's end)."""
    last = scenario.start_date.toordinal() + scenario.horizon_days - 1
    if last > date.max.toordinal():
        return ""
    return f"{scenario.start_date} to {date.fromordinal(last)}, "


def _horizon(scenario: Scenario) -> Iterator[Finding]:
    last = scenario.start_date.toordinal() + scenario.horizon_days - 1
    if last > date.max.toordinal():
        yield ("start_date",), (
            f"found {scenario.start_date}, whose horizon of {scenario.horizon_days} days runs past "
            f"{date.max}; allowed: a start date on or before "
            f"{date.fromordinal(date.max.toordinal() - scenario.horizon_days + 1)}"
        )


def _ladder(scenario: Scenario) -> Iterator[Finding]:
    if len(scenario.ladder) != 10:
        yield ("ladder",), (
            f"found {len(scenario.ladder)} rungs; the ladder has exactly 10 (0 truce holding ... "
            "9 backer against backer), whose meanings the model relies on; rename them freely"
        )
