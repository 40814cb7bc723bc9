"""Seeding, chunking, executors, the Python API and Mesa's batch_run."""

from __future__ import annotations

import contextlib
import faulthandler
import functools
import sys

import mesa
import numpy as np
import pandas as pd
import pytest

import sim
from sim.ensemble.chunks import chunk_rng, plan_chunks, simulate_chunk
from sim.ensemble.executors import ProcessExecutor, SerialExecutor
from sim.ensemble.runner import run_ensemble
from sim.model.params import compile_scenarios
from tests.factory import entry_tie, make_scenario, proxy_tie

KARABAKH = "scenarios/nagorno_karabakh_2020.yaml"


@pytest.fixture(scope="module")
def karabakh() -> sim.Scenario:
    return sim.load_scenario(KARABAKH)


def test_chunks_cover_every_replication_once() -> None:
    chunks = plan_chunks(25_001, seed=3, chunk_size=10_000)
    assert [c.replications for c in chunks] == [10_000, 10_000, 5_001]
    assert [c.first for c in chunks] == [0, 10_000, 20_000]
    assert [c.index for c in chunks] == [0, 1, 2]


def test_a_chunk_stream_depends_on_seed_and_index_only() -> None:
    assert np.array_equal(chunk_rng(5, 2).random(4), chunk_rng(5, 2).random(4))
    assert not np.array_equal(chunk_rng(5, 2).random(4), chunk_rng(5, 3).random(4))
    assert not np.array_equal(chunk_rng(5, 2).random(4), chunk_rng(6, 2).random(4))


def test_same_seed_same_results_whatever_the_workers(karabakh: sim.Scenario) -> None:
    one = run_ensemble(karabakh, runs=3_000, seed=11, workers=1, chunk_size=500, progress=False)
    two = run_ensemble(karabakh, runs=3_000, seed=11, workers=2, chunk_size=500, progress=False)
    assert one.summary == two.summary
    pd.testing.assert_frame_equal(one.runs, two.runs)
    pd.testing.assert_frame_equal(one.truces, two.truces)
    other = run_ensemble(karabakh, runs=3_000, seed=12, workers=1, chunk_size=500, progress=False)
    assert other.summary != one.summary


def test_chunk_order_does_not_change_the_summary(karabakh: sim.Scenario) -> None:
    """Chunks arriving in reverse order (as a busy cluster may return them) give the same summary."""

    class Reversed(SerialExecutor):
        def map(self, params, chunks, notify=None):
            yield from super().map(params, list(chunks)[::-1], notify)

    forward = run_ensemble(karabakh, runs=2_000, seed=4, chunk_size=300, workers=1, progress=False)
    backward = run_ensemble(karabakh, runs=2_000, seed=4, chunk_size=300, executor=Reversed(), progress=False)
    assert forward.summary == backward.summary


def test_process_executor_yields_every_chunk(karabakh: sim.Scenario) -> None:
    params = compile_scenarios([karabakh])
    chunks = plan_chunks(1_000, seed=2, chunk_size=200)
    results = list(ProcessExecutor(2).map(params, chunks))
    assert sorted(r.chunk.index for r in results) == [0, 1, 2, 3, 4]
    serial = simulate_chunk(params, chunks[3])
    parallel = next(r for r in results if r.chunk.index == 3)
    for name, values in serial.runs.items():
        assert np.array_equal(values, parallel.runs[name]), name


@pytest.mark.parametrize("method", ["forkserver", "spawn"])
def test_process_executor_works_with_workers_started_afresh(karabakh, monkeypatch, method: str) -> None:
    """fork is used only in a process with one thread (otherwise forkserver, and spawn off Linux)."""
    import multiprocessing

    import sim.ensemble.executors as executors

    monkeypatch.setattr(executors, "_context", lambda: multiprocessing.get_context(method))
    params = compile_scenarios([karabakh])
    chunks = plan_chunks(400, seed=2, chunk_size=200)
    with _no_hang():
        results = sorted(ProcessExecutor(2).map(params, chunks), key=lambda r: r.chunk.index)
    for chunk, result in zip(chunks, results, strict=True):
        expected = simulate_chunk(params, chunk).runs
        assert all(np.array_equal(expected[name], result.runs[name]) for name in expected)


