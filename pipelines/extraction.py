"""Every vendor's extraction assets in one list: the Definitions and the dbt facts' deps use it."""

from __future__ import annotations

from dagster import AssetKey, AssetsDefinition

from pipelines.vendors.bagtower.assets import bagtower_assets
from pipelines.vendors.baxo.assets import baxo_assets
from pipelines.vendors.dsmr.assets import dsmr_assets
from pipelines.vendors.encloud.assets import encloud_assets
from pipelines.vendors.primayer.assets import primayer_assets

extraction_assets: list[AssetsDefinition] = [
    *baxo_assets,
    *bagtower_assets,
    *dsmr_assets,
    *encloud_assets,
    *primayer_assets,
]
daily_extraction_assets = [a for a in extraction_assets if a.partitions_def is not None]
snapshot_extraction_assets = [a for a in extraction_assets if a.partitions_def is None]
# The landed datasets each daily partition of the facts is built from.
daily_landed_keys: frozenset[AssetKey] = frozenset(key for a in daily_extraction_assets for key in a.keys)
