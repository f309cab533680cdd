"""Turn decoded records into typed frames and split frames into rows a pandera schema accepts
and rows to quarantine, with the reason.

A wrongly typed value (text in an integer field, an object where a decimal belongs) holds back
its own row, naming the field and the value; it never fails the page it came in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, cast

import duckdb
import orjson
import pandera.polars as pa
import polars as pl

QUARANTINE_COLUMNS = ("record", "reason")
# Instants in UTC at microseconds, as a pandera field type: pandera builds pl.Datetime("us", "UTC").
UTC_DATETIME = Annotated[pl.Datetime, "us", "UTC"]
# Why a row's values did not read as their types (null when they all did); `split_valid`
# quarantines the rows that have one and drops the column before the schema sees the frame.
TYPE_ERRORS = "_type_errors"
# A bad value is quoted in the reason up to this many characters (an object can be long).
QUOTED_VALUE_CHARS = 100


@dataclass(frozen=True)
class ReadAs:
    """How a field's JSON text becomes a typed column: `convert` gives null where it cannot."""

    expected: str  # what the value should have been, for the reason: "an integer"
    convert: Callable[[pl.Expr], pl.Expr]
    # A cheaper conversion giving `convert`'s value wherever it gives one: a frame whose every
    # value it reads skips `convert` and the search for unreadable values (`typed_select`).
    quick: Callable[[pl.Expr], pl.Expr] | None = None

    def of(self, field: str) -> FieldRead:
        return FieldRead(field, self)


@dataclass(frozen=True)
class FieldRead:
    field: str
    read_as: ReadAs


def _integer(text: pl.Expr) -> pl.Expr:
    # `3.0` is an integer written as JSON numbers often are; `2.5` and `"abc"` are not.
    number = text.str.strip_chars().cast(pl.Float64, strict=False)
    whole = pl.when(number == number.floor()).then(number).cast(pl.Int64, strict=False)
    return pl.coalesce(text.str.strip_chars().cast(pl.Int64, strict=False), whole)


TEXT = ReadAs("text", lambda text: text, quick=lambda text: text)
# A plain cast reads what needs neither stripping nor a float's path (`3.0`), at a twentieth of the cost.
INTEGER = ReadAs("an integer", _integer, quick=lambda text: text.cast(pl.Int64, strict=False))
NUMBER = ReadAs("a number", lambda text: text.str.strip_chars().cast(pl.Float64, strict=False))
BOOLEAN = ReadAs(
    "true or false",
    lambda text: (
        text.str.strip_chars()
        .str.to_lowercase()
        .replace_strict({"true": True, "false": False}, default=None, return_dtype=pl.Boolean)
    ),
)


def decimal(precision: int, scale: int) -> ReadAs:
    """An exact decimal from its text (or a JSON number's shortest text)."""
    dtype = pl.Decimal(precision, scale)
    return ReadAs("a decimal", lambda text: text.str.strip_chars().cast(dtype, strict=False))


def text_frame(records: Sequence[object], fields: Iterable[str]) -> pl.DataFrame:
    """Decoded JSON records as one text column per field (numbers as their text), plus
    `TYPE_ERRORS` for a record that is not an object or a field holding an object or a list.

    Well-formed pages take polars' own builder; only a page it refuses (an object where a value
    belongs) is read through DuckDB's JSON functions, which keep every value's type.
    """
    schema = dict.fromkeys(fields, pl.String)
    if not records:
        return pl.DataFrame(schema={**schema, TYPE_ERRORS: pl.String})
    try:
        # A record that is not an object makes polars raise: the fallback below names it.
        frame = pl.from_dicts(cast("Sequence[dict[str, Any]]", records), schema=schema, strict=False)
    except (pl.exceptions.PolarsError, TypeError, ValueError, AttributeError):
        return _text_frame_via_duckdb(records, list(schema))
    return frame.with_columns(pl.lit(None, pl.String).alias(TYPE_ERRORS))


def _json_path(field: str) -> str:
    quoted = field.replace("\\", "\\\\").replace('"', '\\"')
    return "'$.\"" + quoted.replace("'", "''") + "\"'"


def _text_frame_via_duckdb(records: Sequence[object], fields: list[str]) -> pl.DataFrame:
    """`text_frame` for a page with values polars cannot build: every value read by its JSON type."""
    composite = "('OBJECT', 'ARRAY')"
    values, problems = (
        [],
        [
            "case when json_type(r) is distinct from 'OBJECT' then 'record: ' || left(coalesce(r::varchar, 'null'), "
            f"{QUOTED_VALUE_CHARS}) || ' is not an object' end"
        ],
    )
    for field in fields:
        path = _json_path(field)
        kind = f"json_type(r, {path})"
        values.append(f"case when {kind} in {composite} then null else json_extract_string(r, {path}) end")
        problems.append(
            f"case when {kind} in {composite} then '{field.replace(chr(39), chr(39) * 2)}: ' || "
            f"left(json_extract(r, {path})::varchar, {QUOTED_VALUE_CHARS}) || ' is not a single value' end"
        )
    sql = (
        f"select {', '.join(values) or 'null'}, nullif(concat_ws('; ', {', '.join(problems)}), '') "
        "from (select unnest(from_json(?::varchar, '[\"JSON\"]')) as r)"
    )
    with duckdb.connect() as con:
        rows = con.execute(sql, [orjson.dumps(records).decode()]).fetchall()
    names = [*fields, TYPE_ERRORS] if fields else ["__none", TYPE_ERRORS]
    frame = pl.DataFrame(rows, schema=dict.fromkeys(names, pl.String), orient="row")
    return frame if fields else frame.drop("__none")


