"""dbt run in the step's process hands dagster-dbt what the dbt CLI printed, fails as the CLI
fails, and attaches the lake of the data directory set when each invocation runs."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pipelines.dbt_in_process import InProcessDbt
from pipelines.lake import connect
from pipelines.settings import DBT_PROJECT_DIR
from pipelines.warehouse import DBT_EXECUTABLE

SEED = "cost_currencies"


def dbt_args(command: list[str], target: Path) -> list[str]:
    folders = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    return [*command, *folders, "--target-path", str(target), "--log-path", str(target)]


def cli(command: list[str], target: Path, data_dir: Path) -> tuple[int, list[dict[str, Any]]]:
    env = os.environ | {"PIPELINES_DATA_DIR": str(data_dir), "DBT_LOG_FORMAT": "json"}
    done = subprocess.run([DBT_EXECUTABLE, *dbt_args(command, target)], env=env, capture_output=True, text=True)
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def in_process(command: list[str], target: Path, errors: list[str] | None = None) -> tuple[int, list[dict[str, Any]]]:
    dbt = InProcessDbt(["dbt", *dbt_args(command, target)], {"DBT_LOG_FORMAT": "json"})
    events = [json.loads(line) for line in dbt.stdout]
    code = dbt.wait()
    (errors if errors is not None else []).extend(dbt.errors)
    return code, events


def shape(events: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    """Each event's name, level and node, in order (times, ids and paths differ between runs)."""
    return [(e["info"]["name"], e["info"]["level"], e["data"].get("node_info", {}).get("unique_id")) for e in events]


def seed_rows(data_dir: Path) -> int:
    with connect(root=data_dir) as lake:
        return lake.execute(f"select count(*) from seeds.{SEED}").fetchall()[0][0]


@pytest.mark.slow
def test_the_events_are_the_clis(tmp_path: Path, data_dir: Path) -> None:
    command = ["build", "--select", SEED]
    cli_code, cli_events = cli(command, tmp_path / "cli", tmp_path / "cli-data")
    code, events = in_process(command, tmp_path / "in-process")
    assert (code, cli_code) == (0, 0)
    assert shape(events) == shape(cli_events)
    (seeded,) = [e["data"]["node_info"] for e in events if e["info"]["name"] == "LogSeedResult"]
    assert seeded["node_status"] == "success"
    assert seed_rows(data_dir) == seed_rows(tmp_path / "cli-data") > 0


@pytest.mark.slow
def test_a_failure_is_the_clis(tmp_path: Path, data_dir: Path) -> None:
    command = ["run-operation", "no_such_macro"]
    cli_code, cli_events = cli(command, tmp_path / "cli", data_dir)
    kept: list[str] = []  # what the step reads a lost commit race from
    code, events = in_process(command, tmp_path / "in-process", kept)
    assert code == cli_code != 0
    errors = [e["info"]["msg"] for e in events if e["info"]["level"] == "error"]
    assert errors == [e["info"]["msg"] for e in cli_events if e["info"]["level"] == "error"] == kept
    assert any("no_such_macro" in error for error in errors), errors


@pytest.mark.slow
def test_each_invocation_attaches_the_lake_of_its_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # dbt-duckdb keeps its database, with the lake attached, for the next invocation of the same
    # profile, and the profile names no data directory: the second build must not reach the first lake.
    first, second = tmp_path / "first", tmp_path / "second"
    for data_dir in (first, second):
        data_dir.mkdir()
        monkeypatch.setenv("PIPELINES_DATA_DIR", str(data_dir))
        code, _ = in_process(["seed", "--select", SEED], tmp_path / f"target-{data_dir.name}")
        assert code == 0
    assert seed_rows(first) == seed_rows(second) > 0
    with connect(root=first) as lake:
        (snapshots,) = lake.execute("select count(*) from lake.snapshots()").fetchall()[0]
    monkeypatch.setenv("PIPELINES_DATA_DIR", str(second))
    in_process(["seed", "--select", SEED], tmp_path / "target-again")
    with connect(root=first) as lake:
        assert lake.execute("select count(*) from lake.snapshots()").fetchall()[0][0] == snapshots


@pytest.mark.slow
def test_a_nodes_database_error_is_among_the_errors(tmp_path: Path, data_dir: Path) -> None:
    """The step reads a lost commit race (DuckLake's "Transaction conflict") from these errors."""
    errors: list[str] = []
    code, _ = in_process(["run", "--select", "stg_baxo__device_historics"], tmp_path / "target", errors)
    assert code == 1
    assert any("stg_baxo__device_historics" in error and "No files found" in error for error in errors), errors
