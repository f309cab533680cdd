"""`make chaos`: kill -9 the pipeline at random instants under injected faults, re-run, compare.

python -m pipelines.chaos [--seeds 2] [--days 2] [--vendor baxo ...] [--kills 4] [--mode swap ...]
                          [--fault-rate 0.1] [--workdir DIR]

A clean reference run lands every chosen vendor's days and builds the marts against fault-free
simulators. Then, for each seed, simulators that fail a share of requests (500/502/503, 429,
slow, truncated, dropped) serve a chain of runs, each killed with SIGKILL (its whole process
group, dbt included) at an instant the seed draws:

- `extraction`: a random delay within the reference run's extraction;
- `swap`: the Nth partition swap, between the renames (or right after the new partition is in);
- `cursor`: the Nth cursor update, after its rows landed and before the cursor is written;
- `dbt`: a random delay within the reference run's dbt steps.

A last run of the same work goes uninterrupted; its landed rows (landing and quarantine, without
`_extracted_at`) and every mart (without `extracted_at`) must equal the reference's, row for row:
rows lost and extra rows (duplicates) must both be 0. Every run is `python -m pipelines.run`, the
`make run` entry, in its own process; the simulators run here, so their fault counts survive the
kills, with the clock pinned as `make run` pins it so that every run is served the same data.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipelines import run
from pipelines.lake import attach_statement, catalog_path, connect
from pipelines.settings import PROJECT_ROOT
from pipelines.simulation.faults import FAULT_KINDS, FaultConfig
from pipelines.simulation.registry import all_specs
from pipelines.vendors import VENDORS

KILL_MODES = ("extraction", "swap", "cursor", "dbt")
# Set in a run's environment: where it appends its swap and cursor events, and which one kills it.
EVENTS_ENV = "PIPELINES_CHAOS_EVENTS"
KILL_AT_ENV = "PIPELINES_CHAOS_KILL_AT"
# Stamps that differ between two runs of the same work by design.
LANDED_STAMP = "_extracted_at"
MART_STAMP = "extracted_at"
# Columns holding the moment of the run itself (the window a snapshot asked the service about,
# when it was taken): two runs of the same work minutes apart differ there by design, by dataset
# or mart. Bagtower's `previous*` statistics cover the period of the window's length before it,
# so they move with the window's end too: an issue starting or ending inside the minutes between
# two runs, a month back, changes them.
RUN_MOMENT_COLUMNS = {
    "issue_statistics": ("window_start", "window_end", "previous_value"),
    "fct_issue_statistics": (
        "window_start",
        "window_end",
        "previous_issue_count",
        "previous_cost",
        "previous_duration_s",
    ),
    "fct_uptime": ("period_start", "period_end", "measured_at"),
}
RUN_TIMEOUT_S = 1800  # a hung run is killed and fails its seed


# -- inside a run: events and self-kills ---------------------------------------------------------
def _event(kind: str) -> None:
    """Record a swap or cursor event; SIGKILL the run's process group if it is the one chosen."""
    path = os.environ.get(EVENTS_ENV)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as events:
        events.write(f"{kind}\n")
    target_kind, _, nth = os.environ.get(KILL_AT_ENV, "").partition(":")
    if target_kind == kind and nth and _count(path, kind) == int(nth):
        with open(path, "a", encoding="utf-8") as events:
            events.write(f"killed:{kind}\n")
        os.killpg(os.getpgrp(), signal.SIGKILL)


def _count(path: str, kind: str) -> int:
    return Path(path).read_text(encoding="utf-8").splitlines().count(kind)


def _install_kill_points() -> None:
    """Wrap the two file operations that commit a run's work, so a kill can land exactly there.

    The wrapped operations still happen for real: a partition swap is `rename(final -> .old-…)`
    then `rename(.tmp-… -> final)` (pipelines/landing.py), a cursor update `replace(tmp -> cursor)`
    (pipelines/cursors.py). A kill after the first rename leaves the partition missing with its
    old copy aside; after the second, landing swapped and quarantine not yet; before the
    replace, rows landed with the cursor behind them.
    """
    rename, replace = Path.rename, Path.replace

    def chaos_rename(self: Path, target: Any) -> Path:
        moved = rename(self, target)
        if self.parent.parent.parent.name in ("landing", "quarantine"):  # <zone>/<vendor>/<dataset>/
            _event("swap")
        return moved

    def chaos_replace(self: Path, target: Any) -> Path:
        if Path(target).parent.parent.name == "cursors":
            _event("cursor")
        return replace(self, target)

    Path.rename = chaos_rename  # type: ignore[method-assign,assignment]
    Path.replace = chaos_replace  # type: ignore[method-assign,assignment]


