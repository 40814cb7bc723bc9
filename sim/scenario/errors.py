"""The one error type for user mistakes, and the problems it carries.

Everything a user can get wrong (a scenario file, a ``--set`` override, a command-line value)
is reported as a :class:`UserError` holding one or more :class:`Problem`. The command line
catches exactly this type, prints it and exits with status 2; anything else is a bug.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MAX_SHOWN = 50


@dataclass(frozen=True)
class Problem:
    """One mistake: where it is (file, line, column, field path) and what is wrong.

    ``message`` says what was found and what is allowed.
    """

    message: str
    field: str = ""
    line: int | None = None
    column: int | None = None
    source: str | None = None

    def render(self) -> str:
        """``file:line:col: field: message``, leaving out the parts that are unknown."""
        where = self.source or ""
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        parts = [p for p in (where, self.field) if p]
        return ": ".join([*parts, self.message])


class UserError(Exception):
    """A mistake in what the user gave us; the message is for the user, not a traceback."""

    def __init__(self, problems: Problem | Sequence[Problem] | str) -> None:
        if isinstance(problems, str):
            problems = [Problem(problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__(self.render())

    def render(self) -> str:
        """All problems, one a line, with a count when there is more than one.

        Past :data:`MAX_SHOWN` problems the rest are counted, not listed: a file with thousands
        of mistakes (a list of numbers where text belongs) gets a screenful, not a flood.
        """
        lines = [p.render() for p in self.problems[:MAX_SHOWN]]
        if len(self.problems) == 1:
            return lines[0]
        sources = {p.source for p in self.problems}
        source = sources.pop() if len(sources) == 1 else None
        head = f"{len(self.problems):,} problems" + (f" in {source}" if source else "") + ":"
        rest = len(self.problems) - len(lines)
        tail = [f"  ... and {rest:,} more (fix these first)"] if rest else []
        return "\n".join([head, *("  " + line for line in lines), *tail])


class ScenarioError(UserError):
    """A scenario file (or an override of it) that cannot be loaded as written."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ``; did you mean 'x'?`` suffix when a close match exists, else an empty string."""
    matches = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean '{matches[0]}'?" if matches else ""


def one_of(choices: Iterable[str]) -> str:
    """``'a', 'b' or 'c'``: the allowed values, for messages."""
    quoted = [f"'{c}'" for c in choices]
    if len(quoted) <= 1:
        return "".join(quoted) or "nothing"
    return ", ".join(quoted[:-1]) + " or " + quoted[-1]
