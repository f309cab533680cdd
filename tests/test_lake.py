"""The warehouse as a DuckLake: analysts read while dbt writes, time travel, maintenance.

On a DuckDB-file warehouse each of these fails: an analyst's open read-only connection makes dbt
fail on the file's lock (and a reader cannot open the file while dbt holds it), and a file keeps
no snapshots to travel back to.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from dagster import DagsterInstance, materialize

from pipelines.definitions import resources
from pipelines.lake import connect as lake_connect
from pipelines.maintenance import lake_maintenance_job
from pipelines.settings import DBT_PROJECT_DIR, PROJECT_ROOT
from pipelines.simulation.registry import simulator_spec
from pipelines.simulation.server import SimulatorServer
from pipelines.vendors.baxo.assets import BaxoResource, baxo_assets, baxo_device_historics
from pipelines.vendors.baxo.simulator import PASSWORD, USERNAME
from pipelines.warehouse import connect, dbt_incremental_models, dbt_models
from tests.analyst import ANALYST

DAYS = ["2026-11-19", "2026-11-20"]
COUNT_READINGS = "select count(*) from marts.fct_reading"


@dataclass
class Lake:
    """BAXO, two days landed; facts built for the first day (version `first_day_version`), then
    the second."""

    data_dir: Path
    res: dict[str, object]
    first_day_count: int
    first_day_version: int
    first_day_time: str
    both_days_count: int
    first_day_fact_metadata: dict[str, object]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    data_dir = tmp_path_factory.mktemp("lake") / "data"
    data_dir.mkdir()
    server = SimulatorServer(simulator_spec("baxo").create_app(None)).start()
    with pytest.MonkeyPatch.context() as env, DagsterInstance.ephemeral() as instance:
        env.setenv("PIPELINES_DATA_DIR", str(data_dir))
        res = resources()
        res["baxo"] = BaxoResource(
            base_url=f"{server.url}/k1", username=USERNAME, password=PASSWORD, backoff_base_s=0.01
        )
        try:
            snapshots = [a for a in baxo_assets if a.partitions_def is None]
            assert materialize(snapshots, resources=res, instance=instance).success
            for day in DAYS:
                assert materialize([baxo_device_historics], partition_key=day, resources=res, instance=instance).success
            assert materialize([dbt_models], resources=res, instance=instance).success
            first_day = materialize([dbt_incremental_models], partition_key=DAYS[0], resources=res, instance=instance)
            assert first_day.success
            (fact,) = [m for m in first_day.get_asset_materialization_events() if m.asset_key.path == ["fct_reading"]]
            with connect() as con:
                first_day_count = con.execute(COUNT_READINGS).fetchone()[0]
                version, at = con.execute(
                    "select snapshot_id, snapshot_time::varchar from ducklake_snapshots('lake') "
                    "order by snapshot_id desc limit 1"
                ).fetchone()
            assert materialize(
                [dbt_incremental_models], partition_key=DAYS[1], resources=res, instance=instance
            ).success
            with connect() as con:
                both_days_count = con.execute(COUNT_READINGS).fetchone()[0]
            assert 0 < first_day_count < both_days_count
            metadata = dict(fact.materialization.metadata)
            yield Lake(data_dir, res, first_day_count, version, at, both_days_count, metadata)
        finally:
            server.stop()


def test_time_travel_reads_a_mart_as_of_an_earlier_snapshot(lake: Lake) -> None:
    with connect() as con:
        by_version = con.execute(f"{COUNT_READINGS} AT (VERSION => {lake.first_day_version})").fetchone()[0]
        by_time = con.execute(f"{COUNT_READINGS} AT (TIMESTAMP => '{lake.first_day_time}'::timestamptz)").fetchone()[0]
        days = con.execute(
            f"select distinct partition_date::varchar from fct_reading AT (VERSION => {lake.first_day_version})"
        ).fetchall()
    assert by_version == by_time == lake.first_day_count
    assert days == [(DAYS[0],)]


def test_dagster_shows_each_fact_build_with_its_row_count_and_column_schema(lake: Lake) -> None:
    """dagster-dbt queries the lake as each model finishes (fetch_row_counts, fetch_column_metadata)."""
    assert lake.first_day_fact_metadata["dagster/row_count"].value == lake.first_day_count
    columns = {c.name: c for c in lake.first_day_fact_metadata["dagster/column_schema"].schema.columns}
    assert list(columns)[:4] == ["device_key", "vendor", "metric", "measured_at"]
    assert columns["value"].type.lower() == "double"
    assert columns["measured_at"].type.lower() == "timestamp with time zone"
    assert columns["aggregation"].description.startswith("none for a value as recorded")


def test_marts_sit_in_their_schema_with_descriptions_as_comments(lake: Lake) -> None:
    """Marts alone in `marts`; every mart column carries its dbt description as a comment."""
    with connect() as con:
        schemas = dict(
            con.execute(
                "select schema_name, count(*) from (select schema_name, database_name from duckdb_tables()"
                " union all select schema_name, database_name from duckdb_views()) where database_name = 'lake'"
                " group by 1"
            ).fetchall()
        )
        uncommented = con.execute(
            "select table_name, column_name from duckdb_columns() where database_name = 'lake' "
            "and schema_name = 'marts' and comment is null"
        ).fetchall()
        marts = {
            t for (t,) in con.execute("select table_name from duckdb_tables() where schema_name = 'marts'").fetchall()
        }
        answer = subprocess.run(
            _sql_command("select count(*) from marts.fct_reading"),
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            env=os.environ | {"PIPELINES_DATA_DIR": str(lake.data_dir)},
        )
    assert set(schemas) == {"seeds", "staging", "intermediate", "marts"}
    assert {"dim_device", "fct_reading", "fct_issue", "quarantined_records"} <= marts
    assert not any(name.startswith(("stg_", "int_")) for name in marts)
    assert uncommented == []
    assert answer.returncode == 0 and str(lake.both_days_count) in answer.stdout, answer.stderr


@dataclass
class Probe:
    start: float
    end: float
    count: int | None = None
    error: str | None = None


@dataclass
class Window:
    """When a build ran, and whether it succeeded."""

    start: float = 0.0
    end: float = 0.0
    ok: bool = False

    def covers(self, probe: Probe) -> bool:
        return self.start <= probe.start and probe.end <= self.end


@dataclass
class Builds:
    partition: Window = field(default_factory=Window)
    full: Window = field(default_factory=Window)
    error: BaseException | None = None


def _timed(window: Window, build: Callable[[], bool]) -> None:
    window.start = time.time()
    window.ok = build()
    window.end = time.time()


def _full_dbt_build(data_dir: Path) -> bool:
    """`dbt build --full-refresh` of every model, the facts dropped and rebuilt whole."""
    dbt = str(Path(sys.executable).parent / "dbt")
    scratch = data_dir.parent
    command = [dbt, "build", "--full-refresh", "--quiet", "--profiles-dir", "."]
    command += ["--target-path", str(scratch / "dbt_target"), "--log-path", str(scratch / "dbt_logs")]
    return subprocess.run(command, cwd=DBT_PROJECT_DIR, env=os.environ, capture_output=True).returncode == 0


def _sql_command(query: str) -> list[str]:
    """`make sql Q=...`, or the command it runs where make is missing."""
    if shutil.which("make"):
        return ["make", "--no-print-directory", "-s", "sql", f"Q={query}"]
    return [sys.executable, "-m", "pipelines.sql", "-c", query]


def _wait_until_ready(answers_file: Path, timeout_s: float = 120.0) -> None:
    deadline = time.time() + timeout_s
    while not answers_file.read_text().startswith('{"ready": true}\n'):
        assert time.time() < deadline, "the analyst process never connected"
        time.sleep(0.1)


def test_analysts_read_while_dbt_rebuilds_a_partition_and_everything(lake: Lake) -> None:
    os.environ["PIPELINES_DATA_DIR"] = str(lake.data_dir)  # the module fixture's env is gone here
    stop = lake.data_dir.parent / "analyst.stop"
    # The analyst's answers go to a file: a pipe nobody reads until the end fills up (64 KiB, about
    # a minute of probes) and then stalls the analyst for the rest of the builds.
    answers_file = lake.data_dir.parent / "analyst.jsonl"
    analyst_out = answers_file.open("w")
    analyst = subprocess.Popen([sys.executable, "-c", ANALYST, str(stop)], cwd=PROJECT_ROOT, stdout=analyst_out)
    builds = Builds()

    def run_builds() -> None:
        try:
            with DagsterInstance.ephemeral() as instance:
                _timed(
                    builds.partition,
                    lambda: (
                        materialize(
                            [dbt_incremental_models], partition_key=DAYS[1], resources=lake.res, instance=instance
                        ).success
                    ),
                )
            _timed(builds.full, lambda: _full_dbt_build(lake.data_dir))
        except BaseException as exc:  # reported by the test below
            builds.error = exc

    try:
        _wait_until_ready(answers_file)
        builder = threading.Thread(target=run_builds)
        builder.start()
        answers: list[tuple[Probe, str]] = []  # `make sql` from this process meanwhile
        while builder.is_alive():
            started = time.time()
            shell = subprocess.run(_sql_command(COUNT_READINGS), cwd=PROJECT_ROOT, capture_output=True, text=True)
            probe = Probe(started, time.time(), error=shell.stderr if shell.returncode else None)
            answers.append((probe, shell.stdout))
            time.sleep(1.0)  # an analyst's pace: the two cores are busy with dbt
        builder.join()
    finally:
        stop.touch()
        analyst.wait(timeout=60)
        analyst_out.close()
    out = answers_file.read_text().split("\n", 1)[1]  # after the ready line
    os.environ.pop("PIPELINES_DATA_DIR", None)

    assert builds.error is None, builds.error
    assert builds.partition.ok and builds.full.ok
    probes = [Probe(**json.loads(line)) for line in out.splitlines()]
    assert [p.error for p in probes if p.error] == []
    # Every build leaves the same two days: a probe seeing anything else (the first day only,
    # between the partition's delete and insert; an empty or missing table during the full
    # rebuild) would have read an uncommitted state.
    assert {p.count for p in probes} == {lake.both_days_count}
    for window in (builds.partition, builds.full):
        assert sum(window.covers(p) for p in probes) >= 3, "the analyst must query during each build"

    assert [p.error for p, _ in answers if p.error] == []
    assert all(str(lake.both_days_count) in stdout for _, stdout in answers)
    assert any(builds.partition.covers(p) or builds.full.covers(p) for p, _ in answers)


def test_weekly_maintenance_compacts_expires_and_deletes_old_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIPELINES_DATA_DIR", str(tmp_path))
    with lake_connect(read_only=False) as con:
        con.execute("create schema marts")
        con.execute("create table marts.fct_reading as select range as value from range(50000)")
        for _ in range(3):  # small appends, then a rebuild: files only older snapshots use
            con.execute("insert into marts.fct_reading select range from range(20000)")
        con.execute("create or replace table marts.fct_reading as select range as value from range(30000)")
        snapshots_before = con.execute("select count(*) from ducklake_snapshots('lake')").fetchone()[0]
    files_before = len(list((tmp_path / "lake" / "data").rglob("*.parquet")))

    config = {"ops": {"maintain_warehouse_lake": {"config": {"keep_snapshots_days": 0}}}}
    result = lake_maintenance_job.execute_in_process(run_config=config)

    assert result.success
    with connect() as con:
        assert con.execute("select count(*) from fct_reading").fetchone()[0] == 30000
        assert con.execute("select count(*) from ducklake_snapshots('lake')").fetchone()[0] == 1 < snapshots_before
    assert len(list((tmp_path / "lake" / "data").rglob("*.parquet"))) < files_before
