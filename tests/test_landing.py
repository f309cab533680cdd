"""Shared landing machinery: atomic partition swap, quarantine split, cursors."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pandera.polars as pa
import polars as pl
import pytest

from pipelines import landing
from pipelines.cursors import read_cursor, write_cursor
from pipelines.landing import STALE_LEFTOVER_S, PartitionWriter, land_frame, recover_interrupted_swaps


class Reading(pa.DataFrameModel):
    name: str = pa.Field(nullable=False)
    value: float = pa.Field(ge=0)

    class Config:
        strict = True
        coerce = True


class Device(pa.DataFrameModel):
    device_id: str = pa.Field(nullable=False, unique=True)
    name: str = pa.Field(nullable=True)

    class Config:
        strict = True
        coerce = True


@pytest.fixture(autouse=True)
def registry_restored() -> Iterator[None]:
    """The test datasets registered here must not reach other tests' schema-only partitions."""
    saved = dict(landing._DATASETS)
    yield
    landing._DATASETS.clear()
    landing._DATASETS.update(saved)


def read(data_dir: Path, zone: str) -> pl.DataFrame:
    return pl.read_parquet(data_dir / zone / "v" / "d" / "date=2026-01-01" / "*.parquet")


def test_rerun_replaces_partition_and_splits_quarantine(data_dir: Path) -> None:
    frame = pl.DataFrame({"name": ["a", "b", None], "value": [1.0, -2.0, 3.0]})
    first = land_frame("v", "d", "2026-01-01", frame, Reading, "endpoint")
    assert (first.landed_rows, first.quarantined_rows) == (1, 2)
    land_frame("v", "d", "2026-01-01", frame, Reading, "endpoint")
    assert read(data_dir, "landing").select("name", "value").rows() == [("a", 1.0)]
    quarantined = read(data_dir, "quarantine").sort("reason")
    assert quarantined["reason"].to_list() == [
        "Reading: name failed not_nullable",
        "Reading: value failed greater_than_or_equal_to(0)",
    ]
    assert set(quarantined["_source"]) == {"endpoint"}


def test_the_fingerprint_follows_the_content_not_the_moment_the_order_or_the_batching(data_dir: Path) -> None:
    frame = pl.DataFrame({"name": ["a", "b", "c", None], "value": [1.0, 2.0, 3.0, 4.0]})
    first = land_frame("v", "d", "2026-01-01", frame, Reading, "endpoint")
    folder = data_dir / "landing" / "v" / "d" / "date=2026-01-01"
    assert landing.read_fingerprint(folder) == first.fingerprint
    assert first.fingerprint.startswith("3+1:")  # landed + quarantined rows
    with PartitionWriter("v", "d", "2026-01-01", Reading, "endpoint", batch_rows=1) as writer:
        for row in reversed(range(frame.height)):  # other pages, other order, another _extracted_at
            writer.write(frame.slice(row, 1))
    assert writer.result.fingerprint == first.fingerprint
    changed = land_frame("v", "d", "2026-01-01", frame.with_columns(value=pl.col("value") * 2), Reading, "endpoint")
    assert changed.fingerprint != first.fingerprint
    assert landing.read_fingerprint(folder) == changed.fingerprint
    # The dbt sources read `*.parquet` only: the fingerprint file is not a part.
    assert read(data_dir, "landing").height == 3


def test_a_repeated_unique_key_lands_its_first_row_and_quarantines_only_the_repeats(data_dir: Path) -> None:
    frame = pl.DataFrame({"device_id": ["a", "b", "a", "a"], "name": ["first", "other", "second", "third"]})
    result = land_frame("v", "d", "2026-01-01", frame, Device, "devices")
    assert (result.landed_rows, result.quarantined_rows) == (2, 2)
    assert read(data_dir, "landing").select("device_id", "name").sort("device_id").rows() == [
        ("a", "first"),
        ("b", "other"),
    ]
    quarantined = read(data_dir, "quarantine")
    assert set(quarantined["reason"]) == {"Device: repeats the device_id of an earlier row"}
    assert sorted(quarantined["record"]) == [
        '{"device_id":"a","name":"second"}',
        '{"device_id":"a","name":"third"}',
    ]


def test_crash_mid_partition_keeps_the_old_partition(data_dir: Path) -> None:
    land_frame("v", "d", "2026-01-01", pl.DataFrame({"name": ["old"], "value": [1.0]}), Reading, "e")
    with pytest.raises(RuntimeError), PartitionWriter("v", "d", "2026-01-01", Reading, "e") as writer:
        writer.write(pl.DataFrame({"name": ["new"], "value": [2.0]}))
        raise RuntimeError("connection lost on page 2")
    assert read(data_dir, "landing")["name"].to_list() == ["old"]
    assert sorted(p.name for p in (data_dir / "landing" / "v" / "d").iterdir()) == ["date=2026-01-01"]


