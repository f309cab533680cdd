"""`bench/scale-results.md` and `.json` from one `bench.scale` run, with the machine and commit."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.settings import PROJECT_ROOT

MB = 2**20


def machine() -> dict[str, Any]:
    model = platform.processor() or "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if "model name" in line]
        model = names[0] if names else model
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version()}


def git_commit() -> str:
    """The commit measured, marked `+changes` when the work tree differed from it."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def vendor_rows(results: dict[str, Any], vendor: str, zone: str) -> int:
    return sum(counts[zone] for key, counts in results["rows"].items() if key.startswith(vendor + "/"))


def _vendor_table(results: dict[str, Any]) -> list[str]:
    lines = [
        "| vendor | devices | snapshots s (requests) | day s (requests) | day requests / device | response MB "
        "| extraction CPU s | simulator CPU s | extraction peak RSS MB | simulator peak RSS MB | rows landed "
        "| rows quarantined | landed MB | fct_reading rows (day) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for vendor, out in results["extraction"].items():
        sim, snapshots, daily = out["simulator"], out["snapshots"], out["daily"]
        devices = results["fleet"][vendor]
        failed = "" if snapshots["success"] and daily["success"] else " (a step FAILED)"
        lines.append(
            f"| {vendor}{failed} | {devices:,} "
            f"| {snapshots['wall_s']:.1f} ({snapshots['simulator']['requests']:,}) "
            f"| {daily['wall_s']:.1f} ({daily['simulator']['requests']:,}) "
            f"| {daily['simulator']['requests'] / devices:.2f} | {sim['response_bytes'] / MB:,.1f} "
            f"| {snapshots['cpu_s'] + daily['cpu_s']:.1f} | {sim['cpu_s']:.1f} "
            f"| {out['peak_rss_mb']:.0f} | {sim['peak_rss_mb']:.0f} "
            f"| {vendor_rows(results, vendor, 'landing'):,} | {vendor_rows(results, vendor, 'quarantine'):,} "
            f"| {sum(results['bytes_by_vendor'][vendor].values()) / MB:,.1f} "
            f"| {results['fct_reading_rows'].get(vendor, 0):,} |"
        )
    return lines


def _storage(results: dict[str, Any]) -> list[str]:
    sizes = results["bytes"]
    served = sum(out["simulator"]["response_bytes"] for out in results["extraction"].values())
    landed = sizes["landing"] + sizes["quarantine"] + sizes["audio"]
    rows = [
        ("JSON, CSV and WAV served by the simulators", served),
        ("landing (Parquet, zstd)", sizes["landing"]),
        ("quarantine (Parquet)", sizes["quarantine"]),
        ("audio (Primayer WAV files)", sizes["audio"]),
        ("lake: catalog, Parquet, dbt's DuckDB file", sizes["lake"]),
        ("of which `fct_reading`'s Parquet", results["bytes_fct_reading"]),
    ]
    facts = sum(results["fct_reading_rows"].values())
    return [
        "| what | MB | vs what was served |",
        "|---|---|---|",
        *[f"| {name} | {size / MB:,.1f} | {size / max(served, 1):.3f} |" for name, size in rows],
        "",
        f"What landed (landing + quarantine + audio) is **{served / max(landed, 1):.1f}x** smaller than what "
        f"the APIs answered; `fct_reading` takes {results['bytes_fct_reading'] / max(facts, 1):.1f} bytes a row.",
    ]


def markdown(results: dict[str, Any]) -> str:
    dbt = results["dbt"]
    facts = sum(results["fct_reading_rows"].values())
    extraction_s = sum(o["snapshots"]["wall_s"] + o["daily"]["wall_s"] for o in results["extraction"].values())
    lines = [
        f"# Scale run: {results['devices']:,} devices, one day",
        "",
        f"- date (UTC): {results['date']}; commit {results['commit']}",
        f"- machine: {results['machine']['cpu']}, {results['machine']['cores']} cores, "
        f"Python {results['machine']['python']}",
        f"- load average (1/5/15 min) at start {_load(results['load_average_start'])}, "
        f"at end {_load(results['load_average_end'])} (other work shares the machine: timings are noisy)",
        f"- day extracted: {results['day']} (simulator clock pinned at {results['clock']})",
        f"- command: `{results['command']}`",
        f"- total {results['total_wall_s']:.0f} s: extraction {extraction_s:.0f} s (vendors one after another, "
        f"one process each), dbt {dbt['wall_s']:.0f} s",
        "",
        "## Extraction per vendor",
        "",
        "Each vendor: its simulator in one process, its extraction (the vendor's Dagster assets, "
        "`materialize` as `make run` does: snapshots, then the day's partition) in another. "
        "Requests and bytes are counted by the simulator.",
        "",
        *_vendor_table(results),
        "",
        "## dbt build",
        "",
        f"One cold `dbt build` (selection: {dbt['select']}{' minus ' + dbt['exclude'] if dbt['exclude'] else ''}; "
        "window vars = the day) on a fresh lake, after the schema-only partitions of datasets nothing landed: "
        f"**{dbt['wall_s']:.1f} s** wall, {dbt['cpu_s']:.1f} s CPU, peak RSS {dbt['peak_rss_mb']:.0f} MB "
        f"(of which {dbt['baseline_rss_mb']:.0f} MB before the build: imports), {dbt['nodes']} nodes, "
        f"{'success' if dbt['success'] else 'FAILED: ' + ', '.join(dbt['failed_nodes'])}.",
        f"Slowest nodes: {', '.join(f'`{name}` {s} s' for name, s in dbt['slowest'])}.",
        "",
        f"`fct_reading` for the day: **{facts:,} rows**. Catalog commits (`ducklake_snapshots`): "
        f"{results.get('catalog_commits', 'not counted')}.",
    ]
    if "baxo_historics_day_rows" in results:
        lines.append(
            f"BAXO historics landed for the day: {results['baxo_historics_day_rows']:,}; BAXO rows in "
            f"`fct_reading` for the day: {results['fct_reading_rows'].get('baxo', 0):,} (one fact per historic)."
        )
    lines += ["", "## Storage", "", *_storage(results), "", "## Rows per dataset", ""]
    lines += ["| dataset | landed | quarantined |", "|---|---|---|"]
    lines += [f"| {key} | {c['landing']:,} | {c['quarantine']:,} |" for key, c in results["rows"].items()]
    return "\n".join(lines) + "\n"


def _load(load: list[float]) -> str:
    return " / ".join(f"{x:.2f}" for x in load)


def write_report(results: dict[str, Any], out: Path, command: str) -> None:
    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "machine": machine(),
        "command": command,
        **results,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "scale-results.json").write_text(json.dumps(results, indent=2) + "\n")  # first: the md re-renders from it
    (out / "scale-results.md").write_text(markdown(results))
    print(f"wrote {out / 'scale-results.md'}")


if __name__ == "__main__":  # re-render the markdown: python -m bench.scale_report bench/scale-results.json
    import sys

    source = Path(sys.argv[1])
    (source.parent / "scale-results.md").write_text(markdown(json.loads(source.read_text())))
