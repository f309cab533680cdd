"""Reading what a test landed: one partition of a dataset, and its rows in a stable order."""

from __future__ import annotations

from pathlib import Path

import polars as pl


def landed(data_dir: Path, vendor: str, dataset: str, day: str, zone: str = "landing") -> pl.DataFrame:
    return pl.read_parquet(data_dir / zone / vendor / dataset / f"date={day}" / "*.parquet")


def rows_of(frame: pl.DataFrame) -> pl.DataFrame:
    """The landed rows without the run's stamp, sorted on every column."""
    columns = [c for c in frame.columns if c != "_extracted_at"]
    return frame.select(columns).sort(columns)
