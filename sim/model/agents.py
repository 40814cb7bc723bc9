"""The actors of a crisis: one Mesa agent per actor, its state a row of the world's arrays.

An actor is described by what it can do, not by a role: it may fight (a party), climb its own
involvement as an outside power, and mediate. Because an outside power enters the war in some
replications and not in others, its camp, form of involvement and forces on each front are arrays
over lanes, like every other piece of its state. The model keeps each kind of state for all actors
in one array (actors first, then the lanes), so that every mechanism is written once for all actors
and all lanes; an agent's attributes are views of its own row.
"""

from __future__ import annotations

import mesa
import numpy as np

from sim.model.lanes import find
from sim.model.params import FORM_RUNG, LIMITED
from sim.model.truces import bound_and_tempted, hurting

Array = np.ndarray

#: The per-actor state arrays of the world that an agent exposes as its own attributes.
STATE = ("camp", "form", "client", "resolve", "weariness", "casualties", "grievance", "highest_rung", "left",
         "incidents")


class Actor(mesa.Agent):
    """A state or armed force: its camp, involvement, resolve and losses, lane by lane.

    Attributes:
        actor_id: the scenario's id.
        index: its row in the world's arrays (-1 for an actor that only mediates: it has no lane state).
        can_fight: it has a party profile (or can enter in combat as an outside power).
        is_outside: it climbs its own involvement through its commitments.
        is_mediator: it brokers truces.
    """

    def __init__(self, model: mesa.Model, actor_id: str, index: int, *, has_party: bool, is_outside: bool,
                 is_mediator: bool) -> None:
        super().__init__(model)
        self.actor_id = actor_id
        self.index = index
        self.can_fight = has_party or is_outside
        self.is_outside = is_outside
        self.is_mediator = is_mediator

    def __getattr__(self, name: str) -> Array:
        if name in STATE and self.index >= 0:
            return getattr(self.model, name)[self.index]
        raise AttributeError(name)

    @property
    def at_war(self) -> Array:
        """Lanes in which it fights today (it has a camp)."""
        return self.model.camp[self.index] >= 0

    @property
    def in_combat(self) -> Array:
        """Lanes in which, as an outside power, it is in acknowledged combat (limited or open)."""
        return self.at_war & (self.model.form[self.index] >= LIMITED)

    @property
    def holds_its_aim(self) -> Array:
        """Lanes in which it fights and holds its war aim today (docs/MODEL.md 7.8.1): the ground it fights for, its
        start line where its aim is the status quo, or its operation's days; it then presses no momentum."""
        return self.at_war & self.model.aim_held_now[self.index]

    @property
    def tempted_to_break_the_truce(self) -> Array:
        """Lanes in which it fights, is bound by the truce in force, and momentum gained since it agreed the truce
        tempts it to break it (docs/MODEL.md 7.2): not where it has gained nothing since, or holds its aim."""
        lanes = find(self.model.truce_in_force)
        tempted = np.zeros(self.model.lane_shape, dtype=bool)
        bound, tempting = bound_and_tempted(self.model, lanes)
        tempted[lanes] = bound[self.index] & (tempting[self.index] > 0)
        return tempted

    @property
    def hurt_by_the_war(self) -> Array:
        """How far, 0 to 1, the war going badly for it makes it seek a truce and follow a halt (docs/MODEL.md 7.4,
        7.8.1): its distress (resolve lost, or momentum against it, 7.3.4); never for an insurgent (7.8.8)."""
        lanes = find(np.ones(self.model.lane_shape, dtype=bool))
        hurt = np.zeros(self.model.lane_shape)
        hurt[lanes] = hurting(self.model, lanes)[self.index]
        return hurt

    @property
    def called_upon(self) -> Array:
        """How strongly its commitments have called on it this crisis (docs/MODEL.md 7.5.12): the highest any of
        their triggers has reached (0 to 1, or a distress beyond), kept while ``dynamics.news_response`` is above
        0. Only a rise above it is news, on which it may honour a commitment at once, to its ceiling; 0 for an
        actor with no commitment to climb."""
        own = self.model.commitments_of.get(self.index)
        if own is None or not self.model.hearing:
            return np.zeros(self.model.lane_shape)
        return self.model.trigger_high[own].max(axis=0)

    @property
    def rung(self) -> Array:
        """Its rung on the ladder today: its form's rung as an outside power, or its conduct as a party."""
        return np.maximum(self.model.rung[self.index], FORM_RUNG[self.model.form[self.index]])

    def __repr__(self) -> str:
        return f"Actor({self.actor_id!r})"
