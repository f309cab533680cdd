"""The one Dagster `Definitions`: every vendor's own `defs()` (assets, resource, its jobs and
schedules) merged with the warehouse's (the dbt marts) and the cross-vendor jobs and schedules."""

from __future__ import annotations

from dagster import (
    AssetSelection,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    Definitions,
    ScheduleDefinition,
    build_schedule_from_partitioned_job,
    define_asset_job,
    multiprocess_executor,
)

from pipelines.extraction import (
    daily_extraction_assets,
    snapshot_extraction_assets,
    vendor_definitions,
    vendor_resources,
)
from pipelines.maintenance import lake_maintenance_job, lake_maintenance_schedule
from pipelines.settings import max_processes
from pipelines.vendors import VENDORS
from pipelines.warehouse import DBT_EXECUTABLE, WarehouseDbt, dbt_incremental_models, dbt_models, dbt_project

partitioned = AssetSelection.assets(*daily_extraction_assets)
snapshots = AssetSelection.assets(*snapshot_extraction_assets)

# Launched runs (schedules, the UI) execute each step in its own process: one day's vendors
# extract side by side, and one vendor's crash cannot take another's process with it.
# `materialize()` and `make run` stay in one process. On a cluster this is the line to change
# (deploy/README.md: dagster-k8s, dagster-celery).
step_processes = multiprocess_executor.configured({"max_concurrent": max_processes()}, name="step_processes")

daily_job = define_asset_job(
    "daily_partitions_job",
    selection=partitioned | AssetSelection.assets(dbt_incremental_models),
    description="Extract one UTC day from every vendor, then rebuild that day of the facts.",
    executor_def=step_processes,
)
snapshot_job = define_asset_job(
    "snapshots_job",
    selection=snapshots | AssetSelection.assets(dbt_models),
    description="Refresh device lists and real-time values, then the dimensions and small marts.",
)


# A day re-landed after its facts were built (a late vendor, a manual re-run) gets its facts
# rebuilt without anyone remembering: see `late_data_condition` in pipelines/warehouse.py.
late_data_sensor = AutomationConditionSensorDefinition(
    "late_data_rebuilds_facts",
    target=AssetSelection.assets(dbt_incremental_models),
    default_status=DefaultSensorStatus.RUNNING,
    description="Rebuilds the facts of a day whose landed data changed after they were built.",
)


def resources() -> dict[str, object]:
    """Vendor settings from the environment (`make run` defaults them to the simulators)."""
    return {
        **vendor_resources(),
        "dbt": WarehouseDbt(
            project_dir=str(dbt_project.project_dir),
            profiles_dir=str(dbt_project.profiles_dir),
            dbt_executable=DBT_EXECUTABLE,
        ),
    }


def warehouse_definitions() -> Definitions:
    """The warehouse's own: the dbt assets, the cross-vendor jobs and schedules, the facts' sensor.

    A function, not a module-level object: the module must hold exactly one `Definitions` for
    Dagster's loaders (`dagster dev -m pipelines.definitions`, the daemon) to find it.
    """
    return Definitions(
        assets=[dbt_models, dbt_incremental_models],
        jobs=[daily_job, snapshot_job, lake_maintenance_job],
        sensors=[late_data_sensor],
        schedules=[
            # Yesterday's partition, once the day is over everywhere the fleets report from.
            build_schedule_from_partitioned_job(daily_job, hour_of_day=2, minute_of_hour=0),
            ScheduleDefinition(job=snapshot_job, cron_schedule="30 1 * * *", execution_timezone="UTC"),
            lake_maintenance_schedule,  # weekly: compaction, snapshot expiry, file cleanup (pipelines/maintenance.py)
        ],
        resources={"dbt": resources()["dbt"]},
    )


defs = Definitions.merge(*(vendor_definitions(vendor) for vendor in VENDORS), warehouse_definitions())
