"""DSMR-reader beyond readings and statistics, over real HTTP to the simulator: quarter-hour
peaks, compacted consumption, price contracts, meter statistics and monitoring."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import numpy as np
import polars as pl
import polars.selectors as cs
import pytest
from dagster import DagsterInstance, materialize

from pipelines.http import RetryPolicy, VendorDataError
from pipelines.vendors.dsmr.assets import (
    DsmrResource,
    datalogger_health,
    dsmr_readings,
    dsmr_readings_recent,
    land_electricity_consumption,
    land_energy_supplier_prices,
    land_gas_consumption,
    land_meter_statistics,
    land_quarter_hour_peaks,
)
from pipelines.vendors.dsmr.client import DsmrClient, DsmrInstance
from pipelines.vendors.dsmr.simulator import DEFAULT_INSTANCES, DsmrSimulatorConfig, MeterModel, SimInstance
from tests.landed import landed as landed_partition
from tests.landed import rows_of

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
DAY = "2026-11-20"
HOME, CABIN, FLAT = DEFAULT_INSTANCES


def make_client(server, sim: SimInstance, *, limit: int = 2000) -> DsmrClient:
    instance = DsmrInstance(sim.name, f"{server.url}/{sim.name}", sim.api_key, sim.timezone)
    retry = RetryPolicy(max_attempts=3, backoff_base_s=0.01, backoff_max_s=0.05)
    return DsmrClient(instance, timeout_s=30.0, retry=retry, page_limit=limit)


def clients(server, *, limit: int = 2000) -> list[DsmrClient]:
    return [make_client(server, sim, limit=limit) for sim in DEFAULT_INSTANCES]


def landed(data_dir: Path, dataset: str, day: str, zone: str = "landing") -> pl.DataFrame:
    return landed_partition(data_dir, "dsmr", dataset, day, zone)


@pytest.fixture
def server(start_simulator):
    return start_simulator("dsmr", DsmrSimulatorConfig(now=NOW))


def test_quarter_hour_peaks_land_every_quarter_with_the_average_power(server, data_dir: Path) -> None:
    raw = httpx.get(
        f"{server.url}/home/api/v2/consumption/quarter-hour-peak-electricity",
        headers={"X-AUTHKEY": HOME.api_key},
        params={"read_at_start__gte": "2026-11-20T00:00:00+00:00", "limit": 2},
    ).json()
    assert set(raw) == {"count", "next", "previous", "results"} and raw["next"]
    first = raw["results"][0]
    assert first["read_at_start"] == "2026-11-20T01:00:00+01:00"  # the zone's offset
    assert first["read_at_end"] == "2026-11-20T01:14:50+01:00"  # the quarter's last reading
    assert isinstance(first["average_delivered"], str) and first["average_delivered"].count(".") == 1

    result = land_quarter_hour_peaks(clients(server, limit=7), DAY)
    frame = landed(data_dir, "quarter_hour_peaks", DAY)
    assert result.landed_rows == frame.height == 3 * 96 and result.quarantined_rows == 0
    assert frame.group_by("instance").len().sort("instance")["len"].to_list() == [96, 96, 96]
    start = datetime(2026, 11, 20, tzinfo=UTC)
    assert frame["read_at_start"].min() >= start and frame["read_at_start"].max() < start + timedelta(days=1)

    # Exact: 4 x the kWh delivered (both tariffs) between the quarter's first and last reading.
    model = MeterModel(5, HOME)
    first_t = int(start.timestamp()) + 900 * 10
    last_t = first_t + 890
    bounds = np.array([first_t, last_t])
    wh = sum(int(np.diff(model.positions(bounds, k))[0]) for k in ("d1", "d2"))
    tenth = frame.filter(pl.col("instance") == "home").sort("read_at_start").row(10, named=True)
    assert tenth["read_at_start"] == datetime.fromtimestamp(first_t, UTC)
    assert tenth["average_delivered"] == Decimal(4 * wh) / 1000

    land_quarter_hour_peaks(clients(server), DAY)  # idempotent
    assert rows_of(landed(data_dir, "quarter_hour_peaks", DAY)).equals(rows_of(frame))


def test_consumption_records_land_by_utc_day(server, data_dir: Path) -> None:
    land_electricity_consumption(clients(server, limit=500), DAY)
    electricity = landed(data_dir, "electricity_consumption", DAY)
    assert electricity.group_by("instance").len()["len"].to_list() == [1440] * 3
    assert electricity.select("instance", "consumption_id").is_unique().all()
    home = electricity.filter(pl.col("instance") == "home").sort("read_at")
    model = MeterModel(5, HOME)
    noon = int(datetime(2026, 11, 20, 12, tzinfo=UTC).timestamp())
    row = home.filter(pl.col("read_at") == datetime.fromtimestamp(noon, UTC)).row(0, named=True)
    # The minute's last reading (12:00:50 for a meter reading on whole tens of seconds).
    assert row["delivered_1"] == Decimal(int(model.positions(np.array([noon + 50]), "d1")[0])) / 1000
    assert row["delivered_2"] == Decimal(int(model.positions(np.array([noon + 50]), "d2")[0])) / 1000

    land_gas_consumption(clients(server), DAY)
    gas = landed(data_dir, "gas_consumption", DAY)
    # Cabin has no gas meter; the others move hourly.
    assert dict(gas.group_by("instance").len().iter_rows()) == {"home": 24, "flat": 24}
    hour = gas.filter(pl.col("instance") == "home").sort("read_at").row(12, named=True)
    h = (noon - int(model.t0)) // 3600
    assert hour["delivered"] == Decimal(int(model.cumulative["gas"][h])) / 1000
    assert hour["currently_delivered"] == Decimal(int(model.hourly["gas"][h - 1])) / 1000

    before = rows_of(gas)
    land_gas_consumption(clients(server), DAY)
    assert rows_of(landed(data_dir, "gas_consumption", DAY)).equals(before)


def test_price_contracts_and_meter_statistics_land_as_snapshots(server, data_dir: Path) -> None:
    prices = land_energy_supplier_prices(clients(server))
    frame = pl.read_parquet(data_dir / "landing/dsmr/energy_supplier_prices/*/*.parquet")
    assert prices.landed_rows == frame.height == 3 * 2
    current = frame.filter((pl.col("instance") == "home") & (pl.col("contract_id") == 2)).row(0, named=True)
    assert current["start_date"] == date(2026, 1, 1) and current["end_date"] == date(2099, 12, 31)
    assert current["electricity_delivered_1_price"] == Decimal("0.210000")
    assert current["gas_price"] == Decimal("0.950000") and current["fixed_daily_cost"] == Decimal("0.800000")

    stats = land_meter_statistics(clients(server))
    assert stats.landed_rows == 3
    meters = pl.read_parquet(data_dir / "landing/dsmr/meter_statistics/*/*.parquet").sort("instance")
    cabin = meters.row(0, named=True)
    assert cabin["instance"] == "cabin" and cabin["voltage_sag_count_l2"] is None  # single phase
    # The newest reading before the pinned clock (cabin reads 3 s past each 10 s).
    assert cabin["measured_at"] == NOW - timedelta(seconds=7)
    assert cabin["dsmr_version"] == "50"


def test_monitoring_warns_for_an_unhealthy_instance(start_simulator) -> None:
    healthy = start_simulator("dsmr", DsmrSimulatorConfig(now=NOW))
    check = datalogger_health(clients(healthy))
    assert check.passed

    sick = start_simulator("dsmr", DsmrSimulatorConfig(now=NOW, unhealthy_instances=("cabin",)))
    check = datalogger_health(clients(sick))
    assert not check.passed and check.severity.value == "WARN"
    assert check.metadata["unhealthy_instances"].value == ["cabin"]
    assert check.metadata["issues"].value["cabin"][0]["source"] == "Datalogger"

    broken = start_simulator("dsmr", DsmrSimulatorConfig(now=NOW, failing_endpoints=("application/monitoring",)))
    check = datalogger_health(clients(broken))
    assert not check.passed and check.metadata["unhealthy_instances"].value == ["cabin", "flat", "home"]


@pytest.mark.parametrize(
    "form",
    [
        {"timestamp_form": "utc_z"},
        {"timestamp_form": "utc_offset", "fractional_seconds": True},
        {"decimals_as_numbers": True},
    ],
)
def test_every_open_form_lands_the_same_peaks_and_consumption(start_simulator, data_dir: Path, form: dict) -> None:
    plain = start_simulator("dsmr", DsmrSimulatorConfig(now=NOW))
    variant = start_simulator("dsmr", DsmrSimulatorConfig(now=NOW, **form))
    expected = {}
    for land, dataset in ((land_quarter_hour_peaks, "quarter_hour_peaks"), (land_gas_consumption, "gas_consumption")):
        land(clients(plain), DAY)
        expected[dataset] = rows_of(landed(data_dir, dataset, DAY)).drop(cs.ends_with("_raw"))
    for land, dataset in ((land_quarter_hour_peaks, "quarter_hour_peaks"), (land_gas_consumption, "gas_consumption")):
        land(clients(variant), DAY)
        assert rows_of(landed(data_dir, dataset, DAY)).drop(cs.ends_with("_raw")).equals(expected[dataset])


def test_a_zone_set_wrong_fails_the_peaks_before_anything_lands(server, data_dir: Path) -> None:
    wrong = replace(CABIN, timezone="Europe/Amsterdam")
    with pytest.raises(VendorDataError, match="timezone"):
        land_quarter_hour_peaks([make_client(server, wrong)], DAY)
    assert not (data_dir / "landing/dsmr/quarter_hour_peaks" / f"date={DAY}").exists()


def test_the_cursor_asset_records_the_readings_partitions_it_rewrites(start_simulator, data_dir, monkeypatch) -> None:
    """`dsmr/readings_recent` writes `dsmr/readings` partitions: Dagster must see them as such."""
    server = start_simulator("dsmr", DsmrSimulatorConfig(instances=(HOME,)))  # the real clock
    monkeypatch.setenv("TEST_DSMR_HOME_KEY", HOME.api_key)
    spec = [{"name": HOME.name, "base_url": f"{server.url}/{HOME.name}", "api_key_env": "TEST_DSMR_HOME_KEY"}]
    spec[0]["timezone"] = HOME.timezone
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            [dsmr_readings_recent, dsmr_readings],
            selection=[dsmr_readings_recent],
            resources={"dsmr": DsmrResource(instances=json.dumps(spec), backoff_base_s=0.01)},
            instance=instance,
        )
        assert result.success
        today = datetime.now(UTC).date().isoformat()
        rewritten = instance.fetch_materializations(dsmr_readings.key, limit=10).records
        assert [r.asset_materialization.partition for r in rewritten] == [today]
        assert (
            rewritten[0].asset_materialization.metadata["landed_rows"].value
            == landed(data_dir, "readings", today).height
        )
