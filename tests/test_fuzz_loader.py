"""Property tests: whatever a scenario file holds, loading it never fails with anything but a message.

Valid scenario documents (tests/scenarios/minimal.yaml and the Karabakh scenario) are mutated
(keys deleted or inserted, values changed to other types, huge or negative numbers, list entries
duplicated; the text truncated, lines dropped or repeated, YAML punctuation inserted, bytes
flipped) and loaded. The loader must return a scenario or raise ``ScenarioError`` whose every
problem renders to a non-empty message naming where it comes from -- never any other exception.
Keys of the first format (``roles``, ``ties``, ``belligerent``) are among the inserted ones, so the
old-format refusal is fuzzed too.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.scenario.errors import ScenarioError
from sim.scenario.loader import LoadedScenario, load_text, load_with_provenance

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "tests" / "scenarios" / "minimal.yaml", ROOT / "scenarios" / "nagorno_karabakh_2020.yaml"]
TEXTS = [path.read_text(encoding="utf-8") for path in SOURCES]
DOCUMENTS = [yaml.safe_load(text) for text in TEXTS]

FUZZ = settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

_counter = itertools.count()

# Values of every kind a YAML file can hold, with the awkward ones well represented.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([0, -1, 1, 2**63, -(2**63), 10**30, 10**400, 100_000_001, 3_651]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.5, 1.5, 1e308, -1e-300]),
    st.text(max_size=30),
    st.sampled_from(["red", "blue", "big", "neutral", "russia", "turkey", "armenia", "azerbaijan", "", "x" * 500,
                     "contested", "defence_pact", "proxy_forces", "fighting_anywhere", "recognised_territory",
                     "none", "limited", "open", "war", "truce", "2020-10-10", "Red", "1e5", "1e308", "null"]),
    st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=12) | st.sampled_from(["id", "strength", "camp", "party", "outside", "from",
                                                                "to", "between", "front_shares", "roles", "ties"]),
                        children, max_size=4),
    ),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path into the document (mapping keys and list positions), the root included."""
    found = [prefix]
    if isinstance(node, dict):
        for key, child in node.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found += _paths(child, (*prefix, index))
    return found


def _parent(document: Any, path: tuple) -> Any:
    node = document
    for part in path[:-1]:
        node = node[part]
    return node


@st.composite
def mutated_documents(draw: st.DrawFn) -> Any:
    """A valid scenario with one to four structural mutations."""
    document = copy.deepcopy(draw(st.sampled_from(DOCUMENTS)))
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(document) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _parent(document, path)
        operation = draw(st.sampled_from(["delete", "replace", "insert", "duplicate", "negate"]))
        if operation == "delete":
            del parent[path[-1]]
        elif operation == "replace":
            parent[path[-1]] = draw(values)
        elif operation == "insert":
            target = parent[path[-1]]
            if isinstance(target, dict):
                key = draw(st.text(max_size=15) | st.sampled_from(["strenght", "id", "camp", "party", "outside",
                                                                   "front_shares", "exposure", "ceiling", "extra",
                                                                   "roles", "belligerent", "ties"]))
                target[key] = draw(values)
            elif isinstance(target, list):
                target.insert(draw(st.integers(0, len(target))), draw(values))
            else:
                parent[path[-1]] = [target, draw(values)]
        elif operation == "duplicate":
            if isinstance(parent, list):
                parent.insert(path[-1], copy.deepcopy(parent[path[-1]]))
            else:
                parent[path[-1]] = [copy.deepcopy(parent[path[-1]])] * draw(st.integers(2, 3))
        else:
            value = parent[path[-1]]
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                parent[path[-1]] = -value * draw(st.sampled_from([1, 10, 10**6, 10**20]))
    return document


def _dump(document: Any) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def _check_outcome(load, text_lines: int) -> None:
    """``load()`` returns a scenario or raises ScenarioError with well-formed problems; nothing else."""
    try:
        loaded = load()
    except ScenarioError as error:
        assert error.problems, "a ScenarioError without problems"
        for problem in error.problems:
            assert problem.message.strip(), problem
            rendered = problem.render()
            assert rendered.strip() and problem.message in rendered
            assert "Traceback" not in rendered
            assert problem.source, f"no source in {rendered!r}"
            if problem.line is not None and not problem.source.startswith("--set"):
                assert 1 <= problem.line <= text_lines + 1, rendered
        assert error.render().strip()
    else:
        assert isinstance(loaded, LoadedScenario)


@FUZZ
@given(document=mutated_documents())
def test_structural_mutations_load_or_explain(document: Any) -> None:
    text = _dump(document)
    _check_outcome(lambda: load_text(text, "fuzz.yaml"), text.count("\n") + 1)


