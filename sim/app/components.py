"""The page's parts as Solara components: controls, the estimate, the comparison, the single run.

Laid out the way Mesa's SolaraViz lays out a model: controls in the sidebar, figures in the main
area, and a single run driven by Reset / Step / Play. Each element the browser test reads carries
a CSS class named ``escalation-...``.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from html import escape
from typing import Any

import solara
import solara.lab

from sim.app import adapter, figures
from sim.app.engine import (
    Control,
    Estimate,
    assignments,
    calibration_text,
    control_for,
    estimates,
    interval_text,
    page_posterior,
)
from sim.app.export import results_csv, variant_yaml
from sim.app.meanings import Label, describe
from sim.model.model import OUTCOMES, EscalationModel
from sim.scenario.errors import UserError
from sim.scenario.loader import LoadedScenario, load_variants

CELL = "style='padding: 2px 16px; text-align: right'"


def _slug(path: str) -> str:
    return path.replace(".", "-").replace("_", "-")


def _code(text: str) -> str:
    """docs/MODEL.md's text as HTML: escaped, its `code` spans in <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text))


def _number(value: float) -> str:
    return f"{value:g}"


def control_heading(label: Label, control: Control, value: Any) -> str:
    """The control's label as HTML: whose parameter and what it means, its units, the value now and as written,
    its range, then the dotted path in small print."""
    units = f" ({escape(label.units)})" if label.units else ""
    if control.numeric:
        now = f"<span class='escalation-control-value'>{_number(value)}</span>"
        extent = (f"<span class='escalation-control-range'>range {_number(control.low)} to "
                  f"{_number(control.high)}</span>")
        written = f"<span class='escalation-control-as-written'>as written {_number(control.baseline)}</span>"
    else:
        now = f"<span class='escalation-control-value'>{escape(str(value))}</span>"
        extent = ("<span class='escalation-control-range'>one of "
                  + ", ".join(escape(str(c)) for c in control.choices or ()) + "</span>")
        written = f"<span class='escalation-control-as-written'>as written {escape(str(control.baseline))}</span>"
    return (f"<div class='escalation-control-label'><b class='escalation-control-who'>{escape(label.who)}</b>: "
            f"<span class='escalation-control-meaning'>{_code(label.meaning)}</span>{units}</div>"
            f"<div>now {now} · {written} · {extent}</div>"
            f"<div class='escalation-control-path' style='font-size: 0.8em; color: #666; font-family: monospace'>"
            f"{escape(control.path)}</div>")


@solara.component
def ControlInput(control: Control, label: Label, value: Any, on_value: Callable[[Any], None]) -> None:
    """One control: whose parameter and what it means, a slider over its range (or a choice), its source."""
    with solara.Div(classes=["escalation-control", f"escalation-control-{_slug(control.path)}"],
                    style={"margin-bottom": "12px"}):
        solara.HTML(tag="div", unsafe_innerHTML=control_heading(label, control, value), style={"font-size": "0.85em"})
        if control.numeric:
            if control.integer:
                solara.SliderInt("", value=int(value), min=int(control.low), max=int(control.high),
                                 on_value=lambda v: on_value(control.snap(v)), thumb_label=False)
            else:
                solara.SliderFloat("", value=float(value), min=float(control.low), max=float(control.high),
                                   step=control.step, on_value=lambda v: on_value(control.snap(v)), thumb_label=False)
        else:
            solara.Select(label.who, values=list(control.choices), value=value, on_value=on_value)
        if control.source:
            solara.Text(control.source, style={"font-size": "0.75em", "color": "#666"})


