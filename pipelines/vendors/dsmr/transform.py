"""DSMR-reader pages to landing frames: offsets to UTC, decimal strings to exact decimals.

Everything is a polars expression over whole pages; nothing loops per row. A value of the wrong
type (text in an integer field, an object where a decimal belongs) holds back its own row with
the field and the value (`pipelines.validation.typed_select`), never the page.
"""

from __future__ import annotations

import io
import re

import polars as pl
from polars._typing import SchemaDict  # the mapping every polars constructor takes as `schema`

from pipelines.validation import INTEGER, TYPE_ERRORS, FieldRead, ReadAs, decimal, text_frame, typed_select

# kWh, kW and m3 with three decimals, money with two, volts and degrees with one: as the API gives them.
AS_KWH, AS_MONEY, AS_TENTHS = decimal(12, 3), decimal(12, 2), decimal(6, 1)

READING_DECIMALS = (
    "electricity_delivered_1",
    "electricity_delivered_2",
    "electricity_returned_1",
    "electricity_returned_2",
    "electricity_currently_delivered",
    "electricity_currently_returned",
    *[f"phase_currently_{d}_l{i}" for d in ("delivered", "returned") for i in (1, 2, 3)],
)
PHASE_VOLTAGES = tuple(f"phase_voltage_l{i}" for i in (1, 2, 3))
PHASE_CURRENTS = tuple(f"phase_power_current_l{i}" for i in (1, 2, 3))
RAW_READING_FIELDS = (
    "id",
    "timestamp",
    *READING_DECIMALS,
    *PHASE_VOLTAGES,
    *PHASE_CURRENTS,
    "extra_device_timestamp",
    "extra_device_delivered",
)
ENERGY_FIELDS = ("electricity1", "electricity2", "electricity1_returned", "electricity2_returned", "gas")
COST_FIELDS = ("electricity1_cost", "electricity2_cost", "gas_cost", "fixed_cost", "total_cost")
TEMPERATURE_FIELDS = ("lowest_temperature", "highest_temperature", "average_temperature")
RAW_HOUR_FIELDS = ("id", "hour_start", *ENERGY_FIELDS)
RAW_DAY_FIELDS = ("id", "day", *ENERGY_FIELDS, *COST_FIELDS, *TEMPERATURE_FIELDS)


def parse_instant(column: str | pl.Expr) -> pl.Expr:
    """ISO 8601 with an offset (`+01:00`, `+01`, `Z`) to a UTC instant; unreadable -> null."""
    raw = pl.col(column) if isinstance(column, str) else column
    text = raw.str.strip_chars().str.replace(r"Z$", "+00:00").str.replace(r"([+-]\d\d)$", "${1}:00")
    return text.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%:z", time_zone="UTC", time_unit="us", strict=False)


# What DSMR-reader writes by default: whole seconds and `+HH:MM` or `Z`, every part in range.
PLAIN_INSTANT = (
    r"^[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$"
)


def parse_plain_instant(text: pl.Expr) -> pl.Expr:
    """`parse_instant` of the `PLAIN_INSTANT` form, null for any other: its fixed positions read
    apart (the wall time, then the offset subtracted) cost a third of the general parse."""
    wall = text.str.slice(0, 19).str.to_datetime("%Y-%m-%dT%H:%M:%S", time_unit="us", strict=False)
    hours, minutes = (text.str.slice(at, 2).cast(pl.Int32, strict=False) for at in (20, 23))
    east = (hours * 60 + minutes).fill_null(0)  # `Z`: no digits, +00:00
    offset = pl.when(text.str.slice(19, 1) == "-").then(-east).otherwise(east)
    utc = (wall - pl.duration(minutes=offset)).dt.replace_time_zone("UTC")
    return pl.when(text.str.contains(PLAIN_INSTANT)).then(utc)


INSTANT = ReadAs("an ISO 8601 instant with its UTC offset", parse_instant, fast=parse_plain_instant)
DATE = ReadAs("a date YYYY-MM-DD", lambda text: text.str.strip_chars().str.to_date("%Y-%m-%d", strict=False))


def offset_ending(column: str) -> pl.Expr:
    """A timestamp text's last six characters, where its UTC offset is written (`+01:00`, `Z`):
    `written_offset_minutes` of the ending is that of the whole text, and a page's thousands of
    timestamps end in a few ways, so the offset is worked out once per distinct ending."""
    return pl.col(column).str.strip_chars().str.slice(-6)


def written_offset_minutes(column: str) -> pl.Expr:
    """The UTC offset a timestamp was written with, in minutes east (`Z` is 0); none -> null."""
    suffix = pl.col(column).str.strip_chars().str.extract(r"(Z|[+-]\d\d(?::?\d\d)?)$")
    sign = pl.when(suffix.str.starts_with("-")).then(-1).otherwise(1)
    hours = suffix.str.slice(1, 2).cast(pl.Int32, strict=False)
    minutes = suffix.str.extract(r"^[+-]\d\d:?(\d\d)$").cast(pl.Int32, strict=False).fill_null(0)
    return pl.when(suffix == "Z").then(pl.lit(0, pl.Int32)).otherwise(sign * (hours * 60 + minutes))


