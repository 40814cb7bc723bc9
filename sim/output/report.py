"""Plain-text reports for the terminal: short, aligned, every probability with its interval."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sim.model.endings import ENDING_NAMES
from sim.model.model import OUTCOME_NAMES, OUTCOME_PRECEDENCE
from sim.scenario.words import count


def percent(estimate: dict[str, float]) -> str:
    """``9.98% [9.79, 10.17]``: an estimate with its 95% interval, in percent."""
    return (f"{100 * estimate['estimate']:6.2f}% [{100 * estimate['ci_low']:.2f}, "
            f"{100 * estimate['ci_high']:.2f}]")


def run_report(summary: dict[str, Any], folder: str | None = None) -> str:
    """The summary table printed after ``escalation run``: every figure under a name of its own."""
    runs = summary["runs"]
    escalation = summary["p_regional_escalation"]
    outcomes = summary["outcomes"]
    labels = [OUTCOME_NAMES[code] for code in OUTCOME_PRECEDENCE]
    labels += [ENDING_NAMES[code] for code in summary.get("ended_by", {})]
    labels += list(summary.get("in_combat", {}))
    width = max(len(label) for label in labels) + 1
    lines = [
        f"{summary['title']} - {count(runs, 'run')}, seed {summary['seed']}",
        "",
        f"  P(regional escalation)   {percent(escalation)}   "
        f"({escalation['count']:,} of {count(runs, 'run')}; 95% Wilson)",
    ]
    calibration = summary.get("calibration")
    if calibration:
        spread = calibration_interval(calibration["interval_90"], 2)
        lines += [
            f"    calibration: {spread} over 90% of the posterior of the shared dynamics "
            f"({count(calibration['points'], 'draw')} x {count(calibration['runs_per_point'], 'run')})",
            "    (the first interval is Monte Carlo error alone; the second is what the dynamics fitted across the "
            "case library leave open)"]
    if summary.get("regional_escalation_definition"):
        lines.append(f"    regional escalation here: {summary['regional_escalation_definition']}, on any day")
    parts = [f"{OUTCOME_NAMES[code]} {100 * outcomes[code]['estimate']:.2f}%"
             for code in ("outside_war", "regional_escalation")]
    if escalation["count"] == outcomes["regional_escalation"]["count"] + outcomes["outside_war"]["count"]:
        lines.append(f"    = {parts[0]} + {parts[1]} (the first two outcomes below)")
    else:
        lines.append(f"    = {parts[1]} + those runs of {parts[0]} that met the definition otherwise")
    lines += ["", f"  {'Outcome (each run once, the first that applies)':<{width + 2}} share    [95% interval]"]
    for code in OUTCOME_PRECEDENCE:
        lines.append(f"    {OUTCOME_NAMES[code]:<{width}} {percent(outcomes[code])}")
    if summary.get("ended_by"):
        lines += ["", f"  {'How the war ended (escalated or not)':<{width + 2}} share    [95% interval]"]
        for name, estimate in summary["ended_by"].items():
            if estimate["count"]:
                lines.append(f"    {ENDING_NAMES.get(name, name):<{width}} {percent(estimate)}")
        brokers = [f"{broker} {100 * e['estimate']:.1f}%" for broker, e in summary.get("halted_by", {}).items()
                   if e["count"]]
        if brokers:
            lines.append(f"    halts standing at the end, by who brought them about: {', '.join(brokers)}")
    if summary.get("in_combat"):
        lines += ["", f"  {'Outside power':<{width + 2}} {' in combat (limited or open)':<30} "
                      "involved (deniable or more)"]
        for actor, estimate in summary["in_combat"].items():
            involved = summary["entered"][actor]["deniable"]["estimate"]
            lines.append(f"    {actor:<{width}} {percent(estimate):<30} {100 * involved:5.1f}%")
    war = summary["war_days"]
    truces = summary["truces"]
    lines += ["", f"  Median war length        {count(round(war['median']), 'day')} "
                  f"(90% of runs: {war['p05']:.0f} to {war['p95']:.0f})"
              + (f"; war length reached the horizon in {100 * war['at_horizon']['estimate']:.1f}% of runs"
                 if "at_horizon" in war else "")]
    size = summary.get("war_size")
    if size:
        lines.append(f"  War size                 {size['mean']:.2f} actors at war on average "
                     f"({size['at_start']} at the start)")
    if truces["total"]:
        lines.append(
            f"  Truces                   {truces['brokered_per_run']:.2f} brokered, {truces['broken_per_run']:.2f} "
            f"broken per run; {100 * truces['broken_within_3_days']['estimate']:.1f}% of truces broke within 3 days"
            + (f"; median life {count(round(truces['median_days']), 'day')}" if truces.get("median_days") is not None
               else "")
        )
    else:
        lines.append("  Truces                   none in force in any run")
    casualties = ", ".join(f"{actor} {c['median']:,.0f}" for actor, c in summary["casualties"].items())
    lines.append(f"  Median deaths            {casualties}")
    if folder:
        lines += ["", f"  Results: {folder}"]
    return "\n".join(lines)


def sweep_report(summary: dict[str, Any], folder: str) -> str:
    """The lines printed after ``escalation sweep``."""
    low, high = summary["p_regional_escalation_range"]
    lines = [
        f"{summary['title']} - sweep of {', '.join(summary['parameters'])}: {count(summary['points'], 'point')} x "
        f"{count(summary['runs_per_point'], 'run')}, seed {summary['seed']}",
        f"  P(regional escalation) ranges from {100 * low:.2f}% to {100 * high:.2f}% over the points; "
        f"widest 95% interval {100 * summary['max_ci_width']:.2f} points",
    ]
    calibration = summary.get("calibration")
    if calibration:
        draws = calibration["draws"]
        header = _posterior_header(calibration["posterior"], draws, summary["runs_per_point"] // draws)
        lines.append(f"  Posterior predictive at every point: {header}; the draws' "
                     "90% interval per point in sweep.csv (calibration_low, calibration_high)"
                     + ("; at every point it is within Monte Carlo noise (more --runs tell the draws apart)"
                        if round(100 * calibration["widest_interval_90"], 2) == 0 else ""))
    lines.append(f"  Results: {folder} (sweep.csv, figures/)")
    return "\n".join(lines)


def sensitivity_report(result: Any, title: str, runs: int, seed: int, folder: str) -> str:
    """The indices table printed after ``escalation sensitivity``."""
    return "\n".join([
        f"{title} - {result.method} sensitivity of P(regional escalation): "
        f"{count(len(result.design), 'point')} x {count(runs, 'run')}, seed {seed}",
        result.indices.to_string(index=False, float_format=lambda v: f"{v:.3f}"),
        f"  Results: {folder}",
    ])


def comparison_report(result: Any, title: str, runs: int, seed: int, folder: str,
                      posterior: tuple[str, int] | None = None) -> str:
    """Both variants' risks and their paired difference, after ``escalation compare``; with ``posterior`` (its
    source and number of draws), the posterior predictive, with the draws' 90% interval after each figure."""
    d = result.difference
    pairing = "" if result.exact_common_random_numbers else " (structures differ: paired by replication seed)"
    width = max(len(label) for label in result.labels) + 2
    lines = [f"{title} - comparison on {runs:,} paired runs, seed {seed}{pairing}"]
    if posterior is not None:
        source, draws = posterior
        lines.append(f"  Posterior predictive: {_posterior_header(source, draws, runs // draws, 'paired run')}; "
                     "calibration: the draws' 90% interval")
    for label, summary in zip(result.labels, result.summaries, strict=True):
        text = f"  {label:<{width}} P(regional escalation) {percent(summary['p_regional_escalation'])}"
        if "calibration" in summary:
            text += f"; calibration {calibration_interval(summary['calibration']['interval_90'], 2)}"
        lines.append(text)
    difference = (f"  {'difference (first - second)':<{width}} {100 * d['estimate']:+.2f} points "
                  f"[{100 * d['ci_low']:+.2f}, {100 * d['ci_high']:+.2f}] (paired 95%, Newcombe)")
    if "calibration" in d:
        difference += f"; calibration {calibration_interval(d['calibration']['interval_90'], 2, points=True)}"
    lines += [difference, f"  Results: {folder}"]
    return "\n".join(lines)


