"""Results folders: chunks streamed to disk, atomic completion, resume, and the manifest.

A run writes into ``DIR.partial/``: first ``manifest.json`` (everything needed to rerun it), then
one file per finished chunk in ``chunks/`` as it arrives. When every chunk is there, the tables,
summary and figures are derived from the chunk files and the folder is renamed to ``DIR``: a run
folder appears complete or not at all. An interrupted run leaves its finished chunks on disk, and
:func:`resume_run` computes only the missing ones, ending with the same results as an
uninterrupted run with the same seed.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import platform
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from sim.analysis.summary import Accumulator
from sim.ensemble.chunks import DEFAULT_CHUNK_SIZE, Chunk, ChunkResult, plan_chunks
from sim.ensemble.runner import stream_chunks
from sim.ensemble.tables import runs_table, truces_table
from sim.model.params import Parameters, compile_scenarios
from sim.scenario.errors import Problem, UserError
from sim.scenario.loader import LoadedScenario, load_text

RESULTS_ROOT = Path("results")
PARTIAL = ".partial"


class RunInterruptedError(UserError):
    """The run stopped before every chunk was done; finished chunks are kept for --resume."""


@dataclass
class RunOutcome:
    """A completed run folder and what it holds."""

    folder: Path
    summary: dict[str, Any]
    manifest: dict[str, Any]
    computed_chunks: int
    reused_chunks: int


def versions() -> dict[str, str]:
    """Versions of this package and of what it stands on, for the manifest."""
    found = {"python": platform.python_version()}
    for name, package in (("escalation-sim", "escalation-sim"), ("mesa", "mesa"), ("numpy", "numpy"),
                          ("pandas", "pandas"), ("pydantic", "pydantic"), ("matplotlib", "matplotlib")):
        try:
            found[name] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def default_folder(scenario_name: str, root: Path = RESULTS_ROOT) -> Path:
    """``results/<scenario>/<UTC timestamp>``, never one that exists already."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    base = root / scenario_name / stamp
    candidate, n = base, 1
    while candidate.exists() or _partial(candidate).exists():
        n += 1
        candidate = base.with_name(f"{stamp}-{n}")
    return candidate


def _partial(folder: Path) -> Path:
    return folder.with_name(folder.name + PARTIAL)


def final_of(folder: Path) -> Path:
    """The completed folder's name for a ``.partial`` folder (or the folder itself)."""
    return folder.with_name(folder.name[: -len(PARTIAL)]) if folder.name.endswith(PARTIAL) else folder


def _disk_error(action: str, path: Path, error: OSError) -> UserError:
    reason = {
        errno.ENOSPC: "the disk is full",
        errno.EROFS: "the file system is read-only",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.EDQUOT: "the disk quota is exceeded",
    }.get(error.errno, error.strerror or str(error))
    return UserError(Problem(f"cannot {action}: {reason}", source=str(path)))


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (temporary file, then rename)."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(data, indent=2, sort_keys=False, default=_json_default) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def build_manifest(loaded: LoadedScenario, *, runs: int, seed: int, chunk_size: int,
                   command: Sequence[str] | None = None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything needed to rerun: the scenario's text and hash, overrides, resolved parameters, seed."""
    return {
        "tool": "escalation-sim",
        "kind": "run",
        "status": "running",
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": list(command) if command is not None else None,
        "scenario": {
            "name": loaded.scenario.name,
            "title": loaded.scenario.title,
            "source": loaded.source,
            "sha256": loaded.sha256,
            "text": loaded.text,
        },
        "overrides": list(loaded.overrides),
        "resolved_parameters": loaded.scenario.model_dump(mode="json"),
        "seed": seed,
        "runs": runs,
        "chunk_size": chunk_size,
        "versions": versions(),
        **(extra or {}),
    }


