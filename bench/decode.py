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
            "timestamp": t,
            "source": np.ones(rows, dtype=np.int64),
        }
    )


def transform_rates(rows: int) -> dict[str, float]:
    """Rows per second of BAXO's epoch conversion alone, and of the whole page transform."""
    from pipelines.vendors.baxo import transform
    from pipelines.vendors.baxo.timebase import baxo_seconds_to_utc

    raw = synthetic_raw_historics(rows)
    start, end = SYNTHETIC_DAY, SYNTHETIC_DAY + timedelta(days=1)
    epoch_s = best_seconds(lambda: raw.select(baxo_seconds_to_utc(pl.col("timestamp"))))
    kept = transform.historics_frame(raw, start, end).height
    if kept != rows:
        raise RuntimeError(f"synthetic rows fell outside their day: {kept} of {rows} kept")
    whole_s = best_seconds(lambda: transform.historics_frame(raw, start, end))
    return {"rows": rows, "epoch_rows_per_s": rows / epoch_s, "historics_frame_rows_per_s": rows / whole_s}
