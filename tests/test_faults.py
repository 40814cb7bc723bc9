"""Real faults against the real command line in a subprocess: killed workers, a killed main process, Ctrl-C.

Each test starts ``escalation`` as a user would (its own session, so signals reach only it) and
checks that the run either finishes with the same results as an undisturbed run or stops with a
clear message, and that no process outlives the command.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

psutil = pytest.importorskip("psutil")

KARABAKH = "scenarios/nagorno_karabakh_2020.yaml"
ROOT = Path(__file__).resolve().parent.parent
CONSOLE = Path(sys.executable).with_name("escalation")


def _start(args: list[str], console: bool = False) -> subprocess.Popen:
    command = [str(CONSOLE)] if console else [sys.executable, "-X", "faulthandler", "-m", "sim"]
    return subprocess.Popen([*command, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _workers(process: subprocess.Popen, count: int, limit: float = 60.0) -> list:
    """The pool's worker processes (not multiprocessing's resource tracker), once ``count`` exist."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            found = [child for child in psutil.Process(process.pid).children()
                     if "resource_tracker" not in " ".join(child.cmdline())]
        except psutil.NoSuchProcess:
            found = []
        if len(found) >= count:
            return found
        if process.poll() is not None:
            pytest.fail(f"the run ended before its workers started: {process.communicate()}")
        time.sleep(0.02)
    pytest.fail("no worker processes appeared")


def _wait_for_chunk(partial: Path, process: subprocess.Popen, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and not list((partial / "chunks").glob("chunk-*.npz")):
        if process.poll() is not None:
            pytest.fail(f"the run ended too soon: {process.communicate()}")
        time.sleep(0.02)


def _finish(process: subprocess.Popen, limit: float = 120.0) -> tuple[str, str]:
    try:
        return process.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGABRT)  # faulthandler prints where every thread is stuck
        time.sleep(1.0)
        os.killpg(process.pid, signal.SIGKILL)
        _, err = process.communicate()
        pytest.fail(f"the command hung for {limit:.0f} s:\n{err[-6000:]}")


RUN = ["run", KARABAKH, "--runs", "100000", "--chunk-size", "2000", "--seed", "21", "--no-progress", "--no-figures"]


