"""The one Definitions loads as the UI and the daemon load it, and holds what the README promises."""

from __future__ import annotations

import importlib

import pytest
import yaml
from dagster import AssetKey, DefaultScheduleStatus, Definitions

from pipelines.definitions import defs
from pipelines.extraction import extraction_assets, vendor_definitions
from pipelines.settings import DBT_PROJECT_DIR
from pipelines.vendors import VENDORS


def test_definitions_load() -> None:
    Definitions.validate_loadable(defs)
    # Dagster's loaders (`dagster dev -m`, the daemon, a backfill) take the module's one Definitions.
    module = importlib.import_module("pipelines.definitions")
    assert [value for value in vars(module).values() if isinstance(value, Definitions)] == [defs]
    repository = defs.get_repository_def()
    assert {job.name for job in repository.get_all_jobs() if not job.name.startswith("__")} == {
        "daily_partitions_job",
        "snapshots_job",
        "dsmr_recent_readings_job",
        "bagtower_issues_resync_job",
        "lake_maintenance_job",
    }
    assert {s.name for s in repository.schedule_defs} >= {"daily_partitions_job_schedule"}
    # Every schedule starts stopped (README): nothing pulls from a service until turned on.
    assert {s.default_status for s in repository.schedule_defs} == {DefaultScheduleStatus.STOPPED}
    assert {s.name for s in repository.sensor_defs} == {"late_data_rebuilds_facts"}


def test_every_vendor_has_its_assets_resource_and_group() -> None:
    graph = defs.resolve_asset_graph()
    groups = {graph.get(key).group_name for a in extraction_assets for key in a.keys}
    assert groups == set(VENDORS)
    assert set(VENDORS) <= set(defs.resources)
    marts = ("dim_device", "fct_reading", "fct_energy_period", "fct_leak", "fct_issue", "quarantined_records")
    for mart in (*marts, "fct_issue_statistics", "fct_uptime", "fct_noise_histogram"):
        assert graph.has(AssetKey([mart])), mart


@pytest.mark.parametrize("vendor", VENDORS)
def test_each_vendor_is_whole_in_its_own_definitions(vendor: str) -> None:
    """A vendor's folder declares its assets, resource, jobs and schedules; the one Definitions
    only merges them (adding a vendor touches no file outside its folder but the lists of names)."""
    own = vendor_definitions(vendor)
    keys = {key for a in own.assets or () for key in a.keys}
    assert keys and {key.path[0] for key in keys} == {vendor}
    assert set(own.resources or {}) == {vendor}
    merged = {key for a in defs.assets or () if hasattr(a, "keys") for key in a.keys}
    assert keys <= merged


def test_dbt_unions_read_the_same_vendors() -> None:
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    assert project["vars"]["vendors"] == list(VENDORS)


def test_dbt_assets_are_grouped_by_layer_and_every_check_says_what_it_asserts() -> None:
    from pipelines.warehouse import dbt_incremental_models, dbt_models

    graph = defs.resolve_asset_graph()
    group = {name: graph.get(AssetKey([name])).group_name for name in ("metric_dictionary", "stg_baxo__devices")}
    group |= {name: graph.get(AssetKey([name])).group_name for name in ("int_readings_ranked", "fct_reading")}
    assert group == {
        "metric_dictionary": "seeds",
        "stg_baxo__devices": "staging",
        "int_readings_ranked": "intermediate",
        "fct_reading": "marts",
    }
    assert graph.get(AssetKey(["stg_baxo__devices"])).tags["vendor"] == "baxo"
    checks = {spec.name: spec.description for spec in [*dbt_models.check_specs, *dbt_incremental_models.check_specs]}
    assert all(checks.values()), [name for name, description in checks.items() if not description]
    assert checks["not_null_dim_device_timezone"] == (
        "`timezone` is never null (rows where vendor != 'encloud'); otherwise it fails the build."
    )
    assert checks["assert_meter_positions_never_decrease"].startswith("Cumulative meter positions")
    assert checks["columns_not_null_dim_device_device_key__vendor__native_id__kind"] == (
        "no null in `device_key`, `vendor`, `native_id`, `kind`; otherwise it fails the build."
    )


def test_the_weekly_resync_lands_every_issue_then_rebuilds_fct_issue() -> None:
    job = defs.resolve_job_def("bagtower_issues_resync_job")
    keys = {key.to_user_string() for key in job.asset_layer.selected_asset_keys}
    assert {"bagtower/issues", "bagtower/issue_events", "fct_issue", "fct_issue_statistics"} <= keys
    assert not any(key.startswith(("baxo/", "dsmr/", "encloud/", "primayer/")) for key in keys)
    schedule = defs.get_schedule_def("bagtower_issues_resync_job_schedule")
    assert schedule.cron_schedule == "0 1 * * 0"
