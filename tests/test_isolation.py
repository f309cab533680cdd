"""One vendor's bad rows never stop another vendor's marts: real HTTP, real dbt on DuckDB.

Each case lands one UTC day of a faulty vendor beside a clean one, builds the warehouse through
the Dagster dbt assets and compares it, vendor by vendor, with a warehouse built from the same
day with every simulator clean.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
from dagster import DagsterInstance, materialize

from pipelines.definitions import resources
from pipelines.lake import attach_statement
from pipelines.lake import connect as warehouse_connect
from pipelines.simulation.registry import simulator_spec
from pipelines.simulation.server import SimulatorServer
from pipelines.vendors.baxo.assets import BaxoResource, baxo_assets
from pipelines.vendors.baxo.simulator import CORRECTION, PASSWORD, UNKNOWN_TAG, USERNAME, BaxoSimulatorConfig
from pipelines.vendors.dsmr.assets import DsmrResource, dsmr_meters, dsmr_readings
from pipelines.vendors.dsmr.simulator import (
    DEFAULT_INSTANCES,
    DUPLICATE_EVERY,
    DUPLICATE_ID_BASE,
    DUPLICATE_POWER_DELTA_W,
    DsmrSimulatorConfig,
)
from pipelines.vendors.primayer.assets import PrimayerResource, primayer_loggers
from pipelines.vendors.primayer.simulator import FLEET_SERIALS, TOKEN, PrimayerSimulatorConfig
from pipelines.warehouse import dbt_incremental_models, dbt_models

DAY = "2026-11-20"
DSMR_NOW = datetime(2026, 11, 22, 6, tzinfo=UTC)  # the day's readings are all there
BAXO_INTERVAL_S = 300
FACT_KEY = "device_key, metric, aggregation, measured_at"


@dataclass
class Simulators:
    """Which vendors to land, each with its simulator config (None: the vendor is not landed)."""

    baxo: BaxoSimulatorConfig | None = None
    primayer: PrimayerSimulatorConfig | None = None
    dsmr: DsmrSimulatorConfig | None = None


def _dsmr_key_env(instance: str) -> str:
    return f"TEST_ISOLATION_DSMR_{instance.upper()}_KEY"


@pytest.fixture(scope="module", autouse=True)
def dsmr_keys() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for sim in DEFAULT_INSTANCES:
            patch.setenv(_dsmr_key_env(sim.name), sim.api_key)
        yield


@dataclass
class Build:
    """Whether both dbt builds succeeded (its truth), and each dbt check's outcome by name."""

    success: bool
    checks: dict[str, bool]

    def __bool__(self) -> bool:
        return self.success


def build_warehouse(simulators: Simulators) -> Build:
    """Land DAY from each configured simulator over HTTP, then run both dbt assets.

    `PIPELINES_DATA_DIR` says where it all goes.
    """
    servers: list[SimulatorServer] = []

    def start(vendor: str, config: object) -> SimulatorServer:
        server = SimulatorServer(simulator_spec(vendor).create_app(config)).start()
        servers.append(server)
        return server

    res = resources()
    try:
        with DagsterInstance.ephemeral() as instance:
            if simulators.baxo is not None:
                url = f"{start('baxo', simulators.baxo).url}/k1"
                res["baxo"] = BaxoResource(base_url=url, username=USERNAME, password=PASSWORD, backoff_base_s=0.01)
                snapshots = [a for a in baxo_assets if a.partitions_def is None]
                assert materialize(snapshots, resources=res, instance=instance).success
                historics = [a for a in baxo_assets if a.partitions_def is not None]
                assert materialize(historics, partition_key=DAY, resources=res, instance=instance).success
            if simulators.primayer is not None:
                url = start("primayer", simulators.primayer).url
                res["primayer"] = PrimayerResource(
                    base_url=url, token=TOKEN, serials=FLEET_SERIALS, timezone="Europe/London", backoff_base_s=0.01
                )
                assert materialize([primayer_loggers], partition_key=DAY, resources=res, instance=instance).success
            if simulators.dsmr is not None:
                url = start("dsmr", simulators.dsmr).url
                spec = [
                    {
                        "name": sim.name,
                        "base_url": f"{url}/{sim.name}",
                        "api_key_env": _dsmr_key_env(sim.name),
                        "timezone": sim.timezone,
                    }
                    for sim in DEFAULT_INSTANCES
                ]
                res["dsmr"] = DsmrResource(instances=json.dumps(spec), backoff_base_s=0.01)
                assert materialize([dsmr_meters], resources=res, instance=instance).success
                assert materialize([dsmr_readings], partition_key=DAY, resources=res, instance=instance).success
            built = materialize([dbt_models], resources=res, instance=instance, raise_on_error=False)
            facts = materialize(
                [dbt_incremental_models], partition_key=DAY, resources=res, instance=instance, raise_on_error=False
            )
            checks = {c.check_name: c.passed for c in built.get_asset_check_evaluations()}
            return Build(built.success and facts.success, checks)
    finally:
        for server in servers:
            server.stop()