def test_pages_are_validated_in_batches_with_the_same_rows_as_page_by_page(data_dir: Path) -> None:
    pages = [
        pl.DataFrame({"name": ["a", "b"], "value": [1.0, 2.0]}),
        pl.DataFrame({"name": ["c", None], "value": [3.0, 4.0]}),
        pl.DataFrame({"name": ["e", "f"], "value": [5.0, -6.0]}),
    ]
    with PartitionWriter("v", "d", "2026-01-01", Reading, "e", batch_rows=4) as writer:
        for page in pages:
            writer.write(page)
    assert (writer.result.landed_rows, writer.result.quarantined_rows, writer.result.parts) == (4, 2, 2)
    assert read(data_dir, "landing").sort("name")["name"].to_list() == ["a", "b", "c", "e"]
    quarantined = read(data_dir, "quarantine").sort("reason")
    assert quarantined["record"].to_list() == ['{"name":null,"value":4.0}', '{"name":"f","value":-6.0}']


def test_a_page_wide_failure_in_a_batch_condemns_its_own_page_only(data_dir: Path) -> None:
    with PartitionWriter("v", "d", "2026-01-01", Reading, "e") as writer:
        writer.write(pl.DataFrame({"name": ["a"], "value": ["1.5"]}))
        writer.write(pl.DataFrame({"name": ["b"], "value": ["not a number"]}))  # fails coercion: whole page
    assert read(data_dir, "landing")["name"].to_list() == ["a"]
    (reason,) = read(data_dir, "quarantine")["reason"].to_list()
    assert reason.startswith("schema Reading: value")


def test_empty_partition_still_carries_the_schema(data_dir: Path) -> None:
    result = land_frame("v", "d", "2026-01-01", Reading.empty(), Reading, "e")
    assert result.landed_rows == 0
    assert read(data_dir, "landing").columns == ["name", "value", "_extracted_at", "_source"]


def test_cursor_round_trip(data_dir: Path) -> None:
    assert read_cursor("v", "s") is None
    write_cursor("v", "s", {"last": "2026-01-01T00:00:00Z"})
    assert read_cursor("v", "s") == {"last": "2026-01-01T00:00:00Z"}


def test_schema_only_partition_for_datasets_not_landed_yet(data_dir: Path) -> None:
    from pipelines.landing import SCHEMA_ONLY_PARTITION, ensure_schema_partitions, register_dataset

    register_dataset("v", "d", Reading)
    land_frame("v", "landed", "2026-01-01", pl.DataFrame({"name": ["a"], "value": [1.0]}), Reading, "e")
    written = ensure_schema_partitions()
    assert str(data_dir / "landing" / "v" / "d" / SCHEMA_ONLY_PARTITION) in written
    assert str(data_dir / "landing" / "v" / "landed" / SCHEMA_ONLY_PARTITION) not in written
    empty = pl.read_parquet(data_dir / "landing" / "v" / "d" / SCHEMA_ONLY_PARTITION / "*.parquet")
    assert empty.height == 0 and empty.columns == ["name", "value", "_extracted_at", "_source"]
    assert ensure_schema_partitions() == []  # idempotent


def _crash_between_the_renames(data_dir: Path) -> Path:
    """What a kill -9 between the swap's two renames leaves: the old partition under `.old-…`,
    the new one complete under `.tmp-…`, no partition at its place."""
    folder = data_dir / "landing" / "v" / "d"
    final = folder / "date=2026-01-01"
    final.rename(folder / ".old-.tmp-date=2026-01-01-0123456789ab")
    (folder / ".tmp-date=2026-01-01-0123456789ab").mkdir()
    return final


def test_a_crash_between_the_swap_renames_is_recovered_before_dbt_reads(data_dir: Path) -> None:
    land_frame("v", "d", "2026-01-01", pl.DataFrame({"name": ["old"], "value": [1.0]}), Reading, "e")
    final = _crash_between_the_renames(data_dir)
    assert not final.exists()
    assert recover_interrupted_swaps() == [final]
    assert read(data_dir, "landing")["name"].to_list() == ["old"]


def test_a_rerun_after_a_crash_restores_then_replaces_and_clears_stale_leftovers(data_dir: Path) -> None:
    land_frame("v", "d", "2026-01-01", pl.DataFrame({"name": ["old"], "value": [1.0]}), Reading, "e")
    _crash_between_the_renames(data_dir)
    folder = data_dir / "landing" / "v" / "d"
    stale = time.time() - STALE_LEFTOVER_S - 60
    for leftover in folder.glob(".tmp-*"):
        os.utime(leftover, (stale, stale))
    with PartitionWriter("v", "d", "2026-01-01", Reading, "e") as writer:
        assert read(data_dir, "landing")["name"].to_list() == ["old"], "restored before the new write"
        writer.write(pl.DataFrame({"name": ["new"], "value": [2.0]}))
    assert read(data_dir, "landing")["name"].to_list() == ["new"]
    assert sorted(p.name for p in folder.iterdir()) == ["date=2026-01-01"]
