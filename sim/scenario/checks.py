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
from sim.scenario.schema import DEFAULT_LADDER, FORMS, Scenario

Finding = tuple[tuple, str]
#: Commitment kinds' defaults: baseline form once the war is fought, ceiling, trigger, reliability.
KIND_DEFAULTS: dict[str, tuple[str, str, str, float]] = {
    "defence_pact": ("posturing", "open", "recognised_territory", 0.41),
    "guarantee": ("posturing", "open", "fighting_anywhere", 0.50),
    "consultation": ("political", "posturing", "fighting_anywhere", 0.50),
    "patronage": ("posturing", "open", "fighting_anywhere", 0.50),
    "arms_supply": ("posturing", "posturing", "fighting_anywhere", 1.0),
    "political_support": ("political", "political", "fighting_anywhere", 1.0),
    "proxy_forces": ("indirect", "indirect", "fighting_anywhere", 1.0),
}
COMBAT = FORMS.index("limited")


def check_scenario(scenario: Scenario) -> list[Finding]:
    """Every cross-reference problem in the scenario, as (path, message) pairs."""
    findings: list[Finding] = list(_actors(scenario))
    if len({a.id for a in scenario.actors}) < len(scenario.actors):
        return findings  # every other check resolves actors by id: fix the duplicates first
    for check in (_camps, _fronts, _shares, _outside, _commitments, _rivalries, _mediators, _truces,
                  _horizon, _ladder, _definition, _observed):
        findings.extend(check(scenario))
    return findings


def _unknown(kind: str, found: str, known: list[str]) -> str:
    if not known:
        return f"names {kind} '{found}', but the scenario has none"
    return f"no {kind} '{found}'; allowed: {one_of(known)}{did_you_mean(found, known)}"


def _closest(word: str, known: list[str]) -> str:
    """The known id ``word`` is most likely a misspelling of ('' when none is close)."""
    matches = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    return matches[0] if matches else ""


def _ids(scenario: Scenario, capability: str | None = None) -> list[str]:
    return list(dict.fromkeys(a.id for a in scenario.actors if capability is None or getattr(a, capability)))


def _at_war(scenario: Scenario) -> list[str]:
    """Actors at war on day 0 (with a camp)."""
    return list(dict.fromkeys(a.id for a in scenario.actors if a.camp is not None))


def _duplicates(items: list, label: str, section: tuple) -> Iterator[Finding]:
    counts = Counter(item.id for item in items)
    seen: set[str] = set()
    for index, item in enumerate(items):
        if counts[item.id] > 1 and item.id in seen:
            yield (*section, index, "id"), f"duplicate {label} id '{item.id}'; give each {label} an 'id:' of its own"
        seen.add(item.id)


def _actors(scenario: Scenario) -> Iterator[Finding]:
    yield from _duplicates(scenario.actors, "actor", ("actors",))
    for index, actor in enumerate(scenario.actors):
        if actor.camp is not None and actor.party is None:
            yield ("actors", index, "camp"), (
                f"'{actor.id}' fights in camp '{actor.camp}' from day 0 but has no 'party:' section saying how it "
                "fights; allowed: add a party: section (strength, resolve, ...), or remove camp:"
            )
        protected = any(c.to == actor.id for c in scenario.commitments)
        if actor.party is None and actor.outside is None and actor.mediator is None and not protected:
            yield ("actors", index), (
                f"'{actor.id}' has no 'party:', 'outside:' or 'mediator:' section and no commitment protects it; "
                "allowed: give it what it can do, or remove it"
            )
        if actor.party is not None and actor.camp is None and actor.outside is None:
            yield ("actors", index, "party"), (
                f"'{actor.id}' has a party: section but no camp: and no outside: section, so it can never fight; "
                "allowed: a camp: (at war on day 0), or an outside: section (it may enter)"
            )
        outside = {a.id for a in scenario.actors if a.outside is not None}
        doubtful = any(c.from_ not in outside for c in scenario.commitments)  # reported on the commitment
        if actor.outside is not None and actor.camp is None and not actor.outside.exposure and not doubtful and not any(
            c.from_ == actor.id for c in scenario.commitments
        ):
            yield ("actors", index, "outside"), (
                f"outside power '{actor.id}' has no commitment and no exposure, so nothing can draw it in; "
                f"allowed: a commitment from '{actor.id}', or an exposure: to a party's fire"
            )


