"""Sweep throughput: a 20 x 20 grid with 1,000 replications per point (400,000 replications).

Target (issue 3): under 30 s wall on a 2-core machine. Prints wall time, replications per second,
and the same figures for one plain run of 400,000 replications, to show that sweep points cost
no more than replications of a plain run.

    python benchmarks/bench_sweep.py [--workers W] [--runs-per-point N] [--grid G]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import mesa
import numpy as np

import sim

SCENARIO = str(Path(__file__).resolve().parent.parent / "scenarios" / "nagorno_karabakh_2020.yaml")
TARGET_SECONDS = 30.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--runs-per-point", type=int, default=1_000)
    parser.add_argument("--grid", type=int, default=20)
    args = parser.parse_args()
    g, n = args.grid, args.runs_per_point
    parameters = [f"actors.armenia.party.deep_strike_propensity=0:0.2:{g}",
                  f"commitments.russia_armenia_pact.reliability=0:1:{g}"]
    total = g * g * n
    print(f"python {platform.python_version()}, numpy {np.__version__}, mesa {mesa.__version__}, "
          f"{os.cpu_count()} cores, workers={args.workers}")
    print(f"command: {' '.join([sys.executable, *sys.argv])}")
    started = time.perf_counter()
    table = sim.sweep(SCENARIO, parameters, runs=n, workers=args.workers, progress=False)
    sweep_seconds = time.perf_counter() - started
    started = time.perf_counter()
    sim.run_ensemble(SCENARIO, runs=total, workers=args.workers, progress=False)
    plain_seconds = time.perf_counter() - started
    print(f"sweep {g}x{g} grid x {n:,} runs = {total:,} replications: {sweep_seconds:.2f} s wall, "
          f"{total / sweep_seconds:,.0f} replications/s")
    print(f"plain run of {total:,} replications:            {plain_seconds:.2f} s wall, "
          f"{total / plain_seconds:,.0f} replications/s")
    print(f"P(regional escalation) over the grid: {100 * table['p_regional_escalation'].min():.1f}% to "
          f"{100 * table['p_regional_escalation'].max():.1f}%")
    verdict = "met" if sweep_seconds < TARGET_SECONDS else "NOT met"
    print(f"target: under {TARGET_SECONDS:.0f} s on 2 cores -> {verdict}")


if __name__ == "__main__":
    main()
