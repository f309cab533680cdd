"""`make bench`: our extraction beside dlt and orjson, transforms, dbt, incremental runs, memory.

python -m bench.run [--scale smoke|quick|default|large] [--out DIR] [--no-profile]
                    [--only extraction,extraction_dsmr] [--no-insert-values]

`--only` runs the named sections alone (e.g. the two extraction sections, ~5 min instead of ~12)
and prints their targets instead of writing results.md, which needs every section.

Every extraction contender runs in a process of its own against one simulator process (BAXO
historics, then DSMR readings) that serves pre-rendered pages; runs alternate between contenders.
Results go to `<out>/results.md` and `<out>/results.json` (`default_out`: bench/ only for a whole
default-scale run). Nothing here asserts a speed: the targets of the issue are reported as met or
missed, with a profile of our extraction where it misses.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from bench import decode, warehouse
from bench.workers import _historic_forms
from pipelines.settings import PROJECT_ROOT
from pipelines.vendors.baxo.simulator import BaxoSimulator, BaxoSimulatorConfig

PARTITION = "2026-01-15"
BENCH_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Scale:
    extraction_readings: int
    repeats: int
    insert_values: bool  # dlt's default loader path is slow: one run at most
    transform_rows: tuple[int, ...]
    dbt_readings: tuple[int, ...]
    dbt_days: int
    dbt_incremental: bool  # the no-change re-run and the scheduled day (two more dbt calls)
    memory_readings: int  # the larger partition; the smaller is section 1's
    # section 1b, in whole meter-days of 8,640; the page cache holds ~1.6 GB per 1 M readings
    # (both paging schemes), so large stays at 1 M
    dsmr_readings: int
    dsmr_repeats: int = 1  # dlt's rest_api needs ~80 s per 1 M DSMR readings: one round keeps default near 20 min
    # The plain DuckDB file beside the lake (cold builds, scheduled day, the analyst during a build).
    dbt_plainfile: bool = False
    # Landed days for the scheduled day's growth with history, at `history_readings_per_day`.
    history_days: tuple[int, ...] = ()
    history_readings_per_day: int = 20_000


SCALES = {
    # smoke: seconds, so `make test` runs it; one dbt call (each costs ~10 s here), no dlt insert_values
    "smoke": Scale(20_000, 1, False, (10_000, 100_000), (50_000,), 3, False, 200_000, 8_640),
    "default": Scale(
        1_000_000,
        2,
        True,
        (1_000_000, 10_000_000),
        (1_000_000, 10_000_000),
        30,
        True,
        10_000_000,
        1_000_000,
        dbt_plainfile=True,
        history_days=(30, 90),
    ),
    # quick: the dbt section's questions on 10 M readings only, for a loaded machine (`ONLY=dbt`):
    # one landing (the analyst reads during its builds), history at 2,000 readings a day
    "quick": Scale(
        1_000_000,
        1,
        False,
        (1_000_000,),
        (10_000_000,),
        30,
        True,
        10_000_000,
        1_000_000,
        dbt_plainfile=True,
        history_days=(30, 90),
        history_readings_per_day=2_000,
    ),
    # large: 100 M readings through dbt (`ONLY=dbt` runs that alone, ~30 min here)
    "large": Scale(
        10_000_000,
        1,
        False,
        (1_000_000, 10_000_000, 100_000_000),
        (10_000_000, 100_000_000),
        30,
        True,
        30_000_000,
        1_000_000,
        dbt_plainfile=True,
        history_days=(30, 90, 180),
    ),
}


# -- the simulator process -----------------------------------------------------------------------
def fleet_for(readings: int) -> tuple[int, int]:
    """(devices per contract, interval) whose one day of historics holds at least `readings`."""
    interval_s = 10 if readings >= 500_000 else 60
    devices_per_contract = 1
    day = datetime.fromisoformat(PARTITION).replace(tzinfo=UTC)
    start = int(day.timestamp()) - 946_684_800
    while True:
        simulator = BaxoSimulator(BaxoSimulatorConfig(devices_per_contract=devices_per_contract, interval_s=interval_s))
        # the end bound excludes the next day's midnight, which our extraction drops
        total = sum(s.rows for s in simulator.series_counts(simulator.devices, None, start, start + 86_399))
        if total >= readings:
            return devices_per_contract, interval_s
        devices_per_contract = max(devices_per_contract + 1, int(devices_per_contract * readings / max(total, 1)))


@dataclass
class Simulator:
    process: subprocess.Popen
    base_url: str

    def cpu_s(self) -> float:
        return httpx.get(self.base_url + "_bench/cpu", timeout=30).json()["cpu_s"]


@contextmanager
def simulator(readings: int, cache: bool = True) -> Iterator[Simulator]:
    devices_per_contract, interval_s = fleet_for(readings)
    command = ["--devices-per-contract", str(devices_per_contract), "--interval-s", str(interval_s)]
    with _simserver(command + ([] if cache else ["--no-cache"])) as sim:
        yield sim


DSMR_READINGS_PER_METER_DAY = 86_400 // 10


def dsmr_meters_for(readings: int) -> int:
    """DSMR meters whose one UTC day of readings (one per 10 s) holds at least `readings`."""
    return -(-readings // DSMR_READINGS_PER_METER_DAY)


@contextmanager
def _simserver(args: list[str]) -> Iterator[Simulator]:
    command = [sys.executable, "-m", "bench.simserver", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=PROJECT_ROOT)
    try:
        port = int(process.stdout.readline().split()[1])  # type: ignore[union-attr]
        yield Simulator(process, f"http://127.0.0.1:{port}/")
    finally:
        process.terminate()
        process.wait(timeout=30)


# -- one contender in one process --------------------------------------------------------------
def run_worker(name: str, job: dict[str, Any], sim: Simulator | None = None) -> dict[str, Any]:
    """Run a contender in its own process; add the simulator's CPU share of its wall time."""
    cpu_before = sim.cpu_s() if sim else 0.0
    with tempfile.TemporaryFile() as stderr:
        command = [sys.executable, "-m", "bench.workers", name, json.dumps(job)]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, cwd=PROJECT_ROOT)
        stdout = process.stdout.read()  # type: ignore[union-attr]
        _, status, usage = os.wait4(process.pid, 0)  # reap it ourselves: wait4 gives its own rusage
        process.returncode = os.waitstatus_to_exitcode(status)
        process.stdout.close()  # type: ignore[union-attr]
        if process.returncode != 0:
            stderr.seek(0)
            raise RuntimeError(f"bench worker {name} failed:\n{stderr.read().decode()[-4000:]}")
    line = next(x for x in reversed(stdout.decode().splitlines()) if x.startswith("RESULT "))
    out = json.loads(line.removeprefix("RESULT "))
    out["rusage_maxrss_mb"] = usage.ru_maxrss / 1024  # includes the parent's RSS at fork: see workers
    out["rows_per_s"] = out["rows"] / out["wall_s"]
    if sim:
        out["simulator_cpu_s"] = sim.cpu_s() - cpu_before
        out["simulator_share"] = out["simulator_cpu_s"] / out["wall_s"]
    return out


