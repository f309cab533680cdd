"""Land validated frames as Parquet, one partition at a time, atomically and idempotently.

A partition is written page by page into hidden temporary folders beside its final place and
swapped in only when the whole partition is complete, so readers never see a partial partition
and a re-run replaces the partition instead of appending to it.

Where partitions are published is a `LandingStore`: the local data directory (folders swapped
in by renames, below) or an object store prefix, `PIPELINES_LANDING_URI=s3://bucket/prefix`
(`pipelines/landing_s3.py`: versioned prefixes named live by a manifest object, since S3 cannot
rename). Every writer and reader of landed partitions goes through `landing_store()`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Protocol

import numpy as np
import pandera.polars as pa
import polars as pl

from pipelines.http import Tally
from pipelines.settings import data_dir, landing_uri
from pipelines.validation import as_quarantine, quarantine_frame, split_valid, unique_keys

# Every dataset a vendor lands, with its schema: lets dbt read a vendor that has landed nothing yet.
_DATASETS: dict[tuple[str, str], type[pa.DataFrameModel]] = {}
SCHEMA_ONLY_PARTITION = "date=none"
STAMP_COLUMNS = ("_extracted_at", "_source")
# A landed partition's content fingerprint, beside its parts (not `*.parquet`: dbt never reads it).
FINGERPRINT_FILE = "_fingerprint"
log = logging.getLogger(__name__)


def register_dataset(vendor: str, dataset: str, schema: type[pa.DataFrameModel]) -> str:
    """Declare a landed dataset (at import of the vendor's assets); returns the dataset name."""
    _DATASETS[(vendor, dataset)] = schema
    return dataset


def ensure_schema_partitions() -> list[str]:
    """Give every registered dataset that has no partition yet an empty, schema-only one.

    dbt sources glob `date=*/*.parquet`, and DuckDB refuses a glob that matches nothing, so a
    vendor that is not configured (or not extracted yet) would break every model. The empty
    `date=none` partition carries the columns and no rows. Returns where they were written.
    """
    store = landing_store()
    store.recover_all()
    written = []
    for (vendor, dataset), schema in sorted(_DATASETS.items(), key=lambda item: item[0]):
        for zone, frame in (("landing", schema.empty()), ("quarantine", quarantine_frame(pl.DataFrame(), ""))):
            if store.partitions(f"{zone}/{vendor}/{dataset}"):
                continue
            staged = store.stage(f"{zone}/{vendor}/{dataset}/{SCHEMA_ONLY_PARTITION}")
            stamped = _stamp(frame, datetime.now(UTC).replace(tzinfo=None), "")
            stamped.write_parquet(staged.folder / "part-00000.parquet")
            store.publish(staged)
            written.append(store.location(staged.key))
    return written


# Columns landing adds to every row (the README's landing layout); readers of a landed
# partition that write it again drop them first.
STAMP_COLUMNS = ("_extracted_at", "_source")


def _stamp(frame: pl.DataFrame, extracted_at: datetime, source: str) -> pl.DataFrame:
    """Every landed row carries when it was extracted and from which endpoint."""
    return frame.with_columns(
        pl.lit(extracted_at, dtype=pl.Datetime("us", "UTC")).alias("_extracted_at"),
        pl.lit(source, dtype=pl.String).alias("_source"),
    )


def partition_key(zone: str, vendor: str, dataset: str, partition_date: str) -> str:
    """`<zone>/<vendor>/<dataset>/date=YYYY-MM-DD` with zone `landing` or `quarantine`: a
    partition's place under the landing root (`landing_store()`)."""
    return f"{zone}/{vendor}/{dataset}/date={partition_date}"


def partition_dir(zone: str, vendor: str, dataset: str, partition_date: str) -> Path:
    """`data/<zone>/<vendor>/<dataset>/date=YYYY-MM-DD` when landing is on the local disk."""
    return data_dir() / partition_key(zone, vendor, dataset, partition_date)


@dataclass(frozen=True)
class Staged:
    """A partition being written: its parts go into `folder` (always on the local disk), and
    `LandingStore.publish` makes them the partition `key` in one step."""

    key: str
    folder: Path
    version: str


class LandingStore(Protocol):
    """Where partitions are published; keys are relative to the landing root
    (`<zone>/<vendor>/<dataset>/date=...`, `cursors/<vendor>/<stream>.json`)."""

    def location(self, key: str) -> str:
        """The path or URI of `key`, for metadata and messages."""
        ...

    def stage(self, key: str) -> Staged:
        """A fresh, empty local folder for the parts of a new version of partition `key`."""
        ...

    def published_key(self, staged: Staged, name: str) -> str:
        """The key a staged file `name` will have once published (e.g. a WAV's path in its table)."""
        ...

    def publish(self, staged: Staged) -> None:
        """Make the staged files the partition, replacing the previous version whole."""
        ...

    def discard(self, staged: Staged) -> None:
        """Drop a staged version that must not be published (its writer failed)."""
        ...

    def recover(self, key: str) -> bool:
        """Make partition `key` whole again after a crashed publish; True if it had to."""
        ...

    def recover_all(self) -> list[str]:
        """Every partition recovered after crashed publishes (before dbt reads)."""
        ...

    def partitions(self, dataset_key: str) -> list[str]:
        """The published partitions of `<zone>/<vendor>/<dataset>`, as `date=...` names."""
        ...

    def read_partition(self, key: str) -> pl.DataFrame | None:
        """The rows of a published partition, or None when it was never published."""
        ...

    def read_text(self, key: str) -> str | None:
        """A small document (a cursor), or None when absent."""
        ...

    def write_text(self, key: str, text: str) -> None:
        """Replace a small document whole: readers see the old or the new text."""
        ...


class LocalLandingStore:
    """Partitions as folders under the data directory, published by renames (`swap_in`)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def location(self, key: str) -> str:
        return str(self.root / key)

    def stage(self, key: str) -> Staged:
        final = self.root / key
        token = uuid.uuid4().hex[:12]
        folder = final.parent / f".tmp-{final.name}-{token}"
        folder.mkdir(parents=True, exist_ok=False)
        return Staged(key, folder, token)

    def published_key(self, staged: Staged, name: str) -> str:
        return f"{staged.key}/{name}"

    def publish(self, staged: Staged) -> None:
        swap_in(staged.folder, self.root / staged.key)

    def discard(self, staged: Staged) -> None:
        shutil.rmtree(staged.folder, ignore_errors=True)

    def recover(self, key: str) -> bool:
        return recover_interrupted_swap(self.root / key)

    def recover_all(self) -> list[str]:
        return [str(path) for path in recover_interrupted_swaps()]

    def partitions(self, dataset_key: str) -> list[str]:
        folder = self.root / dataset_key
        return sorted({part.parent.name for part in folder.glob("date=*/*.parquet")})

    def read_partition(self, key: str) -> pl.DataFrame | None:
        folder = self.root / key
        self.recover(key)
        return pl.read_parquet(folder / "*.parquet") if folder.exists() else None

    def read_text(self, key: str) -> str | None:
        path = self.root / key
        return path.read_text() if path.exists() else None

    def write_text(self, key: str, text: str) -> None:
        """Temp file + rename: the rename replaces the document atomically."""
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp-{os.getpid()}")
        tmp.write_text(text)
        tmp.replace(path)


def landing_store() -> LandingStore:
    """The store `PIPELINES_LANDING_URI` names: an `s3://` prefix, else the data directory."""
    uri = landing_uri()
    if uri.startswith("s3://"):
        from pipelines.landing_s3 import S3LandingStore  # boto3 is only needed for S3

        return S3LandingStore(uri)
    return LocalLandingStore(Path(uri))


@dataclass
class ContentHash:
    """An order-independent hash of the rows written, without `_extracted_at`: the same answers
    extracted again give the same value, whatever the moment, the page size or the batching.

    Each row's 64-bit hash (polars' `hash_rows`, stable within one polars version: an upgrade
    makes every partition look changed once) is summed in two 32-bit halves, so nothing
    overflows below 2**32 rows and the sum does not depend on the order of the rows."""

    rows: int = 0
    low: int = 0
    high: int = 0

    def add(self, frame: pl.DataFrame) -> None:
        if frame.height == 0:
            return
        hashes = frame.drop("_extracted_at", strict=False).hash_rows(seed=0).to_numpy()
        self.rows += frame.height
        self.low += int((hashes & np.uint64(0xFFFFFFFF)).sum(dtype=np.uint64))
        self.high += int((hashes >> np.uint64(32)).sum(dtype=np.uint64))

    def text(self) -> str:
        return f"{self.rows}:{self.low:x}:{self.high:x}"


def partition_fingerprint(landed: ContentHash, quarantined: ContentHash) -> str:
    """A partition's fingerprint: row counts and content hash of its landed and quarantined parts."""
    digest = hashlib.sha256(f"landing={landed.text()};quarantine={quarantined.text()}".encode()).hexdigest()
    return f"{landed.rows}+{quarantined.rows}:{digest[:24]}"


