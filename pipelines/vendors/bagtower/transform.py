"""Bagtower answers to landing frames: x/y series exploded, epoch seconds to UTC, open issues.

Everything is a polars expression over whole answers; nothing loops per row.
"""

from __future__ import annotations

import json
from datetime import datetime

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


# -- data views, KPIs, issue statistics ------------------------------------------------------------
METRIC_REF = pl.Struct({"metricId": pl.String})
GRAPH = pl.Struct({"id": pl.String, "title": pl.String, "metrics": pl.List(METRIC_REF)})
DATA_VIEW_SCHEMA: SchemaDict = {
    "id": pl.String,
    "deviceId": pl.String,
    "name": pl.String,
    "graphs": pl.List(GRAPH),
    "graphs_json": pl.String,
    "positionView": pl.Int64,
    "showUnknownGraphs": pl.Boolean,
    "shareType": pl.String,
    "shareValue": pl.String,
}


def data_views_frame(views: list[dict], device_id: str) -> pl.DataFrame:
    """A device's data views: the graphs configuration kept whole as JSON text, with the number
    of graphs and the metric ids they plot (in order) beside it for queries."""
    rows = [{**v, "graphs_json": json.dumps(v.get("graphs") or [], sort_keys=True)} for v in views]
    frame = (
        pl.from_dicts(rows, schema=DATA_VIEW_SCHEMA, strict=False) if rows else pl.DataFrame(schema=DATA_VIEW_SCHEMA)
    )
    metric_ids = pl.col("graphs").list.eval(
        pl.element().struct.field("metrics").list.eval(pl.element().struct.field("metricId")).explode()
    )
    return frame.select(
        pl.col("id").alias("view_id"),
        # The asked device when the answer leaves it out; another device is caught by the check.
        pl.col("deviceId").fill_null(device_id).alias("device_id"),
        pl.lit(device_id, dtype=pl.String).alias("asked_device_id"),
        "name",
        pl.col("shareType").alias("share_type"),
        pl.col("shareValue").alias("share_value"),
        pl.col("positionView").alias("position"),
        pl.col("showUnknownGraphs").alias("show_unknown_graphs"),
        pl.col("graphs").list.len().fill_null(0).cast(pl.Int64).alias("graph_count"),
        metric_ids.list.drop_nulls().list.unique(maintain_order=True).fill_null([]).alias("metric_ids"),
        pl.col("graphs_json").alias("graphs"),
    )


# The company's `overall` keys: the uptime percentage over that many past days.
OVERALL_PERIOD_DAYS = {"p1d": 1, "p7days": 7, "p30days": 30, "p90days": 90, "p365d": 365}
# A device's `dailyData` fields and the KPI names they land under (times in seconds).
DAILY_KPIS = {
    "upTime": "up_time_s",
    "downTime": "down_time_s",
    "uncodedTime": "uncoded_time_s",
    "otherAlertsTime": "other_alerts_time_s",
    "upTimePercent": "uptime_pct",
}
KPI_COLUMNS: SchemaDict = {
    "scope": pl.String,
    "device_id": pl.String,
    "kpi": pl.String,
    "source_field": pl.String,
    "period_days": pl.Int64,
    "day_start": pl.Datetime("us", "UTC"),
    "value": pl.Float64,
}


def kpis_frame(body: dict) -> pl.DataFrame:
    """One row per KPI value: the company's uptime per period, each device's daily times."""
    return pl.concat([_overall_kpis(body.get("overall") or {}), _device_kpis(body.get("devicesData") or [])])


def _overall_kpis(overall: dict) -> pl.DataFrame:
    fields = list(overall)
    frame = pl.DataFrame(
        {"source_field": fields, "value": [overall[f] for f in fields]},
        schema={"source_field": pl.String, "value": pl.Float64},
        strict=False,
    )
    return frame.select(
        pl.lit("company").alias("scope"),
        pl.lit(None, dtype=pl.String).alias("device_id"),
        pl.lit("uptime_pct").alias("kpi"),
        "source_field",
        # An unknown key has no period: the schema sends it to quarantine.
        pl.col("source_field")
        .replace_strict(OVERALL_PERIOD_DAYS, default=None, return_dtype=pl.Int64)
        .alias("period_days"),
        pl.lit(None, dtype=KPI_COLUMNS["day_start"]).alias("day_start"),
        "value",
    )


def _device_kpis(devices: list[dict]) -> pl.DataFrame:
    day = pl.Struct({"unixTimestamp": pl.Int64, **{name: pl.Float64 for name in DAILY_KPIS}})
    # `dailyData` is documented as one object; its name suggests a list of days: read both.
    rows = [{"deviceId": d.get("deviceId"), "days": _as_list(d.get("dailyData"))} for d in devices]
    schema: SchemaDict = {"deviceId": pl.String, "days": pl.List(day)}
    frame = pl.from_dicts(rows, schema=schema, strict=False) if rows else pl.DataFrame(schema=schema)
    daily = frame.explode("days").drop_nulls("days").unnest("days")
    long = daily.unpivot(index=["deviceId", "unixTimestamp"], on=list(DAILY_KPIS), variable_name="source_field")
    return long.select(
        pl.lit("device").alias("scope"),
        pl.col("deviceId").alias("device_id"),
        pl.col("source_field").replace_strict(DAILY_KPIS, return_dtype=pl.String).alias("kpi"),
        "source_field",
        pl.lit(1, dtype=pl.Int64).alias("period_days"),
        epoch_to_utc(pl.col("unixTimestamp")).alias("day_start"),
        pl.col("value").cast(pl.Float64),  # a field missing or not a number: null, quarantined
    )