def _fresh_job(base_url: str, **extra: Any) -> dict[str, Any]:
    return {"base_url": base_url, "partition": PARTITION, "work_dir": tempfile.mkdtemp(prefix="bench-"), **extra}


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "runs": runs,
        "rows": runs[0]["rows"],
        "rows_per_s": statistics.median(r["rows_per_s"] for r in runs),
        "wall_s": statistics.median(r["wall_s"] for r in runs),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "baseline_rss_mb": max(r["baseline_rss_mb"] for r in runs),
        "simulator_share": statistics.median(r.get("simulator_share", 0.0) for r in runs),
    }


# -- sections -------------------------------------------------------------------------------------
def _alternating(order: list[str], rounds: int) -> Iterator[tuple[int, str]]:
    """(round, contender) with a different contender first in each round."""
    for round_ in range(rounds):
        for name in order[round_ % len(order) :] + order[: round_ % len(order)]:
            yield round_, name


def _compare(runs: dict[str, list[dict[str, Any]]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each contender's summary, and ours' rows/s and peak RSS as ratios of every other's."""
    summaries = {name: _summary(r) for name, r in runs.items()}
    ours = summaries["ours"]
    ratios = {
        name: {
            "rows_per_s": ours["rows_per_s"] / summary["rows_per_s"],
            "peak_rss": ours["peak_rss_mb"] / summary["peak_rss_mb"],
        }
        for name, summary in summaries.items()
        if name != "ours"
    }
    return summaries, ratios


def bench_extraction(scale: Scale, profile_to: Path | None, ours: dict[str, Any] | None = None) -> dict[str, Any]:
    contenders = {
        "ours": ("ours", ours or {}),
        "dlt_rest_api_parquet": ("dlt_rest_api", {"loader_file_format": "parquet"}),
        "dlt_arrow": ("dlt_arrow", {}),
    }
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in contenders}
    out: dict[str, Any] = {}
    with simulator(scale.extraction_readings) as sim:
        # Render and cache every page once, and keep the bytes for the orjson limit.
        pages = decode.fetch_pages(sim.base_url, _historic_forms(sim.base_url, PARTITION))
        order = list(contenders)
        for round_, name in _alternating(order, scale.repeats):
            worker, extra = contenders[name]
            job = _fresh_job(sim.base_url, **extra)
            try:
                runs[name].append(run_worker(worker, job, sim))
                if name == "ours" and round_ == 0:
                    out["ours_rerun"] = run_worker("ours", job, sim)  # same partition, nothing new
            finally:
                shutil.rmtree(job["work_dir"], ignore_errors=True)
        if scale.insert_values:
            job = _fresh_job(sim.base_url, loader_file_format="insert_values")
            try:
                runs["dlt_rest_api_insert_values"] = [run_worker("dlt_rest_api", job, sim)]
            finally:
                shutil.rmtree(job["work_dir"], ignore_errors=True)
        if profile_to is not None:
            job = _fresh_job(sim.base_url, profile_to=str(profile_to))
            try:
                run_worker("ours", job, sim)
            finally:
                shutil.rmtree(job["work_dir"], ignore_errors=True)
    out["contenders"], out["ratios"] = _compare(runs)
    ours = out["contenders"]["ours"]
    out["pages"] = len(pages)
    out["limit"] = bench_limit(pages, ours["rows_per_s"])
    return out


def bench_extraction_dsmr(scale: Scale, ours: dict[str, Any] | None = None) -> dict[str, Any]:
    """DSMR readings: ours (keyset pages) vs dlt (limit/offset pages), same meters, same day."""
    from bench.workers import DSMR_PAGE_LIMIT, dsmr_reading_requests

    contenders = {
        "ours": ("dsmr_ours", ours or {}),
        "dlt_rest_api_parquet": ("dsmr_dlt_rest_api", {"loader_file_format": "parquet"}),
        "dlt_arrow": ("dsmr_dlt_arrow", {}),
    }
    meters = dsmr_meters_for(scale.dsmr_readings)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in contenders}
    out: dict[str, Any] = {"meters": meters, "page_limit": DSMR_PAGE_LIMIT}
    with _simserver(["--dsmr-instances", str(meters)]) as sim:
        # Render and cache every page once: dlt's limit/offset pages (their bytes are the orjson
        # limit's input) and ours' keyset pages (by one untimed run of ours).
        requests = dsmr_reading_requests({"partition": PARTITION, "instances": meters})
        pages = decode.fetch_dsmr_pages(sim.base_url, requests, DSMR_PAGE_LIMIT)
        decode.walk_our_dsmr_pages(sim.base_url, meters, PARTITION, DSMR_PAGE_LIMIT)
        order = list(contenders)
        for _, name in _alternating(order, scale.dsmr_repeats):
            worker, extra = contenders[name]
            runs[name].append(_run_fresh(worker, sim, instances=meters, **extra))
        if scale.insert_values:
            # dlt's default loader manages ~5k rows/s here: a tenth of the meters gives its rate
            # (rows/s, peak RSS at that volume) in ~20 s instead of ~200 s.
            out["insert_values_meters"] = max(1, meters // 10)
            runs["dlt_rest_api_insert_values"] = [
                _run_fresh(
                    "dsmr_dlt_rest_api", sim, instances=out["insert_values_meters"], loader_file_format="insert_values"
                )
            ]
        out["cached_pages"] = httpx.get(sim.base_url + "_bench/cpu", timeout=30).json()["cached_pages"]
    out["contenders"], out["ratios"] = _compare(runs)
    ours = out["contenders"]["ours"]
    out["pages"] = len(pages)
    out["limit"] = bench_dsmr_limit(pages, ours["rows_per_s"])
    return out


def _run_fresh(worker: str, sim: Simulator, **extra: Any) -> dict[str, Any]:
    job = _fresh_job(sim.base_url, **extra)
    try:
        return run_worker(worker, job, sim)
    finally:
        shutil.rmtree(job["work_dir"], ignore_errors=True)


def bench_dsmr_limit(pages: list[tuple[str, bytes]], ours_rows_per_s: float) -> dict[str, Any]:
    rows = decode.orjson_dsmr_rows(pages)
    orjson_s = decode.best_seconds(lambda: decode.orjson_dsmr_rows(pages))
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        os.environ["PIPELINES_DATA_DIR"] = tmp
        parse_s = decode.best_seconds(lambda: decode.our_dsmr_page_path(pages, PARTITION, land=False))
        land_s = decode.best_seconds(lambda: decode.our_dsmr_page_path(pages, PARTITION, land=True))
    return {
        "bytes": sum(len(p) for _, p in pages),
        "rows": rows,
        "orjson_rows_per_s": rows / orjson_s,
        "our_parse_transform_rows_per_s": rows / parse_s,
        "our_parse_transform_validate_land_rows_per_s": rows / land_s,
        "ours_fraction_of_limit": ours_rows_per_s / (rows / orjson_s),
    }


def bench_limit(pages: list[bytes], ours_rows_per_s: float) -> dict[str, Any]:
    rows = decode.orjson_rows(pages)
    orjson_s = decode.best_seconds(lambda: decode.orjson_rows(pages))
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        os.environ["PIPELINES_DATA_DIR"] = tmp
        parse_s = decode.best_seconds(lambda: decode.our_page_path(pages, PARTITION, land=False))
        land_s = decode.best_seconds(lambda: decode.our_page_path(pages, PARTITION, land=True))
    return {
        "bytes": sum(len(p) for p in pages),
        "rows": rows,
        "orjson_rows_per_s": rows / orjson_s,
        "our_parse_transform_rows_per_s": rows / parse_s,
        "our_parse_transform_validate_land_rows_per_s": rows / land_s,
        "ours_fraction_of_limit": ours_rows_per_s / (rows / orjson_s),
    }


def bench_transforms(scale: Scale) -> dict[str, Any]:
    return {
        "baxo": [decode.transform_rates(n) for n in scale.transform_rows],
        "primayer": [decode.histogram_rates(n) for n in scale.transform_rows],
    }


def bench_dbt(scale: Scale) -> dict[str, Any]:
    """Cold builds (lake, and the plain file), then on the largest landing the scheduled day, the
    no-change re-run and dbt's start-up; the analyst during a build on the smallest landing; and
    the scheduled day as history grows."""
    out: dict[str, Any] = {"builds": [], "plainfile_builds": [], "incremental": {}}
    for i, readings in enumerate(scale.dbt_readings):
        data_dir = Path(tempfile.mkdtemp(prefix="bench-dbt-"))
        try:
            rows, series, interval_s = warehouse.land_generated(data_dir, readings, scale.dbt_days)
            build = _cold_build(data_dir, rows, scale.dbt_days, warehouse.LAKE)
            out["builds"].append(build)
            if scale.dbt_plainfile:
                out["plainfile_builds"].append(_cold_build(data_dir, rows, scale.dbt_days, warehouse.PLAIN_FILE))
            if scale.dbt_plainfile and i == 0:
                out["readers"] = _readers_during_builds(data_dir)
            if i == len(scale.dbt_readings) - 1:  # the incremental runs on the largest landing
                out["incremental"] = bench_incremental_dbt(data_dir, scale, build, series, interval_s)
                if scale.dbt_incremental:
                    out["startup"] = warehouse.startup(data_dir)
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)
    if scale.history_days:
        out["history"] = [bench_history(days, scale.history_readings_per_day) for days in scale.history_days]
    return out


