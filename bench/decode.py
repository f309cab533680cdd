"""In-process throughput with no HTTP: the orjson limit on the served bytes, our page path, transforms."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import numpy as np
import orjson
import polars as pl

from pipelines.vendors.baxo.simulator import USERNAME
from pipelines.vendors.baxo.timebase import to_baxo_seconds

SYNTHETIC_DAY = datetime(2026, 1, 1, tzinfo=UTC)


def fetch_pages(base_url: str, forms: list[dict[str, str]]) -> list[bytes]:
    """Every historics page as served, walking `next` like the client does."""
    pages = []
    with httpx.Client(timeout=120) as http:
        for form in forms:
            url = base_url + "k1"
            while url:
                response = http.post(url, data=form)
                response.raise_for_status()
                pages.append(response.content)
                url = orjson.loads(response.content).get("next")
                form = {"username": USERNAME, "get": "devices-historics"}
    return pages


def best_seconds(work: Callable[[], object], repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def orjson_rows(pages: list[bytes]) -> int:
    """Decode every page with orjson alone and count the readings: the floor of any JSON client."""
    return sum(len(group["logs"]) for page in pages for group in orjson.loads(page)["historics"])


def our_page_path(pages: list[bytes], partition: str, land: bool) -> int:
    """Our client's page parse and transform (and, with `land`, validation + Parquet), no HTTP."""
    from pipelines.landing import PartitionWriter
    from pipelines.vendors.baxo import transform
    from pipelines.vendors.baxo.client import BaxoClient
    from pipelines.vendors.baxo.schemas import BaxoHistoric

    start = datetime.fromisoformat(partition).replace(tzinfo=UTC)
    end = start + timedelta(days=1)
    rows = 0
    if not land:
        for content in pages:
            page, _ = BaxoClient._historics_page(content, [])
            rows += transform.historics_frame(page, start, end).height
        return rows
    with PartitionWriter("baxo", "device_historics", partition, BaxoHistoric, "bench") as writer:
        for content in pages:
            page, _ = BaxoClient._historics_page(content, [])
            writer.write(transform.historics_frame(page, start, end))
    return writer.result.landed_rows


def synthetic_raw_historics(rows: int) -> pl.DataFrame:
    """A raw historics frame as the client parses it: 2000-epoch seconds, values as strings."""
    t = to_baxo_seconds(SYNTHETIC_DAY) + np.arange(rows, dtype=np.int64) % 86_400
    return pl.DataFrame(
        {
            "device_id": pl.Series(np.arange(rows) % 50).cast(pl.String),
            "tag_reference": pl.Series(np.arange(rows) % 5).cast(pl.String),
            "value": pl.Series(np.round(10 + np.sin(t / 3_600.0), 2)).cast(pl.String),
            "timestamp": pl.Series(t).cast(pl.String),
            "source": pl.Series(np.ones(rows, dtype=np.int64)).cast(pl.String),
        }
    )


def transform_rates(rows: int) -> dict[str, float]:
    """Rows per second of BAXO's epoch conversion alone, and of the whole page transform."""
    from pipelines.vendors.baxo import transform
    from pipelines.vendors.baxo.timebase import baxo_seconds_to_utc

    raw = synthetic_raw_historics(rows)
    start, end = SYNTHETIC_DAY, SYNTHETIC_DAY + timedelta(days=1)
    epoch_s = best_seconds(lambda: raw.select(baxo_seconds_to_utc(pl.col("timestamp").cast(pl.Int64))))
    kept = transform.historics_frame(raw, start, end).height
    if kept != rows:
        raise RuntimeError(f"synthetic rows fell outside their day: {kept} of {rows} kept")
    whole_s = best_seconds(lambda: transform.historics_frame(raw, start, end))
    return {"rows": rows, "epoch_rows_per_s": rows / epoch_s, "historics_frame_rows_per_s": rows / whole_s}


# -- DSMR readings ----------------------------------------------------------------------------------
def fetch_dsmr_pages(base_url: str, requests: list[tuple[str, dict[str, str]]], limit: int) -> list[tuple[str, bytes]]:
    """(meter, page bytes) of every limit/offset readings page, as dlt asks for them."""
    from bench.simserver import DSMR_API_KEY

    pages = []
    with httpx.Client(timeout=120, headers={"X-AUTHKEY": DSMR_API_KEY}) as http:
        for path, params in requests:
            offset = 0
            while True:
                response = http.get(base_url + path, params={**params, "limit": limit, "offset": offset})
                response.raise_for_status()
                pages.append((path.split("/", 1)[0], response.content))
                offset += limit
                if offset >= orjson.loads(response.content)["count"]:
                    break
    return pages


