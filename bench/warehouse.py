"""dbt over generated landings: cold build, no-change re-run, a scheduled day, dbt's start-up,
the DuckLake beside a plain DuckDB file, and an analyst's queries during a build.

Historics are generated straight into the landing layout (vectorized, no HTTP, no pandera), in
exactly the schema `PartitionWriter` lands, with its fingerprint; the small snapshots (contracts,
devices, real-time values) go through the real landing code. dbt writes its target and logs to
the work folder (one per target, as dbt's partial parse is per target), so the project's own
`target/` is left alone; the first command starts from its parse state, as a step's does. Every
dbt command runs as a Dagster step runs it (in-process, after the project's code is loaded), and
a scheduled day as the facts step runs it: the incremental models, the window in the environment
(`pipelines.warehouse`).

python -m bench.warehouse reader <dev|plainfile> <data dir> <stop file> <out.json>
    the analyst: counts `marts.fct_reading` in a loop until the stop file appears.
python -m bench.warehouse dbt '<dbt arguments as a JSON list>'
    one dbt command as a step runs it (see `dbt_command`).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl

from pipelines import dbt_parse_state
from pipelines.fact_inputs import input_fingerprint
from pipelines.lake import PARTITION_WINDOW_ENV, connect, lake_dir
from pipelines.landing import FINGERPRINT_FILE, ContentHash, partition_fingerprint
from pipelines.settings import DBT_PROJECT_DIR
from pipelines.vendors.baxo.simulator import BaxoSimulatorConfig, build_fleet
from pipelines.vendors.baxo.timebase import BAXO_EPOCH_UNIX_S

BENCH_ROOT = Path(__file__).resolve().parent.parent  # the repository: `python -m bench...`
FIRST_DAY = date(2026, 1, 1)
LAKE, PLAIN_FILE = "dev", "plainfile"  # dbt_project/profiles.yml's outputs
INCREMENTAL = "config.materialized:incremental"


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
    landed = ContentHash()
    landed.add(frame)
    (folder / FINGERPRINT_FILE).write_text(partition_fingerprint(landed, ContentHash()) + "\n")
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


def dbt_command(
    data_dir: Path,
    command: str = "build",
    *,
    target: str = LAKE,
    window: tuple[date, date] | None = None,
    args: tuple[str, ...] = (),
) -> float:
    """Seconds of one dbt command run as a Dagster step runs it: in a process that has loaded the
    project's code (a step process has), by `InProcessDbt`, timed from the command's start to its
    end; `window` as the facts step passes it."""
    full = [command, "--profiles-dir", str(DBT_PROJECT_DIR), "--project-dir", str(DBT_PROJECT_DIR)]
    # The lake is the profile's default target, which a step does not name (nor `make manifest`,
    # whose parse state names no target either).
    full += [*(("--target", target) if target != LAKE else ()), *args]
    target_path = data_dir / f"dbt_target_{target}"
    if not target_path.exists():
        # A data directory's first step starts from the project's parse state, as every step's
        # target folder does (pipelines.warehouse._build): no whole parse of the project.
        fingerprint = dbt_parse_state.project_fingerprint(DBT_PROJECT_DIR)
        dbt_parse_state.seed_target(target_path, data_dir / "lake", DBT_PROJECT_DIR, fingerprint)
    full += ["--target-path", str(target_path), "--log-path", str(data_dir / "dbt_logs")]
    env = os.environ | {"PIPELINES_DATA_DIR": str(data_dir), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    for name in PARTITION_WINDOW_ENV.values():
        env.pop(name, None)
    if window:
        env |= dict(zip(PARTITION_WINDOW_ENV.values(), (window[0].isoformat(), window[1].isoformat()), strict=True))
    step = [sys.executable, "-m", "bench.warehouse", "dbt", json.dumps(full)]
    done = subprocess.run(step, cwd=BENCH_ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"dbt {command} failed:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
    return float(done.stdout.split()[-1])


def dbt_in_step(args: list[str]) -> None:
    """`python -m bench.warehouse dbt '<json args>'`: the project's code loaded, then the clock
    started and dbt run in this process with the step's settings (no JSON artifacts); prints the
    seconds, or dbt's errors and exits 1. Each node's seconds, read from dbt's events, go to
    `node_timings.json` in the target folder."""
    import pipelines.warehouse  # noqa: F401  (what a step process has loaded before it runs)
    from pipelines.dbt_in_process import InProcessDbt

    started = time.perf_counter()
    dbt = InProcessDbt(["dbt", *args], {"DBT_WRITE_JSON": "false"})
    events = [json.loads(line) for line in dbt.stdout]
    code = dbt.wait()
    seconds = time.perf_counter() - started
    if code != 0:
        print("\n".join(dbt.errors))
        sys.exit(1)
    target = Path(args[args.index("--target-path") + 1])
    (target / NODE_TIMINGS).write_text(json.dumps(node_timings_of(events)))
    print(f"{seconds:.3f}")


NODE_TIMINGS = "node_timings.json"


def node_timings_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Each node's seconds (its result event) and the run's, as run_results.json holds them."""
    results = [
        {"unique_id": e["data"]["node_info"]["unique_id"], "execution_time": e["data"]["execution_time"]}
        for e in events
        if "execution_time" in e["data"] and e["data"].get("node_info", {}).get("unique_id")
    ]
    # A command that selected nothing finishes without running stats.
    elapsed = [e["data"]["execution_time"] for e in events if e["info"]["name"] == "FinishedRunningStats"]
    return {"results": results, "elapsed_time": sum(elapsed)}