@pytest.fixture(scope="module")
def clean_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The warehouse of DAY with BAXO, Primayer and DSMR all clean: what each case is compared with."""
    data = tmp_path_factory.mktemp("clean") / "data"
    data.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PIPELINES_DATA_DIR", str(data))
        simulators = Simulators(BaxoSimulatorConfig(), PrimayerSimulatorConfig(), DsmrSimulatorConfig(now=DSMR_NOW))
        assert build_warehouse(simulators)
    return data


def connect(data_dir: Path, clean_warehouse: Path) -> duckdb.DuckDBPyConnection:
    """The case's warehouse, with the clean one (its data directory) attached as `clean`."""
    con = warehouse_connect(root=data_dir)
    con.execute(attach_statement(read_only=True, root=clean_warehouse, alias="clean"))
    return con


# BAXO's real-time values are stamped by the wall clock, so a device's first and last seen instants
# move between two runs minutes apart (a device whose only values are real-time ones takes both
# from them): devices are compared on every other column.
COMPARED_COLUMNS = {"fct_reading": "*", "dim_device": "* exclude (first_seen_at, last_seen_at)"}


def differences(con: duckdb.DuckDBPyConnection, table: str, vendor: str) -> tuple[int, int]:
    """(rows only in this warehouse, rows only in the clean one) of `vendor` in `table`, duplicates counted."""
    columns = COMPARED_COLUMNS[table]
    ours = f"select {columns} from marts.{table} where vendor = '{vendor}'"
    theirs = f"select {columns} from clean.marts.{table} where vendor = '{vendor}'"
    only_ours = con.execute(f"select count(*) from ({ours} except all {theirs})").fetchone()[0]
    only_theirs = con.execute(f"select count(*) from ({theirs} except all {ours})").fetchone()[0]
    return only_ours, only_theirs


def assert_same_as_clean(con: duckdb.DuckDBPyConnection, vendor: str) -> None:
    count = f"select count(*) from marts.fct_reading where vendor = '{vendor}'"
    assert con.execute(count).fetchone()[0] == con.execute(count.replace("marts.", "clean.marts.")).fetchone()[0] > 0
    assert differences(con, "fct_reading", vendor) == (0, 0)
    assert differences(con, "dim_device", vendor) == (0, 0)


def repeated_keys(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute(
        f"select count(*) from (select {FACT_KEY} from fct_reading group by {FACT_KEY} having count(*) > 1)"
    ).fetchone()[0]


def same_fact_count_as_clean(con: duckdb.DuckDBPyConnection, vendor: str) -> bool:
    count = f"select count(*) from {{}}fct_reading where vendor = '{vendor}'"
    return con.execute(count.format("marts.")).fetchone()[0] == con.execute(count.format("clean.marts.")).fetchone()[0]


def changed_from_clean(con: duckdb.DuckDBPyConnection, vendor: str) -> list[tuple[str, int, float, float]]:
    """(metric, values, smallest and largest change) of `vendor`'s facts whose value differs from
    the clean run's at the same key, by metric."""
    return con.execute(
        "select metric, count(*), min(delta), max(delta) from ("
        "select metric, round(ours.value - theirs.value, 6) as delta from marts.fct_reading as ours "
        "join clean.marts.fct_reading as theirs using (device_key, metric, aggregation, measured_at) "
        f"where ours.vendor = '{vendor}' and ours.value <> theirs.value) group by metric order by metric"
    ).fetchall()


def held_back_in_warehouse(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, str]]:
    """(vendor, dataset, reason, record) of every row the warehouse held back."""
    return con.execute(
        "select vendor, dataset, reason, record from quarantined_records where held_back_at = 'warehouse'"
    ).fetchall()


