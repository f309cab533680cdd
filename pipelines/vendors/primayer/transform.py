"""Primayer answers to landing frames: zone-less local times to UTC, histograms and leak lists decoded.

Everything is a polars expression over whole answers; nothing loops per row or per bin.
"""

from __future__ import annotations

import re

import polars as pl
from polars._typing import SchemaDict  # the mapping every polars constructor takes as `schema`

from pipelines.validation import INTEGER, NUMBER, split_by_rules, typed_select

# The service writes `yyyy-MM-dd HH:mm`; a date alone (the doc's leak and audio examples) and
# seconds are accepted too.
TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d")

# Leak-likelihood rule (documented in the README): a leak keeps a pipe's noise high and steady,
# so a histogram is flagged when its median sits in the upper half of the bin range and 80 % of
# its samples (P10 to P90) fall within a quarter of the bins.
LEAK_MIN_LEVEL = 0.5
LEAK_MAX_SPREAD = 0.25


def parse_local(column: str) -> pl.Expr:
    """A zone-less local time string to a naive datetime; null when unparsable."""
    text = pl.col(column).str.strip_chars()
    return pl.coalesce([text.str.strptime(pl.Datetime("us"), fmt, strict=False, exact=True) for fmt in TIME_FORMATS])


def local_to_utc(local: pl.Expr, zone: str, by: list[str]) -> pl.Expr:
    """Read naive local times in `zone`; in the repeated hour of a DST change the second
    occurrence of a time within `by` is the later instant. Times that do not exist become null."""
    ambiguous = pl.when(local.cum_count().over([*by, local]) > 1).then(pl.lit("latest")).otherwise(pl.lit("earliest"))
    return local.dt.replace_time_zone(zone, ambiguous=ambiguous, non_existent="null").dt.convert_time_zone("UTC")


# -- logger epochs and histograms ---------------------------------------------------------------
def epochs_frame(raw: pl.DataFrame, zone: str) -> pl.DataFrame:
    """One row per epoch of every logger in a `logger` answer, histograms still nested."""
    epochs = raw.explode("epochs").drop_nulls("epochs").unnest("epochs")
    return epochs.with_columns(
        pl.col("timestamp").alias("timestamp_local"),
        local_to_utc(parse_local("timestamp"), zone, ["serial"]).alias("measured_at"),
        pl.lit(zone).alias("timezone"),
    ).drop("timestamp")


def epoch_readings(epochs: pl.DataFrame) -> pl.DataFrame:
    """One row per epoch; a reading that is not a number holds back its epoch, naming it."""
    return typed_select(
        epochs,
        {
            "serial": pl.col("serial"),
            "timestamp_local": pl.col("timestamp_local"),
            "measured_at": pl.col("measured_at"),
            "battery": NUMBER.of("battery"),
            "cnv": INTEGER.of("cnv"),
            "lcf": INTEGER.of("lcf"),
            "temperature": NUMBER.of("temperature"),
            "latitude": NUMBER.of("latitude"),
            "longitude": NUMBER.of("longitude"),
            "histogram_count": pl.col("histograms").list.len().fill_null(0),
            "timezone": pl.col("timezone"),
        },
    )


def histograms_frame(epochs: pl.DataFrame, zone: str) -> pl.DataFrame:
    """One row per histogram (serial, epoch_at, histogram_at, bins)."""
    hist = (
        epochs.select("serial", pl.col("measured_at").alias("epoch_at"), "histograms")
        .explode("histograms")
        .drop_nulls("histograms")
        .unnest("histograms")
        .rename({"timestamp": "histogram_local"})
    )
    return hist.with_columns(local_to_utc(parse_local("histogram_local"), zone, ["serial"]).alias("histogram_at"))


