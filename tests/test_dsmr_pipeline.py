"""DSMR-reader end to end: Dagster materializations over real HTTP, then dbt on DuckDB."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from dagster import AssetCheckSeverity, AssetKey, DagsterInstance, materialize

from pipelines.definitions import resources
from pipelines.vendors.dsmr.assets import (
    DATALOGGER_CHECK,
    DsmrResource,
    dsmr_consumption_today,
    dsmr_day_statistics,
    dsmr_electricity_consumption,
    dsmr_energy_supplier_prices,
    dsmr_gas_consumption,
    dsmr_hour_statistics,
    dsmr_meter_statistics,
    dsmr_meters,
    dsmr_quarter_hour_peaks,
    dsmr_readings,
)
from pipelines.vendors.dsmr.simulator import DEFAULT_INSTANCES, DsmrSimulatorConfig, MeterModel
from pipelines.warehouse import connect, dbt_incremental_models, dbt_models

NOW = datetime(2026, 10, 28, 9, 30, tzinfo=UTC)
DAYS = ["2026-10-25", "2026-10-26"]  # Amsterdam and London fall back on the first


def _resources(server, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    spec = []
    for sim in DEFAULT_INSTANCES:
        env = f"TEST_DSMR_{sim.name.upper()}_KEY"
        monkeypatch.setenv(env, sim.api_key)
        spec.append(
            {"name": sim.name, "base_url": f"{server.url}/{sim.name}", "api_key_env": env, "timezone": sim.timezone}
        )
    res = resources()
    res["dsmr"] = DsmrResource(instances=json.dumps(spec), backoff_base_s=0.01)
    return res


def test_dagster_and_dbt_build_the_dsmr_marts(start_simulator, data_dir: Path, monkeypatch) -> None:
    server = start_simulator("dsmr", DsmrSimulatorConfig(now=NOW))
    res = _resources(server, monkeypatch)
    with DagsterInstance.ephemeral() as instance:
        snapshots = materialize(
            [dsmr_meters, dsmr_consumption_today, dsmr_energy_supplier_prices, dsmr_meter_statistics],
            resources=res,
            instance=instance,
        )
        assert snapshots.success
        partitioned = [
            dsmr_readings,
            dsmr_hour_statistics,
            dsmr_day_statistics,
            dsmr_quarter_hour_peaks,
            dsmr_electricity_consumption,
            dsmr_gas_consumption,
        ]
        for day in DAYS:
            result = materialize(partitioned, partition_key=day, resources=res, instance=instance)
            assert result.success
        metadata = str(result.asset_materializations_for_node("dsmr__readings")[0].metadata)
        assert all(sim.api_key not in metadata for sim in DEFAULT_INSTANCES)
        assert materialize([dbt_models], resources=res, instance=instance).success
        window = {"dagster/asset_partition_range_start": DAYS[0], "dagster/asset_partition_range_end": DAYS[1]}
        assert materialize([dbt_incremental_models], resources=res, instance=instance, tags=window).success

    with connect() as con:

        def query(sql: str) -> list[tuple]:
            return con.execute(sql).fetchall()

        devices = query("select native_id, kind, timezone from dim_device where vendor = 'dsmr' order by native_id")
        assert devices == sorted((s.name, "smart_meter", s.timezone) for s in DEFAULT_INSTANCES)
        units = dict(query("select metric, any_value(unit) from fct_reading where vendor = 'dsmr' group by 1"))
        assert units["electricity_delivered_tariff1"] == "kWh" and units["power_delivered"] == "kW"
        assert units["gas_delivered"] == "m3" and units["power_delivered_l3"] == "kW"
        per_meter = dict(
            query(
                "select d.native_id, count(*) from fct_reading r join dim_device d using (device_key) "
                "where metric = 'electricity_delivered_tariff1' group by 1"
            )
        )
        assert per_meter == {s.name: 2 * 8640 for s in DEFAULT_INSTANCES}
        # Only the three-phase meter reports L2/L3; gas moves hourly: one position per hour.
        assert query("select count(distinct device_key) from fct_reading where metric = 'power_delivered_l2'") == [(1,)]
        assert query(
            "select count(*) from fct_reading r join dim_device d using (device_key) "
            "where metric = 'gas_delivered' and d.native_id = 'home'"
        ) == [(48,)]
        decreasing = query(
            """
            select count(*) from (
                select value < lag(value) over (partition by device_key, metric order by measured_at) as down
                from fct_reading where metric like 'electricity_%' or metric = 'gas_delivered'
            ) where down
            """
        )
        assert decreasing == [(0,)]

        periods = dict(query("select period, count(*) from fct_energy_period group by 1"))
        # Local days: Amsterdam's and London's 2026-10-25 have 25 hours.
        assert periods == {"hour": 25 + 25 + 24 + 3 * 24, "day": 3 * 2}
        long_day = query(
            """
            select period_start, period_end - period_start
            from fct_energy_period e join dim_device d using (device_key)
            where d.native_id = 'home' and period = 'day' and local_date = date '2026-10-25'
            """
        )
        assert long_day == [(datetime(2026, 10, 24, 22, tzinfo=UTC), timedelta(hours=25))]
        day_row = query(
            "select electricity_delivered_tariff1_kwh + electricity_delivered_tariff2_kwh, electricity_delivered_kwh,"
            " total_cost, temperature_avg_degc from fct_energy_period e join dim_device d using (device_key)"
            " where d.native_id = 'flat' and period = 'day' and local_date = date '2026-10-26'"
        )[0]
        assert isinstance(day_row[0], Decimal) and day_row[0] == day_row[1] and day_row[2] > 0
        # The local day 2026-10-26 in Amsterdam is complete in the hours landed. As on the real
        # server each hour is computed from the readings inside it, so the 10-s step into the next
        # hour is in none: electricity hours fall just short of the day (23 steps); gas adds up.
        hours_kwh, day_kwh, hours_gas, day_gas = query(
            "select sum(electricity_delivered_kwh) filter (where period = 'hour'),"
            " any_value(electricity_delivered_kwh) filter (where period = 'day'),"
            " sum(gas_m3) filter (where period = 'hour'), any_value(gas_m3) filter (where period = 'day')"
            " from fct_energy_period e join dim_device d using (device_key)"
            " where d.native_id = 'home' and local_date = date '2026-10-26'"
        )[0]
        assert 0 < day_kwh - hours_kwh <= 24 * Decimal("0.048") and hours_kwh > 0
        assert hours_gas == day_gas > 0

        # Quarter-hour peaks: 96 quarters per UTC day and meter, one row per meter and quarter.
        assert query("select count(*), count(distinct (device_key, peak_start)) from fct_power_peak") == [(576, 576)]
        assert query("select count(*) from fct_power_peak where minute(peak_start) % 15 != 0") == [(0,)]
        noon = int(datetime(2026, 10, 26, 12, tzinfo=UTC).timestamp())
        home = MeterModel(5, DEFAULT_INSTANCES[0])
        bounds = np.array([noon, noon + 890])  # the quarter's first and last reading
        kw = Decimal(4 * sum(int(np.diff(home.positions(bounds, k))[0]) for k in ("d1", "d2"))) / 1000
        peak = query(
            "select average_power_delivered_kw from fct_power_peak p join dim_device d using (device_key)"
            " where d.native_id = 'home' and peak_start = timestamptz '2026-10-26 12:00:00+00'"
        )
        assert peak == [(kw,)]

        # Price contracts: two per meter, back to back; the October days get the 2026 contract.
        windows = query(
            "select contract_id, valid_from, valid_to from dim_energy_price p join dim_device d using (device_key)"
            " where d.native_id = 'flat' order by valid_from"
        )
        assert windows == [
            (1, date(2020, 1, 1), date(2026, 1, 1)),
            (2, date(2026, 1, 1), date(2100, 1, 1)),
        ]
        overlaps = query(
            "select count(*) from dim_energy_price a join dim_energy_price b on a.device_key = b.device_key"
            " and a.energy_price_key < b.energy_price_key and a.valid_from < b.valid_to and b.valid_from < a.valid_to"
        )
        assert overlaps == [(0,)]
        priced = query(
            "select count(*), count(electricity_tariff1_price), min(electricity_tariff1_price),"
            " max(electricity_tariff2_price), max(gas_price), max(fixed_daily_cost) from fct_energy_period"
        )
        assert priced == [
            (periods["hour"] + periods["day"],) * 2
            + (Decimal("0.21"), Decimal("0.23"), Decimal("0.95"), Decimal("0.8"))
        ]
        # The prices explain the day's costs (DSMR-reader rounds each cost to cents).
        unexplained = query(
            "select count(*) from fct_energy_period where period = 'day' and abs(electricity_tariff1_cost"
            " - electricity_delivered_tariff1_kwh * electricity_tariff1_price) > 0.005"
        )
        assert unexplained == [(0,)]

        # Compacted consumption and the snapshots reach staging.
        per_minute = dict(query("select instance, count(*) from staging.stg_dsmr__electricity_consumption group by 1"))
        assert per_minute == {s.name: 2 * 1440 for s in DEFAULT_INSTANCES}
        gas_hours = dict(query("select instance, count(*) from staging.stg_dsmr__gas_consumption group by 1"))
        assert gas_hours == {"home": 48, "flat": 48}
        assert query("select count(*) from staging.stg_dsmr__meter_statistics") == [(3,)]


def test_a_failing_new_endpoint_does_not_stop_the_readings(start_simulator, data_dir: Path, monkeypatch) -> None:
    config = DsmrSimulatorConfig(now=NOW, failing_endpoints=("consumption/quarter-hour-peak-electricity",))
    res = _resources(start_simulator("dsmr", config), monkeypatch)
    res["dsmr"] = DsmrResource(instances=res["dsmr"].instances, backoff_base_s=0.01, max_attempts=2)
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            [dsmr_readings, dsmr_quarter_hour_peaks],
            partition_key=DAYS[1],
            resources=res,
            instance=instance,
            raise_on_error=False,
        )
    assert not result.success
    assert result.asset_materializations_for_node("dsmr__readings")
    assert not result.asset_materializations_for_node("dsmr__quarter_hour_peaks")
    assert (data_dir / "landing/dsmr/readings" / f"date={DAYS[1]}").is_dir()


def test_monitoring_warns_on_the_meters_for_an_unhealthy_datalogger(start_simulator, data_dir, monkeypatch) -> None:
    config = DsmrSimulatorConfig(now=NOW, unhealthy_instances=("flat",))
    res = _resources(start_simulator("dsmr", config), monkeypatch)
    with DagsterInstance.ephemeral() as instance:
        result = materialize([dsmr_meters], resources=res, instance=instance)
    assert result.success  # a warning, not a failure: the readings still land
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    health = checks[DATALOGGER_CHECK]
    assert health.asset_key == AssetKey(["dsmr", "meters"])
    assert not health.passed and health.severity == AssetCheckSeverity.WARN
    assert health.metadata["unhealthy_instances"].value == ["flat"]
