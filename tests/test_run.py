"""`make run` end to end as a real process: one vendor refused, the others reach the marts.

One run of `python -m pipelines.run --days 1` (about a minute) is shared by the tests of this
module, with a wrong `PRIMAYER_TOKEN` (the Primayer simulator answers 401) and the simulators'
default ports held by this process, as by another checkout on the same host.
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance

from pipelines.failures import describe_vendor_failure
from pipelines.http import VendorRequestError
from pipelines.lake import connect
from pipelines.settings import PROJECT_ROOT
from pipelines.simulation.registry import all_specs, simulator_spec

WRONG_TOKEN = "not-the-primayer-token-5e1d"
WORKING_VENDORS = {"baxo", "dsmr", "encloud", "bagtower"}


@dataclass(frozen=True)
class FinishedRun:
    process: subprocess.CompletedProcess[str]
    data_dir: Path
    dagster_home: Path

    @property
    def stdout_lines(self) -> list[str]:
        return self.process.stdout.strip().splitlines()

    @property
    def log_path(self) -> Path:
        printed = [line for line in self.stdout_lines if line.startswith("log: ")]
        assert printed, self.process.stdout
        return Path(printed[-1].removeprefix("log: "))


def _hold_default_ports() -> list[socket.socket]:
    """Listen on every simulator's default port that is free; a port already taken is as good."""
    held = []
    for spec in all_specs():
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(("127.0.0.1", spec.port))
            sock.listen()
        except OSError as exc:
            sock.close()
            if exc.errno != errno.EADDRINUSE:
                raise
            continue
        held.append(sock)
    return held


def _run_env(data_dir: Path, dagster_home: Path) -> dict[str, str]:
    """This environment minus every vendor setting (so the simulators are used) and port base."""
    vendor_settings = {name for spec in all_specs() for name in spec.default_env}
    env = {k: v for k, v in os.environ.items() if k not in vendor_settings}
    env.pop("PIPELINES_SIMULATOR_PORT_BASE", None)
    env.update(
        PIPELINES_DATA_DIR=str(data_dir),
        DAGSTER_HOME=str(dagster_home),
        PRIMAYER_TOKEN=WRONG_TOKEN,
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    return env


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FinishedRun]:
    root = tmp_path_factory.mktemp("make_run")
    data_dir, dagster_home = root / "data", root / "dagster_home"
    data_dir.mkdir()
    (data_dir / ".gitkeep").touch()
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    held = _hold_default_ports()
    try:
        process = subprocess.run(
            [sys.executable, "-m", "pipelines.run", "--days", "1"],
            cwd=PROJECT_ROOT,
            env=_run_env(data_dir, dagster_home),
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        for sock in held:
            sock.close()
    yield FinishedRun(process, data_dir, dagster_home)


def test_a_refused_vendor_fails_the_run_in_one_line_naming_its_setting(finished_run: FinishedRun) -> None:
    process = finished_run.process
    assert process.returncode != 0
    last_lines = "\n".join(finished_run.stdout_lines[-3:])
    assert "primayer: PRIMAYER_TOKEN refused (401)" in last_lines
    assert "Traceback" not in process.stdout and "Stack Trace" not in process.stdout
    assert WRONG_TOKEN not in process.stdout + process.stderr


def test_the_log_file_has_the_traceback(finished_run: FinishedRun) -> None:
    log = finished_run.log_path.read_text()
    assert finished_run.log_path.parent == finished_run.data_dir / "logs"
    assert "pipelines.http.VendorRequestError: primayer" in log
    assert "primayer/client.py" in log  # a frame of the stack
    assert WRONG_TOKEN not in log


def test_simulators_took_free_ports_while_the_default_ones_were_held(finished_run: FinishedRun) -> None:
    started = [line for line in finished_run.stdout_lines if ": simulator on http://127.0.0.1:" in line]
    assert len(started) == len(all_specs())
    for spec in all_specs():
        assert f"{spec.vendor}: simulator on http://127.0.0.1:{spec.port}" not in started


def test_the_other_vendors_reach_the_marts(finished_run: FinishedRun) -> None:
    with connect(root=finished_run.data_dir) as con:
        reading_vendors = {v for (v,) in con.execute("select distinct vendor from fct_reading").fetchall()}
        device_vendors = {v for (v,) in con.execute("select distinct vendor from dim_device").fetchall()}
        issues = con.execute("select count(*) from fct_issue").fetchone()[0]
    assert reading_vendors == WORKING_VENDORS
    assert device_vendors == WORKING_VENDORS
    assert issues > 0


def test_materializations_are_in_the_persistent_instance(finished_run: FinishedRun) -> None:
    with DagsterInstance.from_config(str(finished_run.dagster_home)) as instance:
        for key in (["baxo", "device_historics"], ["bagtower", "issues"], ["fct_reading"]):
            event = instance.get_latest_materialization_event(AssetKey(key))
            assert event is not None, key
        assert instance.get_latest_materialization_event(AssetKey(["primayer", "logger_epochs"])) is None


def test_make_clean_leaves_only_gitkeep_in_the_data_dir(finished_run: FinishedRun, tmp_path: Path) -> None:
    """Runs last in this module: it empties the shared run's data directory."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    venv, dbt_target = tmp_path / "venv", tmp_path / "dbt_target"
    for made in (venv / "bin", dbt_target):
        made.mkdir(parents=True)
    assert {p.name for p in finished_run.data_dir.iterdir()} >= {"landing", "cursors", "logs", "lake"}
    overrides = [f"VENV={venv}", f"DBT_GENERATED={dbt_target}", f"PIPELINES_DATA_DIR={finished_run.data_dir}"]
    subprocess.run(["make", "--no-print-directory", "clean", *overrides], cwd=PROJECT_ROOT, check=True)
    assert [p.name for p in finished_run.data_dir.iterdir()] == [".gitkeep"]
    assert not venv.exists() and not dbt_target.exists()


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, "primayer: PRIMAYER_TOKEN refused (401)"),
        (None, "primayer: PRIMAYER_BASE_URL unreachable (logger/info: ConnectError: refused)"),
        (404, "primayer: logger/info answered 404 (check PRIMAYER_BASE_URL): no such logger"),
    ],
)
def test_a_vendor_request_error_becomes_one_line(status: int | None, expected: str) -> None:
    from dagster._utils.error import serializable_error_info_from_exc_info

    detail = {401: "denied", None: "ConnectError: refused", 404: "no such logger"}[status]
    try:
        try:
            raise VendorRequestError("primayer", "logger/info", status, detail)
        except VendorRequestError as cause:
            raise RuntimeError("Error occurred while executing op") from cause
    except RuntimeError:
        error = serializable_error_info_from_exc_info(sys.exc_info())
    assert describe_vendor_failure(simulator_spec("primayer"), error) == expected
