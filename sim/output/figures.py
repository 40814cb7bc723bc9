"""The five standard figures of a finished run, drawn with matplotlib.

Every figure is built on a bare :class:`matplotlib.figure.Figure` (no pyplot, no global state),
so drawing is thread-safe and needs no backend switch. Each ``*_figure`` function takes the run's
``summary`` and ``distributions`` dictionaries (as written to summary.json and distributions.json)
and returns a figure a notebook can display; :func:`draw_figures` writes all five as PNG files.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter, StrMethodFormatter

from sim.output.plain_text import plain_text

FIGSIZE = (8.0, 5.0)
DPI = 130
Z95 = 1.959963984540054

NEUTRAL = "#4c72b0"
WARNING = "#c0392b"
WARNING_OUTCOMES = ("regional_escalation", "outside_war")
BELLIGERENT_COLOUR = "#1f4e79"
OUTSIDE_COLOUR = "#7b3294"
SERIES_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2")
OPEN_ENTRY_RUNG = 9  # rungs 9 to 11 (an outside power in combat, outside powers fighting) are regional escalation

Array = np.ndarray


# ---- helpers ------------------------------------------------------------------------------------


TITLE_POINTS = 12
# the width of an average character of the bold title, as a share of its size in points (DejaVu Sans Bold's
# mean advance over mixed text is about 0.62 em; 0.66 leaves a margin for wide letters)
TITLE_CHARACTER_EM = 0.66


def _title(summary: dict[str, Any], what: str, width_inches: float = FIGSIZE[0]) -> str:
    """'<scenario title> — <what> (<runs> runs)', on two lines (the scenario's title wrapped if need be)
    when one line would not fit in a figure ``width_inches`` wide."""
    name = summary.get("title") or summary.get("scenario", "scenario")
    what = f"{what} ({int(summary['runs']):,} runs)"
    characters = int(0.95 * width_inches * 72 / (TITLE_POINTS * TITLE_CHARACTER_EM))
    line = f"{name} — {what}"
    if len(line) <= characters:
        return line
    return textwrap.fill(name, characters) + "\n" + textwrap.fill(what, characters)


def _new_figure(summary: dict[str, Any], what: str, size: tuple[float, float] = FIGSIZE) -> Figure:
    figure = Figure(figsize=size, dpi=DPI, layout="constrained")
    figure.suptitle(_title(summary, what, size[0]), fontsize=TITLE_POINTS, fontweight="bold")
    return figure


def _label(name: str) -> str:
    """An identifier as a reader sees it: underscores become spaces."""
    return name.replace("_", " ")


def _decimals(margin: float) -> int:
    """Decimals for a share printed as a percentage: enough to show ``margin`` (a small share, or the
    distance of a large one from 100%) with two significant digits, between 1 and 3."""
    if margin >= 0.01:
        return 1
    if margin >= 0.001:
        return 2
    return 3


def _percent_with_interval(estimate: float, low: float, high: float) -> str:
    """'9.9% [9.5, 10.4]', with more decimals for intervals close to 0% or 100%."""
    d = _decimals(min(high, 1.0 - low))
    if estimate == 0 and low == 0:
        return f"0% [0, {100 * high:.{d}f}]"
    return f"{100 * estimate:.{d}f}% [{100 * low:.{d}f}, {100 * high:.{d}f}]"


def _subtitle(ax: Any, text: str) -> None:
    """A grey explanatory line (wrapped) under the figure's title."""
    ax.set_title(textwrap.fill(text, 105), fontsize=8.5, color="0.3")


def _short_share(share: float) -> str:
    """A share for a heatmap cell: '' for none, '<0.1%' for traces, else a rounded percentage."""
    if share <= 0:
        return ""
    if share < 0.001:
        return "<0.1%"
    if share < 0.1:
        return f"{100 * share:.1f}%"
    return f"{100 * share:.0f}%"


# ---- Kaplan-Meier -------------------------------------------------------------------------------


def truce_survival(broken: Sequence[float] | Array, censored: Sequence[float] | Array) -> tuple[
        Array, Array, Array, Array]:
    """Kaplan-Meier survival of truces from histograms, with a Greenwood 95% band.

    ``broken[d]`` counts truces that broke ``d`` days after taking effect (0: on the day itself);
    ``censored[c]`` counts truces still holding when the run ended after ``c`` days in force, so
    they are known to have survived days 0 .. c-1. Returns ``(days, survival, low, high)`` where
    ``survival[d]`` estimates the share of truces still holding at the end of day ``d``, i.e.
    P(T > d). A truce censored after ``c`` days is at risk on days ``d < c``. Days on which no
    truce was at risk any more are NaN. Without censoring, ``survival[d]`` is exactly the share of
    truces that held more than ``d`` days.
    """
    broken_counts = np.asarray(broken, dtype=float)
    censored_counts = np.asarray(censored, dtype=float)
    length = max(broken_counts.size, censored_counts.size)
    if length == 0:
        empty = np.zeros(0)
        return np.arange(0), empty, empty.copy(), empty.copy()
    events = np.zeros(length)
    events[: broken_counts.size] = broken_counts
    lost = np.zeros(length)
    lost[: censored_counts.size] = censored_counts
    total = events.sum() + lost.sum()
    # at risk on day d: not broken before d, and not censored on or before d
    at_risk = total - np.concatenate([[0.0], np.cumsum(events)[:-1]]) - np.cumsum(lost)
    observed = at_risk > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(observed, 1.0 - events / at_risk, 1.0)
        survival = np.cumprod(factor)
        term = np.where(observed, events / (at_risk * (at_risk - events)), 0.0)
        greenwood = np.cumsum(term)
        spread = Z95 * survival * np.sqrt(greenwood)
    spread = np.where(survival > 0, spread, 0.0)
    low = np.clip(survival - spread, 0.0, 1.0)
    high = np.clip(survival + spread, 0.0, 1.0)
    for values in (survival, low, high):
        values[~observed] = np.nan
    return np.arange(length), survival, low, high


# ---- the figures ---------------------------------------------------------------------------


def _share_bars(ax: Any, shares: dict[str, dict[str, float]], warning: Sequence[str] = ()) -> None:
    """Horizontal bars of shares of runs with their 95% Wilson whiskers, labelled with the estimate,
    the interval and the count; names in ``warning`` in red."""
    names = list(shares)
    y = np.arange(len(names))[::-1]
    estimates = np.array([shares[n]["estimate"] for n in names])
    lows = np.array([shares[n]["ci_low"] for n in names])
    highs = np.array([shares[n]["ci_high"] for n in names])
    colours = [WARNING if n in warning else NEUTRAL for n in names]
    ax.barh(y, estimates, color=colours, height=0.6)
    errors = np.vstack([np.clip(estimates - lows, 0, None), np.clip(highs - estimates, 0, None)])
    ax.errorbar(estimates, y, xerr=errors, fmt="none", ecolor="black", elinewidth=1.2, capsize=4)
    for yi, name, est, low, high in zip(y, names, estimates, lows, highs, strict=True):
        text = _percent_with_interval(est, shares[name]["ci_low"], high)
        text += f"  ({int(shares[name].get('count', 0)):,} runs)"
        if est > 0.55:  # inside the bar, left of its whisker
            ax.text(min(est, low) - 0.015, yi, text, va="center", ha="right", color="white", fontsize=9,
                    fontweight="bold")
        else:
            ax.text(high + 0.015, yi, text, va="center", ha="left", fontsize=9)
    ax.set_yticks(y, [_label(n) for n in names], fontsize=10)
    for tick, colour in zip(ax.get_yticklabels(), colours, strict=True):
        tick.set_color(colour if colour == WARNING else "black")
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
    ax.set_xlabel("share of runs (%)")
    ax.set_ylim(-0.6, len(names) - 0.4)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)


