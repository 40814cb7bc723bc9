"""The model never hands on a non-finite number: a check at the end of every chunk.

Parameters of extreme magnitude (``1e308``, ``5e-324``) that the schema lets through can overflow
inside the model; the outputs then hold NaN or infinity, or the huge negative integer a NaN
becomes when cast to an integer. :func:`check_chunk_outputs` looks at every array a chunk produced,
whatever the model calls them, and stops the run with a :class:`NonFiniteOutputError` (a user
error, exit status 2) that names the outputs concerned and the scenario's parameters whose
magnitude is extreme, read generically from the compiled :class:`~sim.model.params.Parameters`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from sim.scenario.errors import Problem, UserError

#: Magnitudes beyond which a parameter is named as a likely cause (no domain quantity of this
#: model is counted in billions, or is a non-zero number below a billionth).
LARGE = 1e9
SMALL = 1e-9
SHOWN = 8
WHOLE_LIMIT = 2.0**63


class NonFiniteOutputError(UserError):
    """The model produced NaN or infinity: the scenario's magnitudes are beyond what it can compute."""


def non_finite_outputs(arrays: Mapping[str, np.ndarray], prefix: str = "") -> list[str]:
    """Names of the arrays holding NaN, infinity, a float beyond the range of 64-bit whole numbers, or the
    integer a NaN becomes when cast (the type's minimum)."""
    found = []
    for name, values in arrays.items():
        values = np.asarray(values)
        if values.dtype.kind == "f":  # beyond 2**63 a count cannot even be written as a whole number
            bad = not np.all(np.isfinite(values)) or (values.size > 0 and float(np.abs(values).max()) >= WHOLE_LIMIT)
        else:
            bad = values.dtype.kind == "i" and values.dtype.itemsize >= 4 and values.size > 0 \
                and values.min() == np.iinfo(values.dtype).min
        if bad:
            found.append(f"{prefix}{name}")
    return found


def _numbers(value: Any, path: str) -> Iterator[tuple[str, np.ndarray]]:
    """Every numeric array or number inside a compiled parameter object, by its dotted path."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            yield from _numbers(getattr(value, item.name), f"{path}.{item.name}" if path else item.name)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _numbers(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _numbers(item, f"{path}[{index}]")
    elif isinstance(value, (bool, np.bool_)):
        return
    elif isinstance(value, (int, float, np.number, np.ndarray)):
        array = np.asarray(value)
        if array.dtype.kind in "fiu":
            yield path, array


#: Which ids label the first axis of a compiled parameter group (per actor, commitment, front ...).
LABELS = {"party": "actor_ids", "outside": "actor_ids", "initial_form": "actor_ids", "front_shares": "actor_ids",
          "commitment": "commitment_ids", "front": "front_ids", "mediator": "mediator_ids"}


def _labels(params: Any, path: str) -> tuple[str, ...]:
    """The ids along an array's first axis, when the parameters name them (``party`` -> the actors' ids)."""
    head = path.split(".")[0]
    structure = getattr(params, "structure", None)
    ids = getattr(structure, LABELS.get(head, ""), None) if structure is not None else None
    if ids is None:
        ids = getattr(params, f"{head}_ids", None)
    return tuple(str(i) for i in ids) if isinstance(ids, (tuple, list)) else ()


def _extreme(magnitudes: np.ndarray) -> float | None:
    magnitudes = magnitudes[magnitudes > 0]
    if not magnitudes.size:
        return None
    largest, smallest = float(magnitudes.max()), float(magnitudes.min())
    if not math.isfinite(largest) or largest >= LARGE:
        return largest
    return smallest if smallest <= SMALL else None


def extreme_parameters(params: Any) -> list[str]:
    """The compiled parameters whose magnitude is extreme (beyond :data:`LARGE` or under :data:`SMALL`),
    each with the id of the actor (or tie...) it belongs to when the parameters name them."""
    found = []
    for path, array in _numbers(params, ""):
        magnitudes = np.abs(array.astype(float, copy=False))
        labels = _labels(params, path)
        if labels and magnitudes.ndim >= 1 and magnitudes.shape[0] == len(labels):
            head, _, rest = path.partition(".")
            for label, row in zip(labels, magnitudes, strict=True):
                value = _extreme(row.ravel())
                if value is not None:
                    found.append(f"{head}[{label}]{'.' + rest if rest else ''} = {value:g}")
            continue
        value = _extreme(magnitudes.ravel())
        if value is not None:
            found.append(f"{path} = {value:g}")
    return found


def non_finite_error(outputs: list[str], params: Any) -> NonFiniteOutputError:
    """The one message for a run whose numbers left the floating-point range."""
    suspects = extreme_parameters(params)
    shown = ", ".join(outputs[:SHOWN]) + (f" and {len(outputs) - SHOWN} more" if len(outputs) > SHOWN else "")
    if suspects:
        cause = "parameters of extreme magnitude: " + ", ".join(suspects[:SHOWN])
    else:
        cause = f"no parameter is beyond {LARGE:g} or below {SMALL:g}; this may be a bug: please report it"
    return NonFiniteOutputError(Problem(
        f"the model produced NaN, infinite or out-of-range values in {shown}; {cause}; allowed: parameter values of "
        "magnitudes that mean something in the domain (the model multiplies them over days and lanes)",
        source=str(getattr(params, "name", "") or "scenario"),
    ))


@contextlib.contextmanager
def floating_point_events() -> Iterator[list[str]]:
    """Collect numpy's overflow, invalid-value and divide-by-zero events in the body (instead of warnings)."""
    events: list[str] = []
    previous = np.seterrcall(lambda kind, flag: events.append(kind))
    try:
        with np.errstate(over="call", invalid="call", divide="call"):
            yield events
    finally:
        np.seterrcall(previous)


def check_floating_point_events(params: Any, events: list[str]) -> None:
    """Stop on overflow inside the model when the scenario has parameters of extreme magnitude.

    Without such parameters the events are passed on as the ``RuntimeWarning`` numpy would have
    given (the test suite treats them as bugs).
    """
    if not events:
        return
    kinds = ", ".join(dict.fromkeys(events))
    if extreme_parameters(params):
        raise non_finite_error([f"intermediate results ({kinds})"], params)
    warnings.warn(f"floating-point {kinds} inside the model, with no parameter of extreme magnitude",
                  RuntimeWarning, stacklevel=2)


def check_chunk_outputs(params: Any, tables: Mapping[str, Mapping[str, np.ndarray]]) -> None:
    """Raise :class:`NonFiniteOutputError` if any array of a chunk's ``tables`` is not finite."""
    outputs = [name for table, arrays in tables.items() for name in non_finite_outputs(arrays, f"{table}.")]
    if outputs:
        raise non_finite_error(outputs, params)


def non_finite_paths(data: Any, path: str = "", *, nan: bool = True) -> list[str]:
    """Paths of infinite floats (and of NaN, with ``nan``) inside JSON-like ``data`` (dicts, lists, numbers)."""
    if isinstance(data, Mapping):
        return [p for key, item in data.items()
                for p in non_finite_paths(item, f"{path}.{key}" if path else str(key), nan=nan)]
    if isinstance(data, (list, tuple, np.ndarray)):
        return [p for index, item in enumerate(data) for p in non_finite_paths(item, f"{path}[{index}]", nan=nan)]
    if isinstance(data, (float, np.floating)) and (math.isinf(data) or (nan and math.isnan(data))):
        return [path]
    return []
