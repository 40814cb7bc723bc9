"""What ``escalation calibrate`` writes: the fitted dynamics as YAML, the report and the figures."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.output.plain_text import plain_text

OUTCOME_LABELS = {"regional_escalation": "regional escalation", "war_length": "war length (binned)",
                  "truces": "truces (broke / held)", "ended_by": "how the war ended"}


def _number(value: float) -> str:
    return f"{value:.4g}"


def fitted_dynamics_yaml(parameters: pd.DataFrame, header: Sequence[str]) -> str:
    """A ``dynamics:`` block to paste into a scenario: the MAP value of each fitted parameter, with the
    posterior mean, 90% interval, prior range and reference value in its comment."""
    lines = [f"# {line}" for line in header]
    lines.append("dynamics:")
    width = max(len(name) for name in parameters["parameter"]) + 1
    for row in parameters.itertuples():
        lines.append(f"  {row.parameter + ':':<{width}} {_number(row.map):<8}  # posterior mean {_number(row.mean)}, "
                     f"90% interval [{_number(row.low_90)}, {_number(row.high_90)}], prior [{_number(row.prior_low)}, "
                     f"{_number(row.prior_high)}], reference {_number(row.reference)}")
    return "\n".join(lines) + "\n"


def _panels(names: Sequence[str]) -> tuple[Figure, np.ndarray]:
    """A figure of one panel per parameter, four to a row."""
    columns = min(4, len(names))
    rows = math.ceil(len(names) / columns)
    figure = Figure(figsize=(3.2 * columns, 2.6 * rows + 0.6), layout="constrained")
    return figure, np.atleast_1d(figure.subplots(rows, columns, squeeze=False)).ravel()


def _finish_panels(figure: Figure, axes: np.ndarray, used: int, ylabel: str, legend_columns: int,
                   title: str) -> Figure:
    """Hide the unused panels, label the first, put the first panel's legend below and the title above."""
    for axis in axes[used:]:
        axis.set_visible(False)
    axes[0].set_ylabel(ylabel)
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=legend_columns, fontsize=8)
    figure.suptitle(title, fontsize=10)
    return figure


@plain_text
def weights_figure(design: pd.DataFrame, weights: np.ndarray, parameters: pd.DataFrame) -> Figure:
    """One panel per parameter: each candidate's value against its posterior weight, with the prior
    range, the reference value, the MAP and the 90% interval."""
    names = list(design.columns)
    figure, axes = _panels(names)
    for axis, name in zip(axes, names, strict=False):
        row = parameters.set_index("parameter").loc[name]
        axis.axvspan(row["low_90"], row["high_90"], color="#c6dbef", label="90% interval")
        axis.vlines(design[name], 0, weights, color="#2c7fb8", linewidth=1.5)
        axis.plot(design[name], weights, "o", color="#2c7fb8", markersize=3, label="candidate")
        axis.axvline(row["reference"], color="grey", linestyle="--", label="reference value")
        axis.axvline(row["map"], color="#c0392b", label="MAP")
        axis.set_xlim(row["prior_low"], row["prior_high"])
        axis.set_ylim(0, max(1e-9, float(np.max(weights))) * 1.08)
        axis.set_title(name, fontsize=9)
        axis.tick_params(labelsize=7)
    return _finish_panels(figure, axes, len(names), "posterior weight", 4,
                          f"Posterior weight of each of {len(design)} candidates over its prior range")


