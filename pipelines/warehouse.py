"""dbt models as Dagster assets: the incremental facts per daily partition, the rest whole.

dbt is the warehouse's only writer, so both asset sets share one concurrency pool: of one with
the SQLite catalog; larger with the PostgreSQL catalog (deploy/dagster.yaml), where two builds
replacing days of the same fact may collide at commit and the loser is retried.

The facts read the landed days through unpartitioned staging views, so Dagster would see no
path from a day's extraction to that day's facts: each fact also declares the daily landed
datasets it reads (found by walking dbt's lineage to its sources). Jobs, schedules and UI
backfills then order the facts after the extraction of the same days, and a day re-landed
later (late data) marks that day of the facts for rebuilding (`late_data_condition`).

The warehouse is a DuckLake (`pipelines/lake.py`); `connect()` is every reader's way in.
"""

import json
import os
import sys
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from dagster import (
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    AssetSpec,
    AutomationCondition,
    RetryRequested,
)
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation

from pipelines.extraction import daily_landed_keys
from pipelines.lake import connect as connect  # every reader's entry: pipelines.warehouse.connect()
from pipelines.landing import ensure_schema_partitions
from pipelines.partitions import DAILY
from pipelines.settings import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()

# The venv's dbt, so the pipeline never picks up another dbt from PATH, started through a small
# launcher that ties its life to ours: a killed run never leaves dbt writing the warehouse alone.
os.environ.setdefault("PIPELINES_DBT_EXECUTABLE", str(Path(sys.executable).parent / "dbt"))
DBT_EXECUTABLE = str(Path(__file__).parent / "bin" / "dbt")
INCREMENTAL = "config.materialized:incremental"
WAREHOUSE_POOL = "duckdb_warehouse"
# DuckLake's answer when another writer committed a delete from the same table first; its own
# commit retries do not cover such a logical conflict.
COMMIT_CONFLICT = "Transaction conflict"
COMMIT_CONFLICT_RETRIES = 4


def late_data_condition() -> AutomationCondition:
    """Rebuild a day of the facts once a daily landed dataset of that day is newer than it.

    `since_last_handled` resets when the fact's day is built, so the daily job (extraction,
    then facts) triggers nothing more; a day re-landed afterwards does, whatever its age.
    Snapshots and the dbt views are left out: they would mark every day of the history.
    """
    day_relanded = AutomationCondition.any_deps_updated().allow(AssetSelection.assets(*daily_landed_keys))
    return (
        day_relanded.since_last_handled()
        & ~AutomationCondition.any_deps_in_progress()
        & ~AutomationCondition.in_progress()
    ).with_label("day re-landed after the facts were built")


class WarehouseTranslator(DagsterDbtTranslator):
    """dbt sources keep their `[vendor, dataset]` keys, which are the extraction assets' keys;
    incremental facts also depend on the daily landed datasets they read through the views."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return AssetKey([dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return "warehouse"

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None) -> AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props.get("config", {}).get("materialized") != "incremental":
            return spec
        read_days = sorted(
            (
                key
                for key in map(self.get_asset_key, _upstream_sources(manifest, unique_id))
                if key in daily_landed_keys
            ),
            key=lambda key: key.to_user_string(),
        )
        return spec.merge_attributes(deps=[AssetDep(key) for key in read_days]).replace_attributes(
            automation_condition=late_data_condition()
        )


def _upstream_sources(manifest: Mapping[str, Any], unique_id: str) -> list[Mapping[str, Any]]:
    """The dbt sources a node reads at build time: directly or through views (tables stop the
    walk: they are assets of their own, built by their own step)."""
    parents, seen, sources = list(manifest["parent_map"].get(unique_id, [])), set(), []
    while parents:
        parent = parents.pop()
        if parent in seen:
            continue
        seen.add(parent)
        if parent.startswith("source."):
            sources.append(manifest["sources"][parent])
        elif manifest["nodes"].get(parent, {}).get("config", {}).get("materialized") in ("view", "ephemeral"):
            parents.extend(manifest["parent_map"].get(parent, []))
    return sources


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
    yield from _build(context, dbt, ["build"])


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select=INCREMENTAL,
    name="dbt_incremental_models",
    **DAILY,
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
    yield from _build(context, dbt, ["build", "--vars", json.dumps(dbt_vars)])


def _build(context: AssetExecutionContext, dbt: DbtCliResource, args: list[str]) -> Iterator[Any]:
    """Run dbt; a build that lost a commit race to a concurrent writer is retried whole (it only
    replaces its own partitions, so running it again is safe); any other failure fails the step."""
    invocation = dbt.cli(args, context=context, raise_on_error=False)
    yield from invocation.stream()
    if invocation.is_successful():
        return
    if _lost_commit_race(invocation):
        context.log.warning("dbt lost a commit race to a concurrent writer of the lake; retrying the build")
        raise RetryRequested(max_retries=COMMIT_CONFLICT_RETRIES, seconds_to_wait=5 * (context.retry_number + 1))
    raise invocation.get_error() or RuntimeError(f"dbt {args[0]} failed")


def _lost_commit_race(invocation: DbtCliInvocation) -> bool:
    """Whether a node failed on DuckLake's transaction conflict (run_results.json's messages)."""
    try:
        results = invocation.get_artifact("run_results.json").get("results", [])
    except FileNotFoundError:
        return False
    return any(COMMIT_CONFLICT in (result.get("message") or "") for result in results if result["status"] == "error")