def test_api_returns_tables_and_summary_with_intervals(karabakh: sim.Scenario) -> None:
    result = sim.run_ensemble(karabakh, runs=1_000, seed=1, workers=1, progress=False)
    assert len(result.runs) == 1_000 and result.runs["run"].tolist() == list(range(1_000))
    estimate = result.summary["p_regional_escalation"]
    assert estimate["ci_low"] <= estimate["estimate"] <= estimate["ci_high"]
    assert estimate["runs"] == 1_000
    assert estimate["count"] == int(result.runs["regional_escalation"].sum())
    shares = sum(o["estimate"] for o in result.summary["outcomes"].values())
    assert shares == pytest.approx(1.0)
    assert set(result.truces.columns) >= {"run", "start_day", "days", "broken", "broker", "design"}


def test_a_single_run_is_a_model_of_one_lane(karabakh: sim.Scenario) -> None:
    model = sim.EscalationModel(karabakh, replications=1, rng=42)
    while model.running:
        model.step()
    series = model.datacollector.get_model_vars_dataframe()
    assert len(series) == model.day
    assert series['regional_escalation'].iloc[-1] == float(model.escalation_day[0, 0] >= 0)
    assert set(series.columns) >= {"at_war", "regional_escalation", "casualties_armenia"}
    assert model.results()["outcome"].shape == (1,)
    assert len(model.agents) == len(karabakh.actors)  # one agent per actor, whatever it can do


def test_same_seed_same_single_run(karabakh: sim.Scenario) -> None:
    def play(seed):
        model = sim.EscalationModel(karabakh, replications=50, rng=seed, record_series=False)
        model.run()
        return model.results()

    first, again = play(9), play(9)
    for name in first:
        assert np.array_equal(first[name], again[name])


def test_the_model_runs_under_mesa_batch_run(karabakh: sim.Scenario) -> None:
    results = mesa.batch_run(sim.EscalationModel, parameters={"scenario": [karabakh], "replications": 1},
                             iterations=3, max_steps=200, number_processes=1, display_progress=False)
    assert len(results) == 3
    assert {"RunId", "Step", "at_war", "regional_escalation"} <= set(results[0])
    assert all(0.0 <= r["regional_escalation"] <= 1.0 for r in results)


def test_the_model_takes_a_path_too() -> None:
    model = sim.EscalationModel(KARABAKH, replications=3, rng=1)
    model.run()
    assert not model.running


def test_sweep_points_share_random_numbers() -> None:
    """Lanes of two identical points see the same random numbers: identical records."""
    scenario = make_scenario(horizon=20, b={"deep_strike_propensity": 0.5},
                             backers={"patron": {"escalation_rate": 0.1}}, ties=[proxy_tie(), entry_tie()])
    params = compile_scenarios([scenario, scenario])
    model = sim.EscalationModel(params, replications=500, rng=3, record_series=False)
    model.run()
    records = model.results()
    for name, values in records.items():
        if name not in ("point",):
            assert np.array_equal(values[:500], values[500:]), name


def _dies_once(marker, params, chunk):
    """Kill the worker the first time chunk 1 runs (a marker file remembers), then behave."""
    import os

    if chunk.index == 1 and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return simulate_chunk(params, chunk)


def test_a_dead_worker_is_reported_and_its_chunk_retried(karabakh, monkeypatch, tmp_path) -> None:
    import sim.ensemble.executors as executors

    monkeypatch.setattr(executors, "simulate_chunk", functools.partial(_dies_once, str(tmp_path / "died")))
    params = compile_scenarios([karabakh])
    chunks = plan_chunks(900, seed=2, chunk_size=300)
    notes: list[str] = []
    results = list(ProcessExecutor(2).map(params, chunks, notify=notes.append))
    assert sorted(r.chunk.index for r in results) == [0, 1, 2]
    assert any("died" in note and "1" in note for note in notes)
    expected = simulate_chunk(params, chunks[1]).runs
    retried = next(r for r in results if r.chunk.index == 1).runs
    assert all(np.array_equal(expected[name], retried[name]) for name in expected)