@plain_text
def outcome_figure(summary: dict[str, Any], distributions: dict[str, Any] | None = None) -> Figure:
    """Share of runs ending in each outcome, with 95% Wilson intervals (escalations in red)."""
    figure = _new_figure(summary, "outcomes")
    ax = figure.add_subplot()
    _subtitle(ax, "Whiskers: 95% Wilson interval. Red: escalation beyond the parties at war on day 0.")
    _share_bars(ax, summary["outcomes"], WARNING_OUTCOMES)
    return figure


@plain_text
def ending_figure(summary: dict[str, Any], distributions: dict[str, Any]) -> Figure:
    """How the war ended (share of runs by ending, 95% Wilson intervals), next to the distribution of the
    war's length with the runs still fought at the horizon marked."""
    figure = _new_figure(summary, "how the war ended", (FIGSIZE[0] * 1.35, FIGSIZE[1]))
    left, right = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.1, 1]})
    endings = summary.get("ended_by") or {}
    shown = {name: share for name, share in endings.items() if share["count"]} or endings
    _share_bars(left, shown, ("ongoing",))
    left.set_title("how the war ended", fontsize=10)
    counts = np.asarray(distributions.get("war_days", []), dtype=float)
    runs = max(float(counts.sum()), 1.0)
    horizon = len(counts) - 1
    days = np.arange(len(counts))
    colours = [WARNING if day >= horizon else NEUTRAL for day in days]
    right.bar(days, counts / runs, width=1.0, color=colours)
    right.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
    right.set_xlabel("days to the last day of fighting")
    right.set_ylabel("share of runs")
    right.set_title("war length", fontsize=10)
    war = summary["war_days"]
    right.axvline(war["median"], color="black", linestyle="--", linewidth=1)
    right.text(war["median"], right.get_ylim()[1] * 0.95, f" median {war['median']:.0f} days", fontsize=8.5,
               va="top")
    at_horizon = war.get("at_horizon", {}).get("estimate", 0.0)
    _subtitle(left, f"Whiskers: 95% Wilson interval. Red (right): still fought at the horizon, "
                    f"{100 * at_horizon:.1f}% of runs.")
    return figure