@solara.component
def ControlsPanel(loaded: LoadedScenario, controls: solara.Reactive[list[Control]],
                  values: solara.Reactive[dict[str, Any]]) -> None:
    """The declared uncertainties, a field to add any other path, and a reset to the baseline."""
    new_path = solara.use_reactive("")
    problem = solara.use_reactive("")

    def set_value(path: str) -> Callable[[Any], None]:
        return lambda value: values.set({**values.value, path: value})

    def add() -> None:
        path = new_path.value.strip()
        if not path:
            return
        if any(c.path == path for c in controls.value):
            problem.set(f"{path} is already a control")
            return
        try:
            control = control_for(loaded.scenario, path, source="added on the page")
        except UserError as error:
            problem.set(error.render())
            return
        problem.set("")
        new_path.set("")
        controls.set([*controls.value, control])

    with solara.Card("Uncertainties"):
        for control in controls.value:
            ControlInput(control, describe(loaded.scenario, control.path),
                         values.value.get(control.path, control.baseline), set_value(control.path))
        with solara.Div(classes=["escalation-add"]):
            solara.InputText("Add a parameter (dotted path)", value=new_path, continuous_update=False)
            solara.Button("Add", on_click=add, classes=["escalation-add-button"])
        if problem.value:
            solara.Error(problem.value, classes=["escalation-add-problem"])
        solara.Button("Reset to the scenario as written", on_click=lambda: values.set({}), text=True)


def changed_values(controls: list[Control], values: dict[str, Any]) -> dict[str, Any]:
    """The controls moved away from the scenario as written."""
    return {c.path: values[c.path] for c in controls if c.path in values and c.moved(values[c.path])}


@solara.component
def EstimateHeadline(estimate: Estimate | None, updating: bool) -> None:
    """P(regional escalation) with its interval and run count, and the change from the baseline."""
    with solara.Div(classes=["escalation-estimate"]):
        if estimate is None:
            solara.Text("estimating...")
            return
        p = estimate.variant["p_regional_escalation"]
        status = "done" if estimate.finished else "refining"
        difference = estimate.difference
        change = ("as written: move a control to see what changes" if not estimate.changed else
                  f"change from the scenario as written: {100 * difference['estimate']:+.1f} points "
                  f"[{100 * difference['ci_low']:+.1f}, {100 * difference['ci_high']:+.1f}], paired")
        calibration = calibration_text(estimate)
        solara.HTML(tag="div", unsafe_innerHTML=(
            f"<div style='font-size: 1.6em'>P(regional escalation) "
            f"<b class='escalation-p'>{interval_text(p)}</b></div>"
            + (f"<div class='escalation-calibration'>{escape(calibration)}</div>" if calibration else "")
            + f"<div><span class='escalation-runs'>{estimate.runs:,}</span> runs ({status}; up to "
            f"{estimate.target_runs:,}), 95% Wilson interval; {escape(change)}</div>"
        ))
        solara.ProgressLinear(updating)


@solara.component
def WhatIfView(estimate: Estimate) -> None:
    """The outcome distribution, who enters and when."""
    key = (estimate.changed, estimate.runs)
    outcomes = solara.use_memo(lambda: figures.outcome_figure(estimate), dependencies=[key])
    entries = solara.use_memo(lambda: figures.entries_figure(estimate), dependencies=[key])
    with solara.Div(classes=["escalation-outcomes-figure"]):
        solara.FigureMatplotlib(outcomes, dependencies=[key], format="png")
    with solara.Div(classes=["escalation-entries-figure"]):
        solara.FigureMatplotlib(entries, dependencies=[key], format="png")


@solara.component
def CompareView(estimate: Estimate) -> None:
    """The variant against the scenario as written, on the same random numbers."""
    base, variant = estimate.baseline, estimate.variant
    key = (estimate.changed, estimate.runs)
    difference = solara.use_memo(lambda: figures.difference_figure(estimate), dependencies=[key])
    rows = [("P(regional escalation)", base["p_regional_escalation"], variant["p_regional_escalation"])]
    rows += [(name.replace("_", " "), base["outcomes"][name], variant["outcomes"][name]) for name in OUTCOMES]
    entries_base, entries_variant = adapter.entries(base), adapter.entries(variant)
    rows += [(f"{actor} enters openly", entries_base[actor], entries_variant[actor]) for actor in entries_variant]
    rows = [(label, interval_text(b), interval_text(v)) for label, b, v in rows]
    rows.append(("median war length, days", f"{base['war_days']['median']:.0f}",
                 f"{variant['war_days']['median']:.0f}"))
    pairing = ("exact common random numbers (two points of one ensemble)" if estimate.exact_common_random_numbers
               else "same seeds, run side by side (the change alters the scenario's structure)")
    changes = ", ".join(f"<code>{escape(text)}</code>" for text in estimate.changed) or "none (move a control)"
    with solara.Div(classes=["escalation-compare"]):
        solara.HTML(tag="div", unsafe_innerHTML=(
            f"<p>Your changes: {changes}<br>{estimate.runs:,} paired runs each, {pairing}.</p>"
            "<table class='escalation-compare-table' style='border-collapse: collapse'>"
            f"<tr><th></th><th {CELL}>as written</th><th {CELL}>with your changes</th></tr>"
            + "".join(f"<tr><td>{escape(label)}</td><td {CELL}>{b}</td><td {CELL}>{v}</td></tr>"
                      for label, b, v in rows)
            + "</table>"
        ))
        solara.FigureMatplotlib(difference, dependencies=[key], format="png")


