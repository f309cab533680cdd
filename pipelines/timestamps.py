"""Instants in whatever form a vendor writes them, per value, as UTC datetimes (vectorized)."""

from __future__ import annotations

import polars as pl

# Epoch numbers at or beyond this are milliseconds: as seconds they would lie after the year 5000.
_EPOCH_MS_FROM = 1e11


def utc_from_any(column: str) -> pl.Expr:
    """ISO 8601 (`Z` or an offset, optional fraction), epoch seconds or epoch milliseconds.

    The column may hold text or numbers, and its values may mix forms. A value that is none of
    them becomes null: callers that require it quarantine the row by its raw value.
    """
    text = pl.col(column).cast(pl.String).str.strip_chars()
    number = text.cast(pl.Float64, strict=False)
    seconds = pl.when(number.abs() >= _EPOCH_MS_FROM).then(number / 1000).otherwise(number)
    from_epoch = pl.from_epoch((seconds * 1e6).round().cast(pl.Int64), time_unit="us").dt.replace_time_zone("UTC")
    from_iso = (
        text.str.replace(r"[Zz]$", "+00:00")
        .str.replace(r" ", "T")
        .str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%:z", time_zone="UTC", strict=False, time_unit="us")
    )
    return pl.when(number.is_not_null()).then(from_epoch).otherwise(from_iso)
