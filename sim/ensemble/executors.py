"""Executors map chunks to results: in this process, in local worker processes, or on Dask.

None of them sees a file or a screen. Each yields ``ChunkResult`` objects as they finish, in any
order, keeping at most a bounded number of chunks in flight so memory stays flat.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from sim.ensemble.chunks import Chunk, ChunkResult, groups, simulate_chunk, simulate_chunks
from sim.model.params import Parameters

Notify = Callable[[str], None]


class WorkerDiedError(RuntimeError):
    """A worker process died twice on the same chunk."""


class SerialExecutor:
    """Runs chunks in this process: the first alone (its result comes as soon as it can), then consecutive
    chunks side by side in one model up to ``MAX_LANES_PER_CHUNK`` lanes (``chunks.groups``), which shares
    the cost of each day's array operations among them; results are those of each chunk alone."""

    name = "serial"
    workers = 1

    def map(self, params: Parameters, chunks: Iterable[Chunk], notify: Notify | None = None) -> Iterator[ChunkResult]:
        """Yield each chunk's result, in order."""
        chunks = list(chunks)
        if not chunks:
            return
        yield simulate_chunk(params, chunks[0])
        for group in groups(chunks[1:]):
            yield from simulate_chunks(params, group)


def _context() -> multiprocessing.context.BaseContext:
    """fork starts workers at once with the parent's imports, but is safe only in a process with
    a single thread; otherwise (e.g. after Dask was used) forkserver, and spawn off Linux."""
    if sys.platform != "linux":
        return multiprocessing.get_context("spawn")
    return multiprocessing.get_context("fork" if threading.active_count() == 1 else "forkserver")


#: ``prctl`` option that sends the calling process a signal when its parent dies (linux/prctl.h).
PR_SET_PDEATHSIG = 1


def _start_worker(parent: int | None) -> None:
    """Prepare a fresh worker process: it obeys SIGTERM, leaves Ctrl-C to the main process, and dies
    with its parent.

    Forked workers inherit the main process's signal handlers; the command line's SIGTERM handler
    raises ``KeyboardInterrupt``, which a worker would catch as a failed task and live on, so the
    pool could never terminate it when another worker dies (the run then hung). SIGINT is ignored:
    the terminal sends Ctrl-C to every process of the group, and the main process alone decides
    what to keep. On Linux the kernel kills the worker if the process that started it dies (even
    by ``kill -9``); ``parent`` (the pid that forked this worker, if known) closes the race of a
    parent that died before this call.
    """
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _HELD_SIGNALS)
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if parent is not None and os.getppid() != parent:
        os._exit(1)


_HELD_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM while workers may be forked: a worker must not receive one before
    :func:`_start_worker` has replaced the handlers it inherited. The main process gets any signal
    that came meanwhile as soon as the block ends."""
    if not hasattr(signal, "pthread_sigmask"):  # Windows: workers are spawned, not forked
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Kill the workers of a pool being abandoned (Ctrl-C, an error): their chunks are not wanted."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(OSError, ValueError):  # already gone, or already closed
            process.kill()


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
            context = _context()
            parent = os.getpid() if context.get_start_method() == "fork" else None
            pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context, initializer=_start_worker,
                                       initargs=(parent,))
            in_flight: dict[Future, Chunk] = {}
            abandoned = True
            try:
                while pending or in_flight:
                    with _signals_held():  # submit() forks the workers
                        while pending and len(in_flight) < window:
                            # a pool already broken raises here: the chunk stays pending, never lost
                            in_flight[pool.submit(simulate_chunk, params, pending[0])] = pending[0]
                            pending.pop(0)
                    done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                    for future in sorted(done, key=lambda f: in_flight[f].index):
                        result = future.result()
                        del in_flight[future]
                        yield result
                abandoned = False
            except BrokenProcessPool:
                abandoned = False
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
                if abandoned:
                    _stop_workers(pool)
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