def split_histograms(hist: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(decodable histograms, quarantined ones with the reason)."""
    bins = pl.col("bins")
    return split_by_rules(
        hist,
        (pl.col("epoch_at").is_null() | pl.col("histogram_at").is_null(), "unparsable timestamp"),
        (bins.is_null() | (bins.list.len() == 0), "empty bins"),
        (bins.list.min() < 0, "negative bin count"),
        (bins.list.sum() == 0, "empty bins: no samples counted"),
    )


def histogram_bins(hist: pl.DataFrame) -> pl.DataFrame:
    """The long table: one row per (serial, epoch, histogram time, bin)."""
    return (
        hist.with_columns(pl.int_ranges(0, pl.col("bins").list.len()).alias("bin"))
        .explode(["bins", "bin"])
        .select("serial", "epoch_at", "histogram_at", pl.col("bin").cast(pl.Int32), pl.col("bins").alias("count"))
    )


def histogram_stats(long: pl.DataFrame) -> pl.DataFrame:
    """Per histogram: total samples, modal bin, P10/P50/P90 bins, spread and the leak flag.

    Percentile bin q is the first bin whose cumulative count reaches q x total.
    """
    # A histogram served twice (same logger and time) must stay two histograms, not one of twice
    # the bins: each copy's bins follow each other from bin 0, so bin 0 starts the next copy.
    # Both copies land; dbt keeps one.
    keys = ["serial", "epoch_at", "histogram_at", "_copy"]
    cumulative = long.with_columns((pl.col("bin") == 0).cum_sum().over(keys[:-1]).alias("_copy")).with_columns(
        pl.col("count").cum_sum().over(keys).alias("_cum"), pl.col("count").sum().over(keys).alias("_total")
    )

    def percentile(q: float) -> pl.Expr:
        return pl.col("bin").filter(pl.col("_cum") >= q * pl.col("_total")).min().alias(f"p{int(q * 100)}_bin")

    stats = cumulative.group_by(keys, maintain_order=True).agg(
        pl.len().cast(pl.Int32).alias("bin_count"),
        pl.col("count").sum().alias("total_samples"),
        pl.col("bin").filter(pl.col("count") == pl.col("count").max()).min().alias("modal_bin"),
        percentile(0.1),
        percentile(0.5),
        percentile(0.9),
    )
    level = pl.col("p50_bin") / pl.max_horizontal(pl.col("bin_count") - 1, pl.lit(1))
    spread_share = pl.col("spread_bins") / pl.col("bin_count")
    return (
        stats.with_columns((pl.col("p90_bin") - pl.col("p10_bin")).alias("spread_bins"))
        .with_columns(
            level.alias("noise_level_share"),
            ((level >= LEAK_MIN_LEVEL) & (spread_share <= LEAK_MAX_SPREAD)).alias("leak_likely"),
        )
        .drop("_copy")
    )


# -- info and signal ----------------------------------------------------------------------------
def info_frame(raw: pl.DataFrame, zone: str) -> pl.DataFrame:
    epochs = raw.explode("epochs").drop_nulls("epochs").unnest("epochs")
    return epochs.select(
        "serial",
        pl.col("timestamp").alias("timestamp_local"),
        local_to_utc(parse_local("timestamp"), zone, ["serial"]).alias("measured_at"),
        "battery",
        "cnv",
        "lcf",
    )


def signals_frame(raw: pl.DataFrame, zone: str) -> pl.DataFrame:
    """Signal records; `"35%"` becomes 35.0, anything else null (and is quarantined)."""
    signals = raw.explode("signals").drop_nulls("signals").unnest("signals")
    return signals.select(
        "serial",
        pl.col("timestamp").alias("timestamp_local"),
        local_to_utc(parse_local("timestamp"), zone, ["serial"]).alias("measured_at"),
        pl.col("name").alias("network_name"),
        pl.col("type").alias("network_type"),
        pl.col("signal").alias("signal_raw"),
        pl.col("signal").str.strip_chars().str.extract(r"^(\d+(?:\.\d+)?)\s*%?$").cast(pl.Float64).alias("signal_pct"),
    )


# -- groups -------------------------------------------------------------------------------------
def summary_frame(raw: pl.DataFrame, zone: str, day: str) -> pl.DataFrame:
    return raw.select(
        pl.col("id").alias("group_id"),
        pl.col("groupName").alias("group_name"),
        pl.col("leaks").alias("leak_count"),
        pl.col("timestamp").alias("timestamp_local"),
        local_to_utc(parse_local("timestamp"), zone, ["id"]).alias("reported_at"),
        pl.lit(day).str.to_date().alias("report_date"),
    )


LEAK_SCHEMA = {
    "left": pl.String,
    "right": pl.String,
    "confidence": pl.Float64,
    "distanceFromLeft": pl.Float64,
    "date": pl.String,
    "timestamp": pl.String,
}


def leaks_frame(leaks: list[dict], group_id: int) -> pl.DataFrame:
    """A leak list in either spelling: `date` (schema) or `timestamp` (example); loggers as
    strings (schema) or numbers (example)."""
    as_text = [{k: (None if v is None else str(v)) for k, v in leak.items() if k in LEAK_SCHEMA} for leak in leaks]
    raw = pl.from_dicts(as_text, schema=LEAK_SCHEMA) if as_text else pl.DataFrame(schema=LEAK_SCHEMA)
    detected = pl.coalesce("date", "timestamp")
    return raw.select(
        pl.lit(group_id, dtype=pl.Int64).alias("group_id"),
        pl.col("left").str.strip_chars().alias("left_serial"),
        pl.col("right").str.strip_chars().alias("right_serial"),
        "confidence",
        pl.col("distanceFromLeft").alias("distance_from_left_m"),
        detected.alias("detected_raw"),
        detected.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False).alias("detected_on"),
    )


# -- CSV reports --------------------------------------------------------------------------------
def snake_case(header: str) -> str:
    """`Battery (%)` -> `battery_pct`, `Group Id` -> `group_id`."""
    text = header.strip().replace("%", "pct").replace("#", "number")
    return re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower() or "column"


def report_frame(raw: pl.DataFrame, known: SchemaDict) -> pl.DataFrame:
    """Columns renamed to snake_case by header; known ones typed, unknown ones kept as text."""
    renamed = raw.rename({c: snake_case(c) for c in raw.columns})
    missing = [pl.lit(None, dtype=dtype).alias(name) for name, dtype in known.items() if name not in renamed.columns]
    typed = [pl.col(name).cast(dtype, strict=False) for name, dtype in known.items() if name in renamed.columns]
    return renamed.with_columns(*typed, *missing)
