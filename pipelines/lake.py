"""The warehouse as a DuckLake: a SQLite catalog plus Parquet data files under the data directory.

A DuckDB file admits one read-write process, and while dbt holds it no analyst can even read it
(and an analyst's open connection makes dbt fail). A DuckLake has no such lock: dbt commits
snapshots to the catalog while any number of readers attach it, each seeing the last committed
snapshot. Nothing is served: the catalog is one SQLite file, the tables are Parquet files.

This module stays light (duckdb and the standard library only): every reader, `make sql` and
the dbt plugin (`pipelines/lake_dbt_plugin.py`) import it.
"""

from __future__ import annotations

import importlib.util
import sqlite3
from pathlib import Path

import duckdb

from pipelines.settings import data_dir

LAKE_ALIAS = "lake"
# dbt's schemas in the lake (dbt_project.yml): readers start in the marts, the rest is a prefix away.
MARTS_SCHEMA = "marts"
# The DuckDB extensions the lake needs, by extension name, with the PyPI wheel that ships each.
# They are installed into DuckDB from the wheel's file: nothing is downloaded at run time.
EXTENSION_PACKAGES = {"ducklake": "duckdb_extension_ducklake", "sqlite": "duckdb_extension_sqlite"}


# Every path below is under `root`, the data directory (`PIPELINES_DATA_DIR` when not given);
# dbt_project/profiles.yml spells the same paths.
def lake_dir(root: Path | None = None) -> Path:
    return (root or data_dir()) / "lake"


def catalog_path(root: Path | None = None) -> Path:
    """The SQLite file holding the lake's catalog: schemas, tables, snapshots, file lists."""
    return lake_dir(root) / "catalog.sqlite"


def data_files_dir(root: Path | None = None) -> Path:
    """Where the lake's Parquet data files are written."""
    return lake_dir(root) / "data"


def prepare_for_writing(root: Path | None = None) -> None:
    """Make the folders (DuckLake creates neither the catalog's nor the data folder) and put the
    SQLite catalog in write-ahead-log mode before the writer attaches it.

    In SQLite's default rollback-journal mode a commit needs every reader out of the file: a
    reader querying in a loop held dbt's commits back until they failed with "database is
    locked". In WAL mode readers and the one writer do not block each other. The mode is stored
    in the file, so setting it on every write is a no-op after the first.
    """
    data_files_dir(root).mkdir(parents=True, exist_ok=True)
    catalog = sqlite3.connect(catalog_path(root), timeout=60)
    try:
        catalog.execute("PRAGMA journal_mode=WAL")
    finally:
        catalog.close()


def extension_file(name: str) -> Path:
    """The extension binary shipped in its wheel, for this DuckDB version."""
    package = EXTENSION_PACKAGES[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the Python package {package} is not installed (see requirements.lock)")
    root = Path(next(iter(spec.submodule_search_locations)))
    path = root / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not path.is_file():
        raise RuntimeError(f"{package} ships no {name} extension for DuckDB {duckdb.__version__} ({path})")
    return path


def _sql_string(value: str | Path) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def extension_statements() -> list[str]:
    """SQL that installs each extension from its wheel's file and loads it (for the CLI too)."""
    statements = []
    for name in EXTENSION_PACKAGES:
        statements += [f"INSTALL {_sql_string(extension_file(name))}", f"LOAD {name}"]
    return statements


def attach_statement(read_only: bool, root: Path | None = None, alias: str = LAKE_ALIAS) -> str:
    """ATTACH the lake as `alias` (`lake`); READ_ONLY for readers."""
    catalog = _sql_string(f"ducklake:sqlite:{catalog_path(root)}")
    options = [f"DATA_PATH {_sql_string(f'{data_files_dir(root)}/')}"]
    if read_only:
        options.insert(0, "READ_ONLY")
    return f"ATTACH IF NOT EXISTS {catalog} AS {alias} ({', '.join(options)})"


def load_extensions(con: duckdb.DuckDBPyConnection) -> None:
    """Install (once per DuckDB extension directory) and load the lake's extensions.

    INSTALL copies the file into DuckDB's extension directory, so it is skipped when that copy
    exists: concurrent readers then never rewrite it under each other.
    """
    installed = {
        row[0]
        for row in con.execute("select extension_name from duckdb_extensions() where installed or loaded").fetchall()
    }
    aliases = {"sqlite": "sqlite_scanner"}  # DuckDB's canonical name of the sqlite extension
    for name in EXTENSION_PACKAGES:
        if aliases.get(name, name) not in installed:
            con.execute(f"INSTALL {_sql_string(extension_file(name))}")
        con.execute(f"LOAD {name}")


def use_statement(read_only: bool) -> str:
    """Readers start in the marts schema (`fct_reading` and `marts.fct_reading` both resolve;
    `staging.stg_...` reaches the views); the writer in the lake's default schema."""
    return f"USE {LAKE_ALIAS}.{MARTS_SCHEMA}" if read_only else f"USE {LAKE_ALIAS}"


def connect(read_only: bool = True, root: Path | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB session with the lake attached and its marts in use: `select * from
    fct_reading`, `select * from marts.fct_reading`.

    Readers (the default) attach it READ_ONLY and see the snapshot last committed when each query
    starts; they never block dbt, nor does dbt block them. `read_only=False` is for maintenance.
    `root` is the data directory (default `PIPELINES_DATA_DIR`).
    """
    if read_only and not catalog_path(root).exists():
        raise FileNotFoundError(f"no warehouse yet at {catalog_path(root)}: build it first (make run)")
    if not read_only:
        prepare_for_writing(root)
    con = duckdb.connect()
    try:
        load_extensions(con)
        con.execute(attach_statement(read_only, root))
        _use_marts_if_built(con, read_only)
    except BaseException:
        con.close()
        raise
    return con


def _use_marts_if_built(con: duckdb.DuckDBPyConnection, read_only: bool) -> None:
    """USE the marts; a lake dbt has not built marts in yet (only seeds so far) opens at its root."""
    try:
        con.execute(use_statement(read_only))
    except duckdb.CatalogException:
        con.execute(f"USE {LAKE_ALIAS}")
