"""`make run` and `make ui`: start the simulators, then materialize every asset or open the UI.

python -m pipelines.run [--days 3]   materialize the last N daily partitions and print counts
python -m pipelines.run --ui         start `dagster dev` beside the simulators
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl

from pipelines.landing import SCHEMA_ONLY_PARTITION
from pipelines.settings import PROJECT_ROOT, data_dir
from pipelines.simulation.registry import all_specs
from pipelines.simulation.server import SimulatorServer


def _use_simulators(stack: ExitStack, clock: datetime | None = None) -> None:
    """Default every vendor setting to its simulator and start the simulators still needed.

    With `clock`, simulators whose data follows the clock (new readings, issues opening and
    closing) are pinned there, so two runs on the same day land the same rows.
    """
    for spec in all_specs():
        for name, value in spec.default_env.items():
            os.environ.setdefault(name, value)
        if os.environ[spec.base_url_env] == spec.default_env[spec.base_url_env]:
            config = spec.config_at(clock) if clock and spec.config_at else None
            server = SimulatorServer(spec.create_app(config), port=spec.port).start()
            stack.callback(server.stop)
            print(f"{spec.vendor}: simulator on {server.url}")


def _as_of() -> datetime:
    """The simulators' pinned clock for `make run`: 06:00 UTC today (the current hour before then).

    Two runs on the same day then land the same rows, and by 06:00 UTC every simulated fleet
    has published yesterday's statistics (DSMR-reader makes them hours after local midnight).
    """
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return min(now, now.replace(hour=6))


def materialize_all(days: int) -> None:
    from dagster import DagsterInstance, materialize

    from pipelines.definitions import extraction_assets, resources
    from pipelines.warehouse import dbt_incremental_models, dbt_models

    res = resources()
    partitioned = [a for a in extraction_assets if a.partitions_def is not None]
    snapshots = [a for a in extraction_assets if a.partitions_def is None]
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    keys = [(yesterday - timedelta(days=n)).isoformat() for n in reversed(range(days))]
    quiet = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
    with DagsterInstance.ephemeral() as instance:

        def run(assets: list, what: str, **kwargs: object) -> None:
            result = materialize(assets, resources=res, instance=instance, run_config=quiet, **kwargs)
            if not result.success:
                sys.exit(f"materializing {what} failed")

        run(snapshots, "snapshots")
        for key in keys:
            run(partitioned, key, partition_key=key)
        run([dbt_models], "dbt models")
        tags = {"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]}
        run([dbt_incremental_models], "dbt facts", tags=tags)


def _landed(folder: Path) -> tuple[int, int]:
    """(partitions, rows) landed under a dataset folder, leaving out schema-only partitions."""
    files = [f for f in folder.glob("date=*/*.parquet") if f.parent.name != SCHEMA_ONLY_PARTITION]
    rows = pl.scan_parquet(files).select(pl.len()).collect().item() if files else 0
    return len({f.parent.name for f in files}), rows


def print_counts() -> None:
    root = data_dir()
    rows = []
    for dataset_dir in sorted((root / "landing").glob("*/*")):
        vendor, dataset = dataset_dir.parent.name, dataset_dir.name
        partitions, landed = _landed(dataset_dir)
        _, quarantined = _landed(root / "quarantine" / vendor / dataset)
        rows.append((f"{vendor}/{dataset}", partitions, landed, quarantined))
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        for mart in ("dim_device", "fct_reading", "fct_energy_period", "fct_leak", "fct_issue", "quarantined_records"):
            rows.append((f"mart {mart}", None, con.execute(f"select count(*) from {mart}").fetchone()[0], None))
    table = pl.DataFrame(rows, schema=["dataset", "partitions", "rows", "quarantined"], orient="row")
    with pl.Config(tbl_rows=-1, tbl_hide_dataframe_shape=True, fmt_str_lengths=60, tbl_hide_column_data_types=True):
        print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=3, help="daily partitions to materialize, ending yesterday")
    parser.add_argument("--ui", action="store_true", help="run `dagster dev` instead of materializing")
    args = parser.parse_args()
    os.environ.setdefault("PIPELINES_DATA_DIR", str(data_dir()))
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    with ExitStack() as stack:
        _use_simulators(stack, clock=None if args.ui else _as_of())
        if args.ui:
            dagster = os.path.join(os.path.dirname(sys.executable), "dagster")
            subprocess.run([dagster, "dev", "-w", "workspace.yaml"], cwd=PROJECT_ROOT, check=False)
            return
        materialize_all(args.days)
    print_counts()


if __name__ == "__main__":
    main()
