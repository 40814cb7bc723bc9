"""Check that a change to the model leaves results bit-identical: hash the tables of fixed runs.

Runs a set of scenarios with a fixed seed (serially, in this process), hashes each run's per-run
table and truce table (column names, dtypes and every value), plus the table of a small sweep (several
parameter points in one ensemble, so per-point parameters are covered), and prints one hash per
scenario. ``--save FILE`` writes them; ``--compare FILE`` checks them against a saved file and exits
with status 1 on any difference.

Run from the repository root::

    python benchmarks/check_identical.py --save /tmp/before.json     # before a change
    python benchmarks/check_identical.py --compare /tmp/before.json  # after it
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import pandas as pd

SCENARIOS = (
    "scenarios/nagorno_karabakh_2020.yaml",
    "scenarios/july_1914.yaml",
    "scenarios/example_coalition.yaml",
    "benchmarks/twelve_actors.yaml",
    "scenarios/cases/korea_1950.yaml",
    "scenarios/cases/suez_1956.yaml",
    "scenarios/cases/kosovo_1999.yaml",
    "scenarios/cases/six_day_war_1967.yaml",
    "scenarios/cases/israel_iran_2025.yaml",
    "scenarios/cases/sino_indian_1962.yaml",
    "scenarios/cases/cyprus_1974.yaml",
)
#: A sweep over several points of one scenario (per-point parameters in one ensemble).
SWEEP = ("scenarios/nagorno_karabakh_2020.yaml",
         ["actors.turkey.outside.escalation_rate=0:0.2:3", "actors.armenia.party.truce_compliance=0.5:0.9:2"])


def table_hash(table: pd.DataFrame) -> str:
    """SHA-256 of a table's column names, dtypes and values (row order included)."""
    digest = hashlib.sha256()
    digest.update(repr([(str(name), str(dtype)) for name, dtype in table.dtypes.items()]).encode())
    digest.update(pd.util.hash_pandas_object(table, index=True).to_numpy().tobytes())
    return digest.hexdigest()


def hashes(runs: int, seed: int, dynamics: dict[str, float] | None = None) -> dict[str, str]:
    import sim
    from sim.scenario.loader import load_scenario

    fixed = [f"dynamics.{name}={value}" for name, value in (dynamics or {}).items()]
    result: dict[str, str] = {}
    for path in SCENARIOS:
        started = time.perf_counter()
        scenario = load_scenario(path, fixed)
        ensemble = sim.run_ensemble(scenario, runs=runs, seed=seed, workers=1, progress=False)
        result[path] = f"{table_hash(ensemble.runs)}:{table_hash(ensemble.truces)}"
        print(f"{path:45s} {result[path][:16]}..{result[path][65:81]}  {time.perf_counter() - started:5.1f} s",
              flush=True)
    path, parameters = SWEEP
    table = sim.sweep(path, parameters + fixed, runs=max(runs // 10, 1), seed=seed, workers=1, progress=False)
    result[f"sweep:{path}"] = table_hash(table)
    print(f"{'sweep:' + path:45s} {result[f'sweep:{path}'][:16]}", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--dynamics", action="append", default=[], metavar="NAME=VALUE",
                        help="set a shared dynamic in every scenario (e.g. news_response=0.3 to cover a rule "
                             "that is off by default); repeatable")
    parser.add_argument("--save", type=Path, help="write the hashes to this JSON file")
    parser.add_argument("--compare", type=Path, help="compare with hashes saved by --save")
    args = parser.parse_args(argv)
    dynamics = {name: float(value) for name, value in (item.split("=", 1) for item in args.dynamics)}
    current = hashes(args.runs, args.seed, dynamics)
    if args.save:
        args.save.write_text(json.dumps({"runs": args.runs, "seed": args.seed, "dynamics": dynamics,
                                         "hashes": current}, indent=1))
    if args.compare:
        saved = json.loads(args.compare.read_text())
        if (saved["runs"], saved["seed"], saved.get("dynamics", {})) != (args.runs, args.seed, dynamics):
            print(f"saved hashes are for runs={saved['runs']} seed={saved['seed']} "
                  f"dynamics={saved.get('dynamics', {})}: rerun with those", file=sys.stderr)
            return 2
        differ = [name for name, value in current.items() if saved["hashes"].get(name) != value]
        if differ:
            print("DIFFERENT: " + ", ".join(differ))
            return 1
        print(f"identical: all {len(current)} hashes match")
    return 0


if __name__ == "__main__":
    sys.exit(main())
