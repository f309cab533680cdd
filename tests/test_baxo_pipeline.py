"""BAXO end to end over real HTTP: quarantine, faults, Dagster materializations and dbt on DuckDB."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from dagster import DagsterInstance, materialize

from pipelines.definitions import resources
from pipelines.http import RetryPolicy
from pipelines.simulation.faults import FAULT_KINDS, FaultConfig
from pipelines.vendors.baxo.assets import BaxoResource, baxo_assets, baxo_device_historics, land_historics
from pipelines.vendors.baxo.client import BaxoClient
from pipelines.vendors.baxo.simulator import PASSWORD, USERNAME, BaxoSimulatorConfig
from pipelines.vendors.baxo.timebase import to_baxo_seconds
from pipelines.vendors.dsmr.assets import DsmrResource, dsmr_meters, dsmr_quarter_hour_peaks
from pipelines.vendors.dsmr.simulator import DEFAULT_INSTANCES, DsmrSimulatorConfig
from pipelines.warehouse import connect, dbt_incremental_models, dbt_models

DAY = "2026-11-20"
NEXT_DAY = "2026-11-21"


def landed(data_dir: Path, zone: str, dataset: str, day: str = DAY) -> pl.DataFrame:
    return pl.read_parquet(data_dir / zone / "baxo" / dataset / f"date={day}" / "*.parquet")


def rows_of(frame: pl.DataFrame) -> pl.DataFrame:
    """The landed rows without the run's stamp, in a stable order."""
    columns = [c for c in frame.columns if c != "_extracted_at"]
    return frame.select(columns).sort(columns)


def client(server, timeout_s: float = 30.0) -> BaxoClient:
    return BaxoClient(
        f"{server.url}/k1",
        USERNAME,
        PASSWORD,
        timeout_s=timeout_s,
        # A 429's `Retry-After: 1` is honoured (test_http); here waiting it out only adds seconds.
        retry=RetryPolicy(max_attempts=8, backoff_base_s=0.01, backoff_max_s=0.2, retry_after_max_s=0.05),
    )


def test_malformed_records_go_to_quarantine_with_reasons(start_simulator, data_dir: Path) -> None:
    clean = land_historics(client(start_simulator("baxo")), DAY)
    result = land_historics(client(start_simulator("baxo", BaxoSimulatorConfig(malformed=True))), DAY)
    quarantined = landed(data_dir, "quarantine", "device_historics")
    assert result.quarantined_rows == quarantined.height > 0
    assert result.landed_rows + result.quarantined_rows == clean.landed_rows
    reasons = quarantined["reason"].unique().sort().to_list()
    assert reasons == ["BaxoHistoric: measured_at failed not_nullable", "BaxoHistoric: value is a number"]
    bad_value = quarantined.filter(pl.col("reason").str.contains("number"))["record"][0]
    assert '"value_raw":"#ERR"' in bad_value and '"tag_reference":"TEMP_1"' in bad_value
    assert set(quarantined["_source"]) == {"k1?get=devices-historics"}
    good = landed(data_dir, "landing", "device_historics")
    assert good.height == result.landed_rows
    assert good["value"].is_not_null().all() and good["measured_at"].is_not_null().all()


def test_twenty_percent_faults_land_the_same_rows(start_simulator, data_dir: Path) -> None:
    land_historics(client(start_simulator("baxo")), DAY)
    expected = rows_of(landed(data_dir, "landing", "device_historics"))
    faults = FaultConfig(rate=0.2, kinds=FAULT_KINDS, seed=11, slow_s=1.0)
    faulty = start_simulator("baxo", BaxoSimulatorConfig(page_rows=1000), faults=faults)
    result = land_historics(client(faulty, timeout_s=0.5), DAY)
    assert sum(faulty.faults.injected.values()) >= 3
    assert result.landed_rows == expected.height
    assert rows_of(landed(data_dir, "landing", "device_historics")).equals(expected)


def test_a_failed_run_leaves_the_landed_partition_untouched(start_simulator, data_dir: Path) -> None:
    land_historics(client(start_simulator("baxo")), DAY)
    before = rows_of(landed(data_dir, "landing", "device_historics"))
    broken = start_simulator("baxo", BaxoSimulatorConfig(page_rows=1000), faults=FaultConfig(rate=0.0))
    broken.faults.rate = 1.0  # every request now fails: the run dies after landing nothing new
    try:
        land_historics(
            BaxoClient(f"{broken.url}/k1", USERNAME, PASSWORD, retry=RetryPolicy(max_attempts=2, backoff_base_s=0.0)),
            DAY,
        )
    except Exception as exc:
        assert "baxo" in str(exc)
    else:
        raise AssertionError("the run should have failed")
    assert rows_of(landed(data_dir, "landing", "device_historics")).equals(before)
    leftovers = [p.name for p in (data_dir / "landing" / "baxo" / "device_historics").iterdir()]
    assert leftovers == [f"date={DAY}"]


