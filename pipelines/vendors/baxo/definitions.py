"""BAXO Connect's Dagster definitions: its assets, resource.

`pipelines/definitions.py` merges every vendor's `defs()` with the warehouse's.
"""

from __future__ import annotations

from dagster import Definitions

from pipelines.vendors.baxo.assets import VENDOR, baxo_assets, resource_from_env


def defs() -> Definitions:
    return Definitions(assets=baxo_assets, resources={VENDOR: resource_from_env()})