def _readers_during_builds(data_dir: Path) -> dict[str, Any]:
    """An analyst querying the fact in a loop while dbt rebuilds everything: lake, then plain file."""
    return {
        target: warehouse.reader_during(data_dir, target, partial(warehouse.dbt_build, data_dir, target))
        for target in (warehouse.LAKE, warehouse.PLAIN_FILE)
    }


def _cold_build(data_dir: Path, rows: int, days: int, target: str) -> dict[str, Any]:
    cold_s = warehouse.dbt_build(data_dir, target)
    return {
        "target": target,
        "readings": rows,
        "days": days,
        "cold_build_s": cold_s,
        "warehouse_mb": warehouse.warehouse_mb(data_dir, target),
        "fct_reading_rows": warehouse.fct_reading_rows(data_dir, target),
        "timings": warehouse.dbt_node_timings(data_dir, target=target),
    }


def bench_incremental_dbt(
    data_dir: Path, scale: Scale, build: dict[str, Any], series: list[tuple[str, str]], interval_s: int
) -> dict[str, Any]:
    cold_s = build["cold_build_s"]
    out: dict[str, Any] = {"readings": build["readings"], "landed_days": scale.dbt_days, "cold_build_s": cold_s}
    if not scale.dbt_incremental:
        out["skipped"] = "smoke scale: two dbt calls fewer (each costs ~10 s here); they run at default scale"
        return out
    new_day = warehouse.FIRST_DAY + timedelta(days=scale.dbt_days)
    out["new_day_rows"] = warehouse.land_generated_day(data_dir, new_day, series, interval_s)
    built_from = warehouse.facts_input_fingerprints(new_day)  # what the step records with the build
    out["daily_build_s"] = warehouse.scheduled_day(data_dir, new_day)
    out["daily_fraction_of_cold"] = out["daily_build_s"] / cold_s
    out["daily_timings"] = warehouse.dbt_node_timings(data_dir)
    out["fct_reading_rows_after_daily"] = warehouse.fct_reading_rows(data_dir)
    # The same day extracted again, same answers (a new _extracted_at): the step compares the
    # fingerprints and calls no dbt. Its cost is the comparison.
    warehouse.land_generated_day(data_dir, new_day, series, interval_s)
    started = time.perf_counter()
    unchanged = warehouse.facts_input_fingerprints(new_day) == built_from
    out["rerun_decision_s"] = time.perf_counter() - started
    out["rerun_recognised_unchanged"] = unchanged
    out["rerun_no_change_s"] = out["rerun_decision_s"] if unchanged else warehouse.scheduled_day(data_dir, new_day)
    out["rerun_fraction_of_cold"] = out["rerun_no_change_s"] / cold_s
    out["rerun_forced_s"] = warehouse.scheduled_day(data_dir, new_day)  # had it not been recognised
    if scale.dbt_plainfile:
        out["plainfile_daily_build_s"] = warehouse.scheduled_day(data_dir, new_day, warehouse.PLAIN_FILE)
    return out


