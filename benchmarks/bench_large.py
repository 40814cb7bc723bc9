"""A very large run: memory stays flat and the per-run table is Parquet, not a gigabyte of CSV.

    python benchmarks/bench_large.py [--runs 1000000 10000000] [--workers 2] [--csv]

Each run is ``escalation run`` in a fresh process (``--no-figures``, ``--format parquet``; with
``--csv`` also ``--format csv`` for the first size). A thread samples the resident memory of that
process and its workers every 50 ms (the sum of PSS: shared pages split between the processes
that share them). The script prints, per run: wall time, peak memory, the size of the per-run
table, and the peak disk space of the unfinished run folder (chunk files waiting to be tabulated).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KARABAKH = ROOT / "scenarios" / "nagorno_karabakh_2020.yaml"


def _descendants(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        queue.extend(int(child) for child in children)
    return found


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _folder_bytes(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*") if folder.exists() else ():
        with contextlib.suppress(OSError):  # a chunk file renamed or removed meanwhile
            total += path.stat().st_size if path.is_file() else 0
    return total


def measure(runs: int, table_format: str, workers: int, scratch: Path) -> dict[str, float]:
    out = scratch / f"run-{runs}-{table_format}"
    command = [sys.executable, "-m", "sim", "run", str(KARABAKH), "--runs", str(runs), "--workers", str(workers),
               "--no-figures", "--no-progress", "--format", table_format, "--out", str(out)]
    peak = {"pss": 0, "disk": 0}
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    done = threading.Event()

    def sample() -> None:
        partial = out.with_name(out.name + ".partial")
        tick = 0
        while not done.is_set():
            peak["pss"] = max(peak["pss"], sum(_pss_kib(pid) for pid in _descendants(process.pid)))
            if tick % 20 == 0:  # the folder once a second
                peak["disk"] = max(peak["disk"], _folder_bytes(partial))
            tick += 1
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, error = process.communicate()
    done.set()
    sampler.join()
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"escalation run failed ({process.returncode}): {error[-2000:]}")
    table = out / f"runs.{table_format}"
    result = {"runs": runs, "format": table_format, "wall": wall, "pss_mib": peak["pss"] / 1024,
              "table_mib": table.stat().st_size / 2**20, "disk_mib": peak["disk"] / 2**20}
    shutil.rmtree(out)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--csv", action="store_true", help="also write CSV for the first size, to compare")
    parser.add_argument("--scratch", type=Path, default=None, help="folder for the runs (default: a temporary one)")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the start; {KARABAKH.name}, "
          f"{args.workers} workers, no figures")
    with tempfile.TemporaryDirectory(dir=args.scratch) as scratch:
        plan = [(runs, "parquet") for runs in args.runs]
        if args.csv:
            plan.insert(0, (args.runs[0], "csv"))
        for runs, table_format in plan:
            r = measure(runs, table_format, args.workers, Path(scratch))
            print(f"  {r['runs']:>12,} runs  {r['format']:<8} {r['wall']:8.1f} s  peak memory {r['pss_mib']:7.0f} MiB "
                  f"(PSS, all processes)  runs table {r['table_mib']:8.1f} MiB  run folder at most "
                  f"{r['disk_mib']:8.0f} MiB", flush=True)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
