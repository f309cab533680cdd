"""Pandera contracts for landed Bagtower datasets; rows that break them go to quarantine."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from pipelines.validation import UTC_DATETIME

AGGREGATES = ["std", "min", "median", "max", "mean", "sum", "states"]


class _Strict(pa.DataFrameModel):
    class Config:
        strict = True
        coerce = True


class BagtowerLogValue(_Strict):
    """One point of a device log series (raw value, or one aggregate of a summary bucket)."""

    device_id: str = pa.Field(nullable=False, str_length={"min_value": 1})
    metric_id: str = pa.Field(nullable=False, str_length={"min_value": 1})
    display: str = pa.Field(nullable=True)
    aggregate: str = pa.Field(nullable=False, isin=["raw", *AGGREGATES])
    unix_timestamp: int = pa.Field(nullable=False)
    measured_at: UTC_DATETIME = pa.Field(nullable=False)
    value: float = pa.Field(nullable=True)

    # `error` too: pandera pops `name` when it builds the check, so a schema built second
    # (a subclass sharing this check) would otherwise report the function name.
    @pa.dataframe_check(name="value is a number", error="value is a number")
    def value_is_number(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("value").is_not_null() & pl.col("value").is_finite())


class BagtowerDevice(_Strict):
    device_id: str = pa.Field(nullable=False, unique=True, str_length={"min_value": 1})
    device_name: str = pa.Field(nullable=True)
    group_name: str = pa.Field(nullable=True)
    tags: list[str] = pa.Field(nullable=True)
    metric_types: str = pa.Field(nullable=True)
    period_s: int = pa.Field(nullable=True, ge=60)
    status: str = pa.Field(nullable=True)
    timezone: str = pa.Field(nullable=True)
    enabled: bool = pa.Field(nullable=True)
    is_pool: bool = pa.Field(nullable=True)
    created_at: UTC_DATETIME = pa.Field(nullable=True)
    modified_at: UTC_DATETIME = pa.Field(nullable=True)


class BagtowerGroup(_Strict):
    group_name: str = pa.Field(nullable=False, unique=True)


class BagtowerIssue(_Strict):
    issue_id: str = pa.Field(nullable=False, unique=True, str_length={"min_value": 1})
    device_id: str = pa.Field(nullable=True)
    title: str = pa.Field(nullable=True)
    subtitle: str = pa.Field(nullable=True)
    start_ts: int = pa.Field(nullable=False)
    stop_ts: int = pa.Field(nullable=False)
    started_at: UTC_DATETIME = pa.Field(nullable=False)
    stopped_at: UTC_DATETIME = pa.Field(nullable=True)
    is_open: bool = pa.Field(nullable=False)
    is_archived: bool = pa.Field(nullable=False)
    is_manual: bool = pa.Field(nullable=True)
    created_at: UTC_DATETIME = pa.Field(nullable=True)
    modified_at: UTC_DATETIME = pa.Field(nullable=False)
    monitor_id: str = pa.Field(nullable=True)
    cost: float = pa.Field(nullable=True)
    kanban_stage_id: str = pa.Field(nullable=True)
    cause_id: str = pa.Field(nullable=True)
    cause_text: str = pa.Field(nullable=True)
    solution_id: str = pa.Field(nullable=True)

    @pa.dataframe_check(name="stops after it starts", error="stops after it starts")
    def stops_after_start(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("stopped_at").is_null() | (pl.col("stopped_at") >= pl.col("started_at")))


class BagtowerIssueEvent(_Strict):
    event_id: str = pa.Field(nullable=False, unique=True)
    issue_id: str = pa.Field(nullable=False)
    event_type: str = pa.Field(nullable=True)
    occurred_at: UTC_DATETIME = pa.Field(nullable=True)
    modified_at: UTC_DATETIME = pa.Field(nullable=True)
    is_created_by_user: bool = pa.Field(nullable=True)
    content: str = pa.Field(nullable=True)


class BagtowerCatalogItem(_Strict):
    """A cause or a solution."""

    id: str = pa.Field(nullable=False, unique=True)
    title: str = pa.Field(nullable=True)
    description: str = pa.Field(nullable=True)
    created_at: UTC_DATETIME = pa.Field(nullable=True)
    modified_at: UTC_DATETIME = pa.Field(nullable=True)


class BagtowerKanbanStage(_Strict):
    stage_id: str = pa.Field(nullable=False, unique=True)
    name: str = pa.Field(nullable=False)
    stage_index: int = pa.Field(nullable=True)
    description: str = pa.Field(nullable=True)


class BagtowerMonitor(_Strict):
    monitor_id: str = pa.Field(nullable=False, unique=True)
    name: str = pa.Field(nullable=True)
    metrics: list[str] = pa.Field(nullable=True)
    attachment_type: str = pa.Field(nullable=True, isin=["DEVICE", "GROUP", "TAG"])
    attachment_value: str = pa.Field(nullable=True)
    delay_s: int = pa.Field(nullable=True)
    fixed_cost: float = pa.Field(nullable=True)
    cost_per_minute: float = pa.Field(nullable=True)
    created_at: UTC_DATETIME = pa.Field(nullable=True)
    modified_at: UTC_DATETIME = pa.Field(nullable=True)


class BagtowerAnnotation(_Strict):
    annotation_id: str = pa.Field(nullable=False, unique=True)
    device_id: str = pa.Field(nullable=False)
    user_id: str = pa.Field(nullable=True)
    annotated_at: UTC_DATETIME = pa.Field(nullable=True)
    title: str = pa.Field(nullable=True)
    content: str = pa.Field(nullable=True)
