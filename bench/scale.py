"""A simulated fleet for one day, end to end on this machine: real HTTP extraction, then dbt.

python -m bench.scale [--devices 10000] [--vendor baxo ...] [--out bench] [--workdir DIR]

The fleet is split across the vendors by `FLEET_MIX`, each simulator sized by its own knobs.
Vendors run one after another, each in two processes of its own: its simulator (so serving
pages is not charged to extraction) and its extraction, which materializes the vendor's Dagster
assets as `make run` does: snapshots (device lists) first, then the day's partition. Then one
`dbt build` of every model and test on a fresh lake. Measured per stage: wall time, CPU seconds
and peak RSS of the process, HTTP requests and response bytes the simulator served; then the
bytes landed (landing, quarantine, lake), the rows landed per dataset and the rows of
`fct_reading` per vendor for the day. Writes `<out>/scale-results.md` and `.json`.

Internal entry points, one process each: `serve <vendor> <devices> <clock>` (prints `PORT n`),
`extract <vendor> <day>` and `dbt <day> <select> <exclude>` (print one `RESULT {json}` line).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.workers import _peak_rss_mb
from pipelines.lake import data_files_dir
from pipelines.settings import DBT_PROJECT_DIR, PROJECT_ROOT

# Shares of the fleet by vendor: water-network loggers (BAXO data loggers, Primayer leak
# loggers) are the bulk of a utility's field devices, cellular routers (enCloud) one per site,
# Bagtower monitors a few cold rooms; DSMR-reader is one self-hosted server per home meter,
# deployed only at pilot sites. DSMR is also the heaviest per device by far (a reading every
# 10 s, 15 metrics each: ~130 k fact rows per meter-day, 130x a BAXO logger), so its share
# decides whether a day fits this machine: docs/scaling.md has the arithmetic.
FLEET_MIX = {"baxo": 0.60, "primayer": 0.20, "encloud": 0.15, "bagtower": 0.04, "dsmr": 0.01}
ENCLOUD_MAX_DEVICES = 4096  # the simulator's device uids are unique up to this many
PRIMAYER_LOGGERS_PER_GROUP = 100  # serials are 300101 + 100 x group + index: at most 100 per group
DSMR_KEY_ENV = "DSMR_SCALE_API_KEY"  # one key for every simulated meter
BAGTOWER_OWN_DEVICES = 5  # the simulator's fleet before `extra_devices`
LANDED_ZONES = ("landing", "quarantine", "audio")  # audio: Primayer's WAV files, beside its landing
STATS_URL_ENV = "BENCH_SCALE_STATS_URL"  # where the extraction process reads its simulator's counters


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def fleet_sizes(devices: int, vendors: list[str]) -> dict[str, int]:
    """Devices per vendor: the mix's shares of the chosen vendors, rounded to what each simulator's
    knobs can build (BAXO 2 contracts, enCloud 3 customers, Primayer groups of up to 100,
    Bagtower at least its own 5 devices)."""
    total_share = sum(FLEET_MIX[v] for v in vendors)
    sizes = {v: max(1, round(devices * FLEET_MIX[v] / total_share)) for v in vendors}
    granularity = {"baxo": 2, "encloud": 3, "primayer": min(sizes.get("primayer", 1), PRIMAYER_LOGGERS_PER_GROUP)}
    for vendor, step in granularity.items():
        if vendor in sizes:
            sizes[vendor] = math.ceil(sizes[vendor] / step) * step
    if "bagtower" in sizes:
        sizes["bagtower"] = max(sizes["bagtower"], BAGTOWER_OWN_DEVICES)
    return sizes


# -- simulators, one process each ---------------------------------------------------------------
def simulator_config(vendor: str, devices: int, clock: datetime) -> Any:
    """The vendor simulator's config for a fleet of `devices`, clock pinned where it has one."""
    if vendor == "baxo":
        from pipelines.vendors.baxo import simulator as baxo

        # Two contracts in the simulator: half the fleet under each.
        return replace(baxo.config_at(clock), devices_per_contract=math.ceil(devices / 2))
    if vendor == "dsmr":
        from pipelines.vendors.dsmr import simulator as dsmr

        return replace(dsmr.config_at(clock), instances=dsmr_meters(devices))
    if vendor == "encloud":
        from pipelines.vendors.encloud.simulator import CUSTOMERS, EncloudSimulatorConfig

        if devices > ENCLOUD_MAX_DEVICES:
            raise ValueError(f"the enCloud simulator serves at most {ENCLOUD_MAX_DEVICES} devices")
        return EncloudSimulatorConfig(devices_per_customer=math.ceil(devices / len(CUSTOMERS)))
    if vendor == "primayer":
        from pipelines.vendors.primayer.simulator import PrimayerSimulatorConfig

        per_group = min(devices, PRIMAYER_LOGGERS_PER_GROUP)
        return PrimayerSimulatorConfig(groups=math.ceil(devices / per_group), loggers_per_group=per_group)
    if vendor == "bagtower":
        from pipelines.vendors.bagtower import simulator as bagtower

        return replace(bagtower.config_at(clock), extra_devices=bagtower_extra_devices(devices))
    raise ValueError(f"unknown vendor {vendor}")


