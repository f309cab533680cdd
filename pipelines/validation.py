"""Split a frame into rows a pandera schema accepts and rows to quarantine, with the reason."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import pandera.polars as pa
import polars as pl

QUARANTINE_COLUMNS = ("record", "reason")
# Landed datasets' instants: UTC, microseconds.
# Instants in UTC at microseconds, as a pandera field type: pandera builds pl.Datetime("us", "UTC").
UTC_DATETIME = Annotated[pl.Datetime, "us", "UTC"]


def as_quarantine(rows: pl.DataFrame, reason: pl.Expr | str, *, leave_out: Sequence[str] = ()) -> pl.DataFrame:
    """Rows in the quarantine layout: each row as JSON text (`record`, without the helper columns
    `leave_out`) with why it was held back (`reason`, one text or an expression per row)."""
    if rows.width == 0 or rows.height == 0:
        return pl.DataFrame(schema={"record": pl.String, "reason": pl.String})
    why = pl.lit(reason, dtype=pl.String) if isinstance(reason, str) else reason.cast(pl.String)
    return rows.select(
        pl.struct(pl.exclude(*leave_out) if leave_out else pl.all()).struct.json_encode().alias("record"),
        why.alias("reason"),
    )


def quarantine_frame(rows: pl.DataFrame, reason: str) -> pl.DataFrame:
    """Rows as JSON text with one reason: the quarantine layout."""
    return as_quarantine(rows, reason)


def split_by_rules(frame: pl.DataFrame, *rules: tuple[pl.Expr, str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows breaking no rule, quarantine rows) for rules (broken?, reason): the first broken
    rule's reason is the row's."""
    reason = pl.lit(None, dtype=pl.String)
    for broken, why in reversed(rules):
        reason = pl.when(broken).then(pl.lit(why)).otherwise(reason)
    tagged = frame.with_columns(reason.alias("_reason"))
    good = tagged.filter(pl.col("_reason").is_null()).drop("_reason")
    bad = tagged.filter(pl.col("_reason").is_not_null())
    return good, as_quarantine(bad, pl.col("_reason"), leave_out=["_reason"])


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
    record itself, not only its repeats (keep one, never quarantine both copies).
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
    reason = pl.lit(f"{schema.__name__}: ") + pl.col("__reason")
    quarantined = as_quarantine(repeated, reason, leave_out=["__repeat", "__reason"])
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
    quarantined = as_quarantine(bad, pl.lit(f"{schema.__name__}: ") + pl.col("reason"), leave_out=["__row", "reason"])
    return schema.validate(good.drop("__row"), lazy=True), quarantined


def split_foreign(frame: pl.DataFrame, column: str, asked: str | pl.Series) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows about what was asked, quarantine rows for answers about something else).

    `asked` is one id for the whole answer, or one per row. A service that answers for another
    device than the one requested (a proxy mix-up, a stale cache) must not have that answer
    landed under the requested id: the row is held back with `asked <column> X, got Y`.
    """
    tagged = frame.with_columns(pl.lit(asked, dtype=pl.String).alias("__asked"))
    foreign = pl.col(column).cast(pl.String).ne_missing(pl.col("__asked"))
    got = pl.col(column).cast(pl.String).fill_null("none")
    reason = pl.format(f"asked {column} {{}}, got {{}}", pl.col("__asked"), got)
    quarantined = as_quarantine(tagged.filter(foreign), reason, leave_out=["__asked"])
    return tagged.filter(~foreign).drop("__asked"), quarantined