def _camps(scenario: Scenario) -> Iterator[Finding]:
    camps = {a.camp for a in scenario.actors if a.camp is not None}
    if len(camps) < 2:
        found = f"only camp '{camps.pop()}'" if camps else "no actor with a camp"
        yield ("actors",), (
            f"found {found}; a war needs parties in at least two camps on day 0 (give each party at war a "
            "'camp:', e.g. camp: north and camp: south)"
        )


def _fronts(scenario: Scenario) -> Iterator[Finding]:
    yield from _duplicates(scenario.fronts, "front", ("fronts",))
    at_war = _at_war(scenario)
    all_camps = list(dict.fromkeys(a.camp for a in scenario.actors if a.camp is not None))
    for index, front in enumerate(scenario.fronts):
        if (front.between is None) == (front.camps is None):
            yield ("fronts", index), (
                "give exactly one of 'between:' (two parties at war on day 0) or 'camps:' (two camps, for a front "
                "that opens when outside powers enter)")
            continue
        if front.camps is not None:
            for position, camp in enumerate(front.camps):
                if camp not in all_camps:
                    yield ("fronts", index, "camps", position), _unknown("camp", camp, all_camps)
            if len(set(front.camps)) < 2:
                yield ("fronts", index, "camps"), f"a front cannot be between camp '{front.camps[0]}' and itself"
            continue
        path = ("fronts", index, "between")
        camps = []
        if len(set(front.between)) < len(front.between):
            yield path, f"a front cannot be between '{front.between[0]}' and itself"
            continue
        for position, actor_id in enumerate(front.between):
            if actor_id not in at_war:
                known = actor_id in _ids(scenario)
                yield (*path, position), (
                    f"'{actor_id}' has no camp: (it is not at war on day 0); allowed: {one_of(at_war)}" if known
                    else _unknown("party at war on day 0", actor_id, at_war))
            else:
                camps.append(scenario.actor(actor_id).camp)
        if len(camps) == 2 and camps[0] == camps[1]:
            yield path, (
                f"'{front.between[0]}' and '{front.between[1]}' are both in camp '{camps[0]}'; a front is between "
                "parties of different camps"
            )
    on_fronts = {camp for f in scenario.fronts for camp in _front_camps(scenario, f)}
    for index, actor in enumerate(scenario.actors):
        if actor.camp is not None and actor.camp not in on_fronts:
            yield ("actors", index, "camp"), (
                f"camp '{actor.camp}' fights on no front; allowed: name one of its parties in a front's 'between:'"
            )


def _front_camps(scenario: Scenario, front) -> list[str]:
    if front.camps is not None:
        return list(front.camps)
    camps = []
    for actor_id in front.between or ():
        try:
            camp = scenario.actor(actor_id).camp
        except KeyError:
            continue
        if camp is not None:
            camps.append(camp)
    return camps


def _shares(scenario: Scenario) -> Iterator[Finding]:
    fronts = {f.id: f for f in scenario.fronts}
    for index, actor in enumerate(scenario.actors):
        if actor.party is None or actor.party.front_shares is None:
            continue
        path = ("actors", index, "party", "front_shares")
        for front_id in actor.party.front_shares:
            front = fronts.get(front_id)
            if front is None:
                yield (*path, front_id), _unknown("front", front_id, list(fronts))
            elif actor.camp is not None and actor.camp not in _front_camps(scenario, front):
                yield (*path, front_id), (
                    f"camp '{actor.camp}' is not one of the two sides of front '{front_id}' "
                    f"({', '.join(front.between)}); allowed: fronts where its camp fights"
                )
        total = sum(actor.party.front_shares.values())
        if abs(total - 1.0) > 1e-6:
            yield path, f"the shares add up to {total:g}; allowed: shares adding up to 1"


