"""The Dask executor on real local clusters: the same seed gives the same tables as a serial run."""

from __future__ import annotations

import functools
import logging
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.ensemble.chunks import Chunk, ChunkResult, plan_chunks, simulate_chunk
from sim.ensemble.dask_executor import LOCAL_HTTP, DaskExecutor  # needs no dask until it runs
from sim.ensemble.executors import WorkerDiedError
from sim.ensemble.runner import EnsembleResult, run_ensemble
from sim.model.params import Parameters, compile_scenarios
from sim.scenario.errors import UserError

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")

KARABAKH = "scenarios/nagorno_karabakh_2020.yaml"
RUNS, SEED, CHUNK_SIZE = 4_000, 11, 500  # eight chunks: more than the four kept in flight on two workers


@pytest.fixture(scope="module")
def karabakh() -> sim.Scenario:
    return sim.load_scenario(KARABAKH)


@pytest.fixture(scope="module")
def serial(karabakh: sim.Scenario) -> EnsembleResult:
    return run_ensemble(karabakh, runs=RUNS, seed=SEED, chunk_size=CHUNK_SIZE, workers=1, progress=False)


@pytest.fixture(scope="module")
def cluster() -> Iterator[distributed.LocalCluster]:
    """A two-worker cluster for the tests that connect by address; a lost worker fails its task at once."""
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        local = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                         silence_logs=logging.ERROR, **LOCAL_HTTP)
    try:
        yield local
    finally:
        local.close()


def assert_same(result: EnsembleResult, expected: EnsembleResult) -> None:
    assert result.summary == expected.summary
    pd.testing.assert_frame_equal(result.runs, expected.runs)
    pd.testing.assert_frame_equal(result.truces, expected.truces)


def crash_on(index: int, marker: str | None, params: Parameters, chunk: Chunk) -> ChunkResult:
    """Kill the worker running chunk ``index`` (once if ``marker`` names a file to leave behind)."""
    if chunk.index == index and (marker is None or not Path(marker).exists()):
        if marker is not None:
            Path(marker).touch()
        os._exit(1)
    return simulate_chunk(params, chunk)


def test_a_local_cluster_gives_the_serial_tables(karabakh: sim.Scenario, serial: EnsembleResult) -> None:
    before = set(multiprocessing.active_children())
    executor = DaskExecutor(workers=2)
    assert (executor.name, executor.workers) == ("dask", 2)
    result = run_ensemble(karabakh, runs=RUNS, seed=SEED, chunk_size=CHUNK_SIZE, executor=executor, progress=False)
    assert_same(result, serial)
    assert set(multiprocessing.active_children()) <= before  # the cluster it started is gone


def test_a_running_cluster_gives_the_serial_tables(karabakh: sim.Scenario, serial: EnsembleResult,
                                                    cluster: distributed.LocalCluster) -> None:
    executor = DaskExecutor(scheduler=cluster.scheduler_address)
    result = run_ensemble(karabakh, runs=RUNS, seed=SEED, chunk_size=CHUNK_SIZE, executor=executor, progress=False)
    assert_same(result, serial)
    assert executor.workers == 2
    assert len(cluster.scheduler.workers) == 2  # left running
    assert not cluster.scheduler.tasks  # nothing left behind: chunks and the scattered parameters released


def test_an_abandoned_map_disconnects(karabakh: sim.Scenario, cluster: distributed.LocalCluster) -> None:
    clients = set(cluster.scheduler.clients)
    results = DaskExecutor(scheduler=cluster.scheduler_address).map(
        compile_scenarios([karabakh]), plan_chunks(RUNS, SEED, CHUNK_SIZE))
    next(results)
    assert len(cluster.scheduler.clients) == len(clients) + 1
    results.close()
    deadline = time.monotonic() + 5
    while set(cluster.scheduler.clients) != clients and time.monotonic() < deadline:
        time.sleep(0.05)
    assert set(cluster.scheduler.clients) == clients
    assert len(cluster.scheduler.workers) == 2


def test_a_lost_worker_is_retried_once(karabakh: sim.Scenario, cluster: distributed.LocalCluster,
                                       tmp_path: Path) -> None:
    params = compile_scenarios([karabakh])
    chunks = plan_chunks(2_000, SEED, CHUNK_SIZE)
    executor = DaskExecutor(scheduler=cluster.scheduler_address)
    executor.task = functools.partial(crash_on, 1, str(tmp_path / "crashed"))
    notes: list[str] = []
    results = sorted(executor.map(params, chunks, notify=notes.append), key=lambda r: r.chunk.index)
    assert [r.chunk for r in results] == chunks
    for result, chunk in zip(results, chunks, strict=True):
        expected = simulate_chunk(params, chunk)
        for name, column in expected.runs.items():
            assert np.array_equal(result.runs[name], column)
    assert any("retrying chunk(s)" in note and "1" in note for note in notes)


