"""results.json -> results.md: the tables `make bench` prints.

python -m bench.report [bench/results.json]   re-renders results.md beside it (e.g. after NOTES.md changed)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

SECTIONS = (
    "## 1. Extraction vs dlt (BAXO historics)",
    "## 1b. Extraction vs dlt (DSMR readings)",
    "## 2. The limit: orjson alone",
    "## 3. Transforms",
    "## 4. dbt build of all marts",
    "## 5. Incremental",
    "## 6. Memory growth",
    "## Targets",
)
PROFILE_LINES = 45


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines + [""]


def _n(x: float) -> str:
    return f"{x:,.0f}"


def _timings(timings: dict[str, Any]) -> str:
    """dbt's own account of a build: seconds per kind of node and the slowest nodes."""
    kinds = ", ".join(f"{k} {v:.1f} s" for k, v in timings["seconds_by_kind"].items())
    slowest = ", ".join(f"`{name}` {seconds:.1f} s" for name, seconds in timings["slowest"])
    nodes = timings.get("nodes", "?")
    return f"dbt elapsed {timings['elapsed_s']:.1f} s, {nodes} nodes; by kind: {kinds}; slowest: {slowest}"


def _contender_table(ex: dict[str, Any]) -> list[str]:
    rows = []
    for name, s in ex["contenders"].items():
        ratio = ex["ratios"].get(name)
        rows.append(
            [
                name,
                _n(s["rows"]),
                len(s["runs"]),
                _n(s["rows_per_s"]),
                f"{s['wall_s']:.2f}",
                f"{s['peak_rss_mb']:.0f}",
                f"{s['baseline_rss_mb']:.0f}",
                f"{s['simulator_share']:.0%}",
                f"{ratio['rows_per_s']:.2f}x" if ratio else "-",
                f"{ratio['peak_rss']:.2f}" if ratio else "-",
            ]
        )
    return _table(
        [
            "contender",
            "rows",
            "runs",
            "rows/s (median)",
            "wall s",
            "peak RSS MB",
            "RSS after imports MB",
            "simulator share",
            "ours/it rows/s",
            "ours/it peak RSS",
        ],
        rows,
    )


def _limit_table(lim: dict[str, Any], ours_rows_per_s: float, our_decoder: str) -> list[str]:
    return _table(
        ["path", "rows/s"],
        [
            ["orjson.loads, count readings (the limit)", _n(lim["orjson_rows_per_s"])],
            [f"ours: page parse ({our_decoder}) + transform (no HTTP)", _n(lim["our_parse_transform_rows_per_s"])],
            [
                "ours: parse + transform + pandera + Parquet (no HTTP)",
                _n(lim["our_parse_transform_validate_land_rows_per_s"]),
            ],
            ["ours: whole extraction over HTTP (section above)", _n(ours_rows_per_s)],
        ],
    )


def header(results: dict[str, Any]) -> list[str]:
    m = results["machine"]
    only = results.get("only")
    versions = ", ".join(f"{k} {v}" for k, v in results.get("versions", {}).items())
    return [
        f"# Benchmark results ({results['scale']} scale{f', only the {only} section' if only else ''})",
        "",
        f"- date (UTC): {results['date']}; commit {results.get('commit', 'unknown')}",
        f"- machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}",
        f"- versions: {versions}",
        f"- load average at start / end: {m['load_average_at_start'][0]:.2f} / {m['load_average_at_end'][0]:.2f}"
        " (other work on the machine makes every number noisy)",
        f"- total: {results['total_s']:.0f} s",
        "",
    ]


def render_dbt_only(results: dict[str, Any]) -> str:
    """`make bench ONLY=dbt`: sections 4 and 5 and the dbt targets; the other sections were not run."""
    out = header(results)
    out += [
        "Not run (`--only dbt`): "
        + "; ".join(name.removeprefix("## ") for name in SECTIONS[:4] + SECTIONS[6:7])
        + ". See a whole `make bench`.",
        "",
    ]
    out += dbt_sections(results["dbt"], None)
    out += [SECTIONS[7], ""]
    out += _table(["target", "result"], [[t["target"], t["note"]] for t in results["targets"]])
    notes = Path(__file__).with_name("NOTES.md")
    if notes.exists():
        out += [notes.read_text().strip(), ""]
    return "\n".join(out)


