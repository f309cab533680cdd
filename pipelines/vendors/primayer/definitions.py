"""Primayer PHOCUS Enigma's Dagster definitions: its assets, resource.

`pipelines/definitions.py` merges every vendor's `defs()` with the warehouse's.
"""

from __future__ import annotations

from dagster import Definitions

from pipelines.vendors.primayer.assets import VENDOR, primayer_assets, resource_from_env


def defs() -> Definitions:
    return Definitions(assets=primayer_assets, resources={VENDOR: resource_from_env()})
