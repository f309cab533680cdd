"""Process-wide settings read from the environment at call time (tests point them elsewhere)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"


def data_dir() -> Path:
    """Root of landed Parquet, quarantine, audio and the warehouse (`PIPELINES_DATA_DIR`)."""
    return Path(os.environ.get("PIPELINES_DATA_DIR", PROJECT_ROOT / "data")).resolve()


# Where landing, quarantine, audio and cursors live: the data directory (the default) or an
# object store prefix, `s3://bucket/prefix` (pipelines/landing_s3.py). Logs, Dagster's home and
# the lake's catalog stay in the (local) data directory either way.
LANDING_URI_ENV = "PIPELINES_LANDING_URI"


def landing_uri() -> str:
    """`PIPELINES_LANDING_URI` without its trailing slash, or the data directory's path.

    Only object stores are accepted: a local landing zone is the data directory itself, the one
    place dbt's sources and the tools look for it on disk.
    """
    configured = os.environ.get(LANDING_URI_ENV, "").strip().rstrip("/")
    if configured and not configured.startswith("s3://"):
        # Only the scheme is echoed: a URI may carry credentials.
        scheme = configured.split("://", 1)[0] if "://" in configured else "a path"
        raise ValueError(f"{LANDING_URI_ENV} must be s3://bucket/prefix (unset: {data_dir()}), got {scheme}")
    return configured or str(data_dir())


def partitions_start_date() -> str:
    """First daily partition (`PIPELINES_START_DATE`, ISO date)."""
    return os.environ.get("PIPELINES_START_DATE", "2026-01-01")


def max_processes() -> int:
    """Steps a launched run executes at once, each in its own process (`PIPELINES_MAX_PROCESSES`).

    Each step process first imports the code location (seconds of CPU): set it to the cores free
    for the pipeline (deploy/README.md has the measurement).
    """
    return int(os.environ.get("PIPELINES_MAX_PROCESSES", "4"))
