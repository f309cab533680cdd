"""Every vendor's Dagster definitions, found by the vendor's name (`VENDORS`): the one
`Definitions`, `make run` and the dbt facts' deps all use these."""

from __future__ import annotations

import importlib
from functools import cache

from dagster import AssetKey, AssetsDefinition, Definitions

from pipelines.resources import VendorResource
from pipelines.vendors import VENDORS


@cache
def vendor_definitions(vendor: str) -> Definitions:
    """The vendor's own `defs()` (`pipelines/vendors/<vendor>/definitions.py`)."""
    return importlib.import_module(f"pipelines.vendors.{vendor}.definitions").defs()


def _assets(vendor: str) -> list[AssetsDefinition]:
    return [a for a in vendor_definitions(vendor).assets or () if isinstance(a, AssetsDefinition)]


extraction_assets: list[AssetsDefinition] = [asset for vendor in VENDORS for asset in _assets(vendor)]
daily_extraction_assets = [a for a in extraction_assets if a.partitions_def is not None]
snapshot_extraction_assets = [a for a in extraction_assets if a.partitions_def is None]
# The landed datasets each daily partition of the facts is built from.
daily_landed_keys: frozenset[AssetKey] = frozenset(key for a in daily_extraction_assets for key in a.keys)


def vendor_resources() -> dict[str, VendorResource]:
    """Each vendor's resource, keyed by the vendor's name (the assets' resource parameter)."""
    resources: dict[str, VendorResource] = {}
    for vendor in VENDORS:
        resources.update(vendor_definitions(vendor).resources or {})
    return resources
