"""dbt-duckdb plugin that readies the DuckLake before dbt attaches it (`plugins:` in profiles.yml).

dbt-duckdb opens its own DuckDB file, calls `configure_connection`, then runs the profile's
`attach` entries: the lake's folders and extensions must be ready by then. dbt-duckdb's own
`extensions:` setting installs from DuckDB's online repository, which cannot work offline; this
installs them from the wheels instead.
"""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection

from pipelines.lake import load_extensions, prepare_for_writing


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        # dbt-duckdb opens its DuckDB file (in the lake's folder) before any connection hook, and
        # the catalog must be in WAL mode before the ATTACH (see prepare_for_writing).
        prepare_for_writing()

    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        load_extensions(conn)
