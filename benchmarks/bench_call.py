"""The fixed cost of one call: ``sim.evaluate`` on one point of 1,000 replications, beyond the simulation.

    python benchmarks/bench_call.py [--runs 1000] [--repeat 30]

The simulation alone is ``simulate_chunk`` on the same 1,000 lanes; the overhead is what a call
adds to it (validating the point's scenario, compiling it, summarising, building the table).
The parts are wall times, best of ``--repeat`` (median beside it); the overhead of a whole call is
the median difference of CPU times over ``--repeat`` alternated pairs (call, simulation alone),
which other processes on the machine barely disturb. Target from issue 12: under 15 ms of overhead.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KARABAKH = ROOT / "scenarios" / "nagorno_karabakh_2020.yaml"
POINT = {"commitments.russia_armenia_pact.reliability": 0.9}


def measure(call: Callable[[], object], repeat: int) -> tuple[float, float]:
    call()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return min(times), statistics.median(times)


def paired(simulation: Callable[[], object], call: Callable[[], object], repeat: int) -> tuple[float, float, float]:
    """Alternate the simulation alone and the whole call; best of each and the median difference.

    Alternating keeps both under the same load, and the times are this process's CPU time
    (``time.process_time``: both run in this process), so the median of the pairwise differences
    is a fair estimate of the overhead even on a machine busy with other work.
    """
    simulation()
    call()
    alone, whole = [], []
    for _ in range(repeat):
        started = time.process_time()
        simulation()
        alone.append(time.process_time() - started)
        started = time.process_time()
        call()
        whole.append(time.process_time() - started)
    return min(alone), min(whole), statistics.median(w - a for a, w in zip(alone, whole, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    import sim
    from sim.analysis.designs import point_values
    from sim.analysis.summary import Accumulator, sweep_table
    from sim.ensemble.chunks import plan_chunks, simulate_chunk
    from sim.model.params import compile_scenarios
    from sim.scenario.loader import load_variants, load_with_provenance

    loaded = load_with_provenance(KARABAKH)
    variant = load_variants(loaded, [POINT])[0]
    params = compile_scenarios([variant])
    chunk = plan_chunks(args.runs, args.seed)[0]
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; "
          f"{args.runs:,} replications of {loaded.scenario.name}, best (median) of {args.repeat}\n")

    simulation, simulation_median = measure(lambda: simulate_chunk(params, chunk), args.repeat)
    print(f"  simulation alone (simulate_chunk)         {simulation * 1e3:7.1f} ms ({simulation_median * 1e3:.1f})")
    print("  parts of the overhead:")

    import pandas as pd

    design = pd.DataFrame([POINT])
    steps = {
        "validate the point (load_variants)": lambda: load_variants(loaded, point_values(design)),
        "compile it (compile_scenarios)": lambda: compile_scenarios([variant]),
        "summarise (Accumulator, sweep_table)": lambda: sweep_table(design, _accumulated(params, result)),
    }
    result = simulate_chunk(params, chunk)

    def _accumulated(params, result):
        accumulator = Accumulator(params)
        accumulator.add(result)
        return accumulator

    for label, call in steps.items():
        best, median = measure(call, args.repeat)
        print(f"  {label:<40}  {best * 1e3:7.2f} ms ({median * 1e3:.2f})")
    print()
    worst = 0.0
    for label, scenario in (("a LoadedScenario", loaded), ("a Scenario object", loaded.scenario),
                            ("a path (loads the file)", KARABAKH)):
        alone, whole, overhead = paired(
            lambda: simulate_chunk(params, chunk),
            lambda s=scenario: sim.evaluate(s, POINT, runs=args.runs, seed=args.seed, progress=False), args.repeat)
        if label != "a path (loads the file)":
            worst = max(worst, overhead)
        print(f"  sim.evaluate on {label:<24} best {whole * 1e3:6.1f} ms against {alone * 1e3:6.1f} ms for the "
              f"simulation alone (CPU); overhead (median of pairs) {overhead * 1e3:5.1f} ms")
    import sim.ensemble.executors as executors

    finished = simulate_chunk(params, chunk)
    real, executors.simulate_chunk = executors.simulate_chunk, lambda params, chunk: finished
    try:
        for label, scenario in (("a LoadedScenario", loaded), ("a Scenario object", loaded.scenario),
                                ("a path (loads the file)", KARABAKH)):
            times = []
            for _ in range(args.repeat):
                started = time.process_time()
                sim.evaluate(scenario, POINT, runs=args.runs, seed=args.seed, progress=False)
                times.append(time.process_time() - started)
            print(f"  the call's own cost on {label:<24} (simulation replaced by its result): "
                  f"{statistics.median(times) * 1e3:5.2f} ms CPU median, best {min(times) * 1e3:.2f}")
    finally:
        executors.simulate_chunk = real
    print(f"\nTarget: under 15 ms of overhead for a loaded scenario or a Scenario object: {worst * 1e3:.1f} ms "
          f"({'MET' if worst < 0.015 else 'NOT MET'})")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")

if __name__ == "__main__":
    main()
