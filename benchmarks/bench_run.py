"""Benchmark the vectorised ensemble against one-at-a-time Mesa runs, and measure its memory.

Prints, for one scenario (default ``scenarios/nagorno_karabakh_2020.yaml``):

1. wall time and replications per second of ``sim.run_ensemble(scenario, runs=N, workers=w)`` at
   ``w = 1`` and ``w = --workers`` (best and median of ``--repeat`` timed calls after one warm-up);
2. peak memory of the parent and its worker processes during the N-run ensemble and during a
   ``--big-runs`` one (default 1,000,000), each measured in a fresh subprocess;
3. one-at-a-time speed: ``mesa.batch_run`` with ``replications=1`` per model on ``--batch-run-sample``
   runs in one process, scaled to N, and the speed ratio of the ensemble against it;
4. the issue's targets and whether each is met.

Memory is measured two ways, both in a fresh subprocess per measurement (so earlier runs cannot
raise the high-water marks):

* ``resource.getrusage``: ``RUSAGE_SELF.ru_maxrss`` is the parent's peak RSS; ``RUSAGE_CHILDREN``
  is the peak RSS of the *largest single* worker (not a sum). Their sum is an upper bound on the
  simultaneous total. Forked workers share the parent's pages copy-on-write, and RSS counts shared
  pages in every process that maps them, so this bound double-counts the imported libraries.
* a sampler thread reading ``/proc`` every ``--sample-ms`` for the parent and all its descendants:
  the peak of the summed RSS at one instant (also double-counts shared pages) and the peak of the
  summed PSS (proportional set size, shared pages split between the processes that share them: the
  memory the run really occupies). A sampler can miss a peak shorter than its interval; workers'
  own high-water marks (``VmHWM``) are read too, so a worker's peak is never missed.

Run from the repository root::

    /work/venv311/bin/python benchmarks/bench_run.py              # the full benchmark
    /work/venv311/bin/python benchmarks/bench_run.py --runs 20000 --repeat 1 --batch-run-sample 200 --big-runs 0
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SCENARIO = REPO / "scenarios" / "nagorno_karabakh_2020.yaml"
MIB = 1024 * 1024
GIB = 1024 * MIB

# The targets.
TARGET_RUNS = 100_000
TARGET_SECONDS = 5.0
TARGET_CORES = 2
TARGET_SPEEDUP = 100.0
TARGET_MEMORY = 1 * GIB


# ---- memory probes (run in a fresh subprocess) ----------------------------------------------------

def _read_kib(path: str, keys: tuple[str, ...]) -> dict[str, int]:
    """``key: value kB`` lines of a /proc file, in KiB; missing keys are absent."""
    found: dict[str, int] = {}
    try:
        with open(path, encoding="ascii") as handle:
            for line in handle:
                name, _, rest = line.partition(":")
                if name in keys:
                    found[name] = int(rest.split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return found


def _descendants(root: int) -> list[int]:
    """Every live descendant of ``root``, from the ppid field of /proc/*/stat."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, stack = [], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


class ProcSampler(threading.Thread):
    """Samples RSS and PSS of a process and its descendants until stopped; keeps the peaks (KiB)."""

    def __init__(self, root: int, interval: float) -> None:
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.halt = threading.Event()
        self.samples = 0
        self.peak = {"parent_rss": 0, "parent_pss": 0, "child_rss": 0, "child_hwm": 0,
                     "total_rss": 0, "total_pss": 0, "processes": 0}

    def sample(self) -> None:
        pids = [self.root, *_descendants(self.root)]
        total_rss = total_pss = 0
        for pid in pids:
            status = _read_kib(f"/proc/{pid}/status", ("VmRSS", "VmHWM"))
            pss = _read_kib(f"/proc/{pid}/smaps_rollup", ("Pss",)).get("Pss", 0)
            rss = status.get("VmRSS", 0)
            total_rss += rss
            total_pss += pss
            if pid == self.root:
                self.peak["parent_rss"] = max(self.peak["parent_rss"], rss)
                self.peak["parent_pss"] = max(self.peak["parent_pss"], pss)
            else:
                self.peak["child_rss"] = max(self.peak["child_rss"], rss)
                self.peak["child_hwm"] = max(self.peak["child_hwm"], status.get("VmHWM", 0))
        self.peak["total_rss"] = max(self.peak["total_rss"], total_rss)
        self.peak["total_pss"] = max(self.peak["total_pss"], total_pss)
        self.peak["processes"] = max(self.peak["processes"], len(pids))
        self.samples += 1

    def run(self) -> None:
        while not self.halt.is_set():
            self.sample()
            self.halt.wait(self.interval)
        self.sample()

    def stop(self) -> dict[str, int]:
        self.halt.set()
        self.join()
        return dict(self.peak)


def probe(mode: str, runs: int, workers: int, scenario_path: str, sample_ms: float) -> dict[str, Any]:
    """Run one ensemble in this (fresh) process and measure its memory; the result is JSON-able.

    ``ensemble`` is ``sim.run_ensemble`` (which returns the per-replication tables, so it keeps one
    row per replication in memory); ``stream`` is the chunk loop alone (``stream_chunks`` folded
    into an ``Accumulator``, as ``escalation run`` does before it writes chunk files).
    """
    import sim
    from sim.analysis.summary import Accumulator
    from sim.ensemble.chunks import plan_chunks
    from sim.ensemble.runner import stream_chunks
    from sim.model.params import compile_scenarios

    scenario = sim.load_scenario(scenario_path)
    baseline = _read_kib("/proc/self/status", ("VmRSS",)).get("VmRSS", 0)
    sampler = ProcSampler(os.getpid(), sample_ms / 1000.0)
    sampler.start()
    started = time.perf_counter()
    if mode == "ensemble":
        result = sim.run_ensemble(scenario, runs=runs, workers=workers, progress=False)
        rows = len(result.runs)
        p = result.summary["p_regional_escalation"]["estimate"]
    else:
        params = compile_scenarios([scenario])
        accumulator = Accumulator(params)
        for chunk_result in stream_chunks(params, plan_chunks(runs, scenario.seed), workers=workers, progress=False):
            accumulator.add(chunk_result)
        summary = accumulator.summary()
        rows = int(accumulator.runs.sum())
        p = summary["p_regional_escalation"]["estimate"]
    wall = time.perf_counter() - started
    peaks = sampler.stop()
    return {
        "mode": mode, "runs": runs, "workers": workers, "rows": rows, "wall": wall,
        "p_regional_escalation": p,
        "baseline_rss_kib": baseline,
        "ru_self_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "vmhwm_self_kib": _read_kib("/proc/self/status", ("VmHWM",)).get("VmHWM", 0),
        "ru_children_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        "samples": sampler.samples,
        **{f"peak_{k}": v for k, v in peaks.items()},
    }


def run_probe(mode: str, runs: int, workers: int, args: argparse.Namespace) -> dict[str, Any]:
    """Run :func:`probe` in a fresh interpreter (clean high-water marks) and parse its JSON line.

    Linux carries ``ru_maxrss`` across ``execve``: a child exec'd straight from this (large) process
    would start with this process's peak as its own. A small shell forks the probe instead (the
    trailing ``exit`` stops it from exec'ing in place), so the probe's peak starts from the shell's.
    """
    command = [sys.executable, str(Path(__file__).resolve()), "--_probe", mode, str(runs), str(workers),
               "--scenario", str(args.scenario), "--sample-ms", str(args.sample_ms)]
    wrapped = ["/bin/sh", "-c", '"$@"; exit $?', "sh", *command]
    done = subprocess.run(wrapped, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"memory probe failed ({shlex.join(command)}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---- speed --------------------------------------------------------------------------------------

def time_ensemble(scenario: Any, runs: int, workers: int, repeat: int) -> dict[str, Any]:
    """One warm-up call, then ``repeat`` timed calls of ``run_ensemble``."""
    import sim

    sim.run_ensemble(scenario, runs=runs, workers=workers, progress=False)
    times, summary = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = sim.run_ensemble(scenario, runs=runs, workers=workers, progress=False)
        times.append(time.perf_counter() - started)
        summary = result.summary
    return {"workers": workers, "times": times, "best": min(times), "median": statistics.median(times),
            "p_regional_escalation": summary["p_regional_escalation"]["estimate"], "summary": summary}


def time_batch_run(scenario: Any, sample: int) -> dict[str, Any]:
    """``mesa.batch_run`` of ``sample`` single-replication models in one process."""
    import mesa

    import sim

    def once(iterations: int) -> tuple[float, list[dict[str, Any]]]:
        started = time.perf_counter()
        rows = mesa.batch_run(sim.EscalationModel, parameters={"scenario": [scenario], "replications": 1},
                              iterations=iterations, max_steps=scenario.horizon_days, number_processes=1,
                              display_progress=False)
        return time.perf_counter() - started, rows

    once(min(20, sample))  # warm-up
    wall, rows = once(sample)
    escalated = sum(1 for row in rows if row.get("regional_escalation", 0.0) > 0) / max(len(rows), 1)
    return {"sample": sample, "wall": wall, "per_run": wall / sample, "rows": len(rows),
            "share_escalated": escalated}


# ---- report -------------------------------------------------------------------------------------

def machine_info() -> dict[str, str]:
    import mesa
    import numpy
    import pandas

    model = "?"
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
            model = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), "?")
    except OSError:
        pass
    memory = _read_kib("/proc/meminfo", ("MemTotal",)).get("MemTotal", 0)
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu count": f"{os.cpu_count()} (usable by this process: {affinity}); {model}",
        "memory": f"{memory / 1024 / 1024:.1f} GiB",
        "platform": platform.platform(),
        "python": sys.version.split()[0] + f" ({sys.executable})",
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
        "mesa": mesa.__version__,
    }


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    try:
        with open("/proc/loadavg", encoding="ascii") as handle:
            running = handle.read().split()[3].split("/")[0]
        runnable = f"; {running} runnable now, this one included"
    except (OSError, IndexError):
        runnable = ""
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1, 5, 15 min{runnable})"


def git_state() -> str:
    """The commit benchmarked, and whether sim/ has uncommitted changes."""
    try:
        commit = subprocess.run(["git", "-C", str(REPO), "log", "-1", "--format=%h %cI %s"], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "sim"], capture_output=True,
                               text=True, check=True).stdout.rstrip("\n")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    changed = " ".join(line[3:] for line in dirty.splitlines())
    commit = commit if len(commit) <= 100 else commit[:99] + "…"
    return commit + (f"\n              uncommitted changes in sim/: {changed}" if dirty else "")


def table(headers: list[str], rows: list[list[str]], left: int = 1) -> str:
    """A plain-text table; the first ``left`` columns are left-aligned, the rest right-aligned."""
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows, strict=True)]
    line = lambda cells: "  ".join(str(c).rjust(w) if i >= left else str(c).ljust(w)  # noqa: E731
                                   for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()
    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def mib(kib: float) -> str:
    return f"{kib / 1024:,.0f}"


def ru_bound(m: dict[str, Any]) -> int:
    """Parent peak + (number of workers) x largest worker peak, KiB: an upper bound on the summed RSS."""
    workers = m["workers"] if m["workers"] > 1 else 0  # workers=1 runs in the parent, no children
    return m["ru_self_kib"] + workers * m["ru_children_kib"]


def memory_rows(probes: list[dict[str, Any]]) -> list[list[str]]:
    rows = []
    for m in probes:
        rows.append([
            f"{m['mode']} {m['runs']:,} w={m['workers']}", f"{m['wall']:.2f}",
            mib(m["baseline_rss_kib"]), mib(m["ru_self_kib"]), mib(m["ru_children_kib"]),
            mib(m["ru_self_kib"] + m["ru_children_kib"]), mib(ru_bound(m)),
            mib(m["peak_total_rss"]), mib(m["peak_total_pss"]), str(m["peak_processes"]), str(m["samples"]),
        ])
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=TARGET_RUNS, help="replications per ensemble (default 100000)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="worker processes for the parallel runs (default: all cores)")
    parser.add_argument("--batch-run-sample", type=int, default=2000,
                        help="single-replication models to run through mesa.batch_run (default 2000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed calls per configuration (default 3)")
    parser.add_argument("--big-runs", type=int, default=1_000_000,
                        help="replications for the memory-growth check (default 1000000; 0 skips it)")
    parser.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO, help="scenario file")
    parser.add_argument("--sample-ms", type=float, default=20.0, help="/proc sampling interval (default 20 ms)")
    parser.add_argument("--_probe", nargs=3, metavar=("MODE", "RUNS", "WORKERS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.batch_run_sample < 1:
        parser.error("--batch-run-sample must be at least 1 (the one-at-a-time timing divides by it)")

    if args._probe:
        mode, runs, workers = args._probe
        print(json.dumps(probe(mode, int(runs), int(workers), str(args.scenario), args.sample_ms)))
        return 0

    import sim

    workers = max(1, args.workers)
    runs = args.runs
    print("== bench_run: vectorised ensemble vs one-at-a-time Mesa ==")
    print("command:      " + shlex.join([sys.executable, *sys.argv]))
    for key, value in machine_info().items():
        print(f"{key + ':':13s} {value}")
    print(f"commit:       {git_state()}")
    print(f"load average: {load_average()} at start")
    print(f"scenario:     {args.scenario}")
    scenario = sim.load_scenario(args.scenario)
    print(f"              horizon {scenario.horizon_days} days, seed {scenario.seed}; runs={runs:,}, "
          f"workers={workers}, repeat={args.repeat}, batch-run sample={args.batch_run_sample:,}")
    print(flush=True)

    # 1. speed of the ensemble
    speeds = [time_ensemble(scenario, runs, w, args.repeat) for w in sorted({1, workers})]
    print(f"1. run_ensemble(scenario, runs={runs:,}, workers=w, progress=False): one warm-up, then {args.repeat} timed")
    print(table(["workers", "best s", "median s", "runs/s (best)", "runs/s (median)", "all times s"], [
        [str(s["workers"]), f"{s['best']:.3f}", f"{s['median']:.3f}", f"{runs / s['best']:,.0f}",
         f"{runs / s['median']:,.0f}", " ".join(f"{t:.2f}" for t in s["times"])] for s in speeds]))
    same = len({json.dumps(s["summary"], sort_keys=True, default=str) for s in speeds}) == 1
    print(f"   summary identical at every worker count: {'yes' if same else 'NO'}"
          f" (p_regional_escalation {speeds[0]['p_regional_escalation']})")
    print(flush=True)

    # 2. memory
    configs = [("ensemble", runs, workers)]
    if args.big_runs:
        configs += [("ensemble", args.big_runs, workers), ("stream", runs, workers), ("stream", args.big_runs, workers)]
    probes = [run_probe(mode, n, w, args) for mode, n, w in configs]
    print("2. peak memory, MiB (each row a fresh process; 'ensemble' = run_ensemble, which returns the")
    print("   per-replication tables; 'stream' = stream_chunks + Accumulator only, the chunk pipeline)")
    print(table(["run", "wall s", "RSS before", "ru parent", "ru largest child", "ru parent+child",
                 "ru bound",
                 "/proc sum RSS", "/proc sum PSS", "procs", "samples"], memory_rows(probes)))
    print("   ru = resource.getrusage ru_maxrss (RUSAGE_SELF; RUSAGE_CHILDREN = the largest single worker);")
    print("   ru bound = parent + workers x largest worker (parent + largest child alone is no bound when")
    print("   workers > 1); all RSS figures count pages shared copy-on-write with the parent once per process.")
    for m in probes:
        if abs(m["ru_self_kib"] - m["vmhwm_self_kib"]) > 0.1 * m["vmhwm_self_kib"]:
            print(f"   warning: {m['mode']} {m['runs']:,}: ru_maxrss of the parent {mib(m['ru_self_kib'])} MiB "
                  f"disagrees with its VmHWM {mib(m['vmhwm_self_kib'])} MiB")
    print(f"   /proc = parent + descendants sampled every {args.sample_ms:g} ms, peak of the instantaneous sum.")
    if args.big_runs:
        for mode in ("ensemble", "stream"):
            small, big = (p for p in probes if p["mode"] == mode)
            growth = big["peak_total_pss"] - small["peak_total_pss"]
            parent_growth = big["ru_self_kib"] - small["ru_self_kib"]
            flat = abs(growth) < 0.1 * small["peak_total_pss"]
            print(f"   {mode}: {small['runs']:,} -> {big['runs']:,} runs: total PSS {mib(small['peak_total_pss'])} -> "
                  f"{mib(big['peak_total_pss'])} MiB ({growth / 1024:+,.0f} MiB; parent peak "
                  f"{parent_growth / 1024:+,.0f} MiB): {'flat' if flat else 'GROWS with runs'}")
    print(flush=True)

    # 3. one at a time
    one = time_batch_run(scenario, args.batch_run_sample)
    scaled = one["per_run"] * runs
    print(f"3. mesa.batch_run(EscalationModel, replications=1, iterations={one['sample']:,}, number_processes=1)")
    print(f"   {one['wall']:.2f} s for {one['sample']:,} runs = {one['per_run'] * 1000:.2f} ms/run, "
          f"{1 / one['per_run']:,.0f} runs/s; scaled to {runs:,} runs: {scaled:,.0f} s ({scaled / 3600:.2f} h)")
    share = one["share_escalated"]
    half = 1.96 * (share * (1 - share) / one["sample"]) ** 0.5
    print(f"   (share escalated in the sample: {share:.3f} +- {half:.3f}; "
          f"ensemble: {speeds[0]['p_regional_escalation']})")
    rows = []
    for s in speeds:
        for label, t in (("best", s["best"]), ("median", s["median"])):
            rows.append([f"ensemble w={s['workers']} ({label})", f"{t:.3f}", f"{scaled / t:,.0f}x"])
    print(table([f"vs batch_run, 1 process ({scaled:,.0f} s for {runs:,})", "ensemble s", "speed ratio"], rows))
    print("   (w=1 against one process is the per-core ratio)")
    print(flush=True)

    # 4. targets
    parallel = next(s for s in speeds if s["workers"] == workers)
    serial = next(s for s in speeds if s["workers"] == 1)
    ratio = scaled / serial["best"]
    main_probe = probes[0]
    peak_pss = main_probe["peak_total_pss"] * 1024
    peak_bound = ru_bound(main_probe) * 1024
    cores = os.cpu_count()
    scale_note = "" if runs == TARGET_RUNS else f" (measured at {runs:,} runs, not {TARGET_RUNS:,})"
    core_note = "" if (cores == TARGET_CORES and workers == TARGET_CORES) else \
        f" (this machine: {cores} cores, workers={workers}; the target is for {TARGET_CORES})"
    verdict = lambda ok: "MET" if ok else "NOT MET"  # noqa: E731
    print("4. targets (from the issue)")
    print(table(["target", "measured", "status"], [
        [f"{TARGET_RUNS:,} runs <= {TARGET_SECONDS:g} s wall on {TARGET_CORES} cores",
         f"{parallel['best']:.2f} s best, {parallel['median']:.2f} s median (w={workers})",
         verdict(parallel["median"] <= TARGET_SECONDS) + scale_note + core_note],
        [f">= {TARGET_SPEEDUP:g}x faster than one-at-a-time",
         f"{ratio:,.0f}x per core (w=1); {scaled / parallel['best']:,.0f}x at w={workers}",
         verdict(ratio >= TARGET_SPEEDUP)],
        ["peak memory < 1 GiB",
         f"{peak_pss / MIB:,.0f} MiB PSS sum; {peak_bound / MIB:,.0f} MiB ru bound",
         verdict(peak_bound < TARGET_MEMORY) + scale_note],
    ], left=3))
    print("   (speed judged on the median at w=workers; memory on the getrusage bound, parent + workers x")
    print("   largest worker; the PSS sum is the better estimate of what the run really occupies)")
    print(f"load average: {load_average()} at end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
