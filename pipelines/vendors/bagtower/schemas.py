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


class BagtowerDataView(_Strict):
    """A data view of a device: which metrics its graphs plot and with whom it is shared."""

    view_id: str = pa.Field(nullable=False, unique=True, str_length={"min_value": 1})
    device_id: str = pa.Field(nullable=False)
    asked_device_id: str = pa.Field(nullable=False)
    name: str = pa.Field(nullable=True)
    share_type: str = pa.Field(nullable=True, isin=["GROUP", "USER"])
    share_value: str = pa.Field(nullable=True)
    position: int = pa.Field(nullable=True)
    show_unknown_graphs: bool = pa.Field(nullable=True)
    graph_count: int = pa.Field(ge=0)
    metric_ids: list[str] = pa.Field(nullable=False)
    graphs: str = pa.Field(nullable=False)

    @pa.dataframe_check(name="answers for the device asked", error="answers for the device asked")
    def about_asked_device(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("device_id") == pl.col("asked_device_id"))


class BagtowerKpi(_Strict):
    """One KPI value: the company's uptime over a past period, or one of a device's daily times."""

    scope: str = pa.Field(isin=["company", "device"])
    device_id: str = pa.Field(nullable=True)
    kpi: str = pa.Field(isin=["uptime_pct", "up_time_s", "down_time_s", "uncoded_time_s", "other_alerts_time_s"])
    source_field: str
    period_days: int = pa.Field(nullable=True, gt=0)
    day_start: UTC_DATETIME = pa.Field(nullable=True)
    value: float = pa.Field(nullable=True, ge=0)

    @pa.dataframe_check(name="value is a number", error="value is a number")
    def value_is_number(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("value").is_not_null() & pl.col("value").is_finite())

    @pa.dataframe_check(name="a known period", error="company uptime of a known period (p1d, p7days, ...)")
    def known_period(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("period_days").is_not_null())

    @pa.dataframe_check(name="a device KPI names its device and day", error="a device KPI names its device and day")
    def device_and_day(cls, data: PolarsData) -> pl.LazyFrame:
        device = pl.col("scope") == "device"
        return data.lazyframe.select(~device | (pl.col("device_id").is_not_null() & pl.col("day_start").is_not_null()))

    @pa.dataframe_check(name="a percentage is at most 100", error="a percentage is at most 100")
    def percent_range(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("kpi") != "uptime_pct") | (pl.col("value") <= 100))


class BagtowerIssueStatistic(_Strict):
    """One value of the issue statistics: a total, a summary item (by cause or group) or a daily point."""

    window_start: UTC_DATETIME
    window_end: UTC_DATETIME
    breakdown: str = pa.Field(isin=["total", "cause", "group", "day"])
    measure: str = pa.Field(isin=["count", "cost", "duration", "mttr", "offline_count", "offline_duration"])
    label: str = pa.Field(nullable=True)
    cause_id: str = pa.Field(nullable=True)
    bucket_at: UTC_DATETIME = pa.Field(nullable=True)
    value: float = pa.Field(nullable=True, ge=0)
    previous_value: float = pa.Field(nullable=True, ge=0)
    currency: str = pa.Field(nullable=True)

    @pa.dataframe_check(name="value is a number", error="value is a number")
    def value_is_number(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("value").is_not_null() & pl.col("value").is_finite())

    @pa.dataframe_check(name="a summary item has a label", error="a summary item (by cause or group) has a label")
    def labelled(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(~pl.col("breakdown").is_in(["cause", "group"]) | pl.col("label").is_not_null())

    @pa.dataframe_check(name="a daily point has its day", error="a daily point has its day")
    def dated(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("breakdown") != "day") | pl.col("bucket_at").is_not_null())