def run_child(args: Sequence[str]) -> None:
    """`python -m pipelines.chaos child <pipelines.run arguments>`: `make run` with kill points."""
    _install_kill_points()
    sys.argv = ["pipelines.run", *args]
    run.main()


# -- one run, killed or not -----------------------------------------------------------------------
@dataclass
class Workspace:
    """One run's data directory and Dagster home; a chain of runs shares them."""

    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def events(self) -> Path:
        return self.root / "events.log"

    def prepare(self) -> Workspace:
        self.data.mkdir(parents=True, exist_ok=True)
        (self.root / "dagster_home").mkdir(exist_ok=True)
        (self.root / "dagster_home" / "dagster.yaml").write_text(run.DAGSTER_TELEMETRY_OFF)
        return self

    def env(self, kill_at: str | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in (run.PORT_BASE_ENV, KILL_AT_ENV)}
        env.update(
            PIPELINES_DATA_DIR=str(self.data),
            DAGSTER_HOME=str(self.root / "dagster_home"),
            DBT_SEND_ANONYMOUS_USAGE_STATS="false",
            **{EVENTS_ENV: str(self.events)},
        )
        if kill_at:
            env[KILL_AT_ENV] = kill_at
        return env

    def event_counts(self) -> Counter[str]:
        return Counter(self.events.read_text().splitlines()) if self.events.exists() else Counter()


@dataclass
class RunOutcome:
    returncode: int
    seconds: float
    output: list[tuple[float, str]]  # (seconds since start, text) as the run printed it
    killed_in: str | None = None  # the phase a kill landed in, None when the run was not killed

    @property
    def text(self) -> str:
        return "".join(chunk for _, chunk in self.output)

    def marker_at(self, marker: str) -> float | None:
        """Seconds from start until the run printed `marker` (e.g. `dbt models:`)."""
        seen = ""
        for at, chunk in self.output:
            seen += chunk
            if marker in seen:
                return at
        return None


def _phase(printed: str) -> str:
    """Where a run was, from its terminal lines: `make run` prints each step as it starts."""
    if "dbt " in printed:
        return "dbt"
    return "extraction" if "snapshots:" in printed else "startup"


def launch(
    space: Workspace, run_args: Sequence[str], kill_at: str | None = None, kill_after_s: float | None = None
) -> RunOutcome:
    """Run the pipeline in its own process group; SIGKILL the group after `kill_after_s`."""
    command = [sys.executable, "-m", "pipelines.chaos", "child", *run_args]
    space.events.unlink(missing_ok=True)  # a kill point counts this run's events only
    start = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=space.env(kill_at),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the kill takes dbt with it
    )
    output: list[tuple[float, str]] = []
    reader = threading.Thread(target=_read_into, args=(process, output, start), daemon=True)
    reader.start()
    killed_in = None
    try:
        process.wait(timeout=kill_after_s if kill_after_s is not None else RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        killed_in = _phase("".join(chunk for _, chunk in output))
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    reader.join(timeout=10)
    if killed_in is None and process.returncode == -signal.SIGKILL:
        killed_in = _killed_by_event(space)
    return RunOutcome(process.returncode, time.monotonic() - start, output, killed_in)


def _read_into(process: subprocess.Popen[bytes], output: list[tuple[float, str]], start: float) -> None:
    assert process.stdout is not None
    fd = process.stdout.fileno()
    for chunk in iter(lambda: os.read(fd, 4096), b""):  # as printed, not line by line: steps end lines late
        output.append((time.monotonic() - start, chunk.decode(errors="replace")))


def _killed_by_event(space: Workspace) -> str:
    """The kill point a run hit itself (the last `killed:<kind>` line of its events)."""
    killed = [line for line in space.events.read_text().splitlines() if line.startswith("killed:")]
    return killed[-1].removeprefix("killed:") if killed else "unknown"


# -- simulators -----------------------------------------------------------------------------------
def free_port_base(count: int = len(VENDORS)) -> int:
    """A port from which `count` consecutive ports are free on 127.0.0.1 (for the simulators)."""
    rng = random.Random()
    for _ in range(100):
        base = rng.randrange(20_000, 60_000)
        with ExitStack() as held:
            try:
                for port in range(base, base + count):
                    sock = held.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return base
    raise RuntimeError(f"no {count} consecutive free ports found")


@contextmanager
def simulators(clock: datetime, port_base: int, faults: dict[str, FaultConfig] | None = None) -> Iterator[None]:
    """Every vendor's simulator in this process, as `make run` starts them, its settings in
    `os.environ` for the runs to inherit (a run then starts none of its own).

    Every set listens on the same ports: some answers carry their own address (DSMR's meters
    name their base URL), and they must not differ between the reference and a chaos run.
    """
    settings = {name for spec in all_specs() for name in spec.default_env} | {run.PORT_BASE_ENV}
    saved = {name: os.environ.pop(name) for name in list(os.environ) if name in settings}
    with ExitStack() as stack, open(os.devnull, "w") as quiet:
        try:
            os.environ[run.PORT_BASE_ENV] = str(port_base)
            run._use_simulators(stack, quiet, clock=clock, faults=faults)
            # uvicorn logs each connection a `drop`/`truncate` fault aborts: noise between the table's
            # lines. Set after the servers start: each uvicorn config resets its loggers' levels.
            logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)
            yield
        finally:
            for name in settings:
                os.environ.pop(name, None)
            os.environ.update(saved)


