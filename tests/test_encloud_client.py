"""enCloud client and simulator over real HTTP: authorisation, token rotation, paging, faults, secrets."""

from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime
from pathlib import Path

import httpx
import polars as pl
import pytest

from pipelines.http import RetryPolicy, VendorRequestError
from pipelines.simulation.answers import EMPTY_FORMS
from pipelines.simulation.faults import FAULT_KINDS, FaultConfig
from pipelines.vendors.encloud import transform
from pipelines.vendors.encloud.assets import land_device_pull
from pipelines.vendors.encloud.client import EncloudClient, md5_password
from pipelines.vendors.encloud.simulator import (
    API_KEY,
    API_USER_EMAIL,
    API_USER_PASSWORD,
    CUSTOMERS,
    DEFAULT_KEYS,
    EncloudSimulatorConfig,
)

DAY = "2026-11-20"
AS_OF = int(datetime(2026, 11, 20, 23, 59, 59, tzinfo=UTC).timestamp())  # the day's last second
KEYS = DEFAULT_KEYS.split(",")


def client_for(server, password: str = API_USER_PASSWORD, email: str = API_USER_EMAIL, **kwargs) -> EncloudClient:
    # A 429's `Retry-After: 1` is honoured (test_http); here waiting it out only adds seconds.
    retry = kwargs.pop(
        "retry", RetryPolicy(max_attempts=8, backoff_base_s=0.01, backoff_max_s=0.2, retry_after_max_s=0.05)
    )
    return EncloudClient(server.url, email, password, API_KEY, retry=retry, **kwargs)


def landed(data_dir: Path, dataset: str, zone: str = "landing") -> pl.DataFrame:
    return pl.read_parquet(data_dir / zone / "encloud" / dataset / f"date={DAY}" / "*.parquet")


def rows_of(frame: pl.DataFrame) -> pl.DataFrame:
    """Landed rows without the run's stamp, in a stable order."""
    columns = [c for c in frame.columns if c not in ("_extracted_at", "as_of")]
    return frame.select(columns).sort(columns)


def uids(pages: list[pl.DataFrame]) -> list[str]:
    return pl.concat(pages)["device_uid"].to_list()


def test_md5_of_the_docs_example() -> None:
    assert md5_password("Pass1234") == "823da4223e46ec671a10ea13d7823534"


@pytest.mark.parametrize(
    ("email", "password", "status", "words"),
    [
        ("nobody@encloud-sim.test", API_USER_PASSWORD, 404, ["unknown user", "9002", "The user is not found."]),
        (API_USER_EMAIL, "wrong-password", 422, ["bad credentials", "9007", "Bad credentials."]),
        ("admin@encloud-sim.test", API_USER_PASSWORD, 403, ["not an API User", "9008"]),
    ],
)
def test_authorise_errors_are_clear(start_simulator, email: str, password: str, status: int, words: list[str]) -> None:
    server = start_simulator("encloud")
    with client_for(server, password=password, email=email) as client, pytest.raises(VendorRequestError) as err:
        list(client.device_pages(AS_OF, KEYS))
    message = str(err.value)
    assert err.value.status == status
    assert message.startswith("encloud integration/users/authorise failed")
    assert all(word in message for word in [email, *words])
    assert password not in message and md5_password(password) not in message


def test_token_expiring_mid_pull_loses_and_repeats_no_device(start_simulator) -> None:
    server = start_simulator("encloud", EncloudSimulatorConfig(token_max_uses=2))
    sim = server.app.state.simulator
    with client_for(server) as client:
        pages = list(client.device_pages(AS_OF, KEYS, limit=25))
    got = uids(pages)
    assert len(pages) == 15  # 360 devices, 25 a page
    assert len(got) == len(set(got)) == 360
    assert client.authorisations == sim.authorise_calls == 8  # a fresh token every two pages
    # the devices in the order the service sorts them: created_at, then UID
    expected = [d.uid for d in sorted(sim.devices, key=lambda d: (d.created_at, d.uid)) if d.created_at <= AS_OF]
    assert got == expected


@pytest.mark.parametrize(
    "config",
    [EncloudSimulatorConfig(token_max_uses=0), EncloudSimulatorConfig(token_lifetime_s=0.0)],
    ids=["no-uses", "no-lifetime"],
)
def test_a_token_refused_right_after_authorising_is_an_error(start_simulator, config) -> None:
    server = start_simulator("encloud", config)
    with client_for(server) as client, pytest.raises(VendorRequestError) as err:
        list(client.device_pages(AS_OF, KEYS))
    assert err.value.status == 401
    assert "auth_token refused again right after authorising" in str(err.value)
    assert client.authorisations == 2