def save_chunk(folder: Path, result: ChunkResult) -> Path:
    """Write one chunk's arrays atomically into ``folder/chunks``."""
    chunks = folder / "chunks"
    chunks.mkdir(parents=True, exist_ok=True)
    path = chunks / f"chunk-{result.chunk.index:06d}.npz"
    temporary = path.with_name(path.name + ".tmp.npz")
    arrays = {f"runs.{k}": v for k, v in result.runs.items()}
    arrays.update({f"truces.{k}": v for k, v in result.truces.items()})
    arrays["chunk"] = np.array([result.chunk.index, result.chunk.first, result.chunk.replications, result.chunk.seed],
                               dtype=np.int64)
    np.savez(temporary, **arrays)
    os.replace(temporary, path)
    return path


def load_chunk(path: Path) -> ChunkResult:
    """Read a chunk file written by :func:`save_chunk`."""
    with np.load(path) as data:
        index, first, replications, seed = (int(v) for v in data["chunk"])
        runs = {k[5:]: data[k] for k in data.files if k.startswith("runs.")}
        truces = {k[7:]: data[k] for k in data.files if k.startswith("truces.")}
    return ChunkResult(Chunk(index, first, replications, seed), runs, truces)


def finished_chunks(folder: Path) -> dict[int, Path]:
    """Chunk files already on disk, by chunk index."""
    found = {}
    for path in sorted((folder / "chunks").glob("chunk-*.npz")):
        if path.name.endswith(".tmp.npz"):
            continue
        found[int(path.stem.split("-")[1])] = path
    return found


def execute_run(loaded: LoadedScenario, *, runs: int, seed: int, out: Path | None = None,
                workers: int | None = None, chunk_size: int = DEFAULT_CHUNK_SIZE, executor: Any = None,
                progress: bool = True, figures: bool = True, command: Sequence[str] | None = None,
                notify: Callable[[str], None] | None = None) -> RunOutcome:
    """Run a scenario into a new results folder (``out`` or ``results/<name>/<timestamp>``)."""
    folder = Path(out) if out is not None else default_folder(loaded.scenario.name)
    if folder.exists():
        raise UserError(Problem(
            "this results folder exists already; runs never overwrite one: choose another --out", source=str(folder)
        ))
    partial = _partial(folder)
    if partial.exists():
        raise UserError(Problem(
            f"an unfinished run is in {partial}; continue it with --resume {partial}, or choose another --out",
            source=str(folder),
        ))
    manifest = build_manifest(loaded, runs=runs, seed=seed, chunk_size=chunk_size, command=command,
                              extra={"executor": getattr(executor, "name", "processes" if workers != 1 else "serial"),
                                     "workers": getattr(executor, "workers", workers or os.cpu_count())})
    try:
        (partial / "chunks").mkdir(parents=True)
        write_json(partial / "manifest.json", manifest)
    except OSError as error:
        raise _disk_error("create the results folder", partial, error) from None
    return _complete(partial, loaded, manifest, workers=workers, executor=executor, progress=progress,
                     figures=figures, notify=notify)


def resume_run(folder: Path, *, workers: int | None = None, executor: Any = None, progress: bool = True,
               figures: bool = True, notify: Callable[[str], None] | None = None) -> RunOutcome:
    """Finish an interrupted run from its finished chunks."""
    folder = Path(folder)
    partial = folder if folder.name.endswith(PARTIAL) else _partial(folder)
    if not partial.exists():
        if folder.exists() and (folder / "summary.json").exists():
            raise UserError(Problem("this run is complete already; nothing to resume", source=str(folder)))
        raise UserError(Problem("no unfinished run here (expected a DIR.partial folder)", source=str(folder)))
    manifest = read_manifest(partial)
    loaded = manifest_scenario(manifest, partial)
    return _complete(partial, loaded, manifest, workers=workers, executor=executor, progress=progress,
                     figures=figures, notify=notify)


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a run folder; a missing or damaged one is the user's to know about."""
    path = Path(folder) / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(Problem("no manifest.json: this is not a results folder", source=str(folder))) from None
    except (OSError, ValueError) as error:
        raise UserError(Problem(f"cannot read manifest.json: {error}", source=str(path))) from None


def manifest_scenario(manifest: dict[str, Any], folder: Path) -> LoadedScenario:
    """The scenario exactly as the run saw it: the saved text with the saved overrides."""
    try:
        scenario = manifest["scenario"]
        return load_text(scenario["text"], source=f"{folder}/manifest.json:{scenario['source']}",
                         overrides=manifest.get("overrides", []))
    except KeyError as error:
        raise UserError(Problem(f"manifest.json lacks {error}", source=str(folder))) from None