@solara.component
def SingleRunView(loaded: LoadedScenario, changed: tuple[str, ...], seed: int) -> None:
    """One replication played day by day, with Reset / Step / Play like Mesa's SolaraViz."""
    run_seed = solara.use_reactive(seed)
    interval = solara.use_reactive(150)
    playing = solara.use_reactive(False)
    resets = solara.use_reactive(0)
    history: solara.Reactive[list[adapter.DayState]] = solara.use_reactive([])

    def build() -> EscalationModel | UserError:
        try:
            scenario = load_variants(loaded, [list(changed)], origin="control")[0]
        except UserError as error:
            return error
        return EscalationModel(scenario, replications=1, rng=run_seed.value)

    model = solara.use_memo(build, dependencies=[changed, run_seed.value, resets.value])

    def start() -> None:
        history.set([adapter.day_state(model)] if isinstance(model, EscalationModel) else [])
        playing.set(False)

    solara.use_effect(start, [model])

    def step() -> None:
        if isinstance(model, EscalationModel) and model.running:
            model.step()
            history.set([*history.value, adapter.day_state(model)])

    def play(cancel: threading.Event) -> None:
        while playing.value and isinstance(model, EscalationModel) and model.running and not cancel.is_set():
            step()
            time.sleep(interval.value / 1000)
        playing.set(False)

    solara.use_thread(play, dependencies=[playing.value, model])
    states = history.value
    horizon = model.params.horizon if isinstance(model, EscalationModel) else 0
    figure = solara.use_memo(lambda: figures.single_run_figure(states, horizon), dependencies=[len(states), model])

    if isinstance(model, UserError):
        solara.Error(model.render())
        return
    with solara.Row(classes=["escalation-single-run-controls"], style={"align-items": "center"}):
        solara.Button("Reset", on_click=lambda: resets.set(resets.value + 1), outlined=True)
        solara.Button("Step", on_click=step, disabled=playing.value or not model.running, outlined=True)
        solara.Button("Pause" if playing.value else "Play", on_click=lambda: playing.set(not playing.value),
                      disabled=not model.running, color="primary")
        with solara.Div(style={"width": "140px"}):
            solara.InputInt("run seed", value=run_seed)
        with solara.Div(style={"width": "320px"}):
            solara.SliderInt("play interval (ms)", value=interval, min=10, max=1000, step=10)
    last = states[-1] if states else None
    with solara.Div(classes=["escalation-single-run"]):
        if last is not None:
            entered = ", ".join(last.entered) or "nobody"
            dead = ", ".join(f"{k} {v:,.0f}" for k, v in last.casualties.items())
            solara.HTML(tag="div", classes=["escalation-day"], unsafe_innerHTML=escape(
                day_status(last, model.params.horizon, entered, dead)))
        solara.FigureMatplotlib(figure, dependencies=[len(states), model], format="png")


def day_status(state: adapter.DayState, horizon: int, entered: str, dead: str) -> str:
    """The single run's line: the day, then either what is going on (fighting, or a truce in force) or, once the
    run has ended, how it ended, never both."""
    if state.outcome:
        now = f"the run ended with {state.outcome.replace('_', ' ')}"
    else:
        now = "truce in force" if state.truce else "fighting"
    return f"Day {state.day} of {horizon}: {now}; open entry: {entered}; deaths: {dead}"