def test_a_worker_lost_twice_on_a_chunk_stops_the_run(karabakh: sim.Scenario,
                                                       cluster: distributed.LocalCluster) -> None:
    executor = DaskExecutor(scheduler=cluster.scheduler_address)
    executor.task = functools.partial(crash_on, 0, None)
    with pytest.raises(WorkerDiedError, match="lost twice"):
        list(executor.map(compile_scenarios([karabakh]), plan_chunks(1_000, SEED, CHUNK_SIZE)))


def test_an_error_in_a_task_propagates(karabakh: sim.Scenario, cluster: distributed.LocalCluster) -> None:
    executor = DaskExecutor(scheduler=cluster.scheduler_address)
    with pytest.raises(AttributeError):  # a bug, not a user error: the worker's exception, unchanged
        list(executor.map(None, plan_chunks(1_000, SEED, CHUNK_SIZE)))


def test_a_closed_port_is_a_user_error_at_once() -> None:
    start = time.monotonic()
    with pytest.raises(UserError, match=r"tcp://127\.0\.0\.1:1\b"):
        next(DaskExecutor(scheduler="tcp://127.0.0.1:1").map(None, []))
    assert time.monotonic() - start < 3


def test_a_silent_scheduler_is_a_user_error_after_the_timeout() -> None:
    with socket.socket() as listener:  # accepts connections but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        address = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
        start = time.monotonic()
        with pytest.raises(UserError, match=address):
            next(DaskExecutor(scheduler=address, connect_timeout=1).map(None, []))
        assert time.monotonic() - start < 5


def test_a_malformed_address_is_a_user_error() -> None:
    with pytest.raises(UserError, match="no-port"):
        next(DaskExecutor(scheduler="no-port").map(None, []))


def test_without_dask_the_user_is_told_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # makes ``import distributed`` fail
    with pytest.raises(UserError, match=r"escalation-sim\[dask\]"):
        next(DaskExecutor(workers=1).map(None, []))


def test_importing_sim_does_not_import_dask() -> None:
    code = ("import sys, sim, sim.ensemble.dask_executor, sim.ensemble.runner; "
            "assert not {'dask', 'distributed'} & set(sys.modules), sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent.parent)


def test_a_sweep_on_dask_writes_the_same_sweep_csv(cluster: distributed.LocalCluster, tmp_path) -> None:
    """Local processes and a Dask cluster give byte-identical sweep.csv for the same seed."""
    from sim.cli import main

    common = ["sweep", "scenarios/nagorno_karabakh_2020.yaml", "--param",
              "actors.turkey.outside.escalation_rate=0:0.1:3", "--param",
              "commitments.russia_armenia_pact.reliability=0:1:2",
              "--runs", "1000", "--chunk-size", "250", "--seed", "3", "--no-progress", "--no-figures"]
    assert main([*common, "--workers", "2", "--out", str(tmp_path / "local")]) == 0
    assert main([*common, "--executor", "dask", "--scheduler", cluster.scheduler_address,
                 "--out", str(tmp_path / "dask")]) == 0
    assert (tmp_path / "local" / "sweep.csv").read_bytes() == (tmp_path / "dask" / "sweep.csv").read_bytes()
    assert (tmp_path / "local" / "runs.csv").read_bytes() == (tmp_path / "dask" / "runs.csv").read_bytes()


def test_workers_with_another_package_version_are_refused(cluster, karabakh, monkeypatch) -> None:
    import sim.ensemble.dask_executor as dask_executor

    params = compile_scenarios([karabakh])
    chunks = plan_chunks(1_000, seed=SEED, chunk_size=500)
    assert len(list(DaskExecutor(scheduler=cluster.scheduler_address).map(params, chunks))) == 2  # same version
    monkeypatch.setattr(dask_executor, "installed_version", lambda: "0.0.1")  # this client, as if older
    with pytest.raises(UserError, match=r"runs escalation-sim 0\.1\.0.*allowed: workers with escalation-sim 0\.0\.1"):
        list(DaskExecutor(scheduler=cluster.scheduler_address).map(params, chunks))
