"""dbt-duckdb plugin that readies the DuckLake before dbt attaches it (`plugins:` in profiles.yml).

dbt-duckdb opens its own DuckDB file, calls `configure_connection`, then runs the profile's
`attach` entries: the lake's folders and extensions must be ready by then. dbt-duckdb's own
`extensions:` setting installs from DuckDB's online repository, which cannot work offline; this
installs them from the wheels instead.
"""

from __future__ import annotations

import os
from datetime import date
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection

from pipelines.lake import PARTITION_WINDOW_ENV, load_extensions, prepare_for_writing


def partition_window_statements() -> list[str]:
    """`SET VARIABLE` for each bound the environment sets (none: the window is every day).

    Each value is parsed as a date first, so nothing but a date ever reaches the SQL."""
    statements = []
    for variable, env in PARTITION_WINDOW_ENV.items():
        if os.environ.get(env):
            day = date.fromisoformat(os.environ[env])
            statements.append(f"SET VARIABLE {variable} = DATE '{day.isoformat()}'")
    return statements


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        # `lake: false`: a target without the lake (the benchmark's plain DuckDB file), which
        # needs only the partition window.
        self.lake = plugin_config.get("lake", True)
        if self.lake:
            # dbt-duckdb opens its DuckDB file (in the lake's folder) before any connection hook,
            # and the catalog must be in WAL mode before the ATTACH (see prepare_for_writing).
            prepare_for_writing()

    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        if self.lake:
            load_extensions(conn)
        self.configure_cursor(conn)

    def configure_cursor(self, cursor: DuckDBPyConnection) -> None:
        # DuckDB variables belong to one connection, and dbt-duckdb runs every statement on a
        # cursor (a connection of its own): each gets the window.
        for statement in partition_window_statements():
            cursor.execute(statement)
