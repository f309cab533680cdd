"""`make bench` at smoke scale, so the benchmark never rots. No timing is asserted: only that
every section ran on the data it was given, or says why it was skipped."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from bench.report import SECTIONS
from pipelines.settings import PROJECT_ROOT


def test_bench_smoke_writes_every_section(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--scale", "smoke", "--out", str(tmp_path), "--no-profile"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    markdown = (tmp_path / "results.md").read_text()
    for heading in SECTIONS:
        assert heading in markdown
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["scale"] == "smoke"
    assert results["machine"]["cpu"] and results["date"]

    extraction = results["extraction"]
    contenders = extraction["contenders"]
    assert set(contenders) == {"ours", "dlt_rest_api_parquet", "dlt_arrow"}
    ours_rows = contenders["ours"]["rows"]
    assert ours_rows >= 20_000
    # dlt keeps the next day's midnight readings (endTime is inclusive), which ours drops: one per series
    assert contenders["dlt_arrow"]["rows"] == contenders["dlt_rest_api_parquet"]["rows"] == extraction["limit"]["rows"]
    assert 0 < extraction["limit"]["rows"] - ours_rows < 100
    assert extraction["ours_rerun"]["rows"] == ours_rows
    for summary in contenders.values():
        assert summary["peak_rss_mb"] > summary["baseline_rss_mb"] * 0.5 > 0
        assert summary["simulator_share"] > 0  # the simulator served every page
    assert all(t["rows"] > 0 and t["epoch_rows_per_s"] > 0 for t in results["transforms"]["baxo"])
    for rates in results["transforms"]["primayer"]:
        assert rates["rows"] >= 10_000 and rates["histograms"] * 32 >= rates["rows"]
        assert rates["decode_rows_per_s"] > 0 and rates["decode_and_stats_rows_per_s"] > 0

    dsmr = results["extraction_dsmr"]
    assert set(dsmr["contenders"]) == {"ours", "dlt_rest_api_parquet", "dlt_arrow"}
    # one meter-day at 10 s; dlt asks for the exact local day, ours for a wider one and keeps the UTC day
    assert {c["rows"] for c in dsmr["contenders"].values()} == {dsmr["limit"]["rows"]} == {8_640 * dsmr["meters"]}
    assert dsmr["contenders"]["ours"]["runs"][0]["quarantined"] == 0
    assert all(c["simulator_share"] > 0 for c in dsmr["contenders"].values())
    assert dsmr["cached_pages"] > dsmr["pages"]  # dlt's limit/offset pages and ours' keyset pages

    (build,) = results["dbt"]["builds"]
    assert build["fct_reading_rows"] == build["readings"] >= 50_000
    assert build["warehouse_mb"] > 0
    assert build["timings"]["seconds_by_kind"]["model"] > 0 and build["timings"]["slowest"]
    assert "skipped" in results["dbt"]["incremental"]

    small, large = results["memory"]["points"]
    assert small["rows"] == ours_rows and large["rows"] >= 200_000
    assert {t["target"] for t in results["targets"]} >= {
        "ours >= 30% of the orjson limit",
        "peak RSS 10M/1M <= 1.2",
        "DSMR: ours >= 10x dlt rest_api rows/s (parquet path)",
        "DSMR: ours >= 30% of the orjson limit",
    }


def test_the_dbt_step_benchmark_reports_every_part() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.dbt_step", "--repeats", "1"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # The figures are the last lines ("name  seconds"); dbt's own output, streamed by dagster-dbt, precedes them.
    figures = dict(line.split() for line in done.stdout.splitlines() if re.fullmatch(r"[a-z_]+ +[0-9.]+", line))
    assert set(figures) == {
        "dagster_step_one_seed_s",
        "cut_dbt_subprocess_s",
        "cut_adapter_in_process_s",
        "dbt_parse_whole_s",
        "dbt_parse_partial_s",
        "cut_whole_parse_s",
    }
    assert all(float(value) > 0 for name, value in figures.items() if name != "cut_whole_parse_s")