def dsmr_meters(count: int) -> tuple:
    from pipelines.vendors.dsmr.meter_model import SimInstance

    return tuple(SimInstance(f"m{i:05d}", "Europe/Amsterdam", _dsmr_key(), phase_s=i % 10) for i in range(count))


def _dsmr_key() -> str:
    return "dsmr-scale-key"


def bagtower_extra_devices(devices: int) -> list:
    """Devices beyond the simulator's five, each a copy of one of the five under a new id."""
    from pipelines.vendors.bagtower.fleet import build_fleet, seeded_uuid
    from pipelines.vendors.bagtower.simulator import BagtowerSimulatorConfig

    seed = BagtowerSimulatorConfig().seed
    base, _ = build_fleet(seed)
    return [
        replace(
            base[i % len(base)],
            id=seeded_uuid(seed, f"scale-device{i}"),
            name=f"Scale unit {i + 1}",
            index=i,
            pool=False,
        )
        for i in range(len(base), devices)
    ]


def vendor_env(vendor: str, devices: int, port: int) -> dict[str, str]:
    """The settings pointing the pipeline at the vendor's simulator on `port`, for this fleet."""
    from pipelines.simulation.registry import simulator_spec

    env = simulator_spec(vendor).env_for_port(port)
    base = f"http://127.0.0.1:{port}"
    if vendor == "dsmr":
        instances = [
            {"name": m.name, "base_url": f"{base}/{m.name}", "api_key_env": DSMR_KEY_ENV, "timezone": m.timezone}
            for m in dsmr_meters(devices)
        ]
        env = {"DSMR_INSTANCES": json.dumps(instances), DSMR_KEY_ENV: _dsmr_key()}
    if vendor == "primayer":
        from pipelines.vendors.primayer.simulator import build_fleet

        config = simulator_config(vendor, devices, datetime.now(UTC))
        env["PRIMAYER_SERIALS"] = ",".join(lg.serial for lg in build_fleet(config))
    return env


class CountingApp:
    """ASGI wrapper: counts requests and response body bytes; `GET /_scale/stats` reports them."""

    def __init__(self, app: Any) -> None:
        self.app, self.requests, self.response_bytes = app, 0, 0

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == "/_scale/stats":
            await self._stats(send)
            return
        self.requests += 1

        async def counting_send(message: dict) -> None:
            if message["type"] == "http.response.body":
                self.response_bytes += len(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, counting_send)

    async def _stats(self, send: Any) -> None:
        body = json.dumps(
            {
                "requests": self.requests,
                "response_bytes": self.response_bytes,
                "cpu_s": _cpu_s(),
                "peak_rss_mb": _peak_rss_mb(),
            }
        ).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})


def serve(vendor: str, devices: int, clock: datetime) -> None:
    import socket

    import uvicorn

    from pipelines.simulation.registry import simulator_spec

    app = CountingApp(simulator_spec(vendor).create_app(simulator_config(vendor, devices, clock)))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)  # requests queue from here on, so the port is usable once printed
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_keep_alive=60)
    uvicorn.Server(config).run(sockets=[sock])


@dataclass
class Simulator:
    vendor: str
    process: subprocess.Popen
    port: int

    def stats(self) -> dict[str, float]:
        import httpx

        return httpx.get(f"http://127.0.0.1:{self.port}/_scale/stats", timeout=60).json()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def start_simulator(vendor: str, devices: int, clock: datetime) -> Simulator:
    command = [sys.executable, "-m", "bench.scale", "serve", vendor, str(devices), clock.isoformat()]
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()  # blocks until the simulator has built its fleet and listens
    if not line.startswith("PORT "):
        process.kill()
        raise RuntimeError(f"the {vendor} simulator did not start: {line!r}")
    return Simulator(vendor, process, int(line.split()[1]))


