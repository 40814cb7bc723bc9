"""The scenario schema: what a crisis description may say, and what each field means.

A scenario names the actors of a crisis by what they can do: fight (a ``party:`` profile, and a
``camp:`` if they are at war on day 0), act as an outside power that climbs its own involvement
(``outside:``), and mediate (``mediator:``). Fronts are the contested territories between parties
of different camps. Commitments are directed ties from any actor to any actor, each with a kind, a
trigger, the highest form of involvement it can carry, a strength and a reliability. Field
descriptions here are the short form; docs/MODEL.md gives every parameter its range, default and
source.

Cross-references (a commitment naming an unknown actor, a front between two parties of one camp,
...) are checked after the fields themselves, in :mod:`sim.scenario.checks`, so every problem is
reported at once.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.scenario.uncertainties import Uncertainty

Probability = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]


def bounded(low: float, high: float, *, above: bool = False) -> type[float]:
    """A finite float from ``low`` (or strictly above it) to ``high``: every magnitude has a domain bound."""
    lower = {"gt": low} if above else {"ge": low}
    return Annotated[float, Field(**lower, le=high, allow_inf_nan=False)]  # type: ignore[return-value]


Strength = bounded(0.0, 100.0, above=True)
Share = bounded(0.0, 100.0)

#: The forms of an outside power's involvement, lowest first, and the ladder rung of each.
FORMS = ("none", "political", "posturing", "deniable", "indirect", "limited", "open")
Form = Literal["none", "political", "posturing", "deniable", "indirect", "limited", "open"]
CeilingForm = Literal["political", "posturing", "deniable", "indirect", "limited", "open"]
CommitmentKind = Literal["defence_pact", "guarantee", "consultation", "patronage", "arms_supply",
                         "political_support", "proxy_forces"]
Trigger = Literal["recognised_territory", "forces_anywhere", "defeat_likely", "rival_entry", "fighting_anywhere"]
TruceDesign = Literal["bare", "monitored", "peacekept"]
#: How open a front's ground is to manoeuvre (docs/MODEL.md 7.3.2): its pace is dynamics.open_terrain_pace to the
#: power 1 (open), 1/2 (mixed) or 0 (rugged, the reference on which front_speed was set).
Terrain = Literal["open", "mixed", "rugged"]
Fielding = Literal["none", "monitors", "peacekeepers"]

MAX_RUNS = 100_000_000
MAX_HORIZON_DAYS = 3_650
MAX_ACTORS = 40
MAX_FRONTS = 20

DEFAULT_LADDER = [
    "truce holding",
    "protest and rhetoric",
    "posturing, mobilisation, arms deliveries",
    "skirmishes and truce violations",
    "limited offensive",
    "full war between parties",
    "deep strikes on recognised territory",
    "deniable involvement (covert units, contractors)",
    "indirect combat role (advisers, drones, proxies)",
    "limited open entry (air or naval only)",
    "full open entry",
    "outside powers fighting each other",
]


class Strict(BaseModel):
    """Base of every schema object: unknown keys are errors, never silently ignored."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class PartyProfile(Strict):
    """How an actor fights, tires, and keeps or breaks a truce."""

    strength: Strength = Field(description="combat power it brings to the war in all, split over its fronts, "
                               "in the scenario's own units (a reference party = 1)")
    resolve: Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)] = Field(
        1.0, description="will to fight at the start; it leaves the war when resolve falls to the threshold"
    )
    war_weariness: Probability = Field(0.0, description="resolve lost per day of fighting")
    casualty_sensitivity: Share = Field(0.0, description="resolve lost per 1,000 own deaths")
    territory_sensitivity: bounded(0.0, 10.0) = Field(  # type: ignore[valid-type]
        0.0, description="resolve lost per unit share of its contested ground lost (weighted over its fronts)"
    )
    truce_compliance: Probability = Field(
        0.7, description="daily probability of not deliberately violating a truce in force"
    )
    retaliation_propensity: Probability = Field(
        0.8, description="probability of answering a perceived truce violation by fire"
    )
    deep_strike_propensity: Probability = Field(
        0.0, description="daily probability, at war, of striking an opponent's recognised territory"
    )
    recognised_territory: bool = Field(
        True, description="whether it has recognised territory of its own that can be struck (false for a "
        "non-state armed group)"
    )
    insurgent: bool = Field(
        False, description="a non-state armed group fighting as irregulars: beaten, it fights on rather than "
        "capitulate (it may still withdraw to its start line or accept a mediator's truce), and it follows a halt only "
        "once it holds its aim"
    )
    war_aim: Probability = Field(
        1.0, description="share of the contested ground it fights to hold; once it holds that much, "
        "momentum no longer tempts it to break truces or refuse them"
    )
    status_quo: bool = Field(
        False, description="its day-0 aim is the status quo: to keep the ground it held on day 0 (its start line), "
        "not to take more; it holds its aim while it keeps that line (and also where war_aim or operation_days say so)"
    )
    front_shares: dict[Identifier, Probability] | None = Field(
        None, description="per front id: share of its strength committed there (sum 1); default: equal"
    )
    operation_days: Annotated[int, Field(ge=1, le=MAX_HORIZON_DAYS)] | None = Field(
        None, description="a punitive or coercive operation: after this many days of fighting its aim is done and "
        "it offers a halt (omit: it fights for ground only)"
    )
    reserves: bounded(0.0, 5.0) = Field(  # type: ignore[valid-type]
        0.0, description="combat power its reserves add once mobilised, as a share of its strength"
    )
    mobilisation_days: bounded(0.0, 365.0) = Field(  # type: ignore[valid-type]
        0.0, description="days of war until its reserves are all in line (linear build-up; 0: at once)"
    )


