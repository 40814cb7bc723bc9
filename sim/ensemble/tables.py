"""Per-replication and per-truce tables (pandas) from chunk arrays, with readable names."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.ensemble.chunks import ChunkArrays
from sim.model.endings import ENDINGS
from sim.model.model import OUTCOMES, REGIONAL
from sim.model.params import DESIGNS, Parameters
from sim.model.truces import TRUCE_KINDS
from sim.scenario.schema import FORMS


def runs_table(params: Parameters, runs: ChunkArrays, *, with_point: bool | None = None) -> pd.DataFrame:
    """One row per replication: outcome, escalation day, winner, how the war ended and who brokered the
    halt standing at the end ("" for the parties or none), war length and size, truces, fronts,
    casualties, rungs, and each outside power's highest form with the day it reached it."""
    with_point = params.points > 1 if with_point is None else with_point
    s = params.structure
    escalated = runs["escalation_day"] >= 0
    winners = np.array(["", *s.camp_ids], dtype=object)
    forms = np.asarray(FORMS, dtype=object)
    columns: dict[str, object] = {}
    if with_point:
        columns["point"] = runs["point"]
    columns["run"] = runs["replication"]
    columns["outcome"] = np.asarray(OUTCOMES, dtype=object)[runs["outcome"]]
    columns["regional_escalation"] = escalated.astype(np.int8)
    columns["escalation_day"] = _optional_day(runs["escalation_day"])
    columns["winner"] = winners[runs["winner"] + 1]
    columns["ended_by"] = np.asarray(ENDINGS, dtype=object)[runs["ended_by"]]
    columns["halt_broker"] = np.array(["", *s.mediator_ids], dtype=object)[runs["halt_broker"].astype(int) + 1]
    for name in ("war_days", "fighting_days", "war_size", "truces_brokered", "truces_broken"):
        columns[name] = runs[name]
    for front_id in s.front_ids:
        columns[f"control_{front_id}"] = np.round(runs[f"control_{front_id}"], 4)
    for actor_id in params.fighters:
        columns[f"casualties_{actor_id}"] = np.round(runs[f"casualties_{actor_id}"]).astype(np.int64)
    for actor_id in params.fighters:
        columns[f"highest_rung_{actor_id}"] = runs[f"highest_rung_{actor_id}"]
    for actor_id in params.outside_ids:
        columns[f"form_{actor_id}"] = forms[runs[f"form_{actor_id}"]]
        columns[f"form_day_{actor_id}"] = _optional_day(runs[f"form_day_{actor_id}"])
        columns[f"combat_day_{actor_id}"] = _optional_day(runs[f"combat_day_{actor_id}"])
    for name in runs:
        if name.startswith("incidents_"):
            columns[name] = runs[name]
    return pd.DataFrame(columns)


def _optional_day(days: np.ndarray) -> pd.arrays.IntegerArray:
    """Day indices with -1 (never) as a missing value."""
    column = pd.array(np.where(days >= 0, days, 0), dtype="Int32")
    column[days < 0] = pd.NA
    return column


def truces_table(params: Parameters, truces: ChunkArrays, *, with_point: bool | None = None) -> pd.DataFrame:
    """One row per truce: replication, start day, days it held, broken or still holding, broker ("" for the
    parties), design, kind (brokered, imposed, unilateral, settlement), and its scope (:func:`truce_scopes`)."""
    with_point = params.points > 1 if with_point is None else with_point
    brokers = np.array(["", *params.structure.mediator_ids], dtype=object)
    columns: dict[str, object] = {}
    if with_point:
        columns["point"] = truces["point"]
    columns["run"] = truces["replication"]
    columns["start_day"] = truces["start_day"]
    columns["days"] = truces["days"]
    columns["broken"] = truces["broken"].astype(np.int8)
    columns["broker"] = brokers[truces["broker"].astype(int) + 1]
    columns["design"] = np.asarray(DESIGNS, dtype=object)[truces["design"].astype(int)]
    columns["kind"] = np.asarray(TRUCE_KINDS, dtype=object)[truces["kind"].astype(int)]
    if "scope" in truces:
        columns["scope"] = np.asarray(truce_scopes(params), dtype=object)[truces["scope"].astype(int)]
    return pd.DataFrame(columns)


def truce_scopes(params: Parameters) -> list[str]:
    """What each truce scope covers, as truces.csv writes it: per scheduled truce, "war" (the whole war), its
    fronts joined by ";" (a local truce) or "strikes" (a truce of deep strikes); last, "war" (scope -1)."""
    structure = params.structure
    names = []
    for fronts, strikes, local in zip(structure.truce_fronts, structure.truce_strikes, structure.truce_local,
                                      strict=True):
        if strikes:
            names.append("strikes")
        elif not local:
            names.append("war")
        else:
            names.append(";".join(f for f, covered in zip(structure.front_ids, fronts, strict=True) if covered))
    return [*names, "war"]


def concatenate(parts: list[ChunkArrays]) -> ChunkArrays:
    """Join chunk arrays (already in chunk order) column by column."""
    if not parts:
        return {}
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


__all__ = ["REGIONAL", "concatenate", "runs_table", "truce_scopes", "truces_table"]
