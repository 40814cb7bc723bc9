"""The what-if page's work per move of a control: the first estimate, its refinement, the figures.

Target (issue 12): a new estimate in about a second. This measures the server side in-process
(no browser): the first estimate (2,000 paired runs of the variant and the scenario as written),
each refined estimate until 64,000, and drawing the page's figures to PNG. Prints the load average
too: the machine is shared, and the figures scale with it.

    python benchmarks/bench_app.py [--repeats R] [--scenario FILE] [--path DOTTED.PATH] [--posterior]

With ``--posterior``, the page's *calibration uncertainty* mode: the shared dynamics drawn from the page's
draws of the shipped posterior (sim.app.engine.page_posterior).
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import mesa
import numpy as np

from sim.app import figures
from sim.app.engine import estimates
from sim.scenario.loader import load_with_provenance

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "nagorno_karabakh_2020.yaml"
PATH = "actors.turkey.outside.escalation_rate"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--scenario", type=Path, default=SCENARIO)
    parser.add_argument("--path", default=PATH, help="the control moved (a numeric --set path)")
    parser.add_argument("--posterior", action="store_true", help="the page's calibration uncertainty mode")
    args = parser.parse_args()
    dynamics = None
    if args.posterior:
        from sim.app.engine import page_posterior

        dynamics = page_posterior()
    print(f"python {platform.python_version()}, numpy {np.__version__}, mesa {mesa.__version__}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    print(f"command: {' '.join([sys.executable, *sys.argv])}")
    loaded = load_with_provenance(args.scenario)
    first, drawing = [], []
    for repeat in range(args.repeats):
        value = 0.04 + 0.01 * repeat  # a new value each time, as a moved slider gives
        start = time.perf_counter()
        refined = estimates(loaded, {args.path: value}, loaded.scenario.seed, dynamics=dynamics)
        estimate = next(refined)
        first.append(time.perf_counter() - start)
        start = time.perf_counter()
        for draw in (figures.outcome_figure, figures.entries_figure):
            draw(estimate).savefig(io.BytesIO(), format="png")
        drawing.append(time.perf_counter() - start)
    print(f"first estimate ({estimate.runs:,} paired runs): median {statistics.median(first):.3f} s, "
          f"best {min(first):.3f} s")
    print(f"what-if figures to PNG: median {statistics.median(drawing):.3f} s, best {min(drawing):.3f} s")
    start = time.perf_counter()
    for estimate in estimates(loaded, {args.path: 0.13}, loaded.scenario.seed, dynamics=dynamics):
        print(f"  {estimate.runs:>6,} paired runs after {time.perf_counter() - start:.2f} s: "
              f"P = {estimate.variant['p_regional_escalation']['estimate']:.4f}")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
