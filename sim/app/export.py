"""What the page hands the analyst: the variant's results as CSV, and the variant as a scenario file.

:func:`results_csv` writes every figure the page shows (P(regional escalation), each outcome, each outside
power's entry in combat, the war's median length) for the scenario as written and with the changes, with
their 95% intervals, the runs and the seed. :func:`variant_yaml` writes the scenario file with the changes
applied and its comments kept, so that ``escalation run`` runs the variant as it is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from sim.app import adapter
from sim.app.engine import Estimate, assignments
from sim.model.model import OUTCOMES
from sim.scenario.loader import LoadedScenario
from sim.scenario.overrides import parse_assignment, resolve_path

RESULT_COLUMNS = ("quantity", "variant", "estimate", "ci_low", "ci_high", "runs", "seed", "changes")


def _rows(estimate: Estimate) -> list[tuple[str, str, dict[str, float]]]:
    rows = []
    for variant, summary in (("as written", estimate.baseline), ("with your changes", estimate.variant)):
        rows.append(("p_regional_escalation", variant, summary["p_regional_escalation"]))
        rows += [(f"outcome_{name}", variant, summary["outcomes"][name]) for name in OUTCOMES]
        rows += [(f"in_combat_{actor}", variant, value) for actor, value in adapter.entries(summary).items()]
        median = float(summary["war_days"]["median"])
        rows.append(("war_days_median", variant, {"estimate": median, "ci_low": float("nan"),
                                                  "ci_high": float("nan")}))
    return rows


def results_csv(estimate: Estimate, seed: int) -> str:
    """The page's figures as a CSV table: one row per quantity and variant (as written, with your changes);
    shares of runs as fractions with their 95% Wilson intervals, the war's median length in days."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(RESULT_COLUMNS)
    changes = " ".join(estimate.changed)
    for quantity, variant, value in _rows(estimate):
        interval = [value["ci_low"], value["ci_high"]]
        writer.writerow([quantity, variant, repr(float(value["estimate"])),
                         *("" if x != x else repr(float(x)) for x in interval), estimate.runs, seed,
                         changes if variant == "with your changes" else ""])
    return buffer.getvalue()


def _yaml():
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 110
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def variant_yaml(loaded: LoadedScenario, overrides: Mapping[str, Any]) -> str:
    """The scenario file as written (comments kept) with the page's changes applied, and a comment on top that
    says what changed: a file ``escalation run`` accepts and that runs the variant.

    Raises:
        ScenarioError: a change the scenario does not accept (the page has already checked them).
    """
    yaml = _yaml()
    data = yaml.load(loaded.text)
    changed = [*loaded.overrides, *assignments(overrides)]
    for text in changed:
        dotted, value = parse_assignment(text, "the page")
        path = resolve_path(data, dotted, origin="the page")
        node = data
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    header = [f"# A variant of {loaded.source}, saved from the what-if page with these changes:"]
    header += [f"#   {text}" for text in changed] or ["#   (none: the scenario as written)"]
    return "\n".join(header) + "\n" + buffer.getvalue()


__all__ = ["RESULT_COLUMNS", "results_csv", "variant_yaml"]