def walk_our_dsmr_pages(base_url: str, meters: int, partition: str, limit: int) -> int:
    """Ask for every keyset page our DSMR client asks for (so the simulator caches them); rows kept."""
    from bench.simserver import DSMR_API_KEY, DSMR_TIMEZONE, dsmr_instances
    from pipelines.partitions import day_window
    from pipelines.vendors.dsmr.client import DsmrClient, DsmrInstance

    start, end = day_window(partition)
    rows = 0
    for meter in dsmr_instances(meters):
        instance = DsmrInstance(meter.name, base_url + meter.name, DSMR_API_KEY, DSMR_TIMEZONE)
        with DsmrClient(instance, page_limit=limit) as client:
            rows += sum(page.height for page in client.reading_pages(start, end))
    return rows


def orjson_dsmr_rows(pages: list[tuple[str, bytes]]) -> int:
    return sum(len(orjson.loads(content)["results"]) for _, content in pages)


def our_dsmr_page_path(pages: list[tuple[str, bytes]], partition: str, land: bool) -> int:
    """Our DSMR client's page decode and transform; with `land`, pandera + Parquet too. No HTTP."""
    from pipelines.landing import PartitionWriter
    from pipelines.vendors.dsmr import transform
    from pipelines.vendors.dsmr.client import READINGS
    from pipelines.vendors.dsmr.schemas import DsmrReading

    def frame_of(meter: str, content: bytes) -> pl.DataFrame:  # as `DsmrClient._readings_page`
        plain = transform.plain_readings_page(content, meter)
        return plain[0] if plain is not None else transform.readings_frame(orjson.loads(content)["results"], meter)

    frames = (frame_of(meter, content) for meter, content in pages)
    if not land:
        return sum(frame.height for frame in frames)
    with PartitionWriter("dsmr", "readings", partition, DsmrReading, READINGS) as writer:
        for frame in frames:
            writer.write(frame)
    return writer.result.landed_rows


# -- Primayer histograms ----------------------------------------------------------------------------
def synthetic_histograms(bin_rows: int, bins: int = 32) -> pl.DataFrame:
    """Histograms as `histograms_frame` gives them (serial, epoch_at, histogram_at, bins), `bins`
    bins each, `bin_rows` bins in all; counts shaped like the simulator's (a noisy bump)."""
    histograms = -(-bin_rows // bins)
    seconds = int(SYNTHETIC_DAY.timestamp()) + 60 * (np.arange(histograms, dtype=np.int64) // 50)
    at = pl.from_epoch(pl.Series(seconds), "s").cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    rng = np.random.default_rng(7)
    level = np.linspace(0.0, 1.0, bins)
    mu = rng.uniform(0.1, 0.8, histograms)
    counts = np.floor(
        600 * np.exp(-0.5 * ((level[None, :] - mu[:, None]) / 0.15) ** 2) + rng.random((histograms, bins))
    )
    return pl.DataFrame(
        {
            "serial": pl.Series(np.arange(histograms) % 50).cast(pl.String),
            "epoch_at": at,
            "histogram_at": at,
            "bins": pl.Series(counts.astype(np.int64)).cast(pl.List(pl.Int64)),
        }
    )


def histogram_rates(bin_rows: int) -> dict[str, float]:
    """Bin rows per second of Primayer's histogram decoding: checks + long table, statistics, both."""
    from pipelines.vendors.primayer import transform

    hist = synthetic_histograms(bin_rows)

    def decode() -> pl.DataFrame:
        good, _ = transform.split_histograms(hist)
        return transform.histogram_bins(good)

    long = decode()
    stats = transform.histogram_stats(long)
    if stats.height != hist.height:
        raise RuntimeError(f"histogram stats: {stats.height} of {hist.height} histograms")
    decode_s = best_seconds(decode)
    stats_s = best_seconds(lambda: transform.histogram_stats(long))
    both_s = best_seconds(lambda: transform.histogram_stats(decode()))
    return {
        "rows": long.height,
        "histograms": hist.height,
        "decode_rows_per_s": long.height / decode_s,
        "stats_rows_per_s": long.height / stats_s,
        "decode_and_stats_rows_per_s": long.height / both_s,
    }
