"""Per-replication and per-truce tables (pandas) from chunk arrays, with readable names."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.ensemble.chunks import ChunkArrays
from sim.model.model import OUTCOMES, REGIONAL
from sim.model.params import DESIGNS, Parameters


def runs_table(params: Parameters, runs: ChunkArrays, *, with_point: bool | None = None) -> pd.DataFrame:
    """One row per replication: outcome, escalation day, winner, war length, truces, casualties, rungs."""
    with_point = params.points > 1 if with_point is None else with_point
    first, second = params.belligerent_ids
    escalated = runs["escalation_day"] >= 0
    winners = np.array(["", *params.belligerent_ids], dtype=object)
    columns: dict[str, object] = {}
    if with_point:
        columns["point"] = runs["point"]
    columns["run"] = runs["replication"]
    columns["outcome"] = np.asarray(OUTCOMES, dtype=object)[runs["outcome"]]
    columns["regional_escalation"] = escalated.astype(np.int8)
    columns["escalation_day"] = pd.array(np.where(escalated, runs["escalation_day"], 0), dtype="Int32")
    columns["escalation_day"][~escalated] = pd.NA
    columns["winner"] = winners[runs["winner"] + 1]
    for name in ("war_days", "fighting_days", "truces_brokered", "truces_broken"):
        columns[name] = runs[name]
    columns[f"territory_{first}"] = np.round(runs["territory"], 4)
    columns[f"territory_{second}"] = np.round(1.0 - runs["territory"], 4)
    for actor_id in params.belligerent_ids:
        columns[f"casualties_{actor_id}"] = np.round(runs[f"casualties_{actor_id}"]).astype(np.int64)
    for actor_id in params.actor_ids:
        columns[f"highest_rung_{actor_id}"] = runs[f"highest_rung_{actor_id}"]
    for actor_id in params.backer_ids:
        columns[f"incidents_{actor_id}"] = runs[f"incidents_{actor_id}"]
    return pd.DataFrame(columns)


def truces_table(params: Parameters, truces: ChunkArrays, *, with_point: bool | None = None) -> pd.DataFrame:
    """One row per truce: replication, start day, days it held, broken or still holding, broker, design."""
    with_point = params.points > 1 if with_point is None else with_point
    brokers = np.array(["", *params.mediator_ids], dtype=object)
    columns: dict[str, object] = {}
    if with_point:
        columns["point"] = truces["point"]
    columns["run"] = truces["replication"]
    columns["start_day"] = truces["start_day"]
    columns["days"] = truces["days"]
    columns["broken"] = truces["broken"].astype(np.int8)
    columns["broker"] = brokers[truces["broker"].astype(int) + 1]
    columns["design"] = np.asarray(DESIGNS, dtype=object)[truces["design"].astype(int)]
    return pd.DataFrame(columns)


def concatenate(parts: list[ChunkArrays]) -> ChunkArrays:
    """Join chunk arrays (already in chunk order) column by column."""
    if not parts:
        return {}
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


__all__ = ["REGIONAL", "concatenate", "runs_table", "truces_table"]
