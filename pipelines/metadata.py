"""Dagster materialization metadata and data-quality check results shared by every vendor."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    DataVersion,
    MaterializeResult,
    MetadataValue,
)

from pipelines.landing import LandingResult

QUARANTINE_CHECK = "quarantined_share_below_1pct"
RECONCILIATION_CHECK = "reconciled_with_api"


def quarantine_check_spec(key: AssetKey) -> AssetCheckSpec:
    return AssetCheckSpec(QUARANTINE_CHECK, asset=key, description="Less than 1 % of the records were quarantined.")


def daily_check_specs(key: AssetKey) -> list[AssetCheckSpec]:
    """A daily dataset's checks: the quarantine share, and its reconciliation with the API."""
    reconciled = AssetCheckSpec(
        RECONCILIATION_CHECK,
        asset=key,
        description="Every partition holds as many distinct records as the API reported (DSMR `count`, enCloud "
        "`totalFilteredResults`); a partition that disagrees is held back in quarantine, out of the facts.",
    )
    return [quarantine_check_spec(key), reconciled]


def reconciliation(results: Sequence[LandingResult]) -> tuple[dict[str, object], AssetCheckResult]:
    """Per partition: what the API reported beside what landed, was quarantined or repeated
    across pages; the check fails, naming the numbers, when any partition was held back."""
    partitions = {
        r.partition_date: {
            "api_reported": r.tally.reported if r.tally else None,
            "pages": r.tally.pages if r.tally else 0,
            "received": r.tally.received if r.tally else 0,
            "repeated_across_pages": r.tally.repeated if r.tally else 0,
            "landed": r.landed_rows,
            "quarantined": r.quarantined_rows,
            "held_back": r.held_back,
        }
        for r in results
    }
    held_back = [r.held_back for r in results if r.held_back]
    check = AssetCheckResult(
        check_name=RECONCILIATION_CHECK,
        passed=not held_back,
        severity=AssetCheckSeverity.ERROR,
        description="; ".join(held_back) or None,
        metadata={"partitions": MetadataValue.json(partitions), "held_back_partitions": len(held_back)},
    )
    return {"reconciliation": MetadataValue.json(partitions)}, check


def materialize_result(results: Sequence[LandingResult], *, with_check: bool = True) -> MaterializeResult:
    """Row counts, paths and a preview for one or more landed datasets, plus the quarantine check."""
    landed = sum(r.landed_rows for r in results)
    quarantined = sum(r.quarantined_rows for r in results)
    metadata: dict[str, Any] = {
        "dagster/row_count": landed,
        "landed_rows": landed,
        "quarantined_rows": quarantined,
        "paths": MetadataValue.json([r.path for r in results]),
    }
    previews = [r.preview for r in results if r.preview is not None and r.preview.height]
    if previews:
        metadata["preview"] = MetadataValue.md(f"```\n{previews[0]}\n```")
    checks = []
    if results and all(r.daily for r in results):
        reconciled, check = reconciliation(results)
        metadata.update(reconciled)
        checks.append(check)
    if with_check:
        share = quarantined / max(landed + quarantined, 1)
        checks.append(
            AssetCheckResult(
                check_name=QUARANTINE_CHECK,
                passed=share < 0.01,
                severity=AssetCheckSeverity.WARN,
                metadata={"quarantined_rows": quarantined, "quarantined_share": round(share, 6)},
            )
        )
    return MaterializeResult(metadata=metadata, check_results=checks, data_version=data_version(results))


def data_version(results: Sequence[LandingResult]) -> DataVersion | None:
    """The landed partitions' content fingerprints as one Dagster data version: it changes only
    when what the API answered changed, not when the same answers are extracted again."""
    fingerprints = sorted(f"{r.dataset}/{r.partition_date}={r.fingerprint}" for r in results if r.fingerprint)
    if not fingerprints:
        return None
    if len(fingerprints) == 1:
        return DataVersion(fingerprints[0].split("=", 1)[1])
    return DataVersion(hashlib.sha256("\n".join(fingerprints).encode()).hexdigest()[:24])


def land_days(
    context: AssetExecutionContext, land_day: Callable[[str], Iterable[LandingResult]]
) -> list[LandingResult]:
    """Land every daily partition of the run in turn (a backfill range runs as one step).

    Each partition is swapped in as it completes, so a failure on a later day keeps the earlier
    ones landed; re-running the range replaces them.
    """
    results: list[LandingResult] = []
    for partition_key in context.partition_keys:
        for result in land_day(partition_key):
            result.daily = True
            context.log.info(
                f"{result.vendor} {result.dataset} {result.partition_date}: "
                f"{result.landed_rows} landed, {result.quarantined_rows} quarantined"
            )
            if result.held_back:
                context.log.error(f"{result.vendor} {result.dataset}: {result.held_back}")
            results.append(result)
    return results


def materialize_results(results: Sequence[LandingResult]) -> Iterator[MaterializeResult]:
    """One keyed result per landed dataset, for multi-assets: `[vendor, dataset]` and its check."""
    datasets = dict.fromkeys((r.vendor, r.dataset) for r in results)
    for vendor, dataset in datasets:
        key = AssetKey([vendor, dataset])
        plain = materialize_result([r for r in results if (r.vendor, r.dataset) == (vendor, dataset)])
        checks = [
            AssetCheckResult(
                asset_key=key,
                check_name=c.check_name,
                passed=c.passed,
                severity=c.severity,
                metadata=c.metadata,
                description=c.description,
            )
            for c in plain.check_results or []
        ]
        yield MaterializeResult(
            asset_key=key, metadata=plain.metadata, check_results=checks, data_version=plain.data_version
        )
