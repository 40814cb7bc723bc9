"""Mesa's own visualisation of a single run: a ``SolaraViz`` page built from ``mesa.visualization`` components.

The what-if page (:mod:`sim.app.components`) estimates probabilities over thousands of runs; this page shows
one run the way any Mesa model is shown, so that a Mesa user finds the usual controls (Reset, Step,
Play/Pause, play and render intervals, the model's parameters: here the seed) and can add components of
their own. Serve it with ``escalation app SCENARIO --mesa``, or ``solara run sim.app.mesa_page`` with
``ESCALATION_APP_SCENARIO`` set to a scenario file.

The figures are ``make_plot_component`` plots of the model reporters that :class:`EscalationModel` records
in its ``datacollector`` every day (for one run, each is the run's own value): whether the day was fought,
a truce in force and regional escalation; each outside power's form of involvement over time (the ladder
political ... open); each front's control; each fighting actor's resolve. :func:`RunStatus` is a plain Solara
component of the kind a user adds: a function of the model, re-drawn after each step.

Adding a component of one's own::

    import solara
    from mesa.visualization import SolaraViz, make_plot_component
    from sim.app.mesa_page import SingleRun, components, model_params

    model = SingleRun("scenarios/nagorno_karabakh_2020.yaml", seed=1)

    @solara.component
    def Casualties(model):
        solara.Markdown(f"Armenian deaths so far: {model.casualties[1][0, 0]:,.0f}")

    page = SolaraViz(model, components=[*components(model), (Casualties, 0),
                                        make_plot_component("war_size")],
                     model_params=model_params(model))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import solara
from mesa.visualization import SolaraViz, make_plot_component
from mesa.visualization.utils import update_counter

from sim.app import adapter
from sim.model.model import EscalationModel
from sim.scenario.errors import Problem, UserError
from sim.scenario.loader import load_scenario
from sim.scenario.schema import FORMS, Scenario

COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
           "#d62728")
WAR_SERIES = {"at_war": "#c0392b", "truce_in_force": "#2e7d32", "regional_escalation": "#6a1b9a"}
WAR_LABELS = {"at_war": "fought today", "truce_in_force": "truce in force", "regional_escalation":
              "regional escalation so far"}


def _seed(value: Any) -> int:
    text = str(value).strip().replace(",", "").replace("_", "")
    if not text.isdigit():
        raise UserError(Problem(f"found '{value}'; allowed: a whole number from 0", field="seed",
                                source="the Mesa page"))
    return int(text)


class SingleRun(EscalationModel):
    """One run of a scenario, as ``SolaraViz`` re-creates it on Reset: the scenario and a seed.

    Args:
        scenario: a :class:`Scenario` or the path of a scenario file.
        seed: the run's seed (a whole number, or its text as the page's seed field gives it).
    """

    def __init__(self, scenario: Scenario | str | Path, seed: int | str = 0) -> None:
        if not isinstance(scenario, Scenario):
            scenario = load_scenario(scenario)
        self.crisis = scenario  # not ``scenario``: Mesa 3.5's Model has a property of that name
        self.seed_value = _seed(seed)
        super().__init__(scenario, replications=1, rng=self.seed_value, record_series=True)
        self.datacollector.collect(self)  # day 0, so that every plot has a first point


def _names(model: EscalationModel) -> dict[str, str]:
    crisis = getattr(model, "crisis", None)
    return {actor.id: actor.name for actor in crisis.actors} if crisis is not None else {}


def _relabel(labels: dict[str, str], title: str, ylabel: str,
             ticks: Sequence[str] | None = None) -> Callable[[Any], None]:
    """A ``post_process`` for ``make_plot_component``: readable legend entries beside the axes (never over
    the lines), a title, the y axis's label, and named ticks (the forms of involvement)."""
    def post_process(axes) -> None:
        axes.figure.set_layout_engine("constrained")  # the legend beside the axes stays inside the figure
        handles, names = axes.get_legend_handles_labels()
        if axes.get_legend() is not None:
            axes.get_legend().remove()
        axes.legend(handles, [labels.get(name, name) for name in names], loc="upper left", bbox_to_anchor=(1.01, 1.0),
                    fontsize=8, frameon=False)
        axes.set_title(title, fontsize=10)
        axes.set_ylabel(ylabel)
        if ticks is not None:
            axes.set_yticks(range(len(ticks)), list(ticks), fontsize=8)
            axes.set_ylim(-0.3, len(ticks) - 0.7)
        axes.grid(alpha=0.3)
    return post_process


