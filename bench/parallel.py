"""The daily job's extraction: one process running the vendors one after another (what
`make run` and `materialize()` do) against the multiprocess executor launched runs use.

python -m bench.parallel [--day 2026-11-20] [--processes 5]

Both land the same partition from the same simulators into fresh data directories; prints the
wall time of each and the rows landed (which must match).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from dagster import DagsterInstance, JobDefinition, execute_job, reconstructable

from pipelines.run import DAGSTER_TELEMETRY_OFF, _as_of, _use_simulators


def daily_job() -> JobDefinition:
    """Module-level, so every step process can rebuild the job (`reconstructable`)."""
    from pipelines.definitions import defs

    return defs.resolve_job_def("daily_partitions_job")


def _extraction_keys() -> list:
    from pipelines.extraction import daily_extraction_assets

    return [key for asset in daily_extraction_assets for key in asset.keys]


def _fresh_dirs(scratch: Path, name: str) -> DagsterInstance:
    data, home = scratch / name / "data", scratch / name / "dagster_home"
    data.mkdir(parents=True)
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(DAGSTER_TELEMETRY_OFF)
    os.environ["PIPELINES_DATA_DIR"] = str(data)
    return DagsterInstance.from_config(str(home))


def _landed_rows(data: Path) -> int:
    import polars as pl

    # Datasets differ in columns: count each file on its own (a count reads only the footer).
    return sum(pl.scan_parquet(f).select(pl.len()).collect().item() for f in data.glob("landing/*/*/date=2*/*.parquet"))


def serial(scratch: Path, day: str) -> tuple[float, int]:
    with _fresh_dirs(scratch, "serial") as instance:
        started = time.perf_counter()
        result = daily_job().execute_in_process(
            partition_key=day, instance=instance, asset_selection=_extraction_keys(), raise_on_error=False
        )
        elapsed = time.perf_counter() - started
    assert result.success, "the serial run failed"
    return elapsed, _landed_rows(Path(os.environ["PIPELINES_DATA_DIR"]))


def parallel(scratch: Path, day: str, processes: int) -> tuple[float, int]:
    with _fresh_dirs(scratch, f"multiprocess-{processes}") as instance:
        started = time.perf_counter()
        result = execute_job(
            reconstructable(daily_job),
            instance=instance,
            tags={"dagster/partition": day},
            asset_selection=_extraction_keys(),
            raise_on_error=False,
        )
        elapsed = time.perf_counter() - started
    assert result.success, "the multiprocess run failed"
    return elapsed, _landed_rows(Path(os.environ["PIPELINES_DATA_DIR"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--day", default="2026-11-20")
    parser.add_argument("--processes", type=int, default=5)
    args = parser.parse_args()
    # Read when the Definitions are imported (by the serial run first): set it before.
    os.environ["PIPELINES_MAX_PROCESSES"] = str(args.processes)
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="bench-parallel-") as scratch:
        _use_simulators(stack, sys.stderr, clock=_as_of())
        serial_s, serial_rows = serial(Path(scratch), args.day)
        parallel_s, parallel_rows = parallel(Path(scratch), args.day, args.processes)
    print(f"serial (one process):          {serial_s:6.1f} s, {serial_rows} rows landed")
    print(f"multiprocess ({args.processes} processes): {parallel_s:6.1f} s, {parallel_rows} rows landed")
    print(f"cpu count {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
