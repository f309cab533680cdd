"""The one daily partitioning every time-ranged asset shares, and its window helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
from dagster import BackfillPolicy, DailyPartitionsDefinition

from pipelines.settings import partitions_start_date

daily_partitions = DailyPartitionsDefinition(start_date=partitions_start_date(), timezone="UTC")

# Every daily asset (extraction and dbt facts) takes a whole backfill range in one step: a job
# needs one policy for all its assets to run a range as one run, and dbt then builds it once.
DAILY: dict[str, Any] = {"partitions_def": daily_partitions, "backfill_policy": BackfillPolicy.single_run()}


def day_window(partition_key: str) -> tuple[datetime, datetime]:
    """[start, end) of a daily partition in UTC."""
    start = datetime.fromisoformat(partition_key).replace(tzinfo=UTC)
    return start, start + timedelta(days=1)


def in_window(column: str, start: object, end: object, *, keep_null: bool = False) -> pl.Expr:
    """`start <= column < end`: the rows of a partition's window (datetimes or epoch numbers).

    `keep_null` keeps rows whose instant could not be read, for validation to quarantine them.
    """
    inside = pl.col(column).is_between(pl.lit(start), pl.lit(end), closed="left")
    return inside | pl.col(column).is_null() if keep_null else inside


def today_utc() -> str:
    """Partition date for snapshot datasets (device lists): the day of the run."""
    return datetime.now(UTC).date().isoformat()