def _always_dies(params, chunk):
    import os

    os._exit(1)


def test_a_chunk_that_kills_its_worker_twice_stops_the_run(karabakh, monkeypatch) -> None:
    import sim.ensemble.executors as executors

    monkeypatch.setattr(executors, "simulate_chunk", _always_dies)
    params = compile_scenarios([karabakh])
    with pytest.raises(executors.WorkerDiedError, match="died twice"):
        list(ProcessExecutor(2).map(params, plan_chunks(200, seed=2, chunk_size=100)))


@contextlib.contextmanager
def _no_hang(seconds: float = 90.0):
    """Fail rather than wait for ever on a run that hangs: pytest ends with exit status 1 (a stuck
    pool cannot be abandoned from inside the process that waits on it)."""
    faulthandler.dump_traceback_later(seconds, exit=True, file=sys.__stderr__)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


def _chunk_one_kills_its_worker(saved: str, params, chunk):
    """Chunk 1 kills its worker, each time, once chunk 0 is saved (so that a finished chunk is there to keep)."""
    import os
    import time

    if chunk.index == 1:
        deadline = time.monotonic() + 60
        while not os.path.exists(saved) and time.monotonic() < deadline:
            time.sleep(0.05)
        os._exit(1)
    return simulate_chunk(params, chunk)


def test_a_run_stopped_by_a_chunk_that_kills_its_workers_says_so_and_resumes_identically(monkeypatch, tmp_path,
                                                                                        capsys) -> None:
    import sim.ensemble.executors as executors
    from sim.cli import main

    run = ["run", KARABAKH, "--runs", "3000", "--chunk-size", "1000", "--seed", "5", "--workers", "2",
           "--no-progress", "--no-figures"]
    assert main([*run, "--out", str(tmp_path / "direct")]) == 0
    saved = tmp_path / "stopped.partial" / "chunks" / "chunk-000000.npz"
    monkeypatch.setattr(executors, "simulate_chunk", functools.partial(_chunk_one_kills_its_worker, str(saved)))
    with _no_hang():
        assert main([*run, "--out", str(tmp_path / "stopped")]) == 1
    err = capsys.readouterr().err
    partial = tmp_path / "stopped.partial"
    assert "died twice while running chunk 1" in err and f"escalation run --resume {partial}" in err
    assert "Traceback" not in err and (partial / "chunks" / "chunk-000000.npz").exists()
    monkeypatch.undo()
    with _no_hang():
        assert main(["run", "--resume", str(partial), "--no-progress", "--no-figures"]) == 0
    assert (tmp_path / "stopped" / "summary.json").read_bytes() == (tmp_path / "direct" / "summary.json").read_bytes()


def _ran_alone(request: pytest.FixtureRequest) -> bool:
    """Run this test again in a fresh interpreter if this one has other threads (a Dask test's, say): the
    executor then starts its workers by forkserver, which a patch of this process cannot reach. True when
    it ran there (and passed); False when the test should run here."""
    import os
    import subprocess
    import threading

    if threading.active_count() == 1 or os.environ.get("ESCALATION_TEST_ALONE"):
        return False
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", request.node.nodeid],
                          env={**os.environ, "ESCALATION_TEST_ALONE": "1"}, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    return True


