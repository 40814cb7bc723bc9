"""Working on a few lanes: most events of a day (a climb, an entry, a strike, a clash) happen in few
lanes, so the mechanisms find those lanes first (``np.nonzero`` of a mask over ``(points,
replications)``) and work out the rest for them only. Values are the same as over all lanes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim.model.model import EscalationModel

Array = np.ndarray
Lanes = tuple[Array, Array]


def find(where: Array) -> Lanes:
    """The lanes where ``where`` (points, replications) holds, in the order ``np.nonzero`` gives them (and the
    same arrays): from the flat indices, several times faster than ``np.nonzero`` on two axes."""
    flat = np.flatnonzero(where)
    return np.divmod(flat, where.shape[-1])


def _flat(lanes: Lanes, shape: tuple[int, ...]) -> Array:
    """The flat indices of ``lanes`` in an array of ``shape`` whose last two axes are points and replications,
    either of them possibly 1 (the same at every point, or per point)."""
    points, replications = lanes
    if shape[-1] == 1:
        return points if shape[-2] > 1 else np.zeros_like(points)
    return replications if shape[-2] == 1 else points * shape[-1] + replications


def gather(value: Array, lanes: Lanes) -> Array:
    """``value[lanes]`` for an array over lanes (points, replications; either possibly 1): ``np.take`` of flat
    indices, several times faster than two index arrays."""
    if value.ndim == 2 and value.flags.c_contiguous:
        return np.take(value.reshape(-1), _flat(lanes, value.shape))
    return value[lanes]


def put(target: Array, lanes: Lanes, value: Array | float) -> None:
    """``target[lanes] = value`` for an array over lanes (points, replications), by flat indices."""
    if target.ndim == 2 and target.flags.c_contiguous and target.shape[-2] * target.shape[-1] > 1:
        target.reshape(-1)[_flat(lanes, target.shape)] = value
    else:
        target[lanes] = value


def put_rows(stack: Array, lanes: Lanes, values: Array | float) -> None:
    """``stack[:, *lanes] = values`` for a stack over rows then lanes, by flat indices."""
    if stack.ndim == 3 and stack.flags.c_contiguous:
        stack.reshape(stack.shape[0], -1)[:, _flat(lanes, stack.shape)] = values
    else:
        stack[:, *lanes] = values


def per_lane(model: EscalationModel, value: Array, lanes: Lanes) -> Array:
    """``value`` (over lanes, or per point, or one number) at ``lanes``; one value (one point) is broadcast,
    not gathered (a read-only view)."""
    value = np.asarray(value)
    if value.size == 1:
        return np.broadcast_to(value.reshape(()), lanes[0].shape)
    if value.ndim == 2 and value.flags.c_contiguous:
        return gather(value, lanes)
    return np.broadcast_to(value, model.lane_shape)[lanes]


def at(stack: Array, index: Array, lanes: Lanes) -> Array:
    """``stack[index, lane]`` for each lane of ``lanes`` (``stack`` over rows then lanes, or per point);
    negative indices read row 0: mask them yourself."""
    points, replications = lanes
    if stack.shape[-1] == 1:
        replications = np.zeros_like(replications)
    return stack[np.maximum(index, 0), points, replications]


def rows_at(stack: Array, rows: Array, lanes: Lanes) -> Array:
    """(len(rows), len(lanes)): ``stack[rows]`` at ``lanes`` (``stack`` over rows then lanes, or per point; with
    one point, a read-only view broadcast over the lanes, not gathered)."""
    points, replications = lanes
    rows = np.asarray(rows)
    if stack.shape[-1] == 1 and stack.shape[-2] == 1:
        return np.broadcast_to(stack[rows, 0], (len(rows), points.size))
    if stack.ndim != 3 or not stack.flags.c_contiguous:
        if stack.shape[-1] == 1:
            replications = np.zeros_like(replications)
        return stack[rows[:, None], points, replications]
    # np.take of flat indices, row by row unless all rows in order: several times faster than three index arrays.
    table, flat = stack.reshape(stack.shape[0], -1), _flat(lanes, stack.shape)
    if rows.size == stack.shape[0] and np.array_equal(rows, np.arange(rows.size)):
        return np.take(table, flat, axis=1)
    result = np.empty((rows.size, flat.size), dtype=stack.dtype)
    for i, row in enumerate(rows.tolist()):
        np.take(table[row], flat, out=result[i])
    return result


def select(lanes: Lanes, keep: Array) -> Lanes:
    """The lanes of ``lanes`` where ``keep`` (one value per lane of ``lanes``) holds."""
    return lanes[0][keep], lanes[1][keep]


def mask(model: EscalationModel, lanes: Lanes) -> Array:
    """(lanes): true at ``lanes``."""
    result = np.zeros(model.lane_shape, dtype=bool)
    result[lanes] = True
    return result


def drawn(draw: Array, lanes: Lanes) -> Array:
    """A day's draw (``(rows, 1, replications)`` or ``(1, replications)``: one per replication, the same at
    every point) at ``lanes``: ``(rows, len(lanes))`` or ``(len(lanes),)``."""
    return np.take(draw[..., 0, :], lanes[1], axis=-1)


def own_camp(camp: Array, per_camp: Array) -> Array:
    """``per_camp[camp of each actor]`` (0 where the actor has no camp): ``camp`` (A, lanes), ``per_camp``
    (camps, lanes)."""
    result = np.zeros(camp.shape, dtype=per_camp.dtype)
    for c in range(per_camp.shape[0]):
        result = np.where(camp == c, per_camp[c], result)
    return result