def test_a_device_deleted_mid_pull_does_not_hide_the_next_one(start_simulator) -> None:
    server = start_simulator("encloud")
    sim = server.app.state.simulator
    ordered = sorted((d for d in sim.devices if d.created_at <= AS_OF), key=lambda d: (d.created_at, d.uid))

    def delete_first_after_page_one(simulator, page: int) -> None:
        if page == 1 and ordered[0] in simulator.devices:
            simulator.devices.remove(ordered[0])  # every later device moves up one place

    sim.after_devices_page = delete_first_after_page_one
    with client_for(server) as client:
        got = uids(list(client.device_pages(AS_OF, KEYS, limit=100)))
    # The device that slid from page 2 onto page 1 is found by walking the pages again.
    assert ordered[100].uid in got
    assert sorted(got) == sorted(d.uid for d in ordered)
    assert len(got) == len(set(got))


def test_limit_all_and_paged_pulls_land_identical_rows(start_simulator, data_dir: Path) -> None:
    server = start_simulator("encloud")
    land_device_pull(client_for(server), DAY, KEYS, list(CUSTOMERS), limit=-1)
    all_at_once = {d: rows_of(landed(data_dir, d)) for d in ("devices", "device_readings")}
    devices, readings = land_device_pull(client_for(server), DAY, KEYS, list(CUSTOMERS), limit=100)
    assert devices.landed_rows == 360 and devices.parts == 6  # two pages per customer
    for dataset, expected in all_at_once.items():
        assert rows_of(landed(data_dir, dataset)).equals(expected)
    assert readings.landed_rows == all_at_once["device_readings"].height > 1000


def test_landed_values_match_the_answer(start_simulator, data_dir: Path) -> None:
    server = start_simulator("encloud", EncloudSimulatorConfig(devices_per_customer=10))
    land_device_pull(client_for(server), DAY, KEYS, ["YRK15"])
    with httpx.Client(base_url=server.url) as http:
        basic = base64.b64encode(f"{API_USER_EMAIL}:{md5_password(API_USER_PASSWORD)}".encode()).decode()
        token = http.get("/integration/users/authorise", headers={"Authorization": f"Basic {basic}"}).json()
        headers = {"Authorization": token["user"]["auth_token"], "API-KEY": API_KEY}
        params = {"timestamp": AS_OF, "keys": ",".join(KEYS), "customer_id": "YRK15", "limit": -1}
        answer = http.get("/integration/devices", params=params, headers=headers).json()
    assert answer["totalFilteredResults"] == 10 and answer["sort"] == "created_at"
    device = next(d for d in answer["devices"] if d["state"] == "Registered" and d["last_seen"] >= AS_OF - 3 * 3600)
    row = landed(data_dir, "devices").filter(pl.col("device_uid") == device["device_uid"]).row(0, named=True)
    assert (row["latitude"], row["longitude"]) == tuple(device["location"])
    assert row["customer_id"] == "YRK15" and row["state"] == "Registered"
    assert int(row["last_seen_at"].timestamp()) == device["last_seen"]
    readings = landed(data_dir, "device_readings").filter(pl.col("device_uid") == device["device_uid"])
    by_key = {r["key"]: r for r in readings.iter_rows(named=True)}
    assert by_key["cell.rssi"]["value"] == device["last_data"]["cell.rssi"]
    assert by_key["system.uptime"]["value"] == device["last_data"]["system.uptime"]
    assert by_key["cell.rsrq"]["value"] == pytest.approx(device["last_data"]["cell.rsrq"])
    assert by_key["cell2.status"]["status"] == device["last_data"]["cell2.status"]
    assert all(int(r["measured_at"].timestamp()) == device["last_seen"] for r in by_key.values())
    # Every reading belongs to the partition's day; devices that never checked in have none.
    all_readings = landed(data_dir, "device_readings")
    assert all_readings["measured_at"].dt.date().cast(pl.String).unique().to_list() == [DAY]
    silent = landed(data_dir, "devices").filter(pl.col("last_seen_at").is_null())["device_uid"]
    assert not all_readings["device_uid"].is_in(silent.to_list()).any()


