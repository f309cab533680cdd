"""Weekly DuckLake maintenance, so the lake does not grow without bound.

Every dbt commit is a snapshot, and a table rebuilt or a day replaced leaves its old Parquet
files behind for time travel. Merging small files alone frees nothing: space comes back only when
snapshots expire and the files no snapshot references are deleted. Time travel therefore reaches
back `keep_snapshots_days` (default 7, `PIPELINES_LAKE_KEEP_SNAPSHOTS_DAYS`).
"""

# No `from __future__ import annotations` here: Dagster reads the op's Config annotation itself.
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
from dagster import Config, MetadataValue, OpExecutionContext, Output, ScheduleDefinition, job, op

from pipelines.lake import LAKE_ALIAS, connect, lake_dir
from pipelines.warehouse import WAREHOUSE_POOL

KEEP_SNAPSHOTS_DAYS_ENV = "PIPELINES_LAKE_KEEP_SNAPSHOTS_DAYS"


def default_keep_snapshots_days() -> int:
    return int(os.environ.get(KEEP_SNAPSHOTS_DAYS_ENV, "7"))


@dataclass(frozen=True)
class MaintenanceReport:
    merge_results: int  # rows DuckLake answered for the merge (one per table compacted)
    snapshots_expired: int
    files_deleted: int
    bytes_before: int
    bytes_after: int


def lake_bytes(root: Path | None = None) -> int:
    return sum(f.stat().st_size for f in lake_dir(root).rglob("*") if f.is_file())


def _call(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    """Run a DuckLake maintenance call; the number of rows it answered (what it acted on)."""
    return len(con.execute(sql).fetchall())


def maintain_lake(keep_snapshots_days: int, root: Path | None = None) -> MaintenanceReport:
    """Compact small files, expire snapshots older than the window, delete unreferenced files.

    Run while no dbt runs (the op shares dbt's pool): both write the catalog. Readers may go on:
    the newest snapshot is never expired, and files it references are never deleted.
    """
    before = lake_bytes(root)
    older_than = f"now() - INTERVAL {int(keep_snapshots_days)} DAY"
    with connect(read_only=False, root=root) as con:
        merged = _call(con, f"CALL ducklake_merge_adjacent_files('{LAKE_ALIAS}')")
        expired = _call(con, f"CALL ducklake_expire_snapshots('{LAKE_ALIAS}', older_than => {older_than})")
        # Files become deletable when the last snapshot that used them expires (just above).
        deleted = _call(con, f"CALL ducklake_cleanup_old_files('{LAKE_ALIAS}', cleanup_all => true)")
    return MaintenanceReport(merged, expired, deleted, before, lake_bytes(root))


class LakeMaintenanceConfig(Config):
    keep_snapshots_days: int = default_keep_snapshots_days()


@op(pool=WAREHOUSE_POOL)
def maintain_warehouse_lake(context: OpExecutionContext, config: LakeMaintenanceConfig) -> Output[None]:
    """DuckLake's merge_adjacent_files, expire_snapshots and cleanup_old_files on the warehouse."""
    report = maintain_lake(config.keep_snapshots_days)
    context.log.info(
        f"lake maintenance: {report.snapshots_expired} snapshots expired, {report.files_deleted} files deleted, "
        f"{report.bytes_before / 2**20:.1f} MiB -> {report.bytes_after / 2**20:.1f} MiB"
    )
    return Output(
        None,
        metadata={
            "keep_snapshots_days": config.keep_snapshots_days,
            "tables_merged": report.merge_results,
            "snapshots_expired": report.snapshots_expired,
            "files_deleted": report.files_deleted,
            "lake_mib_before": MetadataValue.float(report.bytes_before / 2**20),
            "lake_mib_after": MetadataValue.float(report.bytes_after / 2**20),
        },
    )


@job(description="Compact the warehouse lake's files, expire old snapshots and delete unreferenced files.")
def lake_maintenance_job() -> None:
    maintain_warehouse_lake()


# Sundays 03:30 UTC: after the nightly snapshot (01:30) and daily (02:00) runs.
lake_maintenance_schedule = ScheduleDefinition(
    job=lake_maintenance_job, cron_schedule="30 3 * * 0", execution_timezone="UTC"
)
