"""The shared paging's guards and reconciliation, against hostile servers on 127.0.0.1 and the
DSMR simulator's `ignores_ordering` switch: every walk ends in bounded time with an error naming
vendor, endpoint and partition, and a partition the API's count does not confirm never lands."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import polars as pl
import pytest
from dagster import materialize

from pipelines.http import RetryPolicy, Tally, VendorDataError
from pipelines.vendors.baxo.client import BaxoClient
from pipelines.vendors.dsmr.assets import DsmrResource, land_readings
from pipelines.vendors.dsmr.client import DsmrClient, DsmrInstance
from pipelines.vendors.dsmr.simulator import DEFAULT_INSTANCES, DsmrSimulatorConfig
from tests.hostile import json_server
from tests.landed import landed

DAY = "2026-11-20"
NOW = datetime(2026, 11, 22, 6, tzinfo=UTC)
HOME = DEFAULT_INSTANCES[0]
READINGS_PATH = f"/{HOME.name}/api/v2/datalogger/dsmrreading"
RETRY = RetryPolicy(max_attempts=2, backoff_base_s=0.01)


def dsmr_client(url: str, retry: RetryPolicy = RETRY) -> DsmrClient:
    instance = DsmrInstance(HOME.name, f"{url}/{HOME.name}", HOME.api_key, HOME.timezone)
    return DsmrClient(instance, retry=retry, page_limit=25)


@pytest.fixture(scope="module")
def hundred_readings() -> list[dict]:
    """100 real-looking readings of DAY (from the simulator), oldest first."""
    from pipelines.simulation.registry import simulator_spec
    from pipelines.simulation.server import SimulatorServer

    server = SimulatorServer(simulator_spec("dsmr").create_app(DsmrSimulatorConfig(now=NOW))).start()
    try:
        params = {"ordering": "timestamp", "timestamp__gte": f"{DAY}T06:00:00+00:00", "limit": 100}
        answer = httpx.get(f"{server.url}{READINGS_PATH}", params=params, headers={"X-AUTHKEY": HOME.api_key})
        return answer.json()["results"]
    finally:
        server.stop()


def next_url(url: str, query: dict[str, str], offset: int) -> str:
    return str(httpx.URL(f"{url}{READINGS_PATH}", params={**query, "offset": offset}))


def assert_clear_and_bounded(err: pytest.ExceptionInfo, started: float, *words: str) -> None:
    message = str(err.value)
    assert message.startswith(f"dsmr {HOME.name} api/v2/datalogger/dsmrreading: pagination does not end")
    assert f"partition {DAY}" in message and HOME.api_key not in message
    assert all(word in message for word in words), message
    assert time.monotonic() - started < 10


def test_a_dsmr_next_answering_empty_pages_for_ever_stops_naming_the_partition(data_dir: Path) -> None:
    served = []

    def empty(path: str, query: dict[str, str]) -> dict:
        served.append(query)
        offset = int(query.get("offset", 0))
        return {"count": 100, "next": next_url(url, query, offset + 25), "previous": None, "results": []}

    with json_server(empty) as url:
        started = time.monotonic()
        with pytest.raises(VendorDataError) as err:
            land_readings([dsmr_client(url)], DAY)
    assert_clear_and_bounded(err, started, "asks again")
    assert len(served) <= 5
    assert not (data_dir / "landing" / "dsmr" / "readings" / f"date={DAY}").exists()


def test_a_dsmr_next_answering_the_same_page_for_ever_stops(data_dir: Path, hundred_readings: list[dict]) -> None:
    served = []

    def same(path: str, query: dict[str, str]) -> dict:
        served.append(query)
        offset = int(query.get("offset", 0))
        page = hundred_readings[:25]
        return {"count": 100, "next": next_url(url, query, offset + 25), "previous": None, "results": page}

    with json_server(same) as url:
        started = time.monotonic()
        with pytest.raises(VendorDataError) as err:
            land_readings([dsmr_client(url)], DAY)
    assert_clear_and_bounded(err, started, "the last 3 with no new row")
    assert len(served) == 4  # one page of news, then three without
    assert not (data_dir / "landing" / "dsmr" / "readings" / f"date={DAY}").exists()


def test_pages_bringing_new_records_beyond_the_reported_count_stop_at_the_budget(
    data_dir: Path, hundred_readings: list[dict]
) -> None:
    def for_ever(path: str, query: dict[str, str]) -> dict:
        # Each page a fresh id at the same instant: new keys for ever, the count says 50.
        served.append(query)
        offset = int(query.get("offset", 0))
        page = [{**hundred_readings[0], "id": 10_000 + len(served) * 10 + i} for i in range(10)]
        return {"count": 50, "next": next_url(url, query, offset + 10), "previous": None, "results": page}

    served: list[dict] = []
    with json_server(for_ever) as url:
        started = time.monotonic()
        with pytest.raises(VendorDataError) as err:
            land_readings([dsmr_client(url)], DAY)
    assert_clear_and_bounded(err, started, "over the budget of 13", "the API reported 50 records")
    assert len(served) == 13
    assert not (data_dir / "landing" / "dsmr" / "readings" / f"date={DAY}").exists()


def test_a_baxo_next_with_new_rows_for_ever_stops_at_the_configured_maximum() -> None:
    def for_ever(path: str, query: dict[str, str]) -> dict:
        page = int(query.get("page", 0))
        logs = [{"value": "1", "timestamp": 846_000_000 + page, "source": 0}]
        historics = [{"tagReference": "T1", "deviceIdentifier": "777", "logs": logs}]
        return {"historics": historics, "next": f"{url}/k1?page={page + 1}"}

    retry = RetryPolicy(max_attempts=2, backoff_base_s=0.01, max_pages=20)
    day = datetime(2026, 11, 20, tzinfo=UTC)
    with json_server(for_ever) as url, BaxoClient(f"{url}/k1", "u", "secret-pw", retry=retry) as client:
        started = time.monotonic()
        with pytest.raises(VendorDataError) as err:
            list(client.historic_pages("C1", ["777"], day, day + timedelta(days=1), tally=Tally("baxo", "h", DAY)))
    assert str(err.value).startswith("baxo k1?get=devices-historics: pagination does not end: 20 pages")
    assert f"partition {DAY}" in str(err.value) and "secret-pw" not in str(err.value)
    assert time.monotonic() - started < 10


def test_a_dsmr_server_ignoring_ordering_is_held_back_with_the_numbers(
    data_dir: Path, hundred_readings: list[dict]
) -> None:
    """The issue's case: newest first whatever `ordering` asks, 25 a page: 25 of 100 landed, success."""

    def newest_first(path: str, query: dict[str, str]) -> dict:
        after = [r for r in hundred_readings if r["timestamp"] >= _local(query["timestamp__gte"])]
        offset = int(query.get("offset", 0))
        page = list(reversed(after))[offset : offset + 25]
        more = offset + 25 < len(after)
        return {"count": len(after), "next": next_url(url, query, offset + 25) if more else None, "results": page}

    with json_server(newest_first) as url:
        result = land_readings([dsmr_client(url)], DAY)
    assert result.held_back is not None and result.landed_rows == 0
    assert "reported 100 records, the pages brought 25 distinct" in result.held_back
    assert f"dsmr {HOME.name} api/v2/datalogger/dsmrreading, partition {DAY}" in result.held_back
    assert landed(data_dir, "dsmr", "readings", DAY).height == 0
    held = landed(data_dir, "dsmr", "readings", DAY, zone="quarantine")
    assert held.height == 25 and held["reason"].str.starts_with("held back: reconciliation failed").all()