def form_component(model: EscalationModel) -> tuple[Callable, int]:
    """Each outside power's form of involvement, day by day (the ``form_<actor>`` reporters)."""
    names = _names(model)
    outside = [actor.actor_id for actor in model.actors if actor.is_outside]
    measure = {f"form_{actor}": COLOURS[i % len(COLOURS)] for i, actor in enumerate(outside)}
    labels = {f"form_{actor}": names.get(actor, actor) for actor in outside}
    return make_plot_component(measure, post_process=_relabel(labels, "Outside powers: form of involvement",
                                                             "form", FORMS))


def war_component(model: EscalationModel) -> tuple[Callable, int]:
    """Whether the day was fought, a truce in force, and regional escalation so far (0 or 1 in one run)."""
    return make_plot_component(dict(WAR_SERIES), post_process=_relabel(
        WAR_LABELS, "The war, day by day (1 = yes)", "yes (1) or no (0)", ("no", "yes")))


def front_component(model: EscalationModel) -> tuple[Callable, int]:
    """Each front's control: the share of its contested ground the front's first camp holds."""
    structure = model.params.structure
    measure = {f"control_{front}": COLOURS[i % len(COLOURS)] for i, front in enumerate(structure.front_ids)}
    labels = {f"control_{front}": f"{front.replace('_', ' ')} (held by {structure.camp_ids[camps[0]]})"
              for front, camps in zip(structure.front_ids, structure.front_camps, strict=True)}
    return make_plot_component(measure, post_process=_relabel(labels, "Fronts: ground held by the first camp",
                                                             "share of the contested ground"))


def resolve_component(model: EscalationModel) -> tuple[Callable, int]:
    """Each fighting actor's resolve (it leaves the war when resolve falls to its threshold)."""
    names = _names(model)
    fighting = [actor.actor_id for actor in model.actors if actor.can_fight]
    measure = {f"resolve_{actor}": COLOURS[i % len(COLOURS)] for i, actor in enumerate(fighting)}
    labels = {f"resolve_{actor}": names.get(actor, actor) for actor in fighting}
    return make_plot_component(measure, post_process=_relabel(labels, "Resolve", "resolve"))


def status_text(model: EscalationModel) -> str:
    """The run's line, as the what-if page's single run says it."""
    from sim.app.components import day_status

    state = adapter.day_state(model)
    entered = ", ".join(state.entered) or "nobody"
    dead = ", ".join(f"{k} {v:,.0f}" for k, v in state.casualties.items())
    return day_status(state, model.params.horizon, entered, dead)


@solara.component
def RunStatus(model: EscalationModel) -> None:
    """The day, what is going on (or how the run ended), who has entered and the deaths: a component of one's
    own, next to Mesa's."""
    update_counter.get()  # re-drawn after every step, as Mesa's own components are
    solara.Markdown(f"**{status_text(model)}**")


def components(model: EscalationModel) -> list[tuple[Callable, int]]:
    """The page's components, in order: the status line, the war, the forms of involvement, the fronts, resolve."""
    return [(RunStatus, 0), war_component(model), form_component(model), front_component(model),
            resolve_component(model)]


def model_params(model: SingleRun) -> dict[str, Any]:
    """What SolaraViz needs to re-create the model on Reset: the scenario (fixed) and a seed field."""
    return {"scenario": model.crisis,
            "seed": {"type": "InputText", "value": str(model.seed_value), "label": "seed (a whole number)"}}


def page(scenario: Scenario | str | Path, seed: int | None = None) -> Any:
    """The SolaraViz page of one run of ``scenario`` (seed: the scenario's own unless given)."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    model = SingleRun(scenario, seed=scenario.seed if seed is None else seed)
    return SolaraViz(model, components=components(model), model_params=model_params(model),
                     name=f"One run: {scenario.title}", play_interval=150)


@solara.component
def Page() -> None:
    """The page Solara serves (the scenario and seed from the ``ESCALATION_APP_*`` variables)."""
    from sim.app.app import _settings

    loaded, seed, _ = _settings()
    page(loaded.scenario, seed)


__all__ = ["Page", "RunStatus", "SingleRun", "components", "form_component", "front_component", "model_params",
           "page", "resolve_component", "status_text", "war_component"]
