"""Fixtures: a data directory per test, and vendor simulators on 127.0.0.1 over real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pipelines.settings import DBT_PROJECT_DIR
from pipelines.simulation.faults import FaultConfig
from pipelines.simulation.registry import simulator_spec
from pipelines.simulation.server import SimulatorServer
from tests.services import Postgres, S3Server, postgres_binary, running_moto_s3, running_postgres

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")


# Modules that build the warehouse with dbt or run whole pipelines: `make test-fast` leaves them out.
SLOW_MODULES = {
    "test_analysts",
    "test_bagtower_more_pipeline",
    "test_bagtower_pipeline",
    "test_baxo_pipeline",
    "test_bench_smoke",
    "test_chaos",
    "test_dsmr_pipeline",
    "test_encloud_pipeline",
    "test_isolation",
    "test_lake",
    "test_landing_s3_warehouse",
    "test_orchestration",
    "test_primayer_more_pipeline",
    "test_primayer_pipeline",
    "test_run",
    "test_scale_smoke",
    "test_type_quarantine",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.module is not None and item.module.__name__.rsplit(".", 1)[-1] in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


def pytest_configure(config: pytest.Config) -> None:
    # dagster-dbt reads the manifest when the definitions are imported; `make test` builds it,
    # this covers a bare `pytest`.
    if not (DBT_PROJECT_DIR / "target" / "manifest.json").exists():
        os.environ.setdefault("PIPELINES_DATA_DIR", str(Path(config.rootpath) / "data"))
        dbt = str(Path(sys.executable).parent / "dbt")
        subprocess.run([dbt, "parse", "--quiet", "--profiles-dir", "."], cwd=DBT_PROJECT_DIR, check=True)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh `PIPELINES_DATA_DIR` for the test."""
    path = tmp_path / "data"
    path.mkdir()
    monkeypatch.setenv("PIPELINES_DATA_DIR", str(path))
    return path


StartSimulator = Callable[..., SimulatorServer]


@pytest.fixture
def start_simulator() -> Iterator[StartSimulator]:
    """`start_simulator(vendor, app_config, faults=FaultConfig(...))` -> a running server."""
    servers: list[SimulatorServer] = []

    def start(vendor: str, app_config: object = None, faults: FaultConfig | None = None) -> SimulatorServer:
        server = SimulatorServer(simulator_spec(vendor).create_app(app_config), faults).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A throwaway PostgreSQL server (initdb + pg_ctl in a temp folder, a free port on 127.0.0.1)."""
    if postgres_binary("initdb") is None or postgres_binary("pg_ctl") is None:
        reason = "PostgreSQL server binaries (initdb, pg_ctl) are not installed: apt-get install postgresql"
        if os.environ.get("PIPELINES_REQUIRE_POSTGRES"):  # CI: a skip there would hide the catalog tests
            pytest.fail(reason)
        pytest.skip(reason)
    with running_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[S3Server]:
    """moto's S3 server on 127.0.0.1, for the whole session (each test makes its own bucket)."""
    with running_moto_s3() as server:
        yield server