def read_fingerprint(folder: Path) -> str | None:
    """The fingerprint recorded with a landed partition, None if it has none (landed before
    fingerprints were recorded, or not landed at all)."""
    try:
        return (folder / FINGERPRINT_FILE).read_text().strip()
    except FileNotFoundError:
        return None


@dataclass
class LandingResult:
    vendor: str
    dataset: str
    partition_date: str
    landed_rows: int = 0
    quarantined_rows: int = 0
    parts: int = 0
    path: str = ""
    preview: pl.DataFrame | None = field(default=None, repr=False)
    # What the pages brought beside what the API reported (reconciliation).
    tally: Tally | None = field(default=None, repr=False)
    # Why the whole partition went to quarantine instead of landing (a reconciliation mismatch).
    held_back: str | None = None
    # Landed as a daily partition: reconciled and checked as one (set by `metadata.land_days`).
    daily: bool = False
    # Row counts and content hash of what the partition holds (`partition_fingerprint`).
    fingerprint: str = ""


# Pages are validated and written together up to about this many rows: pandera and the Parquet
# writer cost a fixed ~10 ms per call, which at 10,000-row pages was most of an extraction's time.
# Memory stays flat: at most one batch is held.
BATCH_ROWS = 100_000
# ... or this many bytes, whichever comes first: 100,000 DSMR readings (25 columns, 18 of them
# exact decimals) are ~4x BAXO's, and pandera's copies of a batch set the peak memory.
BATCH_BYTES = 16 * 1024 * 1024


