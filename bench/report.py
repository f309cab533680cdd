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
    return f"dbt elapsed {timings['elapsed_s']:.1f} s; by kind: {kinds}; slowest: {slowest}"


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


def render(results: dict[str, Any], profile: Path | None) -> str:
    m = results["machine"]
    ex, tr, dbt, mem = results["extraction"], results["transforms"], results["dbt"], results["memory"]
    out = [
        f"# Benchmark results ({results['scale']} scale)",
        "",
        f"- date (UTC): {results['date']}",
        f"- machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}",
        f"- load average at start / end: {m['load_average_at_start'][0]:.2f} / {m['load_average_at_end'][0]:.2f}"
        " (other work on the machine makes every number noisy)",
        f"- total: {results['total_s']:.0f} s",
        "",
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
    out += [
        SECTIONS[4],
        "",
        "Landed Parquet generated directly (same schema as PartitionWriter's), then `dbt build`"
        " (every seed, model and test) on a fresh warehouse.",
        "",
    ]
    out += _table(
        ["readings", "days", "cold build s", "warehouse MB", "fct_reading rows"],
        [
            [
                _n(b["readings"]),
                b["days"],
                f"{b['cold_build_s']:.1f}",
                f"{b['warehouse_mb']:.1f}",
                _n(b["fct_reading_rows"]),
            ]
            for b in dbt["builds"]
        ],
    )
    for build in dbt["builds"]:
        if "timings" in build:
            out += [f"- {build['readings']:,} readings, cold: {_timings(build['timings'])}"]
    inc = dbt["incremental"]
    if "daily_timings" in inc:
        out += [f"- scheduled day: {_timings(inc['daily_timings'])}"]
    out += [""]
    rerun = ex["ours_rerun"]
    cold = ex["contenders"]["ours"]["runs"][0]
    inc_rows = [
        [
            "extraction: re-run of the same partition, nothing new",
            f"{rerun['wall_s']:.2f}",
            f"{cold['wall_s']:.2f}",
            f"{rerun['wall_s'] / cold['wall_s']:.0%}",
        ],
    ]
    if "skipped" in inc:
        inc_rows.append(["dbt: re-run and scheduled day", "skipped", "-", inc["skipped"]])
    else:
        inc_rows += [
            [
                "dbt: re-run, same partitions, nothing new",
                f"{inc['rerun_no_change_s']:.1f}",
                f"{inc['cold_build_s']:.1f}",
                f"{inc['rerun_fraction_of_cold']:.0%}",
            ],
            [
                f"dbt: scheduled run adding day {inc['landed_days'] + 1} to {inc['landed_days']} landed days",
                f"{inc['daily_build_s']:.1f}",
                f"{inc['cold_build_s']:.1f}",
                f"{inc['daily_fraction_of_cold']:.0%}",
            ],
            [
                "dbt: a build selecting nothing (dbt's own start-up)",
                f"{inc['dbt_fixed_cost_s']:.1f}",
                f"{inc['cold_build_s']:.1f}",
                f"{inc['dbt_fixed_cost_s'] / inc['cold_build_s']:.0%}",
            ],
        ]
    out += [SECTIONS[5], "", f"dbt rows on {_n(inc['readings'])} readings over {inc['landed_days']} days.", ""]
    out += _table(["run", "seconds", "cold seconds", "fraction of cold"], inc_rows)
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


def main() -> None:
    source = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).with_name("results.json"))
    results = json.loads(source.read_text())
    profile = source.with_name(results["profile_file"]) if results.get("profile_file") else None
    source.with_name("results.md").write_text(render(results, profile))


if __name__ == "__main__":
    main()
