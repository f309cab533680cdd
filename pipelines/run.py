"""`make run` and `make ui`: start the simulators, then materialize every asset or open the UI.

python -m pipelines.run [--days 3] [--verbose]   materialize the last N daily partitions, print counts
python -m pipelines.run --ui                     start `dagster dev` beside the simulators

Each vendor's extraction is its own Dagster run, so one vendor's failure stops none of the others;
the dbt steps run whatever happened before them. The terminal shows one line per step and a
summary; Dagster's logs and every traceback go to `<PIPELINES_DATA_DIR>/logs/run-<time>.log`
(`--verbose` streams them to the terminal instead). Exit status 1 when any vendor or dbt failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import traceback
from collections import Counter
from collections.abc import Collection, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import duckdb
import polars as pl

from pipelines.lake import MARTS_SCHEMA, connect, lake_exists
from pipelines.landing import SCHEMA_ONLY_PARTITION
from pipelines.settings import PROJECT_ROOT, data_dir
from pipelines.simulation.faults import FaultConfig
from pipelines.simulation.registry import SimulatorSpec, all_specs
from pipelines.simulation.server import SimulatorServer
from pipelines.vendors import VENDORS

if TYPE_CHECKING:
    from dagster import AssetsDefinition, DagsterInstance, ExecuteInProcessResult

MARTS = (
    "dim_device",
    "fct_reading",
    "fct_energy_period",
    "fct_power_peak",
    "dim_energy_price",
    "fct_leak",
    "fct_noise_histogram",
    "fct_issue",
    "fct_issue_statistics",
    "fct_uptime",
    "quarantined_records",
)
PORT_BASE_ENV = "PIPELINES_SIMULATOR_PORT_BASE"
DAGSTER_TELEMETRY_OFF = "telemetry:\n  enabled: false\n"


# -- simulators -----------------------------------------------------------------------------------
def _simulator_port(index: int) -> int:
    """`PIPELINES_SIMULATOR_PORT_BASE` + index when set (stable addresses), else 0: a free port."""
    base = os.environ.get(PORT_BASE_ENV)
    return int(base) + index if base else 0


def _wants_simulator(spec: SimulatorSpec) -> bool:
    """True unless the vendor's base-URL setting points somewhere else than its simulator."""
    configured = os.environ.get(spec.base_url_env)
    return configured is None or configured == spec.default_env[spec.base_url_env]


def _use_simulators(
    stack: ExitStack,
    out: TextIO,
    clock: datetime | None = None,
    faults: Mapping[str, FaultConfig] | None = None,
) -> None:
    """Default every vendor setting to its simulator and start the simulators still needed.

    A simulator listens on the port it gets, and its settings are pointed at that port, so
    several checkouts can run on one host. With `clock`, simulators whose data follows the clock
    (new readings, issues opening and closing) are pinned there, so two runs on the same day land
    the same rows. `faults` (by vendor) makes a simulator misbehave, as the chaos suite needs.
    """
    for index, spec in enumerate(all_specs()):
        if not _wants_simulator(spec):
            _set_defaults(spec.default_env)
            continue
        config = spec.config_at(clock) if clock and spec.config_at else None
        fault_config = (faults or {}).get(spec.vendor)
        server = SimulatorServer(spec.create_app(config), fault_config, port=_simulator_port(index)).start()
        stack.callback(server.stop)
        env = spec.env_for_port(server.port)
        os.environ[spec.base_url_env] = env[spec.base_url_env]
        _set_defaults(env)
        print(f"{spec.vendor}: simulator on {server.url}", file=out, flush=True)


def _set_defaults(env: dict[str, str]) -> None:
    for name, value in env.items():
        os.environ.setdefault(name, value)


def _as_of() -> datetime:
    """The simulators' pinned clock for `make run`: 06:00 UTC today (the current hour before then).

    Two runs on the same day then land the same rows, and by 06:00 UTC every simulated fleet
    has published yesterday's statistics (DSMR-reader makes them hours after local midnight).
    """
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return min(now, now.replace(hour=6))