def fault_configs(seed: int, rate: float) -> dict[str, FaultConfig]:
    """Transport faults for every vendor, each simulator with its own seeded stream."""
    return {
        vendor: FaultConfig(rate=rate, kinds=FAULT_KINDS, seed=seed * 100 + index, slow_s=1.0)
        for index, vendor in enumerate(VENDORS)
    }


# -- comparing with the reference -----------------------------------------------------------------
@dataclass
class Difference:
    lost: int = 0  # rows the reference has and the chaos run lacks
    extra: int = 0  # rows beyond the reference's: second copies, or rows it does not have
    where: list[str] = field(default_factory=list)  # the datasets and marts that differ

    def add(self, name: str, lost: int, extra: int) -> None:
        self.lost += lost
        self.extra += extra
        if lost or extra:
            self.where.append(f"{name} (lost {lost}, extra {extra})")


def landed_rows(data: Path) -> pl.DataFrame:
    """Every landed and quarantined row as JSON text, by partition folder, without the stamp."""
    frames = [pl.DataFrame(schema={"partition": pl.String, "row": pl.String})]
    for zone in ("landing", "quarantine"):
        for part in sorted((data / zone).glob("*/*/date=*/*.parquet")):
            dataset = part.relative_to(data).parts[2]  # <zone>/<vendor>/<dataset>/date=.../part
            frame = pl.read_parquet(part).drop(LANDED_STAMP, *RUN_MOMENT_COLUMNS.get(dataset, ()), strict=False)
            partition = "/".join(part.relative_to(data).parts[:4])
            rows = frame.select(pl.struct(pl.all()).struct.json_encode().alias("row"))
            frames.append(rows.select(pl.lit(partition).alias("partition"), "row"))
    return pl.concat(frames)


def compare_landed(reference: Path, chaos: Path, difference: Difference) -> None:
    counts = [
        landed_rows(d).group_by("partition", "row").agg(pl.len().cast(pl.Int64).alias(name))  # signed: differences
        for d, name in ((reference, "ref"), (chaos, "run"))
    ]
    joined = counts[0].join(counts[1], on=["partition", "row"], how="full", coalesce=True).fill_null(0)
    by_partition = joined.group_by("partition").agg(
        lost=(pl.col("ref") - pl.col("run")).clip(lower_bound=0).sum(),
        extra=(pl.col("run") - pl.col("ref")).clip(lower_bound=0).sum(),
    )
    for partition, lost, extra in by_partition.sort("partition").iter_rows():
        difference.add(partition, lost, extra)


def _mart_columns(con: duckdb.DuckDBPyConnection, database: str, mart: str) -> list[str]:
    rows = con.execute(
        "select column_name from duckdb_columns() where database_name = ? and schema_name = 'marts' "
        "and table_name = ? order by column_index",
        [database, mart],
    ).fetchall()
    return [name for (name,) in rows]


def _mart_select(database: str, mart: str, columns: list[str]) -> str:
    """The mart without its extraction stamp, also inside the JSON of warehouse-held duplicates."""
    expressions = []
    for column in columns:
        if column == MART_STAMP or column in RUN_MOMENT_COLUMNS.get(mart, ()):
            continue
        if column == "record":
            expressions.append(f"""regexp_replace(record, '"{MART_STAMP}":"[^"]*",?', '', 'g') as record""")
        else:
            expressions.append(f'"{column}"')
    return f"select {', '.join(expressions)} from {database}.marts.{mart}"