def zone_offset_minutes(instant: str, zone: str) -> pl.Expr:
    """The zone's UTC offset at each instant, in minutes east (DST included)."""
    utc = pl.col(instant)
    local_wall = utc.dt.convert_time_zone(zone).dt.replace_time_zone(None)
    return (local_wall - utc.dt.replace_time_zone(None)).dt.total_minutes().cast(pl.Int32)


def _as(read_as: ReadAs, names: tuple[str, ...]) -> dict[str, FieldRead]:
    """Each field read as `read_as`, under its own name."""
    return {name: read_as.of(name) for name in names}


def readings_frame(results: list[dict], instance: str) -> pl.DataFrame:
    return _typed_readings(text_frame(results, RAW_READING_FIELDS), instance)


# A readings page as polars reads it from the bytes: every value as its JSON text.
READINGS_PAGE: SchemaDict = {
    "count": pl.String,
    "next": pl.String,
    "results": pl.List(pl.Struct(dict.fromkeys(RAW_READING_FIELDS, pl.String))),
}


def plain_readings_page(content: bytes, instance: str) -> tuple[pl.DataFrame, str | None, int] | None:
    """(typed readings, `next`, `count`) of a plain page read straight from its bytes, or None.

    polars reads the JSON without a Python object per value (a third of orjson's time, the
    largest cost of a page). Plain: an object whose `count`, `next` and `results` read as DRF
    writes them, no record null and no value unreadable. Any other page (None) takes the orjson
    path, `readings_frame`, so its errors and quarantine reasons stay that path's.
    """
    body = _plain_body(content)
    if body is None:
        return None
    count, next_url, records = body["count"][0], body["next"][0], body["results"]
    if count is not None and not (count.isascii() and count.isdigit()):
        return None
    if next_url is not None and not next_url.startswith("http"):
        return None  # e.g. `false` or `0`, which polars gives as text
    if records.null_count() or records.list.len()[0] == 0:
        return None  # no `results` list (or an empty one, cheap either way)
    values = records.explode()
    if values.null_count():
        return None  # a record that is not an object
    frame = _typed_readings(values.struct.unnest().with_columns(pl.lit(None, pl.String).alias(TYPE_ERRORS)), instance)
    if frame[TYPE_ERRORS].null_count() < frame.height:
        return None  # a value that did not read: its reason quotes the value as orjson gives it
    return frame, next_url, int(count or 0)


SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _plain_body(content: bytes) -> pl.DataFrame | None:
    """The page as one row of `READINGS_PAGE`, or None when polars cannot read it as that."""
    # polars would read a top-level list as rows, and a lone surrogate escape orjson refuses
    # (looked for only past a backslash: pages seldom hold one, and one byte is found fastest).
    if content.lstrip()[:1] != b"{" or (b"\\" in content and SURROGATE_ESCAPE.search(content)):
        return None
    try:
        body = pl.read_json(io.BytesIO(content), schema=READINGS_PAGE)
    except Exception:  # polars raises ComputeError and friends on anything it cannot read
        return None
    return body if body.height == 1 else None


def _typed_readings(text: pl.DataFrame, instance: str) -> pl.DataFrame:
    return typed_select(
        text,
        {
            "instance": pl.lit(instance, pl.String),
            "reading_id": INTEGER.of("id"),
            "measured_at": INSTANT.of("timestamp"),
            **_as(AS_KWH, READING_DECIMALS),
            **_as(AS_TENTHS, PHASE_VOLTAGES),
            **_as(INTEGER, PHASE_CURRENTS),
            "gas_measured_at": INSTANT.of("extra_device_timestamp"),
            "gas_delivered": AS_KWH.of("extra_device_delivered"),
            "timestamp_raw": pl.col("timestamp"),
        },
    )


def hour_statistics_frame(results: list[dict], instance: str) -> pl.DataFrame:
    return typed_select(
        text_frame(results, RAW_HOUR_FIELDS),
        {
            "instance": pl.lit(instance, pl.String),
            "stat_id": INTEGER.of("id"),
            **_as(AS_KWH, ENERGY_FIELDS),
            "hour_start": INSTANT.of("hour_start"),
            "hour_start_raw": pl.col("hour_start"),
        },
    )


def day_statistics_frame(results: list[dict], instance: str) -> pl.DataFrame:
    return typed_select(
        text_frame(results, RAW_DAY_FIELDS),
        {
            "instance": pl.lit(instance, pl.String),
            "stat_id": INTEGER.of("id"),
            **_as(AS_KWH, ENERGY_FIELDS),
            "day": DATE.of("day"),
            **_as(AS_MONEY, COST_FIELDS),
            **_as(AS_TENTHS, TEMPERATURE_FIELDS),
        },
    )