@pytest.fixture(scope="module")
def undisturbed(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("faults") / "undisturbed"
    done = subprocess.run([sys.executable, "-m", "sim", *RUN, "--workers", "2", "--out", str(folder)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return folder


@pytest.mark.parametrize("moment", ["first chunk", "at once"])
def test_a_worker_killed_outright_is_retried_and_the_results_are_unchanged(tmp_path: Path, undisturbed: Path,
                                                                             moment: str) -> None:
    folder = tmp_path / "killed_worker"
    process = _start([*RUN, "--workers", "2", "--out", str(folder)])
    workers = _workers(process, 2)
    if moment == "first chunk":
        _wait_for_chunk(tmp_path / "killed_worker.partial", process)
    os.kill(workers[0].pid, signal.SIGKILL)
    _, err = _finish(process)
    if process.returncode == 1:  # the same chunk lost twice: a clear stop, then an identical resume
        assert "died twice" in err and "--resume" in err and "Traceback" not in err
        resumed = subprocess.run([sys.executable, "-m", "sim", "run", "--resume", f"{folder}.partial",
                                  "--no-progress", "--no-figures"], cwd=ROOT, capture_output=True, text=True,
                                 timeout=300)
        assert resumed.returncode == 0, resumed.stderr
    else:
        assert process.returncode == 0, err
        assert "Traceback" not in err
    assert (folder / "summary.json").read_bytes() == (undisturbed / "summary.json").read_bytes()
    assert (folder / "runs.csv").read_bytes() == (undisturbed / "runs.csv").read_bytes()
    assert not any(worker.is_running() and worker.status() != psutil.STATUS_ZOMBIE for worker in workers)


def test_killing_the_main_process_kills_its_workers(tmp_path: Path) -> None:
    process = _start([*RUN, "--workers", "2", "--out", str(tmp_path / "orphans")])
    workers = _workers(process, 2)
    os.kill(process.pid, signal.SIGKILL)  # the main process only, as the OOM killer would
    process.communicate(timeout=60)
    _, alive = psutil.wait_procs(workers, timeout=20)
    for worker in alive:
        worker.kill()
    assert not alive, f"workers outlived the main process: {[w.pid for w in alive]}"


def _wait_for_numpy(process: subprocess.Popen, limit: float = 60.0) -> None:
    """Until the command is loading numpy: past the interpreter's own start, in the program's imports."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            if any("numpy" in region.path for region in psutil.Process(process.pid).memory_maps()):
                return
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
        if process.poll() is not None:
            pytest.fail(f"the command ended too soon: {process.communicate()}")
        time.sleep(0.005)
    pytest.fail("the command never loaded numpy")


@pytest.mark.skipif(not CONSOLE.exists(), reason="the escalation console script is not installed")
@pytest.mark.parametrize("delay", [0.0, 0.1, 0.4, 1.0, 2.0])
def test_ctrl_c_at_any_moment_of_startup_is_a_clean_stop(tmp_path: Path, delay: float) -> None:
    """Ctrl-C while the program imports, plans or forks its workers (a signal during the interpreter's
    own start, before any of the program's code runs, is Python's to handle, and not tested here)."""
    process = _start([*RUN, "--workers", "2", "--out", str(tmp_path / "early")], console=True)
    _wait_for_numpy(process)
    time.sleep(delay)
    children = psutil.Process(process.pid).children(recursive=True)
    os.killpg(process.pid, signal.SIGINT)
    _, err = _finish(process, 60)
    assert "Traceback" not in err, err
    assert process.returncode in (0, 130), err  # 0: the run was over before the signal came
    if process.returncode == 130:
        assert "interrupted" in err
    _, alive = psutil.wait_procs(children, timeout=20)
    assert not alive


# ---- kill -9 of a worker at random moments (issue 19) ----------------------------------------------

SMALL = ["run", KARABAKH, "--runs", "20000", "--chunk-size", "1000", "--seed", "21", "--workers", "2",
         "--no-progress", "--no-figures"]
SMALL_CHUNKS = 20
MOMENTS = ("start-up", "between chunks", "any moment", "last chunk")


@pytest.fixture(scope="module")
def undisturbed_small(tmp_path_factory) -> tuple[Path, float]:
    """The small run undisturbed, and how long it took."""
    folder = tmp_path_factory.mktemp("kills") / "undisturbed"
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "sim", *SMALL, "--out", str(folder)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return folder, time.monotonic() - started


def _pool(process: subprocess.Popen) -> list:
    try:
        return [child for child in psutil.Process(process.pid).children()
                if "resource_tracker" not in " ".join(child.cmdline())]
    except psutil.NoSuchProcess:
        return []


def _saved(partial: Path) -> int:
    return len(list((partial / "chunks").glob("chunk-*[0-9].npz")))


def _kill_a_worker(process: subprocess.Popen, partial: Path, moment: str, rng, seconds: float) -> tuple[int, list]:
    """SIGKILL one worker, chosen at random, at ``moment``: as soon as one exists (start-up), just after
    the main process saved a chunk drawn at random (between chunks), after a delay drawn uniformly
    over an undisturbed run (any moment), or once all chunks but the last are saved (the last chunk).
    Returns the pid killed (0: the run ended first) and every worker seen."""
    started = time.monotonic()
    after = rng.randint(1, SMALL_CHUNKS - 2)
    delay = rng.uniform(0.0, seconds)
    seen: dict[int, object] = {}
    while process.poll() is None and time.monotonic() - started < 120:
        workers = _pool(process)
        seen.update((worker.pid, worker) for worker in workers)
        due = {"start-up": True, "between chunks": _saved(partial) >= after,
               "any moment": time.monotonic() - started >= delay,
               "last chunk": _saved(partial) >= SMALL_CHUNKS - 1}[moment]
        if due and workers:
            victim = rng.choice(workers)
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim.pid, signal.SIGKILL)
                return victim.pid, list(seen.values())
        time.sleep(0.002 if moment == "start-up" else 0.005)
    return 0, list(seen.values())


def _kill_trial(folder: Path, undisturbed: Path, seconds: float, moment: str, rng,
                limit: float = 60.0) -> tuple[str, bool]:
    """One run with one worker killed; its outcome (``identical``, ``stopped`` with the message, or
    what went wrong) and whether a worker was killed at all."""
    process = _start([*SMALL, "--out", str(folder)])
    killed, workers = _kill_a_worker(process, folder.with_name(folder.name + ".partial"), moment, rng, seconds)
    try:
        _, err = process.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGABRT)  # faulthandler prints where every thread is stuck
        time.sleep(1.0)
        os.killpg(process.pid, signal.SIGKILL)
        _, err = process.communicate()
        return f"hang ({moment}, no exit within {limit:.0f} s):\n{err[-4000:]}", bool(killed)
    _, alive = psutil.wait_procs(workers, timeout=10)
    if alive:
        return f"workers outlived the run ({moment}): {[w.pid for w in alive]}", bool(killed)
    if "Traceback" in err:
        return f"a traceback ({moment}):\n{err[-4000:]}", bool(killed)
    if process.returncode == 1 and "died twice" in err and "--resume" in err:
        return "stopped", bool(killed)
    if process.returncode != 0:
        return f"exit {process.returncode} ({moment}):\n{err[-2000:]}", bool(killed)
    same = all((folder / name).read_bytes() == (undisturbed / name).read_bytes()
               for name in ("summary.json", "runs.csv"))
    return ("identical" if same else f"different results ({moment})"), bool(killed)


def _kill_trials(tmp_path: Path, undisturbed_small: tuple[Path, float], moments: list[str], seed: int,
                 kills_wanted: int) -> dict:
    """Runs with a worker killed at each of ``moments`` in turn (round and round) until ``kills_wanted``
    workers were killed (a run can end before its moment comes), at most twice as many runs."""
    undisturbed, seconds = undisturbed_small
    rng = random.Random(seed)
    outcomes: dict[str, int] = {"kills": 0}
    wrong: list[str] = []
    trial = 0
    while outcomes["kills"] < kills_wanted and trial < 2 * kills_wanted:
        moment = moments[trial % len(moments)]
        outcome, killed = _kill_trial(tmp_path / f"trial{trial}", undisturbed, seconds, moment, rng)
        kind = outcome if outcome in ("identical", "stopped") else outcome.split(" ", 1)[0]
        outcomes[kind] = outcomes.get(kind, 0) + 1
        outcomes["kills"] += killed
        if not killed:
            outcomes[f"no kill ({moment})"] = outcomes.get(f"no kill ({moment})", 0) + 1
        if kind not in ("identical", "stopped"):
            wrong.append(f"trial {trial}: {outcome}")
        trial += 1
    print(f"{trial} runs: {outcomes}")
    assert not wrong, "\n\n".join(wrong)
    return outcomes


def test_a_worker_killed_at_a_few_moments_never_hangs_the_run(tmp_path: Path, undisturbed_small) -> None:
    """The sample of the stress test below that every test run makes: start-up, any moment, the last chunk."""
    counts = _kill_trials(tmp_path, undisturbed_small, ["start-up", "any moment", "last chunk"], seed=19,
                          kills_wanted=3)
    assert counts["kills"] == 3


@pytest.mark.slow
def test_a_worker_killed_at_fifty_moments_never_hangs_the_run(tmp_path: Path, undisturbed_small) -> None:
    """Issue 19's stress test (about 5 minutes on 2 cores): runs each with one worker killed by SIGKILL
    at a moment drawn at random, until 50 were killed; every run ends, identical to the undisturbed
    run or stopped with the message and the resume hint. ``pytest -m slow`` runs it."""
    counts = _kill_trials(tmp_path, undisturbed_small, list(MOMENTS), seed=1919, kills_wanted=50)
    assert counts["kills"] >= 50