def _score_lines(scores: Any, difference: str) -> list[str]:
    """One line per forecaster: Brier and log scores with intervals, and the model's Brier difference."""
    lines = []
    for row in scores.itertuples():
        brier_low, brier_high = row.brier_ci
        log_low, log_high = row.log_score_ci
        text = (f"    {row.forecaster:<46} Brier {row.brier:.3f} [{brier_low:.3f}, {brier_high:.3f}]   "
                f"log {row.log_score:.3f} [{log_low:.3f}, {log_high:.3f}]")
        if not math.isnan(row.model_minus_this_brier):
            low, high = row.model_minus_this_brier_ci
            text += f"   {difference}: {row.model_minus_this_brier:+.3f} [{low:+.3f}, {high:+.3f}]"
        lines.append(text)
    return lines


def _posterior_header(source: str, draws: int, runs_each: int, unit: str = "run") -> str:
    """``the shared dynamics drawn from the shipped posterior (128 draws, 200 runs each)``."""
    named = "the shipped posterior" if source == "shipped" else source
    return f"the shared dynamics drawn from {named} ({count(draws, 'draw')}, {count(runs_each, unit)} each)"


def calibration_interval(interval: Sequence[float], digits: int, points: bool = False) -> str:
    """The draws' 90% interval, ``low% to high%`` (with ``points``: of a difference, ``+low to +high points``);
    one that the draws' own Monte Carlo noise swallows whole (a spread of zero once the noise is taken out) is
    said so instead."""
    low, high = (100 * float(value) for value in interval)
    if round(high - low, digits) == 0:
        return "within Monte Carlo noise"
    if points:
        return f"{low:+.{digits}f} to {high:+.{digits}f} points"
    return f"{low:.{digits}f}% to {high:.{digits}f}%"