#: Outside-power fields that, left unset, take the ``dynamics`` value of the same name (fitted across the library).
SHARED_OUTSIDE_FIELDS = ("escalation_rate", "readiness")


class OutsideProfile(Strict):
    """How an outside power climbs its own involvement, and what its involvement is worth."""

    escalation_rate: Probability | None = Field(
        None, description="daily probability of climbing when a commitment's trigger is fully met "
        "(omit: dynamics.escalation_rate, fitted across the case library)"
    )
    readiness: Probability | None = Field(
        None, description="probability that a climb goes straight to the commitment's ceiling "
        "(omit: dynamics.readiness, fitted across the case library)"
    )
    indirect_support: bounded(0.0, 10.0) = Field(  # type: ignore[valid-type]
        0.0, description="combat power added to the protected party, as a share, at the deniable and indirect forms"
    )
    intervention_power: Share = Field(
        0.0, description="combat power it brings when it enters in full (same units as parties' strength)"
    )
    limited_share: Probability = Field(
        0.4, description="share of its intervention power in a limited entry (air or naval only)"
    )
    initial_form: Form = Field("none", description="its involvement on day 0")
    front: Identifier | None = Field(
        None, description="the front it fights on if it enters in combat (default: the protected party's first)"
    )
    exposure: dict[Identifier, Probability] = Field(
        default_factory=dict, description="per party id: daily probability, while that party fights, that its "
        "fire hits this actor's forces or assets"
    )
    incident_absorption: Probability = Field(
        1.0, description="probability that an incident hitting its forces or assets is absorbed"
    )
    restraint: Probability = Field(
        0.0, description="pressure on the parties it is committed to: probability that it makes a client at war "
        "accept a brokered halt, and the share by which it cuts that client's truce violations"
    )
    step_down_rate: Probability = Field(
        0.0, description="daily probability, while a truce holds and it is not at war, of stepping down one form "
        "of involvement"
    )