def compare_marts(reference: Path, chaos: Path, difference: Difference) -> None:
    """Every mart, `except all` both ways (multiplicity counts); a mart missing loses every row."""
    with connect(read_only=True, root=chaos) as con:
        con.execute(attach_statement(True, reference, alias="reference"))
        for mart in run.MARTS:
            expected = _mart_columns(con, "reference", mart)
            columns = _mart_columns(con, "lake", mart)
            ref_sql = _mart_select("reference", mart, expected)
            if columns != expected:
                (count,) = con.execute(f"select count(*) from ({ref_sql})").fetchone() or (0,)
                difference.add(f"mart {mart} (missing or other columns)", count, 0)
                continue
            run_sql = _mart_select("lake", mart, columns)
            lost = _count_rows(con, f"{ref_sql} except all {run_sql}")
            extra = _count_rows(con, f"{run_sql} except all {ref_sql}")
            difference.add(f"mart {mart}", lost, extra)


def _count_rows(con: duckdb.DuckDBPyConnection, query: str) -> int:
    row = con.execute(f"select count(*) from ({query})").fetchone()
    return int(row[0]) if row else 0


def compare(reference: Path, chaos: Path) -> Difference:
    difference = Difference()
    compare_landed(reference, chaos, difference)
    if not catalog_path(chaos).exists():
        difference.add("warehouse (not built)", 1, 0)
        return difference
    compare_marts(reference, chaos, difference)
    return difference


# -- the suite ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scale:
    vendors: tuple[str, ...] = VENDORS
    days: int = 2
    seeds: tuple[int, ...] = (1, 2)
    kills: int = 4  # killed runs per seed, before the run that must recover
    fault_rate: float = 0.1
    modes: tuple[str, ...] = KILL_MODES

    @property
    def run_args(self) -> list[str]:
        return ["--days", str(self.days), *(arg for v in self.vendors for arg in ("--vendor", v))]


@dataclass
class Reference:
    data: Path
    outcome: RunOutcome
    events: Counter[str]

    def window(self, mode: str) -> tuple[float, float]:
        """When extraction, or dbt, ran in the reference run (seconds from its start)."""
        extraction = self.outcome.marker_at("snapshots:") or 0.0
        dbt = self.outcome.marker_at("dbt models:") or self.outcome.seconds
        return (extraction, dbt) if mode == "extraction" else (dbt, self.outcome.seconds)


@dataclass
class SeedResult:
    seed: int
    faults: int = 0
    kills: list[str] = field(default_factory=list)  # the phase of each kill that landed
    missed: int = 0  # kills drawn that came after the run had ended
    recovered: int = 0  # runs that started on a killed run's leftovers and ended with success
    final_returncode: int | None = None
    difference: Difference = field(default_factory=Difference)

    @property
    def ok(self) -> bool:
        return self.final_returncode == 0 and not self.difference.lost and not self.difference.extra


def reference_run(root: Path, scale: Scale, clock: datetime, port_base: int) -> Reference:
    space = Workspace(root / "reference").prepare()
    with simulators(clock, port_base):
        outcome = launch(space, scale.run_args)
    if outcome.returncode != 0:
        raise RuntimeError(f"the clean reference run failed (exit {outcome.returncode}):\n{outcome.text[-3000:]}")
    return Reference(space.data, outcome, space.event_counts())


def kill_plan(rng: random.Random, scale: Scale, reference: Reference) -> list[tuple[str | None, float | None]]:
    """(kill point, delay) per killed run: a swap/cursor event number, or a delay in a window."""
    modes = [m for m in scale.modes if m not in ("swap", "cursor") or reference.events[m]]
    drawn = rng.sample(modes, len(modes))
    drawn += [rng.choice(modes) for _ in range(scale.kills - len(drawn))]
    plan: list[tuple[str | None, float | None]] = []
    for mode in drawn[: scale.kills]:
        if mode in ("swap", "cursor"):
            plan.append((f"{mode}:{rng.randint(1, reference.events[mode])}", None))
        else:
            plan.append((None, rng.uniform(*reference.window(mode))))
    return plan


