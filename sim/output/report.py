"""Plain-text reports for the terminal: short, aligned, every probability with its interval."""

from __future__ import annotations

from typing import Any


def percent(estimate: dict[str, float]) -> str:
    """``9.98% [9.79, 10.17]``: an estimate with its 95% interval, in percent."""
    return (f"{100 * estimate['estimate']:6.2f}% [{100 * estimate['ci_low']:.2f}, "
            f"{100 * estimate['ci_high']:.2f}]")


def run_report(summary: dict[str, Any], folder: str | None = None) -> str:
    """The summary table printed after ``escalation run``."""
    runs = summary["runs"]
    escalation = summary["p_regional_escalation"]
    lines = [
        f"{summary['title']} - {runs:,} runs, seed {summary['seed']}",
        "",
        f"  P(regional escalation)   {percent(escalation)}   ({escalation['count']:,} of {runs:,} runs; 95% Wilson)",
        "",
        "  Outcome                  share    [95% interval]",
    ]
    for name, estimate in summary["outcomes"].items():
        lines.append(f"    {name.replace('_', ' '):<22} {percent(estimate)}")
    if summary.get("backer_entered_openly"):
        lines += ["", "  Backer entered openly"]
        for actor, estimate in summary["backer_entered_openly"].items():
            lines.append(f"    {actor:<22} {percent(estimate)}")
    war = summary["war_days"]
    truces = summary["truces"]
    lines += ["", f"  Median war length        {war['median']:.0f} days "
                  f"(90% of runs: {war['p05']:.0f} to {war['p95']:.0f})"]
    if truces["total"]:
        lines.append(
            f"  Truces                   {truces['brokered_per_run']:.2f} brokered, {truces['broken_per_run']:.2f} "
            f"broken per run; {100 * truces['broken_within_3_days']['estimate']:.1f}% of truces broke within 3 days"
        )
    else:
        lines.append("  Truces                   none in force in any run")
    casualties = ", ".join(f"{actor} {c['median']:,.0f}" for actor, c in summary["casualties"].items())
    lines.append(f"  Median deaths            {casualties}")
    if folder:
        lines += ["", f"  Results: {folder}"]
    return "\n".join(lines)
