"""dbt over generated landings: cold build, no-change re-run, and a scheduled day on 30 landed days.

Historics are generated straight into the landing layout (vectorized, no HTTP, no pandera), in
exactly the schema `PartitionWriter` lands; the small snapshots (contracts, devices, real-time
values) go through the real landing code. dbt writes its target and logs to the work folder, so
the project's own `target/` is left alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.lake import connect, lake_dir
from pipelines.settings import DBT_PROJECT_DIR
from pipelines.vendors.baxo.simulator import BaxoSimulatorConfig, build_fleet
from pipelines.vendors.baxo.timebase import BAXO_EPOCH_UNIX_S

DBT = str(Path(sys.executable).parent / "dbt")
FIRST_DAY = date(2026, 1, 1)


def landed_historics_schema() -> dict[str, pl.DataType]:
    """The columns and types `PartitionWriter` lands for BAXO historics (read from a real landing)."""
    from pipelines.validation import split_valid
    from pipelines.vendors.baxo.schemas import BaxoHistoric

    sample = pl.DataFrame(
        {
            "device_id": ["1"],
            "tag_reference": ["TEMP_1"],
            "value_raw": ["1.5"],
            "value": [1.5],
            "timestamp_2000": [0],
            "measured_at": [datetime(2000, 1, 1, tzinfo=UTC)],
            "source": [1],
            "source_name": ["device"],
        }
    )
    valid, _ = split_valid(sample, BaxoHistoric)
    schema = dict(valid.schema)
    schema["_extracted_at"] = pl.Datetime("us", "UTC")
    schema["_source"] = pl.String
    return schema


def _series(readings: int, days: int) -> tuple[list[tuple[str, str]], int]:
    """(device, tag) series of a simulated fleet and the sampling interval giving `readings` in `days`."""
    config = BaxoSimulatorConfig(devices_per_contract=30)
    _, devices = build_fleet(config)
    series = [(d.id, tag) for d in devices if d.status != 1 for tag in d.tags]
    per_series_per_day = max(1, -(-readings // (days * len(series))))
    return series, max(1, 86_400 // per_series_per_day)


def land_snapshots(data_dir: Path) -> None:
    """Contracts, devices and an empty real-time snapshot through the real landing code."""
    os.environ["PIPELINES_DATA_DIR"] = str(data_dir)
    from pipelines.landing import land_frame
    from pipelines.vendors.baxo import transform
    from pipelines.vendors.baxo.schemas import BaxoContract, BaxoDevice, BaxoRealtime
    from pipelines.vendors.baxo.simulator import _contract_json, _device_json

    contracts, devices = build_fleet(BaxoSimulatorConfig(devices_per_contract=30))
    day = FIRST_DAY.isoformat()
    land_frame(
        "baxo",
        "contracts",
        day,
        transform.contracts_frame([_contract_json(c) for c in contracts]),
        BaxoContract,
        "k1?get=contracts",
    )
    frames = [
        transform.devices_frame([_device_json(d) for d in devices if d.contract_id == c.id], c.id) for c in contracts
    ]
    land_frame("baxo", "devices", day, pl.concat(frames), BaxoDevice, "k1?get=device")
    land_frame("baxo", "device_realtimes", day, BaxoRealtime.empty(), BaxoRealtime, "k1?get=devices-realtimes")
    # The other vendors land nothing here: give their datasets the schema-only partition, as the
    # Dagster dbt assets do before every build.
    import pipelines.definitions  # noqa: F401  (registers every vendor's datasets)
    from pipelines.landing import ensure_schema_partitions

    ensure_schema_partitions()


def land_generated_day(data_dir: Path, day: date, series: list[tuple[str, str]], interval_s: int) -> int:
    """One landed day of historics (and its empty quarantine), written like `PartitionWriter` does."""
    schema = landed_historics_schema()
    start = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) - BAXO_EPOCH_UNIX_S
    t = start + np.arange(0, 86_400, interval_s, dtype=np.int64)
    n_series = len(series)
    ts = np.tile(t, n_series)
    value = np.round(10 + 5 * np.sin(ts / 3_600.0), 2)
    frame = pl.DataFrame(
        {
            "device_id": np.repeat([s[0] for s in series], len(t)),
            "tag_reference": np.repeat([s[1] for s in series], len(t)),
            "value_raw": pl.Series(value).cast(pl.String),
            "value": value,
            "timestamp_2000": ts,
            "measured_at": pl.Series(ts + BAXO_EPOCH_UNIX_S).cast(pl.Datetime("ms")).dt.replace_time_zone("UTC"),
            "source": np.ones(len(ts), dtype=np.int64),
            "source_name": pl.repeat("device", len(ts), eager=True),
            "_extracted_at": pl.repeat(datetime.now(UTC), len(ts), eager=True),
            "_source": pl.repeat("k1?get=devices-historics", len(ts), eager=True),
        }
    ).cast(schema)  # type: ignore[arg-type]
    folder = data_dir / "landing" / "baxo" / "device_historics" / f"date={day.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(folder / "part-00000.parquet", compression="zstd")
    quarantine = data_dir / "quarantine" / "baxo" / "device_historics" / f"date={day.isoformat()}"
    quarantine.mkdir(parents=True, exist_ok=True)
    empty = pl.DataFrame(
        schema={
            "record": pl.String,
            "reason": pl.String,
            "_extracted_at": pl.Datetime("us", "UTC"),
            "_source": pl.String,
        }
    )
    empty.write_parquet(quarantine / "part-00000.parquet")
    return frame.height


def land_generated(data_dir: Path, readings: int, days: int) -> tuple[int, list[tuple[str, str]], int]:
    """`readings` over `days` days from FIRST_DAY: (rows landed, series, interval)."""
    land_snapshots(data_dir)
    series, interval_s = _series(readings, days)
    rows = sum(land_generated_day(data_dir, FIRST_DAY + timedelta(days=d), series, interval_s) for d in range(days))
    return rows, series, interval_s


def dbt_build(data_dir: Path, dbt_vars: dict[str, str] | None = None) -> float:
    """Seconds of one `dbt build` of every model, seed and test, as a process of its own."""
    command = [DBT, "build", "--quiet", "--profiles-dir", ".", "--target-path", str(data_dir / "dbt_target")]
    command += ["--log-path", str(data_dir / "dbt_logs")]
    if dbt_vars:
        command += ["--vars", json.dumps(dbt_vars)]
    env = os.environ | {"PIPELINES_DATA_DIR": str(data_dir), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    started = time.perf_counter()
    done = subprocess.run(command, cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"dbt build failed:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
    return seconds


def dbt_node_timings(data_dir: Path, top: int = 6) -> dict[str, object]:
    """Where the last `dbt build` spent its time: seconds per kind of node, and the slowest nodes."""
    results = json.loads((data_dir / "dbt_target" / "run_results.json").read_text())["results"]
    by_kind: dict[str, float] = {}
    for node in results:
        kind = node["unique_id"].split(".")[0]
        by_kind[kind] = by_kind.get(kind, 0.0) + node["execution_time"]
    slowest = sorted(results, key=lambda n: n["execution_time"], reverse=True)[:top]
    return {
        "seconds_by_kind": {k: round(v, 2) for k, v in sorted(by_kind.items())},
        "slowest": [[_node_name(n["unique_id"]), round(n["execution_time"], 2)] for n in slowest],
        "elapsed_s": json.loads((data_dir / "dbt_target" / "run_results.json").read_text())["elapsed_time"],
    }


def _node_name(unique_id: str) -> str:
    """`model.telemetry.fct_reading` -> `fct_reading`; a test's id ends in a hash after its name."""
    parts = unique_id.split(".")
    return (parts[2] if parts[0] == "test" and len(parts) > 3 else parts[-1])[:70]


def fct_reading_rows(data_dir: Path) -> int:
    with connect(root=data_dir) as con:
        return con.execute("select count(*) from fct_reading").fetchone()[0]  # type: ignore[index]


def lake_mb(data_dir: Path) -> float:
    """The warehouse's size on disk: catalog, data files and dbt's own DuckDB file."""
    return sum(f.stat().st_size for f in lake_dir(data_dir).rglob("*") if f.is_file()) / 2**20


def dbt_baseline(data_dir: Path) -> float:
    """Seconds of `dbt build` selecting nothing: dbt's own fixed cost (start, parse, connect)."""
    command = [DBT, "build", "--quiet", "--profiles-dir", ".", "--target-path", str(data_dir / "dbt_target")]
    command += ["--log-path", str(data_dir / "dbt_logs"), "--select", "resource_type:analysis"]
    env = os.environ | {"PIPELINES_DATA_DIR": str(data_dir), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    started = time.perf_counter()
    subprocess.run(command, cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - started
