"""The scenario schema: what a crisis description may say, and what each field means.

A scenario names the actors of a crisis (belligerents, the outside powers that back them,
mediators), the ties from backers to clients, rivalries between backers, truces, the escalation
ladder and the few global dynamics that set the pace of the war. Field descriptions here are the
short form; docs/MODEL.md gives every parameter its range, default and source.

Cross-references (a tie naming an unknown actor, a truce outside the horizon, ...) are checked
after the fields themselves, in :mod:`sim.scenario.checks`, so every problem is reported at once.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.scenario.uncertainties import Uncertainty

Probability = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]

Role = Literal["belligerent", "backer", "mediator"]
TieKind = Literal["defence_pact", "arms_supply", "political_support", "proxy_fighters"]
Scope = Literal["recognised_territory", "anywhere"]
TruceDesign = Literal["bare", "monitored", "peacekept"]
Fielding = Literal["none", "monitors", "peacekeepers"]

MAX_RUNS = 100_000_000
MAX_HORIZON_DAYS = 3_650

DEFAULT_LADDER = [
    "truce holding",
    "protest and rhetoric",
    "posturing, mobilisation, arms deliveries",
    "skirmishes and truce violations",
    "limited offensive",
    "full war between belligerents",
    "deep strikes or spill-over onto recognised territory",
    "backer's indirect combat role",
    "backer's direct, acknowledged intervention",
    "backer against backer",
]


class Strict(BaseModel):
    """Base of every schema object: unknown keys are errors, never silently ignored."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class BelligerentProfile(Strict):
    """How a party to the war fights, tires, and keeps or breaks a truce."""

    opponent: Identifier = Field(description="id of the belligerent it fights")
    strength: Positive = Field(description="relative combat power (terrain and arms included)")
    resolve: Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)] = Field(
        1.0, description="will to fight at the start; capitulation when it falls to the threshold"
    )
    war_weariness: NonNegative = Field(0.0, description="resolve lost per day of fighting")
    casualty_sensitivity: NonNegative = Field(
        0.0, description="resolve lost per 1,000 own deaths"
    )
    territory_sensitivity: NonNegative = Field(
        0.0, description="resolve lost per unit share of the contested territory lost"
    )
    truce_compliance: Probability = Field(
        description="daily probability of not deliberately violating a truce in force"
    )
    retaliation_propensity: Probability = Field(
        description="probability of answering a perceived truce violation by fire"
    )
    deep_strike_propensity: Probability = Field(
        0.0, description="daily probability, at war, of striking the opponent's recognised territory"
    )
    contested_territory: Probability = Field(
        description="share of the contested territory it holds at the start"
    )
    war_aim: Probability = Field(
        1.0, description="share of the contested territory it fights to hold; once it holds that much, "
        "momentum no longer tempts it to break truces or refuse them"
    )


class BackerProfile(Strict):
    """How an outside power climbs its own ladder and what its help is worth."""

    escalation_rate: Probability = Field(
        description="daily probability of climbing one rung when a tie's trigger is fully met"
    )
    indirect_support: NonNegative = Field(
        0.0, description="combat power added to the client, as a share, at the indirect rung (7)"
    )
    intervention_power: NonNegative = Field(
        0.0, description="combat power added to the client, as a share, after open entry (8)"
    )
    exposure: Probability = Field(
        0.0, description="daily probability, at war, that fire hits the backer's assets"
    )
    incident_absorption: Probability = Field(
        1.0, description="probability that an incident hitting its assets is absorbed"
    )


class MediatorProfile(Strict):
    """How often an outside party tries to broker a truce, and with what leverage and bias."""

    attempt_rate: Probability = Field(
        description="daily probability of a brokering attempt while fighting goes on"
    )
    leverage: dict[Identifier, Probability] = Field(
        description="per belligerent id: probability that party accepts a truce it brokers"
    )
    bias_toward: Identifier | None = Field(None, description="belligerent it leans towards")
    bias: Probability = Field(
        0.0, description="extra violation hazard, as a share, of the side it leans against"
    )
    fields: Fielding = Field("none", description="what it can put on the ground with a truce")


class Actor(Strict):
    """A state or armed force with one or more roles in the crisis."""

    id: Identifier
    name: str = Field(min_length=1, max_length=200)
    roles: list[Role] = Field(min_length=1, max_length=3)
    belligerent: BelligerentProfile | None = None
    backer: BackerProfile | None = None
    mediator: MediatorProfile | None = None


class Tie(Strict):
    """A directed alliance tie from a backer to a client belligerent."""

    id: Identifier | None = Field(None, description="defaults to BACKER_CLIENT_KIND")
    backer: Identifier
    client: Identifier
    kind: TieKind
    scope: Scope = Field(
        "anywhere", description="which events trigger it: fighting anywhere, or only strikes "
        "on the client's recognised territory"
    )
    strength: Probability = Field(description="how much the tie binds the backer to the client")
    reliability: Probability = Field(
        description="probability the backer honours the tie in this crisis at all"
    )

    @model_validator(mode="after")
    def _default_id(self) -> Tie:
        if self.id is None:
            object.__setattr__(self, "id", f"{self.backer}_{self.client}_{self.kind}")
        return self


class Rivalry(Strict):
    """Two backers whose open involvement on opposite sides can bring them to blows."""

    id: Identifier | None = None
    between: list[Identifier] = Field(min_length=2, max_length=2)
    intensity: Probability

    @model_validator(mode="after")
    def _default_id(self) -> Rivalry:
        if self.id is None and len(self.between) == 2:
            object.__setattr__(self, "id", "_".join(self.between))
        return self