def bench_history(days: int, readings_per_day: int) -> dict[str, Any]:
    """The scheduled day on `days` landed (and built) days of `readings_per_day`: flat if it does
    not grow with the history."""
    data_dir = Path(tempfile.mkdtemp(prefix="bench-dbt-history-"))
    try:
        rows, series, interval_s = warehouse.land_generated(data_dir, readings_per_day * days, days)
        cold_s = warehouse.dbt_build(data_dir)
        new_day = warehouse.FIRST_DAY + timedelta(days=days)
        day_rows = warehouse.land_generated_day(data_dir, new_day, series, interval_s)
        daily_s = warehouse.scheduled_day(data_dir, new_day)
        timings = warehouse.dbt_node_timings(data_dir)
        return {
            "landed_days": days,
            "readings": rows,
            "day_rows": day_rows,
            "cold_build_s": cold_s,
            "daily_build_s": daily_s,
            "daily_timings": timings,
        }
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def bench_memory(scale: Scale, extraction: dict[str, Any]) -> dict[str, Any]:
    """Peak RSS of our extraction of one partition: section 1's runs, then one partition 10x larger."""
    ours = extraction["contenders"]["ours"]
    small = max(ours["runs"], key=lambda r: r["peak_rss_mb"])
    with simulator(scale.memory_readings, cache=False) as sim:  # rendering as it goes: no cache to hold
        job = _fresh_job(sim.base_url)
        try:
            large = run_worker("ours", job, sim)
        finally:
            shutil.rmtree(job["work_dir"], ignore_errors=True)
    points = [{k: run[k] for k in ("rows", "wall_s", "peak_rss_mb", "baseline_rss_mb")} for run in (small, large)]
    return {
        "points": points,
        "peak_rss_ratio": large["peak_rss_mb"] / small["peak_rss_mb"],
        "working_set_ratio": (large["peak_rss_mb"] - large["baseline_rss_mb"])
        / max(small["peak_rss_mb"] - small["baseline_rss_mb"], 1.0),
    }


