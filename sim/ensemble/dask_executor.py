"""Run chunks on a Dask cluster: a local one started for the run, or one already running.

Dask is optional: it is imported when a :class:`DaskExecutor` maps its first chunk, so
``import sim`` never needs it. Results do not depend on where chunks run (see
:mod:`sim.ensemble.chunks`), so a Dask run gives the same tables as a serial one with the same seed.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import socket
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from importlib import metadata
from typing import Any

from sim.ensemble.chunks import Chunk, ChunkResult, simulate_chunk
from sim.ensemble.executors import Notify, WorkerDiedError
from sim.model.params import Parameters
from sim.scenario.errors import Problem, UserError

#: No dashboard, and the scheduler's small HTTP server (health checks) on a free local port rather
#: than 8787, which another cluster or notebook may hold.
LOCAL_HTTP: dict[str, Any] = {"dashboard_address": None, "scheduler_kwargs": {"dashboard_address": "127.0.0.1:0"}}
INSTALL_HINT = 'pip install "escalation-sim[dask]" (or pip install -e ".[dask]" in a checkout)'


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as error:
        raise UserError(Problem(f"the dask executor needs dask[distributed], which is not installed ({error}); "
                                f"install it with: {INSTALL_HINT}", source="--executor")) from None
    return distributed


def _unreachable(address: str, timeout: float, distributed: Any) -> str | None:
    """Why ``address`` is not a Dask scheduler one can reach, or ``None`` if it may be (or is not TCP).

    Dask retries a refused connection until its timeout, and waits for ever on a port that accepts
    connections but never speaks (the dashboard's 8787, say). A Dask scheduler sends its handshake
    as soon as a connection opens, so a plain socket tells both cases apart within ``timeout``.
    """
    try:
        scheme, _ = distributed.comm.parse_address(address)
        if scheme != "tcp":
            return None
        host, port = distributed.comm.get_address_host_port(address)
    except ValueError as error:
        return str(error)
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((host, port), timeout=timeout) as probe:
            probe.settimeout(max(0.1, deadline - time.monotonic()))
            if probe.recv(1):
                return None
            return "it closed the connection without a word; is it a Dask scheduler?"
    except TimeoutError:
        return (f"nothing answered like a Dask scheduler within {timeout:g} s (a scheduler listens on "
                "port 8786 unless told otherwise; 8787 is its dashboard)")
    except OSError as error:
        return error.strerror or str(error) or type(error).__name__


PACKAGE = "escalation-sim"


def _version_problems(client: Any, expected: str) -> list[str]:
    """The workers whose installed package differs from this client's ``expected`` version.

    ``importlib.metadata.version`` is sent by reference (every Python has it), so a worker without
    the package answers with an error instead of failing to unpickle a task later.
    """
    found = client.run(metadata.version, PACKAGE, on_error="return")
    problems = []
    for worker, version in sorted(found.items()):
        if isinstance(version, BaseException):
            problems.append(f"{worker} does not have {PACKAGE} installed")
        elif version != expected:
            problems.append(f"{worker} runs {PACKAGE} {version}")
    return problems


def installed_version() -> str | None:
    """This client's version of the package (``None`` when it is not installed)."""
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return None


def check_worker_versions(client: Any, scheduler: str | None) -> None:
    """Refuse a cluster whose workers run another version of the package than this client."""
    expected = installed_version()
    if expected is None:  # running from a source tree: nothing to compare with
        return
    problems = _version_problems(client, expected)
    if problems:
        shown = "; ".join(problems[:3]) + (f" (and {len(problems) - 3} more)" if len(problems) > 3 else "")
        raise UserError(Problem(f"{shown}; allowed: workers with {PACKAGE} {expected}, the version of this "
                                f"client (install it on every worker: {INSTALL_HINT})",
                                source=scheduler or "--executor dask"))


def _drop_tracebacks(error: BaseException | None) -> None:
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        error.__traceback__ = None
        error = error.__cause__ or error.__context__


class DaskExecutor:
    """Runs chunks on Dask, yielding each result as it finishes with a bounded number in flight.

    ``scheduler=None`` starts a :class:`distributed.LocalCluster` of ``workers`` processes (default:
    all cores) with one thread each for the length of :meth:`map`, and closes it when the map is
    finished or abandoned. ``scheduler="tcp://HOST:PORT"`` connects to a running scheduler and
    leaves its cluster running; ``workers`` is then ignored. The workers of a remote cluster must be
    able to import ``sim`` in the same version as the client: install the package on every worker
    (``pip install "escalation-sim[dask]"``), or tasks fail to unpickle there.

    The parameters are scattered to every worker once; each task ships only its chunk. A chunk
    whose worker is lost (``KilledWorker``, after Dask's own retries) is resubmitted once and the
    loss reported through ``notify``; a second loss raises :class:`WorkerDiedError`. An exception
    raised inside a task is a bug and propagates unchanged.
    """

    name = "dask"
    #: The function each task runs, a pure function of ``(params, chunk)`` (tests swap it for one
    #: that kills its worker).
    task: Callable[[Parameters, Chunk], ChunkResult] = staticmethod(simulate_chunk)

    def __init__(self, scheduler: str | None = None, workers: int | None = None, *,
                 connect_timeout: float = 10.0) -> None:
        self.scheduler = scheduler
        self.workers = workers or (None if scheduler else os.cpu_count() or 1)
        self.connect_timeout = connect_timeout

    def __repr__(self) -> str:
        where = self.scheduler or f"local cluster of {self.workers} workers"
        return f"DaskExecutor({where})"

    def _connect(self, distributed: Any) -> tuple[Any, Any]:
        """A client, and the cluster started for it (``None`` for a remote scheduler)."""
        if self.scheduler is None:
            cluster = distributed.LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                               silence_logs=logging.ERROR, **LOCAL_HTTP)
            try:
                return distributed.Client(cluster, set_as_default=False), cluster
            except BaseException:
                cluster.close()
                raise
        reason = _unreachable(self.scheduler, self.connect_timeout, distributed)
        if reason is None:
            try:
                return distributed.Client(self.scheduler, timeout=self.connect_timeout, set_as_default=False), None
            except (OSError, TimeoutError, ValueError) as error:
                reason = str(error)
                _drop_tracebacks(error)  # they hold the half-made Client, whose close at exit would hang
        raise UserError(Problem(f"cannot connect to the Dask scheduler at {self.scheduler}: {reason}",
                                source="--scheduler"))

    def map(self, params: Parameters, chunks: Iterable[Chunk], notify: Notify | None = None) -> Iterator[ChunkResult]:
        """Yield results as they finish, with at most two chunks per worker thread in flight."""
        distributed = _import_distributed()
        # A lost worker fails its running task with KilledWorker, and cancels the results it held
        # when they (or the scattered parameters they need) cannot be recomputed.
        lost_errors = (distributed.KilledWorker, concurrent.futures.CancelledError)
        client, cluster = self._connect(distributed)
        try:
            if cluster is None:  # a local cluster runs this very installation
                check_worker_versions(client, self.scheduler)
            threads = sum(client.nthreads().values())
            if cluster is None:
                self.workers = threads or self.workers
            window = 2 * max(1, threads)
            shared = client.scatter(params, broadcast=True, hash=False)
            pending = deque(chunks)
            attempts: dict[int, int] = {}
            in_flight: dict[Any, Chunk] = {}
            while pending or in_flight:
                if pending and shared.status != "finished":  # every copy went with lost workers
                    shared = client.scatter(params, broadcast=True, hash=False)
                while pending and len(in_flight) < window:
                    chunk = pending.popleft()
                    in_flight[client.submit(self.task, shared, chunk, pure=False)] = chunk
                with client.as_current():  # wait() finds its client through this
                    done, _ = distributed.wait(list(in_flight), return_when="FIRST_COMPLETED")
                lost: list[Chunk] = []
                for future in sorted(done, key=lambda f: in_flight[f].index):
                    chunk = in_flight.pop(future)
                    try:
                        result = future.result()
                    except lost_errors:
                        lost.append(chunk)
                        continue
                    finally:
                        future.release()
                    yield result
                for chunk in lost:
                    attempts[chunk.index] = attempts.get(chunk.index, 0) + 1
                    if attempts[chunk.index] > 1:
                        raise WorkerDiedError(f"Dask workers were lost twice while running chunk {chunk.index}; "
                                              "the chunks finished so far are kept")
                if lost:
                    if notify:
                        indices = ", ".join(str(c.index) for c in lost)
                        notify(f"a Dask worker was lost; retrying chunk(s) {indices} once")
                    pending.extendleft(reversed(lost))
        finally:
            try:
                client.close()
            finally:
                if cluster is not None:
                    cluster.close()