class MediatorProfile(Strict):
    """How often an outside party tries to broker a truce, and with what leverage and bias."""

    attempt_rate: Probability = Field(
        description="daily probability of a brokering attempt while fighting goes on"
    )
    leverage: dict[Identifier, Probability] = Field(
        description="per party id: probability that party accepts a truce it brokers"
    )
    bias_toward: Identifier | None = Field(None, description="party it leans towards")
    bias: Probability = Field(
        0.0, description="extra violation hazard, as a share, of the parties it leans against"
    )
    fields: Fielding = Field("none", description="what it can put on the ground with a truce")
    coercion: Probability = Field(
        0.0, description="how far it overrides a winning side's refusal (1: momentum no longer makes a party refuse "
        "it); a halt it brings about on a side still pressing is an imposed halt"
    )
    term_days: Annotated[int, Field(ge=1, le=MAX_HORIZON_DAYS)] | None = Field(
        None, description="the truces it brokers are pauses of this many days (omit: open-ended)"
    )


class Actor(Strict):
    """A state or armed force, described by what it can do: fight, act as an outside power, mediate."""

    id: Identifier
    name: str = Field(min_length=1, max_length=200)
    camp: Identifier | None = Field(None, description="the camp it fights in on day 0 (omit if not at war)")
    party: PartyProfile | None = None
    outside: OutsideProfile | None = None
    mediator: MediatorProfile | None = None


class Front(Strict):
    """A contested territory between two camps: named by two parties at war on day 0 (``between``),
    or, for a front that opens only when outside powers enter, by its two camps (``camps``)."""

    id: Identifier
    between: list[Identifier] | None = Field(
        None, min_length=2, max_length=2, description="the two parties whose forces face each other here")
    camps: list[Identifier] | None = Field(
        None, min_length=2, max_length=2, description="or: the two camps that would fight here (a front that "
        "opens when entrants reach it)")
    control: Probability = Field(description="share of the contested ground held by the first side's camp at the start")
    intensity: bounded(0.0, 100.0, above=True) = Field(  # type: ignore[valid-type]
        1.0, description="scale of this front's daily casualties, relative to dynamics.daily_casualties"
    )
    mobility: bounded(0.01, 100.0) = Field(  # type: ignore[valid-type]
        1.0, description="how fast this front moves, relative to dynamics.front_speed (open desert above 1, "
        "mountains or fortified lines below), before its terrain"
    )
    terrain: Terrain | None = Field(
        None, description="open (desert, steppe, open plain), mixed (hills, savanna, river plains) or rugged "
        "(mountains, jungle, dense towns, a fortified line): the front's pace is multiplied by "
        "dynamics.open_terrain_pace (open), its square root (mixed) or 1 (rugged; also when unset)"
    )


class Commitment(Strict):
    """A directed commitment from one actor to another, with its kind, trigger and ceiling."""

    id: Identifier | None = Field(None, description="defaults to FROM_TO_KIND")
    from_: Identifier = Field(alias="from", description="the committed actor")
    to: Identifier = Field(description="the protected actor")
    kind: CommitmentKind
    trigger: Trigger | None = Field(None, description="which events call on it (default by kind)")
    ceiling: CeilingForm | None = Field(None, description="the highest form it can carry (default by kind)")
    strength: Probability = Field(description="how much it binds the committed actor")
    reliability: Probability | None = Field(
        None, description="probability it is honoured in this crisis at all (default by kind)"
    )
    deliveries: bounded(0.0, 1.0) = Field(  # type: ignore[valid-type]
        0.0, description="combat power the protected actor gains per 30 days of its war while the commitment is "
        "honoured (arms deliveries, resupply), as a share of its strength"
    )

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)

    @model_validator(mode="after")
    def _default_id(self) -> Commitment:
        if self.id is None:
            object.__setattr__(self, "id", f"{self.from_}_{self.to}_{self.kind}")
        return self


class Rivalry(Strict):
    """Two outside powers whose involvement on opposite sides can bring them to blows."""

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
    term_days: Annotated[int, Field(ge=1, le=MAX_HORIZON_DAYS)] | None = Field(
        None, description="a fixed-term pause of this many days (omit: open-ended)"
    )
    fronts: list[Identifier] | None = Field(
        None, min_length=1, max_length=MAX_FRONTS, description="the front ids it covers: a local truce that binds "
        "the parties with forces there while the war goes on elsewhere (omit: every front, the whole war)"
    )
    domain: Literal["all", "strikes"] = Field(
        "all", description="all: the fighting on the fronts it covers; strikes: deep strikes on recognised territory "
        "only, while the fronts fight on (a truce of one domain; give no fronts)"
    )