def dbt_build(data_dir: Path, target: str = LAKE) -> float:
    """A full `dbt build` of every seed, model and test (no window: every landed day)."""
    return dbt_command(data_dir, target=target)


def scheduled_day(data_dir: Path, day: date, target: str = LAKE) -> float:
    """The daily facts step: the incremental models and their tests for one day, leaving out the
    facts it leaves out (nothing landed for them that day, no rows there). That is decided on the
    lake for both targets: they hold the same days."""
    from pipelines.warehouse import nothing_to_build

    window = (day.isoformat(), day.isoformat())
    left_out = [uid.split(".")[-1] for uid in _facts() if nothing_to_build(uid, window)]
    exclude = ("--exclude", " ".join(left_out)) if left_out else ()
    return dbt_command(data_dir, target=target, window=(day, day), args=("--select", INCREMENTAL, *exclude))


def _facts() -> list[str]:
    """The incremental models' unique ids."""
    from pipelines.warehouse import dbt_project

    manifest = json.loads(dbt_project.manifest_path.read_text())
    return [uid for uid, n in manifest["nodes"].items() if n["config"].get("materialized") == "incremental"]


def facts_input_fingerprints(day: date) -> dict[str, str | None]:
    """What the facts step compares before calling dbt: each fact's input fingerprint of `day`."""
    from pipelines.extraction import daily_landed_keys
    from pipelines.warehouse import dbt_project

    manifest = json.loads(dbt_project.manifest_path.read_text())
    daily = frozenset(tuple(key.path) for key in daily_landed_keys)
    facts = [uid for uid, n in manifest["nodes"].items() if n["config"].get("materialized") == "incremental"]
    return {uid: input_fingerprint(manifest, uid, day.isoformat(), daily) for uid in facts}


def dbt_node_timings(data_dir: Path, top: int = 6, target: str = LAKE) -> dict[str, object]:
    """Where the last `dbt build` spent its time: seconds per kind of node, and the slowest nodes."""
    run_results = json.loads((data_dir / f"dbt_target_{target}" / NODE_TIMINGS).read_text())
    results = run_results["results"]
    by_kind: dict[str, float] = {}
    for node in results:
        kind = node["unique_id"].split(".")[0]
        by_kind[kind] = by_kind.get(kind, 0.0) + node["execution_time"]
    slowest = sorted(results, key=lambda n: n["execution_time"], reverse=True)[:top]
    return {
        "seconds_by_kind": {k: round(v, 2) for k, v in sorted(by_kind.items())},
        "slowest": [[_node_name(n["unique_id"]), round(n["execution_time"], 2)] for n in slowest],
        "elapsed_s": run_results["elapsed_time"],
        "nodes": len(results),
    }


def _node_name(unique_id: str) -> str:
    """`model.telemetry.fct_reading` -> `fct_reading`; a test's id ends in a hash after its name."""
    parts = unique_id.split(".")
    return (parts[2] if parts[0] == "test" and len(parts) > 3 else parts[-1])[:70]


def plain_file(data_dir: Path) -> Path:
    return data_dir / "plainfile.duckdb"  # profiles.yml's plainfile output


def open_reader(data_dir: Path, target: str) -> duckdb.DuckDBPyConnection:
    """An analyst's read-only connection to the warehouse of `target`."""
    if target == LAKE:
        return connect(root=data_dir)
    return duckdb.connect(str(plain_file(data_dir)), read_only=True)


def fct_reading_rows(data_dir: Path, target: str = LAKE) -> int:
    with open_reader(data_dir, target) as con:
        return con.execute("select count(*) from marts.fct_reading").fetchone()[0]  # type: ignore[index]


def warehouse_mb(data_dir: Path, target: str = LAKE) -> float:
    """The warehouse's size on disk: the lake's catalog, data files and dbt's DuckDB file, or the one file."""
    if target == PLAIN_FILE:
        return plain_file(data_dir).stat().st_size / 2**20
    return sum(f.stat().st_size for f in lake_dir(data_dir).rglob("*") if f.is_file()) / 2**20