@plain_text
def escalation_figure(summary: dict[str, Any], distributions: dict[str, Any]) -> Figure:
    """Cumulative probability of regional escalation by day of the war, with its 95% band."""
    by_day = distributions["escalation_by_day"]
    horizon = int(distributions.get("horizon_days", len(by_day["estimate"])))
    # entry d is P(escalated on or before day d), i.e. by the end of day d: plot it at time d + 1
    estimate = np.concatenate([[0.0], np.asarray(by_day["estimate"], dtype=float)])
    low = np.concatenate([[0.0], np.asarray(by_day["ci_low"], dtype=float)])
    high = np.concatenate([[0.0], np.asarray(by_day["ci_high"], dtype=float)])
    days = np.arange(estimate.size)
    figure = _new_figure(summary, "regional escalation over time")
    ax = figure.add_subplot()
    _subtitle(ax, "Regional escalation as the scenario defines it (by default an outside power in combat, or "
                  "outside powers fighting each other). Band: 95% CI.")
    ax.fill_between(days, low, high, color=WARNING, alpha=0.2, linewidth=0, label="95% interval")
    ax.plot(days, estimate, color=WARNING, linewidth=2, label="share of runs escalated so far")
    final = _percent_with_interval(estimate[-1], low[-1], high[-1])
    ax.plot([days[-1]], [estimate[-1]], "o", color=WARNING)
    ax.annotate(f"after {days[-1]} days:\n{final}", xy=(days[-1], estimate[-1]),
                xytext=(-10, 12), textcoords="offset points", ha="right", va="bottom", fontsize=9.5,
                bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": "0.7"})
    ax.set_xlim(0, max(horizon, days[-1]))
    top = float(np.nanmax(high)) if high.size else 0.0
    ax.set_ylim(0, max(top * 1.3, 0.01))
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=_decimals(top) - 1 if top < 0.1 else 0))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
    ax.set_xlabel("days since the war began")
    ax.set_ylabel("probability of regional escalation so far (%)")
    ax.legend(loc="upper left", fontsize=9, frameon=False)
    ax.grid(alpha=0.3)
    return figure


