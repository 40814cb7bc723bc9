"""Progress bars on a terminal only: a log file gets one plain line a minute at most, never a carriage return.

tqdm redraws its bar with carriage returns, which a terminal folds into one line and a log file (a
batch job's stderr, ``2> run.log``, CI) keeps as hundreds of fragments. :func:`progress_bar` gives tqdm's
bar when standard error is a terminal (or a notebook's widget, in Jupyter), and otherwise a
:class:`LineProgress`: a whole line when at least :data:`LINE_INTERVAL` seconds have passed since the
last one (so a run shorter than a minute writes nothing).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TextIO

import tqdm as tqdm_module
from tqdm.auto import tqdm as auto_tqdm

#: Seconds between two progress lines when standard error is not a terminal.
LINE_INTERVAL = 60.0

# No tqdm monitor thread: local workers are forked, and forking a multi-threaded process is unsafe.
tqdm_module.tqdm.monitor_interval = 0
# Nor tqdm's default lock between processes (workers draw no bars): its semaphore would start
# multiprocessing's resource tracker, one more child process of every run for nothing.
if not hasattr(tqdm_module.tqdm, "_lock"):
    tqdm_module.tqdm.set_lock(threading.RLock())


class LineProgress:
    """Progress as whole lines, at most one every ``interval`` seconds, for a stream that is not a terminal."""

    def __init__(self, iterable: Iterable[Any] | None = None, *, total: float | None = None, desc: str = "",
                 unit: str = "it", disable: bool = False, file: TextIO | None = None,
                 interval: float = LINE_INTERVAL, clock: Callable[[], float] = time.monotonic,
                 **ignored: Any) -> None:
        self.iterable = iterable
        self.total = total if total is not None or iterable is None else _length(iterable)
        self.desc, self.unit, self.disable = desc, unit, disable
        self.file = file
        self.interval, self.clock = interval, clock
        self.n = 0.0
        self.started = self.last = clock()

    def __iter__(self) -> Iterator[Any]:
        for item in self.iterable or ():
            yield item
            self.update(1)

    def update(self, n: float = 1) -> None:
        """Count ``n`` more done; write a line if the last one (or the start) is ``interval`` seconds old."""
        self.n += n
        now = self.clock()
        if self.disable or now - self.last < self.interval:
            return
        self.last = now
        done = f"{self.n:,.0f}" + (f" of {self.total:,.0f}" if self.total else "")
        share = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
        name = f"{self.desc}: " if self.desc else ""
        stream = self.file or sys.stderr
        stream.write(f"{name}{done} {self.unit}{share} after {now - self.started:,.0f} s\n")
        stream.flush()

    def close(self) -> None:
        """Nothing to clear: every line written is whole."""


def _length(iterable: Iterable[Any]) -> int | None:
    try:
        return len(iterable)  # type: ignore[arg-type]
    except TypeError:
        return None


def on_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal, or tqdm draws in a notebook (its widget needs no terminal)."""
    if any(kind.__module__ == "tqdm.notebook" for kind in auto_tqdm.__mro__):
        return True
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def progress_bar(iterable: Iterable[Any] | None = None, **options: Any) -> Any:
    """tqdm's bar on a terminal, else a :class:`LineProgress` (same arguments: total, desc, unit, disable...)."""
    stream = options.setdefault("file", sys.stderr)
    if on_terminal(stream):
        return auto_tqdm(iterable, **options)
    return LineProgress(iterable, **options)
