"""EMA Workbench: one call per experiment against the batched evaluator, on the same LHS design.

    python benchmarks/bench_ema.py [--samples 256] [--runs 1000 200] [--workers 2] [--no-multiprocessing]

Needs Python 3.12+ with the ema extra. The scenario is scenarios/nagorno_karabakh_2020.yaml with
its declared uncertainties (or, while it declares none, the ranges proposed in
tests/scenarios/karabakh_uncertainties.yaml). Every evaluator runs the same design (EMA's Latin
hypercube with a fixed seed) and must return identical outcomes (common random numbers); the
script checks that, then prints wall times and the batched evaluator's speed-up against one call
per experiment (EMA's SequentialEvaluator, and its MultiprocessingEvaluator on ``--workers``
processes), for each ``--runs`` (replications per experiment). Target from issue 12: at least 10x
against one call per experiment on 256 points.

One call per experiment costs a nearly fixed ~60-70 ms of CPU whatever its replications (the
model's day loop over a few lanes), while the batched ensemble costs ~25 us of CPU per replication;
so the speed-up is largest with few replications per experiment.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
KARABAKH = ROOT / "scenarios" / "nagorno_karabakh_2020.yaml"
PROPOSED = ROOT / "tests" / "scenarios" / "karabakh_uncertainties.yaml"


def karabakh():
    """The Karabakh scenario with declared uncertainties (the proposed ones while it has none)."""
    from sim.scenario.loader import load_text

    text = KARABAKH.read_text(encoding="utf-8")
    if not re.search(r"^uncertainties:", text, flags=re.MULTILINE):
        text += "\n" + PROPOSED.read_text(encoding="utf-8")
    return load_text(text, str(KARABAKH))


def timed(evaluator_factory, model, samples: int, seed: int) -> tuple[float, dict[str, np.ndarray]]:
    started = time.perf_counter()
    with evaluator_factory(model) as evaluator:
        _, outcomes = evaluator.perform_experiments(scenarios=samples, uncertainty_sampling_kwargs={"rng": seed},
                                                    log_progress=False)
    return time.perf_counter() - started, outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=256, help="LHS points (experiments)")
    parser.add_argument("--runs", type=int, nargs="+", default=[1_000, 200], help="replications per experiment")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--no-multiprocessing", action="store_true", help="skip EMA's MultiprocessingEvaluator")
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    import ema_workbench
    from ema_workbench import MultiprocessingEvaluator, SequentialEvaluator

    from sim.ema import BatchedEvaluator, ema_model

    loaded = karabakh()
    print(f"Python {platform.python_version()}, EMA Workbench {ema_workbench.__version__}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the start")
    for runs in args.runs:
        compare(ema_model(loaded, runs=runs), args, runs, SequentialEvaluator, MultiprocessingEvaluator,
                BatchedEvaluator)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


def compare(model, args, runs: int, sequential_class, multiprocessing_class, batched_class) -> None:
    """Time every evaluator on the same design, check they agree, print the speed-ups."""
    print(f"\n{model.name}: {len(model.uncertainties)} uncertainties, LHS of {args.samples} experiments "
          f"x {runs:,} replications ({args.samples * runs:,} replications)")
    timed(lambda m: batched_class(m, workers=1), model, 2, args.seed)  # warm-up
    results: dict[str, tuple[float, dict[str, np.ndarray]]] = {}
    baseline = "one call per experiment, EMA SequentialEvaluator"
    results[baseline] = timed(sequential_class, model, args.samples, args.seed)
    if not args.no_multiprocessing:
        results[f"one call per experiment, EMA MultiprocessingEvaluator ({args.workers} processes)"] = timed(
            lambda m: multiprocessing_class(m, n_processes=args.workers), model, args.samples, args.seed)
    results["BatchedEvaluator, 1 worker"] = timed(lambda m: batched_class(m, workers=1), model, args.samples,
                                                  args.seed)
    batched_label = f"BatchedEvaluator, {args.workers} workers"
    results[batched_label] = timed(lambda m: batched_class(m, workers=args.workers), model, args.samples, args.seed)
    for label, (_, outcomes) in results.items():
        for name, values in results[baseline][1].items():
            if not np.array_equal(values, outcomes[name]):
                raise SystemExit(f"{label}: outcome {name} differs from one call per experiment")
    print("  all evaluators return identical outcomes")
    width = max(len(label) for label in results)
    for label, (wall, _) in results.items():
        rate = args.samples * runs / wall
        print(f"  {label:<{width}}  {wall:7.2f} s  {rate:9,.0f} runs/s  {results[baseline][0] / wall:6.1f}x")
    ratio = results[baseline][0] / results[batched_label][0]
    print(f"  target: batched at least 10x faster than one call per experiment: {ratio:.1f}x "
          f"({'MET' if ratio >= 10 else 'NOT MET'})")

if __name__ == "__main__":
    main()
