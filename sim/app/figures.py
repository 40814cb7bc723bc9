"""The page's figures, drawn with matplotlib's object API (no pyplot: safe in a server's threads)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from sim.app import adapter
from sim.app.engine import Estimate
from sim.model.model import OUTCOMES

BASELINE_COLOUR = "#9e9e9e"
VARIANT_COLOUR = "#c62828"
FRONT_COLOUR = "#1565c0"
TRUCE_COLOUR = "#a5d6a7"


def _label(name: str) -> str:
    return name.replace("_", " ")


def _bars(axes, names: Sequence[str], baseline: Sequence[dict], variant: Sequence[dict]) -> None:
    """Paired horizontal bars (baseline grey, variant red) with their 95% intervals."""
    y = np.arange(len(names))
    for offset, values, colour, label in ((0.2, baseline, BASELINE_COLOUR, "scenario as written"),
                                          (-0.2, variant, VARIANT_COLOUR, "with your changes")):
        estimate = np.array([v["estimate"] for v in values])
        error = np.array([[v["estimate"] - v["ci_low"] for v in values],
                          [v["ci_high"] - v["estimate"] for v in values]])
        axes.barh(y + offset, 100 * estimate, height=0.38, color=colour, label=label,
                  xerr=100 * error, error_kw={"elinewidth": 1, "capsize": 2})
    axes.set_yticks(y, [_label(n) for n in names])
    axes.invert_yaxis()
    axes.set_xlabel("% of runs (95% interval)")
    axes.grid(axis="x", alpha=0.3)


def outcome_figure(estimate: Estimate) -> Figure:
    """The distribution of outcomes with the variant next to the baseline."""
    figure = Figure(figsize=(6.4, 3.0), layout="constrained")
    axes = figure.subplots()
    _bars(axes, OUTCOMES, [estimate.baseline["outcomes"][n] for n in OUTCOMES],
          [estimate.variant["outcomes"][n] for n in OUTCOMES])
    axes.set_xlim(0, 100)
    axes.set_title(f"Outcomes ({estimate.runs:,} runs each)", fontsize=10)
    figure.legend(*axes.get_legend_handles_labels(), loc="outside right upper", fontsize=8, frameon=False)
    return figure


def entries_figure(estimate: Estimate) -> Figure:
    """Who enters the war openly, and when regional escalation comes (cumulative, by day)."""
    figure = Figure(figsize=(9.6, 3.0), layout="constrained")
    who, when = figure.subplots(1, 2, width_ratios=(2, 3))
    baseline, variant = adapter.entries(estimate.baseline), adapter.entries(estimate.variant)
    names = list(variant)
    _bars(who, names, [baseline[n] for n in names], [variant[n] for n in names])
    who.set_title("Who enters the war openly", fontsize=10)
    for curve, colour, label in ((estimate.escalation_by_day[0], BASELINE_COLOUR, "scenario as written"),
                                 (estimate.escalation_by_day[1], VARIANT_COLOUR, "with your changes")):
        days = np.arange(len(curve["estimate"]))
        when.plot(days, 100 * np.asarray(curve["estimate"]), color=colour, label=label)
        when.fill_between(days, 100 * np.asarray(curve["ci_low"]), 100 * np.asarray(curve["ci_high"]),
                          color=colour, alpha=0.25, linewidth=0)
    when.set_xlabel("day of the crisis")
    when.set_ylabel("% of runs escalated by then")
    when.set_title("When: P(regional escalation) by day, 95% band", fontsize=10)
    when.grid(alpha=0.3)
    figure.legend(*when.get_legend_handles_labels(), loc="outside lower center", ncols=2, fontsize=8,
                  frameon=False)  # under both panels: the bars and the curves share the colours
    return figure


def difference_figure(estimate: Estimate) -> Figure:
    """The paired difference, variant minus baseline, in P(regional escalation)."""
    figure = Figure(figsize=(6.4, 1.3), layout="constrained")
    axes = figure.subplots()
    difference = estimate.difference
    low, high = 100 * difference["ci_low"], 100 * difference["ci_high"]
    axes.errorbar([100 * difference["estimate"]], [0], xerr=[[100 * difference["estimate"] - low],
                                                            [high - 100 * difference["estimate"]]],
                  fmt="o", color=VARIANT_COLOUR, capsize=4)
    axes.axvline(0, color="black", linewidth=0.8)
    span = max(abs(low), abs(high), 1.0) * 1.2
    axes.set_xlim(-span, span)
    axes.set_yticks([])
    axes.set_xlabel("change in P(regional escalation), percentage points (paired 95% interval)")
    return figure


def single_run_figure(history: Sequence[adapter.DayState], horizon: int) -> Figure:
    """One run day by day: the front with truces shaded and entries marked; each actor's rung."""
    figure = Figure(figsize=(9.6, 4.6), layout="constrained")
    front, rungs = figure.subplots(2, 1, sharex=True, height_ratios=(2, 3))
    days = np.array([state.day for state in history])
    if history:
        first = history[-1].belligerents[0]
        front.plot(days, [100 * s.front for s in history], color=FRONT_COLOUR, drawstyle="steps-post")
        front.set_ylabel(f"% of contested\nground held by {first}")
        for state in history:
            if state.truce:
                front.axvspan(state.day - 1, state.day, color=TRUCE_COLOUR, alpha=0.6, linewidth=0)
        seen: set[str] = set()
        entries: list[str] = []  # named in the title: a label beside its line could sit on the front's curve
        for state in history:
            for actor in state.entered:
                if actor not in seen:
                    seen.add(actor)
                    for axes in (front, rungs):
                        axes.axvline(state.day, color=VARIANT_COLOUR, linestyle="--", linewidth=1)
                    entries.append(f"{_label(actor)} day {state.day}")
        for actor in history[-1].rungs:
            rungs.plot(days, [s.rungs[actor] for s in history], drawstyle="steps-post", label=_label(actor))
        ladder = history[-1].ladder
        rungs.set_yticks(range(len(ladder)), [textwrap.shorten(f"{k} {text}", 36, placeholder="…")
                                              for k, text in enumerate(ladder)], fontsize=7)
        rungs.set_ylim(-0.5, len(ladder) - 0.5)
        rungs.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)  # beside, not over
    front.set_ylim(0, 100)
    front.set_xlim(0, horizon)
    front.grid(alpha=0.3)
    entered = ", ".join(entries) if history and entries else "none yet"
    front.set_title(textwrap.fill(f"Front (green: truce in force); dashed: open entry ({entered})", 110), fontsize=10)
    if not history:
        rungs.set_ylim(-0.5, 11.5)
    rungs.set_xlabel("day")
    rungs.grid(alpha=0.3)
    return figure
