"""Profile the model alone: one chunk of lanes under cProfile, to guide optimisation.

Runs ``sim.ensemble.chunks.simulate_chunk`` (build the model, step every lane to its end, collect
the per-lane records) for one chunk in this process: no worker processes, no tables, no summary.
One small warm-up chunk runs first so that first-call costs (imports, caches) are not profiled.

cProfile sees Python functions only: numpy work is charged to the function that calls it, and the
random draws of ``EscalationModel.step`` (Cython methods of the Generator) get no line of their own.
So a second, unprofiled run times each phase of the day (by wrapping the model instance's phase
methods; the model's code is untouched), times the day's random draws on their own, and counts the
lanes still active each day: work done on finished lanes is work a compaction could save. Each phase
is also given per replication-day (an active lane on a day), with the ratio of the whole day to its
draws. Last, two more unprofiled chunks (a tenth of the size, and the size) split a day's cost into a
fixed part and a part per lane; the fixed part divided by the cost of one numpy call on a few values
estimates the array operations a day (an estimate: Python between the calls is counted in it).

Run from the repository root::

    python benchmarks/profile_model.py                    # 10,000 lanes, top 25 by cumulative time
    python benchmarks/profile_model.py --sort tottime     # where the time is spent itself
    python benchmarks/profile_model.py --output model.prof  # for snakeviz / pstats
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

# The phases EscalationModel.step calls, in order: functions of the mechanism modules (step calls them
# through the module, so wrapping the module's attribute times them) and methods of the model. Any that
# the code lacks are skipped. fronts.survey also runs inside fronts.fight: it is timed on its own too.
PHASES = (("truces", "expire"), ("truces", "start_scheduled"), ("truces", "conduct"), ("fronts", "fight"),
          ("fronts", "survey"), ("truces", "mediate"), ("endings", "offer_halts"), ("endings", "settle"),
          ("commitments", "step_down"), ("commitments", "mobilise"), ("commitments", "incidents"),
          ("commitments", "decide"), ("commitments", "clashes"), ("model", "_bookkeeping"), ("model", "_compact"))
NESTED = {"survey"}     # phases that also run inside another phase (left out of the "rest of step" sum)


def phase_breakdown(params, chunk) -> dict:
    """Wall time per phase of one unprofiled chunk, the cost of its random draws, and lanes active per day."""
    import importlib

    import numpy as np

    from sim.ensemble.chunks import chunk_rng
    from sim.model.model import EscalationModel

    model = EscalationModel(params, replications=chunk.replications, rng=chunk_rng(chunk.seed, chunk.seed_key),
                            record_series=False)
    totals: dict[str, float] = {}
    restore = []

    def timed(name, function):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                totals[name] += time.perf_counter() - started
        return wrapper

    for module_name, name in PHASES:
        try:
            owner = model if module_name == "model" else importlib.import_module(f"sim.model.{module_name}")
        except ModuleNotFoundError:
            continue
        if not hasattr(owner, name):
            continue
        totals[name] = 0.0
        restore.append((owner, name, getattr(owner, name)))
        setattr(owner, name, timed(name, getattr(owner, name)))
    active, stepping = [], 0.0
    try:
        while model.running and model.day < params.horizon:
            active.append(float(np.mean(~model.finished)))
            started = time.perf_counter()
            model.step()
            stepping += time.perf_counter() - started
    finally:
        for owner, name, function in restore:
            if owner is model:
                delattr(model, name)
            else:
                setattr(owner, name, function)
    days = len(active)
    draws = None
    rows = getattr(model, "uniform_rows", None)
    if rows is not None:  # the same shapes as step() draws, on a fresh generator
        rng = np.random.default_rng(0)
        fronts = getattr(model, "fronts", 1)
        started = time.perf_counter()
        for _ in range(days):
            rng.random((rows, chunk.replications), dtype=np.float32)
            for _ in range(fronts):
                rng.standard_normal((3, chunk.replications), dtype=np.float32)
        draws = time.perf_counter() - started
    return {"phases": totals, "step": stepping, "draws": draws, "days": days, "active": active}


def lane_days(breakdown: dict, lanes: int) -> float:
    """Replication-days simulated: lanes still active, summed over the days played."""
    return max(sum(breakdown["active"]) * lanes, 1.0)


def print_breakdown(breakdown: dict, lanes: int) -> None:
    step, days, active = breakdown["step"], breakdown["days"], breakdown["active"]
    played = lane_days(breakdown, lanes)
    print(f"\n== time per phase of the day (one unprofiled run: {days} days, {step * 1000:.1f} ms in step, "
          f"{played:,.0f} replication-days) ==")
    print(f"  {'phase':42s} {'ms':>8s}  {'share':>5s}  {'ns per replication-day':>22s}")
    rows = [(name, t) for name, t in breakdown["phases"].items()]
    rest = step - sum(t for name, t in rows if name not in NESTED)
    if breakdown["draws"] is not None:
        rows.append(("random draws (timed apart, same shapes)", breakdown["draws"]))
        rest -= breakdown["draws"]
    rows.append(("rest of step() (setup, Python overhead)", rest))
    for name, t in sorted(rows, key=lambda r: -r[1]):
        label = f"{name} (also counted in fight)" if name in NESTED else name
        print(f"  {label:42s} {t * 1000:8.2f}  {100 * t / step:5.1f}%  {t / played * 1e9:22.0f}")
    print(f"  {'step() in all':42s} {step * 1000:8.2f}  100.0%  {step / played * 1e9:22.0f}")
    if breakdown["draws"]:
        print(f"  the day's work is {step / breakdown['draws']:.1f} times the cost of its own random draws "
              f"({breakdown['draws'] / played * 1e9:.0f} ns per replication-day)")
    mean = sum(active) / max(days, 1)
    tail = [d for d, a in enumerate(active) if a < 0.5]
    print(f"  lanes active per day: mean {mean:.3f}, so {100 * (1 - mean):.1f}% of lane-days are finished lanes "
          f"that are still computed")
    if tail:
        print(f"  fewer than half the lanes active from day {tail[0]} ({len(tail)} of {days} days); "
              f"fewer than 5% on {sum(a < 0.05 for a in active)} days")
    print(f"  per day: {step / max(days, 1) * 1e6:,.0f} us for {lanes:,} lanes "
          f"({step / max(days, 1) / lanes * 1e9:,.0f} ns per lane-day)")

def small_operation_cost(repeat: int = 20_000) -> float:
    """Seconds of one numpy operation on a few values (the call's own cost, independent of the lanes): the
    median of a mix the model uses (a ufunc, a comparison, a select, a reduction)."""
    import numpy as np

    x, y, mask = np.ones((1, 8)), np.full((1, 8), 0.5), np.ones((1, 8), dtype=bool)
    costs = []
    for operation in (lambda: x + y, lambda: x < y, lambda: np.where(mask, x, 0.0), lambda: np.maximum(x, 0.0),
                      lambda: mask.any(axis=0), lambda: x[:, mask[0]]):
        started = time.perf_counter()
        for _ in range(repeat):
            operation()
        costs.append((time.perf_counter() - started) / repeat)
    return sorted(costs)[len(costs) // 2]


def print_fit(params, seed: int, lanes: int) -> None:
    """The cost of a day as fixed (per day, whatever the lanes) plus per lane, from two chunk sizes, and from
    the fixed part an estimate of the array operations a day."""
    from sim.ensemble.chunks import plan_chunks

    small = max(lanes // 10, 100)
    points = []
    for size in (small, lanes):
        breakdown = phase_breakdown(params, plan_chunks(size, seed, chunk_size=size)[0])
        per_day = breakdown["step"] / max(breakdown["days"], 1)
        points.append((size * sum(breakdown["active"]) / max(breakdown["days"], 1), per_day))
    (n0, t0), (n1, t1) = points
    per_lane = (t1 - t0) / max(n1 - n0, 1e-9)
    fixed = t0 - per_lane * n0
    operation = small_operation_cost()
    print(f"\n== fixed and per-lane cost of a day (chunks of {small:,} and {lanes:,} lanes) ==")
    print(f"  a day costs {fixed * 1e3:.2f} ms fixed + {per_lane * 1e9:.0f} ns per active lane "
          f"(the fixed part is {100 * fixed / t1:.0f}% of a day at {lanes:,} lanes)")
    print(f"  estimate: about {fixed / operation:,.0f} array operations a day (fixed cost / {operation * 1e6:.2f} us, "
          "the cost of one numpy call on a few values; Python between the calls is counted in it)")


REPO = Path(__file__).resolve().parent.parent
DEFAULT_SCENARIO = REPO / "scenarios" / "nagorno_karabakh_2020.yaml"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lanes", type=int, default=10_000, help="replications in the chunk (default 10000)")
    parser.add_argument("--top", type=int, default=25, help="functions to print (default 25)")
    parser.add_argument("--sort", default="cumulative", nargs="+",
                        help="pstats sort key(s), each printed as its own listing (default cumulative)")
    parser.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO, help="scenario file")
    parser.add_argument("--seed", type=int, default=None, help="master seed (default: the scenario's)")
    parser.add_argument("--output", type=Path, default=None, help="also save the raw profile here")
    parser.add_argument("--no-phases", action="store_true", help="skip the per-phase timing run")
    parser.add_argument("--no-fit", action="store_true",
                        help="skip the fit of a day's fixed and per-lane cost (two more unprofiled chunks)")
    args = parser.parse_args(argv)

    import mesa
    import numpy

    import sim
    from sim.ensemble.chunks import plan_chunks, simulate_chunk
    from sim.model.params import compile_scenarios

    scenario = sim.load_scenario(args.scenario)
    params = compile_scenarios([scenario])
    seed = scenario.seed if args.seed is None else args.seed
    chunk = plan_chunks(args.lanes, seed, chunk_size=args.lanes)[0]
    simulate_chunk(params, plan_chunks(1_000, seed, chunk_size=1_000)[0])  # warm-up

    started = time.perf_counter()
    simulate_chunk(params, chunk)
    plain = time.perf_counter() - started

    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    result = simulate_chunk(params, chunk)
    profiler.disable()
    profiled = time.perf_counter() - started

    days = int((result.runs["war_days"]).max()) if len(result.runs["war_days"]) else 0
    print(f"command: {' '.join([sys.executable, *sys.argv])}")
    print(f"python {sys.version.split()[0]}, numpy {numpy.__version__}, mesa {mesa.__version__}")
    print(f"scenario {scenario.name}: one chunk of {args.lanes:,} lanes, horizon {scenario.horizon_days} days, "
          f"longest war {days} days, {len(result.truces['replication']):,} truces")
    print(f"wall: {plain:.3f} s without the profiler ({args.lanes / plain:,.0f} lanes/s), "
          f"{profiled:.3f} s under cProfile")
    sorts = [args.sort] if isinstance(args.sort, str) else args.sort
    for key in sorts:
        stream = io.StringIO()
        stats = pstats.Stats(profiler, stream=stream)
        stats.strip_dirs().sort_stats(key).print_stats(args.top)
        text = stream.getvalue()
        # Drop pstats' preamble up to the column header line.
        start = text.find("   ncalls")
        print(f"\n== top {args.top} by {key} ==")
        print(text[start:].rstrip() if start >= 0 else text.rstrip())
    if not args.no_phases:
        print_breakdown(phase_breakdown(params, chunk), args.lanes)
    if not args.no_fit:
        print_fit(params, seed, args.lanes)
    if args.output:
        profiler.dump_stats(args.output)
        print(f"\nraw profile saved to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