def _resources(server) -> dict[str, object]:
    res = resources()
    res["baxo"] = BaxoResource(base_url=f"{server.url}/k1", username=USERNAME, password=PASSWORD, backoff_base_s=0.01)
    return res


def test_dagster_and_dbt_build_marts_idempotently(start_simulator, data_dir: Path) -> None:
    server = start_simulator("baxo", BaxoSimulatorConfig(malformed=True))
    sim = server.app.state.simulator
    res = _resources(server)
    days = ["2026-11-19", "2026-11-20"]
    with DagsterInstance.ephemeral() as instance:
        snapshots = [a for a in baxo_assets if a.partitions_def is None]
        assert materialize(snapshots, resources=res, instance=instance).success
        for day in days:
            result = materialize([baxo_device_historics], partition_key=day, resources=res, instance=instance)
            assert result.success
        metadata = result.asset_materializations_for_node("baxo__device_historics")[0].metadata
        assert metadata["quarantined_rows"].value > 0
        assert "secret" not in str(metadata) and PASSWORD not in str(metadata)
        assert materialize([dbt_models], resources=res, instance=instance).success
        window = {"dagster/asset_partition_range_start": days[0], "dagster/asset_partition_range_end": days[1]}
        assert materialize([dbt_incremental_models], resources=res, instance=instance, tags=window).success

        start = datetime(2026, 11, 19, tzinfo=UTC)
        end = start + timedelta(days=2) - timedelta(seconds=1)
        served = sum(s.rows for s in sim.series_counts(sim.devices, None, *map(to_baxo_seconds, (start, end))))
        first_day = rows_of(landed(data_dir, "landing", "device_historics", days[0]))

        with connect() as con:
            readings = con.execute("select count(*) from fct_reading").fetchone()[0]
            held_back = con.execute(
                "select count(*) from quarantined_records where dataset = 'device_historics'"
            ).fetchone()[0]
            devices = con.execute("select vendor, kind, status, timezone from dim_device order by native_id").fetchall()
            paris = con.execute("select count(*) from dim_device where timezone = 'Europe/Paris'").fetchone()[0]
            units = dict(con.execute("select metric, any_value(unit) from fct_reading group by 1").fetchall())
        assert held_back > 0
        assert readings + held_back == served
        assert len(devices) == 6 and {d[:2] for d in devices} == {("baxo", "data_logger")}
        assert {d[2] for d in devices} == {"active", "inactive", "suspended"}
        assert paris == 2
        assert units == {
            "temperature": "degC",
            "pressure": "bar",
            "counter_index": "count",
            "battery_voltage": "V",
            "alarm_active": "flag",
        }

        # The same partition again: the same Parquet rows, and no duplicate in the fact.
        assert materialize([baxo_device_historics], partition_key=days[0], resources=res, instance=instance).success
        assert rows_of(landed(data_dir, "landing", "device_historics", days[0])).equals(first_day)
        assert materialize([dbt_incremental_models], partition_key=days[0], resources=res, instance=instance).success
        with connect() as con:
            assert con.execute("select count(*) from fct_reading").fetchone()[0] == readings
            duplicates = con.execute(
                "select count(*) from (select device_key, metric, measured_at from fct_reading "
                "group by all having count(*) > 1)"
            ).fetchone()[0]
            per_day = con.execute("select count(distinct partition_date) from fct_reading").fetchone()[0]
        assert duplicates == 0
        assert per_day == 2


