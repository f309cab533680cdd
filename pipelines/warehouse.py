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

import importlib.metadata
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import timedelta
from functools import cache, cached_property
from pathlib import Path
from typing import Any, cast

from dagster import (
    AssetCheckSpec,
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    AssetSelection,
    AssetSpec,
    AutomationCondition,
    MetadataValue,
    OpExecutionContext,
    Output,
    RetryRequested,
    TableColumn,
    TableSchema,
)
from dagster_dbt import DagsterDbtTranslator, DbtCliInvocation, DbtCliResource, DbtProject, dbt_assets
from dagster_dbt.asset_utils import (
    DBT_INDIRECT_SELECTION_ENV,
    extract_runtime_selection_from_args,
    get_updated_cli_invocation_params_for_context,
)
from dagster_dbt.dbt_manifest import validate_manifest
from duckdb import DuckDBPyConnection
from packaging.version import Version

from pipelines import dbt_parse_state
from pipelines.dbt_in_process import InProcessDbt, environment_set
from pipelines.extraction import daily_landed_keys
from pipelines.fact_inputs import (
    FINGERPRINTS_METADATA,
    PARTITION_ROWS_METADATA,
    days_between,
    input_fingerprint,
    lands_nothing,
    unchanged_days,
    upstream_of,
)
from pipelines.lake import LAKE_ALIAS, PARTITION_WINDOW_ENV, lake_exists
from pipelines.lake import connect as connect  # every reader's entry: pipelines.warehouse.connect()
from pipelines.landing import ensure_schema_partitions
from pipelines.partitions import DAILY
from pipelines.settings import DBT_PROJECT_DIR, data_dir

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()

INCREMENTAL = "config.materialized:incremental"
# The venv's dbt CLI (never another dbt from PATH): `make manifest`, the bench and the tests run
# it; the Dagster steps run dbt in their own process (`WarehouseDbt`).
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")