def _local(utc_filter: str) -> str:
    """The instance's local ISO form of a UTC filter, comparable as text with its answers."""
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(utc_filter).astimezone(ZoneInfo(HOME.timezone)).isoformat()


def test_the_reconciliation_check_fails_naming_the_numbers_and_a_clean_day_passes(
    start_simulator, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.vendors.dsmr.assets import dsmr_readings

    monkeypatch.setenv("TEST_PAGING_DSMR_KEY", HOME.api_key)
    outcomes = {}
    for broken in (False, True):
        server = start_simulator("dsmr", DsmrSimulatorConfig(now=NOW, ignores_ordering=broken))
        spec = f'[{{"name": "{HOME.name}", "base_url": "{server.url}/{HOME.name}", '
        spec += f'"api_key_env": "TEST_PAGING_DSMR_KEY", "timezone": "{HOME.timezone}"}}]'
        resource = DsmrResource(instances=spec, backoff_base_s=0.01)
        run = materialize([dsmr_readings], partition_key=DAY, resources={"dsmr": resource})
        assert run.success  # the other vendors' steps and the facts still run after it
        (check,) = [c for c in run.get_asset_check_evaluations() if c.check_name == "reconciled_with_api"]
        outcomes[broken] = check
    assert outcomes[False].passed
    per_day = 24 * 360 + 1  # `timestamp__lte` is inclusive: the next midnight's reading counts, then is cut
    assert outcomes[False].metadata["partitions"].value[DAY]["api_reported"] == per_day
    assert not outcomes[True].passed
    assert f"the API reported {per_day} records, the pages brought 25 distinct" in outcomes[True].description
    assert f"partition {DAY}" in outcomes[True].description


@pytest.mark.parametrize("key", [["id"], ["id", "part"]])
def test_a_walk_drops_records_an_earlier_page_brought_and_keeps_those_without_a_key(key: list[str]) -> None:
    from pipelines.http import Page, VendorHttpClient, _Walk

    pages = [
        pl.DataFrame({"id": [1, 2, None, 3], "part": ["a"] * 4, "v": [10, 20, 30, 40]}),
        pl.DataFrame({"id": [3, None, 4, 4, 1], "part": ["a"] * 5, "v": [41, 31, 50, 51, 11]}),
        pl.DataFrame({"id": [4, 5], "part": ["a", "a"], "v": [52, 60]}),
    ]
    with VendorHttpClient("test", None) as http:
        walk = _Walk(http, "endpoint", "here", key, "key")
        fresh = [walk.fresh(Page(page)) for page in pages]
    assert [frame["v"].to_list() for frame in fresh] == [[10, 20, 30, 40], [31, 50, 51], [60]]
