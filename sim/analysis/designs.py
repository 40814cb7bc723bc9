"""Experimental designs for sweeps: parameter specs in, a table of points out.

A spec is ``DOTTED.PATH=START:STOP:NUM`` (NUM values from START to STOP inclusive), or
``DOTTED.PATH=START:STOP`` for a Latin hypercube, or ``DOTTED.PATH=a,b,c`` for a list of values
(categorical, e.g. a tie's scope). A design is a DataFrame: one column per path, one row per point.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import yaml

from sim.scenario.errors import Problem, UserError

MAX_POINTS = 100_000


@dataclass(frozen=True)
class ParameterRange:
    """A parameter to vary: a numeric range, or an explicit list of values."""

    path: str
    low: float | None = None
    high: float | None = None
    num: int | None = None
    values: tuple[Any, ...] | None = None

    @property
    def numeric(self) -> bool:
        return self.values is None

    def grid_values(self) -> list[Any]:
        """The values a full-factorial grid takes."""
        if self.values is not None:
            return list(self.values)
        return [_tidy(v) for v in np.linspace(self.low, self.high, self.num)]


def _tidy(value: float) -> float | int:
    value = float(value)
    return int(value) if value.is_integer() and abs(value) < 2**53 else round(value, 12)


#: Where parameter specs come from in messages, unless a caller says otherwise: the command line's flag.
#: The Python API passes the name of its own argument (``parameters``, ``overrides``).
COMMAND_LINE = "--param"


def _fail(origin: str, spec: str, message: str) -> UserError:
    return UserError(Problem(message, source=f"{origin} {spec}"))


def give_at_least_one(origin: str, form: str) -> str:
    """The remedy for no parameters at all, in the words of where they are given."""
    if origin.startswith("--"):
        return f"give at least one {origin} {form}"
    return f"give at least one entry in {origin}, as '{form}'"


def parse_parameter(spec: str, *, need_num: bool = True, origin: str = COMMAND_LINE) -> ParameterRange:
    """Read one parameter spec (``PATH=START:STOP:NUM``, ``PATH=a,b``); every mistake is a
    :class:`UserError` naming ``origin`` and the spec."""
    path, separator, text = spec.partition("=")
    path = path.strip()
    if not separator or not path or not text.strip():
        raise _fail(origin, spec, "expected DOTTED.PATH=START:STOP:NUM, or DOTTED.PATH=a,b,c")
    if ":" in text:
        parts = text.split(":")
        if len(parts) not in (2, 3):
            raise _fail(origin, spec, f"found '{text}'; allowed: START:STOP:NUM (e.g. 0:1:11)")
        try:
            low, high = float(parts[0]), float(parts[1])
        except ValueError:
            raise _fail(origin, spec, f"found '{text}'; START and STOP must be numbers") from None
        if not (np.isfinite(low) and np.isfinite(high)):
            raise _fail(origin, spec, "START and STOP must be finite numbers")
        num = None
        if len(parts) == 3:
            try:
                num = int(parts[2])
            except ValueError:
                raise _fail(origin, spec,
                            f"found NUM '{parts[2]}'; allowed: a whole number of values, 1 or more") from None
            if num < 1:
                raise _fail(origin, spec, f"empty range: NUM is {num}; allowed: 1 or more values")
            if num > 1 and low == high:
                raise _fail(origin, spec, f"empty range: START and STOP are both {low:g}; give two different ends")
        elif need_num:
            raise _fail(origin, spec, "a grid needs START:STOP:NUM (the number of values)")
        elif low == high:
            raise _fail(origin, spec, f"empty range: START and STOP are both {low:g}")
        return ParameterRange(path, low=low, high=high, num=num)
    values = tuple(_scalar(v) for v in text.split(",") if v.strip())
    if not values:
        raise _fail(origin, spec, "empty list of values")
    if len(set(map(repr, values))) != len(values):
        raise _fail(origin, spec, "a value is listed twice")
    return ParameterRange(path, values=values)


def _scalar(text: str) -> Any:
    try:
        return yaml.safe_load(text.strip())
    except yaml.YAMLError:
        return text.strip()


def _check_paths(ranges: Sequence[ParameterRange], origin: str = COMMAND_LINE) -> None:
    paths = [r.path for r in ranges]
    if len(set(paths)) != len(paths):
        raise UserError(Problem("the same parameter is given twice", source=origin))
    if not ranges:
        raise UserError(Problem(give_at_least_one(origin, "DOTTED.PATH=START:STOP:NUM"), source=origin))


def grid_design(ranges: Sequence[ParameterRange], origin: str = COMMAND_LINE) -> pd.DataFrame:
    """The full factorial of every parameter's values."""
    _check_paths(ranges, origin)
    axes = [r.grid_values() for r in ranges]
    size = int(np.prod([len(a) for a in axes]))
    if size > MAX_POINTS:
        raise UserError(Problem(f"the grid has {size:,} points; at most {MAX_POINTS:,} are allowed", source=origin))
    return pd.DataFrame(list(itertools.product(*axes)), columns=[r.path for r in ranges])


def lhs_design(ranges: Sequence[ParameterRange], samples: int, seed: int, origin: str = COMMAND_LINE) -> pd.DataFrame:
    """``samples`` Latin-hypercube points (SALib's sampler); list-valued parameters pick evenly."""
    from SALib.sample import latin

    _check_paths(ranges, origin)
    if not 1 <= samples <= MAX_POINTS:
        raise UserError(Problem(f"found {samples}; allowed: 1 to {MAX_POINTS:,} samples",
                                source="--samples" if origin == COMMAND_LINE else "samples"))
    problem = {
        "num_vars": len(ranges),
        "names": [r.path for r in ranges],
        "bounds": [[r.low, r.high] if r.numeric else [0.0, float(len(r.values))] for r in ranges],
    }
    unit = latin.sample(problem, samples, seed=seed % 2**32)
    columns = {}
    for index, parameter in enumerate(ranges):
        if parameter.numeric:
            columns[parameter.path] = [_tidy(v) for v in unit[:, index]]
        else:
            picks = np.minimum(unit[:, index].astype(int), len(parameter.values) - 1)
            columns[parameter.path] = [parameter.values[i] for i in picks]
    return pd.DataFrame(columns)


def point_values(design: pd.DataFrame) -> list[dict[str, Any]]:
    """Each point of a design as a mapping of paths to plain Python values (no text to parse).

    Numbers are tidied (rounded to 12 decimals, whole numbers as int), so a design saved in a manifest
    and read back gives the same scenarios.
    """
    columns = [design[name].to_numpy(dtype=object) for name in design.columns]
    return [{name: _plain(column[row]) for name, column in zip(design.columns, columns, strict=True)}
            for row in range(len(design))]


def _plain(value: Any) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        return _tidy(float(value))
    if isinstance(value, np.integer):
        return int(value)
    return value
