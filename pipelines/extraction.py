"""Every vendor's extraction assets and resource, found by the vendor's name (`VENDORS`):
the Definitions, `make run` and the dbt facts' deps all use these lists."""

from __future__ import annotations

import importlib
from types import ModuleType

from dagster import AssetKey, AssetsDefinition

from pipelines.resources import VendorResource
from pipelines.vendors import VENDORS


def _assets_module(vendor: str) -> ModuleType:
    return importlib.import_module(f"pipelines.vendors.{vendor}.assets")


extraction_assets: list[AssetsDefinition] = [
    asset for vendor in VENDORS for asset in getattr(_assets_module(vendor), f"{vendor}_assets")
]
daily_extraction_assets = [a for a in extraction_assets if a.partitions_def is not None]
snapshot_extraction_assets = [a for a in extraction_assets if a.partitions_def is None]
# The landed datasets each daily partition of the facts is built from.
daily_landed_keys: frozenset[AssetKey] = frozenset(key for a in daily_extraction_assets for key in a.keys)


def vendor_resources() -> dict[str, VendorResource]:
    """Each vendor's resource, keyed by the vendor's name (the assets' resource parameter)."""
    return {vendor: _assets_module(vendor).resource_from_env() for vendor in VENDORS}
