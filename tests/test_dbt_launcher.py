"""dbt dies with the process that launched it (the launcher every dbt step goes through)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from pipelines.warehouse import DBT_EXECUTABLE

PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.argv[1], "600"])
print(child.pid, flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return False
    return fields[0] not in ("Z", "X")


def test_killing_the_launching_process_stops_dbt() -> None:
    # The launcher runs whatever PIPELINES_DBT_EXECUTABLE names; `sleep` stands in for a long dbt build.
    env = {**os.environ, "PIPELINES_DBT_EXECUTABLE": "/bin/sleep"}
    parent = subprocess.Popen([sys.executable, "-c", PARENT, DBT_EXECUTABLE], stdout=subprocess.PIPE, env=env)
    child = int(parent.stdout.readline())
    # The launcher arms the signal and then becomes `sleep`: kill the parent only once it has
    # (on a loaded machine that took more than 10 s once, and the parent was killed too early).
    deadline = time.monotonic() + 120
    while Path(f"/proc/{child}/comm").read_text().strip() != "sleep" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert Path(f"/proc/{child}/comm").read_text().strip() == "sleep"
    assert _alive(child)
    armed = _signal_state(child)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    survived = _alive(child)
    if survived:
        os.kill(child, signal.SIGKILL)
    assert not survived, f"dbt outlived the process that launched it: {armed}"


def _signal_state(pid: int) -> str:
    """The process's parent and signal masks, for the failure message."""
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    return "; ".join(line for line in status if line.startswith(("PPid", "SigBlk", "SigIgn", "SigCgt")))


def test_the_launcher_runs_the_real_dbt() -> None:
    done = subprocess.run([DBT_EXECUTABLE, "--version"], capture_output=True, text=True, check=True)
    assert "dbt" in done.stdout.lower() and "duckdb" in done.stdout.lower()