# -- extraction and dbt, one process each -------------------------------------------------------
def extract(vendor: str, day: str) -> dict[str, Any]:
    """Materialize the vendor's snapshot assets, then its daily assets for `day`, as `make run` does."""
    from dagster import materialize

    from pipelines.extraction import extraction_assets, vendor_resources

    resources = vendor_resources()
    # Extraction asset keys start with the vendor: `[vendor, dataset]`.
    assets = [a for a in extraction_assets if next(iter(a.keys)).path[0] == vendor]
    out: dict[str, Any] = {"baseline_rss_mb": _peak_rss_mb()}
    for stage, selection, partition in (
        ("snapshots", [a for a in assets if a.partitions_def is None], None),
        ("daily", [a for a in assets if a.partitions_def is not None], day),
    ):
        served, started, cpu = simulator_stats(), time.perf_counter(), _cpu_s()
        result = materialize(selection, resources=resources, partition_key=partition, raise_on_error=False)
        wall, cpu = time.perf_counter() - started, _cpu_s() - cpu
        served = {k: v - served[k] for k, v in simulator_stats().items()}
        out[stage] = {"wall_s": wall, "cpu_s": cpu, "success": result.success, "simulator": served}
    out["peak_rss_mb"] = _peak_rss_mb()
    return out


def simulator_stats() -> dict[str, float]:
    """The simulator's counters so far: requests, response bytes, CPU seconds."""
    import httpx

    stats = httpx.get(os.environ[STATS_URL_ENV], timeout=60).json()
    return {k: stats[k] for k in ("requests", "response_bytes", "cpu_s")}


def prepare_landing() -> None:
    """Schema-only partitions for datasets nothing landed (what the Dagster dbt assets do first)."""
    import pipelines.extraction  # noqa: F401  (registers every vendor's datasets)
    from pipelines.landing import ensure_schema_partitions

    ensure_schema_partitions()


def dbt_build(day: str, select: str, exclude: str) -> dict[str, Any]:
    """One cold `dbt build` (every seed, model and test unless `select`/`exclude`), in this process
    (dbt's Python entry), after the schema-only partitions (`prepare_landing`)."""
    from dbt.cli.main import dbtRunner

    prepare_landing()
    work = Path(os.environ["PIPELINES_DATA_DIR"])
    os.chdir(DBT_PROJECT_DIR)
    baseline = _peak_rss_mb()
    started, cpu = time.perf_counter(), _cpu_s()
    args = ["build", "--quiet", "--profiles-dir", ".", "--target-path", str(work / "dbt_target")]
    args += ["--log-path", str(work / "dbt_logs"), "--vars", json.dumps({"min_date": day, "max_date": day})]
    # Cautious: a test on a selected model and an unselected one (a relationship) is left out.
    args += ["--select", select, "--indirect-selection", "cautious"] if select else []
    args += ["--exclude", exclude] if exclude else []
    result = dbtRunner().invoke(args)
    wall = time.perf_counter() - started
    nodes = json.loads((work / "dbt_target" / "run_results.json").read_text())["results"]
    slowest = sorted(nodes, key=lambda n: n["execution_time"], reverse=True)[:6]
    return {
        "success": bool(result.success),
        "wall_s": wall,
        "cpu_s": _cpu_s() - cpu,
        "baseline_rss_mb": baseline,
        "peak_rss_mb": _peak_rss_mb(),
        "nodes": len(nodes),
        "failed_nodes": [n["unique_id"] for n in nodes if n["status"] in ("error", "fail")],
        "slowest": [[n["unique_id"].split(".")[2], round(n["execution_time"], 2)] for n in slowest],
    }


def run_child(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run `python -m bench.scale <args>` and return its RESULT line (its own stderr passes through)."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.scale", *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
    )
    results = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not results:
        raise RuntimeError(f"bench.scale {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return json.loads(results[-1].removeprefix("RESULT "))


# -- what landed --------------------------------------------------------------------------------
def tree_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) if folder.exists() else 0


def landed_rows(work: Path) -> dict[str, dict[str, int]]:
    """Rows per vendor/dataset in landing and quarantine, schema-only partitions left out."""
    import polars as pl

    from pipelines.landing import SCHEMA_ONLY_PARTITION

    counts: dict[str, dict[str, int]] = {}
    for zone in ("landing", "quarantine"):
        for dataset_dir in sorted((work / zone).glob("*/*")):
            files = [f for f in dataset_dir.glob("date=*/*.parquet") if f.parent.name != SCHEMA_ONLY_PARTITION]
            rows = sum(pl.scan_parquet(f).select(pl.len()).collect().item() for f in files)
            if rows:
                key = f"{dataset_dir.parent.name}/{dataset_dir.name}"
                counts.setdefault(key, {"landing": 0, "quarantine": 0})[zone] = rows
    return counts


def day_rows(work: Path, vendor: str, dataset: str, day: str) -> int:
    import polars as pl

    files = list((work / "landing" / vendor / dataset / f"date={day}").glob("*.parquet"))
    return sum(pl.scan_parquet(f).select(pl.len()).collect().item() for f in files)


def fact_rows(work: Path, day: str) -> dict[str, int]:
    from pipelines.lake import connect

    with connect(root=work) as con:
        rows = con.execute(
            "select vendor, count(*) from fct_reading where partition_date = cast(? as date) group by vendor", [day]
        ).fetchall()
    return {vendor: count for vendor, count in rows}


