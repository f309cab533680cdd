"""What one dbt node that writes costs on the DuckLake before it does any work: the commit of a
small change (a view created), and the first statement after it, which loads the new snapshot's
catalog. dbt commits once per model and seed, so a cold build pays both about 90 times.

Measured on fresh lakes already holding 0, 100 and 300 small tables, for the SQLite catalog the
project ships, a PostgreSQL catalog (`WAREHOUSE_CATALOG=postgres:...`; a throw-away local server,
fsync off, when its binaries are installed) and a DuckDB-file catalog (which admits one process,
so it is no option for a warehouse analysts read while dbt writes; it shows what part is the
catalog database's).

python -m bench.lake_commit [--repeats 10]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from pipelines.lake import LAKE_ALIAS, extension_file, load_extensions
from tests.services import postgres_binary, running_postgres

TABLE_COUNTS = (0, 100, 300)
CATALOGS = ("sqlite", "postgres", "duckdb")


@contextmanager
def _catalog(folder: Path, catalog: str) -> Iterator[str]:
    """The catalog part of the ATTACH: a file in `folder`, or a database on a local server."""
    if catalog == "postgres":
        with running_postgres() as server:
            yield f"postgres:{server.create_database('lake_commit')}"
    elif catalog == "sqlite":  # as pipelines.lake.prepare_for_writing leaves it
        sqlite3.connect(folder / "catalog.sqlite").execute("PRAGMA journal_mode=WAL").connection.close()
        yield f"sqlite:{folder}/catalog.sqlite"
    else:
        yield f"duckdb:{folder}/catalog.duckdb"


def _lake(folder: Path, catalog: str) -> duckdb.DuckDBPyConnection:
    """A writer's session on a new lake whose catalog is `catalog` (`<kind>:<location>`)."""
    (folder / "data").mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    load_extensions(con, folder)  # ducklake and sqlite
    if catalog.startswith("postgres:"):
        con.execute(f"INSTALL '{extension_file('postgres')}'")
        con.execute("LOAD postgres")
    con.execute(f"ATTACH 'ducklake:{catalog}' AS {LAKE_ALIAS} (DATA_PATH '{folder}/data/')")
    con.execute(f"USE {LAKE_ALIAS}")
    return con


def _ms(con: duckdb.DuckDBPyConnection, sql: str) -> float:
    started = time.perf_counter()
    con.execute(sql)
    return (time.perf_counter() - started) * 1000


def measure(kind: str, repeats: int) -> list[dict[str, float]]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-lake-commit-") as work, _catalog(Path(work), kind) as catalog:
        con = _lake(Path(work), catalog)
        tables = 0
        for count in TABLE_COUNTS:
            for _ in range(count - tables):
                con.execute(f"CREATE TABLE t{tables} AS SELECT 1 AS x")
                tables += 1
            timings: dict[str, list[float]] = {"commit_ms": [], "first_after_ms": [], "second_after_ms": []}
            for i in range(repeats):
                timings["commit_ms"].append(_ms(con, f"BEGIN; CREATE VIEW v{count}_{i} AS SELECT 1 AS x; COMMIT"))
                timings["first_after_ms"].append(_ms(con, "DROP VIEW IF EXISTS absent"))
                timings["second_after_ms"].append(_ms(con, "DROP VIEW IF EXISTS absent"))
            rows.append({"tables": count, **{name: statistics.median(ms) for name, ms in timings.items()}})
        con.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    print("| catalog | tables | view created + commit ms | first statement after ms | second statement after ms |")
    print("|---|---|---|---|---|")
    for kind in CATALOGS:
        if kind == "postgres" and postgres_binary("initdb") is None:
            print("| postgres | - | not measured: no PostgreSQL server binaries | | |")
            continue
        for row in measure(kind, args.repeats):
            print(
                f"| {kind} | {row['tables']} | {row['commit_ms']:.1f} | {row['first_after_ms']:.1f} "
                f"| {row['second_after_ms']:.1f} |"
            )


if __name__ == "__main__":
    main()
