"""Every read of model-specific outputs the page makes, in one place.

The page shows who enters the war, the front, the rungs of each actor and the truces. The names
of those outputs (summary keys, record fields, agent attributes) belong to the model and change
with it; the rest of :mod:`sim.app` sees only what these functions return.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.model.model import OUTCOMES, EscalationModel
from sim.model.params import LIMITED

# When a scenario declares no uncertainties, the page offers the numeric fields of these names
# (in the order they appear in the scenario), then any other bounded numeric field, up to a few.
DEFAULT_CONTROL_FIELDS = ("escalation_rate", "reliability", "deep_strike_propensity", "truce_compliance")
# Sections of a scenario that describe history or the study, not the model's inputs.
NOT_MODEL_INPUTS = ("observed", "uncertainties", "runs", "seed", "horizon_days", "regional_escalation")


def entries(summary: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per outside power: its probability of entering the war in combat (limited or open), with its interval."""
    found = summary.get("in_combat", {})
    return {actor: value for actor, value in found.items() if isinstance(value, dict) and "estimate" in value}


def escalated(records: dict[str, np.ndarray]) -> np.ndarray:
    """Per replication record of a chunk: did it end in regional escalation (by the scenario's definition)?"""
    return records["escalation_day"] >= 0


@dataclass(frozen=True)
class DayState:
    """One day of a single run, as the single-run view draws it."""

    day: int
    front: float                    # share of the first front's contested ground its first camp holds
    belligerents: tuple[str, str]   # the two camps of the first front
    rungs: dict[str, int]           # actor id -> rung on the escalation ladder today
    truce: bool                     # a truce in force at the end of the day
    escalated: bool                 # regional escalation has happened by this day
    entered: tuple[str, ...]        # actors that have entered the war openly by this day
    casualties: dict[str, float]    # id of each actor that can fight -> deaths so far
    outcome: str | None             # the run's outcome once it has ended
    ladder: tuple[str, ...]


def day_state(model: EscalationModel) -> DayState:
    """What a one-lane :class:`EscalationModel` looks like at the end of its latest day."""
    params = model.params
    structure = params.structure
    lane = (0, 0)
    actors = [actor for actor in model.actors if actor.index >= 0 and actor.can_fight]
    rungs = {actor.actor_id: int(actor.rung[lane]) for actor in actors}
    entered = tuple(actor.actor_id for actor in actors
                    if actor.is_outside and int(model.highest_form[actor.index][lane]) >= LIMITED)
    outcome = int(model.outcome[lane])
    first, second = (structure.camp_ids[c] for c in structure.front_camps[0])
    return DayState(
        day=int(model.day),
        front=float(model.control[0][lane]),
        belligerents=(first, second),
        rungs=rungs,
        truce=bool(model.truce_in_force[lane]),
        escalated=bool(model.escalation_day[lane] >= 0),
        entered=entered,
        casualties={actor.actor_id: float(model.casualties[actor.index][lane]) for actor in actors},
        outcome=OUTCOMES[outcome] if outcome >= 0 else None,
        ladder=tuple(params.ladder),
    )