def _outside(scenario: Scenario) -> Iterator[Finding]:
    fronts = [f.id for f in scenario.fronts]
    parties = _ids(scenario, "party")
    for index, actor in enumerate(scenario.actors):
        outside = actor.outside
        if outside is None:
            continue
        path = ("actors", index, "outside")
        in_combat = FORMS.index(outside.initial_form) >= COMBAT
        if actor.camp is not None and not in_combat:
            found = (f"found '{outside.initial_form}'" if "initial_form" in outside.model_fields_set
                     else "initial_form is not given (default none)")
            yield (*path, "initial_form") if "initial_form" in outside.model_fields_set else path, (
                f"{found} for an outside power already at war on day 0 (camp '{actor.camp}'); allowed: "
                "initial_form: limited or open, or remove camp:"
            )
        if actor.camp is None and in_combat:
            yield (*path, "initial_form"), (
                f"found '{outside.initial_form}' (in combat on day 0) but '{actor.id}' has no camp; allowed: "
                "give it a camp: and a party: section, or a form below limited"
            )
        if outside.front is not None and outside.front not in fronts:
            yield (*path, "front"), _unknown("front", outside.front, fronts)
        for party in outside.exposure:
            if party not in parties:
                yield (*path, "exposure", party), _unknown("party (an actor with a party: section)", party, parties)
            elif party == actor.id:
                yield (*path, "exposure", party), "an actor cannot be exposed to its own fire"


def _commitments(scenario: Scenario) -> Iterator[Finding]:
    actors = _ids(scenario)
    outside = _ids(scenario, "outside")
    yield from _duplicates(scenario.commitments, "commitment", ("commitments",))
    for index, commitment in enumerate(scenario.commitments):
        path = ("commitments", index)
        if commitment.from_ not in actors:
            yield (*path, "from"), _unknown("actor", commitment.from_, actors)
        elif commitment.from_ not in outside:
            yield (*path, "from"), (
                f"'{commitment.from_}' has no 'outside:' section, so nothing decides how it honours this "
                "commitment; allowed: an actor with an outside: section (escalation_rate, ...)"
            )
        if commitment.to not in actors:
            yield (*path, "to"), _unknown("actor", commitment.to, actors)
        if commitment.from_ == commitment.to:
            yield (*path, "to"), f"'{commitment.to}' cannot be committed to itself"
        if commitment.from_ not in outside or commitment.to not in actors:
            continue
        ceiling = commitment.ceiling or KIND_DEFAULTS[commitment.kind][1]
        committed = scenario.actor(commitment.from_)
        protected = scenario.actor(commitment.to)
        if FORMS.index(ceiling) >= COMBAT and committed.outside.front is None and protected.camp is None \
                and not protected.outside:
            yield (*path, "ceiling"), (
                f"'{commitment.from_}' could enter in combat for '{commitment.to}', which is at war on no front; "
                f"allowed: give actors[{commitment.from_}].outside.front (where it would fight), or a ceiling "
                "below limited"
            )


def _rivalries(scenario: Scenario) -> Iterator[Finding]:
    outside = _ids(scenario, "outside")
    for index, rivalry in enumerate(scenario.rivalries):
        for position, actor_id in enumerate(rivalry.between):
            if actor_id in _ids(scenario) and actor_id not in outside:
                yield ("rivalries", index, "between", position), (
                    f"'{actor_id}' has no outside: section; allowed: {one_of(outside)}")
            elif actor_id not in outside:
                yield ("rivalries", index, "between", position), _unknown("outside power", actor_id, outside)
        if len(set(rivalry.between)) < len(rivalry.between):
            yield ("rivalries", index, "between"), f"'{rivalry.between[0]}' cannot be its own rival"
    yield from _duplicates(scenario.rivalries, "rivalry", ("rivalries",))