# -- console and log file -------------------------------------------------------------------------
def _new_log_path() -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = data_dir() / "logs" / f"run-{stamp}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def _console_into(log_path: Path, verbose: bool) -> Iterator[TextIO]:
    """Send everything written to stdout/stderr (Dagster, dbt, uvicorn, warnings) to the log file.

    The redirection is at the file-descriptor level so that output from threads and subprocesses
    lands there too. Yields a stream to the real terminal for the few lines meant for the user.
    With `verbose`, nothing is redirected and the terminal gets everything.
    """
    if verbose:
        yield sys.stdout
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved_stdout, saved_stderr = os.dup(1), os.dup(2)
    with open(log_path, "a", encoding="utf-8") as log, open(os.dup(saved_stdout), "w", buffering=1) as terminal:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield terminal
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved_stdout, 1)
            os.dup2(saved_stderr, 2)
            os.close(saved_stdout)
            os.close(saved_stderr)


def _append_to_log(log_path: Path, title: str, text: str) -> None:
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"\n===== {title} =====\n{text}\n")


# -- materializing --------------------------------------------------------------------------------
@dataclass
class RunReport:
    """What `make run` did: failures per vendor (one line each) and dbt's outcome."""

    log_path: Path
    vendor_failures: dict[str, list[str]] = field(default_factory=dict)
    other_failures: list[str] = field(default_factory=list)  # dbt steps, or the run itself

    @property
    def failed(self) -> bool:
        return bool(self.vendor_failures or self.other_failures)


def _dagster_instance() -> DagsterInstance:
    """The persistent instance under `DAGSTER_HOME`, so `make ui` shows the runs; else a throwaway."""
    from dagster import DagsterInstance

    home = os.environ.get("DAGSTER_HOME")
    if not home:
        return DagsterInstance.ephemeral()
    path = Path(home).resolve()
    path.mkdir(parents=True, exist_ok=True)
    if not (path / "dagster.yaml").exists():
        (path / "dagster.yaml").write_text(DAGSTER_TELEMETRY_OFF)
    os.environ["DAGSTER_HOME"] = str(path)  # Dagster requires an absolute path
    return DagsterInstance.get()


def _vendor_of(asset: AssetsDefinition) -> str:
    """Extraction asset keys start with the vendor: `[vendor, dataset]`."""
    return next(iter(asset.keys)).path[0]


def _by_vendor(assets: list[AssetsDefinition]) -> dict[str, list[AssetsDefinition]]:
    grouped: dict[str, list[AssetsDefinition]] = {}
    for asset in assets:
        grouped.setdefault(_vendor_of(asset), []).append(asset)
    return grouped


def _partition_keys(days: int) -> list[str]:
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    return [(yesterday - timedelta(days=n)).isoformat() for n in reversed(range(days))]


class Materializer:
    """Runs `materialize` on one instance, never raising: a failed run is a value to report."""

    def __init__(self, instance: DagsterInstance, report: RunReport, out: TextIO) -> None:
        from pipelines.definitions import resources

        self.instance, self.report, self.out = instance, report, out
        self.resources = resources()
        self.specs = {spec.vendor: spec for spec in all_specs()}

    def run(self, assets: list[AssetsDefinition], step: str, **kwargs: Any) -> ExecuteInProcessResult | None:
        from dagster import materialize

        # Dagster's console logger at INFO: DEBUG would fill the log file with every event.
        quiet = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
        tags = {"pipelines/step": step, **kwargs.pop("tags", {})}
        try:
            return materialize(
                assets,
                resources=self.resources,
                instance=self.instance,
                run_config=quiet,
                raise_on_error=False,
                tags=tags,
                **kwargs,
            )
        except Exception:  # a run that could not even start: its traceback belongs in the log
            _append_to_log(self.report.log_path, f"{step} did not start", traceback.format_exc())
            return None

    def vendor_step(self, vendor: str, assets: list[AssetsDefinition], step: str, **kwargs: Any) -> None:
        result = self.run(assets, f"{vendor} {step}", **kwargs)
        if result is not None and result.success:
            print(f" {vendor} ok", end="", file=self.out, flush=True)
            return
        line = self._failure_line(result, f"{vendor} {step}", vendor=vendor)
        self.report.vendor_failures.setdefault(vendor, []).append(line)
        print(f" {vendor} FAILED", end="", file=self.out, flush=True)

    def dbt_step(self, assets: list[AssetsDefinition], step: str, **kwargs: Any) -> None:
        print(f"{step}: ", end="", file=self.out, flush=True)
        result = self.run(assets, step, **kwargs)
        counts = _dbt_counts(result) if result is not None else Counter()
        summary = _format_dbt_counts(counts)
        if result is not None and result.success:
            print(summary, file=self.out, flush=True)
            return
        line = self._failure_line(result, step)
        self.report.other_failures.append(line)
        print(f"FAILED ({summary})", file=self.out, flush=True)

    def _failure_line(self, result: ExecuteInProcessResult | None, step: str, vendor: str | None = None) -> str:
        """One line for the summary; the full errors with their tracebacks go to the log."""
        from pipelines.failures import describe_failure, describe_vendor_failure, failure_errors

        if result is None:
            return f"{vendor or step}: {step} did not start (see the log)"
        errors = failure_errors(list(result.all_events))
        for error in errors:
            _append_to_log(self.report.log_path, f"{step} failed", error.to_string())
        if not errors:
            return f"{vendor or step}: {step} failed (see the log)"
        if vendor is not None:
            return describe_vendor_failure(self.specs[vendor], errors[0])
        return describe_failure(step, errors[0])


