"""Values the schema would quietly convert: ``true`` for a number, ``3.0`` for a whole number, ``0`` for a date.

pydantic's lax mode reads ``horizon_days: true`` as 1, ``horizon_days: 3.0`` as 3 and
``start_date: 0`` as 1970-01-01, so the user's slip surfaces later, if at all, as an error about
something else (a truce outside the horizon). :func:`inexact_values` walks the data alongside the
schema's field types, whatever the models are, and names each such value with what the field allows.
"""

from __future__ import annotations

import datetime as dt
import math
import types
import typing
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

PathKey = tuple[Any, ...]


def _leaf_types(annotation: Any) -> set[Any]:
    """The plain types a field accepts (``int``, ``float``, ``bool``, ``dt.date``...), through Annotated/Optional."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _leaf_types(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_leaf_types(argument) for argument in typing.get_args(annotation)))
    if origin is typing.Literal:
        return {type(value) for value in typing.get_args(annotation)}
    if isinstance(annotation, type):
        return {annotation}
    return set()


def _inner(annotation: Any) -> Any:
    """``X`` of ``Annotated[X, ...]``."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _walk(annotation: Any, value: Any, path: PathKey) -> Iterator[tuple[PathKey, str]]:
    annotation = _inner(annotation)
    origin = typing.get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if isinstance(value, dict):
            for name, field in annotation.model_fields.items():
                key = field.alias or name
                if key in value:
                    yield from _walk(field.annotation, value[key], (*path, key))
        return
    if origin in (typing.Union, types.UnionType):
        for argument in typing.get_args(annotation):
            if isinstance(_inner(argument), type) and issubclass(_inner(argument), BaseModel) \
                    and isinstance(value, dict):
                yield from _walk(argument, value, path)
                return
        yield from _leaf(_leaf_types(annotation), value, path)
        return
    if origin in (list, tuple, set, frozenset) and isinstance(value, list):
        arguments = typing.get_args(annotation)
        if arguments:
            for index, item in enumerate(value):
                yield from _walk(arguments[0], item, (*path, index))
        return
    if origin is dict and isinstance(value, dict):
        arguments = typing.get_args(annotation)
        if len(arguments) == 2:
            for key, item in value.items():
                yield from _walk(arguments[1], item, (*path, key))
        return
    yield from _leaf(_leaf_types(annotation), value, path)


def _leaf(accepted: set[Any], value: Any, path: PathKey) -> Iterator[tuple[PathKey, str]]:
    numbers = accepted & {int, float}
    if isinstance(value, bool):
        if numbers and bool not in accepted:
            kind = "a whole number" if float not in accepted else "a number"
            yield path, f"found {str(value).lower()}; allowed: {kind}, not true/false"
        return
    if isinstance(value, float) and int in accepted and float not in accepted:
        shown = repr(value)
        advice = f" (write {int(value)})" if value.is_integer() else ""
        yield path, f"found {shown}; allowed: a whole number{advice}"
        return
    if isinstance(value, (int, float)) and dt.date in accepted and not numbers:
        yield path, f"found {value!r}; allowed: a date written YYYY-MM-DD (a number is not read as a date)"


def inexact_values(model: type[BaseModel], data: Any) -> list[tuple[PathKey, str]]:
    """Every value in ``data`` that ``model`` would accept only by converting its type, with a message."""
    return list(_walk(model, data, ()))


def non_finite_values(data: Any, path: PathKey = ()) -> list[tuple[PathKey, str]]:
    """Every NaN or infinity in ``data``: no field of a scenario means anything by them (a range of
    ``[-.inf, .inf]`` included), and they would end up in the manifest, which is strict JSON."""
    if isinstance(data, dict):
        return [found for key, value in data.items() for found in non_finite_values(value, (*path, key))]
    if isinstance(data, list):
        return [found for index, value in enumerate(data) for found in non_finite_values(value, (*path, index))]
    if isinstance(data, float) and not math.isfinite(data):
        return [(path, f"found {data!r}; allowed: a finite number")]
    return []
