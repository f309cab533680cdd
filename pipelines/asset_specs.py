"""How every vendor declares the datasets it lands: one way for the key, group, kinds, partitions,
checks and resource, so the five vendors' assets differ only in what they land.

- key `[vendor, dataset]`, group `vendor`, kinds python + parquet;
- daily datasets take the shared daily partitions with single-run backfills (`pipelines.partitions`);
- the checks the landing layer reports (`pipelines.metadata`): the quarantine share for every
  landed dataset, and the reconciliation with the API for daily ones;
- the asset takes the vendor's resource under the vendor's name (the key `defs()` registers).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from dagster import AssetCheckSpec, AssetKey, AssetsDefinition, AssetSpec, asset, multi_asset

from pipelines.metadata import daily_check_specs, quarantine_check_spec
from pipelines.partitions import DAILY

LANDED_KINDS = frozenset({"python", "parquet"})
AssetDecorator = Callable[[Callable[..., Any]], AssetsDefinition]


def landed_key(vendor: str, dataset: str) -> AssetKey:
    return AssetKey([vendor, dataset])


def landed_checks(key: AssetKey, *, daily: bool, extra: Mapping[str, str] | None = None) -> list[AssetCheckSpec]:
    """The checks `materialize_result` reports for a landed dataset, plus `extra` (name: description)."""
    standard = daily_check_specs(key) if daily else [quarantine_check_spec(key)]
    return [*standard, *(AssetCheckSpec(name, asset=key, description=text) for name, text in (extra or {}).items())]


def landed_spec(vendor: str, dataset: str, *, deps: Sequence[str] = (), description: str | None = None) -> AssetSpec:
    """One dataset of a multi-asset; `deps` are datasets of the same vendor."""
    return AssetSpec(
        landed_key(vendor, dataset),
        group_name=vendor,
        kinds=set(LANDED_KINDS),
        deps=[landed_key(vendor, d) for d in deps],
        description=description,
    )


def landed_asset(
    vendor: str,
    dataset: str,
    *,
    daily: bool = False,
    deps: Sequence[str] = (),
    description: str | None = None,
    extra_checks: Mapping[str, str] | None = None,
    checks: bool = True,
) -> AssetDecorator:
    """`@asset` for one landed dataset (its docstring describes it unless `description` is given).

    `checks=False` for an asset that records its landing under another dataset's key (DSMR's
    cursor-mode `readings_recent`) and so reports no checks of its own.
    """
    key = landed_key(vendor, dataset)
    declare = asset(
        key=key,
        group_name=vendor,
        kinds=set(LANDED_KINDS),
        deps=[landed_key(vendor, d) for d in deps],
        description=description,
        check_specs=landed_checks(key, daily=daily, extra=extra_checks) if checks else None,
        **(DAILY if daily else {}),
    )
    return lambda fn: _takes_vendor_resource(declare(fn), vendor)


def landed_multi_asset(
    vendor: str, specs: Sequence[AssetSpec], *, daily: bool, name: str | None = None, pool: str | None = None
) -> AssetDecorator:
    """`@multi_asset` for datasets landed together (one pull, one partition swap), each with its checks."""
    check_specs = [check for spec in specs for check in landed_checks(spec.key, daily=daily)]
    declare = multi_asset(specs=specs, check_specs=check_specs, name=name, pool=pool, **(DAILY if daily else {}))
    return lambda fn: _takes_vendor_resource(declare(fn), vendor)


def _takes_vendor_resource(assets_def: AssetsDefinition, vendor: str) -> AssetsDefinition:
    # The vendor's `defs()` registers its resource under the vendor's name: an asset whose
    # parameter is named otherwise would only fail when a run starts.
    if vendor not in assets_def.required_resource_keys:
        raise TypeError(f"{assets_def.node_def.name}: a {vendor} asset takes its resource as the parameter `{vendor}`")
    return assets_def