class WarehouseDbt(DbtCliResource):
    """dagster-dbt's dbt CLI resource, running dbt in the step's process (`InProcessDbt`) and
    without two fixed costs dagster-dbt pays in every step for things this project does not use:

    - `dbt --version` in a subprocess (about 3 s: dbt's imports) to learn the CLI's version: it
      is the installed dbt-core's.
    - dbt's adapter opened in this process (about 1.4 s), which dagster-dbt needs only for
      `fetch_row_counts()`/`fetch_column_metadata()`. The warehouse's metadata is read from the
      lake instead (`_with_warehouse_metadata`).

    tests/test_warehouse_dbt.py checks the version against the real dbt and the in-process
    events against a dbt subprocess's.
    """

    @cached_property
    def _cli_version(self) -> Version:
        return Version(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> Any:
        return None

    def cli(
        self,
        args: Sequence[str],
        *,
        raise_on_error: bool = True,
        manifest: Any = None,
        dagster_dbt_translator: DagsterDbtTranslator | None = None,
        context: OpExecutionContext | AssetExecutionContext | None = None,
        target_path: Path | None = None,
    ) -> DbtCliInvocation:
        """`DbtCliResource.cli` (its selection, target folder and environment, by its own
        helpers), with dbt run by `InProcessDbt` instead of `subprocess.Popen`."""
        translator = dagster_dbt_translator or DagsterDbtTranslator()
        cleaned_args, selects, excludes = extract_runtime_selection_from_args(args)
        params = get_updated_cli_invocation_params_for_context(
            context=context,
            manifest=validate_manifest(manifest) if manifest else {},
            dagster_dbt_translator=translator,
            runtime_selects=selects,
            runtime_excludes=excludes,
        )
        project_dir = Path(params.dbt_project.project_dir if params.dbt_project else self.project_dir)
        target_path = target_path or self._get_unique_target_path(context=context)
        target_path = target_path if target_path.is_absolute() else project_dir / target_path
        env = {
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            # No manifest.json or run_results.json: dagster-dbt reads the events, and dbt wrote the
            # 1.5 MB manifest twice a call and run_results.json again after every node (~1 s of a
            # scheduled day). dbt.log and the parse state are still written.
            "DBT_WRITE_JSON": "false",
            "DBT_LOG_FORMAT": "json",  # the lines dagster-dbt parses
            "DBT_TARGET_PATH": os.fspath(target_path),
            "DBT_LOG_PATH": os.fspath(target_path),
            "DBT_PROFILES_DIR": os.fspath(self.profiles_dir or project_dir),
            "DBT_PROJECT_DIR": os.fspath(project_dir),
        }
        if params.indirect_selection:
            env[DBT_INDIRECT_SELECTION_ENV] = params.indirect_selection
        profile = ["--profile", self.profile] if self.profile else []
        profile += ["--target", self.target] if self.target else []
        command = [self.dbt_executable, *self.global_config_flags, *cleaned_args, *profile, *params.selection_args]
        return DbtCliInvocation(
            process=cast(subprocess.Popen, InProcessDbt(command, env)),
            manifest=params.manifest,
            dagster_dbt_translator=params.dagster_dbt_translator,
            project_dir=project_dir,
            target_path=target_path,
            raise_on_error=raise_on_error,
            cli_version=self._cli_version,
            project=params.dbt_project,
            context=context,
        )


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


# The dbt layers, each a schema of the lake and an asset group in Dagster (dbt_project.yml).
LAYERS = ("seeds", "staging", "intermediate", "marts")
# Who answers for the warehouse's tables in the UI; the extraction assets name no owner.
WAREHOUSE_OWNER = "team:data-platform"


class WarehouseTranslator(DagsterDbtTranslator):
    """dbt sources keep their `[vendor, dataset]` keys, which are the extraction assets' keys;
    incremental facts also depend on the daily landed datasets they read through the views.
    Models are grouped by layer (seeds, staging, intermediate, marts) like the lake's schemas,
    and every dbt test becomes a check with a description saying what it asserts."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return AssetKey([dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return layer_of(dbt_resource_props)

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        return [WAREHOUSE_OWNER]

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        """The layer, and the vendor of a vendor's own model (its folder), to filter the UI by."""
        tags = {"layer": layer_of(dbt_resource_props)}
        vendor = _vendor_folder(dbt_resource_props)
        return {**tags, "vendor": vendor} if vendor else tags

    def get_asset_check_spec(
        self, asset_spec: AssetSpec, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        return spec._replace(description=describe_test(manifest["nodes"][unique_id]))

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None) -> AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props.get("config", {}).get("materialized") != "incremental":
            return spec
        read_days = sorted(
            (key for key in map(self.get_asset_key, upstream_of(manifest, unique_id)[0]) if key in daily_landed_keys),
            key=lambda key: key.to_user_string(),
        )
        # Skippable: a day whose inputs did not change since its last build is not built again.
        return spec.merge_attributes(deps=[AssetDep(key) for key in read_days]).replace_attributes(
            automation_condition=late_data_condition(), skippable=True
        )


def layer_of(dbt_resource_props: Mapping[str, Any]) -> str:
    """seeds, staging, intermediate or marts: a seed by its type, a model by its top folder."""
    if dbt_resource_props["resource_type"] == "seed":
        return "seeds"
    fqn = dbt_resource_props.get("fqn", [])
    return fqn[1] if len(fqn) > 2 and fqn[1] in LAYERS else "marts"


def _vendor_folder(dbt_resource_props: Mapping[str, Any]) -> str | None:
    """The vendor of a model in a vendor's folder (`staging/<vendor>/...`), else None."""
    fqn = dbt_resource_props.get("fqn", [])
    return fqn[2] if len(fqn) > 3 and fqn[2] in _known_vendors() else None


def _known_vendors() -> tuple[str, ...]:
    from pipelines.vendors import VENDORS

    return tuple(VENDORS)


def describe_test(test: Mapping[str, Any]) -> str:
    """What a dbt test asserts, in words, for its Dagster check: its own description if it has
    one, a singular test's leading comment, or words built from a generic test's arguments."""
    config = test.get("config", {})
    outcome = "warns" if (config.get("severity") or "error").lower() == "warn" else "fails the build"
    scope = f" (rows where {config['where']})" if config.get("where") else ""
    assertion = test.get("description") or _leading_comment(test.get("raw_code", ""))
    if not assertion:
        assertion = _generic_assertion(test.get("test_metadata") or {}, test["name"])
    return f"{assertion.rstrip('.')}{scope}; otherwise it {outcome}."


def _generic_assertion(metadata: Mapping[str, Any], name: str) -> str:
    kwargs = metadata.get("kwargs", {})
    subject = f"`{kwargs['column_name']}`" if kwargs.get("column_name") else "the model"
    phrases = {
        "not_null": f"{subject} is never null",
        "columns_not_null": f"no null in {', '.join(f'`{c}`' for c in kwargs.get('columns', []))}",
        "unique": f"{subject} is unique",
        "accepted_values": f"{subject} is one of {kwargs.get('values')}",
        "relationships": f"every {subject} is in {_ref_name(kwargs.get('to'))}.{kwargs.get('field')}",
        "unique_combination_of_columns": f"({', '.join(kwargs.get('combination_of_columns', []))}) is unique",
        "nothing_held_back_in_warehouse": f"no row of {kwargs.get('vendor')} was kept out of the marts",
    }
    return phrases.get(metadata.get("name", ""), f"`{name}` returns no rows")


def _leading_comment(sql: str) -> str:
    """The first paragraph of the `--` comment a singular test's SQL opens with."""
    lines: list[str] = []
    for line in sql.strip().splitlines():
        if not line.startswith("--") or (lines and line.strip() == "--"):
            break
        lines.append(line.removeprefix("--").strip())
    return " ".join(lines)


def _ref_name(to: object) -> str:
    """`ref('dim_device')` -> `dim_device`."""
    text = str(to)
    return text.split("'")[1] if "'" in text else text


translator = WarehouseTranslator()


def _with_warehouse_metadata(
    invocation: DbtCliInvocation,
    extra: Mapping[str, Mapping[str, Any]] | None = None,
    window: tuple[str, str] | None = None,
) -> Iterator[Any]:
    """dbt's events, each table's carrying its row count and column schema (names, types,
    descriptions) read from the lake as dbt finishes it.

    Not dagster-dbt's fetch_row_counts()/fetch_column_metadata(): they open dbt's adapter in this
    process, which kept dbt's DuckDB file locked after the build, so the next dbt invocation from
    the same process (the facts after the models) failed with "Could not set lock on file"
    (`WarehouseDbt` no longer opens that adapter at all). A read-only reader attaches the lake
    itself and holds no lock. `extra` adds metadata to the events of the nodes it names (by
    unique_id); with a partition `window`, an incremental table's event also carries its rows per
    day of the window.
    """
    manifest, lake = invocation.manifest, None
    try:
        for event in invocation.stream():
            node = _built_table(event, manifest)
            if node is None:
                yield event
                continue
            lake = lake or connect()  # opened once dbt has created the lake's catalog
            event = _with_table_metadata(event, node, lake)
            added = dict((extra or {}).get(node["unique_id"], {}))
            if window and node["config"].get("materialized") == "incremental":
                days = {day: 0 for day in days_between(*window)} | _rows_by_day(lake, node, window)
                added[PARTITION_ROWS_METADATA] = MetadataValue.json(days)
            yield event.with_metadata({**event.metadata, **added})
    finally:
        if lake is not None:
            lake.close()


def _built_table(event: Any, manifest: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The dbt node of a table's (or seed's) materialization event, else None (views are left
    alone: counting would run their whole query)."""
    if not isinstance(event, Output | AssetMaterialization) or "unique_id" not in event.metadata:
        return None
    node = manifest["nodes"].get(event.metadata["unique_id"].value)
    return node if node and node["config"].get("materialized") in ("table", "incremental", "seed") else None


def _with_table_metadata(event: Any, node: Mapping[str, Any], lake: DuckDBPyConnection) -> Any:
    """The event with `dagster/row_count` and `dagster/column_schema` of the node's table."""
    schema, table = node["schema"], node["alias"]
    columns = lake.execute(
        "select column_name, data_type, comment from duckdb_columns()"
        " where database_name = ? and schema_name = ? and table_name = ? order by column_index",
        [LAKE_ALIAS, schema, table],
    ).fetchall()
    ((rows,),) = lake.execute(f'select count(*) from {LAKE_ALIAS}."{schema}"."{table}"').fetchall()
    column_schema = TableSchema(columns=[TableColumn(name, kind, description=note) for name, kind, note in columns])
    return event.with_metadata({**event.metadata, "dagster/row_count": rows, "dagster/column_schema": column_schema})


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
    """Facts rebuilt for exactly the partitions of the run (one dbt call for a whole backfill),
    leaving out each fact whose inputs for those days are those of its last successful build."""
    ensure_schema_partitions()
    window = context.partition_time_window
    first, last = window.start.date().isoformat(), (window.end - timedelta(days=1)).date().isoformat()
    current = _input_fingerprints(context, days_between(first, last))
    facts = _selected_facts(context)
    unchanged = [uid for uid, key in facts.items() if _all_unchanged(context, key, current[uid], (first, last))]
    empty = [uid for uid in facts if uid not in unchanged and nothing_to_build(uid, (first, last))]
    if len(unchanged) + len(empty) == len(current):
        context.log.info(f"inputs of {first}..{last} unchanged since their last build or not landed: dbt not run")
        return
    if unchanged:
        context.log.info(f"inputs unchanged since their last build, left out: {', '.join(sorted(unchanged))}")
    if empty:
        context.log.info(f"nothing landed and no rows for {first}..{last}, left out: {', '.join(sorted(empty))}")
    left_out = unchanged + empty
    exclude = ["--exclude", " ".join(_manifest()["nodes"][uid]["name"] for uid in left_out)] if left_out else []
    recorded = {uid: {FINGERPRINTS_METADATA: MetadataValue.json(days)} for uid, days in current.items()}
    with _partition_window_env(first, last):
        yield from _build(context, dbt, ["build", *exclude], recorded, (first, last))


@cache
def _manifest() -> Mapping[str, Any]:
    return json.loads(dbt_project.manifest_path.read_text())


def _selected_facts(context: AssetExecutionContext) -> dict[str, AssetKey]:
    """The incremental models this step builds: unique_id -> asset key."""
    selected = context.selected_asset_keys
    return {
        uid: key
        for uid, node in _manifest()["nodes"].items()
        if node["resource_type"] == "model"
        and node["config"].get("materialized") == "incremental"
        and (key := translator.get_asset_key(node)) in selected
    }


def _input_fingerprints(context: AssetExecutionContext, days: Sequence[str]) -> dict[str, dict[str, str | None]]:
    """Per selected fact, per day of the window, the fingerprint of what that day is built from."""
    daily = frozenset(tuple(key.path) for key in daily_landed_keys)
    return {
        uid: {day: input_fingerprint(_manifest(), uid, day, daily) for day in days} for uid in _selected_facts(context)
    }


def _all_unchanged(
    context: AssetExecutionContext, key: AssetKey, days: Mapping[str, str | None], window: tuple[str, str]
) -> bool:
    return len(unchanged_days(context.instance, key, days, lambda: _fact_rows(_fact_id(key), window))) == len(days)


def nothing_to_build(unique_id: str, window: tuple[str, str]) -> bool:
    """Whether the fact has nothing to build or test in the window: none of its daily datasets
    landed on those days, it holds no rows of them (rows there would have to be deleted), and its
    table exists (the first build creates it, empty if need be: readers always find every mart)."""
    daily = frozenset(tuple(key.path) for key in daily_landed_keys)
    if not lands_nothing(_manifest(), unique_id, days_between(*window), daily) or not lake_exists():
        return False
    with connect() as lake:  # one reader answers both
        node = _manifest()["nodes"][unique_id]
        return _table_exists(lake, node) and not any(_rows_by_day(lake, node, window).values())


def _fact_rows(unique_id: str, window: tuple[str, str]) -> dict[str, int]:
    """The fact's rows per day of the window now ({} before the lake exists)."""
    if not lake_exists():
        return {}
    with connect() as lake:
        return _rows_by_day(lake, _manifest()["nodes"][unique_id], window)


def _fact_id(key: AssetKey) -> str:
    return next(uid for uid, node in _manifest()["nodes"].items() if translator.get_asset_key(node) == key)


def _rows_by_day(lake: DuckDBPyConnection, node: Mapping[str, Any], window: tuple[str, str]) -> dict[str, int]:
    """Rows of an incremental fact per partition day of the window ({} before its first build)."""
    if not _table_exists(lake, node):
        return {}
    schema, table = node["schema"], node["alias"]
    rows = lake.execute(
        f'select partition_date::varchar, count(*) from {LAKE_ALIAS}."{schema}"."{table}"'
        " where partition_date between ?::date and ?::date group by all",
        list(window),
    ).fetchall()
    return {day: count for day, count in rows}


def _table_exists(lake: DuckDBPyConnection, node: Mapping[str, Any]) -> bool:
    found = lake.execute(
        "select count(*) from duckdb_tables() where database_name = ? and schema_name = ? and table_name = ?",
        [LAKE_ALIAS, node["schema"], node["alias"]],
    ).fetchall()[0][0]
    return bool(found)


def _partition_window_env(first: str, last: str) -> AbstractContextManager[None]:
    """The window for dbt's connections (lake_dbt_plugin), in the environment dbt reads: not
    `--vars`, whose every change costs dbt a whole re-parse (macros/in_partition_window.sql)."""
    return environment_set(dict(zip(PARTITION_WINDOW_ENV.values(), (first, last), strict=True)))


def _build(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    args: list[str],
    extra_metadata: Mapping[str, Mapping[str, Any]] | None = None,
    window: tuple[str, str] | None = None,
) -> Iterator[Any]:
    """Run dbt; a build that lost a commit race to a concurrent writer is retried whole (it only
    replaces its own partitions, so running it again is safe); any other failure fails the step."""
    # A target folder of the call's own, named as dagster-dbt names one (artifacts of concurrent
    # calls never mix), starting from the data directory's last parse state (dbt_parse_state).
    name = f"{context.op_execution_context.op.name}-{context.run.run_id[:7]}-{uuid.uuid4().hex[:7]}"
    target_path, kept_dir = DBT_PROJECT_DIR / "target" / name, data_dir() / "lake"
    fingerprint = dbt_parse_state.project_fingerprint(DBT_PROJECT_DIR)
    dbt_parse_state.seed_target(target_path, kept_dir, DBT_PROJECT_DIR, fingerprint)
    invocation = dbt.cli(args, context=context, raise_on_error=False, target_path=target_path)
    yield from _with_warehouse_metadata(invocation, extra_metadata, window)
    dbt_parse_state.keep(target_path, kept_dir, fingerprint)
    if invocation.is_successful():
        return
    if _lost_commit_race(invocation):
        context.log.warning("dbt lost a commit race to a concurrent writer of the lake; retrying the build")
        raise RetryRequested(max_retries=COMMIT_CONFLICT_RETRIES, seconds_to_wait=5 * (context.retry_number + 1))
    raise invocation.get_error() or RuntimeError(f"dbt {args[0]} failed")


def _lost_commit_race(invocation: DbtCliInvocation) -> bool:
    """Whether a node failed on DuckLake's transaction conflict (dbt's error events)."""
    return any(COMMIT_CONFLICT in error for error in cast(InProcessDbt, invocation.process).errors)