def chaos_seed(
    root: Path, scale: Scale, clock: datetime, port_base: int, reference: Reference, seed: int
) -> SeedResult:
    result = SeedResult(seed)
    space = Workspace(root / f"seed-{seed}").prepare()
    faults = fault_configs(seed, scale.fault_rate)
    killed_before = False
    with simulators(clock, port_base, faults):
        for kill_at, delay in kill_plan(random.Random(seed), scale, reference):
            outcome = launch(space, scale.run_args, kill_at=kill_at, kill_after_s=delay)
            result.recovered += killed_before and outcome.returncode == 0
            if outcome.killed_in is None:
                result.missed += 1
            else:
                result.kills.append(outcome.killed_in)
            killed_before = outcome.killed_in is not None
        # A transport fault can outlast a run's retries; an operator re-runs, so does this.
        for _ in range(2):
            outcome = launch(space, scale.run_args)
            if outcome.returncode == 0:
                break
        result.recovered += killed_before and outcome.returncode == 0
        result.final_returncode = outcome.returncode
    result.faults = sum(sum(config.injected.values()) for config in faults.values())
    result.difference = compare(reference.data, space.data)
    return result


def run_suite(scale: Scale, root: Path, report: Callable[[str], None] = print) -> list[SeedResult]:
    clock = run._as_of()
    day = datetime.now(UTC).date()
    started = time.monotonic()
    port_base = free_port_base()
    reference = reference_run(root, scale, clock, port_base)
    report(f"reference run: {reference.outcome.seconds:.0f} s, events {dict(reference.events)}")
    results = []
    for seed in scale.seeds:
        results.append(chaos_seed(root, scale, clock, port_base, reference, seed))
        report(format_row(results[-1]))
    if datetime.now(UTC).date() != day:
        raise RuntimeError("the UTC day changed during the suite: its runs cover other days; run it again")
    report(f"{len(results)} seeds in {time.monotonic() - started:.0f} s")
    return results


COLUMNS = ("seed", "faults injected", "kills", "killed in", "runs recovered", "rows lost", "duplicates", "final run")


def row_cells(result: SeedResult) -> list[str]:
    final = "ok" if result.final_returncode == 0 else f"exit {result.final_returncode}"
    cells = [result.seed, result.faults, len(result.kills), ",".join(result.kills) or "-", result.recovered]
    return [str(cell) for cell in (*cells, result.difference.lost, result.difference.extra, final)]


def format_row(result: SeedResult) -> str:
    """One seed as `column: value` pairs, printed as soon as the seed is done."""
    return "; ".join(f"{name} {cell}" for name, cell in zip(COLUMNS, row_cells(result), strict=True))


def print_table(results: list[SeedResult]) -> None:
    """The table, and under a seed that differs one line per partition or mart that does."""
    rows = [row_cells(result) for result in results]
    widths = [max(len(name), *(len(row[i]) for row in rows)) for i, name in enumerate(COLUMNS)]
    print(" | ".join(name.rjust(width) for name, width in zip(COLUMNS, widths, strict=True)))
    for result, row in zip(results, rows, strict=True):
        print(" | ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))
        for where in result.difference.where:
            print(f"    differs: {where}")
    if any(result.missed for result in results):
        print(f"kills drawn after their run had ended (not counted): {sum(r.missed for r in results)}")


def main() -> None:
    if sys.argv[1:2] == ["child"]:
        run_child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=2, help="seeds 1..N, one chain of killed runs each")
    parser.add_argument("--days", type=int, default=2, help="daily partitions, ending yesterday")
    parser.add_argument("--vendor", action="append", choices=VENDORS, help="default: every vendor")
    parser.add_argument("--kills", type=int, default=4, help="killed runs per seed before the recovering run")
    parser.add_argument("--mode", action="append", choices=KILL_MODES, help="kill points to draw from (default: all)")
    parser.add_argument("--fault-rate", type=float, default=0.1, help="share of requests that meet a fault")
    parser.add_argument("--workdir", type=Path, help="keep every run's data here (default: a temporary folder)")
    args = parser.parse_args()
    seeds = tuple(range(1, args.seeds + 1))
    modes = tuple(args.mode or KILL_MODES)
    scale = Scale(tuple(args.vendor or VENDORS), args.days, seeds, args.kills, args.fault_rate, modes)
    with ExitStack() as stack:
        root = args.workdir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="chaos-")))
        results = run_suite(scale, root)
    print_table(results)
    sys.exit(0 if all(r.ok for r in results) else 1)


if __name__ == "__main__":
    main()
