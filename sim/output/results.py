"""Results folders: chunks streamed to disk, atomic completion, resume, and the manifest.

A run writes into ``DIR.partial/``: first ``manifest.json`` (everything needed to rerun it), then
one file per finished chunk in ``chunks/`` as it arrives. When every chunk is there, the tables,
summary and figures are derived from the chunk files and the folder is renamed to ``DIR``: a run
folder appears complete or not at all. An interrupted run leaves its finished chunks on disk, and
:func:`resume_run` computes only the missing ones, ending with the same results as an
uninterrupted run with the same seed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import math
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
import pandas as pd

from sim.analysis.designs import point_values
from sim.analysis.summary import Accumulator, sweep_table
from sim.ensemble.chunks import DEFAULT_CHUNK_SIZE, Chunk, plan_chunks, plan_independent_chunks
from sim.ensemble.executors import WorkerDiedError, make_executor
from sim.ensemble.finite import non_finite_error, non_finite_paths
from sim.ensemble.runner import stream_chunks
from sim.ensemble.tables import runs_table, truces_table
from sim.model.params import Parameters, compile_scenarios
from sim.output.chunk_files import (
    finished_chunks,
    load_chunk,
    run_identity,
    save_chunk,
    set_aside,
    verify_chunk,
)
from sim.output.folder_lock import LOCK_NAME, busy_error, holder, writing
from sim.output.manifest_checks import (
    DIGEST_FIELD,
    FILES_FIELD,
    file_sha256,
    manifest_digest,
    validate_manifest,
    verify_files,
)
from sim.scenario.errors import Problem, UserError
from sim.scenario.loader import LoadedScenario, load_text, load_variants

RESULTS_ROOT = Path("results")
PARTIAL = ".partial"
TABLE_FORMATS = ("csv", "parquet")
PARQUET_FROM_ROWS = 1_000_000  # "auto": Parquet from this many rows (replications x points), when pyarrow is there


class RunInterruptedError(UserError):
    """The run stopped before every chunk was done; finished chunks are kept for --resume."""


@dataclass
class RunOutcome:
    """A completed run folder and what it holds."""

    folder: Path
    summary: dict[str, Any]
    manifest: dict[str, Any]


#: The design kind of a run whose points are draws of the shared dynamics from a posterior.
POSTERIOR = "posterior"


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


def check_folder(out: Path | None) -> None:
    """Refuse ``--out`` before anything is computed: a name too long, an existing run, a busy folder."""
    if out is None:
        return
    folder = Path(out)
    name_max, path_max = 255, 4096
    with contextlib.suppress(OSError, ValueError, AttributeError):
        existing = next(p for p in (folder.absolute(), *folder.absolute().parents) if p.exists())
        name_max = os.pathconf(existing, "PC_NAME_MAX")
        path_max = os.pathconf(existing, "PC_PATH_MAX")
    longest = max((len(os.fsencode(part)) for part in folder.parts), default=0)
    if len(os.fsencode(folder.name)) + len(PARTIAL) > name_max or longest > name_max:
        raise UserError(Problem(
            f"found a folder name of {longest:,} bytes; allowed: at most {name_max - len(PARTIAL):,} (the file "
            f"system's limit of {name_max:,}, less '{PARTIAL}' for the folder written meanwhile)", source="--out"))
    if len(os.fsencode(str(folder.absolute()))) + 64 > path_max:
        raise UserError(Problem(f"found a path of {len(os.fsencode(str(folder.absolute()))):,} bytes; allowed: "
                                f"well under the file system's limit of {path_max:,}", source="--out"))
    if folder.exists():
        raise UserError(Problem(
            "this results folder exists already; runs never overwrite one: choose another --out", source=str(folder)
        ))
    partial = _partial(folder)
    if partial.exists():
        who = holder(partial)
        if who is not None:
            raise busy_error(partial, who)
        raise UserError(Problem(
            f"an unfinished run is in {partial}; continue it with --resume {partial}, or choose another --out",
            source=str(folder),
        ))


def claim_folder(out: Path | None, scenario_name: str) -> Path:
    """Create the ``.partial`` folder for a new result; never one of an existing run."""
    folder = Path(out) if out is not None else default_folder(scenario_name)
    check_folder(folder)
    partial = _partial(folder)
    try:
        partial.mkdir(parents=True)
    except OSError as error:
        raise _disk_error("create the results folder", partial, error) from None
    return partial


def publish(partial: Path) -> Path:
    """Rename a finished ``.partial`` folder to its final name: it appears complete or not at all."""
    final = final_of(partial)
    try:
        os.replace(partial, final)
    except OSError as error:
        raise _disk_error("finish the results folder", partial, error) from None
    return final


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
    """Write strict JSON atomically (temporary file, then rename).

    A NaN (an undefined share, such as the share of truces that broke in a run without truces) is
    written as ``null``; an infinity is a bug and raises ``ValueError`` naming where it is. The
    file never holds ``NaN`` or ``Infinity``, which are not JSON.
    """
    text = json.dumps(_undefined_as_null(data, path.name), indent=2, sort_keys=False, default=_json_default,
                      allow_nan=False)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text + "\n", encoding="utf-8")
    os.replace(temporary, path)


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    """Write ``manifest.json`` with its own SHA-256 (``manifest_sha256``), so that an edit is never trusted.

    The digest is taken of the manifest as JSON will read it back (NaN as ``null``, numpy numbers
    as plain ones), every field but the digest itself.
    """
    text = json.dumps(_undefined_as_null(manifest, path.name), default=_json_default, allow_nan=False)
    plain = {key: value for key, value in json.loads(text).items() if key != DIGEST_FIELD}
    write_json(path, {**plain, DIGEST_FIELD: manifest_digest(plain)})


def _undefined_as_null(data: Any, where: str) -> Any:
    if isinstance(data, dict):
        return {key: _undefined_as_null(value, f"{where}.{key}") for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [_undefined_as_null(value, f"{where}[{index}]") for index, value in enumerate(data)]
    if isinstance(data, np.ndarray):
        return _undefined_as_null(data.tolist(), where)
    if isinstance(data, (float, np.floating)) and not math.isfinite(data):
        if math.isnan(data):
            return None
        raise ValueError(f"{where} is {data}: an infinite value cannot be written to JSON (a bug)")
    return data


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
        "resolved_parameters": loaded.scenario.model_dump(mode="json", by_alias=True),
        "seed": seed,
        "runs": runs,
        "chunk_size": chunk_size,
        "versions": versions(),
        **(extra or {}),
    }


def parquet_available() -> bool:
    """Whether pyarrow (the ``parquet`` extra) is installed."""
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        return False
    return True


def choose_table_format(requested: str, rows: int, notify: Callable[[str], None] | None = None) -> str:
    """``csv`` or ``parquet`` for the per-run tables: as requested, or by size for ``auto``.

    ``auto`` writes Parquet from :data:`PARQUET_FROM_ROWS` rows when pyarrow is installed (a
    Parquet file is a fraction of the CSV's size and is read back typed), CSV otherwise.

    Raises:
        UserError: for Parquet without pyarrow, or an unknown format.
    """
    if requested not in (*TABLE_FORMATS, "auto"):
        raise UserError(Problem(f"found '{requested}'; allowed: 'csv', 'parquet' or 'auto'", source="--format"))
    if requested == "parquet" and not parquet_available():
        raise UserError(Problem("Parquet needs pyarrow: pip install 'escalation-sim[parquet]', or use --format csv",
                                source="--format parquet"))
    if requested != "auto":
        return requested
    if rows < PARQUET_FROM_ROWS:
        return "csv"
    if parquet_available():
        return "parquet"
    if notify:
        notify(f"{rows:,} rows: writing CSV; install pyarrow (the parquet extra) for smaller Parquet tables")
    return "csv"


class _TableWriter:
    """Writes one table chunk by chunk: CSV text, or Parquet row groups (never the whole table in memory)."""

    def __init__(self, path: Path, table_format: str) -> None:
        self.path = path
        self.format = table_format
        self.temporary = path.with_name(path.name + ".tmp")
        self._file: Any = None
        self._writer: Any = None
        self._schema: Any = None

    def __enter__(self) -> _TableWriter:
        if self.format == "csv":
            self._file = self.temporary.open("w", encoding="utf-8", newline="")
        return self

    def write(self, frame: pd.DataFrame) -> None:
        """Append one chunk's rows."""
        if self.format == "csv":
            frame.to_csv(self._file, header=self._file.tell() == 0, index=False, lineterminator="\n")
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._writer is None:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            # a column that is empty in the first chunk (no truces yet) is text in the others
            self._schema = pa.schema([field.with_type(pa.string()) if pa.types.is_null(field.type) else field
                                      for field in table.schema], metadata=table.schema.metadata)
            self._writer = pq.ParquetWriter(self.temporary, self._schema, compression="zstd")
        self._writer.write_table(pa.Table.from_pandas(frame, schema=self._schema, preserve_index=False))

    def __exit__(self, *error: object) -> None:
        if self._file is not None:
            self._file.close()
        if self.format == "parquet" and self._writer is None and not any(error):
            self.write(pd.DataFrame())  # an empty table still gets a file
        if self._writer is not None:
            self._writer.close()
        if not any(error):
            os.replace(self.temporary, self.path)


def read_table(folder: Path, name: str = "runs", **options: Any) -> pd.DataFrame:
    """A results folder's ``runs`` or ``truces`` table, from Parquet or CSV, whichever it holds.

    ``options`` go to ``pandas.read_parquet`` or ``pandas.read_csv`` (e.g. ``columns=[...]`` for
    Parquet, to read only what is needed from a large table).
    """
    folder = Path(folder)
    parquet, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
    if parquet.exists():
        if not parquet_available():
            raise UserError(Problem(f"{parquet.name} needs pyarrow: pip install 'escalation-sim[parquet]'",
                                    source=str(folder)))
        return pd.read_parquet(parquet, **options)
    if csv.exists():
        return pd.read_csv(csv, **options)
    raise UserError(Problem(f"no {name}.parquet or {name}.csv: not a complete results folder", source=str(folder)))


def execute_run(loaded: LoadedScenario, *, runs: int, seed: int, out: Path | None = None,
                workers: int | None = None, chunk_size: int = DEFAULT_CHUNK_SIZE, executor: Any = None,
                progress: bool = True, figures: bool = True, command: Sequence[str] | None = None,
                notify: Callable[[str], None] | None = None, design: pd.DataFrame | None = None,
                design_kind: str | None = None, target_ci_width: float | None = None,
                max_runs: int | None = None, table_format: str = "auto",
                design_source: str | None = None, posterior_sweep: pd.DataFrame | None = None) -> RunOutcome:
    """Run a scenario (or a sweep ``design`` over it) into a new results folder.

    A design of kind :data:`POSTERIOR` (draws of the shared dynamics from a calibration, named by
    ``design_source``) is a run: its summary pools the draws and adds their spread as ``calibration``.
    A sweep with ``posterior_sweep`` (its draws of the shared dynamics) has for design every sweep point at
    every draw (:func:`posterior_sweep_design`): each point's runs are pooled over the draws.

    The folder is ``out`` or ``results/<scenario>/<UTC timestamp>``. With ``target_ci_width``,
    replication blocks are added until every point's 95% interval of P(regional escalation) is
    narrower than it, or ``max_runs`` is reached; ``runs`` is then ignored. ``table_format`` is
    ``csv``, ``parquet`` or ``auto`` (see :func:`choose_table_format`).
    """
    points = 1 if design is None else len(design)
    rows = (max_runs or runs) if target_ci_width is not None else runs
    table_format = choose_table_format(table_format, rows * points, notify)
    partial = claim_folder(out, loaded.scenario.name)
    extra: dict[str, Any] = {
        "kind": "run" if design is None or design_kind == POSTERIOR else "sweep",
        "executor": getattr(executor, "name", "processes" if workers != 1 else "serial"),
        "workers": getattr(executor, "workers", workers or os.cpu_count()),
        "table_format": table_format,
    }
    if design is not None:
        extra["design"] = {"kind": design_kind or "grid", "columns": list(design.columns),
                           "rows": design.to_numpy(dtype=object).tolist()}
        if design_source is not None:
            extra["design"]["source"] = design_source
        if posterior_sweep is not None:
            extra["design"]["posterior_draws"] = len(posterior_sweep)
            extra["design"]["posterior_columns"] = list(posterior_sweep.columns)
    if target_ci_width is not None:
        extra.update(target_ci_width=target_ci_width, max_runs=max_runs or runs)
    manifest = build_manifest(loaded, runs=runs, seed=seed, chunk_size=chunk_size, command=command, extra=extra)
    try:
        (partial / "chunks").mkdir()
        write_manifest(partial / "manifest.json", manifest)
    except OSError as error:
        raise _disk_error("create the results folder", partial, error) from None
    return _complete(partial, loaded, manifest, workers=workers, executor=executor, progress=progress,
                     figures=figures, notify=notify)


def resume_run(folder: Path, *, workers: int | None = None, executor: Any = None, progress: bool = True,
               figures: bool = True, notify: Callable[[str], None] | None = None,
               recompute_damaged: bool = False) -> RunOutcome:
    """Finish an interrupted run or sweep from its finished chunks.

    The manifest is verified against its own SHA-256, then every chunk file (checksum, run
    identity, chunk key). An edited manifest is refused. Damaged or foreign
    chunks stop the resume with a message naming them, unless ``recompute_damaged``: they are then
    set aside (renamed ``*.npz.damaged``) and computed again.
    """
    folder = Path(folder)
    partial = folder if folder.name.endswith(PARTIAL) else _partial(folder)
    if not partial.exists():
        if folder.exists() and (folder / "summary.json").exists():
            raise UserError(Problem("this run is complete already; nothing to resume", source=str(folder)))
        raise UserError(Problem("no unfinished run here (expected a DIR.partial folder)", source=str(folder)))
    manifest = read_manifest(partial, notify)
    loaded = manifest_scenario(manifest, partial)
    return _complete(partial, loaded, manifest, workers=workers, executor=executor, progress=progress,
                     figures=figures, notify=notify, recompute_damaged=recompute_damaged)


def manifest_design(manifest: dict[str, Any]) -> pd.DataFrame | None:
    """The sweep design saved in a manifest (None for a plain run)."""
    design = manifest.get("design")
    if not design:
        return None
    return pd.DataFrame(design["rows"], columns=design["columns"])


def posterior_sweep_design(design: pd.DataFrame, posterior: pd.DataFrame) -> pd.DataFrame:
    """Every point of a sweep ``design`` at every draw of ``posterior`` (``dynamics.<name>`` columns), draw by
    draw: rows ``d * K .. d * K + K - 1`` are the K sweep points at draw d.

    Raises:
        UserError: the sweep varies a dynamic that the posterior draws.
    """
    shared = sorted(set(design.columns) & set(posterior.columns))
    if shared:
        raise UserError(Problem(f"{', '.join(shared)} is drawn from the posterior; sweep it without --posterior, or "
                                "sweep other parameters", source="--param"))
    sweep = design.loc[np.tile(np.arange(len(design)), len(posterior))].reset_index(drop=True)
    draws = posterior.loc[np.repeat(np.arange(len(posterior)), len(design))].reset_index(drop=True)
    return pd.concat([sweep, draws], axis=1)


def _posterior_groups(manifest: dict[str, Any]) -> tuple[int, int] | None:
    """For a run or sweep whose points are draws from a posterior: (draws, points a draw), else None."""
    design = manifest.get("design") or {}
    if design.get("kind") == POSTERIOR:
        return len(design["rows"]), 1
    if design.get("posterior_draws"):
        draws = int(design["posterior_draws"])
        return draws, len(design["rows"]) // draws
    return None


def study_parameters(loaded: LoadedScenario, design: pd.DataFrame | None) -> Parameters:
    """Compiled parameters: one point for a run, one per design row for a sweep."""
    if design is None:
        return compile_scenarios([loaded.scenario])
    return compile_scenarios(load_variants(loaded, point_values(design)))


def read_manifest(folder: Path, notify: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The manifest of a run folder, verified (:func:`validate_manifest`); a missing, damaged or edited one is
    the user's to know about, and ``notify`` hears of one too old to carry hashes."""
    path = Path(folder) / "manifest.json"
    try:
        return validate_manifest(json.loads(path.read_text(encoding="utf-8")), path, notify)
    except FileNotFoundError:
        raise UserError(Problem("no manifest.json: this is not a results folder", source=str(folder))) from None
    except (OSError, ValueError) as error:
        raise UserError(Problem(f"cannot read manifest.json: {error}", source=str(path))) from None


def read_summary(folder: Path, manifest: dict[str, Any] | None = None) -> bytes:
    """The bytes of a finished run's ``summary.json``, checked to be readable JSON and, with ``manifest``, the
    bytes the run wrote (its recorded SHA-256), before anything is run."""
    path = Path(folder) / "summary.json"
    try:
        raw = path.read_bytes()
        json.loads(raw)
    except FileNotFoundError:
        raise UserError(Problem("no summary.json: nothing to compare a rerun with (is the run finished?)",
                                source=str(folder))) from None
    except (OSError, ValueError) as error:
        raise UserError(Problem(f"cannot read summary.json: {error}", source=str(path))) from None
    if manifest is not None:
        verify_files(folder, manifest, ["summary.json"])
    return raw


def manifest_scenario(manifest: dict[str, Any], folder: Path) -> LoadedScenario:
    """The scenario exactly as the run saw it: the saved text with the saved overrides."""
    try:
        scenario = manifest["scenario"]
        return load_text(scenario["text"], source=f"{folder}/manifest.json:{scenario['source']}",
                         overrides=manifest.get("overrides", []))
    except KeyError as error:
        raise UserError(Problem(f"manifest.json lacks {error}", source=str(folder))) from None


def _trusted_chunks(partial: Path, identity: dict[str, Any], chunks: Sequence[Chunk], recompute_damaged: bool,
                    notify: Callable[[str], None] | None) -> dict[int, Path]:
    """The chunk files on disk that belong to this run, verified; damaged ones stop the run or are set aside."""
    planned = {chunk.index: chunk for chunk in chunks}
    done = finished_chunks(partial)
    damaged = {index: reason for index, path in done.items()
               if (reason := verify_chunk(path, identity, planned)) is not None}
    if damaged and not recompute_damaged:
        listed = "; ".join(f"{done[index].name}: {reason}" for index, reason in sorted(damaged.items())[:5])
        more = f" (and {len(damaged) - 5} more)" if len(damaged) > 5 else ""
        raise UserError(Problem(
            f"{len(damaged)} chunk file(s) cannot be trusted: {listed}{more}; allowed: chunks written by this run. "
            f"Compute them again with `escalation run --resume {partial} --recompute-damaged`",
            source=str(partial / "chunks"),
        ))
    for index in damaged:
        set_aside(done.pop(index))
    if damaged and notify:
        notify(f"{len(damaged)} damaged or foreign chunk file(s) set aside (*.damaged); computing them again")
    return done


def _complete(partial: Path, loaded: LoadedScenario, manifest: dict[str, Any], *, workers: int | None,
              executor: Any, progress: bool, figures: bool, notify: Callable[[str], None] | None,
              recompute_damaged: bool = False) -> RunOutcome:
    """Compute the missing chunks and the results while holding the folder's lock, then publish it."""
    with writing(partial):
        summary = _compute(partial, loaded, manifest, workers=workers, executor=executor, progress=progress,
                           figures=figures, notify=notify, recompute_damaged=recompute_damaged)
    final = publish(partial)
    return RunOutcome(final, summary, read_manifest(final))


def _compute(partial: Path, loaded: LoadedScenario, manifest: dict[str, Any], *, workers: int | None,
             executor: Any, progress: bool, figures: bool, notify: Callable[[str], None] | None,
             recompute_damaged: bool) -> dict[str, Any]:
    design = manifest_design(manifest)
    params = study_parameters(loaded, design)
    target = manifest.get("target_ci_width")
    cap = manifest["max_runs"] if target is not None else manifest["runs"]
    groups = _posterior_groups(manifest)
    if groups is None:
        chunks = plan_chunks(cap, manifest["seed"], manifest["chunk_size"], params.points)
    else:  # every draw with streams of its own; the sweep points of a draw on common random numbers
        chunks = plan_independent_chunks(cap, manifest["seed"], manifest["chunk_size"], params.points, group=groups[1])
    blocks: dict[int, list[Chunk]] = {}
    for chunk in chunks:
        blocks.setdefault(chunk.block, []).append(chunk)
    identity = run_identity(manifest)
    done = _trusted_chunks(partial, identity, chunks, recompute_damaged, notify)
    if done and notify:
        notify(f"resuming: {len(done)} chunk(s) already on disk")
    executor = executor or make_executor(workers)
    batch = len(blocks) if target is None else max(1, int(getattr(executor, "workers", 1) or 1))
    order = sorted(blocks)
    used = 0
    accumulator = Accumulator(params)
    started = time.perf_counter()
    try:
        while used < len(order):
            batch_blocks = order[used:used + batch]
            todo = [c for b in batch_blocks for c in blocks[b] if c.index not in done]
            for result in stream_chunks(params, todo, executor=executor, progress=progress, notify=notify):
                done[result.chunk.index] = save_chunk(partial, result, identity)
            if target is None:
                used = len(order)
                break
            for block in batch_blocks:
                for chunk in blocks[block]:
                    accumulator.add(load_chunk(done[chunk.index]))
                used += 1
                if accumulator.max_interval_width() < target:
                    break
            if accumulator.max_interval_width() < target:
                break
    except KeyboardInterrupt:
        raise RunInterruptedError(Problem(
            f"interrupted: {len(finished_chunks(partial))} chunk(s) are saved; continue with "
            f"`escalation run --resume {partial}`", source=str(partial),
        )) from None
    except OSError as error:
        problem = _disk_error("write a chunk", partial, error).problems[0]
        raise UserError(Problem(
            f"{problem.message}; {len(finished_chunks(partial))} chunk(s) are saved: make room, then continue "
            f"with `escalation run --resume {partial}`", source=problem.source,
        )) from None
    except WorkerDiedError as error:
        raise WorkerDiedError(f"{error}; {len(finished_chunks(partial))} chunk(s) are saved: continue with "
                              f"`escalation run --resume {partial}`") from None
    if target is not None:
        for block in order[used:]:
            for chunk in blocks[block]:
                if chunk.index in done:
                    done.pop(chunk.index).unlink()
        manifest["runs"] = min(cap, used * manifest["chunk_size"])
        manifest["reached_ci_width"] = accumulator.max_interval_width()
        if notify:
            met = "met" if manifest["reached_ci_width"] < target else "NOT met (--max-runs reached)"
            notify(f"target interval width {target} {met} after {manifest['runs']:,} runs per point")
    wall = time.perf_counter() - started
    try:
        return finalise(partial, params, manifest, figures=figures, wall_time=wall)
    except OSError as error:
        raise _disk_error("write the results", partial, error) from None


def finalise(partial: Path, params: Parameters, manifest: dict[str, Any], *, figures: bool,
             wall_time: float) -> dict[str, Any]:
    """Derive the runs and truces tables (CSV or Parquet), the summary (or sweep table) and figures from
    the chunk files, one chunk at a time."""
    accumulator = Accumulator(params)
    paths = finished_chunks(partial)
    extension = manifest.get("table_format", "csv")
    with _TableWriter(partial / f"runs.{extension}", extension) as runs_writer, \
            _TableWriter(partial / f"truces.{extension}", extension) as truces_writer:
        for index in sorted(paths):
            result = load_chunk(paths[index])  # each chunk is read once, in chunk order
            accumulator.add(result)
            runs_writer.write(runs_table(params, result.runs))
            truces_writer.write(truces_table(params, result.truces))
    head = {
        "scenario": manifest["scenario"]["name"],
        "title": manifest["scenario"]["title"],
        "seed": manifest["seed"],
        "chunk_size": manifest["chunk_size"],
    }
    design = manifest_design(manifest)
    posterior = design is not None and manifest["design"]["kind"] == POSTERIOR
    if design is None or posterior:
        if posterior:
            # every point a draw of the shared dynamics from a posterior: one run, pooled over the draws
            sweep_table(design, accumulator).to_csv(partial / "posterior_points.csv", index=False,
                                                    lineterminator="\n")
            accumulator, spread = accumulator.posterior_predictive()
            head["calibration"] = {"posterior": manifest["design"].get("source"),
                                   "dynamics": list(design.columns), **spread}
        summary = {**head, **accumulator.summary()}
        distributions = {"title": manifest["scenario"]["title"], **accumulator.distributions()}
        outputs = non_finite_paths(distributions, "distributions") + non_finite_paths(summary, "summary", nan=False)
        if outputs:
            raise non_finite_error(outputs, params)
        write_json(partial / "distributions.json", distributions)
        if figures:
            from sim.output.figures import draw_figures

            draw_figures(summary, distributions, partial / "figures")
    else:
        groups = _posterior_groups(manifest)
        if groups is not None:  # every sweep point pooled over the draws, with the draws' spread
            sweep_table(design, accumulator).to_csv(partial / "sweep_draws.csv", index=False, lineterminator="\n")
            draws, per_draw = groups
            members = [[d * per_draw + k for d in range(draws)] for k in range(per_draw)]
            spreads = [accumulator.calibration_spread(points) for points in members]
            accumulator = accumulator.pooled_groups(members)
            drawn = set(manifest["design"]["posterior_columns"])
            design = design.iloc[:per_draw][[column for column in design.columns if column not in drawn]]
            head["calibration"] = {"posterior": manifest["design"].get("source"), "draws": draws,
                                   "widest_interval_90": max(high - low for low, high in
                                                             (spread["interval_90"] for spread in spreads))}
        table = sweep_table(design, accumulator)
        if groups is not None:
            table["calibration_low"] = [spread["interval_90"][0] for spread in spreads]
            table["calibration_high"] = [spread["interval_90"][1] for spread in spreads]
        table.to_csv(partial / "sweep.csv", index=False, lineterminator="\n")
        summary = {**head, "kind": "sweep", "design": manifest["design"]["kind"], "points": len(design),
                   "runs_per_point": int(accumulator.runs[0]), "parameters": list(design.columns),
                   "max_ci_width": accumulator.max_interval_width(),
                   "p_regional_escalation_range": [float(table["p_regional_escalation"].min()),
                                                   float(table["p_regional_escalation"].max())]}
        if figures:
            from sim.output.sweep_figures import draw_sweep_figures

            draw_sweep_figures(table, list(design.columns), summary, partial / "figures")
    write_json(partial / "summary.json", summary)
    shutil.rmtree(partial / "chunks")
    files = sorted(p.relative_to(partial).as_posix() for p in partial.rglob("*") if p.is_file()
                   and p.name not in ("manifest.json", LOCK_NAME))
    manifest.update({
        "status": "complete",
        "finished_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "wall_time_seconds": round(manifest.get("wall_time_seconds", 0.0) + wall_time, 3),
        "files": files,
        # the data files; figures are not read again, and `escalation plot` draws them anew
        FILES_FIELD: {name: file_sha256(partial / name) for name in files if not name.startswith("figures/")},
    })
    write_manifest(partial / "manifest.json", manifest)
    return summary


def redraw(folder: Path, notify: Callable[[str], None] | None = None) -> list[Path]:
    """Redraw the figures of a saved run from its summary and distributions, once both are verified against
    the SHA-256 its manifest records (``notify`` hears of a folder too old to carry them)."""
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
    bad = non_finite_paths(distributions, "distributions.json") + non_finite_paths(summary, "summary.json", nan=False)
    if bad:
        raise UserError(Problem(f"found NaN or infinite values in {', '.join(bad[:5])}; allowed: finite numbers "
                                "(the files were edited or damaged)", source=str(folder)))
    verify_files(folder, read_manifest(folder, notify), ["summary.json", "distributions.json"])
    from sim.output.figures import draw_figures

    try:
        return draw_figures(summary, distributions, folder / "figures")
    except OSError as error:
        raise _disk_error("write the figures", folder, error) from None
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
        # the two files are the user's (edited, truncated, from another version): say what is wrong in them
        raise UserError(Problem(
            f"summary.json and distributions.json are not as a run writes them ({type(error).__name__}: {error}); "
            "allowed: the files of a finished run, unedited (rerun it to write them again)", source=str(folder),
        )) from None