_PUNCTUATION = [":", ": ", "- ", "[", "]", "{", "}", ",", "&a ", "*a", "*b", "!!python/object:os.system ", "!x ",
                "<<: ", "\t", "'", '"', "#", "|", ">", "? ", "---\n", "...\n", "%YAML 1.1\n", "\x00", "\x85",
                "\ufeff", "~", "&a [*a]", "0x1F", "1e999", ".nan", "2020-02-30", "9" * 5000, "!!bool ", "!!timestamp ",
                "!!int ", "!!float ", "!!null ", "!!str ", "!!binary ", "!!set ", "!!omap ", "!!pairs ", "!!map ",
                "!!seq ", "!!merge ", "!!value ", "!!yaml "]


@FUZZ
@given(
    index=st.integers(0, len(TEXTS) - 1),
    edits=st.lists(
        st.tuples(st.sampled_from(["truncate", "insert", "drop_line", "repeat_line", "indent"]),
                  st.integers(0, 10**6), st.sampled_from(_PUNCTUATION) | st.text(max_size=8)),
        min_size=1, max_size=4,
    ),
)
def test_text_mutations_load_or_explain(index: int, edits: list[tuple[str, int, str]]) -> None:
    text = TEXTS[index]
    for operation, position, fragment in edits:
        position %= len(text) + 1
        if operation == "truncate":
            text = text[:position]
        elif operation == "insert":
            text = text[:position] + fragment + text[position:]
        else:
            lines = text.splitlines(keepends=True) or [""]
            line = position % len(lines)
            if operation == "drop_line":
                del lines[line]
            elif operation == "repeat_line":
                lines.insert(line, lines[line])
            else:
                lines[line] = "  " + lines[line]
            text = "".join(lines)
    _check_outcome(lambda: load_text(text, "fuzz.yaml"), text.count("\n") + 1)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@FUZZ
@given(
    index=st.integers(0, len(TEXTS) - 1),
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=6),
    cut=st.none() | st.integers(0, 10**6),
)
def test_byte_flips_load_or_explain(fuzz_dir: Path, index: int, flips: list[tuple[int, int]], cut: int | None) -> None:
    raw = bytearray(TEXTS[index].encode("utf-8"))
    for position, byte in flips:
        raw[position % len(raw)] = byte
    if cut is not None:
        raw = raw[: cut % (len(raw) + 1)]
    path = fuzz_dir / f"flipped{next(_counter)}.yaml"
    path.write_bytes(bytes(raw))
    _check_outcome(lambda: load_with_provenance(path), raw.count(b"\n") + 1)


_OVERRIDE_PATHS = [
    "actors.red.party.strength", "actors.blue.camp", "actors.big.camp", "actors.big.party", "actors.big.party.strength",
    "actors.big.outside.escalation_rate", "actors.big.outside.initial_form", "actors.big.outside.front",
    "actors.big.outside.exposure", "actors.big.outside.exposure.red", "actors.red.party.front_shares",
    "actors.red.party.front_shares.contested", "actors.neutral.mediator.leverage.red",
    "actors.neutral.mediator.leverage", "actors.neutral.roles", "fronts.contested.between", "fronts.contested.control",
    "fronts", "commitments.big_blue.from", "commitments.big_blue.to", "commitments.big_blue.kind",
    "commitments.big_blue.ceiling", "commitments.big_blue.reliability", "truces.scheduled.first.day",
    "dynamics.spiral_gain", "dynamics", "horizon_days", "runs", "seed", "start_date", "actors", "commitments", "ties",
    "actors.reed.name", "dynamcs.x", "ladder", "name", "", ".", "actors..id", "truces.scheduled", "observed.war_days",
    "actors.russia.outside", "commitments.turkey_azerbaijan_pact.strength", "rivalries.turkey_russia.between",
    "regional_escalation.outside_form", "regional_escalation.actor_forms", "regional_escalation.actor_forms.big",
    "regional_escalation.new_parties",
]


@FUZZ
@given(
    index=st.integers(0, len(TEXTS) - 1),
    overrides=st.lists(
        st.tuples(st.sampled_from(_OVERRIDE_PATHS) | st.text(max_size=20),
                  st.sampled_from(["0.3", "-1", "1e999", "1e308", ".nan", "[a, b]", "[red, red]", "{x: 1}",
                                   "{red: 0.5}", "open", "none", "!!python/object:os.system x", "", "red",
                                   "Crisis: the sequel", "[" * 100, "&a [*a]", "2020-02-30", "true", "~", "9" * 5000,
                                   "!!bool maybe", "!!timestamp x", "!!int x", "!!set {a}", "!!binary x"])
                  | st.text(max_size=20)),
        min_size=1, max_size=3,
    ).map(lambda pairs: [f"{path}={value}" for path, value in pairs]),
)
def test_overrides_load_or_explain(index: int, overrides: list[str]) -> None:
    text = TEXTS[index]
    _check_outcome(lambda: load_text(text, "fuzz.yaml", overrides), text.count("\n") + 1)