def _complete(partial: Path, loaded: LoadedScenario, manifest: dict[str, Any], *, workers: int | None,
              executor: Any, progress: bool, figures: bool, notify: Callable[[str], None] | None) -> RunOutcome:
    params = compile_scenarios([loaded.scenario])
    chunks = plan_chunks(manifest["runs"], manifest["seed"], manifest["chunk_size"])
    done = finished_chunks(partial)
    todo = [c for c in chunks if c.index not in done]
    if done and notify:
        notify(f"resuming: {len(done)} of {len(chunks)} chunks already on disk")
    started = time.perf_counter()
    try:
        for result in stream_chunks(params, todo, workers=workers, executor=executor, progress=progress,
                                    notify=notify):
            save_chunk(partial, result)
    except KeyboardInterrupt:
        saved = len(finished_chunks(partial))
        raise RunInterruptedError(Problem(
            f"interrupted: {saved} of {len(chunks)} chunks are saved; continue with "
            f"`escalation run --resume {partial}`", source=str(partial),
        )) from None
    except OSError as error:
        raise _disk_error("write a chunk", partial, error) from None
    wall = time.perf_counter() - started
    try:
        summary = finalise(partial, params, manifest, figures=figures, wall_time=wall)
        final = final_of(partial)
        os.replace(partial, final)
    except OSError as error:
        raise _disk_error("write the results", partial, error) from None
    return RunOutcome(final, summary, read_manifest(final), computed_chunks=len(todo), reused_chunks=len(done))


def finalise(partial: Path, params: Parameters, manifest: dict[str, Any], *, figures: bool,
             wall_time: float) -> dict[str, Any]:
    """Derive runs.csv, truces.csv, summary, distributions and figures from the chunk files."""
    accumulator = Accumulator(params)
    paths = finished_chunks(partial)
    for name, table in (("runs.csv", runs_table), ("truces.csv", truces_table)):
        temporary = partial / (name + ".tmp")
        with temporary.open("w", encoding="utf-8", newline="") as handle:
            for position, index in enumerate(sorted(paths)):
                result = load_chunk(paths[index])
                if name == "runs.csv":
                    accumulator.add(result)
                frame = table(params, result.runs if name == "runs.csv" else result.truces)
                frame.to_csv(handle, header=position == 0, index=False, lineterminator="\n")
        os.replace(temporary, partial / name)
    summary = {
        "scenario": manifest["scenario"]["name"],
        "title": manifest["scenario"]["title"],
        "seed": manifest["seed"],
        "chunk_size": manifest["chunk_size"],
        **accumulator.summary(),
    }
    distributions = {"title": manifest["scenario"]["title"], **accumulator.distributions()}
    write_json(partial / "summary.json", summary)
    write_json(partial / "distributions.json", distributions)
    if figures:
        from sim.output.figures import draw_figures

        draw_figures(summary, distributions, partial / "figures")
    shutil.rmtree(partial / "chunks")
    manifest.update({
        "status": "complete",
        "finished_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "wall_time_seconds": round(manifest.get("wall_time_seconds", 0.0) + wall_time, 3),
        "files": sorted(p.relative_to(partial).as_posix() for p in partial.rglob("*") if p.is_file()
                        and p.name != "manifest.json"),
    })
    write_json(partial / "manifest.json", manifest)
    return summary


def redraw(folder: Path) -> list[Path]:
    """Redraw the figures of a saved run from its summary and distributions."""
    folder = Path(folder)
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        distributions = json.loads((folder / "distributions.json").read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise UserError(Problem(
            f"no {Path(error.filename).name}: not a complete results folder "
            "(expected summary.json and distributions.json)", source=str(folder),
        )) from None
    except (OSError, ValueError) as error:
        raise UserError(Problem(f"cannot read the results: {error}", source=str(folder))) from None
    from sim.output.figures import draw_figures

    try:
        return draw_figures(summary, distributions, folder / "figures")
    except OSError as error:
        raise _disk_error("write the figures", folder, error) from None