def test_malformed_values_are_quarantined_with_reasons(start_simulator, data_dir: Path) -> None:
    server = start_simulator("encloud", EncloudSimulatorConfig(malformed=True))
    devices, readings = land_device_pull(client_for(server), DAY, KEYS, list(CUSTOMERS))
    quarantined = landed(data_dir, "device_readings", zone="quarantine")
    assert readings.quarantined_rows == quarantined.height > 0 and devices.quarantined_rows == 0
    assert sorted(quarantined["reason"].unique()) == [
        "EncloudReading: numeric key has a number",
        "EncloudReading: status key has a known status",
    ]
    assert quarantined["record"].str.contains('"value_raw":"n/a"').any()
    assert quarantined["record"].str.contains('"status":"rebooting"').any()


def test_invalid_parameters_answer_400_as_documented(start_simulator) -> None:
    server = start_simulator("encloud")
    with client_for(server) as client:
        client.authorise()
        for params, description in [
            ({"timestamp": "0", "keys": "cell.rssi", "limit": "7"}, "limit must be one of 10, 25, 50, 100, -1"),
            ({"keys": "cell.rssi"}, "timestamp is not present"),
            ({"timestamp": "0"}, "keys is not present"),
            ({"timestamp": "0", "keys": "cell.bogus"}, "Key cell.bogus is not present"),
            ({"timestamp": "0", "keys": "cell.rssi", "state": "Asleep"}, None),
            ({"timestamp": "0", "keys": "cell.rssi", "is_online": "maybe"}, "is_online must be true or false"),
        ]:
            response = client.request("GET", "/integration/devices", endpoint="devices", params=params)
            body = response.json()
            assert (response.status_code, body["status"], body["ivenCode"]) == (400, 400, 0)
            assert description is None or body["description"] == description
        filtered = client.request(
            "GET",
            "/integration/devices",
            endpoint="devices",
            params={"timestamp": "0", "keys": "cell.rssi", "state": "Passive", "is_online": "false", "limit": "10"},
        ).json()
        assert filtered["limit"] == 10 and filtered["totalFilteredResults"] > 0
        assert {d["state"] for d in filtered["devices"]} == {"Passive"}
        default = client.request(
            "GET", "/integration/devices", endpoint="devices", params={"timestamp": "0", "keys": "cell.rssi"}
        )
        assert default.json()["limit"] == 25  # the API User's setting
    wrong_key = EncloudClient(server.url, API_USER_EMAIL, API_USER_PASSWORD, "not-the-key")
    with wrong_key, pytest.raises(VendorRequestError) as err:
        list(wrong_key.device_pages(AS_OF, KEYS))
    assert err.value.status == 403 and "not-the-key" not in str(err.value)


def test_users_and_hot_link_behave_as_documented(start_simulator) -> None:
    server = start_simulator("encloud")
    user = {"user": {"user_type": "ADMIN", "customer_id": "SDK15", "email": "sedet@example.test", "name": "Sedet"}}
    with client_for(server) as client:

        def call(method: str, path: str, **kwargs) -> tuple[int, dict]:
            response = client.request(method, path, endpoint=path, **kwargs)
            return response.status_code, response.json()

        assert call("POST", "/integration/users", json=user) == (
            200,
            {"status": 200, "description": "User is created successfully."},
        )
        assert call("POST", "/integration/users", json=user)[1]["description"] == "User with this email already exists."
        bad_customer = {"user": {**user["user"], "email": "x@example.test", "customer_id": "NOPE"}}
        assert call("POST", "/integration/users", json=bad_customer)[0] == 400
        update = {"user": {"user_type": "VIEWER", "name": "S.", "changed_email": "s@example.test"}}
        assert call("PUT", "/integration/users", params={"email": "sedet@example.test"}, json=update)[0] == 200
        assert call("DELETE", "/integration/users", params={"email": "sedet@example.test"}) == (
            404,
            {"status": 404, "description": "Given User not found", "ivenCode": 0},
        )
        assert call("DELETE", "/integration/users", params={"email": "s@example.test"})[0] == 200
        assert call("GET", "/integration/hot link", params={"email": "a@example.test", "customer_id": "NOPE"}) == (
            400,
            {"status": 400, "description": "Customer is not present", "ivenCode": 0},
        )
        status, body = call(
            "GET",
            "/integration/hot link",
            params={"email": "a@example.test", "customer_id": "YRK15", "device_id": "X1"},
        )
    assert status == 200
    first = httpx.get(f"{server.url}/redirect", params={"token": body["token"]}, follow_redirects=False)
    assert (first.status_code, first.headers["location"]) == (302, "/devices/X1")
    assert httpx.get(f"{server.url}/redirect", params={"token": body["token"]}).status_code == 404