def test_an_unknown_baxo_tag_lands_with_unit_unknown_and_dsmr_builds(data_dir: Path, clean_warehouse: Path) -> None:
    assert build_warehouse(
        Simulators(baxo=BaxoSimulatorConfig(unknown_tag=True), dsmr=DsmrSimulatorConfig(now=DSMR_NOW))
    )
    with connect(data_dir, clean_warehouse) as con:
        assert_same_as_clean(con, "dsmr")
        # Every clean BAXO value is there; the only extra ones are the unknown tag's.
        only_ours, only_clean = differences(con, "fct_reading", "baxo")
        assert only_clean == 0
        unknown = con.execute(
            "select metric, unit, count(*), count(distinct measured_at) from fct_reading "
            "where vendor = 'baxo' and metric not in (select metric from seeds.metric_dictionary) group by all"
        ).fetchall()
        values_per_day = 86_400 // BAXO_INTERVAL_S
        assert unknown == [(UNKNOWN_TAG.lower(), "unknown", values_per_day, values_per_day)]
        assert only_ours == values_per_day
        assert differences(con, "dim_device", "baxo") == (0, 0)
        assert con.execute("select count(*) from fct_reading where unit is null").fetchone()[0] == 0
        assert held_back_in_warehouse(con) == []


@pytest.mark.parametrize(
    "corrected",
    [
        BaxoSimulatorConfig(corrected_values="next_to"),
        # Pages of 1,000 rows: the corrections come pages after the values they correct.
        BaxoSimulatorConfig(corrected_values="at_end", page_rows=1_000),
    ],
    ids=["next_to", "on_a_later_page"],
)
def test_a_corrected_baxo_value_keeps_the_larger_one_and_holds_back_the_other(
    data_dir: Path, clean_warehouse: Path, corrected: BaxoSimulatorConfig
) -> None:
    """Two values of one reading key (BAXO re-sends an hour's value, corrected): fct_reading keeps
    one, by the rank's tiebreak (same landing: the larger value), and quarantined_records holds
    the other back, with its reason, for BAXO only. A correction on a later page is not taken
    for a page repeating itself."""
    build = build_warehouse(Simulators(baxo=corrected, primayer=PrimayerSimulatorConfig()))
    assert build
    assert (build.checks["baxo_rows_kept_out_of_the_marts"], build.checks["primayer_rows_kept_out_of_the_marts"]) == (
        False,
        True,
    )
    landed = pl.read_parquet(data_dir / "landing" / "baxo" / "device_historics" / f"date={DAY}" / "*.parquet")
    twins = landed.filter(pl.struct("device_id", "tag_reference", "measured_at").is_duplicated())
    hours = 24
    assert twins.height == 2 * hours and set(twins["tag_reference"]) == {"TEMP_1"}
    with connect(data_dir, clean_warehouse) as con:
        assert_same_as_clean(con, "primayer")
        assert repeated_keys(con) == 0
        assert same_fact_count_as_clean(con, "baxo")
        # Only the hours' temperatures differ from a clean run: each the corrected, larger value.
        assert changed_from_clean(con, "baxo") == [("temperature", hours, CORRECTION, CORRECTION)]
        held_back = held_back_in_warehouse(con)
    assert {(v, d, r) for v, d, r, _ in held_back} == {
        ("baxo", "fct_reading", "duplicate fct_reading key (device_key, metric, aggregation, measured_at)")
    }
    assert len(held_back) == hours
    # What is held back is the first value sent: a clean run's.
    first_sent = twins.unique(["device_id", "measured_at"], keep="first", maintain_order=True)
    held_back_values = sorted(json.loads(record)["value"] for *_, record in held_back)
    assert held_back_values == sorted(first_sent["value"].cast(pl.Float64).to_list())


def test_a_duplicated_primayer_histogram_is_kept_once_and_baxo_builds(data_dir: Path, clean_warehouse: Path) -> None:
    assert build_warehouse(
        Simulators(baxo=BaxoSimulatorConfig(), primayer=PrimayerSimulatorConfig(duplicate_histogram=True))
    )
    landed = pl.read_parquet(data_dir / "landing" / "primayer" / "histogram_stats" / f"date={DAY}" / "*.parquet")
    assert landed.select("serial", "histogram_at").is_duplicated().sum() == 2  # both copies land
    with connect(data_dir, clean_warehouse) as con:
        assert_same_as_clean(con, "baxo")
        # One copy of the histogram is kept: Primayer's facts are exactly those of a clean run.
        assert_same_as_clean(con, "primayer")
        assert repeated_keys(con) == 0
        held_back = held_back_in_warehouse(con)
    assert len(held_back) == 1
    vendor, dataset, reason, record = held_back[0]
    assert (vendor, dataset) == ("primayer", "histogram_stats")
    assert reason == "duplicate stg_primayer__histogram_stats key (serial, histogram_at)"
    duplicated = landed.filter(pl.struct("serial", "histogram_at").is_duplicated())
    assert json.loads(record)["serial"] == duplicated["serial"][0]


