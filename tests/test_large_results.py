"""Per-run tables as Parquet (streamed row group by row group) or CSV, and reading either back."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import sim
from sim.cli import main
from sim.output import results

ROOT = Path(__file__).resolve().parent.parent
MINIMAL = str(ROOT / "tests" / "scenarios" / "minimal.yaml")
RUN = ["run", MINIMAL, "--runs", "3000", "--chunk-size", "1000", "--seed", "4", "--workers", "1", "--no-progress",
       "--no-figures"]


@pytest.fixture(scope="module")
def both(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tables")
    assert main([*RUN, "--out", str(folder / "csv"), "--format", "csv"]) == 0
    assert main([*RUN, "--out", str(folder / "parquet"), "--format", "parquet"]) == 0
    return folder / "csv", folder / "parquet"


def test_parquet_tables_hold_the_same_rows_as_csv(both: tuple[Path, Path]) -> None:
    csv, parquet = both
    assert {p.name for p in parquet.iterdir()} >= {"runs.parquet", "truces.parquet", "summary.json"}
    assert not (parquet / "runs.csv").exists() and not (csv / "runs.parquet").exists()
    for name in ("runs", "truces"):
        from_csv, from_parquet = sim.read_table(csv, name), sim.read_table(parquet, name)
        assert len(from_parquet) == len(from_csv) > 0
        assert list(from_parquet.columns) == list(from_csv.columns)
        pd.testing.assert_frame_equal(_plain(from_parquet), _plain(from_csv), check_dtype=False)
    assert (csv / "summary.json").read_bytes() == (parquet / "summary.json").read_bytes()
    manifest = json.loads((parquet / "manifest.json").read_text())
    assert manifest["table_format"] == "parquet" and "runs.parquet" in manifest["files"]


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Values only: CSV reads an empty text and a missing number both as NaN; Parquet keeps them apart."""
    frame = frame.astype(object)
    return frame.where(frame.notna() & (frame != ""), None)


def test_parquet_is_written_one_row_group_per_chunk_and_keeps_types(both: tuple[Path, Path]) -> None:
    _, parquet = both
    file = pq.ParquetFile(parquet / "runs.parquet")
    assert file.metadata.num_row_groups == 3 and file.metadata.num_rows == 3000
    runs = sim.read_table(parquet, "runs", columns=["run", "outcome", "escalation_day"])
    assert list(runs.columns) == ["run", "outcome", "escalation_day"]
    assert runs["run"].tolist() == list(range(3000))
    assert str(runs["escalation_day"].dtype) == "Int32"


def test_auto_writes_csv_for_small_runs_and_parquet_for_large(tmp_path: Path, monkeypatch) -> None:
    assert main([*RUN, "--out", str(tmp_path / "small")]) == 0
    assert (tmp_path / "small" / "runs.csv").exists()
    monkeypatch.setattr(results, "PARQUET_FROM_ROWS", 3000)
    assert main([*RUN, "--out", str(tmp_path / "large")]) == 0
    assert (tmp_path / "large" / "runs.parquet").exists()


def test_a_sweep_can_write_parquet(tmp_path: Path) -> None:
    assert main(["sweep", MINIMAL, "--param", "actors.big.outside.escalation_rate=0:0.2:3", "--runs", "200",
                 "--workers", "1", "--no-progress", "--no-figures", "--format", "parquet",
                 "--out", str(tmp_path / "sweep")]) == 0
    runs = sim.read_table(tmp_path / "sweep")
    assert len(runs) == 600 and sorted(set(runs["point"])) == [0, 1, 2]


def test_parquet_without_pyarrow_is_a_user_error(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(results, "parquet_available", lambda: False)
    assert main([*RUN, "--out", str(tmp_path / "x"), "--format", "parquet"]) == 2
    assert "Parquet needs pyarrow: pip install 'escalation-sim[parquet]'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "x.partial").exists()


def test_plot_redraws_a_parquet_run(both: tuple[Path, Path], capsys) -> None:
    _, parquet = both
    assert main(["plot", str(parquet)]) == 0
    assert "outcomes.png" in capsys.readouterr().out


def test_reading_a_folder_without_tables_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(sim.UserError, match=r"no runs\.parquet or runs\.csv"):
        sim.read_table(tmp_path)
