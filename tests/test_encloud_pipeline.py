"""enCloud end to end: Dagster materializations over real HTTP, then dbt on DuckDB."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from dagster import DagsterInstance, materialize

from pipelines.definitions import resources
from pipelines.vendors.baxo.assets import BaxoResource, baxo_assets
from pipelines.vendors.baxo.simulator import PASSWORD as BAXO_PASSWORD
from pipelines.vendors.baxo.simulator import USERNAME as BAXO_USERNAME
from pipelines.vendors.encloud.assets import EncloudResource, encloud_device_pull
from pipelines.vendors.encloud.client import md5_password
from pipelines.vendors.encloud.simulator import (
    API_KEY,
    API_USER_EMAIL,
    API_USER_PASSWORD,
    CUSTOMERS,
    DEFAULT_KEYS,
    EncloudSimulatorConfig,
)
from pipelines.warehouse import connect, dbt_incremental_models, dbt_models

DAYS = ["2026-11-19", "2026-11-20"]


def _resources(server, baxo_server) -> dict[str, object]:
    res = resources()
    res["baxo"] = BaxoResource(
        base_url=f"{baxo_server.url}/k1", username=BAXO_USERNAME, password=BAXO_PASSWORD, backoff_base_s=0.01
    )
    res["encloud"] = EncloudResource(
        base_url=server.url,
        email=API_USER_EMAIL,
        password=API_USER_PASSWORD,
        api_key=API_KEY,
        sensor_keys=DEFAULT_KEYS,
        customer_ids=",".join(CUSTOMERS),
        backoff_base_s=0.01,
    )
    return res


def _readings(data_dir: Path, day: str) -> pl.DataFrame:
    frame = pl.read_parquet(data_dir / "landing" / "encloud" / "device_readings" / f"date={day}" / "*.parquet")
    return frame.drop("_extracted_at").sort(frame.drop("_extracted_at").columns)


def test_dagster_and_dbt_build_router_marts_idempotently(start_simulator, data_dir: Path) -> None:
    server = start_simulator("encloud", EncloudSimulatorConfig(devices_per_customer=40, token_max_uses=3))
    res = _resources(server, start_simulator("baxo"))
    with DagsterInstance.ephemeral() as instance:
        # BAXO lands too: the marts are built from every vendor, and enCloud rows must sit beside others.
        assert materialize(baxo_assets, partition_key=DAYS[0], resources=res, instance=instance).success
        for day in DAYS:
            result = materialize([encloud_device_pull], partition_key=day, resources=res, instance=instance)
            assert result.success
        metadata = [e.materialization.metadata for e in result.get_asset_materialization_events()]
        checks = result.get_asset_check_evaluations()
        assert {c.asset_key.path[-1] for c in checks} == {"devices", "device_readings"}
        assert all(c.passed for c in checks)
        token = server.app.state.simulator._token
        for secret in (API_USER_PASSWORD, md5_password(API_USER_PASSWORD), API_KEY, token):
            assert secret not in str(metadata)
        assert materialize([dbt_models], resources=res, instance=instance).success
        window = {"dagster/asset_partition_range_start": DAYS[0], "dagster/asset_partition_range_end": DAYS[1]}
        assert materialize([dbt_incremental_models], resources=res, instance=instance, tags=window).success

        landed = sum(_readings(data_dir, day).height for day in DAYS)
        first_day = _readings(data_dir, DAYS[0])
        with connect() as con:
            routers = con.execute(
                "select count(*), count(distinct group_name), count(latitude), min(kind), max(kind) "
                "from dim_device where vendor = 'encloud'"
            ).fetchone()
            statuses = {
                r[0] for r in con.execute("select distinct status from dim_device where vendor = 'encloud'").fetchall()
            }
            seen = con.execute(
                "select count(*) from dim_device where vendor = 'encloud' and last_seen_at >= timestamptz '2026-11-20'"
            ).fetchone()[0]
            units = dict(
                con.execute(
                    "select metric, any_value(unit) from fct_reading where vendor = 'encloud' group by 1"
                ).fetchall()
            )
            vendors = {r[0] for r in con.execute("select distinct vendor from fct_reading").fetchall()}
            readings = con.execute("select count(*) from fct_reading where vendor = 'encloud'").fetchone()[0]
            codes = {
                r[0]
                for r in con.execute(
                    "select distinct value from fct_reading where metric = 'link_status_cell2'"
                ).fetchall()
            }
            rssi = con.execute("select min(value), max(value) from fct_reading where metric = 'rssi_cell'").fetchone()
        assert routers == (120, 3, 120, "router", "router")
        assert statuses <= {"registered", "waiting_for_response", "passive", "expired"} and "registered" in statuses
        assert seen > 80
        assert units == {
            "rssi_cell": "dBm",
            "rsrq_cell": "dB",
            "uptime_cell": "s",
            "uptime_system": "s",
            "link_status_cell2": "code",
        }
        assert readings == landed
        assert vendors == {"baxo", "encloud"}
        assert codes <= {0.0, 1.0, 2.0, 3.0} and 1.0 in codes
        assert -120 <= rssi[0] <= rssi[1] <= -50

        # The same partition again: the same Parquet rows, and no duplicate in the fact.
        assert materialize([encloud_device_pull], partition_key=DAYS[0], resources=res, instance=instance).success
        assert _readings(data_dir, DAYS[0]).equals(first_day)
        assert materialize([dbt_incremental_models], partition_key=DAYS[0], resources=res, instance=instance).success
        with connect() as con:
            assert con.execute("select count(*) from fct_reading where vendor = 'encloud'").fetchone()[0] == readings
