"""The one daily partitioning every time-ranged asset shares, and its window helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dagster import DailyPartitionsDefinition

from pipelines.settings import partitions_start_date

daily_partitions = DailyPartitionsDefinition(start_date=partitions_start_date(), timezone="UTC")


def day_window(partition_key: str) -> tuple[datetime, datetime]:
    """[start, end) of a daily partition in UTC."""
    start = datetime.fromisoformat(partition_key).replace(tzinfo=UTC)
    return start, start + timedelta(days=1)


def today_utc() -> str:
    """Partition date for snapshot datasets (device lists): the day of the run."""
    return datetime.now(UTC).date().isoformat()