def render(results: dict[str, Any], profile: Path | None) -> str:
    if results.get("only") == "dbt":
        return render_dbt_only(results)
    ex, tr, dbt, mem = results["extraction"], results["transforms"], results["dbt"], results["memory"]
    out = header(results) + [
        SECTIONS[0],
        "",
        f"One UTC day, {ex['pages']} pages of up to 10,000 readings, served pre-rendered by the simulator in its own"
        " process. Each run is a process of its own; runs alternate between contenders. Ours lands validated"
        " Parquet (epoch conversion, typed values, pandera); dlt loads raw values into DuckDB. dlt's rows include the"
        " next day's midnight readings (BAXO's `endTime` is inclusive), which ours drops. Simulator share = the"
        " simulator's CPU seconds / the contender's wall seconds.",
        "",
    ]
    out += _contender_table(ex)
    dsmr = results["extraction_dsmr"]
    dsmr_lim = dsmr["limit"]
    out += [
        SECTIONS[1],
        "",
        f"One UTC day of {dsmr['meters']} meters (8,640 readings each, one per 10 s), served pre-rendered by the"
        " simulator in its own process. Ours is the `readings` asset's landing function: keyset pages of"
        f" {dsmr['page_limit']:,} (`timestamp__gte` = newest seen), local bounds 2 h wider than the UTC day, exact"
        " decimals, pandera, Parquet. dlt pages by limit/offset (same page size, `count` as the total) with the"
        " meter's exact local day bounds and loads raw strings into DuckDB. Same process rules as section 1.",
        "",
    ]
    out += _contender_table(dsmr)
    out += [
        f"The orjson limit on the same {_n(dsmr_lim['bytes'])} response bytes (dlt's {dsmr['pages']} limit/offset"
        f" pages, {_n(dsmr_lim['rows'])} readings), no HTTP, best of 3:",
        "",
    ]
    out += _limit_table(dsmr_lim, dsmr["contenders"]["ours"]["rows_per_s"], "orjson.loads")
    out += [f"Ours over HTTP is **{dsmr_lim['ours_fraction_of_limit']:.0%}** of the orjson limit.", ""]
    lim = ex["limit"]
    out += [
        SECTIONS[2],
        "",
        f"The same {_n(lim['bytes'])} response bytes ({_n(lim['rows'])} readings), no HTTP, best of 3.",
        "",
    ]
    out += _limit_table(lim, ex["contenders"]["ours"]["rows_per_s"], "pl.read_json")
    out += [f"Ours over HTTP is **{lim['ours_fraction_of_limit']:.0%}** of the orjson limit.", ""]
    out += [SECTIONS[3], ""]
    out += _table(
        ["rows", "BAXO epoch conversion rows/s", "BAXO historics_frame (whole transform) rows/s"],
        [[_n(t["rows"]), _n(t["epoch_rows_per_s"]), _n(t["historics_frame_rows_per_s"])] for t in tr["baxo"]],
    )
    out += [
        "Primayer histogram decoding on synthetic histograms of 32 bins (rows = bins): the checks and the"
        " long table (`split_histograms` + `histogram_bins`), the per-histogram statistics (`histogram_stats`),"
        " and both.",
        "",
    ]
    out += _table(
        ["bin rows", "histograms", "decode rows/s", "statistics rows/s", "decode + statistics rows/s"],
        [
            [
                _n(t["rows"]),
                _n(t["histograms"]),
                _n(t["decode_rows_per_s"]),
                _n(t["stats_rows_per_s"]),
                _n(t["decode_and_stats_rows_per_s"]),
            ]
            for t in tr["primayer"]
        ],
    )
    out += dbt_sections(dbt, ex)
    out += [SECTIONS[6], "", "Our extraction of one partition, simulator rendering as it goes."]
    out += [""] + _table(
        ["readings", "wall s", "peak RSS MB", "RSS after imports MB"],
        [
            [_n(p["rows"]), f"{p['wall_s']:.1f}", f"{p['peak_rss_mb']:.0f}", f"{p['baseline_rss_mb']:.0f}"]
            for p in mem["points"]
        ],
    )
    out += [
        f"Peak RSS ratio large/small: **{mem['peak_rss_ratio']:.2f}**"
        f" (above the imports: {mem['working_set_ratio']:.2f}).",
        "",
    ]
    out += [SECTIONS[7], ""]
    out += _table(["target", "result"], [[t["target"], t["note"]] for t in results["targets"]])
    notes = Path(__file__).with_name("NOTES.md")
    if notes.exists():
        out += [notes.read_text().strip(), ""]
    if profile is not None and profile.exists():
        lines = profile.read_text().splitlines()
        out += ["## Profile of our extraction (pyinstrument, top of the call tree)", "", "```"]
        out += lines[:PROFILE_LINES] + ["```", "", f"Whole profile: `{profile.name}`.", ""]
    return "\n".join(out)


def _build_failure(lines: list[str] | None) -> str:
    """A failed build's first error line, else dbt's exit."""
    first = next((line.strip() for line in lines or [] if "Error" in line), "dbt exited with an error")
    return f"failed: {first[:120]}"