# -- targets and report ---------------------------------------------------------------------------
def _target(name: str, measured: float | None, goal: float, higher_is_better: bool, fmt: str) -> dict[str, Any]:
    if measured is None:
        return {"target": name, "measured": None, "met": None, "note": "not measured at this scale"}
    met = measured >= goal if higher_is_better else measured <= goal
    gap = goal / measured if higher_is_better else measured / goal
    note = "met" if met else f"missed: {gap:.2f}x off ({fmt.format(measured)} vs {fmt.format(goal)})"
    return {"target": name, "measured": measured, "goal": goal, "met": met, "note": note}


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets for the sections this run measured."""
    out: list[dict[str, Any]] = []
    ex = results.get("extraction")
    if ex:
        out += peer_targets(ex)
        out.append(
            _target(
                "no-change re-run <= 5% of cold (extraction)",
                ex["ours_rerun"]["wall_s"] / ex["contenders"]["ours"]["runs"][0]["wall_s"],
                0.05,
                False,
                "{:.0%}",
            )
        )
    if "dbt" in results:
        out += dbt_targets(results["dbt"])
    if "memory" in results:
        out.append(_target("peak RSS 10M/1M <= 1.2", results["memory"]["peak_rss_ratio"], 1.2, False, "{:.2f}"))
    if "extraction_dsmr" in results:
        out += peer_targets(results["extraction_dsmr"], "DSMR: ")
    return out


def dbt_targets(dbt: dict[str, Any]) -> list[dict[str, Any]]:
    # The cold-build target is set on 10 M readings: the landing nearest that.
    big = min(dbt["builds"], key=lambda b: abs(b["readings"] - 10_000_000))
    inc = dbt["incremental"]
    out = [
        _target("no-change re-run <= 5% of cold (dbt)", inc.get("rerun_fraction_of_cold"), 0.05, False, "{:.0%}"),
        _target(
            f"dbt build of all marts on {big['readings']:,} readings < 15 s", big["cold_build_s"], 15, False, "{:.1f} s"
        ),
        _target(
            f"scheduled day over {inc.get('landed_days', '-')} landed days <= 10% of full",
            inc.get("daily_fraction_of_cold"),
            0.10,
            False,
            "{:.0%}",
        ),
    ]
    history = dbt.get("history") or []
    if len(history) > 1:
        growth = history[-1]["daily_build_s"] / history[0]["daily_build_s"]
        span = f"{history[0]['landed_days']} -> {history[-1]['landed_days']} days"
        name = f"scheduled day flat with history ({span}) <= 1.2x"
        out.append(_target(name, growth, 1.2, False, "{:.2f}x"))
    return out


# The extraction targets per section: (times dlt rest_api's rows/s, times dlt arrow's,
# whether peak RSS must be <= 1/2 of either's, share of the orjson limit over HTTP).
PEER_TARGETS = {"": (15, 3, True, 0.3), "DSMR: ": (10, 3, False, 0.3)}


def peer_targets(ex: dict[str, Any], label: str = "") -> list[dict[str, Any]]:
    """The issue's targets for one extraction section: speed and memory against dlt, and orjson."""
    ratios = ex["ratios"]
    rest_api, arrow = ratios["dlt_rest_api_parquet"], ratios["dlt_arrow"]
    times_rest_api, times_arrow, half_rss, of_limit = PEER_TARGETS[label]
    out = [
        _target(
            f"{label}ours >= {times_rest_api}x dlt rest_api rows/s (parquet path)",
            rest_api["rows_per_s"],
            times_rest_api,
            True,
            "{:.2f}x",
        ),
        _target(
            f"{label}ours >= {times_arrow}x dlt arrow path rows/s", arrow["rows_per_s"], times_arrow, True, "{:.2f}x"
        ),
    ]
    if half_rss:
        out += [
            _target(f"{label}ours peak RSS <= 1/2 dlt rest_api (parquet)", rest_api["peak_rss"], 0.5, False, "{:.2f}"),
            _target(f"{label}ours peak RSS <= 1/2 dlt arrow", arrow["peak_rss"], 0.5, False, "{:.2f}"),
        ]
    fraction = ex["limit"]["ours_fraction_of_limit"]
    return [*out, _target(f"{label}ours >= {of_limit:.0%} of the orjson limit", fraction, of_limit, True, "{:.0%}")]


