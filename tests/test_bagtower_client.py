"""Bagtower client, simulator and landing over real HTTP: paths, auth, secrets, x/y series,
pushed logs, incremental issues and faults."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import polars as pl
import pytest

from pipelines.cursors import cursor_path
from pipelines.http import RetryPolicy, VendorRequestError
from pipelines.simulation.answers import EMPTY_FORMS
from pipelines.simulation.faults import FAULT_KINDS, FaultConfig
from pipelines.vendors.bagtower import paths
from pipelines.vendors.bagtower.assets import land_device_logs, land_issues
from pipelines.vendors.bagtower.client import BagtowerClient
from pipelines.vendors.bagtower.fleet import POOL_KEY
from pipelines.vendors.bagtower.simulator import API_KEY, COMPANY_ID, OPEN_STOP_TS, BagtowerSimulatorConfig
from pipelines.vendors.bagtower.transform import issues_frame

DAY = "2026-11-20"
DAY_START = datetime(2026, 11, 20, tzinfo=UTC)
NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)  # the simulator's clock in the issue tests


def client_for(server, api_key: str = API_KEY, timeout_s: float = 30.0) -> BagtowerClient:
    # A 429's `Retry-After: 1` is honoured (test_http); here waiting it out only adds seconds.
    retry = RetryPolicy(max_attempts=8, backoff_base_s=0.01, backoff_max_s=0.2, retry_after_max_s=0.05)
    return BagtowerClient(f"{server.url}/prod", api_key, COMPANY_ID, timeout_s=timeout_s, retry=retry)


def landed(data_dir: Path, zone: str, dataset: str, day: str = "*") -> pl.DataFrame:
    return pl.read_parquet(data_dir / zone / "bagtower" / dataset / f"date={day}" / "*.parquet")


def rows_of(frame: pl.DataFrame) -> pl.DataFrame:
    columns = [c for c in frame.columns if c != "_extracted_at"]
    return frame.select(columns).sort(columns)


def test_every_read_path_answers_with_the_key_and_refuses_without(start_simulator) -> None:
    server = start_simulator("bagtower")
    sim = server.app.state.simulator
    device = sim.devices[0].id
    issue = sim.issues(int(DAY_START.timestamp()) - 20 * 86_400, int(DAY_START.timestamp()))[0]["id"]
    ids = {
        "companyId": COMPANY_ID,
        "id": device,
        "deviceId": device,
        "causeId": sim.causes[0]["id"],
        "solutionId": sim.solutions[0]["id"],
    }
    reads = [v for k, v in vars(paths).items() if k.isupper() and k not in ("BASE_PATH", "LOGS", "POOL_LOGS")]
    for template in reads:
        values = {**ids, "id": issue} if template in (paths.ISSUE, paths.ISSUE_EVENTS) else ids
        if template == paths.MONITOR:
            values = {**ids, "id": sim.monitors[0].id}
        url = f"{server.url}/prod{template.format(**values)}"
        assert httpx.get(url, headers={"x-api-key": API_KEY}).status_code == 200, template
        refused = httpx.get(url, headers={"x-api-key": "wrong"})
        assert (refused.status_code, refused.json()) == (403, {"message": "Forbidden"}), template


def test_wrong_key_is_a_clear_error_without_the_key(start_simulator, caplog) -> None:
    server = start_simulator("bagtower")
    wrong = "bt-wrong-Key-123!"
    with caplog.at_level(logging.DEBUG), client_for(server, wrong) as client, pytest.raises(VendorRequestError) as err:
        client.devices()
    message = str(err.value)
    assert message.startswith("bagtower devices failed (status 403)")
    assert COMPANY_ID in message
    assert wrong not in message and wrong not in caplog.text


def test_summary_series_of_unequal_length_are_quarantined(start_simulator, data_dir: Path) -> None:
    clean = land_device_logs(client_for(start_simulator("bagtower")), DAY, raw=False)
    server = start_simulator("bagtower", BagtowerSimulatorConfig(malformed=True))
    result = land_device_logs(client_for(server), DAY, raw=False)
    first = server.app.state.simulator.devices[0].id
    quarantined = landed(data_dir, "quarantine", "device_log_summaries", DAY)
    assert result.quarantined_rows == quarantined.height == 1
    assert quarantined["reason"].to_list() == [
        f"temperature max of device {first}: x and y differ in length (24 x, 23 y)"
    ]
    record = quarantined["record"][0]
    assert '"aggregate":"max"' in record and '"metric_id":"temperature"' in record
    assert result.landed_rows == clean.landed_rows - 24  # the other series landed whole
    good = landed(data_dir, "landing", "device_log_summaries", DAY)
    hourly_means = good.filter(
        (pl.col("device_id") == first) & (pl.col("metric_id") == "temperature") & (pl.col("aggregate") == "mean")
    )
    assert hourly_means.height == 24
    assert hourly_means["measured_at"].min() == DAY_START


def test_summary_statistics_match_the_raw_values(start_simulator, data_dir: Path) -> None:
    server = start_simulator("bagtower")
    land_device_logs(client_for(server), DAY, raw=True)
    land_device_logs(client_for(server), DAY, raw=False)
    raw = landed(data_dir, "landing", "device_logs", DAY)
    summary = landed(data_dir, "landing", "device_log_summaries", DAY)
    first = server.app.state.simulator.devices[0].id
    expected = (
        raw.filter((pl.col("device_id") == first) & (pl.col("metric_id") == "humidity"))
        .group_by(pl.col("measured_at").dt.truncate("1h"))
        .agg(pl.col("value").max().alias("max"), pl.col("value").count().alias("n"))
        .sort("measured_at")
    )
    got = summary.filter(
        (pl.col("device_id") == first) & (pl.col("metric_id") == "humidity") & (pl.col("aggregate") == "max")
    ).sort("measured_at")
    assert expected["n"].to_list() == [12] * 24  # a 5-minute period
    assert got["value"].to_list() == expected["max"].to_list()
    assert raw["measured_at"].dt.date().unique().to_list() == [DAY_START.date()]


def test_pushed_logs_come_back_through_extraction(start_simulator, data_dir: Path) -> None:
    server = start_simulator("bagtower")
    sim = server.app.state.simulator
    device = sim.devices[0]
    pool_device = next(d for d in sim.devices if d.pool)
    at = int(DAY_START.timestamp()) + 3 * 3600 + 7  # off the device's 5-minute grid
    with client_for(server) as client:
        key = client.device_key(device.id)
        answer = client.push_log(key, device.id, at, [{"id": "temperature", "type": "number", "val": "12.34"}])
        assert answer == {"deviceId": device.id, "period": 300}
        client.push_pool_log(POOL_KEY, pool_device.id, at, [{"id": "temperature", "type": "number", "val": "-18.5"}])
        with pytest.raises(VendorRequestError) as err:
            client.push_log("not-the-device-key", device.id, at, [{"id": "temperature", "type": "number", "val": "1"}])
        assert err.value.status == 403
    land_device_logs(client_for(server), DAY, raw=True)
    raw = landed(data_dir, "landing", "device_logs", DAY)
    pushed = raw.filter(pl.col("unix_timestamp") == at).sort("value")
    assert pushed.select("device_id", "metric_id", "value").rows() == [
        (pool_device.id, "temperature", -18.5),
        (device.id, "temperature", 12.34),
    ]
    assert pushed["measured_at"].to_list() == [datetime.fromtimestamp(at, UTC)] * 2


def test_issues_filters_and_open_marker(start_simulator) -> None:
    server = start_simulator("bagtower", BagtowerSimulatorConfig(now=NOW.timestamp()))
    base = f"{server.url}/prod{paths.ISSUES.format(companyId=COMPANY_ID)}"
    window = {"startts": str(int((NOW - timedelta(days=30)).timestamp())), "stopts": str(int(NOW.timestamp()))}

    def get(**flags: str) -> list[dict]:
        return httpx.get(base, params={**window, **flags}, headers={"x-api-key": API_KEY}).json()

    every = get(archived="true")
    active, closed, default = get(active="true"), get(closed="true"), get()
    assert active and closed and len(every) > len(default)
    assert {i["stopTs"] for i in active} == {OPEN_STOP_TS}
    assert all(i["stopTs"] <= NOW.timestamp() for i in closed)
    assert not any(i["isArchived"] for i in default) and any(i["isArchived"] for i in every)
    frame = issues_frame(every)
    assert frame.filter(pl.col("is_open"))["stopped_at"].null_count() == len(active)
    assert frame.filter(~pl.col("is_open"))["stopped_at"].null_count() == 0
    assert frame["cause_id"].null_count() < frame.height and frame["cost"].n_unique() > 3


def test_issues_land_by_modification_day_and_rerun_identically(start_simulator, data_dir: Path) -> None:
    server = start_simulator("bagtower", BagtowerSimulatorConfig(now=NOW.timestamp()))
    issue_results, event_results = land_issues(client_for(server), now=NOW)
    assert len(issue_results) == 31  # 30 days back to today, each landed whole
    first = rows_of(landed(data_dir, "landing", "issues"))
    events = landed(data_dir, "landing", "issue_events")
    assert first.height == sum(r.landed_rows for r in issue_results) > 0
    assert first["issue_id"].is_unique().all()
    assert set(events["issue_id"]) == set(first["issue_id"])
    # Each issue sits under the day of its last modification.
    files = landed(data_dir, "landing", "issues").with_columns(pl.col("modified_at").dt.date().alias("modified_on"))
    assert files["modified_on"].max() <= NOW.date()
    cursor = cursor_path("bagtower", "issues").read_text()
    assert str(int(first["modified_at"].max().timestamp())) in cursor
    # The same clock again: the days from the cursor on are landed again, and nothing doubles.
    land_issues(client_for(server), now=NOW)
    assert rows_of(landed(data_dir, "landing", "issues")).equals(first)


def test_issues_without_device_field_are_mapped_through_the_device_listing(start_simulator, data_dir: Path) -> None:
    config = BagtowerSimulatorConfig(now=NOW.timestamp(), issue_device_field=False)
    server = start_simulator("bagtower", config)
    land_issues(client_for(server), now=NOW)
    issues = landed(data_dir, "landing", "issues")
    assert issues.height > 0 and issues["device_id"].null_count() == 0
    assert set(issues["device_id"]) <= {d.id for d in server.app.state.simulator.devices}


def test_twenty_percent_faults_land_the_same_rows_and_no_secret(start_simulator, data_dir: Path, caplog) -> None:
    config = BagtowerSimulatorConfig(now=NOW.timestamp(), malformed=True)
    clean = start_simulator("bagtower", config)
    land_device_logs(client_for(clean), DAY, raw=False)
    land_device_logs(client_for(clean), DAY, raw=True)
    land_issues(client_for(clean), now=NOW)
    datasets = ("device_log_summaries", "device_logs", "issues", "issue_events")
    expected = {d: rows_of(landed(data_dir, "landing", d)) for d in datasets}
    quarantined = rows_of(landed(data_dir, "quarantine", "device_log_summaries"))
    cursor_path("bagtower", "issues").unlink()

    faults = FaultConfig(rate=0.2, kinds=FAULT_KINDS, seed=5, slow_s=1.0)
    faulty = start_simulator("bagtower", BagtowerSimulatorConfig(now=NOW.timestamp(), malformed=True), faults=faults)
    with caplog.at_level(logging.DEBUG):
        land_device_logs(client_for(faulty, timeout_s=0.5), DAY, raw=False)
        land_device_logs(client_for(faulty, timeout_s=0.5), DAY, raw=True)
        land_issues(client_for(faulty, timeout_s=0.5), now=NOW)
    assert sum(faulty.faults.injected.values()) >= 5
    assert "retrying" in caplog.text
    assert API_KEY not in caplog.text
    for dataset in datasets:
        assert rows_of(landed(data_dir, "landing", dataset)).equals(expected[dataset]), dataset
    assert rows_of(landed(data_dir, "quarantine", "device_log_summaries")).equals(quarantined)
    sources = pl.concat([landed(data_dir, "landing", d).select("_source") for d in datasets])
    assert not sources["_source"].str.contains(API_KEY).any()


@pytest.mark.parametrize("form", EMPTY_FORMS)
def test_every_form_of_an_empty_issue_list_reads_as_no_issue(start_simulator, form: str) -> None:
    server = start_simulator("bagtower", BagtowerSimulatorConfig(now=NOW.timestamp(), empty_form=form))
    long_ago = NOW - timedelta(days=3000)
    answer = httpx.get(
        f"{server.url}/prod{paths.ISSUES.format(companyId=COMPANY_ID)}",
        params={"startts": str(int(long_ago.timestamp())), "stopts": str(int(long_ago.timestamp()) + 60)},
        headers={"x-api-key": API_KEY},
    )
    assert (answer.status_code, answer.content) == {
        "list": (200, b"[]"),
        "object": (200, b"{}"),
        "null": (200, b"null"),
        "string": (200, b'""'),
        "no_content": (204, b""),
    }[form]
    with client_for(server) as client:
        assert client.issues(long_ago, long_ago + timedelta(minutes=1)) == []
        assert client.issues(NOW - timedelta(days=30), NOW)  # a window with issues still lists them


@pytest.mark.parametrize("bounds", ["[]", "(]", "()"])
def test_every_reading_of_the_log_bounds_lands_the_same_day(start_simulator, data_dir: Path, bounds: str) -> None:
    """The doc does not say whether start/end are inclusive: a midnight value lands once, in its day."""
    land_device_logs(client_for(start_simulator("bagtower")), DAY, raw=True)
    expected = rows_of(landed(data_dir, "landing", "device_logs", DAY))
    assert (expected["measured_at"] == DAY_START).any()
    land_device_logs(client_for(start_simulator("bagtower", BagtowerSimulatorConfig(log_bounds=bounds))), DAY, raw=True)
    assert rows_of(landed(data_dir, "landing", "device_logs", DAY)).equals(expected)