def test_twenty_percent_faults_land_the_same_rows_and_no_secret_is_logged(
    start_simulator, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    land_device_pull(client_for(start_simulator("encloud")), DAY, KEYS, list(CUSTOMERS))
    expected = {d: rows_of(landed(data_dir, d)) for d in ("devices", "device_readings")}
    faults = FaultConfig(rate=0.2, kinds=FAULT_KINDS, seed=5, slow_s=1.0)
    faulty = start_simulator("encloud", EncloudSimulatorConfig(token_max_uses=4), faults=faults)
    land_device_pull(client_for(faulty, timeout_s=0.5), DAY, KEYS, list(CUSTOMERS), limit=10)
    assert sum(faulty.faults.injected.values()) >= 5
    for dataset, rows in expected.items():
        assert rows_of(landed(data_dir, dataset)).equals(rows)
    with pytest.raises(VendorRequestError) as err:
        land_device_pull(client_for(faulty, password="wrong-but-secret"), DAY, KEYS, [None])
    token = faulty.app.state.simulator._token
    secrets = [
        API_USER_PASSWORD,
        md5_password(API_USER_PASSWORD),
        "wrong-but-secret",
        md5_password("wrong-but-secret"),
        API_KEY,
        token,
        base64.b64encode(f"{API_USER_EMAIL}:{md5_password(API_USER_PASSWORD)}".encode()).decode(),
    ]
    assert "retrying" in caplog.text and "authorising again" in caplog.text  # the log was captured
    landed_text = "".join(str(landed(data_dir, d).rows()) for d in expected)
    for secret in secrets:
        assert secret not in caplog.text
        assert secret not in str(err.value)
        assert secret not in landed_text


@pytest.mark.parametrize("form", ["epoch_ms", "iso_z", "iso_offset", "mixed"])
def test_every_timestamp_form_lands_the_same_rows(start_simulator, data_dir: Path, form: str) -> None:
    """The doc names created_at/updated_at/last_seen without an example: every form reads alike."""
    config = EncloudSimulatorConfig(devices_per_customer=30)
    land_device_pull(client_for(start_simulator("encloud", config)), DAY, KEYS, [CUSTOMERS[0]])
    expected = {dataset: rows_of(landed(data_dir, dataset)) for dataset in ("devices", "device_readings")}
    assert expected["device_readings"].height > 0 and expected["devices"]["last_seen_at"].is_not_null().any()

    server = start_simulator("encloud", EncloudSimulatorConfig(devices_per_customer=30, timestamp_form=form))
    answer = server.app.state.simulator.devices_answer({"timestamp": str(AS_OF), "keys": KEYS[0], "limit": "50"})
    served = {_form_of(device["created_at"]) for device in answer["devices"]}
    assert served == ({"epoch_ms", "iso_z", "iso_offset", "epoch_s"} if form == "mixed" else {form})
    devices, readings = land_device_pull(client_for(server), DAY, KEYS, [CUSTOMERS[0]])
    assert devices.quarantined_rows == readings.quarantined_rows == 0
    for dataset, rows in expected.items():
        assert rows_of(landed(data_dir, dataset)).equals(rows), dataset


def _form_of(value: object) -> str:
    if isinstance(value, int):
        return "epoch_ms" if value > 10**11 else "epoch_s"
    return "iso_z" if str(value).endswith("Z") else "iso_offset"


def test_an_unreadable_timestamp_is_quarantined_with_its_field_and_value() -> None:
    page = pl.DataFrame(
        {
            "device_uid": ["A", "B", "C"],
            "created_at": ["1481325793", "2016-12-09T23:23:13Z", "yesterday"],
            "updated_at": ["1481325793000", None, "1481325793"],
            "last_seen": [None, "2016-12-09T23:23:13+01:00", "soon"],
        }
    )
    good, held = transform.split_unreadable_times(page)
    assert good["device_uid"].to_list() == ["A", "B"]
    assert held["reason"].to_list() == ["created_at unreadable: yesterday; last_seen unreadable: soon"]
    assert '"device_uid":"C"' in held["record"][0]


@pytest.mark.parametrize("form", EMPTY_FORMS)
def test_every_form_of_an_empty_device_list_lands_no_device(start_simulator, data_dir: Path, form: str) -> None:
    server = start_simulator("encloud", EncloudSimulatorConfig(devices_per_customer=0, empty_form=form))
    devices, readings = land_device_pull(client_for(server), DAY, KEYS, [CUSTOMERS[0]])
    assert (devices.landed_rows, readings.landed_rows, devices.quarantined_rows) == (0, 0, 0)
    assert landed(data_dir, "devices").columns[:2] == ["device_uid", "customer_id"]