class Truces(Strict):
    """Scheduled truces, and whether mediators broker more as the run goes."""

    scheduled: list[ScheduledTruce] = Field(default_factory=list, max_length=1000)
    brokered: bool = True


class RegionalEscalation(Strict):
    """The scenario's definition of regional escalation: any of these conditions."""

    outside_form: Form = Field(
        "limited", description="an outside power at or above this form (none: this condition is off)"
    )
    outside_powers_fight: bool = Field(True, description="outside powers in combat against each other")
    new_parties: Annotated[int, Field(ge=1, le=MAX_ACTORS)] | None = Field(
        None, description="at least this many actors at war that were not at war on day 0"
    )
    actor_forms: dict[Identifier, CeilingForm] = Field(
        default_factory=dict, description="per actor id: that actor reaching that form"
    )


class Dynamics(Strict):
    """Global constants of the war's pace; defaults are documented in docs/MODEL.md."""

    daily_casualties: bounded(0.0, 100_000.0, above=True) = 150.0  # type: ignore[valid-type]
    casualty_noise: bounded(0.0, 3.0) = 0.5  # type: ignore[valid-type]
    loss_exchange: bounded(0.0, 3.0) = 1.0  # type: ignore[valid-type]
    front_speed: bounded(1e-4, 1.0) = 0.04  # type: ignore[valid-type]
    open_terrain_pace: bounded(1.0, 100.0) = 1.57  # type: ignore[valid-type]
    front_noise: bounded(0.0, 1.0) = 0.02  # type: ignore[valid-type]
    momentum_memory_days: bounded(1.0, 365.0) = 5.0  # type: ignore[valid-type]
    momentum_truce_breaking: bounded(0.0, 100.0) = 1.0  # type: ignore[valid-type]
    momentum_mediation_refusal: Probability = 0.5489
    distress_mediation_acceptance: Probability = 0.1961
    agreement_binding: Probability = 0.9052
    attribution_noise: Probability = 0.1202
    spiral_gain: bounded(0.0, 10.0) = 1.003  # type: ignore[valid-type]
    emboldening: bounded(0.0, 10.0) = 0.5  # type: ignore[valid-type]
    capitulation_resolve: Probability = 0.08657
    withdrawal_resolve: Probability = 0.5735
    defeat_likely_distress: Probability = 0.558
    fatality_penalty: Probability = 0.5316
    monitored_violation_factor: bounded(0.0, 10.0) = 0.6  # type: ignore[valid-type]
    monitored_noise_factor: bounded(0.0, 10.0) = 0.3  # type: ignore[valid-type]
    peacekept_violation_factor: bounded(0.0, 10.0) = 0.3  # type: ignore[valid-type]
    peacekept_noise_factor: bounded(0.0, 10.0) = 0.2  # type: ignore[valid-type]
    clash_rate: Probability = 0.1011
    deniable_visibility: Probability = 0.1
    indirect_visibility: Probability = 0.3
    limited_visibility: Probability = 0.7
    entrant_weariness: Probability = 0.004
    entrant_casualty_sensitivity: Share = 0.2
    bare_tolerance: Probability = 0.97
    monitored_tolerance: Probability = 0.98
    peacekept_tolerance: Probability = 0.99
    grievance_limit: bounded(1.0, 1000.0) = 100.0  # type: ignore[valid-type]
    consolidation_half_life: bounded(0.1, 10_000.0) = 3.0  # type: ignore[valid-type]
    halt_acceptance: Probability = 0.05605
    settlement_rate: Probability = 0.04738
    stalemate_momentum: Probability = 0.2
    escalation_rate: Probability = 0.2744
    readiness: Probability = 0.3849
    deterrence: Probability = 0.1746
    news_response: Probability = 0.0


