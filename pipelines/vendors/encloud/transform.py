"""enCloud device pages to landing frames: instants to UTC, `last_data` keys to long rows.

Everything is a polars expression over whole pages; nothing loops per row.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from pipelines.partitions import in_window
from pipelines.timestamps import utc_from_any
from pipelines.validation import INTEGER, as_quarantine, typed_select

STATUS_SUFFIX = ".status"  # keys whose values are link-status words, not numbers
TIME_FIELDS = ("created_at", "updated_at", "last_seen")


def split_unreadable_times(page: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(devices whose instants all read, quarantine rows naming each unreadable field and value).

    The doc gives no example of its timestamps: ISO 8601, epoch seconds and milliseconds are all
    read (per value); anything else is held back rather than landed without its time.
    """
    unreadable = {field: pl.col(field).is_not_null() & utc_from_any(field).is_null() for field in TIME_FIELDS}
    any_unreadable = pl.any_horizontal(*unreadable.values())
    reasons = [
        pl.when(test).then(pl.format(f"{field} unreadable: {{}}", pl.col(field))) for field, test in unreadable.items()
    ]
    quarantined = as_quarantine(page.filter(any_unreadable), pl.concat_str(reasons, separator="; ", ignore_nulls=True))
    return page.filter(~any_unreadable), quarantined


def devices_frame(page: pl.DataFrame, as_of: datetime) -> pl.DataFrame:
    """One row per device: its attributes as of the pull's `timestamp`; a `frequency` that is
    not an integer holds back its device, naming the value."""
    return typed_select(
        page,
        {
            "device_uid": pl.col("device_uid"),
            "customer_id": pl.col("customer_id"),
            "sim_id": pl.col("sim_id"),
            "latitude": pl.col("location").list.get(0, null_on_oob=True),
            "longitude": pl.col("location").list.get(1, null_on_oob=True),
            "frequency_s": INTEGER.of("frequency"),
            "created_at": utc_from_any("created_at"),
            "updated_at": utc_from_any("updated_at"),
            "location_string": pl.col("location_string"),
            "state": pl.col("state"),
            "last_seen_at": utc_from_any("last_seen"),
            "as_of": pl.lit(as_of).dt.convert_time_zone("UTC"),
        },
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
        utc_from_any("last_seen").alias("measured_at"),
    )
    return typed.filter(in_window("measured_at", start, end))
