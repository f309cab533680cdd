"""dbt-duckdb plugin that attaches the DuckLake for dbt (`plugins:` in profiles.yml).

dbt-duckdb opens its own (in-memory) DuckDB database, calls `configure_connection`, then runs the
profile's `attach` entries. This plugin makes the lake's folders, installs its extensions from
the wheels (dbt-duckdb's own `extensions:` setting installs from DuckDB's online repository,
which cannot work offline) and attaches the lake from the settings, the same ATTACH the
analysts' sessions run. The settings are read here, at connection time, and never written into
the profile: dbt hashes the profile into its partial-parse state, and a data directory there
would cost every new data directory a whole re-parse of the project.
"""

from __future__ import annotations

import os
from datetime import date
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection

from pipelines.lake import PARTITION_WINDOW_ENV, attach_statement, lake_dir, load_extensions, prepare_for_writing


def partition_window_statements() -> list[str]:
    """`SET VARIABLE` for each bound the environment sets (none: the window is every day).

    Each value is parsed as a date first, so nothing but a date ever reaches the SQL."""
    statements = []
    for variable, env in PARTITION_WINDOW_ENV.items():
        if os.environ.get(env):
            day = date.fromisoformat(os.environ[env])
            statements.append(f"SET VARIABLE {variable} = DATE '{day.isoformat()}'")
    return statements


def spill_dir() -> str:
    """Where a dbt build spills to disk, under the data directory (quoted for SQL)."""
    return str(lake_dir() / "dbt_spill").replace("'", "''")


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        # `lake: false`: a target without the lake (the benchmark's plain DuckDB file), which
        # needs only the partition window.
        self.lake = plugin_config.get("lake", True)
        if self.lake:
            # The lake's folders must exist and the catalog be in WAL mode before the ATTACH
            # (see prepare_for_writing).
            prepare_for_writing()

    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        if self.lake:
            load_extensions(conn)
            # dbt's database is in memory: DuckDB spills what outgrows memory to this folder.
            conn.execute(f"SET temp_directory = '{spill_dir()}'")
            conn.execute(attach_statement(read_only=False))
        self.configure_cursor(conn)

    def configure_cursor(self, cursor: DuckDBPyConnection) -> None:
        # DuckDB variables belong to one connection, and dbt-duckdb runs every statement on a
        # cursor (a connection of its own): each gets the window.
        for statement in partition_window_statements():
            cursor.execute(statement)
