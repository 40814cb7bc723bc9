"""Figures of a sweep: how P(regional escalation) moves with the parameters.

One numeric parameter: a line with its 95% band. Two: a heatmap of the estimate, with the
interval's width printed in each cell (or a second panel when the grid is large). More, or a Latin
hypercube: partial dependence, one small panel per parameter (the mean over the other parameters,
with the points' own estimates behind it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.output.plain_text import plain_text

DPI = 130


def _title(figure: Figure, summary: dict[str, Any], what: str) -> None:
    runs = summary.get("runs_per_point", 0)
    figure.suptitle(f"{summary.get('title', summary.get('scenario', ''))} — {what}\n"
                    f"({summary.get('points', 0):,} points × {runs:,} runs, 95% Wilson intervals)", fontsize=11)


def _label(path: str) -> str:
    """A readable axis label: the path's last parts, e.g. 'armenia: deep strike propensity'."""
    parts = path.split(".")
    if len(parts) >= 3:
        return f"{parts[1]}: {parts[-1].replace('_', ' ')}"
    return path.replace("_", " ").replace(".", ": ")


def _ticks(axes, values: list, axis: str) -> None:
    """At most ten readable ticks (3 significant digits) on a heatmap axis."""
    step = max(1, -(-len(values) // 10))
    positions = list(range(0, len(values), step))
    labels = [f"{values[i]:.3g}" if isinstance(values[i], (int, float)) else str(values[i]) for i in positions]
    if axis == "x":
        axes.set_xticks(positions, labels, rotation=45, fontsize=8)
    else:
        axes.set_yticks(positions, labels, fontsize=8)


def _numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


@plain_text
def line_figure(table: pd.DataFrame, parameter: str, summary: dict[str, Any]) -> Figure:
    """P(regional escalation) against one parameter, with its band (and, drawn from a posterior, the draws'
    90% band)."""
    figure = Figure(figsize=(8, 5), layout="constrained")
    axes = figure.subplots()
    data = table.sort_values(parameter) if _numeric(table[parameter]) else table
    x = data[parameter] if _numeric(data[parameter]) else np.arange(len(data))
    if "calibration_low" in data:
        axes.fill_between(x, 100 * data["calibration_low"], 100 * data["calibration_high"], alpha=0.12,
                          color="#2c3e50", label="calibration: the posterior's draws, 90%")
    axes.fill_between(x, 100 * data["ci_low"], 100 * data["ci_high"], alpha=0.25, color="#c0392b",
                      label="95% interval (Monte Carlo)" if "calibration_low" in data else "95% interval")
    axes.plot(x, 100 * data["p_regional_escalation"], marker="o", color="#c0392b", label="estimate")
    if not _numeric(data[parameter]):
        axes.set_xticks(x, [str(v) for v in data[parameter]])
    axes.set_xlabel(_label(parameter))
    axes.set_ylabel("P(regional escalation) (%)")
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    axes.legend()
    _title(figure, summary, f"P(regional escalation) against {_label(parameter)}")
    return figure


@plain_text
def heatmap_figure(table: pd.DataFrame, parameters: list[str], summary: dict[str, Any]) -> Figure:
    """P(regional escalation) over two parameters, with each cell's interval width."""
    first, second = parameters
    estimate = table.pivot_table(index=second, columns=first, values="p_regional_escalation", sort=True)
    width = table.assign(width=table["ci_high"] - table["ci_low"]).pivot_table(
        index=second, columns=first, values="width", sort=True)
    cells = estimate.size
    figure = Figure(figsize=(11, 5.5) if cells > 64 else (8, 6), layout="constrained")
    panels = figure.subplots(1, 2 if cells > 64 else 1, squeeze=False)[0]
    image = panels[0].imshow(100 * estimate.to_numpy(), origin="lower", aspect="auto", cmap="Reds")
    figure.colorbar(image, ax=panels[0], label="P(regional escalation) (%)")
    for axes in panels:
        _ticks(axes, list(estimate.columns), "x")
        _ticks(axes, list(estimate.index), "y")
        axes.set_xlabel(_label(first))
        axes.set_ylabel(_label(second))
    if cells <= 64:
        for (row, column), value in np.ndenumerate(estimate.to_numpy()):
            axes = panels[0]
            axes.text(column, row, f"{100 * value:.1f}%\n±{50 * width.to_numpy()[row, column]:.1f}",
                      ha="center", va="center", fontsize=7,
                      color="white" if value > np.nanmax(estimate.to_numpy()) * 0.6 else "black")
        panels[0].set_title("estimate, ± half the 95% interval (points)", fontsize=9)
    else:
        second_image = panels[1].imshow(100 * width.to_numpy(), origin="lower", aspect="auto", cmap="Greys")
        figure.colorbar(second_image, ax=panels[1], label="width of the 95% interval (points)")
        panels[0].set_title("estimate", fontsize=9)
        panels[1].set_title("interval width: how sure each cell is", fontsize=9)
    _title(figure, summary, f"P(regional escalation) over {_label(first)} and {_label(second)}")
    return figure


@plain_text
def dependence_figure(table: pd.DataFrame, parameters: list[str], summary: dict[str, Any]) -> Figure:
    """Partial dependence: one panel per parameter, the mean estimate over the others."""
    count = len(parameters)
    columns = min(count, 3)
    rows = -(-count // columns)
    figure = Figure(figsize=(4 * columns, 3.3 * rows + 0.8), layout="constrained")
    panels = np.atleast_1d(figure.subplots(rows, columns, squeeze=False)).ravel()
    for axes, parameter in zip(panels, parameters, strict=False):
        values = table[parameter]
        axes.scatter(values if _numeric(values) else values.astype(str), 100 * table["p_regional_escalation"],
                     s=8, alpha=0.3, color="grey", label="points")
        if _numeric(values) and values.nunique() > 12:
            bins = pd.qcut(values, q=min(10, values.nunique()), duplicates="drop")
            grouped = table.groupby(bins, observed=True)
            x = grouped[parameter].mean()
        else:
            grouped = table.groupby(values.astype(str) if not _numeric(values) else values)
            x = grouped[parameter].first().astype(str) if not _numeric(values) else grouped[parameter].mean()
        y = grouped["p_regional_escalation"].mean()
        axes.plot(x, 100 * y, color="#c0392b", marker="o", label="mean over the others")
        axes.set_xlabel(_label(parameter), fontsize=8)
        axes.set_ylabel("P(regional esc.) (%)", fontsize=8)
        axes.grid(alpha=0.3)
    for axes in panels[count:]:
        axes.set_visible(False)
    panels[0].legend(fontsize=7)
    _title(figure, summary, "partial dependence of P(regional escalation)")
    return figure


@plain_text
def draw_sweep_figures(table: pd.DataFrame, parameters: list[str], summary: dict[str, Any],
                       folder: Path) -> list[Path]:
    """Write the sweep's figure(s) into ``folder`` and return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    varying = [p for p in parameters if table[p].nunique() > 1] or parameters[:1]
    is_grid = summary.get("design") == "grid"
    if len(varying) == 1:
        figure, name = line_figure(table, varying[0], summary), "sweep_line.png"
    elif len(varying) == 2 and is_grid:
        figure, name = heatmap_figure(table, varying, summary), "sweep_heatmap.png"
    else:
        figure, name = dependence_figure(table, varying, summary), "sweep_dependence.png"
    path = folder / name
    figure.savefig(path, dpi=DPI)
    figure.clear()
    return [path]
