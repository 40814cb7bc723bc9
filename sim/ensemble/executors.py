"""Executors map chunks to results: in this process, in local worker processes, or on Dask.

None of them sees a file or a screen. Each yields ``ChunkResult`` objects as they finish, in any
order, keeping at most a bounded number of chunks in flight so memory stays flat.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import multiprocessing.process
import os
import pickle
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection, wait

from sim.ensemble.chunks import MAX_LANES_PER_CHUNK, Chunk, ChunkResult, groups, simulate_chunk, simulate_chunks
from sim.model.params import Parameters

Notify = Callable[[str], None]
#: The functions that play one chunk, and consecutive chunks side by side (``simulate_chunk``, ``simulate_chunks``).
Simulate = tuple[Callable[[Parameters, Chunk], ChunkResult], Callable[[Parameters, list[Chunk]], list[ChunkResult]]]


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
        yield from play(params, chunks[:1])
        for group in groups(chunks[1:]):
            yield from play(params, group)


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
    raises ``KeyboardInterrupt``, which a worker would catch as a failed chunk and live on, so a
    SIGTERM could never end it (a run once hung that way). SIGINT is ignored:
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


#: How long the main process waits for a worker's message before it looks at its workers again.
POLL_SECONDS = 1.0
#: How long a worker told to stop may take before it is killed.
STOP_SECONDS = 2.0


class _RaisedInWorkerError(Exception):
    """Where in a worker process a chunk's exception was raised (the cause of the re-raised one)."""

    def __str__(self) -> str:
        return "\n" + "".join(self.args[0])


def _portable(error: BaseException) -> BaseException:
    """``error`` if it can travel to the main process, else a ``RuntimeError`` naming it."""
    try:
        pickle.dumps(error)
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error


def _serve(connection: Connection, params: Parameters, parent: int | None, foreign: list[Connection],
           simulate: Simulate | None = None) -> None:
    """A worker process: run each group of chunks the main process sends, send back each chunk's result,
    until told to stop.

    ``foreign`` are the main process's ends of the connections, inherited by a forked worker: it
    closes them, so that its own connection is the only one it holds. ``simulate`` are the functions
    that play one chunk and several side by side, as the main process has them (a worker started by
    forkserver or spawn imports this module afresh).
    """
    _start_worker(parent)
    for other in foreign:
        with contextlib.suppress(OSError):
            other.close()
    while True:
        try:
            group = connection.recv()
        except (EOFError, OSError):  # the main process is gone
            return
        if group is None:
            return
        try:
            messages = [(result.chunk.index, result, None) for result in play(params, group, simulate)]
        except BaseException as error:
            messages = [(group[0].index, None, (_portable(error), traceback.format_exception(error)))]
        for message in messages:
            try:
                connection.send(message)  # pickled whole before a byte is sent
            except OSError:
                return
            except Exception as error:  # a result that cannot be pickled: an error of the chunk, not a death
                connection.send((message[0], None, (_portable(error), traceback.format_exception(error))))


def play(params: Parameters, group: list[Chunk], simulate: Simulate | None = None) -> list[ChunkResult]:
    """The results of a group of consecutive chunks (``chunks.groups``): one chunk alone, or several side by
    side in one model (the same results); ``simulate``: the two functions that do it (default
    ``simulate_chunk`` and ``simulate_chunks``)."""
    alone, together = simulate or (simulate_chunk, simulate_chunks)
    if len(group) == 1:
        return [alone(params, group[0])]
    return together(params, group)


class _Worker:
    """One worker process, the main process's end of the connection it alone holds, and the groups of
    chunks sent to it and not yet answered, in the order it runs them."""

    def __init__(self, process: multiprocessing.process.BaseProcess, connection: Connection) -> None:
        self.process = process
        self.connection = connection
        self.groups: list[list[Chunk]] = []

    @property
    def chunks(self) -> list[Chunk]:
        """The chunks sent and not yet answered."""
        return [chunk for group in self.groups for chunk in group]

    def answered(self, index: int) -> None:
        """Chunk ``index`` came back."""
        self.groups = [kept for kept in ([c for c in group if c.index != index] for group in self.groups) if kept]

    def receive(self) -> tuple[list[tuple], bool]:
        """The whole messages waiting from this worker, and whether it is still alive.

        A worker killed part-way through a message leaves a connection no other process writes to:
        reading it ends at once (end of file) rather than waiting for bytes that will never come.
        """
        messages = []
        try:
            while self.connection.poll():
                messages.append(self.connection.recv())
        except (EOFError, OSError):
            return messages, False
        return messages, self.process.is_alive()

    def send(self, group: list[Chunk] | None) -> bool:
        """Send a group of chunks (``None``: stop); ``False`` if the worker is gone."""
        try:
            self.connection.send(group)
        except OSError:
            return False
        return True

    def stop(self, kill: bool) -> None:
        """End the worker: told to stop and given a moment, or killed at once; then reaped."""
        if not kill and self.send(None):
            self.process.join(STOP_SECONDS)
        with contextlib.suppress(OSError, ValueError):  # already gone, or already closed
            if self.process.is_alive():
                self.process.kill()
            self.process.join()
        self.connection.close()


