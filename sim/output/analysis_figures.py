"""Figures of a comparison (side-by-side outcomes) and of a sensitivity analysis (ranked indices)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.output.plain_text import plain_text

DPI = 130
COLOURS = ("#2c7fb8", "#f39c12")


@plain_text
def comparison_figure(comparison: dict[str, Any]) -> Figure:
    """Outcome shares of both variants side by side with 95% intervals, and the paired difference."""
    first, second = comparison["first"], comparison["second"]
    labels = comparison["labels"]
    names = list(first["outcomes"])
    figure = Figure(figsize=(9, 5.5), layout="constrained")
    axes = figure.subplots()
    y = np.arange(len(names))
    for offset, (summary, label, colour) in enumerate(zip((first, second), labels, COLOURS, strict=True)):
        shares = np.array([summary["outcomes"][n]["estimate"] for n in names])
        low = np.array([summary["outcomes"][n]["ci_low"] for n in names])
        high = np.array([summary["outcomes"][n]["ci_high"] for n in names])
        positions = y + (0.2 if offset == 0 else -0.2)
        axes.barh(positions, 100 * shares, height=0.38, color=colour, label=label,
                  xerr=[100 * (shares - low), 100 * (high - shares)], capsize=3)
        for position, share, top in zip(positions, shares, high, strict=True):  # right of the whisker
            axes.text(100 * max(share, top) + 1, position, f"{100 * share:.1f}%", va="center", fontsize=8)
    axes.set_yticks(y, [n.replace("_", " ") for n in names])
    axes.invert_yaxis()
    axes.set_xlim(0, 110)
    axes.set_xlabel("share of runs (%) with 95% Wilson interval")
    figure.legend(loc="outside lower center", ncols=2, frameon=False)  # under the axes, never over a bar
    axes.grid(axis="x", alpha=0.3)
    d = comparison["difference_in_p_regional_escalation"]
    runs = first["runs"]
    figure.suptitle(
        f"{first['title']} — comparison ({runs:,} paired runs)\n"
        f"P(regional escalation): {labels[0]} minus {labels[1]} = {100 * d['estimate']:+.2f} points "
        f"[{100 * d['ci_low']:+.2f}, {100 * d['ci_high']:+.2f}] (paired 95%)",
        fontsize=10,
    )
    return figure


@plain_text
def sensitivity_figure(indices: pd.DataFrame, method: str, title: str, points: int, runs: int) -> Figure:
    """Parameters ranked by influence: Sobol' first-order and total indices, or Morris mu*."""
    figure = Figure(figsize=(9, 1.2 + 0.55 * len(indices)), layout="constrained")
    axes = figure.subplots()
    y = np.arange(len(indices))
    names = [p.replace("_", " ") for p in indices["parameter"]]
    if method == "sobol":
        axes.barh(y - 0.2, indices["ST"], height=0.38, xerr=indices["ST_conf"], capsize=3, color="#c0392b",
                  label="total effect ST")
        axes.barh(y + 0.2, indices["S1"], height=0.38, xerr=indices["S1_conf"], capsize=3, color="#2c7fb8",
                  label="first order S1")
        axes.set_xlabel("Sobol' index (share of the variance of P(regional escalation)), 95% interval")
    else:
        axes.barh(y, indices["mu_star"], xerr=indices["mu_star_conf"], capsize=3, color="#c0392b", label="mu*")
        axes.set_xlabel("Morris mu* (mean absolute elementary effect on P(regional escalation)), 95% interval")
    axes.set_yticks(y, names, fontsize=8)
    axes.invert_yaxis()
    axes.axvline(0, color="black", linewidth=0.8)
    axes.grid(axis="x", alpha=0.3)
    axes.legend(loc="lower right", fontsize=8)
    figure.suptitle(f"{title} — what drives the risk ({method}, {points:,} points × {runs:,} runs)", fontsize=10)
    return figure


@plain_text
def save(figure: Figure, path: Path) -> Path:
    """Save and release a figure."""
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=DPI)
    figure.clear()
    return path


ESCALATED_COLOUR = "#c0392b"
CONTAINED_COLOUR = "#2c7fb8"


@plain_text
def reliability_figure(cases: pd.DataFrame, scores: pd.DataFrame) -> Figure:
    """Calibration of the backtest: left, the binned forecasts against how often what they forecast happened;
    right, every case's forecast with its 95% interval, one row per case, coloured by what happened."""
    order = cases.sort_values("p_regional_escalation", kind="stable").reset_index(drop=True)
    figure = Figure(figsize=(12, max(5.5, 1.6 + 0.2 * len(order))), layout="constrained")
    binned, ranked = figure.subplots(1, 2, width_ratios=(1, 1.15))
    forecast = order["p_regional_escalation"].to_numpy(dtype=float)
    happened = order["observed_regional_escalation"].astype(bool).to_numpy()
    binned.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    edges = np.array([0.0, 0.05, 0.15, 0.35, 1.0 + 1e-9])
    bins = np.clip(np.digitize(forecast, edges) - 1, 0, len(edges) - 2)
    # The cases per bin go in the legend, below the axes: counts written beside the squares collide when two
    # bins' means lie close together.
    names = ("<5%", "5-15%", "15-35%", ">35%")
    counts = ", ".join(f"{names[b]}: {int((bins == b).sum())}" for b in np.unique(bins))
    for b in np.unique(bins):
        inside = bins == b
        x, y = forecast[inside].mean(), happened[inside].mean()
        binned.plot(x, y, marker="s", markersize=10, color=CONTAINED_COLOUR, linestyle="none",
                    label=f"binned mean (cases per bin of forecast: {counts})" if b == bins.min() else None)
    binned.set_xlim(-0.05, 1.05)
    binned.set_ylim(-0.1, 1.05)
    binned.set_xlabel("mean forecast P(regional escalation) in the bin")
    binned.set_ylabel("share of the bin's cases in which it happened")
    binned.grid(alpha=0.3)
    binned.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), fontsize=8, frameon=False)
    rows = np.arange(len(order))
    for flag, colour, label in ((False, CONTAINED_COLOUR, "no outside power in combat"),
                                (True, ESCALATED_COLOUR, "an outside power in combat, or outside powers fought")):
        chosen = happened == flag
        low = np.clip(forecast[chosen] - order["ci_low"].to_numpy(dtype=float)[chosen], 0, None)
        high = np.clip(order["ci_high"].to_numpy(dtype=float)[chosen] - forecast[chosen], 0, None)
        ranked.errorbar(forecast[chosen], rows[chosen], xerr=[low, high], fmt="o", color=colour, capsize=2,
                        markersize=4, label=label)
    ranked.set_yticks(rows, [name.replace("_", " ") for name in order["case"]], fontsize=7.5)
    for tick, flag in zip(ranked.get_yticklabels(), happened, strict=True):
        tick.set_color(ESCALATED_COLOUR if flag else "black")
    ranked.set_ylim(-0.7, len(order) - 0.3)
    ranked.set_xlim(-0.02, 1.02)
    ranked.set_xlabel("forecast P(regional escalation), 95% interval")
    ranked.grid(axis="x", alpha=0.3)
    ranked.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12 * 5.5 / figure.get_figheight()), fontsize=8,
                  frameon=False, title="what happened", title_fontsize=8)
    model = scores.iloc[0]
    figure.suptitle(f"Backtest on {len(cases)} historical cases — reliability\n"
                    f"model Brier {model['brier']:.3f}, log score {model['log_score']:.3f} "
                    f"({int(cases['runs'].iloc[0]):,} runs per case)", fontsize=10)
    return figure