def dbt_sections(dbt: dict[str, Any], ex: dict[str, Any] | None) -> list[str]:
    """Section 4 (cold builds, lake and plain file, the analyst during a build, dbt's start-up)
    and section 5 (incremental runs, and the scheduled day as history grows)."""
    out = [
        SECTIONS[4],
        "",
        "Landed Parquet generated directly (same schema as PartitionWriter's, with its fingerprint), then"
        " `dbt build` (every seed, model and test) on a fresh warehouse: the DuckLake the project ships"
        " (`dev`) and, where measured, a plain DuckDB file (`plainfile`, bench only).",
        "",
    ]
    builds = dbt["builds"] + dbt.get("plainfile_builds", [])
    out += _table(
        ["target", "readings", "days", "cold build s", "dbt elapsed s", "warehouse MB", "fct_reading rows"],
        [
            [
                b.get("target", "dev"),
                _n(b["readings"]),
                b["days"],
                f"{b['cold_build_s']:.1f}",
                f"{b['timings']['elapsed_s']:.1f}",
                f"{b['warehouse_mb']:.1f}",
                _n(b["fct_reading_rows"]),
            ]
            for b in builds
        ],
    )
    for build in builds:
        out += [f"- {build.get('target', 'dev')}, {build['readings']:,} readings, cold: {_timings(build['timings'])}"]
    out += [""]
    readers = dbt.get("readers")
    if readers:
        out += [
            "An analyst (another process: connect read-only, count `marts.fct_reading`, every 0.2 s)"
            " during a full build:",
            "",
        ]
        out += _table(
            ["target", "build s", "probes", "failed", "median ms", "p95 ms", "first error"],
            [
                [
                    target,
                    f"{r['build_s']:.1f}" if r["build_s"] else _build_failure(r["build_error"]),
                    r["probes"],
                    r["errors"],
                    f"{r['median_ms']:.0f}" if r["median_ms"] is not None else "-",
                    f"{r['p95_ms']:.0f}" if r["p95_ms"] is not None else "-",
                    f"`{r['first_error']}`" if r["first_error"] else "",
                ]
                for target, r in readers.items()
            ],
        )
    startup = dbt.get("startup")
    if startup:
        out += ["dbt's fixed cost per invocation (lake target, seconds, each measured alone):", ""]
        out += _table(["what", "s"], [[k, f"{v:.2f}"] for k, v in startup.items()])
    inc = dbt["incremental"]
    out += [SECTIONS[5], "", f"dbt on {_n(inc['readings'])} readings over {inc['landed_days']} days.", ""]
    rows = []
    if ex is not None:
        rerun, cold = ex["ours_rerun"], ex["contenders"]["ours"]["runs"][0]
        rows.append(
            [
                "extraction: re-run of the same partition, nothing new",
                f"{rerun['wall_s']:.2f}",
                f"{cold['wall_s']:.2f}",
                f"{rerun['wall_s'] / cold['wall_s']:.0%}",
            ]
        )
    if "skipped" in inc:
        rows.append(["dbt: re-run and scheduled day", "skipped", "-", inc["skipped"]])
    else:
        cold_s = inc["cold_build_s"]
        day = inc["landed_days"] + 1
        rows += [
            [
                f"dbt: scheduled day {day} (facts step: incremental models, window-scoped tests)",
                f"{inc['daily_build_s']:.1f}",
                f"{cold_s:.1f}",
                f"{inc['daily_fraction_of_cold']:.0%}",
            ],
            [
                f"dbt: day {day} re-landed, same answers: fingerprints compared, dbt not run"
                + ("" if inc["rerun_recognised_unchanged"] else " (NOT recognised: dbt ran)"),
                f"{inc['rerun_no_change_s']:.2f}",
                f"{cold_s:.1f}",
                f"{inc['rerun_fraction_of_cold']:.1%}",
            ],
            [
                f"dbt: day {day} rebuilt anyway (what the re-run cost before)",
                f"{inc['rerun_forced_s']:.1f}",
                f"{cold_s:.1f}",
                f"{inc['rerun_forced_s'] / cold_s:.0%}",
            ],
        ]
        if "plainfile_daily_build_s" in inc:
            plain_cold = next(b["cold_build_s"] for b in dbt["plainfile_builds"] if b["readings"] == inc["readings"])
            rows.append(
                [
                    f"plain file: scheduled day {day}",
                    f"{inc['plainfile_daily_build_s']:.1f}",
                    f"{plain_cold:.1f}",
                    f"{inc['plainfile_daily_build_s'] / plain_cold:.0%}",
                ]
            )
    out += _table(["run", "seconds", "cold seconds", "fraction of cold"], rows)
    if "daily_timings" in inc:
        out += [f"- scheduled day: {_timings(inc['daily_timings'])}", ""]
    history = dbt.get("history")
    if history:
        out += ["The scheduled day as history grows (lake, one new day on N landed and built days):", ""]
        out += _table(
            ["landed days", "readings", "day's rows", "cold build s", "scheduled day s", "dbt elapsed s"],
            [
                [
                    h["landed_days"],
                    _n(h["readings"]),
                    _n(h["day_rows"]),
                    f"{h['cold_build_s']:.1f}",
                    f"{h['daily_build_s']:.1f}",
                    f"{h['daily_timings']['elapsed_s']:.1f}",
                ]
                for h in history
            ],
        )
    return out


def main() -> None:
    source = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).with_name("results.json"))
    results = json.loads(source.read_text())
    profile = source.with_name(results["profile_file"]) if results.get("profile_file") else None
    source.with_name("results.md").write_text(render(results, profile))


if __name__ == "__main__":
    main()
