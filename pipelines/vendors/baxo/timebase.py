"""BAXO counts seconds from 2000-01-01T00:00:00Z; conversions are vectorized polars expressions."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

BAXO_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
BAXO_EPOCH_UNIX_S = int(BAXO_EPOCH.timestamp())  # 946684800


def baxo_seconds_to_utc(expr: pl.Expr) -> pl.Expr:
    """2000-epoch seconds (Int64) to a UTC datetime; nulls stay null."""
    return pl.from_epoch(expr.cast(pl.Int64) + BAXO_EPOCH_UNIX_S, time_unit="s").dt.replace_time_zone("UTC")


def to_baxo_seconds(moment: datetime) -> int:
    """A zone-aware datetime to 2000-epoch seconds, for request parameters."""
    if moment.tzinfo is None:
        raise ValueError("BAXO request times must be zone-aware")
    return int(moment.timestamp()) - BAXO_EPOCH_UNIX_S
