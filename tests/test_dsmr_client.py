"""DSMR-reader client and landing over real HTTP: paging, boundaries, zones and DST, auth, POST,
exact decimals, the cursor mode and injected faults."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import polars as pl
import pytest

from pipelines.cursors import read_cursor
from pipelines.http import RetryPolicy, VendorDataError, VendorRequestError
from pipelines.simulation.faults import FAULT_KINDS, FaultConfig
from pipelines.vendors.dsmr import transform
from pipelines.vendors.dsmr.assets import (
    land_consumption_today,
    land_day_statistics,
    land_hour_statistics,
    land_readings,
    land_recent_readings,
)
from pipelines.vendors.dsmr.client import DsmrClient, DsmrInstance, instances_from_env
from pipelines.vendors.dsmr.simulator import DEFAULT_ENV, DEFAULT_INSTANCES, DsmrSimulatorConfig, SimInstance
from tests.landed import landed as landed_partition
from tests.landed import rows_of

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
HOME, CABIN, FLAT = DEFAULT_INSTANCES
PER_DAY = 24 * 360


def make_client(server, sim: SimInstance, *, limit: int = 2000, timeout_s: float = 30.0, **kwargs) -> DsmrClient:
    instance = DsmrInstance(
        sim.name, f"{server.url}/{sim.name}", kwargs.pop("key", sim.api_key), sim.timezone, **kwargs
    )
    # A 429's `Retry-After: 1` is honoured (test_http); here waiting it out only adds seconds.
    retry = RetryPolicy(max_attempts=8, backoff_base_s=0.01, backoff_max_s=0.2, retry_after_max_s=0.05)
    return DsmrClient(instance, timeout_s=timeout_s, retry=retry, page_limit=limit)


def landed(data_dir: Path, dataset: str, day: str, zone: str = "landing") -> pl.DataFrame:
    return landed_partition(data_dir, "dsmr", dataset, day, zone)


@pytest.fixture
def server(start_simulator):
    return start_simulator("dsmr", DsmrSimulatorConfig(now=NOW))


def test_drf_pages_and_keyset_paging_with_a_count_not_multiple_of_the_page(server) -> None:
    headers = {"X-AUTHKEY": HOME.api_key}
    url = f"{server.url}/home/api/v2/datalogger/dsmrreading"
    first = httpx.get(url, headers=headers, params={"timestamp__gte": "2026-11-20 11:00:00"}).json()
    assert len(first["results"]) == 25  # DRF's default limit
    assert first["next"].startswith(f"{server.url}/home/api/v2/datalogger/dsmrreading?") and first["previous"] is None
    assert first["results"][0]["timestamp"] == "2026-11-20T11:00:00+01:00"  # local time with its offset
    assert first["results"][0]["electricity_delivered_1"].count(".") == 1
    assert len(first["results"][0]["electricity_delivered_1"].split(".")[1]) == 3

    start = datetime(2026, 11, 20, 10, tzinfo=UTC)
    with make_client(server, HOME, limit=7) as client:
        pages = list(client.reading_pages(start, start + timedelta(hours=1)))
    frame = pl.concat(pages)
    assert frame.height == 360 and 360 % 7 != 0
    assert frame["reading_id"].is_unique().all()
    assert frame["measured_at"].min() == start
    assert frame["measured_at"].max() == start + timedelta(seconds=3590)
    assert frame["measured_at"].is_sorted()

    with make_client(server, HOME, limit=7) as client:
        hours = pl.concat(list(client.hour_statistics(date(2026, 11, 20))))
        long_day = pl.concat(list(client.hour_statistics(date(2026, 10, 25))))
        short_day = pl.concat(list(client.hour_statistics(date(2026, 3, 29))))
    assert hours.height == 24 and hours["stat_id"].is_unique().all()
    assert hours["hour_start"].min() == datetime(2026, 11, 19, 23, tzinfo=UTC)  # local midnight
    assert (long_day.height, short_day.height) == (25, 23)


def test_a_reading_on_the_partition_boundary_lands_once(server, data_dir: Path) -> None:
    midnight = datetime(2026, 11, 20, tzinfo=UTC)  # HOME reads on whole 10 s: one reading at 00:00:00Z
    for day in ("2026-11-19", "2026-11-20"):
        land_readings([make_client(server, HOME, limit=1000)], day)
    before, on = landed(data_dir, "readings", "2026-11-19"), landed(data_dir, "readings", "2026-11-20")
    assert before.height == on.height == PER_DAY
    assert on["measured_at"].min() == midnight and before["measured_at"].max() == midnight - timedelta(seconds=10)
    both = pl.concat([before, on])
    assert both["reading_id"].is_unique().all()
    assert both.filter(pl.col("measured_at") == midnight).height == 1


@pytest.mark.parametrize(
    ("sim", "day"),
    [
        (HOME, "2026-03-29"),  # Amsterdam springs forward: a local day of 23 hours
        (HOME, "2026-10-25"),  # and falls back: 25 hours, 02:00-03:00 twice
        (CABIN, "2026-11-01"),  # St. John's, UTC-02:30 -> -03:30
        (FLAT, "2026-10-25"),  # London: +01:00 then Z
    ],
)
def test_any_offset_and_dst_day_lands_exactly_one_utc_day(server, data_dir: Path, sim: SimInstance, day: str) -> None:
    result = land_readings([make_client(server, sim, limit=500)], day)
    frame = landed(data_dir, "readings", day)
    start = datetime.fromisoformat(day).replace(tzinfo=UTC)
    assert result.landed_rows == frame.height == PER_DAY
    assert frame["reading_id"].is_unique().all()
    assert frame["measured_at"].min() == start + timedelta(seconds=sim.phase_s)
    assert frame["measured_at"].max() < start + timedelta(days=1)


def test_the_repeated_autumn_hour_pages_forward_even_with_small_pages(server) -> None:
    # 00:00-02:00Z is 02:00-03:00 local twice; as a wall time the server refuses it (400), in UTC it is exact.
    start = datetime(2026, 10, 25, tzinfo=UTC)
    with make_client(server, HOME, limit=100) as client:
        frame = pl.concat(list(client.reading_pages(start, start + timedelta(hours=2))))
    assert frame.height == 720 and frame["reading_id"].is_unique().all()
    assert set(frame["timestamp_raw"].str.slice(19).unique()) == {"+02:00", "+01:00"}


def test_wrong_key_names_the_instance_and_never_shows_the_key(server, caplog) -> None:
    secret = "wrong-secret-key-5c2d91"
    caplog.set_level(logging.DEBUG)
    with make_client(server, CABIN, key=secret) as client, pytest.raises(VendorRequestError) as err:
        list(client.reading_pages(datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC)))
    message = str(err.value)
    assert "dsmr" in message and "cabin" in message and "403" in message and "Invalid auth key" in message
    assert secret not in message and secret not in caplog.text and secret not in repr(client.instance)


def test_token_header_is_accepted_and_a_disabled_api_is_refused(start_simulator) -> None:
    server = start_simulator("dsmr", DsmrSimulatorConfig(now=NOW))
    with make_client(server, FLAT, auth="token") as client:
        count, latest = client.latest_reading()
    assert count > 0 and latest == NOW - timedelta(seconds=3)
    server.app.state.simulator.config.api_enabled = False
    with make_client(server, FLAT) as client, pytest.raises(VendorRequestError, match="API is disabled"):
        client.latest_reading()


def test_posted_reading_is_created_and_lands_with_exact_decimals(server, data_dir: Path) -> None:
    url = f"{server.url}/home/api/v2/datalogger/dsmrreading"
    reading = {
        "timestamp": "2026-11-21T12:00:05+01",
        "electricity_currently_delivered": "1.5",
        "electricity_currently_returned": "0.025",
        "electricity_delivered_1": "20000.001",
        "electricity_delivered_2": "30000",
        "electricity_returned_1": "0",
        "electricity_returned_2": "0",
    }
    created = httpx.post(url, headers={"X-AUTHKEY": HOME.api_key}, data=reading)
    assert created.status_code == 201
    assert created.json()["electricity_delivered_1"] == "20000.001"
    assert created.json()["timestamp"] == "2026-11-21T12:00:05+01:00"
    missing = httpx.post(url, headers={"X-AUTHKEY": HOME.api_key}, data={"timestamp": reading["timestamp"]})
    assert missing.status_code == 400
    assert missing.json()["electricity_delivered_1"] == ["This field is required."]
    denied = httpx.post(url, data=reading)
    assert denied.status_code == 403 and "detail" in denied.json()

    land_readings([make_client(server, HOME)], "2026-11-21")
    frame = landed(data_dir, "readings", "2026-11-21")
    assert frame.height == PER_DAY + 1
    posted = frame.filter(pl.col("reading_id") == created.json()["id"])
    assert posted["electricity_delivered_1"].dtype == pl.Decimal(12, 3)
    assert posted["electricity_delivered_1"][0] == Decimal("20000.001")
    assert posted["electricity_currently_returned"][0] == Decimal("0.025")


def test_incremental_run_lands_only_new_readings(start_simulator, data_dir: Path) -> None:
    t1 = datetime(2026, 11, 20, 6, tzinfo=UTC)
    server = start_simulator("dsmr", DsmrSimulatorConfig(now=t1, instances=(HOME, CABIN)))
    sim = server.app.state.simulator

    def run(now: datetime) -> int:
        new_rows, _ = land_recent_readings([make_client(server, HOME), make_client(server, CABIN)], now)
        return new_rows

    # HOME reads at :00, :10.. from midnight on: 6 h -> 2161 readings; CABIN at :03 -> 2160.
    assert run(t1) == 2161 + 2160
    assert read_cursor("dsmr", "readings_home")["last_measured_at"] == t1.isoformat()
    sim.config.now = t2 = t1 + timedelta(hours=2)
    assert run(t2) == 2 * 720
    assert run(t2) == 0
    day = landed(data_dir, "readings", "2026-11-20")
    assert day.height == 2881 + 2880
    assert day.select("instance", "reading_id").is_unique().all()

    # New readings across midnight land in both days, still once each.
    sim.config.now = t3 = datetime(2026, 11, 21, 0, 30, tzinfo=UTC)
    assert run(t3) == 2 * (16 * 360 + 180)
    assert landed(data_dir, "readings", "2026-11-20").height == 2 * PER_DAY
    assert landed(data_dir, "readings", "2026-11-21").height == 181 + 180
    full = land_readings([make_client(server, HOME), make_client(server, CABIN)], "2026-11-20")
    assert full.landed_rows == 2 * PER_DAY  # the partition run agrees with the cursor runs


def test_twenty_percent_faults_land_the_same_rows(start_simulator, data_dir: Path) -> None:
    day = "2026-11-19"
    clean = start_simulator("dsmr", DsmrSimulatorConfig(now=NOW))
    sims = (HOME, FLAT)
    land_readings([make_client(clean, s, limit=1000) for s in sims], day)
    land_hour_statistics([make_client(clean, s, limit=10) for s in sims], day)
    land_day_statistics([make_client(clean, s) for s in sims], day)
    expected = {d: rows_of(landed(data_dir, d, day)) for d in ("readings", "hour_statistics", "day_statistics")}
    assert expected["hour_statistics"].height == 48 and expected["day_statistics"].height == 2

    faults = FaultConfig(rate=0.2, kinds=FAULT_KINDS, seed=13, slow_s=1.0)
    faulty = start_simulator("dsmr", DsmrSimulatorConfig(now=NOW), faults=faults)
    land_readings([make_client(faulty, s, limit=1000, timeout_s=0.5) for s in sims], day)
    land_hour_statistics([make_client(faulty, s, limit=10, timeout_s=0.5) for s in sims], day)
    land_day_statistics([make_client(faulty, s, timeout_s=0.5) for s in sims], day)
    assert sum(faulty.faults.injected.values()) >= 3
    for dataset, frame in expected.items():
        assert rows_of(landed(data_dir, dataset, day)).equals(frame), dataset


def test_instances_come_from_one_json_setting_and_keys_from_named_variables() -> None:
    instances = instances_from_env(DEFAULT_ENV["DSMR_INSTANCES"], DEFAULT_ENV)
    assert [(i.name, i.timezone) for i in instances] == [(s.name, s.timezone) for s in DEFAULT_INSTANCES]
    assert instances[0].api_key == HOME.api_key and HOME.api_key not in repr(instances[0])
    spec = json.dumps([{"name": "attic", "base_url": "http://meter.local"}])
    with pytest.raises(ValueError, match="DSMR_ATTIC_API_KEY"):
        instances_from_env(spec, {})
    attic = instances_from_env(spec, {"DSMR_ATTIC_API_KEY": "k"})[0]
    assert attic.timezone == "Europe/Amsterdam" and attic.auth == "x-authkey"


def test_malformed_readings_go_to_quarantine_with_reasons(start_simulator, data_dir: Path) -> None:
    server = start_simulator("dsmr", DsmrSimulatorConfig(now=NOW, malformed=True))
    result = land_readings([make_client(server, HOME, limit=1000)], "2026-11-18")
    held = landed(data_dir, "readings", "2026-11-18", zone="quarantine")
    assert result.quarantined_rows == held.height > 0
    assert result.landed_rows + result.quarantined_rows == PER_DAY
    reasons = held["reason"].unique().sort().to_list()
    # Each reason names the field and the value that did not read.
    assert reasons == [
        'DsmrReading: electricity_delivered_1: "12.3.4" is not a decimal',
        'DsmrReading: timestamp: "2026-13-45T99:00:00+01:00" is not an ISO 8601 instant with its UTC offset',
    ]
    assert held.filter(pl.col("reason").str.contains("timestamp"))["record"].str.contains("2026-13-45").all()
    assert set(held["_source"]) == {"api/v2/datalogger/dsmrreading"}


def test_statistics_of_a_day_not_yet_generated_land_empty_with_a_warning(start_simulator, data_dir, caplog) -> None:
    # At 04:00Z Amsterdam's 2026-11-22 is ready (local midnight + 2 h), St. John's (05:30Z) is not.
    server = start_simulator("dsmr", DsmrSimulatorConfig(now=datetime(2026, 11, 23, 4, tzinfo=UTC)))
    caplog.set_level(logging.WARNING)
    clients = [make_client(server, HOME), make_client(server, CABIN)]
    result = land_day_statistics(clients, "2026-11-22")
    assert result.landed_rows == 1
    assert landed(data_dir, "day_statistics", "2026-11-22")["instance"].to_list() == ["home"]
    assert "day statistics 2026-11-22: none yet on instance cabin" in caplog.text


# -- the simulator behaves as a real v5.11 server was seen to --------------------------------------
@pytest.mark.parametrize(
    ("param", "wall"),
    [
        ("timestamp__gte", "2026-10-25 02:00:00"),  # Amsterdam: 02:00-03:00 happens twice
        ("timestamp__lte", "2026-03-29 02:30:00"),  # and never happens in spring
    ],
)
def test_simulator_refuses_ambiguous_or_missing_wall_times_as_django_does(server, param: str, wall: str) -> None:
    url = f"{server.url}/home/api/v2/datalogger/dsmrreading"
    answer = httpx.get(url, headers={"X-AUTHKEY": HOME.api_key}, params={param: wall})
    assert answer.status_code == 400
    assert answer.json() == {
        param: [
            f"{wall} couldn't be interpreted in time zone Europe/Amsterdam; it may be ambiguous or it may not exist."
        ]
    }
    hours = httpx.get(
        f"{server.url}/home/api/v2/statistics/hour",
        headers={"X-AUTHKEY": HOME.api_key},
        params={"hour_start__lte": wall},
    )
    assert hours.status_code == 400 and "hour_start__lte" in hours.json()


def test_simulator_filters_by_iso_8601_with_an_offset(server) -> None:
    url = f"{server.url}/home/api/v2/datalogger/dsmrreading"
    headers = {"X-AUTHKEY": HOME.api_key}
    for gte in ("2026-10-25T00:00:00+00:00", "2026-10-25T00:00:00Z", "2026-10-25T02:00:00+02:00"):
        page = httpx.get(url, headers=headers, params={"timestamp__gte": gte, "timestamp__lte": gte, "limit": 5})
        assert page.status_code == 200, page.text
        assert [r["timestamp"] for r in page.json()["results"]] == ["2026-10-25T02:00:00+02:00"]
    # The second 02:00 local, one hour later in UTC, is reachable too.
    later = httpx.get(url, headers=headers, params={"timestamp__gte": "2026-10-25T01:00:00+00:00", "limit": 1})
    assert later.json()["results"][0]["timestamp"] == "2026-10-25T02:00:00+01:00"
    # An unencoded `+` arrives as a space: not a date/time.
    raw = httpx.get(f"{url}?timestamp__gte=2026-10-25T00:00:00+00:00", headers=headers)
    assert raw.status_code == 400 and raw.json() == {"timestamp__gte": ["Enter a valid date/time."]}


def test_simulator_answers_consumption_today_with_a_bare_string_when_it_has_no_readings(start_simulator) -> None:
    server = start_simulator("dsmr", DsmrSimulatorConfig(now=NOW))
    url, headers = f"{server.url}/home/api/v2/consumption/today", {"X-AUTHKEY": HOME.api_key}
    assert httpx.get(url, headers=headers).json()["day"] == "2026-11-23"
    config = server.app.state.simulator.config
    config.today_unprocessed = True  # e.g. the datalogger is down
    answer = httpx.get(url, headers=headers)
    assert answer.status_code == 200 and answer.json() == "No electricity readings found for: 2026-11-23"
    config.no_data_today_form = "list"
    assert httpx.get(url, headers=headers).json() == []
    # Naturally too: at local midnight, before the day's first reading (CABIN reads at :03).
    config.today_unprocessed, config.no_data_today_form = False, "string"
    config.now = datetime(2026, 11, 23, 3, 30, 1, tzinfo=UTC)  # 00:00:01 in St. John's
    cabin = httpx.get(f"{server.url}/cabin/api/v2/consumption/today", headers={"X-AUTHKEY": CABIN.api_key})
    assert cabin.json() == "No electricity readings found for: 2026-11-23"


def test_simulator_hour_statistics_miss_the_step_across_each_hour_boundary(server) -> None:
    headers = {"X-AUTHKEY": HOME.api_key}
    day = "2026-10-25"  # 25 local hours
    hours = httpx.get(
        f"{server.url}/home/api/v2/statistics/hour",
        headers=headers,
        params={"hour_start__gte": "2026-10-24T22:00:00Z", "hour_start__lte": "2026-10-25T23:00:00+01:00", "limit": 50},
    ).json()["results"]
    totals = httpx.get(
        f"{server.url}/home/api/v2/statistics/day", headers=headers, params={"day__gte": day, "day__lte": day}
    ).json()["results"][0]
    assert len(hours) == 25

    def hours_sum(field: str) -> Decimal:
        return sum((Decimal(h[field]) for h in hours), Decimal(0))

    assert hours_sum("gas") == Decimal(totals["gas"]) > 0  # gas adds up
    for field in ("electricity1", "electricity1_returned"):  # the 24 steps between hours are in none
        assert hours_sum(field) < Decimal(totals[field])
    # One hour = its last reading minus its first.
    first_hour = hours[0]
    readings = httpx.get(
        f"{server.url}/home/api/v2/datalogger/dsmrreading",
        headers=headers,
        params={"timestamp__gte": "2026-10-24T22:00:00Z", "timestamp__lte": "2026-10-24T22:59:59Z", "limit": 400},
    ).json()["results"]
    assert len(readings) == 360
    step = Decimal(readings[-1]["electricity_delivered_1"]) - Decimal(readings[0]["electricity_delivered_1"])
    assert Decimal(first_hour["electricity1"]) == step
    assert totals["electricity_reading_timestamp"] == readings[0]["timestamp"] == "2026-10-25T00:00:00+02:00"


# -- the client against the server's real behaviour ---------------------------------------------------
@pytest.mark.parametrize(
    ("sim", "days", "local_hours"),
    [
        (HOME, ["2026-03-28", "2026-03-29", "2026-03-30"], [24, 23, 24]),  # Amsterdam springs forward
        (HOME, ["2026-10-24", "2026-10-25", "2026-10-26"], [24, 25, 24]),  # and falls back
        (CABIN, ["2026-03-07", "2026-03-08", "2026-03-09"], [24, 23, 24]),  # St. John's, -03:30 -> -02:30
        (CABIN, ["2026-10-31", "2026-11-01", "2026-11-02"], [24, 25, 24]),  # and back
    ],
)
def test_every_partition_around_a_clock_change_lands_each_reading_once(
    server, data_dir: Path, sim: SimInstance, days: list[str], local_hours: list[int]
) -> None:
    frames = []
    for day, hours in zip(days, local_hours, strict=True):
        result = land_readings([make_client(server, sim)], day)
        frame = landed(data_dir, "readings", day)
        start = datetime.fromisoformat(day).replace(tzinfo=UTC)
        assert result.landed_rows == frame.height == PER_DAY, day
        assert frame["measured_at"].min() == start + timedelta(seconds=sim.phase_s)
        assert frame["measured_at"].max() < start + timedelta(days=1)
        frames.append(frame)
        # Statistics of the local day with the partition's date, as many hours as that day has.
        assert land_hour_statistics([make_client(server, sim)], day).landed_rows == hours, day
        assert land_day_statistics([make_client(server, sim)], day).landed_rows == 1, day
    both = pl.concat(frames)
    ids = both["reading_id"]
    assert ids.is_unique().all() and ids.max() - ids.min() + 1 == both.height == 3 * PER_DAY  # none lost, none twice


@pytest.mark.parametrize(
    "first_run",
    [
        datetime(2026, 3, 29, 0, 30, tzinfo=UTC),  # Amsterdam: 02:00-03:00 never happens (01:00Z)
        datetime(2026, 10, 24, 23, 30, tzinfo=UTC),  # 02:00-03:00 happens twice (00:00Z-02:00Z)
    ],
)
def test_readings_recent_crosses_a_clock_change_without_getting_stuck(
    start_simulator, data_dir: Path, first_run: datetime
) -> None:
    server = start_simulator("dsmr", DsmrSimulatorConfig(now=first_run, instances=(HOME,)))
    config = server.app.state.simulator.config
    midnight = first_run.replace(hour=0, minute=0)
    assert land_recent_readings([make_client(server, HOME)], first_run)[0] == (first_run - midnight).seconds // 10 + 1
    for step in range(1, 7):  # every 30 min across the change
        config.now = now = first_run + timedelta(minutes=30 * step)
        new_rows, _ = land_recent_readings([make_client(server, HOME)], now)
        assert new_rows == 180, now
        assert read_cursor("dsmr", "readings_home")["last_measured_at"] == now.isoformat()
    landed_days = pl.concat(
        [landed(data_dir, "readings", d.isoformat()) for d in sorted({midnight.date(), now.date()})]
    )
    assert landed_days.height == (now - midnight).total_seconds() // 10 + 1
    assert landed_days["reading_id"].is_unique().all()


def test_the_zone_check_reads_every_ending_however_many_a_server_writes() -> None:
    # Offsets are worked out once per distinct ending and a few are kept per client; a server
    # writing a new ending on every row is checked row by row all the same, without a growing memory.
    at = [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=i) for i in range(200)]
    odd = [f"2026-01-01T01:{i % 60:02d}:00+01:00 x{i:03d}" for i in range(199)]  # no offset at the end
    page = pl.DataFrame({"measured_at": at, "timestamp_raw": [*odd, "2026-01-01T03:19:00+03:19"]})
    with DsmrClient(DsmrInstance("cabin", "http://127.0.0.1:1/cabin", "key", "Europe/Amsterdam")) as client:
        with pytest.raises(VendorDataError, match=r"UTC offsets \+03:19, .* has \+01:00"):
            client.check_zone(page, "measured_at", "timestamp_raw", "api/v2/datalogger/dsmrreading")
        client.check_zone(page.head(199), "measured_at", "timestamp_raw", "api/v2/datalogger/dsmrreading")
        assert len(client._known_offsets) <= 64


def test_a_mis_set_timezone_fails_the_run_naming_the_setting_and_offsets(server, data_dir: Path) -> None:
    # The server keeps St. John's time; the client was told Amsterdam.
    mis_set = replace(CABIN, timezone="Europe/Amsterdam")
    for land in (land_readings, land_hour_statistics):
        with pytest.raises(VendorDataError) as err:
            land([make_client(server, mis_set)], "2026-11-20")
        message = str(err.value)
        assert "DSMR_INSTANCES" in message and "`timezone`" in message and "cabin" in message
        assert "-03:30" in message and "+01:00" in message and "Europe/Amsterdam" in message
    assert not list(data_dir.rglob("date=*"))  # nothing landed
    # A server answering in UTC shows no zone, but its hours start at :30 in Amsterdam.
    server.app.state.simulator.config.timestamp_form = "utc_z"
    with pytest.raises(
        VendorDataError, match=r"hours start at :30 past the hour in 'Europe/Amsterdam'.*DSMR_INSTANCES"
    ):
        land_hour_statistics([make_client(server, mis_set)], "2026-11-20")


def test_consumption_today_without_readings_lands_nothing_for_that_instance(start_simulator, data_dir, caplog) -> None:
    # 03:30:01Z: Amsterdam's day has readings, St. John's day is one second old.
    server = start_simulator("dsmr", DsmrSimulatorConfig(now=datetime(2026, 11, 23, 3, 30, 1, tzinfo=UTC)))
    caplog.set_level(logging.WARNING)
    result = land_consumption_today([make_client(server, HOME), make_client(server, CABIN)])
    assert result.landed_rows == 1 and result.quarantined_rows == 0
    assert "consumption/today: nothing yet on instance cabin" in caplog.text
    config = server.app.state.simulator.config
    config.today_unprocessed, config.no_data_today_form = True, "list"
    assert land_consumption_today([make_client(server, HOME)]).landed_rows == 0


@pytest.mark.parametrize(
    "forms",
    [
        {"timestamp_form": "utc_z"},  # as the rst's examples
        {"timestamp_form": "utc_offset", "fractional_seconds": True},
        {"fractional_seconds": True, "decimals_as_numbers": True},
    ],
)
def test_every_open_answer_form_lands_the_same_rows(start_simulator, forms: dict) -> None:
    def pull(config: DsmrSimulatorConfig) -> list[pl.DataFrame]:
        server = start_simulator("dsmr", config)
        start = datetime(2026, 10, 25, tzinfo=UTC)
        with make_client(server, CABIN) as cabin, make_client(server, HOME) as home:
            readings = pl.concat(list(home.reading_pages(start, start + timedelta(hours=3))))
            before_install = list(
                home.reading_pages(datetime(2019, 1, 1, tzinfo=UTC), datetime(2019, 1, 2, tzinfo=UTC))
            )
            assert before_install == []  # an empty answer is no error
            hours = pl.concat(list(cabin.hour_statistics(date(2026, 11, 1))))
            days = pl.concat(list(home.day_statistics(date(2026, 10, 24), date(2026, 10, 26))))
        return [readings.drop("timestamp_raw"), hours.drop("hour_start_raw"), days]

    expected = pull(DsmrSimulatorConfig(now=NOW))
    assert [f.height for f in expected] == [1080, 25, 3]
    for got, want in zip(pull(DsmrSimulatorConfig(now=NOW, **forms)), expected, strict=True):
        assert got.equals(want)


@pytest.mark.parametrize("refusal", ["Invalid auth key", "API is disabled"])
def test_a_refusal_is_asked_once_and_lands_nothing(server, data_dir: Path, refusal: str) -> None:
    if refusal == "API is disabled":
        server.app.state.simulator.config.api_enabled = False
    client = make_client(server, HOME, key=HOME.api_key if refusal == "API is disabled" else "not-the-key")
    sent: list[httpx.Request] = []
    client.http._http.event_hooks["request"].append(sent.append)  # count what goes on the wire
    with pytest.raises(VendorRequestError, match=refusal):
        land_readings([client], "2026-11-20")
    assert len(sent) == 1  # 403 is final: no retry
    assert not list(data_dir.rglob("date=*"))


PLAIN_RECORD = {
    "id": 7,
    "timestamp": "2026-01-15T01:00:10+01:00",
    "electricity_delivered_1": "13587.399",
    "electricity_returned_1": 0.0,
    "electricity_delivered_2": 14218.093,
    "electricity_returned_2": "12.345",
    "electricity_currently_delivered": "0.632",
    "electricity_currently_returned": "0.000",
    "phase_voltage_l1": "230.1",
    "phase_power_current_l1": 3,
    "extra_device_timestamp": "2026-01-15T00:00:00.500000Z",
    "extra_device_delivered": "11455.647",
}


def _page(results: object, **head: object) -> bytes:
    body = {"count": 2, "next": "http://dsmr/api?offset=2", "previous": None, **head, "results": results}
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    "content",
    [
        _page([PLAIN_RECORD, {**PLAIN_RECORD, "id": 8, "timestamp": "2026-01-15T00:00:20Z"}]),
        _page([PLAIN_RECORD], next=None, count=None),
    ],
)
def test_a_plain_readings_page_read_from_its_bytes_equals_the_orjson_path(content: bytes) -> None:
    plain = transform.plain_readings_page(content, "home")
    assert plain is not None
    body = json.loads(content)
    assert plain[0].equals(transform.readings_frame(body["results"], "home"))
    assert plain[1:] == (body["next"], int(body["count"] or 0))


@pytest.mark.parametrize(
    "content",
    [
        _page([{**PLAIN_RECORD, "id": "abc"}]),  # its reason quotes the value as orjson gives it
        _page([{**PLAIN_RECORD, "electricity_delivered_1": {"a": 1}}]),
        _page([{**PLAIN_RECORD, "id": 2**64}]),
        _page([None, PLAIN_RECORD]),
        _page([PLAIN_RECORD], next=False),
        _page([PLAIN_RECORD], count="many"),
        _page({}),
        b"[" + _page([PLAIN_RECORD]) + b"]",
        _page([{**PLAIN_RECORD, "timestamp": "\\ud800"}]).replace(b"\\\\ud800", b"\\ud800"),
        b"not json",
    ],
)
def test_any_other_readings_page_takes_the_orjson_path(content: bytes) -> None:
    assert transform.plain_readings_page(content, "home") is None