class PartitionWriter:
    """Context manager: `write()` each page, the partition appears on a clean exit only."""

    def __init__(
        self,
        vendor: str,
        dataset: str,
        partition_date: str,
        schema: type[pa.DataFrameModel],
        source: str,
        batch_rows: int = BATCH_ROWS,
        tally: Tally | None = None,
        batch_bytes: int = BATCH_BYTES,
    ) -> None:
        """`tally` shares another dataset's reconciliation: rows derived from its pages are held
        back with it (enCloud's readings come from its device pages)."""
        self.schema, self.source = schema, source
        self.tally = tally or Tally(vendor, dataset, partition_date)
        register_dataset(vendor, dataset, schema)
        # A uniqueness check over a batch would see duplicates across pages: such schemas go page by page.
        self.batch_rows = 0 if unique_keys(schema) else batch_rows
        self.batch_bytes = batch_bytes
        self._pending: list[pl.DataFrame] = []
        self._pending_rows = self._pending_bytes = 0
        self.extracted_at = datetime.now(UTC).replace(tzinfo=None)
        self.result = LandingResult(vendor, dataset, partition_date, tally=self.tally)
        self._store = landing_store()
        self._keys = {z: partition_key(z, vendor, dataset, partition_date) for z in ("landing", "quarantine")}
        for key in self._keys.values():
            self._store.recover(key)
        self._staged: dict[str, Staged] = {}
        self._counts = {"landing": 0, "quarantine": 0}
        self._hashes = {"landing": ContentHash(), "quarantine": ContentHash()}

    def __enter__(self) -> PartitionWriter:
        self._staged = {zone: self._store.stage(key) for zone, key in self._keys.items()}
        return self

    def write(self, frame: pl.DataFrame) -> None:
        """Queue one page; pages are validated and written in batches of about `batch_rows` rows
        or `batch_bytes` bytes."""
        if self._pending and frame.schema != self._pending[0].schema:
            self._flush()
        self._pending.append(frame)
        self._pending_rows += frame.height
        self._pending_bytes += int(frame.estimated_size())
        if self._pending_rows >= self.batch_rows or self._pending_bytes >= self.batch_bytes:
            self._flush()

    def _flush(self) -> None:
        pages, self._pending, self._pending_rows, self._pending_bytes = self._pending, [], 0, 0
        if not pages:
            return
        batch = pages[0] if len(pages) == 1 else pl.concat(pages)
        valid, quarantined = split_valid(batch, self.schema)
        if len(pages) > 1 and batch.height > 0 and quarantined.height == batch.height:
            # A page-wide failure (a missing column, a wrong type) must condemn its own page only.
            for page in pages:
                self._land(*split_valid(page, self.schema))
            return
        self._land(valid, quarantined)

    def _land(self, valid: pl.DataFrame, quarantined: pl.DataFrame) -> None:
        """Write valid and quarantined rows as one part each."""
        self.quarantine(quarantined)
        self._write_part("landing", valid)
        self.result.landed_rows += valid.height
        if self.result.preview is None or self.result.preview.height < 5:
            self.result.preview = valid.head(5)

    def quarantine(self, quarantined: pl.DataFrame) -> None:
        """Hold back rows that failed before validation (undecodable input), with their reason."""
        self._write_part("quarantine", quarantined)
        self.result.quarantined_rows += quarantined.height

    def _write_part(self, zone: str, frame: pl.DataFrame) -> None:
        if frame.height == 0 and self._counts[zone] > 0:
            return  # one empty part is enough to carry the schema
        n = self._counts[zone]
        stamped = _stamp(frame, self.extracted_at, self.source)
        stamped.write_parquet(self._staged[zone].folder / f"part-{n:05d}.parquet", compression="zstd")
        self._hashes[zone].add(stamped)
        self._counts[zone] = n + 1

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            for staged in self._staged.values():
                self._store.discard(staged)
            return
        self._flush()
        mismatch = self.tally.mismatch()
        if mismatch is not None:
            self._hold_back(mismatch)
        if self._counts["landing"] == 0:
            self._write_part("landing", self.schema.empty())
        if self._counts["quarantine"] == 0:
            self._write_part("quarantine", quarantine_frame(pl.DataFrame(), ""))
        # Written into the partition before its swap: a partition and its fingerprint appear together.
        self.result.fingerprint = partition_fingerprint(self._hashes["landing"], self._hashes["quarantine"])
        (self._staged["landing"].folder / FINGERPRINT_FILE).write_text(self.result.fingerprint + "\n")
        for zone in ("landing", "quarantine"):
            self._store.publish(self._staged[zone])
        self.result.parts = self._counts["landing"]
        self.result.path = self._store.location(self._keys["landing"])

    def _hold_back(self, reason: str) -> None:
        """Move every landed part to quarantine with `reason`: a partition the API's count does not
        confirm never reaches the facts, and stays visible (and whole) in `quarantined_records`."""
        log.error("%s; %s held back: %d rows to quarantine", reason, self.result.dataset, self.result.landed_rows)
        landed_parts = sorted(self._staged["landing"].folder.glob("part-*.parquet"))
        for part in landed_parts:
            rows = pl.read_parquet(part).drop(STAMP_COLUMNS)
            part.unlink()
            self.quarantine(as_quarantine(rows, f"held back: {reason}"))
        self._counts["landing"] = 0
        self._hashes["landing"] = ContentHash()
        self.result.landed_rows = 0
        self.result.preview = None
        self.result.held_back = reason


