"""dbt builds the marts from a landing zone on S3 (`PIPELINES_LANDING_URI=s3://...`, moto's S3
server): BAXO extracted over HTTP by its Dagster assets, the warehouse (a local DuckLake) built by
dbt through httpfs, reading only the versions the partitions' manifests name.

dbt is called for the marts asserted on and their parents, without the data tests: the whole
project's build (what the Dagster dbt assets run, checked by hand on S3 too) took over 3 min on
the shared 2 cores, this selection under 1 min."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dagster import DagsterInstance, materialize

from pipelines.definitions import resources
from pipelines.landing import ensure_schema_partitions, landing_store
from pipelines.settings import DBT_PROJECT_DIR
from pipelines.vendors.baxo.assets import BaxoResource, baxo_assets, baxo_device_historics
from pipelines.vendors.baxo.simulator import PASSWORD, USERNAME, BaxoSimulatorConfig
from pipelines.vendors.baxo.timebase import to_baxo_seconds
from pipelines.warehouse import connect
from tests.services import S3Server

DAY = "2026-11-20"


@pytest.fixture
def s3_landing(moto_s3: S3Server, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    bucket = moto_s3.fresh_bucket("landing", monkeypatch)
    monkeypatch.setenv("PIPELINES_LANDING_URI", f"s3://{bucket}/telemetry")
    return bucket


def test_dbt_builds_the_marts_from_the_bucket_and_a_rerun_repeats_no_row(
    s3_landing: str, moto_s3: S3Server, data_dir: Path, start_simulator, tmp_path: Path
) -> None:
    server = start_simulator("baxo", BaxoSimulatorConfig(malformed=True))
    sim = server.app.state.simulator
    res = resources()
    res["baxo"] = BaxoResource(base_url=f"{server.url}/k1", username=USERNAME, password=PASSWORD, backoff_base_s=0.01)
    with DagsterInstance.ephemeral() as instance:
        snapshots = [a for a in baxo_assets if a.partitions_def is None]
        assert materialize(snapshots, resources=res, instance=instance).success
        # Landed twice: the second publish replaces the first, so the facts must count each row once.
        for _ in range(2):
            assert materialize([baxo_device_historics], partition_key=DAY, resources=res, instance=instance).success
    ensure_schema_partitions()  # as the dbt assets do: the other vendors' empty datasets
    dbt = [str(Path(sys.executable).parent / "dbt"), "build", "--quiet", "--profiles-dir", "."]
    dbt += ["--select", "+fct_reading", "+dim_device", "+quarantined_records", "--exclude", "resource_type:test"]
    dbt += ["--target-path", str(tmp_path / "dbt_target"), "--log-path", str(tmp_path / "dbt_logs")]
    built = subprocess.run(dbt, cwd=DBT_PROJECT_DIR, capture_output=True, text=True)
    assert built.returncode == 0, built.stdout[-3000:]

    assert not list((data_dir).glob("landing/**/*.parquet")), "landing went to the local disk"
    start = datetime.fromisoformat(DAY).replace(tzinfo=UTC)
    end = start + timedelta(days=1) - timedelta(seconds=1)
    served = sum(s.rows for s in sim.series_counts(sim.devices, None, *map(to_baxo_seconds, (start, end))))
    landed = landing_store().read_partition(f"landing/baxo/device_historics/date={DAY}")
    assert landed is not None and 0 < landed.height < served  # the malformed rows were held back
    with connect() as con:
        readings = con.execute("select count(*) from fct_reading where vendor = 'baxo'").fetchone()
        held_back = con.execute(
            "select count(*) from quarantined_records where vendor = 'baxo' and dataset = 'device_historics'"
        ).fetchone()
        duplicates = con.execute(
            "select count(*) from (select device_key, metric, measured_at from fct_reading group by all "
            "having count(*) > 1)"
        ).fetchone()
        devices = con.execute("select count(*) from dim_device where vendor = 'baxo'").fetchone()
    assert readings == (landed.height,)
    assert held_back is not None and readings[0] + held_back[0] == served
    assert duplicates == (0,)
    assert devices == (6,)
