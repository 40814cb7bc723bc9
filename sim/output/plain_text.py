"""Text in figures is drawn as written: never parsed as matplotlib mathtext or LaTeX.

Scenario titles, actor ids, ladder rungs and parameter paths come from the user. matplotlib reads
text between two ``$`` as mathtext, so a title such as ``Cost of a $2bn deal, $5bn aid`` would be
typeset as a formula, and ``$\\frac$`` would fail after the whole ensemble had run. Every function
that builds or saves a figure runs under :func:`plain_text`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import matplotlib

#: rcParams under which every Text artist is created and drawn: no mathtext, no TeX.
PLAIN_TEXT = {"text.parse_math": False, "text.usetex": False}

Arguments = ParamSpec("Arguments")
Returned = TypeVar("Returned")


def plain_text(function: Callable[Arguments, Returned]) -> Callable[Arguments, Returned]:
    """Run ``function`` with :data:`PLAIN_TEXT`: the texts it creates keep parse_math off when drawn."""

    @functools.wraps(function)
    def wrapper(*args: Arguments.args, **kwargs: Arguments.kwargs) -> Returned:
        with matplotlib.rc_context(PLAIN_TEXT):
            return function(*args, **kwargs)

    return wrapper
