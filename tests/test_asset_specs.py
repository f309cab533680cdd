"""Every vendor declares its landed datasets one way (`pipelines/asset_specs.py`)."""

from __future__ import annotations

import pytest
from dagster import MaterializeResult

from pipelines.asset_specs import landed_asset
from pipelines.extraction import extraction_assets
from pipelines.metadata import QUARANTINE_CHECK, RECONCILIATION_CHECK
from pipelines.partitions import daily_partitions


def test_every_landed_dataset_has_the_vendor_group_kinds_resource_and_checks() -> None:
    for assets_def in extraction_assets:
        for spec in assets_def.specs:
            vendor = spec.key.path[0]
            assert (spec.group_name, set(spec.kinds)) == (vendor, {"python", "parquet"}), spec.key
            assert vendor in assets_def.required_resource_keys, spec.key
            checks = {c.name for c in assets_def.check_specs if c.asset_key == spec.key}
            if spec.key.to_user_string() == "dsmr/readings_recent":
                assert not checks  # recorded as materializations of dsmr/readings
            elif assets_def.partitions_def is not None:
                assert assets_def.partitions_def == daily_partitions
                assert {QUARANTINE_CHECK, RECONCILIATION_CHECK} <= checks, spec.key
            else:
                assert QUARANTINE_CHECK in checks and RECONCILIATION_CHECK not in checks, spec.key


def test_an_asset_must_take_its_vendor_resource_under_the_vendor_name() -> None:
    with pytest.raises(TypeError, match="baxo asset takes its resource as the parameter `baxo`"):

        @landed_asset("baxo", "contracts")
        def misnamed(resource: object) -> MaterializeResult:  # pragma: no cover - never runs
            return MaterializeResult()