@plain_text
def truce_figure(summary: dict[str, Any], distributions: dict[str, Any]) -> Figure:
    """Kaplan-Meier curve of how long truces hold, with a Greenwood 95% band."""
    broken = np.asarray(distributions["truce_days_broken"], dtype=float)
    censored = np.asarray(distributions["truce_days_censored"], dtype=float)
    total = broken.sum() + censored.sum()
    figure = _new_figure(summary, "how long truces hold")
    ax = figure.add_subplot()
    ax.set_xlabel("days since the truce took effect (0 = the day it took effect)")
    ax.set_ylabel("truces still holding at the end of the day (%)")
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
    ax.set_ylim(0, 1.05)
    method = "Kaplan-Meier estimate over all truces of all runs; truces still holding at the end are censored."
    if total <= 0:
        _subtitle(ax, method)
        ax.set_xlim(0, max(int(distributions.get("horizon_days", 10)), 1))
        ax.text(0.5, 0.5, "no truces in this run", transform=ax.transAxes, ha="center", va="center",
                fontsize=14, color="0.4")
        return figure
    days, survival, low, high = truce_survival(broken, censored)
    shown = np.flatnonzero(~np.isnan(survival))
    last = int(shown[-1]) if shown.size else 0
    x = np.concatenate([days[: last + 1], [last + 1]])  # close the last step
    s = np.concatenate([survival[: last + 1], survival[last : last + 1]])
    lo = np.concatenate([low[: last + 1], low[last : last + 1]])
    hi = np.concatenate([high[: last + 1], high[last : last + 1]])
    narrow = float(np.nanmax(hi - lo)) < 0.01
    ax.fill_between(x, lo, hi, step="post", color=NEUTRAL, alpha=0.25, linewidth=0,
                    label="95% interval (Greenwood)" + ("; narrower than the line" if narrow else ""))
    ax.step(x, s, where="post", color=NEUTRAL, linewidth=2, label="Kaplan-Meier estimate")
    ax.set_xlim(0, max(last + 1, 7))
    # the first ten days labelled, each label only where it touches none placed before it
    box = ax.get_position()  # before the layout: close enough to size the labels
    inches_per_day = box.width * figure.get_figwidth() / ax.get_xlim()[1]
    inches_per_unit = box.height * figure.get_figheight() / ax.get_ylim()[1]
    placed: list[tuple[float, float, float]] = []  # (first day, last day, height in inches) of each label
    for day in range(min(last + 1, 10)):
        if s[day] <= 0:
            continue
        d = _decimals(min(s[day], 1.0 - s[day]))
        text = f"{100 * s[day]:.{d}f}%"
        reach = day + (len(text) * 8.5 * 0.62 / 72 + 0.05) / inches_per_day
        height = (s[day] + 0.015) * inches_per_unit
        if any(start < reach and day < end and abs(height - other) < 0.16 for start, end, other in placed):
            continue
        placed.append((day, reach, height))
        ax.text(day + 0.05, s[day] + 0.015, text, ha="left", va="bottom", fontsize=8.5, color=NEUTRAL)
    runs = int(summary["runs"])
    stated = (summary.get("truces") or {}).get("broken_within_3_days")
    if stated:
        within_three = "broke within 3 days: " + _percent_with_interval(
            stated["estimate"], stated["ci_low"], stated["ci_high"])
    else:
        share = broken[:4].sum() / total
        within_three = f"broke within 3 days: {100 * share:.{_decimals(min(share, 1 - share))}f}%"
    first_day = broken[:1].sum() / total
    facts = [
        f"{int(total):,} truces in {runs:,} runs ({total / max(runs, 1):.1f} per run)",
        f"broke on the day they took effect: {100 * first_day:.{_decimals(min(first_day, 1 - first_day))}f}%",
        within_three,
        f"still holding when the run ended: {int(censored.sum()):,}",
    ]
    # the facts over the axes and the legend under them: a curve may run anywhere inside
    _subtitle(ax, "; ".join(facts) + ". " + method)
    figure.legend(loc="outside lower center", ncols=2, fontsize=9, frameon=False)
    ax.grid(alpha=0.3)
    return figure


