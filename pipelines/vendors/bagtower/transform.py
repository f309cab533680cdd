"""Bagtower answers to landing frames: x/y series exploded, epoch seconds to UTC, open issues.

Everything is a polars expression over whole answers; nothing loops per row.
"""

from __future__ import annotations

import json

import polars as pl
from polars._typing import SchemaDict  # the mapping every polars constructor takes as `schema`

from pipelines.validation import INTEGER, NUMBER, as_quarantine, typed_select

OPEN_STOP_TS = 9876543210  # the doc's stopTs while an issue is still open


def epoch_to_utc(expr: pl.Expr) -> pl.Expr:
    return pl.from_epoch(expr.cast(pl.Int64), time_unit="s").dt.replace_time_zone("UTC")


def split_series(series: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(series whose x and y have the same length, the others as quarantine rows with a reason)."""
    lengths_differ = pl.col("x").list.len().fill_null(0) != pl.col("y").list.len().fill_null(0)
    bad = series.filter(lengths_differ)
    reason = pl.format(
        "{} {} of device {}: x and y differ in length ({} x, {} y)",
        "metric_id",
        "aggregate",
        "device_id",
        pl.col("x").list.len().fill_null(0),
        pl.col("y").list.len().fill_null(0),
    )
    quarantined = as_quarantine(bad, reason)
    return series.filter(~lengths_differ), quarantined


def log_values_frame(series: pl.DataFrame) -> pl.DataFrame:
    """One row per point: the x/y lists exploded together (lengths already checked equal).

    A point whose `x` is not an integer or whose `y` is not a number is held back, naming it.
    """
    points = series.explode(["x", "y"])
    return typed_select(
        points,
        {
            "device_id": pl.col("device_id"),
            "metric_id": pl.col("metric_id"),
            "display": pl.col("display"),
            "aggregate": pl.col("aggregate"),
            "unix_timestamp": INTEGER.of("x"),
            "measured_at": epoch_to_utc(INTEGER.convert(pl.col("x").cast(pl.String))),
            "value": NUMBER.of("y"),
        },
    )


def devices_frame(devices: list[dict]) -> pl.DataFrame:
    """Devices; `types` (metric id -> type, device-defined) is kept as JSON text."""
    schema: SchemaDict = {
        "deviceId": pl.String,
        "deviceName": pl.String,
        "group": pl.String,
        "tags": pl.List(pl.String),
        "types": pl.String,
        "period": pl.Int64,
        "status": pl.String,
        "timezone": pl.String,
        "enabled": pl.Boolean,
        "pool": pl.Boolean,
        "createdTs": pl.Int64,
        "modifiedTs": pl.Int64,
    }
    rows = [{**d, "types": json.dumps(d.get("types") or {}, sort_keys=True)} for d in devices]
    frame = pl.from_dicts(rows, schema=schema, strict=False) if rows else pl.DataFrame(schema=schema)
    return frame.select(
        pl.col("deviceId").alias("device_id"),
        pl.col("deviceName").alias("device_name"),
        pl.col("group").alias("group_name"),
        pl.col("tags").fill_null([]),
        pl.col("types").alias("metric_types"),
        pl.col("period").alias("period_s"),
        "status",
        "timezone",
        "enabled",
        pl.col("pool").alias("is_pool"),
        epoch_to_utc(pl.col("createdTs")).alias("created_at"),
        epoch_to_utc(pl.col("modifiedTs")).alias("modified_at"),
    )


ISSUE_SCHEMA: SchemaDict = {
    "id": pl.String,
    "deviceId": pl.String,
    "display": pl.Struct({"title": pl.String, "subtitle": pl.String}),
    "startTs": pl.Int64,
    "stopTs": pl.Int64,
    "createdTs": pl.Int64,
    "modifiedTs": pl.Int64,
    "isArchived": pl.Boolean,
    "isManual": pl.Boolean,
    "causeMonitorId": pl.String,
    "cost": pl.Float64,
    "kanbanStageId": pl.String,
    "causeId": pl.String,
    "cause": pl.String,
    "solutionId": pl.String,
}


def issues_frame(issues: list[dict]) -> pl.DataFrame:
    """Issues with UTC times; `stopped_at` is null while open (stopTs 9876543210)."""
    frame = pl.from_dicts(issues, schema=ISSUE_SCHEMA, strict=False) if issues else pl.DataFrame(schema=ISSUE_SCHEMA)
    is_open = pl.col("stopTs") == OPEN_STOP_TS
    return frame.select(
        pl.col("id").alias("issue_id"),
        pl.col("deviceId").alias("device_id"),
        pl.col("display").struct.field("title").alias("title"),
        pl.col("display").struct.field("subtitle").alias("subtitle"),
        pl.col("startTs").alias("start_ts"),
        pl.col("stopTs").alias("stop_ts"),
        epoch_to_utc(pl.col("startTs")).alias("started_at"),
        pl.when(is_open).then(None).otherwise(epoch_to_utc(pl.col("stopTs"))).alias("stopped_at"),
        is_open.alias("is_open"),
        pl.col("isArchived").fill_null(False).alias("is_archived"),
        pl.col("isManual").alias("is_manual"),
        epoch_to_utc(pl.col("createdTs")).alias("created_at"),
        epoch_to_utc(pl.col("modifiedTs")).alias("modified_at"),
        pl.col("causeMonitorId").alias("monitor_id"),
        "cost",
        pl.col("kanbanStageId").alias("kanban_stage_id"),
        pl.col("causeId").alias("cause_id"),
        pl.col("cause").alias("cause_text"),
        pl.col("solutionId").alias("solution_id"),
    )


EVENT_SCHEMA = {
    "id": pl.String,
    "issueId": pl.String,
    "eventType": pl.String,
    "timestamp": pl.Int64,
    "modifiedTs": pl.Int64,
    "isCreatedByUser": pl.Boolean,
    "content": pl.String,
}


def issue_events_frame(events: list[dict]) -> pl.DataFrame:
    frame = pl.from_dicts(events, schema=EVENT_SCHEMA, strict=False) if events else pl.DataFrame(schema=EVENT_SCHEMA)
    return frame.select(
        pl.col("id").alias("event_id"),
        pl.col("issueId").alias("issue_id"),
        pl.col("eventType").alias("event_type"),
        epoch_to_utc(pl.col("timestamp")).alias("occurred_at"),
        epoch_to_utc(pl.col("modifiedTs")).alias("modified_at"),
        pl.col("isCreatedByUser").alias("is_created_by_user"),
        "content",
    )


def catalog_frame(items: list[dict]) -> pl.DataFrame:
    """Causes or solutions: id, title, description, created/modified (UTC)."""
    schema: SchemaDict = {
        "id": pl.String,
        "title": pl.String,
        "description": pl.String,
        "createdTs": pl.Int64,
        "modifiedTs": pl.Int64,
    }
    frame = pl.from_dicts(items, schema=schema, strict=False) if items else pl.DataFrame(schema=schema)
    return frame.select(
        "id",
        "title",
        "description",
        epoch_to_utc(pl.col("createdTs")).alias("created_at"),
        epoch_to_utc(pl.col("modifiedTs")).alias("modified_at"),
    )


def kanban_stages_frame(stages: list[dict]) -> pl.DataFrame:
    schema = {"id": pl.String, "name": pl.String, "index": pl.Int64, "description": pl.String}
    frame = pl.from_dicts(stages, schema=schema, strict=False) if stages else pl.DataFrame(schema=schema)
    return frame.rename({"id": "stage_id", "index": "stage_index"})


def monitors_frame(monitors: list[dict]) -> pl.DataFrame:
    schema: SchemaDict = {
        "id": pl.String,
        "name": pl.String,
        "metricList": pl.List(pl.String),
        "attachmentType": pl.String,
        "attachmentValue": pl.String,
        "delay": pl.Int64,
        "cost": pl.Struct({"fixedCost": pl.String, "costPerMinute": pl.String}),
        "createdTs": pl.Int64,
        "modifiedTs": pl.Int64,
    }
    frame = pl.from_dicts(monitors, schema=schema, strict=False) if monitors else pl.DataFrame(schema=schema)
    return frame.select(
        pl.col("id").alias("monitor_id"),
        "name",
        pl.col("metricList").alias("metrics"),
        pl.col("attachmentType").alias("attachment_type"),
        pl.col("attachmentValue").alias("attachment_value"),
        pl.col("delay").alias("delay_s"),
        pl.col("cost").struct.field("fixedCost").cast(pl.Float64, strict=False).alias("fixed_cost"),
        pl.col("cost").struct.field("costPerMinute").cast(pl.Float64, strict=False).alias("cost_per_minute"),
        epoch_to_utc(pl.col("createdTs")).alias("created_at"),
        epoch_to_utc(pl.col("modifiedTs")).alias("modified_at"),
    )


def annotations_frame(annotations: list[dict]) -> pl.DataFrame:
    schema: SchemaDict = {
        "id": pl.String,
        "deviceId": pl.String,
        "userId": pl.String,
        "unixTimestamp": pl.Int64,
        "title": pl.String,
        "content": pl.String,
    }
    frame = pl.from_dicts(annotations, schema=schema, strict=False) if annotations else pl.DataFrame(schema=schema)
    return frame.select(
        pl.col("id").alias("annotation_id"),
        pl.col("deviceId").alias("device_id"),
        pl.col("userId").alias("user_id"),
        epoch_to_utc(pl.col("unixTimestamp")).alias("annotated_at"),
        "title",
        "content",
    )