def _dbt_counts(result: ExecuteInProcessResult) -> Counter[str]:
    """Models (and seeds) built, and dbt tests passed/warned/failed, from the run's asset events."""
    from dagster import AssetCheckSeverity

    counts: Counter[str] = Counter(built=len(result.get_asset_materialization_events()))
    for evaluation in result.get_asset_check_evaluations():
        if evaluation.passed:
            counts["passed"] += 1
        elif evaluation.severity == AssetCheckSeverity.WARN:
            counts["warned"] += 1
        else:
            counts["failed"] += 1
    return counts


def _format_dbt_counts(counts: Counter[str]) -> str:
    tests = ", ".join(f"{counts[outcome]} {outcome}" for outcome in ("passed", "warned", "failed"))
    return f"{counts['built']} models built; tests {tests}"


def materialize_all(days: int, report: RunReport, out: TextIO, vendors: Collection[str] = ()) -> None:
    """Snapshots, then each daily partition, one run per vendor; then dbt models and facts.

    With `vendors`, only theirs are extracted; dbt still builds every model (the others' datasets
    read as empty or as last landed).
    """
    from pipelines.extraction import extraction_assets
    from pipelines.warehouse import dbt_incremental_models, dbt_models

    chosen = [a for a in extraction_assets if not vendors or _vendor_of(a) in vendors]
    snapshots = _by_vendor([a for a in chosen if a.partitions_def is None])
    partitioned = _by_vendor([a for a in chosen if a.partitions_def is not None])
    keys = _partition_keys(days)
    with _dagster_instance() as instance:
        materializer = Materializer(instance, report, out)
        print("snapshots:", end="", file=out, flush=True)
        for vendor, assets in snapshots.items():
            materializer.vendor_step(vendor, assets, "snapshots")
        print(file=out, flush=True)
        for key in keys:
            print(f"{key}:", end="", file=out, flush=True)
            for vendor, assets in partitioned.items():
                materializer.vendor_step(vendor, assets, key, partition_key=key)
            print(file=out, flush=True)
        materializer.dbt_step([dbt_models], "dbt models")
        tags = {"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]}
        materializer.dbt_step([dbt_incremental_models], "dbt facts", tags=tags)


# -- summary --------------------------------------------------------------------------------------
def _landed(folder: Path) -> tuple[int, int]:
    """(partitions, rows) landed under a dataset folder, leaving out schema-only partitions."""
    files = [f for f in folder.glob("date=*/*.parquet") if f.parent.name != SCHEMA_ONLY_PARTITION]
    rows = pl.scan_parquet(files).select(pl.len()).collect().item() if files else 0
    return len({f.parent.name for f in files}), rows


def print_counts() -> None:
    root = data_dir()
    rows: list[tuple[str, int | None, int | None, int | None]] = []
    for dataset_dir in sorted((root / "landing").glob("*/*")):
        vendor, dataset = dataset_dir.parent.name, dataset_dir.name
        partitions, landed = _landed(dataset_dir)
        _, quarantined = _landed(root / "quarantine" / vendor / dataset)
        rows.append((f"{vendor}/{dataset}", partitions, landed, quarantined))
    if lake_exists():
        with connect() as con:
            for mart in MARTS:
                rows.append((f"mart {mart}", None, _mart_rows(con, mart), None))
    table = pl.DataFrame(rows, schema=["dataset", "partitions", "rows", "quarantined"], orient="row")
    with pl.Config(tbl_rows=-1, tbl_hide_dataframe_shape=True, fmt_str_lengths=60, tbl_hide_column_data_types=True):
        print(table)


def _mart_rows(con: duckdb.DuckDBPyConnection, mart: str) -> int | None:
    """The mart's row count, or None when dbt did not build it."""
    try:
        (count,) = con.execute(f"select count(*) from {MARTS_SCHEMA}.{mart}").fetchall()[0]
        return count
    except duckdb.CatalogException:
        return None


def print_summary(report: RunReport) -> None:
    """The failures last, one line each, so the end of the output says what to fix."""
    print(f"log: {report.log_path}")
    if not report.failed:
        print("all vendors and dbt succeeded")
        return
    failed_vendors = ", ".join(report.vendor_failures)
    print(f"FAILED ({failed_vendors or 'dbt'}); details and tracebacks in the log:")
    for failures in report.vendor_failures.values():
        runs = f" ({len(failures)} runs failed)" if len(failures) > 1 else ""
        print(f"  {failures[0]}{runs}")
    for failure in report.other_failures:
        print(f"  {failure}")


# -- entry point ----------------------------------------------------------------------------------
def run_ui() -> None:
    """`dagster dev` on `DAGSTER_PORT` (default 3000) beside the simulators, until interrupted."""
    port = os.environ.get("DAGSTER_PORT", "3000")
    with ExitStack() as stack:
        _use_simulators(stack, sys.stdout)
        print(f"Dagster UI on http://127.0.0.1:{port}", flush=True)
        dagster = os.path.join(os.path.dirname(sys.executable), "dagster")
        subprocess.run([dagster, "dev", "-w", "workspace.yaml", "-p", port], cwd=PROJECT_ROOT, check=False)


def run_pipeline(days: int, verbose: bool, vendors: Collection[str] = ()) -> RunReport:
    """Materialize everything that can be; whatever fails is recorded, never raised."""
    report = RunReport(log_path=_new_log_path())
    with ExitStack() as stack:
        out = stack.enter_context(_console_into(report.log_path, verbose))
        try:
            _use_simulators(stack, out, clock=_as_of())
            materialize_all(days, report, out, vendors)
        except Exception as exc:
            _append_to_log(report.log_path, "make run stopped", traceback.format_exc())
            report.other_failures.append(f"run stopped: {_first_line(exc)}")
    return report


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _print_counts_or_say_why(report: RunReport) -> None:
    """The counts table; a failure to read it must not hide the summary below it."""
    try:
        print_counts()
    except Exception as exc:
        _append_to_log(report.log_path, "counting rows failed", traceback.format_exc())
        print(f"counts unavailable: {_first_line(exc)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=3, help="daily partitions to materialize, ending yesterday")
    parser.add_argument(
        "--vendor", action="append", choices=VENDORS, default=[], help="extract only this vendor (repeatable)"
    )
    parser.add_argument("--ui", action="store_true", help="run `dagster dev` instead of materializing")
    parser.add_argument("--verbose", action="store_true", help="stream Dagster's and dbt's logs to the terminal")
    args = parser.parse_args()
    os.environ.setdefault("PIPELINES_DATA_DIR", str(data_dir()))
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    if args.ui:
        run_ui()
        return
    report = run_pipeline(args.days, args.verbose, args.vendor)
    _print_counts_or_say_why(report)
    print_summary(report)
    sys.exit(1 if report.failed else 0)


if __name__ == "__main__":
    main()
