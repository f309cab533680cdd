"""The warehouse as a DuckLake: a SQL catalog plus Parquet data files under the data directory.

A DuckDB file admits one read-write process, and while dbt holds it no analyst can even read it
(and an analyst's open connection makes dbt fail). A DuckLake has no such lock: dbt commits
snapshots to the catalog while any number of readers attach it, each seeing the last committed
snapshot. Nothing is served: the catalog is one SQLite file, the tables are Parquet files.

Beyond one machine the catalog moves to PostgreSQL by configuration only:
`WAREHOUSE_CATALOG=postgres:dbname=lake host=... user=...` (libpq key=value settings; the
password from `PGPASSWORD` or a `.pgpass`, never in the setting). Several writers then commit to
the same lake at once (different partitions of a fact, different models), and readers on other
machines attach it too. `WAREHOUSE_DATA_PATH` moves the data files (default `<data dir>/lake/data/`),
e.g. to `s3://bucket/lake/`: DuckDB's httpfs then reads and writes them with the standard AWS
settings (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, and `AWS_ENDPOINT_URL`
for an S3-compatible store other than AWS).

This module stays light (duckdb and the standard library only): every reader, `make sql` and
the dbt plugin (`pipelines/lake_dbt_plugin.py`) import it.
"""

from __future__ import annotations

import importlib.util
import os
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

import duckdb

from pipelines.settings import data_dir, landing_uri

LAKE_ALIAS = "lake"
# dbt's schemas in the lake (dbt_project.yml): readers start in the marts, the rest is a prefix away.
MARTS_SCHEMA = "marts"
# The DuckDB extensions the lake needs, by extension name, with the PyPI wheel that ships each.
# They are installed into DuckDB from the wheel's file: nothing is downloaded at run time.
EXTENSION_PACKAGES = {
    "ducklake": "duckdb_extension_ducklake",
    "sqlite": "duckdb_extension_sqlite",
    "postgres": "duckdb_extension_postgres",
    "httpfs": "duckdb_extension_httpfs",
}
CATALOG_ENV = "WAREHOUSE_CATALOG"
DATA_PATH_ENV = "WAREHOUSE_DATA_PATH"
CATALOG_KINDS = ("sqlite", "postgres")
# The partition window of an incremental dbt run (inclusive ISO dates), passed in the environment
# and set as these DuckDB variables on dbt's connections (dbt_project/macros/in_partition_window.sql).
PARTITION_WINDOW_ENV = {
    "partition_min_date": "PIPELINES_PARTITION_MIN_DATE",
    "partition_max_date": "PIPELINES_PARTITION_MAX_DATE",
}


# Every path below is under `root`, the data directory (`PIPELINES_DATA_DIR` when not given);
# dbt_project/profiles.yml spells the same paths.
def lake_dir(root: Path | None = None) -> Path:
    return (root or data_dir()) / "lake"


def catalog_path(root: Path | None = None) -> Path:
    """The SQLite file holding the lake's catalog: schemas, tables, snapshots, file lists."""
    return lake_dir(root) / "catalog.sqlite"


def data_files_dir(root: Path | None = None) -> Path:
    """Where the lake's Parquet data files are written on the local disk (the default)."""
    return lake_dir(root) / "data"


def catalog_setting(root: Path | None = None) -> tuple[str, str]:
    """(kind, location) of the catalog: `WAREHOUSE_CATALOG`, else the SQLite file under `root`.

    An explicit `root` always means that data directory's own SQLite lake (tests compare two).
    """
    setting = os.environ.get(CATALOG_ENV, "").strip() if root is None else ""
    if not setting:
        return "sqlite", str(catalog_path(root))
    kind, _, location = setting.partition(":")
    if kind not in CATALOG_KINDS or not location:
        raise ValueError(
            f"{CATALOG_ENV} must be sqlite:<file> or postgres:<libpq settings>, got {kind or setting[:20]!r}"
        )
    return kind, location


def catalog_kind(root: Path | None = None) -> str:
    return catalog_setting(root)[0]


def allows_concurrent_writers(root: Path | None = None) -> bool:
    """A PostgreSQL catalog takes commits from many processes; SQLite's, one writer at a time."""
    return catalog_kind(root) == "postgres"


def data_path(root: Path | None = None) -> str:
    """The lake's DATA_PATH: `WAREHOUSE_DATA_PATH` (a folder or an `s3://` prefix) or the local default."""
    configured = os.environ.get(DATA_PATH_ENV, "").strip() if root is None else ""
    path = configured or str(data_files_dir(root))
    return path if path.endswith("/") else f"{path}/"


def lake_exists(root: Path | None = None) -> bool:
    """Whether readers can attach: the SQLite file exists; a server catalog is assumed to (the
    ATTACH names the server when it cannot be reached)."""
    kind, location = catalog_setting(root)
    return kind != "sqlite" or Path(location).exists()