@solara.component
def Downloads(loaded: LoadedScenario, estimate: Estimate, changed: dict[str, Any], seed: int) -> None:
    """The variant's figures as CSV, and the variant as a scenario file ``escalation run`` accepts."""
    stem = loaded.scenario.name + ("_variant" if changed else "")
    with solara.Row(classes=["escalation-downloads"], style={"align-items": "center"}):
        solara.FileDownload(lambda: results_csv(estimate, seed).encode("utf-8"), filename=f"{stem}_results.csv",
                            label="Download the results (CSV)", mime_type="text/csv",
                            icon_name="mdi-download")
        solara.FileDownload(lambda: variant_yaml(loaded, changed).encode("utf-8"), filename=f"{stem}.yaml",
                            label="Save the variant as a scenario (YAML)", mime_type="application/x-yaml",
                            icon_name="mdi-file-download-outline")


def refine(loaded: LoadedScenario, changed: dict[str, Any], seed: int, target_runs: int,
           dynamics: Any = None) -> Callable[[threading.Event], Iterator[Estimate]]:
    """The background job of one set of controls: estimates on more and more runs, until the
    controls move again (Solara sets ``cancel``; the job stops after the chunk it is on). ``dynamics``:
    draws of the shared dynamics from the shipped posterior, or None."""
    def job(cancel: threading.Event) -> Iterator[Estimate]:
        yield from estimates(loaded, changed, seed, target_runs=target_runs, stop=cancel, dynamics=dynamics)
    return job




@solara.component
def WhatIfPage(loaded: LoadedScenario, controls_at_start: list[Control], seed: int, target_runs: int) -> None:
    """The whole page: controls in the sidebar; what-if, comparison and single run in tabs."""
    controls = solara.use_reactive(controls_at_start)
    values: solara.Reactive[dict[str, Any]] = solara.use_reactive({})
    tab = solara.use_reactive(0)
    calibrated = solara.use_reactive(False)
    posterior = solara.use_memo(lambda: page_posterior() if calibrated.value else None,
                                dependencies=[calibrated.value])
    changed = changed_values(controls.value, values.value)
    key = tuple(assignments(changed))
    result = solara.use_thread(refine(loaded, changed, seed, target_runs, posterior),
                               dependencies=[key, calibrated.value], intrusive_cancel=False)
    estimate: Estimate | None = result.value
    if estimate is not None and estimate.changed != key and result.state == solara.ResultState.ERROR:
        estimate = None
    if estimate is not None and (estimate.calibration is not None) != calibrated.value:
        estimate = None  # an estimate of the other mode, until the new one comes
    updating = estimate is None or estimate.changed != key or not estimate.finished

    solara.Title(f"What if: {loaded.scenario.title}")
    with solara.AppBar():
        solara.AppBarTitle(f"What if: {loaded.scenario.title}")
    with solara.Sidebar():
        ControlsPanel(loaded, controls, values)
        with solara.Div(classes=["escalation-posterior"]):
            solara.Checkbox(label="calibration uncertainty: draw the shared dynamics from the shipped posterior "
                                  "(slower)", value=calibrated)
        solara.Text(f"seed {seed}: every estimate uses the same random numbers",
                    style={"font-size": "0.75em", "color": "#666"})
    if isinstance(result.error, UserError):
        solara.Error(result.error.render(), classes=["escalation-problem"])
    elif result.error is not None:  # a bug: say what it is; the traceback is in the server's log
        solara.Error(f"{type(result.error).__name__}: {result.error} (a bug; the traceback is in the server's log)",
                     classes=["escalation-problem"])
    EstimateHeadline(estimate, updating)
    if estimate is not None and estimate.changed == key:
        Downloads(loaded, estimate, changed, seed)
    # Only the tab in view draws its figures (the single run keeps its state in any tab).
    with solara.lab.Tabs(value=tab):
        with solara.lab.Tab("What if"):
            if estimate is not None and tab.value == 0:
                WhatIfView(estimate)
        with solara.lab.Tab("Compare with baseline"):
            if estimate is not None and tab.value == 1:
                CompareView(estimate)
        with solara.lab.Tab("Single run"):
            SingleRunView(loaded, key, seed)

