"""DSMR-reader's Dagster definitions: its assets, resource, jobs and schedules.

`pipelines/definitions.py` merges every vendor's `defs()` with the warehouse's.
"""

from __future__ import annotations

from dagster import AssetSelection, Definitions, ScheduleDefinition, define_asset_job

from pipelines.vendors.dsmr.assets import VENDOR, dsmr_assets, dsmr_readings_recent, resource_from_env


def defs() -> Definitions:
    recent_job = define_asset_job(
        "dsmr_recent_readings_job",
        selection=AssetSelection.assets(dsmr_readings_recent),
        description="DSMR-reader readings after the last landed one (cursor mode).",
    )
    return Definitions(
        assets=dsmr_assets,
        jobs=[recent_job],
        schedules=[ScheduleDefinition(job=recent_job, cron_schedule="*/15 * * * *", execution_timezone="UTC")],
        resources={VENDOR: resource_from_env()},
    )
