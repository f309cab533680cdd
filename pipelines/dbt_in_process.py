"""dbt run inside the Dagster step's own process, in place of a dbt CLI subprocess.

A dbt subprocess pays Python's start and dbt's imports before any work (about 4 s on two cores,
`python -m bench.dbt_step`), though the step process has imported most of dbt already
(dagster-dbt imports dbt's contracts and adapter base). `InProcessDbt` runs the same command
line through dbt's programmatic entry point (`dbtRunner`) on a thread of this process and hands
dagster-dbt the JSON log lines the CLI would have printed, as a process's stdout, so dagster-dbt
turns them into materializations, checks and errors exactly as before.

dbt keeps global state (flags, adapters, the event manager), so one invocation runs at a time
per process. dbt-duckdb keeps its DuckDB database (with the lake attached) for the next
invocation with the same profile; it is closed after each, so every invocation attaches the lake
of the data directory set then. A step killed mid-build takes dbt with it: nothing is left
writing the lake on its own, and a DuckLake commit is atomic.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from dagster import get_dagster_logger
from dbt_common.events.functions import msg_to_dict
from dbt_common.utils.encoding import ForgivingJSONEncoder

# The CLI prints info and above; dagster-dbt reads those lines (debug ones go to dbt.log).
_SKIPPED_LEVELS = frozenset({"debug"})
# dbt's exit codes: 0 success, 1 a node failed or errored, 2 dbt itself failed.
EXIT_SUCCESS, EXIT_FAILURE, EXIT_ERROR = 0, 1, 2
_ONE_AT_A_TIME = threading.Lock()


class InProcessDbt:
    """The part of `subprocess.Popen` dagster-dbt's `DbtCliInvocation` uses (`args`, `stdout`,
    `wait`, `returncode`, `send_signal`), backed by `dbtRunner` on a thread."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str]) -> None:
        self.args = list(args)
        self.returncode: int | None = None
        # What dbt reported at error level, in order: the lines dagster-dbt reads its errors from.
        self.errors: list[str] = []
        self._lines: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self.stdout = _Lines(self._lines)
        self._thread = threading.Thread(target=self._run, args=(dict(env),), name="dbt", daemon=True)
        self._thread.start()

    def _run(self, env: dict[str, str]) -> None:
        from dbt.cli.main import dbtRunner  # here, not at import: a step that runs no dbt never pays it

        code = EXIT_ERROR
        try:
            with _ONE_AT_A_TIME, _environment(env):
                try:
                    result = dbtRunner(callbacks=[self._emit]).invoke(self.args[1:])
                finally:
                    _close_duckdb_environment()
            # dbt has reported a failure or an exception (MainEncounteredError) as an error event.
            code = EXIT_SUCCESS if result.success else EXIT_FAILURE if result.exception is None else EXIT_ERROR
        except BaseException as exc:  # outside dbt's own handling: reported, never lost on the thread
            self._emit_error(f"dbt failed: {type(exc).__name__}: {exc}")
        finally:
            self.returncode = code
            self._lines.put(None)

    def _emit(self, message: Any) -> None:
        """One dbt event as the CLI's JSON log line (`--log-format json`)."""
        if message.info.level in _SKIPPED_LEVELS:
            return
        if message.info.level == "error":
            self.errors.append(message.info.msg)
        line = json.dumps(msg_to_dict(message), sort_keys=True, cls=ForgivingJSONEncoder)
        self._lines.put(line.encode())

    def _emit_error(self, text: str) -> None:
        self.errors.append(text)
        event = {"info": {"level": "error", "msg": text, "name": "InProcessDbtError"}, "data": {}}
        self._lines.put(json.dumps(event).encode())

    def wait(self, timeout: float | None = None) -> int:
        self._thread.join(timeout)
        if self.returncode is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return self.returncode

    def send_signal(self, signal: int) -> None:
        # dagster-dbt forwards an interrupt; a thread cannot be stopped, and the step process's
        # exit ends dbt with it.
        get_dagster_logger().warning(f"dbt runs in this process: signal {signal} not forwarded; it ends with it")


class _Lines:
    """A pipe's read end: the lines put on the queue until None, then closed."""

    def __init__(self, lines: queue.SimpleQueue[bytes | None]) -> None:
        self._lines = lines
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        while not self.closed and (line := self._lines.get()) is not None:
            yield line
        self.closed = True

    def __enter__(self) -> _Lines:
        return self

    def __exit__(self, *exc: object) -> None:
        self.closed = True

    def close(self) -> None:
        self.closed = True


def _environment(env: Mapping[str, str]) -> AbstractContextManager[None]:
    """The invocation's variables (dagster-dbt's DBT_TARGET_PATH, DBT_LOG_FORMAT, ...) set for its
    duration: dbt reads its options from the environment."""
    # The CLI's stdout is what dagster-dbt reads; here the events reach it by callback, and
    # dagster-dbt echoes each one to stdout itself. dbt.log in the target folder stays as it was.
    return environment_set({**env, "DBT_LOG_LEVEL": "none", "DBT_LOG_LEVEL_FILE": "debug"})


@contextmanager
def environment_set(values: Mapping[str, str]) -> Iterator[None]:
    """`values` in this process's environment for the block's duration, then what was there."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _close_duckdb_environment() -> None:
    """Close dbt-duckdb's database (the one with the lake attached) after the invocation.

    dbt-duckdb keeps it at class level for the next invocation with an equal profile, and the
    profile names no data directory (lake_dbt_plugin), so a later invocation for another data
    directory would otherwise reuse the lake attached for this one."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        environment, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
    if environment is not None:
        environment.close()
