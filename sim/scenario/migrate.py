"""Recognise scenario files in the first format (two belligerents, backers and ties) and rewrite them.

The first format (escalation-sim 0.1) named ``roles`` and ``belligerent:``/``backer:`` sections and
a ``ties:`` list. :func:`old_format` tells such a file apart so the loader can say what changed;
:func:`migrate_text` rewrites it in the current form with its comments kept (ruamel.yaml round
trip): each belligerent becomes a party in a camp of its own, the contested territory a front,
each backer an outside power (its intervention power rescaled from a share of its client's
strength to the parties' units, its exposure to the fire of its client's opponent), each tie a
commitment.
"""

from __future__ import annotations

import io
from typing import Any

from sim.scenario.errors import Problem, ScenarioError

KIND = {"defence_pact": "defence_pact", "arms_supply": "arms_supply", "political_support": "political_support",
        "proxy_fighters": "proxy_forces"}
TRIGGER = {"anywhere": "fighting_anywhere", "recognised_territory": "recognised_territory"}
OLD_SECTIONS = ("roles", "belligerent", "backer")


def old_format(data: Any) -> str | None:
    """What marks ``data`` as the first format, or ``None``."""
    if not isinstance(data, dict):
        return None
    if "ties" in data:
        return "a 'ties:' list (now 'commitments:', with from/to)"
    actors = data.get("actors")
    for actor in actors if isinstance(actors, list) else []:
        if isinstance(actor, dict):
            for key in OLD_SECTIONS:
                if key in actor:
                    return f"an actor with '{key}:' (actors now have camp, party, outside and mediator sections)"
    return None


def old_format_problem(reason: str, source: str) -> ScenarioError:
    return ScenarioError(Problem(
        f"this file is in the first scenario format ({reason}); the format changed to many parties in camps, "
        "fronts and commitments (docs/MODEL.md section 9). Rewrite it with `escalation migrate FILE`, which keeps "
        "its comments", source=source))


def _yaml():
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 110
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def migrate_text(text: str, source: str = "<scenario>") -> str:
    """The scenario ``text`` of the first format, rewritten in the current one (comments kept).

    Raises:
        ScenarioError: when the text is not a first-format scenario, or is too broken to rewrite.
    """
    from ruamel.yaml.error import YAMLError

    try:
        return _migrate(text, source)
    except ScenarioError:
        raise
    except YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        raise ScenarioError(Problem(f"YAML syntax error: {getattr(error, 'problem', None) or error}; fix it, "
                                    "then migrate", line=line, column=column, source=source)) from None
    except (KeyError, ValueError, TypeError, AttributeError, IndexError) as error:
        raise ScenarioError(Problem(
            f"cannot rewrite this first-format file: {type(error).__name__} {error}; it has a mistake that the first "
            "format's loader would also have refused (a tie without backer or client, an unknown kind or scope, "
            "text where a number belongs); fix it by hand, then migrate", source=source)) from None


def _migrate(text: str, source: str) -> str:
    from ruamel.yaml.comments import CommentedMap

    yaml = _yaml()
    data = yaml.load(text)
    if not isinstance(data, dict):
        raise ScenarioError(Problem("not a scenario: the file must be a mapping of fields (name, title, actors, ...)",
                                    source=source))
    reason = old_format(data)
    if reason is None:
        raise ScenarioError(Problem("this file is already in the current format; nothing to migrate", source=source))
    actors = data.get("actors") or []
    belligerents = [a for a in actors if "belligerent" in a]
    if len(belligerents) != 2:
        raise ScenarioError(Problem("the first format needs exactly two belligerents to migrate", source=source))
    strength = {a["id"]: float(a["belligerent"].get("strength", 1.0)) for a in belligerents}
    opponent = {a["id"]: a["belligerent"].get("opponent") for a in belligerents}
    ties = list(data.get("ties") or [])
    for actor in actors:
        actor.pop("roles", None)
        if "belligerent" in actor:
            profile = actor.pop("belligerent")
            profile.pop("opponent", None)
            profile.pop("contested_territory", None)
            _insert_after(actor, "name", "camp", actor["id"])
            _insert_after(actor, "camp", "party", profile)
        if "backer" in actor:
            profile = actor.pop("backer")
            own = [t for t in ties if t.get("backer") == actor["id"]]
            lean = max(own, key=lambda t: float(t.get("strength", 0)) * float(t.get("reliability", 0)))["client"] \
                if own else belligerents[0]["id"]
            if "intervention_power" in profile:
                profile["intervention_power"] = round(float(profile["intervention_power"]) * strength.get(lean, 1.0), 4)
            exposure = float(profile.pop("exposure", 0.0) or 0.0)
            if exposure > 0:
                profile["exposure"] = CommentedMap([(opponent[lean], exposure)])
            _insert_after(actor, "camp" if "camp" in actor else "name", "outside", profile)
    first, second = belligerents
    front = CommentedMap()
    front["id"] = "contested"
    front["between"] = [first["id"], second["id"]]
    front["control"] = _contested(text, first["id"])
    commitments = []
    for tie in ties:
        commitment = CommentedMap()
        if "id" in tie:
            commitment["id"] = tie["id"]
        commitment["from"] = tie["backer"]
        commitment["to"] = tie["client"]
        commitment["kind"] = KIND[tie["kind"]]
        commitment["trigger"] = TRIGGER[tie.get("scope", "anywhere")]
        for key in ("strength", "reliability"):
            if key in tie:
                commitment[key] = float(tie[key])
        _copy_comments(tie, commitment)
        commitments.append(commitment)
    keys = list(data.keys())
    position = keys.index("ties")
    data.insert(position, "fronts", [front])
    data.insert(position + 1, "commitments", commitments)
    data.pop("ties")
    definition = data.get("regional_escalation")
    if isinstance(definition, dict):
        rung = int(definition.pop("backer_rung", 8))
        fight = definition.pop("backer_vs_backer", True)
        definition["outside_form"] = {7: "indirect", 8: "limited", 9: "none"}[rung]
        definition["outside_powers_fight"] = fight
    if "ladder" in data:
        data.pop("ladder")
    observed = data.get("observed")
    if isinstance(observed, dict):
        _rename(observed, "backer_entered_openly", "open_entry")
        _rename(observed, "backers_fought", "outside_powers_fought")
        for fact in observed.get("stylised_facts") or []:
            if fact.get("statistic") == "p_backer_war":
                fact["statistic"] = "p_outside_war"
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _contested(text: str, first: str) -> float:
    """The first belligerent's contested_territory (read before the sections were moved)."""
    data = _yaml().load(text)
    for actor in data["actors"]:
        if actor.get("id") == first:
            return float(actor["belligerent"].get("contested_territory", 0.5))
    return 0.5


def _insert_after(mapping: Any, after: str, key: str, value: Any) -> None:
    keys = list(mapping.keys())
    mapping.insert(keys.index(after) + 1 if after in keys else len(keys), key, value)


def _rename(mapping: Any, old: str, new: str) -> None:
    if old in mapping:
        keys = list(mapping.keys())
        mapping.insert(keys.index(old), new, mapping.pop(old))


def _copy_comments(source: Any, target: Any) -> None:
    comments = getattr(source, "ca", None)
    if comments is None:
        return
    for key, items in comments.items.items():
        new_key = {"backer": "from", "client": "to", "scope": "trigger"}.get(key, key)
        target.ca.items[new_key] = items
