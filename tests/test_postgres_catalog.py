"""The lake's catalog on PostgreSQL (`WAREHOUSE_CATALOG=postgres:...`): two Dagster runs build
different days of the facts at the same time and both commit, while an analyst reads throughout.

With the SQLite catalog the warehouse pool is one: a second writer would wait on SQLite's lock.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from dagster import DagsterInstance, materialize

from pipelines.definitions import resources
from pipelines.lake import allows_concurrent_writers, catalog_uri, needed_extensions
from pipelines.settings import PROJECT_ROOT
from pipelines.simulation.registry import simulator_spec
from pipelines.simulation.server import SimulatorServer
from pipelines.vendors.baxo.assets import BaxoResource, baxo_assets, baxo_device_historics
from pipelines.vendors.baxo.simulator import PASSWORD, USERNAME
from pipelines.warehouse import connect, dbt_incremental_models, dbt_models
from tests.analyst import ANALYST
from tests.services import Postgres

pytestmark = pytest.mark.slow
FIRST_DAY = "2026-11-18"  # built before the test: the facts' tables exist when the writers start
DAYS = ["2026-11-19", "2026-11-20"]

# One Dagster run of one day of the facts in its own process. It imports everything first, then
# waits for the go file, so the two writers' builds start together; prints its window as JSON.
WRITER = """
import json, sys, time
from pathlib import Path
from dagster import DagsterInstance, materialize
from pipelines.definitions import resources
from pipelines.warehouse import dbt_incremental_models

day, go = sys.argv[1], Path(sys.argv[2])
dbt = {"dbt": resources()["dbt"]}
while not go.exists():
    time.sleep(0.02)
start = time.time()
with DagsterInstance.ephemeral() as instance:
    ok = materialize([dbt_incremental_models], partition_key=day, resources=dbt, instance=instance).success
print(json.dumps({"day": day, "ok": ok, "start": start, "end": time.time()}), flush=True)
"""


@dataclass
class Lake:
    data_dir: Path
    environment: dict[str, str]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory, postgres: Postgres) -> Iterator[Lake]:
    """BAXO's devices and three days landed; views, dimensions and the first day's facts built in
    a PostgreSQL-catalogued lake."""
    data_dir = tmp_path_factory.mktemp("pg_lake") / "data"
    data_dir.mkdir()
    catalog = f"postgres:{postgres.create_database('lake')}"
    server = SimulatorServer(simulator_spec("baxo").create_app(None)).start()
    with pytest.MonkeyPatch.context() as env, DagsterInstance.ephemeral() as instance:
        env.setenv("PIPELINES_DATA_DIR", str(data_dir))
        env.setenv("WAREHOUSE_CATALOG", catalog)
        res = resources()
        res["baxo"] = BaxoResource(
            base_url=f"{server.url}/k1", username=USERNAME, password=PASSWORD, backoff_base_s=0.01
        )
        try:
            snapshots = [a for a in baxo_assets if a.partitions_def is None]
            assert materialize(snapshots, resources=res, instance=instance).success
            for day in [FIRST_DAY, *DAYS]:
                assert materialize([baxo_device_historics], partition_key=day, resources=res, instance=instance).success
            assert materialize([dbt_models], resources=res, instance=instance).success
            assert materialize(
                [dbt_incremental_models], partition_key=FIRST_DAY, resources=res, instance=instance
            ).success
            yield Lake(data_dir, {**os.environ})
        finally:
            server.stop()


def test_the_catalog_setting_selects_postgres(lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAREHOUSE_CATALOG", lake.environment["WAREHOUSE_CATALOG"])
    assert catalog_uri().startswith("ducklake:postgres:dbname=lake ")
    assert needed_extensions() == ["ducklake", "postgres"]
    assert allows_concurrent_writers()
    # Nothing of the catalog lives in the data directory: it is all in PostgreSQL.
    assert not (lake.data_dir / "lake" / "catalog.sqlite").exists()
    monkeypatch.setenv("WAREHOUSE_CATALOG", "mysql:host=x")
    with pytest.raises(ValueError, match="WAREHOUSE_CATALOG must be sqlite:<file> or postgres:"):
        catalog_uri()


def _start(script: str, *args: str, env: dict[str, str], out: Path) -> subprocess.Popen[str]:
    """A Python process writing its stdout and stderr to files (a pipe nobody reads would fill
    and stall it), named `out` and `out` + `.err`."""
    with out.open("w") as stdout, out.with_suffix(".err").open("w") as stderr:
        command = [sys.executable, "-c", script, *args]
        return subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=stdout, stderr=stderr, text=True)


def _lines(out: Path) -> list[dict]:
    """The JSON lines a process printed (dbt prints its own lines beside them)."""
    return [json.loads(line) for line in out.read_text().splitlines() if line.startswith("{")]


def _wait_until_ready(out: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 300
    while not out.read_text().strip():
        assert process.poll() is None, out.with_suffix(".err").read_text()[-2000:]
        assert time.monotonic() < deadline, "the analyst never connected"
        time.sleep(0.2)


def test_two_runs_write_different_days_at_once_and_a_reader_never_fails(
    lake: Lake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    go, stop = tmp_path / "go", tmp_path / "stop"
    analyst_out = tmp_path / "analyst.jsonl"
    analyst = _start(ANALYST, str(stop), env=lake.environment, out=analyst_out)
    _wait_until_ready(analyst_out, analyst)
    writer_outs = [tmp_path / f"writer-{day}.jsonl" for day in DAYS]
    writers = [
        _start(WRITER, day, str(go), env=lake.environment, out=out) for day, out in zip(DAYS, writer_outs, strict=True)
    ]
    time.sleep(8)  # both writers have imported the pipelines and wait for the go file
    go.touch()
    for writer, out in zip(writers, writer_outs, strict=True):
        assert writer.wait(timeout=900) == 0, out.with_suffix(".err").read_text()[-3000:]
    results = [_lines(out)[-1] for out in writer_outs]
    stop.touch()
    assert analyst.wait(timeout=60) == 0, analyst_out.with_suffix(".err").read_text()[-2000:]
    probes = _lines(analyst_out)[1:]

    assert [r["ok"] for r in results] == [True, True], results
    one, other = results
    assert one["start"] < other["end"] and other["start"] < one["end"], "the two builds did not overlap"
    errors = [p["error"] for p in probes if "error" in p]
    assert errors == []
    during = [p for p in probes if min(r["start"] for r in results) <= p["start"] <= max(r["end"] for r in results)]
    assert len(during) >= 5, "the analyst barely read while the builds ran"

    for name in ("PIPELINES_DATA_DIR", "WAREHOUSE_CATALOG"):
        monkeypatch.setenv(name, lake.environment[name])
    with connect() as con:
        by_day = dict(con.execute("select partition_date::varchar, count(*) from fct_reading group by all").fetchall())
    assert set(by_day) == {FIRST_DAY, *DAYS}
    assert all(count > 0 for count in by_day.values())
    # Every count the analyst saw was a committed state: the first day alone, plus either day, or all.
    first, a, b = by_day[FIRST_DAY], by_day[DAYS[0]], by_day[DAYS[1]]
    seen = {p["count"] for p in probes if "count" in p}
    assert seen <= {first, first + a, first + b, first + a + b}, seen
    assert probes[-1]["count"] == first + a + b