STATISTICS = (
    "p_regional_escalation",
    "p_outside_war",
    "p_decisive_victory",
    "p_truce_holding",
    "p_war_ongoing",
    "truces_broken_within_3_days",
    "truces_broken_per_run",
    "median_war_days",
    "median_war_size",
    "median_truce_days",
    "p_war_at_horizon",
    "p_ended_capitulation",
    "p_ended_withdrawal",
    "p_ended_negotiated_halt",
    "p_ended_imposed_halt",
    "p_ended_unilateral_halt",
    "p_ended_frozen",
    "p_ended_ongoing",
    "p_withdrawal",
)

Count = Annotated[int, Field(ge=0, le=100_000)]
FiniteNumber = Annotated[float, Field(ge=-1e9, le=1e9, allow_inf_nan=False)]


class StylisedFact(Strict):
    """A pattern the case is known for, checked as a range on one summary statistic."""

    fact: str = Field(min_length=1, max_length=500, description="the pattern in words")
    statistic: Literal[STATISTICS] = Field(description="the summary statistic that shows it")
    range: list[FiniteNumber] = Field(min_length=2, max_length=2, description="[low, high] it must fall in")

    @model_validator(mode="after")
    def _ordered(self) -> StylisedFact:
        if self.range[0] > self.range[1]:
            raise ValueError(f"range [{self.range[0]}, {self.range[1]}] must be [low, high]")
        return self


class Entry(Strict):
    """One outside actor's entry as it happened."""

    actor: Identifier
    form: Form
    day: Annotated[int, Field(ge=0, le=100_000)] | None = None
    note: str = Field("", max_length=500)


EndedBy = Literal["capitulation", "negotiated_halt", "imposed_halt", "unilateral_halt", "withdrawal", "frozen",
                  "ongoing"]


class Observed(Strict):
    """What actually happened, for historical cases (read by backtests only, never by the model)."""

    open_entry: bool = Field(description="an outside state's forces in acknowledged combat within the horizon")
    broad_entry: bool | None = Field(None, description="open entry, deniable entry or an attack at sea on one party")
    outside_powers_fought: bool = Field(False, description="acknowledged combat between two outside powers")
    non_state_entry: bool = Field(False, description="a non-state armed party entering from outside")
    entry_after_window: bool = Field(False, description="an entry that came only after the horizon")
    entries: list[Entry] = Field(default_factory=list, max_length=MAX_ACTORS)
    decisive_victory: bool | None = Field(None, description="the war ended in one side's defeat")
    ended_by: EndedBy | None = None
    truces_broken: Count | None = Field(None, description="truces agreed and broken within the horizon")
    truces_held: Count | None = Field(None, description="truces agreed within the horizon that held")
    war_days: Count | None = Field(None, description="days from day 0 to the last fighting")
    sources: list[Annotated[str, Field(max_length=1000)]] = Field(default_factory=list, max_length=200)
    stylised_facts: list[StylisedFact] = Field(default_factory=list, max_length=50)

    @property
    def regional_escalation(self) -> bool:
        """The strict coding: open entry or outside powers fighting each other."""
        return self.open_entry or self.outside_powers_fought


class Scenario(Strict):
    """A crisis to play out day by day."""

    name: Identifier
    title: str = Field(min_length=1, max_length=300)
    description: str = Field("", max_length=20_000)
    start_date: dt.date
    horizon_days: Annotated[int, Field(ge=1, le=MAX_HORIZON_DAYS, strict=True)]
    initial_state: Literal["war", "truce"] = "war"
    runs: Annotated[int, Field(ge=1, le=MAX_RUNS)] = 10_000
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    ladder: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=lambda: list(DEFAULT_LADDER), max_length=100)
    regional_escalation: RegionalEscalation = Field(default_factory=RegionalEscalation)
    actors: list[Actor] = Field(min_length=2, max_length=MAX_ACTORS)
    fronts: list[Front] = Field(min_length=1, max_length=MAX_FRONTS)
    commitments: list[Commitment] = Field(default_factory=list, max_length=400)
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

    def truce_day(self, truce: ScheduledTruce) -> int:
        """The day index (0 = start date) a scheduled truce takes effect."""
        if truce.day is not None:
            return truce.day
        assert truce.date is not None
        return (truce.date - self.start_date).days