def consumption_today_frame(body: dict | None, instance: str) -> pl.DataFrame:
    """`consumption/today` gives floats: their shortest text is the decimal DSMR-reader rounded.

    No body (the instance has nothing for today yet) gives the same columns and no row.
    """
    costs = tuple(name for name in COST_FIELDS if name != "fixed_cost")
    return typed_select(
        text_frame([body] if body is not None else [], ("day", *ENERGY_FIELDS, *costs)),
        {
            "instance": pl.lit(instance, pl.String),
            "day": DATE.of("day"),
            **_as(AS_KWH, ENERGY_FIELDS),
            **_as(AS_MONEY, costs),
        },
    )


CONSUMPTION_DECIMALS = (
    "delivered_1",
    "returned_1",
    "delivered_2",
    "returned_2",
    "currently_delivered",
    "currently_returned",
    *[f"phase_currently_{d}_l{i}" for d in ("delivered", "returned") for i in (1, 2, 3)],
)
RAW_PEAK_FIELDS = ("id", "read_at_start", "read_at_end", "average_delivered")
RAW_ELECTRICITY_CONSUMPTION_FIELDS = ("id", "read_at", *CONSUMPTION_DECIMALS, *PHASE_VOLTAGES, *PHASE_CURRENTS)
RAW_GAS_CONSUMPTION_FIELDS = ("id", "read_at", "delivered", "currently_delivered")
PRICE_FIELDS = (
    "electricity_delivered_1_price",
    "electricity_delivered_2_price",
    "gas_price",
    "electricity_returned_1_price",
    "electricity_returned_2_price",
    "fixed_daily_cost",
)
RAW_PRICE_FIELDS = ("id", "start", "end", "description", *PRICE_FIELDS)
AS_PRICE = decimal(12, 6)  # euros per kWh / m3 / day, six decimals as the API gives them
METER_COUNTERS = (
    "electricity_tariff",
    "power_failure_count",
    "long_power_failure_count",
    *[f"voltage_{kind}_count_l{i}" for kind in ("sag", "swell") for i in (1, 2, 3)],
    "rejected_telegrams",
)
RAW_METER_STATISTICS_FIELDS = ("timestamp", "dsmr_version", *METER_COUNTERS, "latest_telegram")


def quarter_hour_peaks_frame(results: list[dict], instance: str) -> pl.DataFrame:
    return typed_select(
        text_frame(results, RAW_PEAK_FIELDS),
        {
            "instance": pl.lit(instance, pl.String),
            "peak_id": INTEGER.of("id"),
            "read_at_start": INSTANT.of("read_at_start"),
            "read_at_end": INSTANT.of("read_at_end"),
            "average_delivered": AS_KWH.of("average_delivered"),
            "read_at_start_raw": pl.col("read_at_start"),
        },
    )


def electricity_consumption_frame(results: list[dict], instance: str) -> pl.DataFrame:
    return typed_select(
        text_frame(results, RAW_ELECTRICITY_CONSUMPTION_FIELDS),
        {
            "instance": pl.lit(instance, pl.String),
            "consumption_id": INTEGER.of("id"),
            "read_at": INSTANT.of("read_at"),
            **_as(AS_KWH, CONSUMPTION_DECIMALS),
            **_as(AS_TENTHS, PHASE_VOLTAGES),
            **_as(INTEGER, PHASE_CURRENTS),
            "read_at_raw": pl.col("read_at"),
        },
    )


def gas_consumption_frame(results: list[dict], instance: str) -> pl.DataFrame:
    return typed_select(
        text_frame(results, RAW_GAS_CONSUMPTION_FIELDS),
        {
            "instance": pl.lit(instance, pl.String),
            "consumption_id": INTEGER.of("id"),
            "read_at": INSTANT.of("read_at"),
            **_as(AS_KWH, ("delivered", "currently_delivered")),
            "read_at_raw": pl.col("read_at"),
        },
    )


def energy_supplier_prices_frame(results: list[dict], instance: str) -> pl.DataFrame:
    return typed_select(
        text_frame(results, RAW_PRICE_FIELDS),
        {
            "instance": pl.lit(instance, pl.String),
            "contract_id": INTEGER.of("id"),
            "start_date": DATE.of("start"),
            "end_date": DATE.of("end"),
            "description": pl.col("description"),
            **_as(AS_PRICE, PRICE_FIELDS),
        },
    )


def meter_statistics_frame(body: dict, instance: str) -> pl.DataFrame:
    """The one meter-statistics object of an instance as one row."""
    return typed_select(
        text_frame([body], RAW_METER_STATISTICS_FIELDS),
        {
            "instance": pl.lit(instance, pl.String),
            "measured_at": INSTANT.of("timestamp"),
            "dsmr_version": pl.col("dsmr_version"),
            **_as(INTEGER, METER_COUNTERS),
            "latest_telegram": pl.col("latest_telegram"),
            "timestamp_raw": pl.col("timestamp"),
        },
    )
