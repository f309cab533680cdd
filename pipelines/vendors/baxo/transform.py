"""BAXO pages to landing frames: 2000-epoch to UTC, strings to numbers, sources named.

Everything is a polars expression over whole pages; nothing loops per row.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from pipelines.partitions import in_window
from pipelines.vendors.baxo.timebase import baxo_seconds_to_utc

SOURCE_NAMES = {1: "device", 2: "platform"}  # the doc: 1 = local (device), 2 = remote (platform)


def _typed_values() -> list[pl.Expr]:
    return [
        pl.col("value").alias("value_raw"),
        pl.col("value")
        .str.strip_chars()
        .str.replace(",", ".", literal=True)
        .cast(pl.Float64, strict=False)
        .alias("value"),
        pl.col("timestamp").alias("timestamp_2000"),
        baxo_seconds_to_utc(pl.col("timestamp")).alias("measured_at"),
    ]


def historics_frame(page: pl.DataFrame, start: datetime, end: datetime) -> pl.DataFrame:
    """Typed historic rows of a page, keeping only start <= measured_at < end.

    Rows without a readable timestamp are kept so that validation quarantines them; rows of the
    next day (the service's `endTime` is inclusive) are dropped here and land with that day.
    """
    typed = page.select(
        "device_id",
        "tag_reference",
        *_typed_values(),
        pl.col("source"),
        pl.col("source").replace_strict(SOURCE_NAMES, default=None, return_dtype=pl.String).alias("source_name"),
    )
    return typed.filter(in_window("measured_at", start, end, keep_null=True))


def realtimes_frame(logs: pl.DataFrame) -> pl.DataFrame:
    return logs.select("device_id", "tag_reference", *_typed_values(), "is_event")


def devices_frame(devices: list[dict], contract_id: str) -> pl.DataFrame:
    return pl.from_dicts(
        devices,
        schema={"id": pl.String, "name": pl.String, "details": pl.String, "status": pl.Int64, "timezone": pl.String},
    ).select(
        pl.col("id").alias("device_id"),
        pl.lit(contract_id).alias("contract_id"),
        "name",
        "details",
        "status",
        "timezone",
    )


def contracts_frame(contracts: list[dict]) -> pl.DataFrame:
    return pl.from_dicts(
        contracts,
        schema={
            "id": pl.String,
            "reference": pl.String,
            "company": pl.String,
            "details": pl.String,
            "contactEmail": pl.String,
        },
    ).rename({"id": "contract_id", "contactEmail": "contact_email"})