def backtest_report(result: Any, runs: int, folder: str, posterior: tuple[str, int] | None = None) -> str:
    """Per-case forecasts next to history, the scores with intervals and the stylised facts; with
    ``posterior`` (its source and number of draws), each forecast is the posterior predictive and the
    draws' 90% interval follows the Monte Carlo one."""
    cases = result.cases
    overview = result.summary
    lines = [f"Backtest of {count(len(cases), 'case')} ({overview['positives']} with an outside power in combat), "
             f"{count(runs, 'run')} each"]
    if posterior is not None:
        source, draws = posterior
        lines.append(f"Posterior predictive: {_posterior_header(source, draws, runs // draws)}; "
                     "[calibration: the draws' 90% interval]")
    width = 30 if posterior is None else 62
    lines += ["", f"  {'case':<28} {'P(regional escalation) [95%]':<{width}} {'happened':<9} "
              f"{'war days model/history':<24}"]
    for row in cases.itertuples():
        forecast = f"{100 * row.p_regional_escalation:6.2f}% [{100 * row.ci_low:.2f}, {100 * row.ci_high:.2f}]"
        if posterior is not None:
            spread = calibration_interval((row.calibration_low, row.calibration_high), 1)
            forecast = f"{forecast:<30} calibration {spread}"
        happened = "yes" if row.observed_regional_escalation else ("broad" if row.observed_broad_entry else "no")
        history = "-" if row.observed_war_days is None or row.observed_war_days != row.observed_war_days \
            else f"{int(row.observed_war_days)}"
        lines.append(f"  {row.case:<28} {forecast:<{width}} {happened:<9} {row.median_war_days:>5.0f} / {history}")
    lines += ["", "  Scores on regional escalation (Brier: lower is better; log score: higher is better; "
              "95% bootstrap intervals over cases)"]
    lines += _score_lines(result.scores, "model minus this")
    if getattr(result, "calibrated_scores", None) is not None:
        lines += ["", "  Calibrated dynamics (escalation calibrate): out of sample, each case forecast with "
                  "dynamics fitted without it"]
        lines += _score_lines(result.calibrated_scores, "LOO model minus this")
    slope = overview.get("calibration_slope")
    area = overview.get("auc")
    lines += ["", f"  Discrimination: AUC {area:.2f}" if area is not None else "  Discrimination: AUC undefined "
              "(one class only)",
              f"  Calibration slope {slope:.2f} (1 = calibrated; below 1 = forecasts too extreme)"
              if slope is not None else "  Calibration slope: cannot be fitted"]
    if overview.get("mean_p_escalation_by_observed_day") is not None:
        lines.append(f"  Timing: mean P(escalation by the observed day of entry) "
                     f"{overview['mean_p_escalation_by_observed_day']:.2f} over the positive cases")
    if overview.get("mean_crps_war_days") is not None:
        rank = overview.get("war_days_rank_correlation")
        lines.append(f"  War length: mean CRPS {overview['mean_crps_war_days']:.1f} days; rank correlation of median "
                     f"war length with history {'n/a' if rank is None else f'{rank:.2f}'}")
    if overview.get("short_wars"):
        lines.append(f"  Short wars ({overview['short_war_days']} days or less in history): the model's median war "
                     f"is as short in {overview['short_wars_reproduced']} of {overview['short_wars']}"
                     + (f" (not in {', '.join(overview['short_wars_missed'])})" if overview["short_wars_missed"]
                        else ""))
    if overview.get("endings_recorded"):
        lines.append(f"  How wars ended: the model's most likely ending is the recorded one in "
                     f"{overview['modal_ending_matches']} of {overview['endings_recorded']} cases; mean log "
                     f"probability of the recorded ending {overview['mean_log_p_ending']:.2f}")
    if len(result.facts):
        lines += ["", f"  Stylised facts: {int(result.facts['holds'].sum())} of {len(result.facts)} hold"]
        for row in result.facts.itertuples():
            missing = row.value is None or (isinstance(row.value, float) and math.isnan(row.value))
            value = "n/a" if missing else f"{row.value:.3g}"
            lines.append(f"    [{'x' if row.holds else ' '}] {row.case}: {row.fact} ({row.statistic} = {value}, "
                         f"range {row.low:g} to {row.high:g})")
    lines += ["", f"  Results: {folder}"]
    return "\n".join(lines)


def parameters_report(rows: list[dict[str, str]]) -> str:
    """``escalation params``: one line per overridable path, with the declared range where there is one."""
    headers = {"path": "path", "value": "value", "allowed": "allowed", "uncertainty": "declared range",
               "description": "description"}
    limits = {"path": 60, "value": 24, "allowed": 40, "uncertainty": 36, "description": 200}
    cells = [{k: _clip(row[k], limits[k]) for k in headers} for row in [headers, *rows]]
    widths = {k: max(len(c[k]) for c in cells) for k in headers}
    lines = ["  ".join(c[k].ljust(widths[k]) for k in headers).rstrip() for c in cells]
    declared = sum(1 for row in rows if row["uncertainty"])
    return "\n".join([*lines, "", f"{count(len(rows), 'overridable value')} ({declared} with a declared uncertainty); "
                       "set one with --set PATH=VALUE"])


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