@plain_text
def casualty_figure(summary: dict[str, Any], distributions: dict[str, Any]) -> Figure:
    """Distribution of each fighting actor's deaths per run, one colour per actor (never-fighting ones left out)."""
    edges = np.asarray(distributions["casualty_edges"], dtype=float)
    means = {actor: stats.get("mean", 1.0) for actor, stats in (summary.get("casualties") or {}).items()}
    histograms = {actor: np.asarray(counts, dtype=float) for actor, counts in distributions["casualties"].items()
                  if means.get(actor, 1.0) > 0}
    figure = _new_figure(summary, "military deaths per run")
    ax = figure.add_subplot()
    width = float(np.median(np.diff(edges))) if edges.size > 1 else 1.0
    cut = 0.0
    beyond = 0
    for counts in histograms.values():
        if counts.sum() <= 0:
            continue
        share = np.cumsum(counts) / counts.sum()
        cut = max(cut, float(edges[min(int(np.searchsorted(share, 0.999)) + 2, edges.size - 1)]))
    for counts in histograms.values():
        beyond += int(counts[edges[:-1] >= cut].sum()) if cut > 0 else 0
    for index, (actor, counts) in enumerate(histograms.items()):
        colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
        shares = counts / counts.sum() if counts.sum() > 0 else counts
        stats = summary.get("casualties", {}).get(actor, {})
        label = _label(actor)
        if stats:
            label += (f": median {stats['median']:,.0f}, 90% of runs "
                      f"{stats['p05']:,.0f}–{stats['p95']:,.0f}")
        ax.stairs(shares, edges, fill=True, color=colour, alpha=0.3, zorder=1)
        ax.stairs(shares, edges, color=colour, linewidth=1.5, label=label, zorder=2)  # outlines above all fills
        if stats and np.isfinite(stats.get("median", np.nan)):
            ax.axvline(stats["median"], color=colour, linestyle="--", linewidth=1.2)
    note = f"Dashed lines: medians. Bins of {width:,.0f} deaths."
    if beyond:
        note += f" Axis cut at {cut:,.0f} deaths; {beyond:,} {'run' if beyond == 1 else 'runs'} beyond are not shown."
    _subtitle(ax, note)
    if cut > 0:
        ax.set_xlim(0, cut)
    ax.set_ylim(0, ax.get_ylim()[1] * 1.05)
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=1))
    ax.set_xlabel("military deaths in the run")
    ax.set_ylabel(f"share of runs per {width:,.0f}-death bin (%)")
    if histograms:  # under the axes, never over the data: a spike at zero deaths reaches the top
        figure.legend(loc="outside lower center", ncols=2 if len(histograms) > 3 else 1, fontsize=8.5,
                      frameon=False)
    ax.grid(alpha=0.3)
    return figure


