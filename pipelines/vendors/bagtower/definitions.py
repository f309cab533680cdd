"""Bagtower's Dagster definitions: its assets, resource, jobs and schedules.

`pipelines/definitions.py` merges every vendor's `defs()` with the warehouse's.
"""

from __future__ import annotations

from dagster import AssetSelection, Definitions, ScheduleDefinition, define_asset_job

from pipelines.vendors.bagtower.assets import VENDOR, bagtower_assets, bagtower_issues, resource_from_env


def defs() -> Definitions:
    # Issues land incrementally with a look-back; weekly, every issue the service lists is landed
    # again, so a change to an issue however old reaches fct_issue (see this folder's README).
    resync_job = define_asset_job(
        "bagtower_issues_resync_job",
        selection=AssetSelection.assets(bagtower_issues).downstream(),
        config={"ops": {"bagtower_issues": {"config": {"full_resync": True}}}},
        description="Land every Bagtower issue the service lists (full re-sync), then rebuild fct_issue.",
    )
    return Definitions(
        assets=bagtower_assets,
        jobs=[resync_job],
        # Weekly, before the 01:30 snapshots: Sundays 01:00 UTC.
        schedules=[ScheduleDefinition(job=resync_job, cron_schedule="0 1 * * 0", execution_timezone="UTC")],
        resources={VENDOR: resource_from_env()},
    )