def _as_list(value: object) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


STATISTIC_COLUMNS: SchemaDict = {
    "breakdown": pl.String,
    "measure": pl.String,
    "label": pl.String,
    "cause_id": pl.String,
    "bucket_at": pl.Datetime("us", "UTC"),
    "value": pl.Float64,
    "previous_value": pl.Float64,
}
# The doc spells the breakdown items' cause id `casueid`; read the corrected spellings too.
CAUSE_ID_FIELDS = ("casueid", "causeid", "causeId")
# graphs.<measure> points: the value field, the previous period's, and the offline variant's.
GRAPH_FIELDS = {
    "count": ("count", "previousCount", ("offlineCount", "offline_count")),
    "cost": ("cost", "previousCost", None),
    "duration": ("duration", "previousDuration", ("OfflineDuration", "offline_duration")),
}


def issue_statistics_frame(body: dict, window_start: datetime, window_end: datetime) -> pl.DataFrame:
    """The statistics as one long table: the totals (`globalSummary`), the summary by cause and
    by group, and the daily graphs, each value under its breakdown and measure, with the window
    asked for and the currency."""
    parts = [
        _global_statistics(body.get("globalSummary") or {}),
        *_summary_statistics(body.get("summary") or {}),
        *_graph_statistics(body.get("graphs") or {}),
    ]
    currency = (body.get("globalSummary") or {}).get("currency")
    return pl.concat(parts, how="diagonal_relaxed").select(
        pl.lit(window_start, dtype=pl.Datetime("us", "UTC")).alias("window_start"),
        pl.lit(window_end, dtype=pl.Datetime("us", "UTC")).alias("window_end"),
        *[pl.col(name).cast(dtype) for name, dtype in STATISTIC_COLUMNS.items()],
        pl.lit(currency, dtype=pl.String).alias("currency"),
    )


def _statistics_rows(rows: list[dict]) -> pl.DataFrame:
    return (
        pl.from_dicts(rows, schema=STATISTIC_COLUMNS, strict=False) if rows else pl.DataFrame(schema=STATISTIC_COLUMNS)
    )


def _global_statistics(summary: dict) -> pl.DataFrame:
    totals = (("count", "totalAlert", "previousTotalAlert"), ("cost", "totalCost", None), ("mttr", "mttr", None))
    rows = [
        {"breakdown": "total", "measure": m, "value": summary.get(f), "previous_value": summary.get(p) if p else None}
        for m, f, p in totals
        if f in summary
    ]
    return _statistics_rows(rows)


def _summary_statistics(summary: dict) -> list[pl.DataFrame]:
    item = pl.Struct({"label": pl.String, "value": pl.Float64, **{f: pl.String for f in CAUSE_ID_FIELDS}})
    frames = []
    for measure, by in summary.items():
        for breakdown, items in (by or {}).items():
            frame = pl.DataFrame({"item": items or []}, schema={"item": item}, strict=False).unnest("item")
            frames.append(
                frame.select(
                    pl.lit(breakdown).alias("breakdown"),
                    pl.lit(measure).alias("measure"),
                    "label",
                    pl.coalesce(*CAUSE_ID_FIELDS).alias("cause_id"),
                    "value",
                )
            )
    return frames


def _graph_statistics(graphs: dict) -> list[pl.DataFrame]:
    frames = []
    for measure, points in graphs.items():
        value, previous, offline = GRAPH_FIELDS.get(measure, (measure, None, None))
        fields = [f for f in (value, previous, offline[0] if offline else None) if f]
        schema = {"timestamp": pl.Int64, **{f: pl.Float64 for f in fields}}
        frame = pl.from_dicts(points or [], schema=schema, strict=False) if points else pl.DataFrame(schema=schema)
        bucket = epoch_to_utc(pl.col("timestamp")).alias("bucket_at")
        previous_value = pl.col(previous) if previous else pl.lit(None, dtype=pl.Float64)
        frames.append(
            frame.select(
                pl.lit("day").alias("breakdown"),
                pl.lit(measure).alias("measure"),
                bucket,
                pl.col(value).alias("value"),
                previous_value.alias("previous_value"),
            )
        )
        if offline:
            frames.append(
                frame.select(
                    pl.lit("day").alias("breakdown"),
                    pl.lit(offline[1]).alias("measure"),
                    bucket,
                    pl.col(offline[0]).alias("value"),
                )
            )
    return frames
