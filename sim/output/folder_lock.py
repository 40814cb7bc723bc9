"""Who is writing a results folder: a lock file in ``DIR.partial`` held for as long as a run writes it.

A second ``escalation run --out DIR`` while the first is still running, or a ``--resume`` of a folder
another process is finishing, is told the truth (which process holds it, since when) instead of
being invited to resume a folder still being written. The lock is an advisory ``flock`` on
``DIR.partial/.lock``: the kernel releases it when its process ends, even by ``kill -9``, so a
folder left by a killed run is never reported as busy.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from sim.scenario.errors import Problem, UserError

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; the folder checks still apply
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".lock"


def holder(partial: Path) -> str | None:
    """Who holds the lock of ``partial`` ("pid N on HOST since TIME"), or ``None`` when nobody does."""
    path = Path(partial) / LOCK_NAME
    if fcntl is None or not path.exists():
        return None
    try:
        with path.open("r", encoding="utf-8") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return handle.read().strip() or "another process"
            fcntl.flock(handle, fcntl.LOCK_UN)
    except OSError:
        return None
    return None


def busy_error(partial: Path, who: str) -> UserError:
    """The message for a folder another process is writing."""
    return UserError(Problem(f"a run is writing this folder now ({who}); wait for it to finish (or stop it), "
                             "or choose another --out", source=str(partial)))


@contextlib.contextmanager
def writing(partial: Path) -> Iterator[None]:
    """Hold ``partial``'s lock while the body writes the folder; the lock file is removed at the end."""
    path = Path(partial) / LOCK_NAME
    if fcntl is None:
        yield
        return
    handle = path.open("a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise busy_error(partial, handle.read().strip() or "another process") from None
        handle.seek(0)
        handle.truncate()
        started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        handle.write(f"pid {os.getpid()} on {socket.gethostname()} since {started}\n")
        handle.flush()
        try:
            yield
        finally:
            path.unlink(missing_ok=True)
    finally:
        handle.close()
