"""Which days of the incremental facts need building: the fingerprints of what each day reads.

A fact's day is made from that day's landed partitions (each with its content fingerprint,
`pipelines.landing`), the snapshots it joins through the staging views, and the SQL of the fact
and of those views. Their fingerprints together are the day's input fingerprint. The dbt step
records it on each fact's materialization; when the next run would build the same inputs again
(the same answers re-extracted, a re-run of the schedule), the step leaves that fact out of the
dbt call, and skips dbt altogether when no fact changed: nothing is rebuilt or re-tested. A fact
with nothing to build (none of its daily datasets landed on any day of the window, and the fact
holds no rows of those days) is left out too, so a day one vendor lands does not build and test
the other vendors' facts.

Only a materialization of a run that succeeded counts: a build whose blocking test failed is
built again next time, whatever the fingerprints.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from dagster import AssetKey, AssetRecordsFilter, DagsterInstance, DagsterRunStatus

from pipelines.landing import read_fingerprint
from pipelines.settings import data_dir, landing_uri

# The materialization metadata holding, per partition day, the input fingerprint it was built from.
FINGERPRINTS_METADATA = "input_fingerprints"
# ... and the rows each day then held in the fact.
PARTITION_ROWS_METADATA = "partition_rows"
# A daily dataset with no partition for the day: a stable value, so an empty day stays unchanged.
NOT_LANDED = "not-landed"


def upstream_of(manifest: Mapping[str, Any], unique_id: str) -> tuple[list[Mapping[str, Any]], list[str]]:
    """The sources a node reads through views (views are expanded, tables and seeds stop the
    walk), and the code checksums of the node and of every node met on the way."""
    parents, seen = list(manifest["parent_map"].get(unique_id, [])), set()
    sources: list[Mapping[str, Any]] = []
    checksums = [manifest["nodes"][unique_id]["checksum"]["checksum"]]
    while parents:
        parent = parents.pop()
        if parent in seen:
            continue
        seen.add(parent)
        if parent.startswith("source."):
            sources.append(manifest["sources"][parent])
            continue
        node = manifest["nodes"].get(parent, {})
        checksums.append(node.get("checksum", {}).get("checksum", parent))
        if node.get("config", {}).get("materialized") in ("view", "ephemeral"):
            parents.extend(manifest["parent_map"].get(parent, []))
    return sources, sorted(checksums)


def _landed_folder(source: Mapping[str, Any]) -> Path:
    """`<data>/landing/<vendor>/<dataset>`: the sources' layout (`landing/{schema}/{name}`); the
    landing partition's fingerprint covers its quarantine twin too."""
    return data_dir() / "landing" / source["schema"] / source["name"]


def input_fingerprint(
    manifest: Mapping[str, Any], unique_id: str, day: str, daily_sources: frozenset[tuple[str, ...]]
) -> str | None:
    """What day `day` of the fact `unique_id` is built from, as one value; None when a landed
    partition has no fingerprint (landed before they were recorded): then it is always built."""
    if landing_uri().startswith("s3://"):
        # Fingerprints are read from the local layout; on object storage (`PIPELINES_LANDING_URI`) a
        # published version's fingerprint sits under its manifest's version prefix, which this
        # does not resolve: every day is built rather than one skipped on a stale comparison.
        return None
    sources, checksums = upstream_of(manifest, unique_id)
    lines = [f"code {checksum}" for checksum in checksums]
    for source in sorted(sources, key=lambda s: (s["schema"], s["name"])):
        folder = _landed_folder(source)
        if (source["schema"], source["name"]) in daily_sources:
            partitions = [folder / f"date={day}"]
        else:  # a snapshot: every partition may be read
            partitions = sorted(folder.glob("date=*"))
        for partition in partitions:
            fingerprint = read_fingerprint(partition) if partition.exists() else NOT_LANDED
            if fingerprint is None and partition.name != "date=none":  # date=none: schema only, no rows
                return None
            lines.append(f"{source['schema']}/{source['name']}/{partition.name} {fingerprint}")
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:24]


def lands_nothing(
    manifest: Mapping[str, Any], unique_id: str, days: Sequence[str], daily_sources: frozenset[tuple[str, ...]]
) -> bool:
    """Whether no daily dataset the fact reads has a landed partition on any of `days`. False for
    a fact that reads no daily dataset (its days cannot be told apart) and on object storage,
    whose published partitions this does not list: then the fact is built."""
    if landing_uri().startswith("s3://"):
        return False
    sources, _ = upstream_of(manifest, unique_id)
    daily = [source for source in sources if (source["schema"], source["name"]) in daily_sources]
    if not daily:
        return False
    return not any((_landed_folder(source) / f"date={day}").exists() for source in daily for day in days)


def last_build(instance: DagsterInstance, key: AssetKey, day: str) -> tuple[str | None, int | None]:
    """The input fingerprint the day was last built from and the rows it then held in the fact,
    by a run that succeeded; (None, None) when there is no such build."""
    records = instance.fetch_materializations(AssetRecordsFilter(asset_key=key, asset_partitions=[day]), limit=1)
    if not records.records:
        return None, None
    record = records.records[0]
    run = instance.get_run_by_id(record.run_id)
    materialization = record.asset_materialization
    if run is None or run.status != DagsterRunStatus.SUCCESS or materialization is None:
        return None, None
    return _recorded(materialization.metadata, FINGERPRINTS_METADATA, day), _recorded(
        materialization.metadata, PARTITION_ROWS_METADATA, day
    )


def _recorded(metadata: Mapping[str, Any], name: str, day: str) -> Any:
    value = metadata[name].value if name in metadata else None
    return value.get(day) if isinstance(value, dict) else None


def unchanged_days(
    instance: DagsterInstance,
    key: AssetKey,
    current: Mapping[str, str | None],
    rows_now: Callable[[], Mapping[str, int]],
) -> list[str]:
    """The days whose inputs are those of the fact's last successful build of that day, and whose
    rows are still in the fact as that build left them (a warehouse rebuilt or restored since,
    with the Dagster instance kept, is built again). `rows_now` (the fact's rows per day now) is
    asked once, and only when a fingerprint matches."""
    unchanged, rows = [], None
    for day, fingerprint in current.items():
        built_from, built_rows = last_build(instance, key, day)
        if fingerprint is None or fingerprint != built_from:
            continue
        rows = rows if rows is not None else rows_now()
        if built_rows == rows.get(day, 0):
            unchanged.append(day)
    return unchanged


def days_between(first: str, last: str) -> Sequence[str]:
    """ISO days from `first` to `last`, inclusive."""
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]
