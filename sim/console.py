"""The ``escalation`` console entry point.

It imports nothing heavy itself, so that a Ctrl-C (or SIGTERM) that arrives while numpy, pandas and
Mesa are still loading ends like one during a run: one line and exit status 130, never a traceback.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence

EXIT_INTERRUPTED = 130


def terminate(signum: int, frame: object) -> None:
    """SIGTERM stops the command like Ctrl-C."""
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line (:func:`sim.cli.main`), turning an interrupt at any moment into exit 130."""
    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        from sim.cli import main as command_line

        return command_line(argv)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
