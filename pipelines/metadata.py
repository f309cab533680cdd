"""Dagster materialization metadata and data-quality check results shared by every vendor."""

from __future__ import annotations

from collections.abc import Sequence

from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetKey, MaterializeResult, MetadataValue

from pipelines.landing import LandingResult

QUARANTINE_CHECK = "quarantined_share_below_1pct"


def quarantine_check_spec(key: AssetKey) -> AssetCheckSpec:
    return AssetCheckSpec(QUARANTINE_CHECK, asset=key, description="Less than 1 % of the records were quarantined.")


def materialize_result(results: Sequence[LandingResult], *, with_check: bool = True) -> MaterializeResult:
    """Row counts, paths and a preview for one or more landed datasets, plus the quarantine check."""
    landed = sum(r.landed_rows for r in results)
    quarantined = sum(r.quarantined_rows for r in results)
    metadata: dict[str, object] = {
        "dagster/row_count": landed,
        "landed_rows": landed,
        "quarantined_rows": quarantined,
        "paths": MetadataValue.json([r.path for r in results]),
    }
    previews = [r.preview for r in results if r.preview is not None and r.preview.height]
    if previews:
        metadata["preview"] = MetadataValue.md(f"```\n{previews[0]}\n```")
    checks = []
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
    return MaterializeResult(metadata=metadata, check_results=checks)  # type: ignore[arg-type]
