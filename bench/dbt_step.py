"""What a Dagster dbt step costs before dbt does any work, part by part.

python -m bench.dbt_step [--repeats 3]

In a fresh data directory (nothing landed), one seed is built through the `dbt_models` asset,
as a Dagster run does, with the project's dbt resource (`WarehouseDbt`): each time in a new
process that has loaded the project's definitions, as a run's step process has, timed from the
step's start to its end (dbt runs in that process, so what it imports is paid there). Beside
it, each part that resource cut, measured alone: a dbt CLI subprocess that does nothing
(`dbt --version`: Python's start and dbt's imports; dagster-dbt also ran one to learn the
version), dagster-dbt's in-process adapter, and dbt's whole parse (a target folder with no
parse state, as dagster-dbt made one for every call) against its partial parse (the state kept
from the data directory's last call). Medians of `--repeats`; every figure is wall time here.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from dagster import AssetKey, AssetSelection, DagsterInstance, materialize
from dagster_dbt import DbtCliResource

from pipelines.dbt_parse_state import PARTIAL_PARSE_FILE
from pipelines.definitions import resources
from pipelines.settings import DBT_PROJECT_DIR
from pipelines.warehouse import DBT_EXECUTABLE, dbt_models, dbt_project

# The smallest node: one seed, so the step is almost all fixed cost.
SEED = AssetKey(["cost_currencies"])


def median_seconds(action: Callable[[], object], repeats: int) -> float:
    """The median wall time of `action` over `repeats` calls."""

    def timed() -> float:
        started = time.perf_counter()
        action()
        return time.perf_counter() - started

    return median_of(timed, repeats)


def median_of(measure: Callable[[], float], repeats: int) -> float:
    return round(statistics.median(measure() for _ in range(repeats)), 2)


def dagster_step() -> float:
    """The step's seconds, in a new process (the code location loaded before the clock starts)."""
    printed = subprocess.run(
        [sys.executable, "-m", "bench.dbt_step", "--one-step"], check=True, capture_output=True, text=True
    ).stdout
    return float(printed.split()[-1])


def one_step() -> None:
    with DagsterInstance.ephemeral() as instance:
        started = time.perf_counter()
        selection = AssetSelection.assets(SEED)
        result = materialize([dbt_models], selection=selection, resources=resources(), instance=instance)
        assert result.success
        print(f"{time.perf_counter() - started:.3f}")


def dbt_parse(target: Path, with_state: Path | None) -> None:
    target.mkdir(parents=True, exist_ok=True)
    (target / PARTIAL_PARSE_FILE).unlink(missing_ok=True)
    if with_state is not None:
        (target / PARTIAL_PARSE_FILE).write_bytes(with_state.read_bytes())
    command = [DBT_EXECUTABLE, "parse", "--quiet", "--profiles-dir", ".", "--target-path", str(target)]
    env = os.environ | {"DBT_LOG_PATH": str(target)}
    subprocess.run(command, cwd=DBT_PROJECT_DIR, check=True, env=env, capture_output=True)


def adapter_opened() -> None:
    cli = DbtCliResource(
        project_dir=str(dbt_project.project_dir),
        profiles_dir=str(dbt_project.profiles_dir),
        dbt_executable=DBT_EXECUTABLE,
    )
    cwd = os.getcwd()
    os.chdir(DBT_PROJECT_DIR)
    try:
        cli._initialize_dbt_core_adapter(["build"])
    finally:
        os.chdir(cwd)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--one-step", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.one_step:
        return one_step()
    repeats = arguments.repeats
    with tempfile.TemporaryDirectory() as scratch:
        data_dir = Path(scratch) / "data"
        data_dir.mkdir()
        os.environ["PIPELINES_DATA_DIR"] = str(data_dir)
        dagster_step()  # the first call of a data directory parses the whole project
        state = data_dir / "lake" / PARTIAL_PARSE_FILE
        figures = {
            "dagster_step_one_seed_s": median_of(dagster_step, repeats),
            "cut_dbt_subprocess_s": median_seconds(
                lambda: subprocess.run([DBT_EXECUTABLE, "--version"], check=True, capture_output=True), repeats
            ),
            "cut_adapter_in_process_s": median_seconds(adapter_opened, repeats),
            "dbt_parse_whole_s": median_seconds(lambda: dbt_parse(Path(scratch) / "t", None), repeats),
            "dbt_parse_partial_s": median_seconds(lambda: dbt_parse(Path(scratch) / "t", state), repeats),
        }
    figures["cut_whole_parse_s"] = round(figures["dbt_parse_whole_s"] - figures["dbt_parse_partial_s"], 2)
    for name, value in figures.items():
        print(f"{name:32} {value:7.2f}")


if __name__ == "__main__":
    main()
