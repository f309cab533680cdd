"""BAXO client and simulator over real HTTP: time base, exact rows, paging, auth, secrets."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import httpx
import polars as pl
import pytest

from pipelines.http import RetryPolicy, VendorDataError, VendorRequestError
from pipelines.simulation.answers import EMPTY_FORMS
from pipelines.vendors.baxo.assets import land_devices, land_historics
from pipelines.vendors.baxo.client import BaxoClient
from pipelines.vendors.baxo.simulator import CORRECTION, PASSWORD, USERNAME, BaxoSimulatorConfig, SimDevice
from pipelines.vendors.baxo.timebase import baxo_seconds_to_utc, to_baxo_seconds
from pipelines.vendors.baxo.transform import historics_frame

DAY = datetime(2026, 11, 20, tzinfo=UTC)
FIRST_DEVICE = "549505905"  # first device of contract CT001 under the simulator's default seed


def client_for(server, password: str = PASSWORD, **kwargs) -> BaxoClient:
    return BaxoClient(f"{server.url}/k1", USERNAME, password, retry=RetryPolicy(backoff_base_s=0.01), **kwargs)


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, datetime(2000, 1, 1, tzinfo=UTC)),
        (578590638, datetime(2018, 5, 2, 15, 37, 18, tzinfo=UTC)),  # the doc's example
        (1200798847, datetime(2038, 1, 19, 3, 14, 7, tzinfo=UTC)),  # 2^31 - 1 in Unix seconds
        (1200798848, datetime(2038, 1, 19, 3, 14, 8, tzinfo=UTC)),  # one past: no 32-bit wrap
        (-1, datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC)),
    ],
)
def test_2000_epoch_conversion(seconds: int, expected: datetime) -> None:
    converted = pl.select(baxo_seconds_to_utc(pl.lit(seconds))).item()
    assert converted == expected
    assert to_baxo_seconds(expected) == seconds


def test_exact_rows_for_a_known_device_and_day(start_simulator) -> None:
    server = start_simulator("baxo")
    with client_for(server) as client:
        contract = client.contracts()[0]
        assert contract["reference"] == "CT001"
        pages = list(client.historic_pages(contract["id"], [FIRST_DEVICE], DAY, DAY + timedelta(days=1)))
    rows = historics_frame(pl.concat(pages), DAY, DAY + timedelta(days=1))
    # 4 tags every 5 minutes; the service's inclusive end brought 00:00 of the next day, dropped here.
    assert rows.group_by("tag_reference").len().sort("tag_reference").rows() == [
        ("ALARM_1", 288),
        ("BATT", 288),
        ("PRES_1", 288),
        ("TEMP_1", 288),
    ]
    assert rows["measured_at"].max() == datetime(2026, 11, 20, 23, 55, tzinfo=UTC)
    first = rows.filter(pl.col("measured_at") == DAY).sort("tag_reference")
    assert first.select("tag_reference", "value_raw", "value", "timestamp_2000", "source_name").rows() == [
        ("ALARM_1", "0", 0.0, 848448000, "device"),
        ("BATT", "3.422", 3.422, 848448000, "device"),
        ("PRES_1", "2.807", 2.807, 848448000, "device"),
        ("TEMP_1", "8.22", 8.22, 848448000, "device"),
    ]


def _one_minute_device(server) -> tuple[str, SimDevice]:
    sim = server.app.state.simulator
    contract = sim.contracts[0]
    device = SimDevice("777", "BENCH", "one tag a minute", 0, "UTC", contract.id, ("TEMP_1",), 60, 99)
    sim.devices.append(device)
    return contract.id, device


@pytest.mark.parametrize(("rows", "pages"), [(10_000, 1), (10_001, 2), (0, 1), (25_000, 3)])
def test_historics_paging_loses_and_repeats_nothing(start_simulator, rows: int, pages: int) -> None:
    server = start_simulator("baxo", BaxoSimulatorConfig(devices_per_contract=1))
    contract_id, _ = _one_minute_device(server)
    # One value a minute on the minute; the 0-row window holds no minute.
    start = DAY if rows else DAY + timedelta(seconds=10)
    end = start + timedelta(minutes=rows - 1) if rows else DAY + timedelta(seconds=50)
    with client_for(server) as client:
        got = list(client.historic_pages(contract_id, ["777"], start, end))
    assert len(got) == pages
    assert [p.height for p in got][:1] == [min(rows, 10_000)]
    frame = pl.concat(got)
    assert frame.height == rows
    assert frame["timestamp"].n_unique() == rows
    if rows:
        seconds = frame["timestamp"].cast(pl.Int64)  # pages carry values as their text
        assert seconds.min() == to_baxo_seconds(start)
        assert seconds.max() == to_baxo_seconds(end)


def test_multi_device_pages_split_series_without_loss(start_simulator) -> None:
    server = start_simulator("baxo", BaxoSimulatorConfig(page_rows=500))
    with client_for(server) as client:
        contract = client.contracts()[0]
        ids = [d["id"] for d in client.devices(contract["id"])]
        paged = pl.concat(list(client.historic_pages(contract["id"], ids, DAY, DAY + timedelta(days=1))))
    whole = start_simulator("baxo")
    with client_for(whole) as client:
        single = pl.concat(list(client.historic_pages(contract["id"], ids, DAY, DAY + timedelta(days=1))))
    assert paged.height == single.height > 2 * 500
    assert paged.sort(paged.columns).equals(single.sort(single.columns))
    assert paged.select("device_id", "tag_reference", "timestamp").is_duplicated().sum() == 0


@pytest.mark.parametrize("form", ["next_to", "at_end"])
def test_corrected_values_come_whole_in_pages_of_any_size(start_simulator, form: str) -> None:
    """Each hourly TEMP_1 of the first device twice, the second CORRECTION higher: every copy
    reaches the client (none taken for a page repeating itself), pages hold no more rows than
    their size, and the rows do not depend on the page size."""
    walks = {}
    for page_rows in (100, 10_000):
        server = start_simulator("baxo", BaxoSimulatorConfig(corrected_values=form, page_rows=page_rows))
        with client_for(server) as client:
            contract_id = server.app.state.simulator.contracts[0].id
            pages = list(client.historic_pages(contract_id, [FIRST_DEVICE], DAY, DAY + timedelta(days=1)))
        assert max(p.height for p in pages) <= page_rows
        walks[page_rows] = pl.concat(pages)
    small, whole = walks[100], walks[10_000]
    assert small.sort(small.columns).equals(whole.sort(whole.columns))
    temperature = whole.filter(pl.col("tag_reference") == "TEMP_1")
    twice = temperature.filter(pl.col("timestamp").is_duplicated())
    hours = 25  # the service's end is inclusive: the next midnight too
    assert twice.height == 2 * hours and twice["timestamp"].n_unique() == hours
    spread = twice.group_by("timestamp").agg(
        pl.col("value").cast(pl.Float64).max() - pl.col("value").cast(pl.Float64).min()
    )
    assert spread["value"].round(6).unique().to_list() == [CORRECTION]
    if form == "next_to":
        assert temperature["timestamp"].is_sorted()
    else:
        # re-sent after every other series: the walk's last rows, on the last pages
        assert whole.tail(hours)["timestamp"].to_list() == twice["timestamp"].unique().sort().to_list()


def test_a_mistyped_correction_form_stops_the_simulator_instead_of_serving_none() -> None:
    with pytest.raises(ValueError, match="corrected_values must be one of"):
        BaxoSimulatorConfig(corrected_values="at-end")  # type: ignore[arg-type]


def test_password_is_sent_once_a_day(start_simulator) -> None:
    server = start_simulator("baxo")
    sim = server.app.state.simulator
    with client_for(server) as client:
        contract = client.contracts()[0]
        client.devices(contract["id"])
        client.device(contract["id"], FIRST_DEVICE)
    assert sim.requests_with_password == 1
    # The doc's own form: a GET without password after the day's first authenticated request.
    answer = httpx.get(f"{server.url}/k1", params={"get": "contracts", "username": USERNAME})
    assert answer.status_code == 200 and len(answer.json()["contracts"]) == 2


def test_password_is_required_on_the_first_request_of_the_day(start_simulator) -> None:
    server = start_simulator("baxo")
    answer = httpx.get(f"{server.url}/k1", params={"get": "contracts", "username": USERNAME})
    assert answer.status_code == 401


def test_wrong_password_is_a_clear_error_without_the_password(start_simulator, caplog) -> None:
    server = start_simulator("baxo")
    wrong = "not-the-Pa55word!"
    with (
        caplog.at_level(logging.DEBUG),
        client_for(server, password=wrong) as client,
        pytest.raises(VendorRequestError) as err,
    ):
        client.contracts()
    message = str(err.value)
    assert message.startswith("baxo k1?get=contracts failed (status 401)")
    assert USERNAME in message
    assert wrong not in message and wrong not in caplog.text


def test_disabled_api_is_a_clear_error(start_simulator) -> None:
    server = start_simulator("baxo", BaxoSimulatorConfig(api_enabled=False))
    with client_for(server) as client, pytest.raises(VendorRequestError) as err:
        client.contracts()
    assert err.value.status == 403
    assert "API" in str(err.value)


def test_realtimes_and_tag_write(start_simulator) -> None:
    server = start_simulator("baxo")
    with client_for(server) as client:
        contract = client.contracts()[0]
        ids = [d["id"] for d in client.devices(contract["id"])]
        several = client.realtimes(contract["id"], ids)
        one = client.realtimes(contract["id"], [FIRST_DEVICE])
        client.write_tag(contract["id"], FIRST_DEVICE, "SEUIL_1", "4.5")
    assert set(several["device_id"]) == set(ids)
    assert one["device_id"].unique().to_list() == [FIRST_DEVICE]
    assert one.sort("tag_reference")["tag_reference"].to_list() == ["ALARM_1", "BATT", "PRES_1", "TEMP_1"]
    assert one.filter(pl.col("tag_reference") == "ALARM_1")["is_event"].to_list() == ["true"]  # typed by the transform
    assert server.app.state.simulator.tag_writes == [{"deviceId": FIRST_DEVICE, "tagRef": "SEUIL_1", "value": "4.5"}]


def test_details_of_another_device_are_quarantined_not_landed_as_the_asked_one(start_simulator, data_dir) -> None:
    honest = land_devices(client_for(start_simulator("baxo")))
    server = start_simulator("baxo", BaxoSimulatorConfig(wrong_device=True))
    result = land_devices(client_for(server))
    sim = server.app.state.simulator
    first_of_each = [next(d for d in sim.devices if d.contract_id == c.id) for c in sim.contracts]
    assert result.landed_rows == honest.landed_rows - len(first_of_each)
    assert result.quarantined_rows == len(first_of_each)
    devices = pl.read_parquet(f"{result.path}/*.parquet")
    assert not set(devices["device_id"]) & {d.id for d in first_of_each}
    held = pl.read_parquet(data_dir / "quarantine" / "baxo" / "devices" / "*" / "*.parquet")
    second = {c.id: [d for d in sim.devices if d.contract_id == c.id][1].id for c in sim.contracts}
    assert sorted(held["reason"]) == sorted(
        f"asked device_id {d.id}, got {second[d.contract_id]}" for d in first_of_each
    )


@pytest.mark.parametrize("form", EMPTY_FORMS)
def test_every_form_of_an_empty_device_list_lands_no_device(start_simulator, form: str) -> None:
    server = start_simulator("baxo", BaxoSimulatorConfig(devices_per_contract=0, empty_form=form))
    with client_for(server) as client:
        contracts = client.contracts()
        assert contracts and all(client.devices(c["id"]) == [] for c in contracts)
    assert land_devices(client_for(server)).landed_rows == 0


@pytest.mark.parametrize("bounds", ["[)", "(]", "()"])
def test_every_reading_of_the_time_bounds_lands_the_same_day(start_simulator, data_dir, bounds: str) -> None:
    """The doc does not say whether startTime/endTime are inclusive: a midnight value lands once."""
    day = "2026-11-20"
    land_historics(client_for(start_simulator("baxo")), day)
    expected = pl.read_parquet(data_dir / "landing" / "baxo" / "device_historics" / f"date={day}" / "*.parquet")
    midnight = datetime(2026, 11, 20, tzinfo=UTC)
    assert (expected["measured_at"] == midnight).any()
    land_historics(client_for(start_simulator("baxo", BaxoSimulatorConfig(time_bounds=bounds))), day)
    again = pl.read_parquet(data_dir / "landing" / "baxo" / "device_historics" / f"date={day}" / "*.parquet")
    assert again.drop("_extracted_at").equals(expected.drop("_extracted_at"))


def test_rows_repeated_across_pages_land_once(start_simulator) -> None:
    server = start_simulator("baxo", BaxoSimulatorConfig(devices_per_contract=1, page_rows=1000, page_overlap=3))
    contract_id, _ = _one_minute_device(server)
    with client_for(server) as client:
        pages = list(client.historic_pages(contract_id, ["777"], DAY, DAY + timedelta(minutes=2499)))
    frame = pl.concat(pages)
    assert frame.height == frame["timestamp"].n_unique() == 2500


def test_pages_that_never_end_stop_with_a_clear_error(start_simulator) -> None:
    server = start_simulator("baxo", BaxoSimulatorConfig(devices_per_contract=1, page_rows=1000, endless_pages=True))
    contract_id, _ = _one_minute_device(server)
    with client_for(server) as client:
        with pytest.raises(VendorDataError, match=r"baxo k1\?get=devices-historics: pagination does not end") as err:
            list(client.historic_pages(contract_id, ["777"], DAY, DAY + timedelta(minutes=1999)))
    assert "5 pages, the last 3 with no new row" in str(err.value) and PASSWORD not in str(err.value)
