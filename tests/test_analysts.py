"""What docs/analysts.md promises, on a warehouse built the way `make run` builds it.

One `python -m pipelines.run --days 2` (every vendor on its simulator) is shared by the module:
the run ends with no dbt test warned or failed, every SQL block of docs/analysts.md returns rows,
and a mart whose SQL changes a column's type fails its contract.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.lake import connect
from pipelines.settings import DBT_PROJECT_DIR, PROJECT_ROOT
from pipelines.simulation.registry import all_specs

ANALYSTS_DOC = PROJECT_ROOT / "docs" / "analysts.md"
SQL_BLOCK = re.compile(r"```sql\n(.*?)```", re.S)


@pytest.fixture(scope="module")
def run_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """(data directory, stdout) of a `make run`-style run of two days on the simulators."""
    root = tmp_path_factory.mktemp("analysts")
    data_dir, dagster_home = root / "data", root / "dagster_home"
    data_dir.mkdir()
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    vendor_settings = {name for spec in all_specs() for name in spec.default_env}
    env = {k: v for k, v in os.environ.items() if k not in vendor_settings and k != "PIPELINES_SIMULATOR_PORT_BASE"}
    env |= {"PIPELINES_DATA_DIR": str(data_dir), "DAGSTER_HOME": str(dagster_home)}
    run = subprocess.run(
        [sys.executable, "-m", "pipelines.run", "--days", "2"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    yield data_dir, run.stdout


def test_a_clean_run_builds_the_warehouse_without_a_warning(run_warehouse: tuple[Path, str]) -> None:
    _, stdout = run_warehouse
    dbt_lines = [line for line in stdout.splitlines() if line.startswith(("dbt models:", "dbt facts:"))]
    assert len(dbt_lines) == 2, stdout
    assert all(line.endswith("0 warned, 0 failed") for line in dbt_lines), dbt_lines


def _sql_blocks() -> list[str]:
    return SQL_BLOCK.findall(ANALYSTS_DOC.read_text())


def test_the_analysts_guide_has_its_examples_and_is_linked_from_the_readme() -> None:
    assert len(_sql_blocks()) >= 6
    assert "docs/analysts.md" in (PROJECT_ROOT / "README.md").read_text()


@pytest.mark.parametrize("block", range(len(_sql_blocks())))
def test_every_example_of_the_analysts_guide_returns_rows(run_warehouse: tuple[Path, str], block: int) -> None:
    data_dir, _ = run_warehouse
    sql = _sql_blocks()[block]
    with connect(root=data_dir) as con:
        rows = con.execute(sql).fetchall()
    assert rows, sql


def test_a_mart_that_changes_a_column_type_fails_its_contract(run_warehouse: tuple[Path, str], tmp_path: Path) -> None:
    """dim_device's latitude (double in the contract) turned into text: dbt refuses to build it."""
    data_dir, _ = run_warehouse
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    model = project / "models" / "marts" / "dim_device.sql"
    model.write_text(model.read_text().replace("devices.latitude,", "cast(devices.latitude as varchar) as latitude,"))
    dbt = str(Path(sys.executable).parent / "dbt")
    command = [dbt, "run", "--select", "dim_device", "--profiles-dir", ".", "--target-path", str(tmp_path / "target")]
    command += ["--log-path", str(tmp_path / "logs")]
    env = os.environ | {"PIPELINES_DATA_DIR": str(data_dir), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    build = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=300)
    assert build.returncode != 0
    assert "contract" in build.stdout.lower() and "latitude" in build.stdout, build.stdout[-3000:]
    with connect(root=data_dir) as con:  # the mart in the lake is untouched
        assert con.execute("select typeof(latitude) from marts.dim_device limit 1").fetchone() == ("DOUBLE",)
