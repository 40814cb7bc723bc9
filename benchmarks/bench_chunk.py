"""CPU time of the model alone: ``simulate_chunk`` on chunks of 10,000 lanes, serially, in this process.

Wall time on a shared machine moves with the load; the CPU time a chunk takes (``time.process_time``)
barely does. This script plays the first ``--chunks`` chunks of a run (one untimed warm-up chunk
first), and prints for each scenario the median and best CPU seconds per chunk and the replications
a second one core sustains at the median (``chunk size / CPU``); then ``--together`` chunks played
side by side in one model (``simulate_chunks``, as the executors group them; results identical).
On 2 free cores, a run's throughput is about twice that, less the pool's start-up and the tables
(see bench_run.py for wall time).

Run from the repository root::

    python benchmarks/bench_chunk.py                                     # Karabakh and the 12-actor scenario
    python benchmarks/bench_chunk.py --scenario scenarios/july_1914.yaml --chunks 10
"""

from __future__ import annotations

import argparse
import statistics
import time

DEFAULT_SCENARIOS = ("scenarios/nagorno_karabakh_2020.yaml", "benchmarks/twelve_actors.yaml")


def chunk_cpu(path: str, chunks: int, chunk_size: int, seed: int) -> list[float]:
    """CPU seconds of each of the first ``chunks`` chunks of a run of ``path``."""
    from sim.ensemble.chunks import plan_chunks, simulate_chunk
    from sim.model.params import compile_scenarios
    from sim.scenario.loader import load_scenario

    params = compile_scenarios([load_scenario(path)])
    plan = plan_chunks(chunk_size * (chunks + 1), seed, chunk_size)
    simulate_chunk(params, plan[-1])  # warm-up
    times = []
    for chunk in plan[:chunks]:
        started = time.process_time()
        simulate_chunk(params, chunk)
        times.append(time.process_time() - started)
    return times


def together_cpu(path: str, chunks: int, chunk_size: int, seed: int, repeat: int = 3) -> list[float]:
    """CPU seconds of the first ``chunks`` chunks of a run played side by side in one model
    (``simulate_chunks``, results identical to each chunk alone), ``repeat`` times."""
    from sim.ensemble.chunks import plan_chunks, simulate_chunk, simulate_chunks
    from sim.model.params import compile_scenarios
    from sim.scenario.loader import load_scenario

    params = compile_scenarios([load_scenario(path)])
    plan = plan_chunks(chunk_size * chunks, seed, chunk_size)
    simulate_chunk(params, plan_chunks(1_000, seed + 1, 1_000)[0])  # warm-up
    times = []
    for _ in range(repeat):
        started = time.process_time()
        simulate_chunks(params, plan)
        times.append(time.process_time() - started)
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", nargs="+", default=list(DEFAULT_SCENARIOS))
    parser.add_argument("--chunks", type=int, default=5, help="timed chunks per scenario")
    parser.add_argument("--chunk-size", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--together", type=int, default=5,
                        help="also time this many chunks side by side in one model (0: skip), as the executors "
                             "group them")
    args = parser.parse_args(argv)
    for path in args.scenario:
        times = chunk_cpu(path, args.chunks, args.chunk_size, args.seed)
        median = statistics.median(times)
        print(f"{path:45s} CPU per chunk of {args.chunk_size:,}: median {median:.3f} s, best {min(times):.3f} s"
              f"  ->  {args.chunk_size / median:,.0f} replications/s per core", flush=True)
        if args.together > 1:
            times = together_cpu(path, args.together, args.chunk_size, args.seed)
            median = statistics.median(times) / args.together
            print(f"{'':45s} {args.together} chunks side by side: median {median:.3f} s, best "
                  f"{min(times) / args.together:.3f} s a chunk  ->  {args.chunk_size / median:,.0f} replications/s "
                  "per core", flush=True)


if __name__ == "__main__":
    main()
