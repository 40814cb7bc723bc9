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

# When a scenario declares no uncertainties, the page offers the numeric fields of these names
# (in the order they appear in the scenario), then any other bounded numeric field, up to a few.
DEFAULT_CONTROL_FIELDS = ("escalation_rate", "reliability", "deep_strike_propensity", "truce_compliance")
# Sections of a scenario that describe history or the study, not the model's inputs.
NOT_MODEL_INPUTS = ("observed", "uncertainties", "runs", "seed", "horizon_days", "regional_escalation")


def entries(summary: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per actor that may enter the war openly: its probability of doing so, with its interval.

    Today the summary key is ``backer_entered_openly``; after the "many parties" rewrite it is
    ``entered``. Both are read, so the page works on either side of that change.
    """
    found = summary.get("entered", summary.get("backer_entered_openly", {}))
    return {actor: value for actor, value in found.items() if isinstance(value, dict) and "estimate" in value}


def escalated(records: dict[str, np.ndarray]) -> np.ndarray:
    """Per replication record of a chunk: did it end in regional escalation (by the scenario's definition)?"""
    return records["escalation_day"] >= 0


@dataclass(frozen=True)
class DayState:
    """One day of a single run, as the single-run view draws it."""

    day: int
    front: float                    # share of the contested territory the first belligerent holds
    belligerents: tuple[str, str]
    rungs: dict[str, int]           # actor id -> rung on the escalation ladder today
    truce: bool                     # a truce in force at the end of the day
    escalated: bool                 # regional escalation has happened by this day
    entered: tuple[str, ...]        # actors that have entered the war openly by this day
    casualties: dict[str, float]    # belligerent id -> deaths so far
    outcome: str | None             # the run's outcome once it has ended
    ladder: tuple[str, ...]


def day_state(model: EscalationModel) -> DayState:
    """What a one-lane :class:`EscalationModel` looks like at the end of its latest day."""
    params = model.params
    lane = (0, 0)
    rungs = {actor.actor_id: int(actor.rung[lane]) for actor in (*model.belligerents, *model.backers)}
    entered = tuple(backer.actor_id for backer in model.backers if int(backer.highest_rung[lane]) >= 8)
    outcome = int(model.outcome[lane])
    return DayState(
        day=int(model.day),
        front=float(model.territory[lane]),
        belligerents=tuple(params.belligerent_ids),
        rungs=rungs,
        truce=bool(model.truce_in_force[lane]),
        escalated=bool(model.escalation_day[lane] >= 0),
        entered=entered,
        casualties={b.actor_id: float(b.casualties[lane]) for b in model.belligerents},
        outcome=OUTCOMES[outcome] if outcome >= 0 else None,
        ladder=tuple(params.ladder),
    )