def startup(data_dir: Path) -> dict[str, float]:
    """Where dbt's fixed seconds per invocation go, each measured on its own (lake target).

    python: the interpreter alone; imports: dbt's CLI and the duckdb adapter imported (what a dbt
    subprocess paid first); imports_in_step: the same in a process that has loaded the project's
    code, as a step process has (most of dbt is imported by dagster-dbt already);
    nothing_warm: a build selecting nothing with partial parse kept (what a Dagster step pays
    before any node; in-process, as every command here); nothing_vars_changed: the same with a
    new --vars (what a daily step paid when the window travelled as vars: a whole re-parse);
    nothing_full_parse: --no-partial-parse;
    one_view: one view built (adds the connection: DuckDB, extensions, ATTACH of the lake);
    attach: connecting, loading the extensions and attaching the lake, in-process."""
    py = [sys.executable, "-c"]
    out = {
        "python": _seconds(lambda: subprocess.run([*py, "pass"], check=True)),
        "imports": _seconds(
            lambda: subprocess.run([*py, "import dbt.cli.main, dbt.adapters.duckdb, agate"], check=True)
        ),
        "imports_in_step": float(subprocess.run([*py, IMPORTS_IN_STEP], check=True, capture_output=True).stdout),
    }
    nothing = ("--select", "resource_type:analysis")
    out["nothing_warm"] = dbt_command(data_dir, args=nothing)
    vars_now = json.dumps({"bench_nonce": time.time()})
    out["nothing_vars_changed"] = dbt_command(data_dir, args=(*nothing, "--vars", vars_now))
    dbt_command(data_dir, args=nothing)  # back to the saved parse
    out["nothing_full_parse"] = dbt_command(data_dir, args=(*nothing, "--no-partial-parse"))
    dbt_command(data_dir, args=nothing)
    out["one_view"] = dbt_command(data_dir, "run", args=("--select", "stg_baxo__contracts"))
    os.environ["PIPELINES_DATA_DIR"] = str(data_dir)
    started = time.perf_counter()
    connect(read_only=False, root=data_dir).close()
    out["attach"] = time.perf_counter() - started
    return out


IMPORTS_IN_STEP = """
import time, pipelines.warehouse
started = time.perf_counter()
import dbt.cli.main, dbt.adapters.duckdb, agate
print(time.perf_counter() - started)
"""


def _seconds(call: Any) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


# -- the analyst during a build --------------------------------------------------------------
def reader_during(data_dir: Path, target: str, build: Any) -> dict[str, Any]:
    """Run `build()` while another process queries `marts.fct_reading` in a loop; its account."""
    stop, out = data_dir / f"reader-{target}.stop", data_dir / f"reader-{target}.json"
    command = [sys.executable, "-m", "bench.warehouse", "reader", target, str(data_dir), str(stop), str(out)]
    reader = subprocess.Popen(command, cwd=Path(__file__).resolve().parent.parent)
    time.sleep(2)  # the reader is querying before the build starts
    build_error = None
    try:
        build_s = build()
    except RuntimeError as error:  # the plain file: dbt may fail on the reader's lock
        build_s, build_error = None, [line for line in str(error).splitlines() if "Error" in line][:2]
    stop.touch()
    reader.wait(timeout=120)
    probes = json.loads(out.read_text())
    latencies = sorted(p["s"] for p in probes if p["ok"])
    errors = [p["error"] for p in probes if not p["ok"]]
    return {
        "build_s": build_s,
        "build_error": build_error,
        "probes": len(probes),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "median_ms": 1000 * latencies[len(latencies) // 2] if latencies else None,
        "p95_ms": 1000 * latencies[int(len(latencies) * 0.95)] if latencies else None,
    }


def without_paths(message: str) -> str:
    """An error message with file paths cut to their last part (results are committed)."""
    return re.sub(r"(?:/[^/\s\"]+)+/([^/\s\"]+)", r"\1", message)


def reader_loop(target: str, data_dir: Path, stop: Path, out: Path) -> None:
    """An analyst: open, count, close, every 0.2 s, recording each probe's latency or error."""
    os.environ["PIPELINES_DATA_DIR"] = str(data_dir)
    probes: list[dict[str, Any]] = []
    while not stop.exists():
        started = time.perf_counter()
        try:
            with open_reader(data_dir, target) as con:
                con.execute("select count(*) from marts.fct_reading").fetchone()
            probes.append({"ok": True, "s": time.perf_counter() - started})
        except duckdb.Error as error:
            probes.append({"ok": False, "error": without_paths(str(error).splitlines()[0])[:160]})
        time.sleep(0.2)
    out.write_text(json.dumps(probes))


if __name__ == "__main__":
    if sys.argv[1:2] == ["dbt"]:
        dbt_in_step(json.loads(sys.argv[2]))
    if sys.argv[1:2] == ["reader"]:
        reader_loop(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]), Path(sys.argv[5]))
