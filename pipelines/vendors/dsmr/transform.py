"""DSMR-reader pages to landing frames: offsets to UTC, decimal strings to exact decimals.

Everything is a polars expression over whole pages; nothing loops per row.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl
from polars._typing import SchemaDict  # the mapping every polars constructor takes as `schema`

KWH = pl.Decimal(12, 3)
MONEY = pl.Decimal(12, 2)
TENTHS = pl.Decimal(6, 1)

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
RAW_READING_SCHEMA = {
    "id": pl.Int64,
    "timestamp": pl.String,
    **{name: pl.String for name in READING_DECIMALS + PHASE_VOLTAGES},
    **{name: pl.Int64 for name in PHASE_CURRENTS},
    "extra_device_timestamp": pl.String,
    "extra_device_delivered": pl.String,
}
ENERGY_FIELDS = ("electricity1", "electricity2", "electricity1_returned", "electricity2_returned", "gas")
COST_FIELDS = ("electricity1_cost", "electricity2_cost", "gas_cost", "fixed_cost", "total_cost")
TEMPERATURE_FIELDS = ("lowest_temperature", "highest_temperature", "average_temperature")
RAW_HOUR_SCHEMA = {"id": pl.Int64, "hour_start": pl.String, **{f: pl.String for f in ENERGY_FIELDS}}
RAW_DAY_SCHEMA = {
    "id": pl.Int64,
    "day": pl.String,
    **{f: pl.String for f in ENERGY_FIELDS + COST_FIELDS + TEMPERATURE_FIELDS},
}


def parse_instant(column: str) -> pl.Expr:
    """ISO 8601 with an offset (`+01:00`, `+01`, `Z`) to a UTC instant; unreadable -> null."""
    text = pl.col(column).str.strip_chars().str.replace(r"Z$", "+00:00").str.replace(r"([+-]\d\d)$", "${1}:00")
    return text.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%:z", time_zone="UTC", time_unit="us", strict=False)


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


def exact(column: str, dtype: pl.Decimal = KWH) -> pl.Expr:
    """A decimal string to an exact decimal; unreadable -> null (validation then quarantines)."""
    return pl.col(column).str.strip_chars().cast(dtype, strict=False)


def readings_frame(results: list[dict], instance: str) -> pl.DataFrame:
    raw = (
        pl.from_dicts(results, schema=RAW_READING_SCHEMA, strict=False)
        if results
        else pl.DataFrame(schema=RAW_READING_SCHEMA)
    )
    return raw.select(
        pl.lit(instance, pl.String).alias("instance"),
        pl.col("id").alias("reading_id"),
        parse_instant("timestamp").alias("measured_at"),
        *[exact(name).alias(name) for name in READING_DECIMALS],
        *[exact(name, TENTHS).alias(name) for name in PHASE_VOLTAGES],
        *PHASE_CURRENTS,
        parse_instant("extra_device_timestamp").alias("gas_measured_at"),
        exact("extra_device_delivered").alias("gas_delivered"),
        pl.col("timestamp").alias("timestamp_raw"),
    )


def hour_statistics_frame(results: list[dict], instance: str) -> pl.DataFrame:
    raw = (
        pl.from_dicts(results, schema=RAW_HOUR_SCHEMA, strict=False)
        if results
        else pl.DataFrame(schema=RAW_HOUR_SCHEMA)
    )
    return raw.select(
        pl.lit(instance, pl.String).alias("instance"),
        pl.col("id").alias("stat_id"),
        *[exact(name).alias(name) for name in ENERGY_FIELDS],
        parse_instant("hour_start").alias("hour_start"),
        pl.col("hour_start").alias("hour_start_raw"),
    )


def day_statistics_frame(results: list[dict], instance: str) -> pl.DataFrame:
    raw = (
        pl.from_dicts(results, schema=RAW_DAY_SCHEMA, strict=False) if results else pl.DataFrame(schema=RAW_DAY_SCHEMA)
    )
    return raw.select(
        pl.lit(instance, pl.String).alias("instance"),
        pl.col("id").alias("stat_id"),
        *[exact(name).alias(name) for name in ENERGY_FIELDS],
        pl.col("day").str.to_date("%Y-%m-%d", strict=False).alias("day"),
        *[exact(name, MONEY).alias(name) for name in COST_FIELDS],
        *[exact(name, TENTHS).alias(name) for name in TEMPERATURE_FIELDS],
    )


def consumption_today_frame(body: dict | None, instance: str) -> pl.DataFrame:
    """`consumption/today` gives floats: their shortest text is the decimal DSMR-reader rounded.

    No body (the instance has nothing for today yet) gives the same columns and no row.
    """
    answer = body or {}

    def text(name: str) -> str | None:
        value = answer.get(name)
        return None if value is None else str(Decimal(repr(value)) if isinstance(value, float) else value)

    energies = {name: text(name) for name in ENERGY_FIELDS}
    costs = {name: text(name) for name in COST_FIELDS if name != "fixed_cost"}
    frame = pl.DataFrame(
        {"instance": [instance], "day": [answer.get("day")], **{k: [v] for k, v in (energies | costs).items()}},
        schema_overrides={"day": pl.String, **{k: pl.String for k in energies | costs}},
    ).head(1 if body is not None else 0)
    return frame.select(
        "instance",
        pl.col("day").str.to_date("%Y-%m-%d", strict=False),
        *[exact(name).alias(name) for name in ENERGY_FIELDS],
        *[exact(name, MONEY).alias(name) for name in costs],
    )


PRICE = pl.Decimal(12, 6)  # euros per kWh / m3 / day, six decimals as the API gives them
CONSUMPTION_DECIMALS = (
    "delivered_1",
    "returned_1",
    "delivered_2",
    "returned_2",
    "currently_delivered",
    "currently_returned",
    *[f"phase_currently_{d}_l{i}" for d in ("delivered", "returned") for i in (1, 2, 3)],
)
RAW_PEAK_SCHEMA = {"id": pl.Int64, "read_at_start": pl.String, "read_at_end": pl.String, "average_delivered": pl.String}
RAW_ELECTRICITY_CONSUMPTION_SCHEMA = {
    "id": pl.Int64,
    "read_at": pl.String,
    **{name: pl.String for name in CONSUMPTION_DECIMALS + PHASE_VOLTAGES},
    **{name: pl.Int64 for name in PHASE_CURRENTS},
}
RAW_GAS_CONSUMPTION_SCHEMA = {
    "id": pl.Int64,
    "read_at": pl.String,
    "delivered": pl.String,
    "currently_delivered": pl.String,
}
PRICE_FIELDS = (
    "electricity_delivered_1_price",
    "electricity_delivered_2_price",
    "gas_price",
    "electricity_returned_1_price",
    "electricity_returned_2_price",
    "fixed_daily_cost",
)
RAW_PRICE_SCHEMA = {
    "id": pl.Int64,
    "start": pl.String,
    "end": pl.String,
    "description": pl.String,
    **{name: pl.String for name in PRICE_FIELDS},
}
METER_COUNTERS = (
    "electricity_tariff",
    "power_failure_count",
    "long_power_failure_count",
    *[f"voltage_{kind}_count_l{i}" for kind in ("sag", "swell") for i in (1, 2, 3)],
    "rejected_telegrams",
)
RAW_METER_STATISTICS_SCHEMA = {
    "id": pl.Int64,
    "timestamp": pl.String,
    "dsmr_version": pl.String,
    **{name: pl.Int64 for name in METER_COUNTERS},
    "latest_telegram": pl.String,
}


def _raw(results: list[dict], schema: SchemaDict) -> pl.DataFrame:
    """A page as typed text columns: JSON numbers (the open decimal form) become their text."""
    if not results:
        return pl.DataFrame(schema=schema)
    return pl.from_dicts(results, schema=schema, strict=False)


def quarter_hour_peaks_frame(results: list[dict], instance: str) -> pl.DataFrame:
    return _raw(results, RAW_PEAK_SCHEMA).select(
        pl.lit(instance, pl.String).alias("instance"),
        pl.col("id").alias("peak_id"),
        parse_instant("read_at_start").alias("read_at_start"),
        parse_instant("read_at_end").alias("read_at_end"),
        exact("average_delivered").alias("average_delivered"),
        pl.col("read_at_start").alias("read_at_start_raw"),
    )


def electricity_consumption_frame(results: list[dict], instance: str) -> pl.DataFrame:
    return _raw(results, RAW_ELECTRICITY_CONSUMPTION_SCHEMA).select(
        pl.lit(instance, pl.String).alias("instance"),
        pl.col("id").alias("consumption_id"),
        parse_instant("read_at").alias("read_at"),
        *[exact(name).alias(name) for name in CONSUMPTION_DECIMALS],
        *[exact(name, TENTHS).alias(name) for name in PHASE_VOLTAGES],
        *PHASE_CURRENTS,
        pl.col("read_at").alias("read_at_raw"),
    )


def gas_consumption_frame(results: list[dict], instance: str) -> pl.DataFrame:
    return _raw(results, RAW_GAS_CONSUMPTION_SCHEMA).select(
        pl.lit(instance, pl.String).alias("instance"),
        pl.col("id").alias("consumption_id"),
        parse_instant("read_at").alias("read_at"),
        exact("delivered").alias("delivered"),
        exact("currently_delivered").alias("currently_delivered"),
        pl.col("read_at").alias("read_at_raw"),
    )


def energy_supplier_prices_frame(results: list[dict], instance: str) -> pl.DataFrame:
    return _raw(results, RAW_PRICE_SCHEMA).select(
        pl.lit(instance, pl.String).alias("instance"),
        pl.col("id").alias("contract_id"),
        pl.col("start").str.to_date("%Y-%m-%d", strict=False).alias("start_date"),
        pl.col("end").str.to_date("%Y-%m-%d", strict=False).alias("end_date"),
        "description",
        *[exact(name, PRICE).alias(name) for name in PRICE_FIELDS],
    )


def meter_statistics_frame(body: dict, instance: str) -> pl.DataFrame:
    """The one meter-statistics object of an instance as one row."""
    return _raw([body], RAW_METER_STATISTICS_SCHEMA).select(
        pl.lit(instance, pl.String).alias("instance"),
        parse_instant("timestamp").alias("measured_at"),
        "dsmr_version",
        *METER_COUNTERS,
        "latest_telegram",
        pl.col("timestamp").alias("timestamp_raw"),
    )