@plain_text
def forecasts_figure(loo: pd.DataFrame) -> Figure:
    """Each case's P(regional escalation), one row per case: in sample (dynamics fitted on every case) and
    leave-one-out (fitted without it), joined by a line, the case's name coloured by what happened."""
    order = loo.sort_values("p_loo", kind="stable").reset_index(drop=True)
    figure = Figure(figsize=(8, max(5.0, 1.8 + 0.2 * len(order))), layout="constrained")
    axis = figure.subplots()
    rows = np.arange(len(order))
    happened = order["observed_regional_escalation"].astype(bool).to_numpy()
    axis.hlines(rows, order["p_in_sample"], order["p_loo"], color="0.6", linewidth=1)
    axis.plot(order["p_in_sample"], rows, "o", markerfacecolor="white", color="0.3", markersize=5,
              label="in sample (fitted on every case)")
    for flag, colour, label in ((False, "#2c7fb8", "leave-one-out; no outside power in combat"),
                                (True, "#c0392b", "leave-one-out; an outside power in combat (strict)")):
        chosen = happened == flag
        axis.plot(order["p_loo"][chosen], rows[chosen], "o", color=colour, markersize=5, label=label)
    axis.set_yticks(rows, [name.replace("_", " ") for name in order["case"]], fontsize=7.5)
    for tick, flag in zip(axis.get_yticklabels(), happened, strict=True):
        tick.set_color("#c0392b" if flag else "black")
    axis.set_ylim(-0.7, len(order) - 0.3)
    axis.set_xlim(-0.02, 1.02)
    axis.set_xlabel("P(regional escalation)")
    axis.grid(axis="x", alpha=0.3)
    figure.legend(loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    figure.suptitle("Forecasts in sample and leave-one-out, case by case", fontsize=10)
    return figure


def _interval(pair: Any) -> str:
    low, high = pair
    return f"[{low:.3f}, {high:.3f}]"


def calibration_markdown(*, title_line: str, parameters: pd.DataFrame, ess: float, small_ess: float,
                         candidates: int, outcome_totals: pd.DataFrame, scores: pd.DataFrame,
                         loo_outcomes: pd.DataFrame, notes: Sequence[str], elapsed: float) -> str:
    """report.md: the fit, its uncertainty, the scores in and out of sample, and the limits, in plain words."""
    lines = ["# Calibration of the shared dynamics", "", title_line, "",
             "## Fitted dynamics", "",
             "| parameter | prior range | reference | MAP | posterior mean | 90% interval |",
             "|---|---|---|---|---|---|"]
    for row in parameters.itertuples():
        lines.append(f"| {row.parameter} | [{_number(row.prior_low)}, {_number(row.prior_high)}] | "
                     f"{_number(row.reference)} | {_number(row.map)} | {_number(row.mean)} | "
                     f"[{_number(row.low_90)}, {_number(row.high_90)}] |")
    lines += ["", f"Effective sample size of the posterior weights: {ess:.1f} of {candidates} candidates."]
    if ess < small_ess:
        lines += ["", f"**Warning: the effective sample size is below {small_ess:g}.** Almost all the weight sits on "
                  "a few candidates, so the intervals above are those of a handful of points of the design, not of "
                  "the posterior: they understate the uncertainty. More candidates (--candidates), fewer fitted "
                  "dynamics (--parameters) or narrower priors would tell more."]
    lines += ["", "## Log-likelihood of what happened, summed over cases", "",
              "| outcome | cases recording it | reference dynamics | MAP candidate | best minus reference |",
              "|---|---|---|---|---|"]
    for row in outcome_totals.itertuples():
        lines.append(f"| {OUTCOME_LABELS.get(row.outcome, row.outcome)} | {row.cases} | {row.reference:.2f} | "
                     f"{row.map:.2f} | {row.map - row.reference:+.2f} |")
    lines += ["", "## Regional escalation: scores in and out of sample", "",
              "Brier score (lower is better) and mean log score (higher is better), with 95% bootstrap intervals "
              "over cases. The leave-one-out forecast of a case uses dynamics fitted without it; the reference "
              "forecasters are fitted leave-one-out too. The last column is the leave-one-out model's Brier score "
              "minus this forecaster's (negative: the model is better).", "",
              "| forecaster | Brier | log score | LOO model minus this (Brier) |", "|---|---|---|---|"]
    for row in scores.itertuples():
        difference = ("" if math.isnan(row.model_minus_this_brier) else
                      f"{row.model_minus_this_brier:+.3f} {_interval(row.model_minus_this_brier_ci)}")
        lines.append(f"| {row.forecaster} | {row.brier:.3f} {_interval(row.brier_ci)} | "
                     f"{row.log_score:.3f} {_interval(row.log_score_ci)} | {difference} |")
    lines += ["", "## Every outcome, out of sample", "",
              "Mean log of the leave-one-out predictive probability of what happened, over the cases that record "
              "the outcome, next to the reference dynamics (each share clipped to [1/(2n), 1 - 1/(2n)]).", "",
              "| outcome | cases | reference dynamics | calibrated, leave-one-out |", "|---|---|---|---|"]
    for row in loo_outcomes.itertuples():
        lines.append(f"| {OUTCOME_LABELS.get(row.outcome, row.outcome)} | {row.cases} | {row.reference:.3f} | "
                     f"{row.loo:.3f} |")
    lines += ["", "## Limits", "",
              "- The posterior is computed over the candidates of the design only (importance weights of a "
              "sample of the prior): exact for those points, coarse between them. With a small effective sample "
              "size it is close to picking the best candidate.",
              "- Each candidate's shares are Monte Carlo estimates; common random numbers make the differences "
              "between candidates precise, but a share of 0 or 1 is only known to within 1/(2n).",
              "- War length is scored on a few bins of days; truces on whether one broke and whether one held; "
              "the war's end on its coded kind; regional escalation on the strict coding. Cases that do not record "
              "an outcome are not scored on it.",
              "- Leave-one-out refits are exact over the design but reuse the same design and simulations: they "
              "measure how well the fit transfers to a case it did not see, not how it would do on new crises "
              "chosen differently.",
              "- Case facts are never fitted; a case's own value of a fitted dynamic is replaced by each "
              "candidate's (listed below)."]
    if notes:
        lines += ["", "## Notes", "", *(f"- {note}" for note in notes)]
    lines += ["", f"Wall time: {elapsed:.0f} s.", ""]
    return "\n".join(lines)


def posterior_yaml(parameters: pd.DataFrame, header: Sequence[str]) -> str:
    """A ``dynamics:`` block from a joint calibration: the posterior mean of each identified dynamic, the
    reference value of one the library does not identify, the interval and contraction in the comment."""
    lines = [f"# {line}" for line in header]
    lines.append("dynamics:")
    width = max(len(name) for name in parameters["parameter"]) + 1
    for row in parameters.itertuples():
        value = row.mean if row.identified else row.reference
        why = ("posterior mean" if row.identified else
               f"not identified (contraction {row.contraction:.2f}): reference value; "
               f"posterior mean {_number(row.mean)}")
        lines.append(f"  {row.parameter + ':':<{width}} {_number(value):<8}  # {why}, 90% interval "
                     f"[{_number(row.low_90)}, {_number(row.high_90)}], prior [{_number(row.prior_low)}, "
                     f"{_number(row.prior_high)}]")
    return "\n".join(lines) + "\n"


@plain_text
def posterior_figure(particles: pd.DataFrame, parameters: pd.DataFrame) -> Figure:
    """One panel per dynamic: the histogram of the posterior sample over the whole prior range (flat: the
    prior), with the 90% interval, the mean and the reference value; the title says whether the library
    identifies it."""
    names = list(particles.columns)
    figure, axes = _panels(names)
    table = parameters.set_index("parameter")
    for axis, name in zip(axes, names, strict=False):
        row = table.loc[name]
        axis.axvspan(row["low_90"], row["high_90"], color="#c6dbef", label="90% interval")
        axis.hist(particles[name], bins=np.linspace(row["prior_low"], row["prior_high"], 21), density=True,
                  color="#2c7fb8", alpha=0.8, label="posterior")
        axis.axhline(1 / (row["prior_high"] - row["prior_low"]), color="0.4", linewidth=1, label="prior")
        axis.axvline(row["reference"], color="grey", linestyle="--", label="reference value")
        axis.axvline(row["mean"], color="#c0392b", label="posterior mean")
        axis.set_xlim(row["prior_low"], row["prior_high"])
        verdict = "" if row["identified"] else " (not identified)"
        axis.set_title(f"{name}{verdict}", fontsize=9)
        axis.tick_params(labelsize=7)
    return _finish_panels(figure, axes, len(names), "density", 5,
                          f"Posterior of the shared dynamics: {len(particles)} particles over each prior range")


def _score_rows(scores: pd.DataFrame) -> list[str]:
    rows = ["| forecaster | Brier | log score | model minus this (Brier) | Brier skill of the model |",
            "|---|---|---|---|---|"]
    for row in scores.itertuples():
        difference = ("" if not isinstance(row.model_minus_this_brier, float) or math.isnan(row.model_minus_this_brier)
                      else f"{row.model_minus_this_brier:+.3f} {_interval(row.model_minus_this_brier_ci)}")
        skill = "" if math.isnan(row.model_brier_skill) else f"{row.model_brier_skill:+.3f}"
        rows.append(f"| {row.forecaster} | {row.brier:.3f} {_interval(row.brier_ci)} | "
                    f"{row.log_score:.3f} {_interval(row.log_score_ci)} | {difference} | {skill} |")
    return rows


def smc_markdown(*, title_line: str, parameters: pd.DataFrame, fit: Any, in_sample: pd.DataFrame,
                 scores: pd.DataFrame | None, folds: int | None, split_year: int | None,
                 split_scores: pd.DataFrame | None, slopes: dict[str, float | None], elapsed: float) -> str:
    """report.md of a joint calibration: the posterior, how the sampler got there, the scores in sample,
    out of sample (folds) and after a split in time, and the limits."""
    smc = fit.smc
    lines = ["# Joint calibration of the shared dynamics (sequential Monte Carlo)", "", title_line, "",
             "## Posterior", "",
             "| parameter | prior range | reference | posterior mean | sd | 90% interval | contraction | identified |",
             "|---|---|---|---|---|---|---|---|"]
    for row in parameters.itertuples():
        lines.append(f"| {row.parameter} | [{_number(row.prior_low)}, {_number(row.prior_high)}] | "
                     f"{_number(row.reference)} | {_number(row.mean)} | {_number(row.sd)} | "
                     f"[{_number(row.low_90)}, {_number(row.high_90)}] | {row.contraction:.2f} | "
                     f"{'yes' if row.identified else '**no**'} |")
    unidentified = [row.parameter for row in parameters.itertuples() if not row.identified]
    lines += ["", "Contraction is 1 - posterior variance / prior variance: 0 when the cases say nothing of a dynamic, "
              "1 when they pin it down. A dynamic with a contraction below 0.5 is not identified by the library: "
              "fitted_dynamics.yaml keeps its sourced reference value."]
    if unidentified:
        lines += ["", f"Not identified: {', '.join(unidentified)}."]
    lines += ["", "## The sampler", "",
              f"- {len(smc.ess)} tempering steps from the prior (beta 0) to the posterior (beta 1); at every step the "
              f"effective sample size was kept at half the particles or more (smallest {min(smc.ess):.1f}, at the "
              f"last reweighting {fit.ess:.1f} of {len(fit.particles)}).",
              f"- {smc.distinct} distinct particles in the final population; moves accepted per step: "
              f"{', '.join(f'{100 * a:.0f}%' for a in smc.acceptance)}.",
              f"- {smc.evaluations:,} sets of dynamics simulated on every case; log evidence {smc.log_evidence:.2f} "
              "(to compare models on the same cases).", ""]
    lines += ["## Regional escalation, in sample", "",
              "| | Brier | calibration slope |", "|---|---|---|"]
    happened = in_sample["observed_regional_escalation"].astype(float).to_numpy()
    for column, label in (("p_in_sample", "posterior predictive, in sample"), ("p_reference", "reference dynamics")):
        brier = float(((in_sample[column].to_numpy(dtype=float) - happened) ** 2).mean())
        slope = slopes.get("in sample") if column == "p_in_sample" else None
        lines.append(f"| {label} | {brier:.3f} | {'' if slope is None else f'{slope:.2f}'} |")
    if scores is not None:
        slope = slopes.get("out of sample (folds)")
        lines += ["", f"## Out of sample: {folds} folds, the whole fit rerun without each", "",
                  "Each case is forecast by the posterior predictive mixture of a fit that never simulated it nor "
                  "read its outcome. The reference forecasters are fitted leave-one-out. 95% bootstrap intervals "
                  f"over cases. Calibration slope {'n/a' if slope is None else f'{slope:.2f}'}.", "",
                  *_score_rows(scores)]
    if split_scores is not None:
        slope = slopes.get("after the time split")
        lines += ["", f"## Out of sample in time: fitted on the crises before {split_year}, scored on the later ones",
                  "", "The reference forecasters are fitted on the earlier cases too. Calibration slope "
                  f"{'n/a' if slope is None else f'{slope:.2f}'}.", "", *_score_rows(split_scores)]
    lines += ["", "## Limits", "",
              "- Each particle's likelihood is a Monte Carlo estimate on common random numbers: a fixed function of "
              "the dynamics, which the sampler explores exactly, but whose roughness at a few hundred runs per case "
              "can leave particles on local bumps.",
              "- War length is scored on bins of days, truces on whether one broke and one held, the ending on its "
              "coded kind, regional escalation on the strict coding; unrecorded outcomes are not scored.",
              "- Case facts are never fitted; every case's own value of a fitted dynamic is replaced.",
              "", f"Wall time: {elapsed:.0f} s.", ""]
    return "\n".join(lines)