class ProcessExecutor:
    """Runs chunks in local worker processes; a chunk whose worker dies is retried once.

    Each worker has a connection of its own to the main process, which waits on every connection
    and every worker's exit at once (``multiprocessing.connection.wait``): there is no shared queue,
    no lock a dying worker could keep, and no helper thread that could wait forever on a dead
    worker, so a worker killed in any state (starting, reading its chunk, computing, half-way
    through sending its result, idle) is noticed as soon as it is gone. ``concurrent.futures``'
    process pool is not used for that reason: a worker killed while sending a large result leaves
    its result thread reading a shared pipe that stays open, and the run hung for ever.
    """

    name = "processes"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1

    def map(self, params: Parameters, chunks: Iterable[Chunk], notify: Notify | None = None) -> Iterator[ChunkResult]:
        """Yield results as they finish, with at most two groups of chunks per worker sent ahead.

        Consecutive chunks are sent in groups played side by side in one model (``chunks.groups``; the
        same results), of at most ``MAX_LANES_PER_CHUNK`` lanes and at most a worker's share of the lanes,
        so that every worker has work."""
        chunks = list(chunks)
        lanes = sum(chunk.replications * chunk.points for chunk in chunks)
        largest = max((chunk.replications * chunk.points for chunk in chunks), default=1)
        pending = groups(chunks, lanes=min(MAX_LANES_PER_CHUNK, max(largest, -(-lanes // self.workers))))
        size = min(self.workers, len(pending))
        crew: list[_Worker] = []
        attempts: dict[int, int] = {}
        finished = False
        try:
            while pending or any(worker.chunks for worker in crew):
                self._staff(crew, size, params, pending)
                waited = [worker.connection for worker in crew] + [worker.process.sentinel for worker in crew]
                ready = set(wait(waited, timeout=POLL_SECONDS))
                for worker in list(crew):
                    if worker.connection not in ready and worker.process.sentinel not in ready:
                        continue
                    messages, alive = worker.receive()
                    for index, result, failure in messages:
                        worker.answered(index)
                        if failure is not None:
                            error, where = failure
                            raise error from _RaisedInWorkerError(where)
                        yield result
                    if not alive:
                        crew.remove(worker)
                        pending[:0] = self._lost(worker, attempts, notify)
            finished = True
        finally:
            for worker in crew:
                worker.stop(kill=not finished)

    def _staff(self, crew: list[_Worker], size: int, params: Parameters, pending: list[list[Chunk]]) -> None:
        """Start the workers missing, then send groups of chunks to any worker with fewer than two."""
        while len(crew) < size and pending:
            context = _context()
            parent = os.getpid() if context.get_start_method() == "fork" else None
            ours, theirs = context.Pipe()
            foreign = [w.connection for w in crew] + [ours] if parent is not None else []
            process = context.Process(target=_serve, args=(theirs, params, parent, foreign,
                                                           (simulate_chunk, simulate_chunks)), daemon=True,
                                      name=f"escalation-worker-{len(crew)}")
            with _signals_held():  # the worker must not get Ctrl-C or SIGTERM before it set its handlers
                process.start()
                crew.append(_Worker(process, ours))
            theirs.close()  # the worker's end stays in the worker alone: its death closes it
        for depth in (1, 2):        # one group to every worker before a second to any
            for worker in sorted(crew, key=lambda w: len(w.groups)):
                if pending and len(worker.groups) < depth:
                    worker.groups.append(pending.pop(0))
                    worker.send(worker.groups[-1])  # False: a dead worker, noticed by its sentinel; its chunks retried

    @staticmethod
    def _lost(worker: _Worker, attempts: dict[int, int], notify: Notify | None) -> list[list[Chunk]]:
        """The groups of chunks of a worker that died, to run again; a chunk running at two deaths stops the run."""
        worker.stop(kill=True)
        lost = worker.chunks
        if lost:  # the first group was running (or about to); the others were only waiting their turn
            for running in worker.groups[0]:
                attempts[running.index] = attempts.get(running.index, 0) + 1
                if attempts[running.index] > 1:
                    raise WorkerDiedError(
                        f"a worker process died twice while running chunk {running.index}; "
                        "the chunks finished so far are kept"
                    )
        if notify:
            retried = f"retrying chunk(s) {', '.join(str(c.index) for c in lost)} once" if lost else "no chunk was lost"
            notify(f"a worker process died; {retried}")
        return worker.groups


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
