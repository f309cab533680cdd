"""Split a frame into rows a pandera schema accepts and rows to quarantine, with the reason."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

QUARANTINE_COLUMNS = ("record", "reason")


def quarantine_frame(rows: pl.DataFrame, reason: str) -> pl.DataFrame:
    """Rows as JSON text with one reason: the quarantine layout of DESIGN.md."""
    if rows.width == 0 or rows.height == 0:
        return pl.DataFrame(schema={"record": pl.String, "reason": pl.String})
    return rows.select(
        pl.struct(pl.all()).struct.json_encode().alias("record"),
        pl.lit(reason, dtype=pl.String).alias("reason"),
    )


def unique_keys(schema: type[pa.DataFrameModel]) -> list[list[str]]:
    """The column sets `schema` declares unique: each `unique=True` field, and `Config.unique`."""
    frame_schema = schema.to_schema()
    keys = [[name] for name, column in frame_schema.columns.items() if column.unique]
    if frame_schema.unique:
        unique = frame_schema.unique
        keys.append([unique] if isinstance(unique, str) else list(unique))
    return keys


def split_repeats(frame: pl.DataFrame, schema: type[pa.DataFrameModel]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows with the first occurrence of every unique key, later repeats quarantined with the reason).

    pandera's own uniqueness check fails every copy of a repeated key, which would hold back the
    record itself, not only its repeats (DESIGN.md: keep one, never quarantine both copies).
    """
    keys = [key for key in unique_keys(schema) if all(column in frame.columns for column in key)]
    if not keys or frame.height == 0:
        return frame, quarantine_frame(frame.clear(), "")
    repeats = [~pl.struct(key).is_first_distinct() for key in keys]
    reason = pl.concat_str(
        [
            pl.when(repeat).then(pl.lit(f"repeats the {', '.join(key)} of an earlier row"))
            for repeat, key in zip(repeats, keys, strict=True)
        ],
        separator="; ",
        ignore_nulls=True,
    )
    marked = frame.with_columns(pl.any_horizontal(repeats).alias("__repeat"), reason.alias("__reason"))
    repeated = marked.filter(pl.col("__repeat"))
    quarantined = repeated.select(
        pl.struct(pl.exclude("__repeat", "__reason")).struct.json_encode().alias("record"),
        (pl.lit(f"{schema.__name__}: ") + pl.col("__reason")).alias("reason"),
    )
    return marked.filter(~pl.col("__repeat")).drop("__repeat", "__reason"), quarantined


def split_valid(frame: pl.DataFrame, schema: type[pa.DataFrameModel]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(valid rows coerced by `schema`, quarantined rows with `record` and `reason`).

    A repeated unique key keeps its first row; only the repeats are quarantined.
    """
    frame, repeats = split_repeats(frame, schema)
    valid, invalid = _split_by_schema(frame, schema)
    return valid, invalid if repeats.height == 0 else pl.concat([repeats, invalid])


def _split_by_schema(frame: pl.DataFrame, schema: type[pa.DataFrameModel]) -> tuple[pl.DataFrame, pl.DataFrame]:
    try:
        return schema.validate(frame, lazy=True), quarantine_frame(frame.clear(), "")
    except pa.errors.SchemaErrors as exc:
        failures = exc.failure_cases
    row_failures = failures.filter(pl.col("index").is_not_null())
    if row_failures.height < failures.height:
        # A failure without a row index (a missing column, a wrong dtype) condemns the whole page.
        whole = failures.filter(pl.col("index").is_null())
        reason = "; ".join(f"{c['column']}: {c['check']}" for c in whole.iter_rows(named=True))
        return frame.clear(), quarantine_frame(frame, f"schema {schema.__name__}: {reason}")
    reasons = (
        row_failures.with_columns(
            # Frame-wide checks report the schema's name as their column: their name says it all.
            pl.when(pl.col("column") == schema.__name__)
            .then(pl.col("check"))
            .otherwise(pl.format("{} failed {}", pl.col("column"), pl.col("check")))
            .alias("r")
        )
        .group_by("index")
        .agg(pl.col("r").unique().sort().str.join("; ").alias("reason"))
    )
    indexed = frame.with_row_index("__row")
    reasons = reasons.with_columns(pl.col("index").cast(pl.UInt32).alias("__row")).drop("index")
    bad = indexed.join(reasons, on="__row", how="inner")
    good = indexed.join(reasons, on="__row", how="anti")
    quarantined = bad.select(
        pl.struct(pl.exclude("__row", "reason")).struct.json_encode().alias("record"),
        (pl.lit(f"{schema.__name__}: ") + pl.col("reason")).alias("reason"),
    )
    return schema.validate(good.drop("__row"), lazy=True), quarantined