def swap_in(tmp: Path, final: Path) -> None:
    """Replace `final` by `tmp` with renames, so the old partition stays whole until the swap.

    A crash between the two renames leaves `final` missing and the old partition under
    `.old-…`: `recover_interrupted_swap` puts it back before anyone writes or reads it.
    """
    old = final.parent / f".old-{tmp.name}"
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    _remove_stale_leftovers(final)


# Leftovers of a crashed writer older than this are removed; younger ones may be a live writer's.
STALE_LEFTOVER_S = 3600


def recover_interrupted_swap(final: Path) -> bool:
    """Restore a partition whose swap was cut between its two renames; True if one was restored."""
    if final.exists():
        return False
    olds = sorted(final.parent.glob(f".old-.tmp-{final.name}-*"), key=lambda p: p.stat().st_mtime)
    if not olds:
        return False
    olds[-1].rename(final)  # the newest complete partition that was being replaced
    return True


def recover_interrupted_swaps() -> list[Path]:
    """Every partition of every dataset restored after a crash mid-swap (before dbt reads)."""
    roots = [data_dir() / zone for zone in ("landing", "quarantine")]
    finals = {
        old.parent / old.name.removeprefix(".old-.tmp-").rsplit("-", 1)[0]
        for root in roots
        for old in root.glob("*/*/.old-.tmp-*")
    }
    return sorted(final for final in finals if recover_interrupted_swap(final))


