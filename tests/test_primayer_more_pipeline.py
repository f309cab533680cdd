"""Primayer's noise histograms reach the analysts: fct_noise_histogram built by Dagster and dbt
from the landed long table, consistent with the statistics in fct_reading, idempotent."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from dagster import DagsterInstance, materialize

from pipelines.definitions import resources
from pipelines.vendors.primayer.assets import PrimayerResource, primayer_assets, primayer_loggers
from pipelines.vendors.primayer.simulator import FLEET_SERIALS, TOKEN, PrimayerSimulatorConfig
from pipelines.warehouse import connect, dbt_incremental_models, dbt_models

DAY = "2026-11-20"
ZONE = "Europe/London"


def _resources(server) -> dict[str, object]:
    res = resources()
    res["primayer"] = PrimayerResource(
        base_url=server.url, token=TOKEN, serials=FLEET_SERIALS, timezone=ZONE, backoff_base_s=0.01
    )
    return res


def _histograms() -> pl.DataFrame:
    with connect() as con:
        return con.execute("select * from fct_noise_histogram").pl()


def test_noise_histograms_reach_fct_noise_histogram_once_each(start_simulator, data_dir: Path) -> None:
    # A histogram served twice beside the others: it lands twice, the mart keeps it once.
    config = PrimayerSimulatorConfig(duplicate_histogram=True)
    res = _resources(start_simulator("primayer", config))
    with DagsterInstance.ephemeral() as instance:
        assert materialize(primayer_assets, partition_key=DAY, resources=res, instance=instance).success
        assert materialize([dbt_models], resources=res, instance=instance).success
        assert materialize([dbt_incremental_models], partition_key=DAY, resources=res, instance=instance).success
        histograms = _histograms()

        bins = pl.read_parquet(data_dir / f"landing/primayer/histogram_bins/date={DAY}/*.parquet")
        assert bins.height > histograms.height  # the copy served twice is kept once
        assert histograms.height == bins.unique(["serial", "histogram_at", "bin"]).height
        assert histograms.select("device_key", "histogram_at", "bin").is_duplicated().sum() == 0
        assert set(histograms["serial"]) == set(FLEET_SERIALS.split(","))

        per_histogram = histograms.group_by("serial", "histogram_at").agg(
            pl.col("sample_share").sum().alias("shares"),
            pl.col("cumulative_share").sort_by("bin").last().alias("last_cumulative"),
            pl.col("bin").filter(pl.col("cumulative_share") >= 0.5).min().alias("p50_bin"),
            pl.col("sample_count").sum().alias("samples"),
            pl.col("total_samples").first(),
        )
        assert (per_histogram["shares"] - 1).abs().max() < 1e-9
        assert (per_histogram["last_cumulative"] - 1).abs().max() < 1e-9
        assert (per_histogram["samples"] == per_histogram["total_samples"]).all()
        with connect() as con:
            p50 = con.execute(
                "select d.native_id as serial, f.measured_at as histogram_at, f.value as reading_p50 "
                "from fct_reading f join dim_device d using (device_key) where f.metric = 'noise_level_p50'"
            ).pl()
        compared = per_histogram.join(p50, on=["serial", "histogram_at"], how="full", coalesce=True)
        assert compared.height == per_histogram.height == p50.height
        assert (compared["p50_bin"] == compared["reading_p50"]).all()  # the same bins as the statistics

        # The same day landed and built again: the same rows.
        assert materialize([primayer_loggers], partition_key=DAY, resources=res, instance=instance).success
        assert materialize([dbt_incremental_models], partition_key=DAY, resources=res, instance=instance).success
        again = _histograms()
    columns = ["device_key", "histogram_at", "bin"]
    assert again.sort(columns).equals(histograms.sort(columns))
