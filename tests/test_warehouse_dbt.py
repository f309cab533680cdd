"""The dbt resource's cuts to each step's fixed cost hold against the real dbt."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from dagster import DagsterInstance, materialize
from packaging.version import Version

from pipelines.dbt_parse_state import PARTIAL_PARSE_FILE, project_fingerprint
from pipelines.definitions import resources
from pipelines.settings import DBT_PROJECT_DIR
from pipelines.warehouse import DBT_EXECUTABLE, WarehouseDbt, dbt_models


def test_the_dbt_version_is_the_installed_clis() -> None:
    """The version dagster-dbt used to learn from `dbt --version` in every step."""
    printed = subprocess.run([DBT_EXECUTABLE, "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"installed: (\d+\.\d+\.\d+)", printed)
    assert match is not None, printed
    dbt = resources()["dbt"]
    assert isinstance(dbt, WarehouseDbt)
    assert dbt._cli_version == Version(match.group(1))


def dbt_log_of(run_id: str) -> str:
    """dbt's own log of a run's one dbt call (dagster-dbt puts it in the call's target folder)."""
    (target,) = (DBT_PROJECT_DIR / "target").glob(f"dbt_models-{run_id[:7]}-*")
    return (target / "dbt.log").read_text()


@pytest.mark.slow
def test_dbt_steps_parse_only_what_changed(data_dir: Path) -> None:
    with DagsterInstance.ephemeral() as instance:

        def dbt_log() -> str:
            result = materialize([dbt_models], resources=resources(), instance=instance)
            assert result.success
            return dbt_log_of(result.run_id)

        # A new data directory starts from the project's state (`make manifest`): its profile names
        # no path, so only what reads the data directory (the sources' locations) is parsed again.
        first = dbt_log()
        assert "Unable to do partial parsing" not in first
        assert "Partial parsing: updated file: telemetry://models/staging/baxo/_baxo__sources.yml" in first
        assert (data_dir / "lake" / PARTIAL_PARSE_FILE).is_file()

        # The next call starts from the state the first one kept: nothing to parse.
        assert "Partial parsing enabled, no changes found, skipping parsing" in dbt_log()

        # A state kept from other project files is not reused: back to the project's state.
        (data_dir / "lake" / f"{PARTIAL_PARSE_FILE}.project").write_text("another version of the project")
        again = dbt_log()
        assert "Unable to do partial parsing" not in again
        assert "Partial parsing: updated file: telemetry://models/staging/baxo/_baxo__sources.yml" in again


def test_the_project_fingerprint_follows_the_projects_files_only(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "models" / "a.sql").write_text("select 1")
    first = project_fingerprint(project)
    (project / "target").mkdir()
    (project / "target" / "manifest.json").write_text("{}")  # generated: not the project
    assert project_fingerprint(project) == first
    (project / "models" / "a.sql").write_text("select 2")
    assert project_fingerprint(project) != first
    (project / "models" / "a.sql").write_text("select 1")
    (project / "models" / "b.sql").write_text("")
    assert project_fingerprint(project) != first