def _remove_stale_leftovers(final: Path) -> None:
    """Temporary and replaced copies of this partition left by crashed writers."""
    now = time.time()
    for leftover in (*final.parent.glob(f".tmp-{final.name}-*"), *final.parent.glob(f".old-.tmp-{final.name}-*")):
        if now - leftover.stat().st_mtime > STALE_LEFTOVER_S:
            shutil.rmtree(leftover, ignore_errors=True)


def land_frame(
    vendor: str,
    dataset: str,
    partition_date: str,
    frame: pl.DataFrame,
    schema: type[pa.DataFrameModel],
    source: str,
) -> LandingResult:
    """Land a small dataset (a snapshot) in one part."""
    with PartitionWriter(vendor, dataset, partition_date, schema, source) as writer:
        writer.write(frame)
    return writer.result


def _read_landed(zone: str, vendor: str, dataset: str, partition_date: str) -> pl.DataFrame | None:
    landed = landing_store().read_partition(partition_key(zone, vendor, dataset, partition_date))
    return landed.drop(STAMP_COLUMNS) if landed is not None else None


def add_to_partition(
    vendor: str,
    dataset: str,
    partition_date: str,
    new: pl.DataFrame,
    schema: type[pa.DataFrameModel],
    source: str,
    key: Sequence[str],
) -> tuple[LandingResult, int]:
    """Rewrite a landed partition with its rows plus the `new` ones whose `key` it lacks.

    For cursor-driven extraction that adds to a day already landed: the rewrite is a normal
    swap (readers see the old or the new partition, never a mix), the quarantined rows stay
    held back, and a repeat of the same new rows adds nothing. Returns the result and how many
    rows were added.
    """
    existing = _read_landed("landing", vendor, dataset, partition_date)
    held = _read_landed("quarantine", vendor, dataset, partition_date)
    with PartitionWriter(vendor, dataset, partition_date, schema, source) as writer:
        if existing is not None and existing.height:
            existing = schema.validate(existing)
            new = new.join(existing.select(key), on=list(key), how="anti")
            writer.write(existing)
        if held is not None and held.height:
            writer.quarantine(held)
        writer.write(new)
    return writer.result, new.height
