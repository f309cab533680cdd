"""Orchestration: the facts of a day are built after that day's extraction, in the daily job, in
UI asset backfills (the backfill daemon's own machinery) and again when a day is re-landed."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    AssetSelection,
    DagsterEventType,
    DagsterInstance,
    evaluate_automation_conditions,
    instance_for_test,
    materialize,
)
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._core.test_utils import create_test_daemon_workspace_context
from dagster._core.workspace.load_target import ModuleTarget
from dagster._daemon.backfill import execute_backfill_iteration

from pipelines.definitions import defs, resources
from pipelines.extraction import daily_extraction_assets, daily_landed_keys, snapshot_extraction_assets
from pipelines.simulation.registry import all_specs
from pipelines.vendors.baxo.assets import baxo_assets, baxo_device_historics
from pipelines.warehouse import connect, dbt_incremental_models, dbt_models

NOW = datetime(2026, 11, 21, 6, tzinfo=UTC)  # the simulators' pinned clock
DAYS = ["2026-11-18", "2026-11-19", "2026-11-20"]
FACTS_STEP = "dbt_incremental_models"
FCT_READING = AssetKey(["fct_reading"])


@pytest.fixture
def simulated_vendors(start_simulator, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every vendor's simulator on a free port, the settings pointing at it (clocks pinned)."""
    for spec in all_specs():
        config = spec.config_at(NOW) if spec.config_at else None
        server = start_simulator(spec.vendor, config)
        for name, value in spec.env_for_port(server.port).items():
            monkeypatch.setenv(name, value)


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[DagsterInstance]:
    """A persistent test instance whose runs execute in-process as soon as they are launched."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    # Launched runs go straight to the launcher (the UI's queue is the run queue daemon's business).
    coordinator = {"module": "dagster._core.run_coordinator", "class": "DefaultRunCoordinator"}
    overrides = {"run_coordinator": coordinator}
    with instance_for_test(temp_dir=str(home), synchronous_run_launcher=True, overrides=overrides) as inst:
        yield inst


@pytest.fixture
def devices_and_views(simulated_vendors, instance: DagsterInstance) -> None:
    """What the snapshot job leaves before a day's run: every device list, the dbt views and dimensions."""
    assert materialize(snapshot_extraction_assets, resources=resources(), instance=instance).success
    assert materialize([dbt_models], resources=resources(), instance=instance).success


def _step_upstreams(job_name: str, step: str) -> set[str]:
    job = defs.resolve_job_def(job_name)
    structure = job.graph.dependency_structure
    return {
        output.node_name
        for node_input, outputs in structure.input_to_upstream_outputs_for_node(step).items()
        for output in outputs
    }


def test_the_daily_job_orders_the_facts_after_every_extraction_step_they_read() -> None:
    upstream = _step_upstreams("daily_partitions_job", FACTS_STEP)
    # Every daily extraction step lands something fct_reading or fct_energy_period reads, except
    # the group/report-only Primayer steps, which feed fct_leak and dim_device.
    readers = {a.node_def.name for a in daily_extraction_assets if set(a.keys) & _fact_parents()}
    assert readers >= {"baxo__device_historics", "dsmr__readings", "dsmr__hour_statistics", "encloud_device_pull"}
    assert upstream == readers


def _fact_parents() -> set[AssetKey]:
    graph = defs.resolve_asset_graph()
    return {key for fact in dbt_incremental_models.keys for key in graph.get(fact).parent_keys} & daily_landed_keys


def test_a_daily_job_run_starts_the_facts_after_the_last_extraction_step(
    devices_and_views, data_dir: Path, instance: DagsterInstance
) -> None:
    job = defs.resolve_job_def("daily_partitions_job")
    result = job.execute_in_process(partition_key=DAYS[-1], instance=instance)
    assert result.success

    facts_started = _step_times(instance, [result.run_id], DagsterEventType.STEP_START, FACTS_STEP)
    extraction_ended = {
        step: _step_times(instance, [result.run_id], DagsterEventType.STEP_SUCCESS, step)
        for step in (a.node_def.name for a in daily_extraction_assets)
    }
    assert all(len(times) == 1 for times in extraction_ended.values()), extraction_ended
    assert len(facts_started) == 1
    assert facts_started[0] >= max(times[0] for times in extraction_ended.values())
    with connect() as con:
        vendors = {v for (v,) in con.execute("select distinct vendor from fct_reading").fetchall()}
    assert vendors == {"baxo", "bagtower", "dsmr", "encloud", "primayer"}