def test_dsmr_readings_sharing_a_timestamp_keep_the_highest_id_and_baxo_builds(
    data_dir: Path, clean_warehouse: Path
) -> None:
    dsmr = DsmrSimulatorConfig(now=DSMR_NOW, duplicate_timestamps=True)
    build = build_warehouse(Simulators(baxo=BaxoSimulatorConfig(), dsmr=dsmr))
    assert build
    # The warning check of the vendor whose rows were kept out fails; the other vendor's passes.
    assert (build.checks["dsmr_rows_kept_out_of_the_marts"], build.checks["baxo_rows_kept_out_of_the_marts"]) == (
        False,
        True,
    )
    twins_per_instance = 86_400 // 10 // DUPLICATE_EVERY
    twins = twins_per_instance * len(DEFAULT_INSTANCES)
    landed = pl.read_parquet(data_dir / "landing" / "dsmr" / "readings" / f"date={DAY}" / "*.parquet")
    shared = landed.filter(pl.struct("instance", "measured_at").is_duplicated())
    assert shared.height == 2 * twins  # both readings of each timestamp land
    with connect(data_dir, clean_warehouse) as con:
        assert_same_as_clean(con, "baxo")
        assert repeated_keys(con) == 0
        assert same_fact_count_as_clean(con, "dsmr")
        # The kept readings are the twins (highest id): only their current power differs from a clean run.
        changed = changed_from_clean(con, "dsmr")
        delta_kw = DUPLICATE_POWER_DELTA_W / 1000
        assert ("power_delivered", twins, delta_kw, delta_kw) in changed
        assert {metric for metric, *_ in changed} <= {
            "power_delivered",
            "power_delivered_l1",
            "power_delivered_l2",
            "power_delivered_l3",
        }
        assert differences(con, "dim_device", "dsmr") == (0, 0)
        held_back = held_back_in_warehouse(con)
    assert {(v, d, r) for v, d, r, _ in held_back} == {
        ("dsmr", "readings", "duplicate DSMR reading timestamp (instance, measured_at): the highest reading_id is kept")
    }
    assert len(held_back) == twins
    held_back_ids = sorted(json.loads(record)["reading_id"] for *_, record in held_back)
    kept_ids = shared.filter(pl.col("reading_id") >= DUPLICATE_ID_BASE)["reading_id"]
    assert kept_ids.len() == twins and max(held_back_ids) < DUPLICATE_ID_BASE
    expected_held_back = sorted(shared.filter(pl.col("reading_id") < DUPLICATE_ID_BASE)["reading_id"].to_list())
    assert held_back_ids == expected_held_back


def test_a_dsmr_day_its_count_does_not_confirm_is_kept_out_of_the_facts_and_baxo_builds(
    data_dir: Path, clean_warehouse: Path
) -> None:
    """DSMR answers newest first, 25 a page, whatever `ordering` asks: its readings of the day are
    held back in quarantine with the numbers; BAXO's facts of the same day build as if clean."""
    dsmr = DsmrSimulatorConfig(now=DSMR_NOW, ignores_ordering=True)
    assert build_warehouse(Simulators(baxo=BaxoSimulatorConfig(), dsmr=dsmr))
    with connect(data_dir, clean_warehouse) as con:
        assert_same_as_clean(con, "baxo")
        dsmr_facts = "select count(*) from {}fct_reading where vendor = 'dsmr' and partition_date = '" + DAY + "'"
        assert con.execute(dsmr_facts.format("clean.marts.")).fetchone()[0] > 0
        assert con.execute(dsmr_facts.format("marts.")).fetchone()[0] == 0
        held = con.execute(
            "select reason from quarantined_records where vendor = 'dsmr' and dataset = 'readings'"
        ).fetchall()
        # Each instance's 25 newest (minus a reading at the next midnight, which the inclusive
        # upper bound also counts), against the instances' whole days: 8,640 or 8,641 each.
        assert 24 * len(DEFAULT_INSTANCES) <= len(held) <= 25 * len(DEFAULT_INSTANCES)
        numbers = re.compile(
            rf"reconciliation failed for dsmr cabin api/v2/datalogger/dsmrreading, .*partition {DAY}: "
            r"the API reported 2592[0-3] records, the pages brought 75 distinct"
        )
        assert all(numbers.search(reason) for (reason,) in held), held[0]
