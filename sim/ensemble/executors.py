"""Executors map chunks to results: in this process, in local worker processes, or on Dask.

None of them sees a file or a screen. Each yields ``ChunkResult`` objects as they finish, in any
order, keeping at most a bounded number of chunks in flight so memory stays flat.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from sim.ensemble.chunks import Chunk, ChunkResult, simulate_chunk
from sim.model.params import Parameters

Notify = Callable[[str], None]


class WorkerDiedError(RuntimeError):
    """A worker process died twice on the same chunk."""


class SerialExecutor:
    """Runs chunks one after another in this process."""

    name = "serial"
    workers = 1

    def map(self, params: Parameters, chunks: Iterable[Chunk], notify: Notify | None = None) -> Iterator[ChunkResult]:
        """Yield each chunk's result in turn."""
        for chunk in chunks:
            yield simulate_chunk(params, chunk)


def _context() -> multiprocessing.context.BaseContext:
    """fork starts workers at once with the parent's imports, but is safe only in a process with
    a single thread; otherwise (e.g. after Dask was used) forkserver, and spawn off Linux."""
    if sys.platform != "linux":
        return multiprocessing.get_context("spawn")
    return multiprocessing.get_context("fork" if threading.active_count() == 1 else "forkserver")


class ProcessExecutor:
    """Runs chunks in a pool of local worker processes; a chunk whose worker dies is retried once."""

    name = "processes"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1

    def map(self, params: Parameters, chunks: Iterable[Chunk], notify: Notify | None = None) -> Iterator[ChunkResult]:
        """Yield results as they finish, with at most two chunks per worker in flight."""
        pending = list(chunks)
        attempts: dict[int, int] = {}
        window = 2 * self.workers
        while pending:
            pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=_context())
            in_flight: dict[Future, Chunk] = {}
            try:
                while pending or in_flight:
                    while pending and len(in_flight) < window:
                        chunk = pending.pop(0)
                        in_flight[pool.submit(simulate_chunk, params, chunk)] = chunk
                    done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                    for future in sorted(done, key=lambda f: in_flight[f].index):
                        result = future.result()
                        del in_flight[future]
                        yield result
            except BrokenProcessPool:
                lost = sorted(in_flight.values(), key=lambda c: c.index)
                for chunk in lost:
                    attempts[chunk.index] = attempts.get(chunk.index, 0) + 1
                    if attempts[chunk.index] > 1:
                        raise WorkerDiedError(
                            f"a worker process died twice while running chunk {chunk.index}; "
                            "the chunks finished so far are kept"
                        ) from None
                if notify:
                    notify(f"a worker process died; retrying chunk(s) {', '.join(str(c.index) for c in lost)} once")
                pending = lost + pending
            finally:
                pool.shutdown(wait=True, cancel_futures=True)


def in_worker_process() -> bool:
    """Whether this process is a daemonic pool worker (e.g. of EMA's ``MultiprocessingEvaluator``).

    Such a process may not start children, so a run inside it has to stay in the process.
    """
    return multiprocessing.current_process().daemon


def make_executor(workers: int | None = None, kind: str = "processes", scheduler: str | None = None):
    """The executor for a run: ``processes`` (default), ``serial``, or ``dask``.

    Inside a daemonic worker process (another tool's pool) local processes become serial: no
    nested pools.
    """
    if kind == "dask":
        from sim.ensemble.dask_executor import DaskExecutor

        return DaskExecutor(scheduler=scheduler, workers=workers)
    if kind == "serial" or workers == 1 or in_worker_process():
        return SerialExecutor()
    return ProcessExecutor(workers)
