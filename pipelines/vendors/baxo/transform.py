"""BAXO pages to landing frames: 2000-epoch to UTC, strings to numbers, sources named.

Everything is a polars expression over whole pages; nothing loops per row. Pages arrive as text;
a timestamp, source or flag that is not what the doc says holds back its own row, naming the
field and the value (`pipelines.validation.typed_select`).
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from pipelines.partitions import in_window
from pipelines.validation import BOOLEAN, INTEGER, TEXT, TYPE_ERRORS, FieldRead, text_frame, typed_select
from pipelines.vendors.baxo.timebase import baxo_seconds_to_utc

SOURCE_NAMES = {1: "device", 2: "platform"}  # the doc: 1 = local (device), 2 = remote (platform)


def _typed_values() -> dict[str, pl.Expr | FieldRead]:
    """A value is kept as sent beside its number: one that is no number is quarantined by the
    schema's own check, with the text it came as."""
    return {
        "device_id": pl.col("device_id"),
        "tag_reference": pl.col("tag_reference"),
        "value_raw": TEXT.of("value"),
        "value": pl.col("value")
        .cast(pl.String)
        .str.strip_chars()
        .str.replace(",", ".", literal=True)
        .cast(pl.Float64, strict=False),
        "timestamp_2000": INTEGER.of("timestamp"),
    }


TAG_VALUE_COLUMNS = ["device_id", "tag_reference", "value_raw", "value", "timestamp_2000", "measured_at"]
# From the timestamp as read, not from its text again: reading it twice cost as much as the rest.
MEASURED_AT = baxo_seconds_to_utc(pl.col("timestamp_2000")).alias("measured_at")


def historics_frame(page: pl.DataFrame, start: datetime, end: datetime) -> pl.DataFrame:
    """Typed historic rows of a page, keeping only start <= measured_at < end.

    Rows without a readable timestamp are kept so that validation quarantines them; rows of the
    next day (the service's `endTime` is inclusive) are dropped here and land with that day.
    """
    typed = typed_select(page, {**_typed_values(), "source": INTEGER.of("source")})
    source_name = pl.col("source").replace_strict(SOURCE_NAMES, default=None, return_dtype=pl.String)
    return (
        typed.lazy()
        .with_columns(MEASURED_AT, source_name.alias("source_name"))
        .select(*TAG_VALUE_COLUMNS, "source", "source_name", TYPE_ERRORS)
        .filter(in_window("measured_at", start, end, keep_null=True))
        .collect()
    )


def realtimes_frame(logs: pl.DataFrame) -> pl.DataFrame:
    typed = typed_select(logs, {**_typed_values(), "is_event": BOOLEAN.of("is_event")})
    return typed.with_columns(MEASURED_AT).select(*TAG_VALUE_COLUMNS, "is_event", TYPE_ERRORS)


def devices_frame(devices: list[dict], contract_id: str) -> pl.DataFrame:
    return typed_select(
        text_frame(devices, ("id", "name", "details", "status", "timezone")),
        {
            "device_id": pl.col("id"),
            "contract_id": pl.lit(contract_id, pl.String),
            "name": pl.col("name"),
            "details": pl.col("details"),
            "status": INTEGER.of("status"),
            "timezone": pl.col("timezone"),
        },
    )


def contracts_frame(contracts: list[dict]) -> pl.DataFrame:
    fields = ("id", "reference", "company", "details", "contactEmail")
    return text_frame(contracts, fields).rename({"id": "contract_id", "contactEmail": "contact_email"})