def test_an_unchanged_day_is_not_rebuilt_and_a_changed_one_is(start_simulator, data_dir: Path) -> None:
    server = start_simulator("baxo")
    res = _resources(server)
    day = DAY
    with DagsterInstance.ephemeral() as instance:
        snapshots = [a for a in baxo_assets if a.partitions_def is None]
        assert materialize(snapshots, resources=res, instance=instance).success

        def extract() -> str:
            result = materialize([baxo_device_historics], partition_key=day, resources=res, instance=instance)
            assert result.success
            (materialization,) = result.asset_materializations_for_node("baxo__device_historics")
            return materialization.tags["dagster/data_version"]

        def build_facts() -> list[str]:
            """The facts the dbt step materialized (the others were left out as unchanged)."""
            result = materialize([dbt_incremental_models], partition_key=day, resources=res, instance=instance)
            assert result.success
            return sorted(event.asset_key.path[-1] for event in result.get_asset_materialization_events())

        version = extract()
        assert materialize([dbt_models], resources=res, instance=instance).success
        assert "fct_reading" in build_facts()
        with connect() as con:
            readings = con.execute("select count(*) from fct_reading").fetchone()[0]
        assert readings > 0

        # The same answers extracted again: the same data version, and dbt builds and tests nothing.
        assert extract() == version
        assert build_facts() == []

        # The warehouse lost the day (rebuilt, restored) while the instance remembers the build: rebuilt.
        with connect(read_only=False) as con:
            con.execute(f"delete from marts.fct_reading where partition_date = '{day}'")
        assert "fct_reading" in build_facts()
        with connect() as con:
            assert con.execute("select count(*) from fct_reading").fetchone()[0] == readings

        # A changed answer (a fourth device per contract) changes the version and rebuilds the day.
        server.app.state.simulator.__init__(BaxoSimulatorConfig(devices_per_contract=4))
        assert extract() != version
        assert "fct_reading" in build_facts()
        with connect() as con:
            rebuilt = con.execute("select count(*), count(distinct partition_date) from fct_reading").fetchone()
        assert rebuilt[0] > readings and rebuilt[1] == 1


def test_a_day_one_vendor_lands_builds_only_the_facts_it_feeds(
    start_simulator, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    res = _resources(start_simulator("baxo"))
    dsmr = start_simulator("dsmr", DsmrSimulatorConfig(now=datetime(2026, 11, 22, 9, 30, tzinfo=UTC)))
    spec = []
    for sim in DEFAULT_INSTANCES:
        monkeypatch.setenv(env := f"TEST_DSMR_{sim.name.upper()}_KEY", sim.api_key)
        spec.append(
            {"name": sim.name, "base_url": f"{dsmr.url}/{sim.name}", "api_key_env": env, "timezone": sim.timezone}
        )
    res["dsmr"] = DsmrResource(instances=json.dumps(spec), backoff_base_s=0.01)
    with DagsterInstance.ephemeral() as instance:
        snapshots = [a for a in baxo_assets if a.partitions_def is None] + [dsmr_meters]
        assert materialize(snapshots, resources=res, instance=instance).success
        assert materialize([baxo_device_historics], partition_key=DAY, resources=res, instance=instance).success
        assert materialize([dbt_models], resources=res, instance=instance).success

        def build_facts(day: str) -> tuple[list[str], list[str]]:
            """The facts the dbt step materialized, and the models its checks (dbt tests) ran on."""
            result = materialize([dbt_incremental_models], partition_key=day, resources=res, instance=instance)
            assert result.success
            built = sorted(event.asset_key.path[-1] for event in result.get_asset_materialization_events())
            checked = sorted({e.asset_key.path[-1] for e in result.get_asset_check_evaluations()})
            return built, checked

        # The first build creates every fact's table, empty ones too: readers always find every mart.
        facts = ["fct_energy_period", "fct_noise_histogram", "fct_power_peak", "fct_reading"]
        assert build_facts(DAY)[0] == facts
        with connect() as con:
            tables = {name for (name,) in con.execute("select table_name from duckdb_tables()").fetchall()}
            empty = con.execute("select count(*) from fct_energy_period").fetchone()[0]
        assert set(facts) <= tables and empty == 0

        # The next day BAXO lands, DSMR and Primayer do not: their facts are neither built nor tested.
        assert materialize([baxo_device_historics], partition_key=NEXT_DAY, resources=res, instance=instance).success
        assert build_facts(NEXT_DAY) == (["fct_reading"], ["fct_reading"])
        with connect() as con:
            days = con.execute("select count(distinct partition_date) from fct_reading").fetchone()[0]
        assert days == 2

        # DSMR's quarter-hour peaks land for that day: their fact is built (fct_reading is unchanged).
        assert materialize([dsmr_quarter_hour_peaks], partition_key=NEXT_DAY, resources=res, instance=instance).success
        assert build_facts(NEXT_DAY) == (["fct_power_peak"], ["fct_power_peak"])
        with connect() as con:
            peaks = con.execute(
                "select count(*), count(distinct vendor), min(partition_date)::varchar from fct_power_peak"
            ).fetchone()
        assert peaks[0] > 0 and peaks[1:] == (1, NEXT_DAY)
