"""Variants of one scenario (sweep points, compared policies): overrides on a text parsed once."""

from __future__ import annotations

from collections.abc import Sequence

from sim.scenario.loader import LoadedScenario, validate_data
from sim.scenario.overrides import apply_overrides
from sim.scenario.schema import Scenario
from sim.scenario.yamlsource import parse_bytes


def load_variants(loaded: LoadedScenario, variants: Sequence[Sequence[str]]) -> list[Scenario]:
    """One validated scenario per list of extra ``PATH=VALUE`` overrides, on top of the loaded ones."""
    document = parse_bytes(loaded.text.encode("utf-8"), loaded.source)
    document.data = apply_overrides(document, loaded.overrides)
    scenarios = []
    for overrides in variants:
        document.overridden.clear()
        scenarios.append(validate_data(document, apply_overrides(document, overrides)))
    return scenarios