def _mediators(scenario: Scenario) -> Iterator[Finding]:
    at_war = _at_war(scenario)
    parties = list(dict.fromkeys([*_ids(scenario, "party"), *at_war]))
    for index, actor in enumerate(scenario.actors):
        mediator = actor.mediator
        if mediator is None:
            continue
        path = ("actors", index, "mediator")
        for party in mediator.leverage:
            if party not in parties:
                yield (*path, "leverage", party), _unknown("party", party, parties)
        misspelt = {_closest(p, parties) for p in mediator.leverage if p not in parties}
        missing = [b for b in at_war if b not in mediator.leverage and b not in misspelt]
        if missing:
            yield (*path, "leverage"), (
                f"no leverage given over {one_of(missing)}; give a value for each party at war on day 0"
            )
        if mediator.bias_toward is not None and mediator.bias_toward not in parties:
            yield (*path, "bias_toward"), _unknown("party", mediator.bias_toward, parties)


def _truces(scenario: Scenario) -> Iterator[Finding]:
    mediators = _ids(scenario, "mediator")
    scheduled = scenario.truces.scheduled
    named = [t for t in scheduled if t.id is not None]
    counts = Counter(t.id for t in named)
    seen: set[str] = set()
    for index, truce in enumerate(scheduled):
        path = ("truces", "scheduled", index)
        if truce.id is not None:
            if counts[truce.id] > 1 and truce.id in seen:
                yield (*path, "id"), f"duplicate truce id '{truce.id}'; give each truce an 'id:' of its own"
            seen.add(truce.id)
        if truce.broker not in mediators:
            yield (*path, "broker"), _unknown("mediator", truce.broker, mediators)
        front_ids = [front.id for front in scenario.fronts]
        for position, front in enumerate(truce.fronts or ()):
            if front not in front_ids:
                yield (*path, "fronts", position), _unknown("front", front, front_ids)
        if truce.fronts is not None and len(set(truce.fronts)) < len(truce.fronts):
            yield (*path, "fronts"), "a front is named twice; name each front the truce covers once"
        if truce.domain == "strikes" and truce.fronts is not None:
            yield (*path, "fronts"), "a truce of strikes covers no front (the fronts fight on); omit 'fronts:', or " \
                "set 'domain: all' for a truce of the fighting on those fronts"
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
    if len(scenario.ladder) != len(DEFAULT_LADDER):
        yield ("ladder",), (
            f"found {len(scenario.ladder)} rungs; the ladder has exactly {len(DEFAULT_LADDER)} (0 truce holding "
            "... 11 outside powers fighting each other), whose meanings the model relies on; rename them freely"
        )


def _definition(scenario: Scenario) -> Iterator[Finding]:
    definition = scenario.regional_escalation
    outside = _ids(scenario, "outside")
    for actor_id in definition.actor_forms:
        if actor_id not in outside:
            yield ("regional_escalation", "actor_forms", actor_id), _unknown("outside power", actor_id, outside)
    if (definition.outside_form == "none" and not definition.outside_powers_fight and definition.new_parties is None
            and not definition.actor_forms):
        yield ("regional_escalation",), (
            "every condition is off (outside_form none, outside_powers_fight false, no new_parties, no "
            "actor_forms), so nothing could count as regional escalation; allowed: at least one condition"
        )


def _observed(scenario: Scenario) -> Iterator[Finding]:
    if scenario.observed is None:
        return
    actors = _ids(scenario)
    for index, entry in enumerate(scenario.observed.entries):
        if entry.actor not in actors:
            yield ("observed", "entries", index, "actor"), _unknown("actor", entry.actor, actors)
        elif entry.day is not None and entry.day >= scenario.horizon_days and not scenario.observed.entry_after_window:
            yield ("observed", "entries", index, "day"), (
                f"day {entry.day} is past the horizon ({scenario.horizon_days} days); allowed: days 0 to "
                f"{scenario.horizon_days - 1}, or set entry_after_window: true"
            )
