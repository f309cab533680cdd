"""The dbt resource's cuts to each step's fixed cost hold against the real dbt."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from dagster import DagsterInstance, materialize
from packaging.version import Version

from pipelines.definitions import resources
from pipelines.settings import DBT_PROJECT_DIR
from pipelines.warehouse import DBT_EXECUTABLE, PARTIAL_PARSE_FILE, WarehouseDbt, dbt_models


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
        first = materialize([dbt_models], resources=resources(), instance=instance)
        assert first.success
        # A new data directory starts from the project's parse state: its profile names no path
        # (only the sources' locations changed, so only they are parsed again).
        first_log = dbt_log_of(first.run_id)
        assert "Unable to do partial parsing" not in first_log
        assert "Partial parsing: updated file" in first_log
        assert (data_dir / "lake" / PARTIAL_PARSE_FILE).is_file()

        # The next call in this data directory parses nothing.
        second = materialize([dbt_models], resources=resources(), instance=instance)
        assert second.success
        assert "Partial parsing enabled, no changes found, skipping parsing" in dbt_log_of(second.run_id)