def _step_times(instance: DagsterInstance, run_ids: list[str], event_type: DagsterEventType, step: str) -> list[float]:
    """When a step had the event, in every given run (from the instance's event log)."""
    return [
        record.event_log_entry.timestamp
        for run_id in run_ids
        for record in instance.get_records_for_run(run_id, of_type=event_type).records
        if record.event_log_entry.step_key == step
    ]


def test_a_ui_asset_backfill_builds_the_facts_once_after_extraction(
    devices_and_views, data_dir: Path, instance: DagsterInstance
) -> None:
    selection = [baxo_device_historics.key, FCT_READING]
    target = ModuleTarget(
        module_name="pipelines.definitions", attribute=None, working_directory=None, location_name="pipelines"
    )
    with create_test_daemon_workspace_context(target, instance) as workspace:
        asset_graph = workspace.create_request_context().asset_graph
        backfill = PartitionBackfill.from_asset_partitions(
            backfill_id="ui-backfill",
            asset_graph=asset_graph,
            partition_names=DAYS,
            asset_selection=selection,
            backfill_timestamp=datetime.now(UTC).timestamp(),
            tags={},
            dynamic_partitions_store=instance,
            all_partitions=False,
            title=None,
            description=None,
            run_config=None,
        )
        instance.add_backfill(backfill)
        for _ in range(10):  # the daemon's ticks: request, launch, observe
            list(execute_backfill_iteration(workspace, logging.getLogger("backfill")))
            if instance.get_backfill("ui-backfill").status != BulkActionStatus.REQUESTED:
                break
    assert instance.get_backfill("ui-backfill").status == BulkActionStatus.COMPLETED_SUCCESS

    backfill_runs = [r.run_id for r in instance.get_runs() if r.tags.get("dagster/backfill") == "ui-backfill"]
    fact_starts = _step_times(instance, backfill_runs, DagsterEventType.STEP_START, FACTS_STEP)
    extraction_ends = _step_times(instance, backfill_runs, DagsterEventType.STEP_SUCCESS, "baxo__device_historics")
    assert len(fact_starts) == 1, "dbt is called once for the whole range"
    assert extraction_ends and fact_starts[0] >= max(extraction_ends)
    materialized = instance.get_materialized_partitions(FCT_READING)
    assert materialized == set(DAYS)
    with connect() as con:
        per_day = con.execute(
            "select cast(partition_date as varchar), count(*) from fct_reading where vendor = 'baxo' group by 1"
        ).fetchall()
    assert {day for day, count in per_day if count > 0} == set(DAYS)


def test_a_day_relanded_after_its_facts_were_built_is_rebuilt(
    simulated_vendors, data_dir: Path, instance: DagsterInstance
) -> None:
    res = resources()
    day = DAYS[-1]
    facts = AssetSelection.assets(*dbt_incremental_models.keys)

    def requested_days(cursor: object = None) -> tuple[set[str], object]:
        result = evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=facts, cursor=cursor)
        return {p for p in result.get_requested_partitions(FCT_READING)}, result.cursor

    assert materialize([a for a in baxo_assets if a.partitions_def is None], resources=res, instance=instance).success
    assert materialize([baxo_device_historics], partition_key=day, resources=res, instance=instance).success
    assert materialize([dbt_models], resources=res, instance=instance).success
    assert materialize([dbt_incremental_models], partition_key=day, resources=res, instance=instance).success
    requested, cursor = requested_days()
    assert requested == set(), "the first evaluation requests nothing: the facts are newer than the data"

    # Extraction then facts, as the daily job does: the facts are already up to date.
    assert materialize([baxo_device_historics], partition_key=DAYS[0], resources=res, instance=instance).success
    assert materialize([dbt_incremental_models], partition_key=DAYS[0], resources=res, instance=instance).success
    requested, cursor = requested_days(cursor)
    assert requested == set()

    # Late data: the day is landed again after its facts were built.
    assert materialize([baxo_device_historics], partition_key=day, resources=res, instance=instance).success
    requested, cursor = requested_days(cursor)
    assert requested == {day}
