"""dbt models as Dagster assets: the incremental facts per daily partition, the rest whole.

dbt is the warehouse's only writer, so both asset sets share one concurrency pool of one.
"""

import json
import sys
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetKey, BackfillPolicy
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from pipelines.landing import ensure_schema_partitions
from pipelines.partitions import daily_partitions
from pipelines.settings import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()

# The venv's dbt, so the pipeline never picks up another dbt from PATH.
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")
INCREMENTAL = "config.materialized:incremental"
WAREHOUSE_POOL = "duckdb_warehouse"


class WarehouseTranslator(DagsterDbtTranslator):
    """dbt sources keep their `[vendor, dataset]` keys, which are the extraction assets' keys."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return AssetKey([dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return "warehouse"


translator = WarehouseTranslator()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    exclude=INCREMENTAL,
    name="dbt_models",
    dagster_dbt_translator=translator,
    pool=WAREHOUSE_POOL,
)
def dbt_models(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    """Seeds, staging and intermediate views, dimensions and small marts, rebuilt whole."""
    ensure_schema_partitions()
    yield from dbt.cli(["build"], context=context).stream()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select=INCREMENTAL,
    name="dbt_incremental_models",
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    dagster_dbt_translator=translator,
    pool=WAREHOUSE_POOL,
)
def dbt_incremental_models(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    """Facts rebuilt for exactly the partitions of the run (one dbt call for a whole backfill)."""
    ensure_schema_partitions()
    window = context.partition_time_window
    dbt_vars = {
        "min_date": window.start.date().isoformat(),
        "max_date": (window.end - timedelta(days=1)).date().isoformat(),
    }
    yield from dbt.cli(["build", "--vars", json.dumps(dbt_vars)], context=context).stream()
