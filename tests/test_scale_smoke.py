"""`make scale` at 20 BAXO devices, so the scale run never rots. No timing is asserted: only that
the day went through real HTTP extraction and dbt, and that the numbers it reports add up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pipelines.settings import PROJECT_ROOT

# The facts and what they are built from; dbt's tests left out to keep it short (the run's own
# counts below check the facts).
SMOKE_ARGS = [
    "--devices",
    "20",
    "--vendor",
    "baxo",
    "--dbt-select",
    "+fct_reading",
    "--dbt-exclude",
    "resource_type:test",
]


def test_scale_smoke_lands_a_day_and_builds_its_facts(tmp_path: Path) -> None:
    out = ["--out", str(tmp_path), "--workdir", str(tmp_path / "work")]
    command = [sys.executable, "-m", "bench.scale", *SMOKE_ARGS, *out]
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "scale-results.json").read_text())

    assert results["fleet"] == {"baxo": 20}
    baxo = results["extraction"]["baxo"]
    assert baxo["snapshots"]["success"] and baxo["daily"]["success"]
    # 2 contracts: a device list each, one `get=device` per device, a real-time batch each...
    assert baxo["snapshots"]["simulator"]["requests"] >= 20
    # ...and the day's historics in batches of 25 devices per contract
    assert baxo["daily"]["simulator"]["requests"] >= 2
    assert baxo["simulator"]["response_bytes"] > 0 and baxo["peak_rss_mb"] > baxo["baseline_rss_mb"] > 0

    # The simulator's 20 devices carry 67 tags; 1 device in 6 (3 here, 3 tags each) is inactive
    # and logs nothing; the others log every 300 s: 288 values a tag and UTC day.
    day_rows = results["baxo_historics_day_rows"]
    assert day_rows == (67 - 3 * 3) * 288
    assert results["rows"]["baxo/device_historics"] == {"landing": day_rows, "quarantine": 0}
    assert results["rows"]["baxo/devices"]["landing"] == 20
    # one landed historic is one fact: the day's landing and fct_reading agree exactly
    assert results["fct_reading_rows"] == {"baxo": day_rows}

    assert results["dbt"]["success"] and results["dbt"]["failed_nodes"] == []
    assert results["catalog_commits"] > results["dbt"]["nodes"] > 0  # a commit per model and seed, and DDL
    assert all(results["bytes"][zone] > 0 for zone in ("landing", "lake"))
    assert results["machine"]["cores"] and results["commit"] and results["load_average_start"]
    markdown = (tmp_path / "scale-results.md").read_text()
    assert "## Extraction per vendor" in markdown and "## dbt build" in markdown