class ScheduledTruce(Strict):
    """A truce known to be agreed for a given day of the calendar."""

    id: Identifier | None = None
    date: dt.date | None = Field(None, description="calendar day it takes effect")
    day: Annotated[int, Field(ge=0, le=MAX_HORIZON_DAYS)] | None = Field(None, description="or: day index from start")
    broker: Identifier
    design: TruceDesign = "bare"


class Truces(Strict):
    """Scheduled truces, and whether mediators broker more as the run goes."""

    scheduled: list[ScheduledTruce] = Field(default_factory=list, max_length=1000)
    brokered: bool = True


class RegionalEscalation(Strict):
    """The scenario's definition of regional escalation."""

    backer_rung: Annotated[int, Field(ge=7, le=9)] = Field(
        8, description="a backer at or above this rung is a regional escalation"
    )
    backer_vs_backer: bool = Field(True, description="backers fighting each other counts")


class Dynamics(Strict):
    """Global constants of the war's pace; defaults are documented in docs/MODEL.md."""

    daily_casualties: Positive = 150.0
    casualty_noise: NonNegative = 0.5
    loss_exchange: Annotated[float, Field(ge=0.0, le=3.0, allow_inf_nan=False)] = 1.0
    front_speed: Positive = 0.04
    front_noise: NonNegative = 0.02
    momentum_memory_days: Annotated[float, Field(ge=1.0, le=365.0, allow_inf_nan=False)] = 5.0
    momentum_truce_breaking: NonNegative = 1.0
    momentum_mediation_refusal: Probability = 0.8
    attribution_noise: Probability = 0.1
    spiral_gain: NonNegative = 0.5
    emboldening: NonNegative = 0.5
    capitulation_resolve: Probability = 0.2
    fatality_penalty: Probability = 0.39
    monitored_violation_factor: NonNegative = 0.6
    monitored_noise_factor: NonNegative = 0.3
    peacekept_violation_factor: NonNegative = 0.3
    peacekept_noise_factor: NonNegative = 0.2
    backer_clash_rate: Probability = 0.05


STATISTICS = (
    "p_regional_escalation",
    "p_backer_war",
    "p_decisive_victory",
    "p_truce_holding",
    "p_war_ongoing",
    "truces_broken_within_3_days",
    "truces_broken_per_run",
    "median_war_days",
)


class StylisedFact(Strict):
    """A pattern the case is known for, checked as a range on one summary statistic."""

    fact: str = Field(min_length=1, description="the pattern in words")
    statistic: Literal[STATISTICS] = Field(description="the summary statistic that shows it")
    range: list[float] = Field(min_length=2, max_length=2, description="[low, high] it must fall in")

    @model_validator(mode="after")
    def _ordered(self) -> StylisedFact:
        if self.range[0] > self.range[1]:
            raise ValueError(f"range [{self.range[0]}, {self.range[1]}] must be [low, high]")
        return self


class Observed(Strict):
    """What actually happened, for historical cases (used by backtests, never by the model)."""

    backer_entered_openly: bool = Field(description="a backer entered the war openly")
    backers_fought: bool = Field(False, description="backers fought each other")
    decisive_victory: bool | None = Field(None, description="the war ended in one side's defeat")
    truces_broken: Annotated[int, Field(ge=0)] | None = Field(None, description="truces broken")
    war_days: Annotated[int, Field(ge=0)] | None = Field(None, description="days from onset to the last fighting")
    sources: list[str] = Field(default_factory=list, description="where these facts come from")
    stylised_facts: list[StylisedFact] = Field(default_factory=list)


class Scenario(Strict):
    """A crisis to play out day by day."""

    name: Identifier
    title: str = Field(min_length=1, max_length=300)
    description: str = ""
    start_date: dt.date
    horizon_days: Annotated[int, Field(ge=1, le=MAX_HORIZON_DAYS)]
    initial_state: Literal["war", "truce"] = "war"
    runs: Annotated[int, Field(ge=1, le=MAX_RUNS)] = 10_000
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    ladder: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=lambda: list(DEFAULT_LADDER),
                                                                max_length=100)
    regional_escalation: RegionalEscalation = Field(default_factory=RegionalEscalation)
    actors: list[Actor] = Field(min_length=2, max_length=50)
    ties: list[Tie] = Field(default_factory=list, max_length=200)
    rivalries: list[Rivalry] = Field(default_factory=list, max_length=200)
    truces: Truces = Field(default_factory=Truces)
    dynamics: Dynamics = Field(default_factory=Dynamics)
    observed: Observed | None = None
    uncertainties: list[Uncertainty] = Field(default_factory=list, max_length=200, description=(
        "judgement parameters to explore: dotted path, range or choices, and the source of the range"))

    def __repr__(self) -> str:
        """``Scenario(name='...')``: short, so that tables of runs (mesa.batch_run) name the scenario."""
        return f"Scenario(name={self.name!r})"

    __str__ = __repr__

    def actor(self, actor_id: str) -> Actor:
        """The actor with this id."""
        for actor in self.actors:
            if actor.id == actor_id:
                return actor
        raise KeyError(actor_id)

    def with_role(self, role: Role) -> list[Actor]:
        """Actors holding a role, in file order."""
        return [a for a in self.actors if role in a.roles]

    def truce_day(self, truce: ScheduledTruce) -> int:
        """The day index (0 = start date) a scheduled truce takes effect."""
        if truce.day is not None:
            return truce.day
        assert truce.date is not None
        return (truce.date - self.start_date).days
