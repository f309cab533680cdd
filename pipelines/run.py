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

import duckdb
import polars as pl

from pipelines.landing import SCHEMA_ONLY_PARTITION
from pipelines.settings import PROJECT_ROOT, data_dir
from pipelines.simulation.registry import all_specs
from pipelines.simulation.server import SimulatorServer


def _use_simulators(stack: ExitStack) -> None:
    """Default every vendor setting to its simulator and start the simulators still needed."""
    for spec in all_specs():
        for name, value in spec.default_env.items():
            os.environ.setdefault(name, value)
        if os.environ[spec.base_url_env] == spec.default_env[spec.base_url_env]:
            server = SimulatorServer(spec.create_app(), port=spec.port).start()
            stack.callback(server.stop)
            print(f"{spec.vendor}: simulator on {server.url}")


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


def print_counts() -> None:
    root = data_dir()
    rows = []
    for zone in ("landing", "quarantine"):
        for dataset_dir in sorted((root / zone).glob("*/*")):
            files = [f for f in dataset_dir.glob("date=*/*.parquet") if f.parent.name != SCHEMA_ONLY_PARTITION]
            count = pl.scan_parquet(files).select(pl.len()).collect().item() if files else 0
            partitions = len({f.parent.name for f in files})
            rows.append((f"{zone}/{dataset_dir.parent.name}/{dataset_dir.name}", partitions, count))
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        for mart in ("dim_device", "fct_reading", "fct_leak", "fct_issue", "quarantined_records"):
            rows.append((f"mart {mart}", None, con.execute(f"select count(*) from {mart}").fetchone()[0]))
    table = pl.DataFrame(rows, schema=["dataset", "partitions", "rows"], orient="row")
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
        _use_simulators(stack)
        if args.ui:
            dagster = os.path.join(os.path.dirname(sys.executable), "dagster")
            subprocess.run([dagster, "dev", "-w", "workspace.yaml"], cwd=PROJECT_ROOT, check=False)
            return
        materialize_all(args.days)
    print_counts()


if __name__ == "__main__":
    main()