def prepare_for_writing(root: Path | None = None) -> None:
    """Make the folders (DuckLake creates neither the catalog's nor the data folder) and put the
    SQLite catalog in write-ahead-log mode before the writer attaches it.

    In SQLite's default rollback-journal mode a commit needs every reader out of the file: a
    reader querying in a loop held dbt's commits back until they failed with "database is
    locked". In WAL mode readers and the one writer do not block each other. The mode is stored
    in the file, so setting it on every write is a no-op after the first.
    """
    kind, location = catalog_setting(root)
    if "://" not in data_path(root):
        Path(data_path(root)).mkdir(parents=True, exist_ok=True)
    if kind != "sqlite":
        return  # a server catalog serves concurrent readers and writers by itself
    Path(location).parent.mkdir(parents=True, exist_ok=True)
    catalog = sqlite3.connect(location, timeout=60)
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


def needed_extensions(root: Path | None = None) -> list[str]:
    """The lake's extensions for this configuration: its catalog's, and httpfs for data on S3,
    the lake's own or the landing zone's that dbt's sources read (`PIPELINES_LANDING_URI`)."""
    names = ["ducklake", catalog_kind(root)]
    if data_path(root).startswith("s3://") or landing_uri().startswith("s3://"):
        names.append("httpfs")
    return names


def extension_statements(root: Path | None = None) -> list[str]:
    """SQL that installs each extension from its wheel's file and loads it (for the CLI too)."""
    statements = []
    for name in needed_extensions(root):
        statements += [f"INSTALL {_sql_string(extension_file(name))}", f"LOAD {name}"]
    if "httpfs" in needed_extensions(root):
        statements.append(s3_secret_statement())
    return statements


def s3_secret_statement() -> str:
    """A DuckDB secret for the S3 data path, from the standard AWS settings (never logged: it is
    only ever executed). An `AWS_ENDPOINT_URL` (MinIO, moto, another cloud's S3 API) is reached
    with path-style addresses, over TLS when it says https."""
    options = {"TYPE": "s3", "REGION": os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or ""}
    for option, variable in (("KEY_ID", "AWS_ACCESS_KEY_ID"), ("SECRET", "AWS_SECRET_ACCESS_KEY")):
        options[option] = os.environ.get(variable, "")
    if os.environ.get("AWS_SESSION_TOKEN"):
        options["SESSION_TOKEN"] = os.environ["AWS_SESSION_TOKEN"]
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "").strip()
    if endpoint:
        parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
        options |= {"ENDPOINT": parts.netloc, "URL_STYLE": "path", "USE_SSL": str(parts.scheme == "https").lower()}
    rendered = ", ".join(
        f"{name} {value if name in ('TYPE', 'USE_SSL') else _sql_string(value)}" for name, value in options.items()
    )
    return f"CREATE OR REPLACE SECRET lake_s3 ({rendered})"


def catalog_uri(root: Path | None = None) -> str:
    """What DuckDB attaches: `ducklake:sqlite:<file>` or `ducklake:postgres:<libpq settings>`."""
    kind, location = catalog_setting(root)
    return f"ducklake:{kind}:{location}"


def attach_statement(read_only: bool, root: Path | None = None, alias: str = LAKE_ALIAS) -> str:
    """ATTACH the lake as `alias` (`lake`); READ_ONLY for readers."""
    catalog = _sql_string(catalog_uri(root))
    options = [f"DATA_PATH {_sql_string(data_path(root))}"]
    if read_only:
        options.insert(0, "READ_ONLY")
    return f"ATTACH IF NOT EXISTS {catalog} AS {alias} ({', '.join(options)})"


def load_extensions(con: duckdb.DuckDBPyConnection, root: Path | None = None) -> None:
    """Install (once per DuckDB extension directory) and load the lake's extensions.

    INSTALL copies the file into DuckDB's extension directory, so it is skipped when that copy
    exists: concurrent readers then never rewrite it under each other.
    """
    installed = {
        row[0]
        for row in con.execute("select extension_name from duckdb_extensions() where installed or loaded").fetchall()
    }
    # DuckDB's canonical names of these extensions
    aliases = {"sqlite": "sqlite_scanner", "postgres": "postgres_scanner"}
    for name in needed_extensions(root):
        if aliases.get(name, name) not in installed:
            con.execute(f"INSTALL {_sql_string(extension_file(name))}")
        con.execute(f"LOAD {name}")
    if "httpfs" in needed_extensions(root):
        con.execute(s3_secret_statement())


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
    if read_only and not lake_exists(root):
        raise FileNotFoundError(f"no warehouse yet at {catalog_path(root)}: build it first (make run)")
    if not read_only:
        prepare_for_writing(root)
    con = duckdb.connect()
    try:
        load_extensions(con, root)
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
