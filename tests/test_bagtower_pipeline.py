"""Bagtower end to end over real HTTP: Dagster materializations, incremental issues, dbt on DuckDB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
from dagster import DagsterInstance, materialize

from pipelines.definitions import resources
from pipelines.vendors.bagtower.assets import BagtowerResource, bagtower_assets, bagtower_issues, log_assets
from pipelines.vendors.bagtower.simulator import API_KEY, COMPANY_ID, OPEN_STOP_TS, BagtowerSimulatorConfig
from pipelines.vendors.baxo.assets import BaxoResource, baxo_assets, baxo_device_historics
from pipelines.vendors.baxo.simulator import PASSWORD, USERNAME
from pipelines.warehouse import connect, dbt_incremental_models, dbt_models

DAY = "2026-11-20"


def _resources(bagtower_server, baxo_server) -> dict[str, object]:
    res = resources()
    res["bagtower"] = BagtowerResource(
        base_url=f"{bagtower_server.url}/prod", api_key=API_KEY, company_id=COMPANY_ID, backoff_base_s=0.01
    )
    res["baxo"] = BaxoResource(
        base_url=f"{baxo_server.url}/k1", username=USERNAME, password=PASSWORD, backoff_base_s=0.01
    )
    return res


def _issue_spanning_days(sim) -> dict:
    """A closed issue that started on one UTC day and stopped on a later one, in the past."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    window = (int((today - timedelta(days=20)).timestamp()), int((today - timedelta(days=6)).timestamp()))
    for issue in sim.issues(*window):
        start_day, stop_day = issue["startTs"] // 86_400, issue["stopTs"] // 86_400
        if issue["stopTs"] != OPEN_STOP_TS and stop_day > start_day and issue["startTs"] >= window[0]:
            return issue
    raise AssertionError("the simulator should raise an issue spanning days in any two weeks")


def test_dagster_and_dbt_build_the_bagtower_marts(start_simulator, data_dir: Path) -> None:
    server = start_simulator("bagtower", BagtowerSimulatorConfig(malformed=True))
    sim = server.app.state.simulator
    res = _resources(server, start_simulator("baxo"))
    issue = _issue_spanning_days(sim)
    sim.config.now = issue["startTs"] + (issue["stopTs"] - issue["startTs"]) // 2  # open at the first run

    with DagsterInstance.ephemeral() as instance:
        snapshots = [a for a in [*baxo_assets, *bagtower_assets] if a.partitions_def is None]
        assert materialize(snapshots, resources=res, instance=instance).success
        logs = materialize([baxo_device_historics, *log_assets], partition_key=DAY, resources=res, instance=instance)
        assert logs.success
        open_version = pl.read_parquet(data_dir / "landing/bagtower/issues/*/*.parquet").filter(
            pl.col("issue_id") == issue["id"]
        )
        assert open_version["is_open"].to_list() == [True]
        assert open_version["stopped_at"].to_list() == [None]

        sim.config.now = issue["stopTs"] + 3600  # the issue closed since: the next run updates it
        result = materialize([bagtower_issues], resources=res, instance=instance)
        assert result.success
        metadata = str(result.get_asset_materialization_events())
        assert API_KEY not in metadata

        assert materialize([dbt_models], resources=res, instance=instance).success
        window = {"dagster/asset_partition_range_start": DAY, "dagster/asset_partition_range_end": DAY}
        assert materialize([dbt_incremental_models], resources=res, instance=instance, tags=window).success

    with connect() as con:
        row = con.execute(
            "select status, started_at, stopped_at, duration_s, device_key, monitor_id, kanban_stage "
            "from fct_issue where native_id = ?",
            [issue["id"]],
        ).fetchall()
        device_key = con.execute(
            "select device_key from dim_device where vendor = 'bagtower' and native_id = ?", [issue["deviceId"]]
        ).fetchone()[0]
        duplicates = con.execute("select count(*) - count(distinct native_id) from fct_issue").fetchone()[0]
        statuses = dict(con.execute("select status, count(*) from fct_issue group by 1").fetchall())
        devices = con.execute(
            "select kind, group_name, tags from dim_device where vendor = 'bagtower' order by name"
        ).fetchall()
        readings = dict(
            con.execute("select source, count(*) from fct_reading where vendor = 'bagtower' group by 1").fetchall()
        )
        units = dict(
            con.execute(
                "select metric || '/' || aggregation, any_value(unit) from fct_reading where vendor = 'bagtower' "
                "and metric in ('temperature', 'door_open', 'humidity') group by 1"
            ).fetchall()
        )
        held_back = con.execute(
            "select reason from quarantined_records where vendor = 'bagtower' and dataset = 'device_log_summaries'"
        ).fetchall()

    started = datetime.fromtimestamp(issue["startTs"], UTC)
    stopped = datetime.fromtimestamp(issue["stopTs"], UTC)
    assert len(row) == 1
    status, started_at, stopped_at, duration_s, issue_device, monitor_id, stage = row[0]
    assert status in ("closed", "archived")
    assert (started_at, stopped_at) == (started, stopped)
    assert duration_s == issue["stopTs"] - issue["startTs"]
    assert issue_device == device_key and monitor_id == issue["causeMonitorId"] and stage == "Resolved"
    assert duplicates == 0
    assert set(statuses) <= {"open", "closed", "archived"} and statuses.get("closed", 0) > 0
    assert len(devices) == 5 and {d[0] for d in devices} == {"monitored_device"}
    assert devices[0][1:] == ("lab", ["lab"])
    assert readings["device"] > 0 and readings["aggregate"] > 0
    # One metric name per quantity: the statistic is a column, and a flag's hourly mean a ratio.
    assert {key: units[key] for key in ("temperature/none", "temperature/mean", "humidity/max")} == {
        "temperature/none": "degC",
        "temperature/mean": "degC",
        "humidity/max": "pct",
    }
    assert {key: units[key] for key in ("door_open/none", "door_open/state_change", "door_open/mean")} == {
        "door_open/none": "flag",
        "door_open/state_change": "flag",
        "door_open/mean": "ratio",
    }
    assert [r[0] for r in held_back] == [
        f"temperature max of device {sim.devices[0].id}: x and y differ in length (24 x, 23 y)"
    ]
