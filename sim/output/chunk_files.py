"""Chunk files: one finished chunk on disk, carrying what identifies it and a checksum of its arrays.

A run writes ``DIR.partial/chunks/chunk-NNNNNN.npz`` as each chunk finishes. Besides the arrays,
every file holds the *run identity* (the scenario's SHA-256, the overrides, the seed, the chunk
size, the runs and the sweep design: everything the chunk's numbers depend on), the chunk's key
(its index, first replication, replications, block and points) and a SHA-256 of its arrays. On
``--resume`` each file is verified against the manifest before it is trusted: a truncated, empty
or bit-flipped file, a chunk copied from another run, or a manifest edited since the chunks were
written, is reported by name with what differs, and ``--recompute-damaged`` sets such chunks aside
(``*.npz.damaged``) and computes them again.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from sim.ensemble.chunks import Chunk, ChunkResult

FORMAT = 3          # 3: runs carry ended_by and halt_broker, truces their kind
DAMAGED = ".damaged"
_KEY_FIELDS = ("index", "first", "replications", "seed", "block", "point_start", "point_stop")


class DamagedChunkError(Exception):
    """A chunk file that cannot be trusted; the message says why."""


def run_identity(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """What a run's chunks depend on, read from its manifest (before the manifest is completed)."""
    manifest = json.loads(json.dumps(manifest, default=_plain))  # the same whether read from disk or not
    design = manifest.get("design")
    design_digest = None
    if design:
        design_digest = hashlib.sha256(json.dumps(design, sort_keys=True, default=str).encode()).hexdigest()
    return {
        "format": FORMAT,
        "kind": manifest.get("kind", "run"),
        "scenario_sha256": manifest["scenario"]["sha256"],
        "overrides": list(manifest.get("overrides", [])),
        "seed": manifest["seed"],
        "chunk_size": manifest["chunk_size"],
        "runs": manifest["max_runs"] if manifest.get("target_ci_width") is not None else manifest["runs"],
        "design_sha256": design_digest,
    }


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else str(value)


def _checksum(arrays: Mapping[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        values = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{values.dtype.str}|{values.shape}|".encode())
        digest.update(values.tobytes())
    return digest.hexdigest()


def _chunk_key(chunk: Chunk) -> list[int]:
    return [int(getattr(chunk, name)) for name in _KEY_FIELDS]


def chunk_path(folder: Path, index: int) -> Path:
    """Where chunk ``index`` of the run in ``folder`` is stored."""
    return folder / "chunks" / f"chunk-{index:06d}.npz"


def save_chunk(folder: Path, result: ChunkResult, identity: Mapping[str, Any] | None = None) -> Path:
    """Write one chunk's arrays, its key, the run's ``identity`` and a checksum atomically into ``folder/chunks``."""
    path = chunk_path(folder, result.chunk.index)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp.npz")
    arrays = {f"runs.{k}": v for k, v in result.runs.items()}
    arrays.update({f"truces.{k}": v for k, v in result.truces.items()})
    arrays["chunk"] = np.array(_chunk_key(result.chunk), dtype=np.int64)
    arrays["identity"] = np.array(json.dumps(dict(identity or {}), sort_keys=True))
    arrays["checksum"] = np.array(_checksum(arrays))
    np.savez(temporary, **arrays)
    os.replace(temporary, path)
    return path


def read_chunk(path: Path) -> tuple[ChunkResult, dict[str, Any]]:
    """A chunk file's result and the run identity it carries, after checking its checksum.

    Raises:
        DamagedChunkError: the file is unreadable, incomplete, or its arrays do not match their checksum.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as error:
        raise DamagedChunkError(f"unreadable ({type(error).__name__}: {error})") from None
    missing = [name for name in ("chunk", "identity", "checksum") if name not in arrays]
    if missing:
        raise DamagedChunkError(f"incomplete or written by an older version (no {', '.join(missing)})")
    stored = str(arrays.pop("checksum"))
    if _checksum(arrays) != stored:
        raise DamagedChunkError("its arrays do not match their checksum (the file was altered or damaged)")
    key = arrays.pop("chunk")
    if key.shape != (len(_KEY_FIELDS),):
        raise DamagedChunkError("its chunk key is malformed")
    try:
        identity = json.loads(str(arrays.pop("identity")))
    except ValueError:
        raise DamagedChunkError("its run identity is unreadable") from None
    chunk = Chunk(**{name: int(value) for name, value in zip(_KEY_FIELDS, key, strict=True)})
    runs = {k[5:]: v for k, v in arrays.items() if k.startswith("runs.")}
    truces = {k[7:]: v for k, v in arrays.items() if k.startswith("truces.")}
    return ChunkResult(chunk, runs, truces), identity


def load_chunk(path: Path) -> ChunkResult:
    """Read a chunk file written by :func:`save_chunk` (checksum verified)."""
    return read_chunk(path)[0]


def finished_chunks(folder: Path) -> dict[int, Path]:
    """Chunk files already on disk, by chunk index."""
    found = {}
    for path in sorted((folder / "chunks").glob("chunk-*.npz")):
        if path.name.endswith(".tmp.npz"):
            continue
        try:
            found[int(path.stem.split("-")[1])] = path
        except ValueError:  # a stray file such as chunk-copy.npz is not a chunk of this run
            continue
    return found


def _differences(found: Mapping[str, Any], expected: Mapping[str, Any]) -> str:
    names = sorted(set(found) | set(expected))
    parts = [f"{name} {found.get(name)!r}, not {expected.get(name)!r}" for name in names
             if found.get(name) != expected.get(name)]
    shown = [p if len(p) < 160 else p[:157] + "..." for p in parts[:4]]
    return "; ".join(shown)


def verify_chunk(path: Path, identity: Mapping[str, Any], planned: Mapping[int, Chunk]) -> str | None:
    """Why the chunk file at ``path`` cannot be trusted by this run, or ``None`` when it can."""
    try:
        result, found = read_chunk(path)
    except DamagedChunkError as error:
        return str(error)
    if found != dict(identity):
        return f"it belongs to another run ({_differences(found, identity)})"
    expected = planned.get(result.chunk.index)
    name_index = int(path.stem.split("-")[1])
    if expected is None or result.chunk.index != name_index:
        return f"this run has no chunk {result.chunk.index} under this name"
    if _chunk_key(result.chunk) != _chunk_key(expected):
        return "its chunk key (first replication, replications, points) differs from this run's plan"
    return None


def set_aside(path: Path) -> Path:
    """Rename a damaged chunk file out of the way (kept for inspection, never read again)."""
    target = path.with_name(path.name + DAMAGED)
    os.replace(path, target)
    return target
