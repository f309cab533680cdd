"""Primayer end to end over real HTTP: faults, Dagster materializations, dbt on DuckDB, re-runs."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from dagster import DagsterInstance, materialize

from pipelines.definitions import resources
from pipelines.http import RetryPolicy
from pipelines.simulation.faults import FAULT_KINDS, FaultConfig
from pipelines.vendors.primayer.assets import (
    FleetSettings,
    PrimayerResource,
    land_groups,
    land_loggers,
    primayer_assets,
    primayer_loggers,
)
from pipelines.vendors.primayer.client import PrimayerClient
from pipelines.vendors.primayer.simulator import FLEET_SERIALS, TOKEN, PrimayerSimulatorConfig
from pipelines.warehouse import connect, dbt_incremental_models, dbt_models

DAY = "2026-11-20"
ZONE = "Europe/London"
LOGGER_DATASETS = ("logger_epochs", "histogram_bins", "histogram_stats")
GROUP_DATASETS = ("group_summaries", "group_leaks", "group_audio")


def landed(data_dir: Path, dataset: str, day: str = DAY, zone: str = "landing") -> pl.DataFrame:
    return pl.read_parquet(data_dir / zone / "primayer" / dataset / f"date={day}" / "*.parquet")


def rows_of(frame: pl.DataFrame) -> pl.DataFrame:
    """The landed rows without the run's stamp, in a stable order."""
    columns = [c for c in frame.columns if c != "_extracted_at"]
    return frame.select(columns).sort(columns)


def test_twenty_percent_faults_land_the_same_rows(start_simulator, data_dir: Path) -> None:
    fleet = FleetSettings(("300101", "300201"), ZONE)
    clean = start_simulator("primayer")
    land_loggers(PrimayerClient(clean.url, TOKEN), fleet, DAY)
    land_groups(PrimayerClient(clean.url, TOKEN), fleet, DAY)
    expected = {d: rows_of(landed(data_dir, d)) for d in (*LOGGER_DATASETS, *GROUP_DATASETS)}
    wav_bytes = {p.name: p.read_bytes() for p in (data_dir / "audio" / "primayer" / f"date={DAY}").iterdir()}

    faulty = start_simulator("primayer", faults=FaultConfig(rate=0.2, kinds=FAULT_KINDS, seed=5, slow_s=1.0))
    # A 429's `Retry-After: 1` is honoured (test_http); here waiting it out only adds seconds.
    retry = RetryPolicy(max_attempts=10, backoff_base_s=0.01, backoff_max_s=0.1, retry_after_max_s=0.05)
    land_loggers(PrimayerClient(faulty.url, TOKEN, timeout_s=0.5, retry=retry), fleet, DAY)
    land_groups(PrimayerClient(faulty.url, TOKEN, timeout_s=0.5, retry=retry), fleet, DAY)
    assert sum(faulty.faults.injected.values()) >= 3
    for dataset, rows in expected.items():
        assert rows.height > 0
        assert rows_of(landed(data_dir, dataset)).equals(rows), dataset
    again = {p.name: p.read_bytes() for p in (data_dir / "audio" / "primayer" / f"date={DAY}").iterdir()}
    assert again == wav_bytes


def _resources(server) -> dict[str, object]:
    res = resources()
    res["primayer"] = PrimayerResource(
        base_url=server.url, token=TOKEN, serials=FLEET_SERIALS, timezone=ZONE, backoff_base_s=0.01
    )
    return res