def catalog_commits(work: Path) -> int:
    """Snapshots the build committed to the lake's catalog (one per model or seed written, and DDL)."""
    from pipelines.lake import LAKE_ALIAS, connect

    with connect(root=work) as con:
        return con.execute(f"select count(*) from ducklake_snapshots('{LAKE_ALIAS}')").fetchone()[0]  # type: ignore[index]


# -- the run ------------------------------------------------------------------------------------
def run_scale(
    devices: int, vendors: list[str], work: Path, dbt_select: str = "", dbt_exclude: str = ""
) -> dict[str, Any]:
    from pipelines.run import _as_of

    clock = _as_of()
    day = (clock.date() - timedelta(days=1)).isoformat()
    sizes = fleet_sizes(devices, vendors)
    env = os.environ | {"PIPELINES_DATA_DIR": str(work), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    results: dict[str, Any] = {"devices": devices, "day": day, "clock": clock.isoformat(), "fleet": sizes}
    results["load_average_start"] = os.getloadavg()
    started = time.perf_counter()
    results["extraction"] = {v: extract_vendor(v, sizes[v], clock, day, env) for v in vendors}
    selection = {"select": dbt_select or "everything", "exclude": dbt_exclude}
    results["dbt"] = run_child(["dbt", day, dbt_select, dbt_exclude], env) | selection
    results["total_wall_s"] = time.perf_counter() - started
    results["load_average_end"] = os.getloadavg()
    results["bytes"] = {zone: tree_bytes(work / zone) for zone in LANDED_ZONES + ("lake",)}
    results["bytes_fct_reading"] = tree_bytes(data_files_dir(work) / "marts" / "fct_reading")
    results["bytes_by_vendor"] = {v: {zone: tree_bytes(work / zone / v) for zone in LANDED_ZONES} for v in vendors}
    results["rows"] = landed_rows(work)
    results["fct_reading_rows"] = fact_rows(work, day)
    results["catalog_commits"] = catalog_commits(work)
    if "baxo" in vendors:  # one landed historic is one fact row: the day's totals must agree
        results["baxo_historics_day_rows"] = day_rows(work, "baxo", "device_historics", day)
    return results


def extract_vendor(vendor: str, devices: int, clock: datetime, day: str, env: dict[str, str]) -> dict[str, Any]:
    print(f"{vendor}: {devices} devices ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    simulator = start_simulator(vendor, devices, clock)
    try:
        simulator_start_s = time.perf_counter() - started
        before = simulator.stats()
        stats_url = {STATS_URL_ENV: f"http://127.0.0.1:{simulator.port}/_scale/stats"}
        out = run_child(["extract", vendor, day], env | vendor_env(vendor, devices, simulator.port) | stats_url)
        after = simulator.stats()
    finally:
        simulator.stop()
    out["simulator"] = {
        "start_s": simulator_start_s,
        "requests": after["requests"] - before["requests"],
        "response_bytes": after["response_bytes"] - before["response_bytes"],
        "cpu_s": after["cpu_s"] - before["cpu_s"],
        "peak_rss_mb": after["peak_rss_mb"],
    }
    print(f"{vendor}: {json.dumps(out)}", file=sys.stderr, flush=True)
    return out


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] in ("serve", "extract", "dbt"):
        _internal(sys.argv[1], sys.argv[2:])
        return
    from bench.scale_report import write_report

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--vendor", action="append", choices=list(FLEET_MIX), help="default: every vendor")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench", help="where scale-results.* go")
    parser.add_argument("--workdir", type=Path, help="keep the run's data here (default: a temporary folder)")
    parser.add_argument("--dbt-select", default="", help="dbt selection (default: every seed, model and test)")
    parser.add_argument("--dbt-exclude", default="", help="dbt exclusion, e.g. resource_type:test")
    args = parser.parse_args()
    vendors = args.vendor or list(FLEET_MIX)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        results = run_scale(args.devices, vendors, work, args.dbt_select, args.dbt_exclude)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    command = f"python -m bench.scale --devices {args.devices}" + "".join(f" --vendor {v}" for v in args.vendor or ())
    command += f" --dbt-select '{args.dbt_select}'" if args.dbt_select else ""
    command += f" --dbt-exclude '{args.dbt_exclude}'" if args.dbt_exclude else ""
    write_report(results, args.out, command)


def _internal(command: str, args: list[str]) -> None:
    if command == "serve":
        serve(args[0], int(args[1]), datetime.fromisoformat(args[2]))
        return
    out = extract(args[0], args[1]) if command == "extract" else dbt_build(args[0], args[1], args[2])
    print("RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
