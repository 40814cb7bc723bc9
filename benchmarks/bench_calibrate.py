"""Calibration of the shared dynamics: wall time, and how much of the fit is Monte Carlo noise.

Times ``sim.analysis.calibrate.calibrate`` on the case library (the work of ``escalation calibrate
scenarios/cases --runs R --candidates K``), then, with ``--noise``, plays the same design again with
other seeds for every case's runs: the rank correlation of the candidates' total log-likelihood
between the two, and whether the MAP candidate stays the same, say how far the ranking of the
candidates is real rather than noise.

    python benchmarks/bench_calibrate.py [--runs 500] [--candidates 32] [--noise]
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

from sim.analysis.calibrate import calibrate

CASES = Path(__file__).resolve().parent.parent / "scenarios" / "cases"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--candidates", type=int, default=32)
    parser.add_argument("--noise", action="store_true", help="replay the design with other seeds")
    args = parser.parse_args()
    print(f"python {platform.python_version()}, numpy {np.__version__}, mesa {mesa.__version__}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print(f"command: {' '.join([sys.executable, *sys.argv])}")
    started = time.perf_counter()
    first = calibrate(CASES, candidates=args.candidates, runs=args.runs, progress=False)
    elapsed = time.perf_counter() - started
    print(f"{len(first.cases)} cases x {args.candidates} candidates (+ the reference) x {args.runs:,} runs: "
          f"{elapsed:.1f} s wall; ESS {first.ess:.2f}; MAP candidate {int(np.argmax(first.weights))}")
    if not args.noise:
        return
    from scipy.stats import spearmanr

    second = calibrate(CASES, candidates=args.candidates, runs=args.runs, seed=12_345, design_seed=0,
                       progress=False)
    totals = [c.total.sum(axis=1) for c in (first, second)]
    print(f"other seeds, same design: ESS {second.ess:.2f}; MAP candidate {int(np.argmax(second.weights))}; "
          f"rank correlation of the candidates' total log-likelihood {spearmanr(*totals).statistic:.2f}; "
          f"largest difference of a candidate's total {np.max(np.abs(totals[0] - totals[1])):.1f}, spread of the "
          f"totals {np.ptp(totals[0]):.1f}")


if __name__ == "__main__":
    main()