def _dies_half_way_through_its_result(marker: str, main: int):
    """A ``Connection._send`` that, in a worker, sends half of the first large message (a chunk's
    result) and then kills the worker outright, as ``kill -9`` would at that moment."""
    import multiprocessing.connection
    import os
    import signal

    send = multiprocessing.connection.Connection._send

    def half(self, buffer, *args, **kwargs):
        if os.getpid() != main and len(buffer) > 50_000 and not os.path.exists(marker):
            open(marker, "w").close()
            os.write(self._handle, memoryview(buffer)[: len(buffer) // 2])
            os.kill(os.getpid(), signal.SIGKILL)
        return send(self, buffer, *args, **kwargs)

    return half


def test_a_worker_killed_half_way_through_sending_its_result_is_noticed(karabakh, monkeypatch, tmp_path,
                                                                        request) -> None:
    """The hang of issue 19: the main process must not wait for the rest of a message that will never come."""
    import multiprocessing.connection
    import os

    if _ran_alone(request):   # the patched send must be inherited by forked workers
        return

    marker = tmp_path / "died"
    monkeypatch.setattr(multiprocessing.connection.Connection, "_send",
                        _dies_half_way_through_its_result(str(marker), os.getpid()))
    params = compile_scenarios([karabakh])
    chunks = plan_chunks(3_000, seed=2, chunk_size=1_000)
    notes: list[str] = []
    with _no_hang():
        results = list(ProcessExecutor(2).map(params, chunks, notify=notes.append))
    assert marker.exists() and any("died" in note for note in notes)
    assert sorted(r.chunk.index for r in results) == [0, 1, 2]
    for chunk in chunks:
        expected = simulate_chunk(params, chunk).runs
        got = next(r for r in results if r.chunk.index == chunk.index).runs
        assert all(np.array_equal(expected[name], got[name]) for name in expected)


def _dies_starting_once(marker: str, parent) -> None:
    import os

    if not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)


def test_a_worker_that_dies_while_starting_loses_no_chunk(karabakh, monkeypatch, tmp_path, request) -> None:
    """A worker can die before it has read any chunk: the chunks sent to it are run by another."""
    import sim.ensemble.executors as executors

    if _ran_alone(request):   # the patched start must be inherited by forked workers
        return

    monkeypatch.setattr(executors, "_start_worker", functools.partial(_dies_starting_once, str(tmp_path / "died")))
    params = compile_scenarios([karabakh])
    chunks = plan_chunks(500, seed=2, chunk_size=100)
    notes: list[str] = []
    with _no_hang():
        results = list(ProcessExecutor(2).map(params, chunks, notify=notes.append))
    assert (tmp_path / "died").exists() and any("died" in note for note in notes)
    assert sorted(r.chunk.index for r in results) == [0, 1, 2, 3, 4]


def _raises(params, chunk):
    raise ValueError(f"chunk {chunk.index} is bad")


def _raises_together(params, group):
    return [_raises(params, chunk) for chunk in group]


def test_an_error_in_a_worker_is_raised_in_the_main_process_and_the_workers_end(karabakh, monkeypatch) -> None:
    import sim.ensemble.executors as executors

    psutil = pytest.importorskip("psutil")
    before = set(psutil.Process().children())
    monkeypatch.setattr(executors, "simulate_chunk", _raises)
    monkeypatch.setattr(executors, "simulate_chunks", _raises_together)
    params = compile_scenarios([karabakh])
    with _no_hang(), pytest.raises(ValueError, match=r"chunk \d is bad") as caught:
        list(ProcessExecutor(2).map(params, plan_chunks(400, seed=2, chunk_size=100)))
    assert "_raises" in str(caught.value.__cause__)  # where in the worker it was raised
    left = [" ".join(child.cmdline()) for child in set(psutil.Process().children()) - before]
    assert not left


def test_an_executor_that_finishes_short_stops_the_run(karabakh) -> None:
    """A summary of fewer runs than asked would look valid: stream_chunks refuses to end short."""
    import sim.ensemble.executors as executors
    from sim.ensemble.runner import stream_chunks

    class DropsTheLastChunk:
        def map(self, params, chunks, notify=None):
            return (simulate_chunk(params, chunk) for chunk in list(chunks)[:-1])

    params = compile_scenarios([karabakh])
    chunks = plan_chunks(300, seed=2, chunk_size=100)
    with pytest.raises(executors.WorkerDiedError, match=r"without chunk\(s\) 2"):
        list(stream_chunks(params, chunks, executor=DropsTheLastChunk(), progress=False))
