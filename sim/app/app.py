"""``escalation app SCENARIO``: the what-if page, served by Solara.

:func:`serve` checks the scenario, then replaces this process with ``solara run`` on this module;
the server finds the scenario (and the seed and runs) in ``ESCALATION_APP_*`` environment
variables, so ``solara run sim.app.app`` works on its own too.
"""

from __future__ import annotations

import functools
import os
import socket
import sys
from pathlib import Path

import solara

from sim.app.components import WhatIfPage
from sim.app.engine import REFINED_RUNS, controls_for
from sim.scenario.errors import Problem, UserError
from sim.scenario.loader import LoadedScenario, load_with_provenance

SCENARIO_VARIABLE = "ESCALATION_APP_SCENARIO"
SEED_VARIABLE = "ESCALATION_APP_SEED"
RUNS_VARIABLE = "ESCALATION_APP_RUNS"


@functools.cache
def _loaded(path: str) -> LoadedScenario:
    return load_with_provenance(path)


def _settings() -> tuple[LoadedScenario, int, int]:
    path = os.environ.get(SCENARIO_VARIABLE)
    if not path:
        raise UserError(Problem(f"set {SCENARIO_VARIABLE} to a scenario file, or run: escalation app SCENARIO",
                                source="sim.app"))
    loaded = _loaded(path)
    seed = int(os.environ.get(SEED_VARIABLE) or loaded.scenario.seed)
    runs = int(os.environ.get(RUNS_VARIABLE) or REFINED_RUNS)
    return loaded, seed, runs


@solara.component
def Page() -> None:
    """The page Solara serves."""
    loaded, seed, runs = _settings()
    controls = solara.use_memo(lambda: controls_for(loaded.scenario), dependencies=[loaded])
    WhatIfPage(loaded, controls, seed, runs)


def _check_free(host: str, port: int) -> None:
    """A port another program holds is the user's to change: say so before starting the server."""
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as error:
        raise UserError(Problem(f"cannot serve on {host}:{port} ({error.strerror}); allowed: a free port, "
                                f"e.g. --port {port + 1}, and an address of this machine", source="--port")) from None


def serve(scenario: str | Path, *, host: str = "localhost", port: int = 8765, seed: int | None = None,
          runs: int = REFINED_RUNS, mesa: bool = False) -> int:
    """Check the scenario and its controls, then hand this process over to the Solara server: the what-if
    page, or with ``mesa`` Mesa's SolaraViz page of a single run (:mod:`sim.app.mesa_page`).

    Raises:
        UserError: the scenario, or one of its declared uncertainties, cannot be used.
    """
    loaded = load_with_provenance(scenario)
    controls_for(loaded.scenario)  # a declared uncertainty that names nothing fails here, not in the browser
    _check_free(host, port)
    os.environ[SCENARIO_VARIABLE] = str(Path(scenario).resolve())
    os.environ[SEED_VARIABLE] = str(loaded.scenario.seed if seed is None else seed)
    os.environ[RUNS_VARIABLE] = str(runs)
    os.environ.setdefault("SOLARA_THEME_SHOW_BANNER", "false")  # Solara's badge would sit over the figures' axes
    what = "Mesa's SolaraViz page of one run" if mesa else "What-if page"
    print(f"{what} for {loaded.scenario.title}: http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
    served = "sim.app.mesa_page:Page" if mesa else f"{__name__}:Page"
    command = [sys.executable, "-m", "solara", "run", served, "--host", host, "--port", str(port),
               "--production", "--no-open", "--log-level", "warning"]
    os.execv(sys.executable, command)
    return 0  # not reached: execv replaces this process