def typed_select(text: pl.DataFrame, columns: Mapping[str, pl.Expr | FieldRead]) -> pl.DataFrame:
    """`text.select(columns)` where each `FieldRead` converts its field's text, and a value that
    does not convert is named, with the field, in the row's `TYPE_ERRORS` (its column left null).

    Blank text is a missing value, not a wrong one: the schema decides whether it may be null.
    """
    selected: list[pl.Expr] = []
    reads: dict[str, FieldRead] = {}  # converted column -> its field's read
    for name, column in columns.items():
        if isinstance(column, FieldRead):
            # Converted once, in a step of its own: an eager select would convert it again for the
            # check below (decimal and instant parsing are most of a DSMR page's transform).
            value_column = f"__converted_{len(reads)}"
            reads[value_column] = column
            selected.append(pl.col(value_column).alias(name))
        else:
            selected.append(column.alias(name))
    with_values, doubtful = _convert(text, reads)
    unreadable = [
        (_raw(read).str.strip_chars().ne("") & pl.col(value_column).is_null(), _why(read))
        for value_column, read in reads.items()
        if value_column in doubtful
    ]
    # Reasons are text built for every row: only built when some value did not convert.
    any_unreadable = bool(unreadable) and bool(
        with_values.select(pl.any_horizontal([failed for failed, _ in unreadable]).any()).item()
    )
    failures = [pl.when(failed).then(why) for failed, why in unreadable] if any_unreadable else []
    earlier = [pl.col(TYPE_ERRORS)] if TYPE_ERRORS in text.columns else []
    if not failures and not earlier:
        return with_values.select(*selected, pl.lit(None, pl.String).alias(TYPE_ERRORS))
    reasons = pl.concat_str([*earlier, *failures], separator="; ", ignore_nulls=True)
    return with_values.select(*selected, pl.when(reasons != "").then(reasons).alias(TYPE_ERRORS))


def _raw(read: FieldRead) -> pl.Expr:
    return pl.col(read.field).cast(pl.String)  # text already, or a column a reader typed


def _why(read: FieldRead) -> pl.Expr:
    quoted = _raw(read).str.slice(0, QUOTED_VALUE_CHARS)
    return pl.format(f'{read.field}: "{{}}" is not {read.read_as.expected}', quoted)


def _convert(text: pl.DataFrame, reads: Mapping[str, FieldRead]) -> tuple[pl.DataFrame, set[str]]:
    """`text` with each read's converted column, and the columns that may hold unreadable values.

    A read with a `quick` conversion takes it when it reads every value of the frame (as many
    nulls out as in): then no value of that column can be unreadable. Otherwise, and for reads
    without one, `convert` gives the column.
    """
    if not reads:
        return text, set()
    quick = {column: read for column, read in reads.items() if read.read_as.quick is not None}
    first = {column: (read.read_as.quick or read.read_as.convert)(_raw(read)) for column, read in reads.items()}
    frame = text.with_columns(**first)
    read_all = _reads_every_value(frame, quick)
    slow = {column: read for column, read in quick.items() if column not in read_all}
    if slow:
        frame = frame.with_columns(**{column: read.read_as.convert(_raw(read)) for column, read in slow.items()})
    return frame, set(reads) - read_all


def _reads_every_value(frame: pl.DataFrame, converted: Mapping[str, FieldRead]) -> set[str]:
    """The converted columns with a value wherever their field has text."""
    if not converted:
        return set()
    checks = frame.select(
        (pl.col(column).null_count() == _raw(read).null_count()).alias(column) for column, read in converted.items()
    ).row(0, named=True)
    return {column for column, every in checks.items() if every}


def split_unreadable(frame: pl.DataFrame, context: str = "") -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows whose values all read, without `TYPE_ERRORS`; quarantine rows with their reasons)."""
    if TYPE_ERRORS not in frame.columns:
        return frame, quarantine_frame(frame.clear(), "")
    failed = pl.col(TYPE_ERRORS).is_not_null()
    reason = pl.lit(f"{context}: " if context else "") + pl.col(TYPE_ERRORS)
    quarantined = as_quarantine(frame.filter(failed), reason, leave_out=[TYPE_ERRORS])
    return frame.filter(~failed).drop(TYPE_ERRORS), quarantined


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

    Rows with a wrongly typed value (`TYPE_ERRORS`) are quarantined first, then a repeated
    unique key keeps its first row; only the repeats are quarantined.
    """
    frame, unreadable = split_unreadable(frame, schema.__name__)
    frame, repeats = split_repeats(frame, schema)
    valid, invalid = _split_by_schema(frame, schema)
    held_back = [part for part in (unreadable, repeats) if part.height]
    return valid, pl.concat([*held_back, invalid]) if held_back else invalid


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
