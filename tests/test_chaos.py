"""The chaos suite's seeded slice (`make chaos` runs the whole of it): Bagtower, one day, one seed.

Each run is `make run`'s entry in its own process group against simulators that fail a share of
requests; two runs are killed with SIGKILL, one between the renames of a partition swap (or just
after one) and one as an issues cursor is about to move past rows that have landed; then a
re-run of the same work must land exactly the rows of a clean run and build the same marts.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from pipelines.chaos import Difference, Scale, SeedResult, compare, compare_landed, run_suite
from pipelines.lake import connect


def _rows(part: Path) -> int:
    return pl.scan_parquet(part).select(pl.len()).collect().item()


def _partition(part: Path, data: Path) -> str:
    return part.parent.relative_to(data).as_posix()


SCALE = Scale(vendors=("bagtower",), days=1, seeds=(7,), kills=2, fault_rate=0.1, modes=("swap", "cursor"))


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SeedResult]:
    root = tmp_path_factory.mktemp("chaos")
    (result,) = run_suite(SCALE, root, report=lambda _: None)
    return root, result


def test_killed_runs_recover_with_no_row_lost_or_duplicated(suite: tuple[Path, SeedResult]) -> None:
    _, result = suite
    assert result.faults > 0, "the simulators injected no fault"
    assert sorted(result.kills) == ["cursor", "swap"], "each planned kill must land while its run is busy"
    assert result.final_returncode == 0
    assert result.recovered >= 1
    assert (result.difference.lost, result.difference.extra) == (0, 0), result.difference.where


def test_the_comparison_counts_a_lost_and_a_repeated_landed_row(suite: tuple[Path, SeedResult], tmp_path: Path) -> None:
    """Without this the suite's zeros could come from a comparison that sees nothing."""
    root, _ = suite
    data = tmp_path / "data"
    shutil.copytree(root / "seed-7" / "data" / "landing", data / "landing")
    shutil.copytree(root / "seed-7" / "data" / "quarantine", data / "quarantine")
    parts = sorted(p for p in (data / "landing" / "bagtower").glob("*/date=2*/*.parquet") if _rows(p))
    repeated = parts[0]
    removed = next(p for p in parts if p.parent != repeated.parent)
    shutil.copy(repeated, repeated.with_name("part-99999.parquet"))
    removed_rows = _rows(removed)
    removed.unlink()

    difference = Difference()
    compare_landed(root / "reference" / "data", data, difference)

    assert (difference.lost, difference.extra) == (removed_rows, _rows(repeated))
    assert sorted(difference.where) == sorted(
        [
            f"{_partition(removed, data)} (lost {removed_rows}, extra 0)",
            f"{_partition(repeated, data)} (lost 0, extra {_rows(repeated)})",
        ]
    )


def test_the_comparison_counts_a_row_missing_from_a_mart(suite: tuple[Path, SeedResult]) -> None:
    """Runs last in this module: it deletes from the seed's warehouse."""
    root, _ = suite
    chaos = root / "seed-7" / "data"
    with connect(read_only=False, root=chaos) as con:
        key = con.execute(
            "select device_key, metric, aggregation, measured_at from marts.fct_reading limit 1"
        ).fetchone()
        assert key is not None
        con.execute(
            "delete from marts.fct_reading where device_key = ? and metric = ? and aggregation = ? and measured_at = ?",
            list(key),
        )

    difference = compare(root / "reference" / "data", chaos)

    assert difference.lost == 1 and difference.extra == 0
    assert difference.where == ["mart fct_reading (lost 1, extra 0)"]
