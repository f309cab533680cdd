"""deploy/dagster.yaml loads against a real PostgreSQL and records runs there."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
from dagster import DagsterInstance, asset, materialize

from pipelines.settings import PROJECT_ROOT
from pipelines.warehouse import WAREHOUSE_POOL
from tests.services import Postgres

DEPLOY_YAML = PROJECT_ROOT / "deploy" / "dagster.yaml"


@asset(pool=WAREHOUSE_POOL)
def probe_rows() -> int:
    return 3


@pytest.fixture
def deployed_instance(postgres: Postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DagsterInstance:
    """An instance from deploy/dagster.yaml, its settings pointing at the throwaway server."""
    database = f"dagster_{uuid.uuid4().hex[:8]}"
    postgres.create_database(database)
    for name, value in {
        "DAGSTER_PG_HOST": postgres.host,
        "DAGSTER_PG_PORT": str(postgres.port),
        "DAGSTER_PG_DB": database,
        "DAGSTER_PG_USER": postgres.user,
        "DAGSTER_PG_PASSWORD": "unused-with-trust-auth",
    }.items():
        monkeypatch.setenv(name, value)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DEPLOY_YAML, home / "dagster.yaml")
    return DagsterInstance.from_config(str(home))


def test_the_deploy_instance_keeps_runs_and_events_in_postgres(deployed_instance: DagsterInstance) -> None:
    with deployed_instance as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        result = materialize([probe_rows], instance=instance)
        assert result.success
        runs = instance.get_runs()
        assert [run.run_id for run in runs] == [result.run_id]
        assert instance.get_latest_materialization_event(probe_rows.key).run_id == result.run_id


def test_the_deploy_instance_queues_runs_and_allows_parallel_warehouse_writers(
    deployed_instance: DagsterInstance,
) -> None:
    with deployed_instance as instance:
        config = instance.get_concurrency_config()
        assert config.run_queue_config.max_concurrent_runs == 8
        assert config.pool_config.default_pool_limit > 1
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert instance.run_retries_enabled