def git_commit() -> str:
    """The commit measured, `-dirty` when the work tree differs from it."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    return head + ("-dirty" if dirty.stdout.strip() else "")


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for package in ("duckdb", "dbt-core", "dbt-duckdb", "polars", "dagster", "dagster-dbt"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = "not installed"
    return out


def machine() -> dict[str, Any]:
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_at_start": os.getloadavg(),
    }


def _sections(scale: Scale, profile_to: Path | None, results: dict[str, Any], ours: dict[str, Any]) -> dict[str, Any]:
    return {
        "extraction": lambda: bench_extraction(scale, profile_to, ours),
        "extraction_dsmr": lambda: bench_extraction_dsmr(scale, ours),
        "transforms": lambda: bench_transforms(scale),
        "dbt": lambda: bench_dbt(scale),
        "memory": lambda: bench_memory(scale, results["extraction"]),
    }


SECTION_NAMES = ("extraction", "extraction_dsmr", "transforms", "dbt", "memory")


def _only(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = sorted(set(names) - set(SECTION_NAMES))
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"sections are {', '.join(SECTION_NAMES)}; got {value!r}")
    if "memory" in names and "extraction" not in names:
        raise argparse.ArgumentTypeError("memory compares with the extraction section: add extraction")
    return names


def partial_summary(results: dict[str, Any]) -> str:
    """The targets of the sections a `--only` run measured (results.md needs every section)."""
    lines = [f"load average at start / end: {results['machine']['load_average_at_start']} / "]
    lines[0] += str(results["machine"]["load_average_at_end"])
    for name, label in (("extraction", ""), ("extraction_dsmr", "DSMR: ")):
        if name not in results:
            continue
        ex = results[name]
        for contender, summary in ex["contenders"].items():
            lines.append(
                f"{label}{contender}: {summary['rows']:,} rows, {summary['rows_per_s']:,.0f} rows/s, "
                f"peak RSS {summary['peak_rss_mb']:.0f} MB ({len(summary['runs'])} runs)"
            )
        lines += [f"{t['target']}: {t['note']} ({t['measured']:.3g})" for t in peer_targets(ex, label)]
    if "memory" in results:
        lines.append(f"peak RSS 10M/1M: {results['memory']['peak_rss_ratio']:.2f}")
    return "\n".join(lines) + "\n"


def default_out(scale: str, only: list[str] | None) -> Path:
    """Where a run's results go unless `--out` says: only a whole default-scale run replaces
    bench/results.md (the one README and NOTES.md quote); any other run keeps a folder of its own."""
    if scale != "default":
        return BENCH_DIR / scale
    return BENCH_DIR / "partial" if only else BENCH_DIR


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=list(SCALES), default="default")
    parser.add_argument(
        "--out",
        type=Path,
        help="folder for results.md and results.json (default: bench/ for a whole default-scale run, "
        "bench/<scale>/ for another scale, bench/partial/ for a default-scale --only run)",
    )
    parser.add_argument("--no-profile", action="store_true", help="skip the pyinstrument run of our extraction")
    parser.add_argument("--only", type=_only, help=f"comma-separated sections of {', '.join(SECTION_NAMES)}")
    parser.add_argument("--no-insert-values", action="store_true", help="skip dlt's slow insert_values runs")
    parser.add_argument("--ours-concurrency", type=int, help="our resource's `concurrency` (default: its own)")
    args = parser.parse_args()
    scale = SCALES[args.scale]
    if args.no_insert_values:
        scale = replace(scale, insert_values=False)
    args.out = args.out or default_out(args.scale, args.only)
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    started = time.perf_counter()
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "scale": args.scale,
        "only": ",".join(args.only) if args.only else None,
        "commit": git_commit(),
        "versions": versions(),
        "machine": machine(),
    }
    profiled = not args.no_profile and (args.only is None or "extraction" in args.only)
    profile_to = args.out / f"profile-ours-{args.scale}.txt" if profiled else None
    ours = {"concurrency": args.ours_concurrency} if args.ours_concurrency else {}
    sections = _sections(scale, profile_to, results, ours)
    for name in args.only or SECTION_NAMES:
        print(f"bench: {name} ...", flush=True)
        section_started = time.perf_counter()
        results[name] = sections[name]()
        results[name]["section_s"] = time.perf_counter() - section_started
    results["machine"]["load_average_at_end"] = os.getloadavg()
    results["total_s"] = time.perf_counter() - started
    if profile_to is not None and profile_to.exists():
        results["profile_file"] = profile_to.name
    # The dbt section alone has a report of its own (`report.render_dbt_only`); other partial
    # runs print their targets, as results.md needs every section.
    if args.only and args.only != ["dbt"]:
        (args.out / "results-partial.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
        print(partial_summary(results))
        return
    results["targets"] = targets(results)
    (args.out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    from bench.report import render

    (args.out / "results.md").write_text(render(results, profile_to))
    print((args.out / "results.md").read_text())


if __name__ == "__main__":
    main()