def test_dagster_and_dbt_build_the_marts_idempotently(start_simulator, data_dir: Path) -> None:
    server = start_simulator("primayer", PrimayerSimulatorConfig(malformed=True))
    res = _resources(server)
    days = ["2026-11-19", "2026-11-20"]
    with DagsterInstance.ephemeral() as instance:
        for day in days:
            result = materialize(primayer_assets, partition_key=day, resources=res, instance=instance)
            assert result.success
        metadata = [e.materialization.metadata for e in result.get_asset_materialization_events()]
        assert TOKEN not in str(metadata) and TOKEN not in str(result.all_events)
        assert materialize([dbt_models], resources=res, instance=instance).success
        window = {"dagster/asset_partition_range_start": days[0], "dagster/asset_partition_range_end": days[1]}
        assert materialize([dbt_incremental_models], resources=res, instance=instance, tags=window).success

        stats = pl.concat([landed(data_dir, "histogram_stats", d) for d in days])
        epochs = pl.concat([landed(data_dir, "logger_epochs", d) for d in days])
        signals = pl.concat([landed(data_dir, "logger_signals", d) for d in days])
        with connect() as con:
            devices = con.execute(
                "select native_id, kind, group_name, timezone, latitude from dim_device "
                "where vendor = 'primayer' order by native_id"
            ).fetchall()
            per_metric = dict(
                con.execute("select metric, count(*) from fct_reading where vendor = 'primayer' group by 1").fetchall()
            )
            units = dict(con.execute("select metric, any_value(unit) from fct_reading group by 1").fetchall())
            leaks = con.execute(
                "select fct_leak.group_id, fct_leak.group_name, detected_on, l.native_id, r.native_id, "
                "distance_from_left_m, group_leak_count from fct_leak "
                "join dim_device l on left_device_key = l.device_key "
                "join dim_device r on right_device_key = r.device_key order by 3, 1"
            ).fetchall()
            flagged = con.execute(
                "select d.native_id, avg(value) from fct_reading f join dim_device d using (device_key) "
                "where metric = 'leak_likely' group by 1 order by 1"
            ).fetchall()
            held_back = dict(
                con.execute(
                    "select dataset, count(*) from quarantined_records where vendor = 'primayer' group by 1"
                ).fetchall()
            )
        assert len(devices) == 12 and {d[1] for d in devices} == {"leak_logger"}
        assert devices[0] == ("300101", "leak_logger", "Enigma Harbour", ZONE, 51.45)
        assert per_metric["noise_level_p50"] == stats.height
        assert per_metric["battery_level"] == epochs.height == 12 * 11 * 2  # one epoch a day is malformed
        assert per_metric["signal_strength"] == signals.height == 12 * 3 * 2  # one of four is "n/a"
        assert units["signal_strength"] == "pct" and units["noise_spread"] == "bin" and units["battery_level"] == "pct"
        assert [(g, n, str(d), left, right, m, c) for g, n, d, left, right, m, c in leaks] == [
            ("1001", "Enigma Harbour", "2026-11-19", "300102", "300103", 103.5, 1),
            ("1003", "Enigma Mill Lane", "2026-11-19", "300301", "300302", 268.0, 1),
            ("1001", "Enigma Harbour", "2026-11-20", "300102", "300103", 103.5, 1),
            ("1003", "Enigma Mill Lane", "2026-11-20", "300301", "300302", 268.0, 1),
        ]
        assert {serial for serial, share in flagged if share == 1.0} == {"300102", "300103", "300301", "300302"}
        assert {serial for serial, share in flagged if share == 0.0} == set(FLEET_SERIALS.split(",")) - {
            "300102",
            "300103",
            "300301",
            "300302",
        }
        assert held_back["histogram_bins"] > 0 and held_back["group_audio"] == 6

        # The same partition again: the same Parquet rows, and no duplicate in the facts.
        first_day = rows_of(landed(data_dir, "histogram_stats", days[0]))
        assert materialize([primayer_loggers], partition_key=days[0], resources=res, instance=instance).success
        assert rows_of(landed(data_dir, "histogram_stats", days[0])).equals(first_day)
        assert materialize([dbt_incremental_models], partition_key=days[0], resources=res, instance=instance).success
        with connect() as con:
            after = dict(
                con.execute("select metric, count(*) from fct_reading where vendor = 'primayer' group by 1").fetchall()
            )
            duplicates = con.execute(
                "select count(*) from (select device_key, metric, measured_at from fct_reading "
                "group by all having count(*) > 1)"
            ).fetchone()[0]
        assert after == per_metric
        assert duplicates == 0
