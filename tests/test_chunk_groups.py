"""Chunks played side by side in one model (``simulate_chunks``): every chunk's records are bit for bit
those of the chunk played alone, for one point, several points and the scenario with the most actors."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.ensemble.chunks import Chunk, groups, plan_chunks, simulate_chunk, simulate_chunks
from sim.ensemble.executors import ProcessExecutor, SerialExecutor
from sim.model.model import EscalationModel
from sim.model.params import compile_scenarios
from sim.scenario.loader import load_variants, load_with_provenance

KARABAKH = "scenarios/nagorno_karabakh_2020.yaml"
TWELVE = "benchmarks/twelve_actors.yaml"


def assert_same(alone: list, together: list) -> None:
    assert [r.chunk for r in alone] == [r.chunk for r in together]
    for a, b in zip(alone, together, strict=True):
        for table in ("runs", "truces"):
            first, second = getattr(a, table), getattr(b, table)
            assert list(first) == list(second)
            for name in first:
                assert first[name].dtype == second[name].dtype, (table, name)
                assert np.array_equal(first[name], second[name]), (a.chunk.index, table, name)


@pytest.mark.parametrize("path", [KARABAKH, TWELVE, "scenarios/july_1914.yaml"])
def test_chunks_together_equal_each_chunk_alone(path: str) -> None:
    params = compile_scenarios([sim.load_scenario(path)])
    plan = plan_chunks(2_600, seed=11, chunk_size=700)      # the last chunk is smaller
    alone = [simulate_chunk(params, chunk) for chunk in plan]
    assert sum(len(r.truces["replication"]) for r in alone) > 0 or path == TWELVE
    assert_same(alone, simulate_chunks(params, plan))


def test_chunks_of_several_points_together_equal_each_alone() -> None:
    loaded = load_with_provenance(KARABAKH)
    scenarios = load_variants(loaded, [[], ["actors.turkey.outside.escalation_rate=0.3"]], origin="test")
    params = compile_scenarios(scenarios)
    plan = plan_chunks(2_000, seed=3, chunk_size=500, points=params.points)
    alone = [simulate_chunk(params, chunk) for chunk in plan]
    assert_same(alone, simulate_chunks(params, plan))
    # the serial executor plays the first chunk alone and groups the rest: the same results, in order
    assert_same(alone, list(SerialExecutor().map(params, plan)))


def test_groups_join_consecutive_chunks_of_the_same_points_up_to_the_lanes() -> None:
    plan = plan_chunks(10_000, seed=1, chunk_size=1_000)
    assert [len(g) for g in groups(plan, lanes=3_000)] == [3, 3, 3, 1]
    assert [len(g) for g in groups(plan)] == [10]
    # a gap (a chunk already on disk when a run resumes) starts a new group
    assert [[c.index for c in g] for g in groups(plan[:2] + plan[3:5])] == [[0, 1], [3, 4]]
    other_points = [Chunk(index=0, first=0, replications=10, seed=1, block=0, point_start=0, point_stop=1),
                    Chunk(index=1, first=10, replications=10, seed=1, block=1, point_start=1, point_stop=2)]
    assert [len(g) for g in groups(other_points)] == [1, 1]
    with pytest.raises(ValueError, match="consecutive"):
        simulate_chunks(compile_scenarios([sim.load_scenario(KARABAKH)]), [plan[0], plan[2]])


def test_blocks_must_match_the_generators() -> None:
    with pytest.raises(ValueError, match="blocks"):
        EscalationModel(KARABAKH, replications=10, rng=[np.random.default_rng(1)], blocks=[5, 5])


def test_worker_processes_play_groups_with_the_results_of_each_chunk_alone() -> None:
    params = compile_scenarios([sim.load_scenario(KARABAKH)])
    plan = plan_chunks(4_000, seed=9, chunk_size=500)       # two groups of four chunks, one per worker
    alone = [simulate_chunk(params, chunk) for chunk in plan]
    together = sorted(ProcessExecutor(2).map(params, plan), key=lambda result: result.chunk.index)
    assert_same(alone, together)