@plain_text
def rung_figure(summary: dict[str, Any], distributions: dict[str, Any]) -> Figure:
    """Heatmap of the highest escalation rung each actor reached: share of runs, rung x actor."""
    ladder: list[str] = list(distributions["ladder"])
    roles: dict[str, str] = distributions.get("actor_roles", {})
    rungs: dict[str, list[int]] = distributions["highest_rung"]
    actors = sorted(rungs, key=lambda a: (roles.get(a) == "outside", list(rungs).index(a)))
    counts = np.array([rungs[a] for a in actors], dtype=float).reshape(len(actors), -1)
    levels = counts.shape[1]
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0).T  # rung x actor
    # about 0.8 inch per actor column beside the rung labels, so that no two actors' names touch
    figure = _new_figure(summary, "highest escalation rung reached",
                         (max(FIGSIZE[0], 3.2 + 0.8 * len(actors)), FIGSIZE[1]))
    ax = figure.add_subplot()
    _subtitle(ax, "Share of runs in which this was the actor's highest rung. "
                  "Red rungs count as regional escalation.")
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1, aspect="auto", origin="lower")
    for rung in range(levels):
        for column in range(len(actors)):
            value = shares[rung, column]
            text = _short_share(value)
            if text:
                ax.text(column, rung, text, ha="center", va="center", fontsize=9,
                        color="white" if value > 0.55 else "black")
    names = [ladder[r] if r < len(ladder) else "" for r in range(levels)]
    labels = [textwrap.fill(f"{r} {name}".strip(), 34, subsequent_indent="   ") for r, name in enumerate(names)]
    ax.set_yticks(range(levels), labels, fontsize=8)
    for rung, tick in enumerate(ax.get_yticklabels()):
        if rung >= OPEN_ENTRY_RUNG:
            tick.set_color(WARNING)
    ax.set_xticks(range(len(actors)), [f"{textwrap.fill(_label(a), 11)}\n({roles.get(a, 'actor')})" for a in actors],
                  fontsize=9.5)
    for actor, tick in zip(actors, ax.get_xticklabels(), strict=True):
        tick.set_color(OUTSIDE_COLOUR if roles.get(actor) == "outside" else BELLIGERENT_COLOUR)
    ax.set_xticks(np.arange(len(actors) + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(levels + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="minor", length=0)
    parties = sum(roles.get(a) != "outside" for a in actors)
    if 0 < parties < len(actors):
        ax.axvline(parties - 0.5, color="black", linewidth=2)
    ax.set_xlabel("actor (parties at war on day 0 left, outside powers right)")
    ax.set_ylabel("highest rung reached")
    return figure


def widening_figure(summary: dict[str, Any], distributions: dict[str, Any]) -> Figure:
    """War widening: for each outside power, the share of runs in which it is in combat by each day
    (lines with 95% bands), and how far each one went (bars of its highest form)."""
    entry: dict[str, dict[str, list[float]]] = distributions.get("entry_by_day", {})
    forms: dict[str, list[int]] = distributions.get("forms", {})
    names: list[str] = distributions.get("form_names", [])
    figure = _new_figure(summary, "war widening: who entered, when, and how far")
    if not entry:
        ax = figure.add_subplot()
        ax.text(0.5, 0.5, "no outside powers in this scenario", transform=ax.transAxes, ha="center",
                va="center", fontsize=14, color="0.4")
        ax.set_axis_off()
        return figure
    left, right = figure.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    for index, (actor, series) in enumerate(entry.items()):
        colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
        estimate = np.concatenate([[0.0], np.asarray(series["estimate"], dtype=float)])
        low = np.concatenate([[0.0], np.asarray(series["ci_low"], dtype=float)])
        high = np.concatenate([[0.0], np.asarray(series["ci_high"], dtype=float)])
        days = np.arange(estimate.size)
        left.fill_between(days, low, high, color=colour, alpha=0.15, linewidth=0)
        left.plot(days, estimate, color=colour, linewidth=2,
                  label=f"{_label(actor)}: {100 * estimate[-1]:.{_decimals(estimate[-1])}f}%")
    left.set_xlabel("days since the war began")
    left.set_ylabel("runs with it in combat so far (%)")
    left.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0 if left.get_ylim()[1] > 0.1 else 1))
    left.set_ylim(bottom=0)
    left.grid(alpha=0.3)
    # both legends under their panels, never over the lines or the bars
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=2 if len(entry) > 2 else 1, fontsize=8,
                frameon=False, title="in combat by the last day", title_fontsize=8)
    shown = names[2:] if len(names) > 2 else names
    actors = list(forms)
    rows = np.arange(len(actors))[::-1]  # top to bottom in the order of the left panel's legend
    bottom = np.zeros(len(actors))
    shades = ["#d9d9d9", "#fdd49e", "#fc8d59", "#d7301f", "#7f0000"]
    for position, form in enumerate(shown):
        column = names.index(form)
        values = np.array([forms[a][column] / max(sum(forms[a]), 1) for a in actors])
        right.barh(rows, values, left=bottom, color=shades[position % len(shades)], label=form, height=0.6)
        bottom += values
    right.set_yticks(rows, [_label(a) for a in actors], fontsize=9)
    right.set_xlim(0, max(float(bottom.max()) if actors else 0.0, 0.01) * 1.05)
    right.xaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
    right.set_xlabel("runs by highest form reached (%)")
    right.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=3, fontsize=8, frameon=False,
                 title="highest form", title_fontsize=8)
    size = summary.get("war_size") or {}
    _subtitle(left, f"Bands: 95% CI. War size (actors at war by the end): mean {size.get('mean', 0):.2f}, "
                    f"{size.get('at_start', 0)} at the start.")
    return figure


# ---- all of them ---------------------------------------------------------------------------------

FIGURES: dict[str, Callable[[dict[str, Any], dict[str, Any]], Figure]] = {
    "outcomes.png": outcome_figure,
    "escalation_over_time.png": escalation_figure,
    "truce_survival.png": truce_figure,
    "casualties.png": casualty_figure,
    "highest_rungs.png": rung_figure,
    "war_widening.png": widening_figure,
    "war_endings.png": ending_figure,
}


@plain_text
def draw_figures(summary: dict[str, Any], distributions: dict[str, Any], folder: Path) -> list[Path]:
    """Write the PNG figures into ``folder`` (created if missing) and return their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, draw in FIGURES.items():
        figure = draw(summary, distributions)
        path = folder / name
        figure.savefig(path, dpi=DPI)
        figure.clear()  # a bare Figure is not registered with pyplot; clearing frees its artists now
        paths.append(path)
    return paths


__all__ = [
    "FIGURES",
    "casualty_figure",
    "draw_figures",
    "ending_figure",
    "escalation_figure",
    "outcome_figure",
    "rung_figure",
    "truce_figure",
    "truce_survival",
    "widening_figure",
]

