"""enCloud device pages to landing frames: Unix seconds to UTC, `last_data` keys to long rows.

Everything is a polars expression over whole pages; nothing loops per row.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

STATUS_SUFFIX = ".status"  # keys whose values are link-status words, not numbers


def _utc(column: str) -> pl.Expr:
    return pl.from_epoch(pl.col(column), time_unit="s").dt.replace_time_zone("UTC")


def devices_frame(page: pl.DataFrame, as_of: datetime) -> pl.DataFrame:
    """One row per device: its attributes as of the pull's `timestamp`."""
    return page.select(
        "device_uid",
        "customer_id",
        "sim_id",
        pl.col("location").list.get(0, null_on_oob=True).alias("latitude"),
        pl.col("location").list.get(1, null_on_oob=True).alias("longitude"),
        pl.col("frequency").alias("frequency_s"),
        _utc("created_at").alias("created_at"),
        _utc("updated_at").alias("updated_at"),
        "location_string",
        "state",
        _utc("last_seen").alias("last_seen_at"),
        pl.lit(as_of).dt.convert_time_zone("UTC").alias("as_of"),
    )


def readings_frame(page: pl.DataFrame, keys: list[str], start: datetime, end: datetime) -> pl.DataFrame:
    """One row per device and requested key, measured at the device's last check-in.

    Keys a device does not have (null) are not readings. Check-ins outside [start, end) belong to
    another day's partition (a device offline since then): they are left to that day.
    """
    long = page.select("device_uid", "customer_id", "last_seen", *keys).unpivot(
        index=["device_uid", "customer_id", "last_seen"], on=keys, variable_name="key", value_name="value_raw"
    )
    is_status = pl.col("key").str.ends_with(STATUS_SUFFIX)
    typed = long.drop_nulls("value_raw").select(
        "device_uid",
        "customer_id",
        "key",
        "value_raw",
        pl.when(is_status).then(None).otherwise(pl.col("value_raw").cast(pl.Float64, strict=False)).alias("value"),
        pl.when(is_status).then(pl.col("value_raw")).alias("status"),
        _utc("last_seen").alias("measured_at"),
    )
    return typed.filter(pl.col("measured_at").is_between(pl.lit(start), pl.lit(end), closed="left"))
