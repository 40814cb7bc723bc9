"""Scenario schema and loading: YAML in, a validated :class:`Scenario` out."""

from sim.scenario.errors import Problem, ScenarioError, UserError
from sim.scenario.loader import (
    LoadedScenario,
    load_scenario,
    load_text,
    load_with_provenance,
    validate_file,
)
from sim.scenario.schema import DEFAULT_LADDER, Scenario

__all__ = [
    "DEFAULT_LADDER",
    "LoadedScenario",
    "Problem",
    "Scenario",
    "ScenarioError",
    "UserError",
    "load_scenario",
    "load_text",
    "load_with_provenance",
    "validate_file",
]
