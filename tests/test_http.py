"""Shared HTTP machinery over real HTTP: retries, Retry-After, give-up errors, redaction."""

from __future__ import annotations

import logging
import random
import time

import httpx
import numpy as np
import polars as pl
import pytest

from pipelines.http import (
    Redactor,
    RetryPolicy,
    SharedTransport,
    VendorConfigError,
    VendorDataError,
    VendorHttpClient,
    VendorRequestError,
    _SeenKeys,
)
from pipelines.simulation.faults import FaultConfig
from tests.hostile import raw_server

SECRET = "s3cr/et+pass word"


def test_redactor_removes_raw_encoded_and_query_secrets() -> None:
    redact = Redactor([SECRET])
    text = f"url /logger/1/{SECRET}/x?a=1 body password=s3cr%2Fet%2Bpass%20word&api_key=abc token=zzz"
    out = redact(text)
    assert "s3cr" not in out
    assert "abc" not in out and "zzz" not in out
    assert out.startswith("url /logger/1/***/x?a=1")


def test_gives_up_with_vendor_endpoint_and_status(start_simulator, caplog: pytest.LogCaptureFixture) -> None:
    server = start_simulator("baxo", faults=FaultConfig(rate=1.0, kinds=("503",)))
    retry = RetryPolicy(max_attempts=3, backoff_base_s=0.01)
    with VendorHttpClient("baxo", server.url, secrets=[SECRET], retry=retry) as http, caplog.at_level(logging.DEBUG):
        with pytest.raises(VendorRequestError) as err:
            http.request("POST", "/k1", endpoint="k1?get=contracts", data={"password": SECRET})
    assert err.value.status == 503
    assert str(err.value).startswith("baxo k1?get=contracts failed (status 503)")
    assert server.faults.injected == {"503": 3}
    assert SECRET not in caplog.text and SECRET not in str(err.value)
    assert caplog.text.count("retrying") == 2


def test_honours_retry_after(start_simulator) -> None:
    server = start_simulator("baxo", faults=FaultConfig(rate=1.0, kinds=("429",), retry_after_s=1))
    retry = RetryPolicy(max_attempts=2, backoff_base_s=0.0)
    with VendorHttpClient("baxo", server.url, retry=retry) as http:
        began = time.monotonic()
        with pytest.raises(VendorRequestError) as err:
            http.request("GET", "/k1", endpoint="k1")
        waited = time.monotonic() - began
    assert err.value.status == 429
    assert waited >= 1.0  # backoff alone would be 0 s: the wait came from Retry-After


@pytest.mark.parametrize("kind", ["slow", "truncate", "drop", "500", "502"])
def test_each_transient_fault_is_retried(start_simulator, kind: str) -> None:
    # The fault stream under seed 3 hits the first request and spares the second.
    server = start_simulator("baxo", faults=FaultConfig(rate=0.5, kinds=(kind,), seed=3, slow_s=1.0))
    retry = RetryPolicy(max_attempts=4, backoff_base_s=0.01)
    with VendorHttpClient("baxo", server.url, retry=retry, timeout_s=0.5) as http:
        response = http.request("POST", "/k1", endpoint="k1?get=contracts", data={"get": "contracts"})
    assert response.status_code == 401  # reached the service: no credentials were sent
    assert server.faults.injected.get(kind, 0) >= 1


def test_json_decode_error_names_vendor_endpoint_and_hides_secrets() -> None:
    from pipelines.http import VendorDataError

    http = VendorHttpClient("dsmr", "http://127.0.0.1", secrets=[SECRET])
    answer = httpx.Response(200, text=f"<html>proxy error for key {SECRET}</html>")
    with pytest.raises(VendorDataError) as err:
        http.json("home api/v2/datalogger/dsmrreading", answer)
    assert str(err.value).startswith("dsmr home api/v2/datalogger/dsmrreading: not JSON")
    assert SECRET not in str(err.value)
    assert http.json("e", httpx.Response(200, content=b'{"count": 2, "v": "1.250"}')) == {"count": 2, "v": "1.250"}


def test_a_server_trickling_its_body_is_cut_off_at_the_request_deadline() -> None:
    def trickle(conn) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[")
        for _ in range(200):
            time.sleep(0.05)
            conn.sendall(b" ")

    retry = RetryPolicy(max_attempts=2, backoff_base_s=0.01, request_deadline_s=0.5)
    with raw_server(trickle) as url, VendorHttpClient("bagtower", url, retry=retry, timeout_s=5) as http:
        started = time.monotonic()
        with pytest.raises(VendorRequestError) as err:
            http.request("GET", "/prod/devices", endpoint="devices")
    assert time.monotonic() - started < 5, "bounded by the deadline, not by the server"
    assert "bagtower devices failed" in str(err.value) and "not complete within 0.5 s" in str(err.value)


@pytest.mark.parametrize("declared", [True, False])
def test_an_answer_over_the_size_cap_is_refused_without_being_read_whole(declared: bool) -> None:
    body = b"[" + b"0," * 1_000_000 + b"0]"

    def huge(conn) -> None:
        if declared:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        else:  # chunked: the size shows only while reading
            conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for i in range(0, len(body), 65536):
                piece = body[i : i + 65536]
                conn.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
            conn.sendall(b"0\r\n\r\n")

    retry = RetryPolicy(max_attempts=3, backoff_base_s=0.01, max_response_bytes=100_000)
    with raw_server(huge) as url, VendorHttpClient("dsmr", url, retry=retry) as http:
        with pytest.raises(VendorDataError, match=r"dsmr readings: answer of .* exceeds the 100,000-byte cap"):
            http.request("GET", "/api/v2/datalogger/dsmrreading", endpoint="readings")


def test_retry_after_zero_still_pauses_and_a_long_one_is_capped() -> None:
    policy = RetryPolicy(backoff_base_s=0.2, retry_after_max_s=30.0)
    rng = random.Random(1)
    zero = [policy.delay(attempt, "0", rng) for attempt in range(6)]
    assert all(d > 0 for d in zero) and sum(zero) > 1.0
    assert policy.delay(0, "86400", rng) == 30.0
    assert policy.delay(0, "5", rng) == 5.0


@pytest.mark.parametrize("url", ["not-a-url", "ftp://host/x", "http://"])
def test_a_base_url_no_request_could_use_fails_at_once_naming_the_setting(url: str) -> None:
    with pytest.raises(VendorConfigError, match=r"baxo: setting BAXO_BASE_URL is not an http\(s\) URL"):
        VendorHttpClient("baxo", url)


def test_clients_on_one_shared_pool_work_until_each_closes_its_own_share(start_simulator) -> None:
    server = start_simulator("baxo")
    pool = SharedTransport()
    first, second = (VendorHttpClient("baxo", server.url, transport=pool) for _ in range(2))
    form = {"get": "contracts", "username": "nobody", "password": SECRET}
    assert first.request("POST", "/k1", endpoint="k1?get=contracts", data=form).status_code == 401
    first.close()
    first.close()  # a second close gives nothing back twice
    # the pool outlives the first client: the second still talks to the service
    assert second.request("POST", "/k1", endpoint="k1?get=contracts", data=form).status_code == 401
    with pytest.raises(RuntimeError):
        first.request("POST", "/k1", endpoint="k1?get=contracts", data=form)
    second.close()


def test_a_concurrency_below_one_is_refused_naming_the_setting() -> None:
    with pytest.raises(VendorConfigError, match="baxo: setting concurrency must be at least 1"):
        VendorHttpClient("baxo", "http://127.0.0.1:1", concurrency=0)


def _pages_without_repeats(pages: list[pl.DataFrame], key: list[str], whole_rows: bool = False) -> list[pl.DataFrame]:
    """What the walk must give: each page anti-joined on every key (or whole row, nulls equal)
    an earlier page brought; rows with a null key part are never repeats."""
    seen: list[pl.DataFrame] = []
    out = []
    for page in pages:
        compared = page.columns if whole_rows else key
        fresh = page.join(pl.concat(seen), on=compared, how="anti", nulls_equal=whole_rows) if seen else page
        seen.append(fresh.select(compared).drop_nulls(key))
        out.append(fresh)
    return out


def test_a_walk_drops_every_key_an_earlier_page_brought_and_keeps_rows_without_a_key() -> None:
    key = ["device", "t"]
    pages = [
        pl.DataFrame({"device": ["a", "a", "b"], "t": ["1", "2", "1"], "v": [1, 2, 3]}),
        pl.DataFrame({"device": ["b", "c", None], "t": ["2", "1", "1"], "v": [4, 5, 6]}),
        # a repeat of the first page (not the one before), a null key, and a key repeated in its own page
        pl.DataFrame({"device": ["c", "a", None, "d", "d"], "t": ["9", "2", "1", "1", "1"], "v": [7, 8, 9, 10, 11]}),
        pl.DataFrame({"device": ["a", "b"], "t": ["1", "1"], "v": [12, 13]}),
    ]
    seen = _SeenKeys(key)
    fresh = [seen.drop_repeats(page) for page in pages]
    assert [f["v"].to_list() for f in fresh] == [[1, 2, 3], [4, 5, 6], [7, 9, 10, 11], []]
    assert all(a.equals(b) for a, b in zip(fresh, _pages_without_repeats(pages, key), strict=True))


def test_a_walk_by_whole_rows_drops_exact_repeats_and_keeps_corrections() -> None:
    key = ["device", "t"]
    pages = [
        pl.DataFrame({"device": ["a", "a", "b"], "t": ["1", "2", "1"], "v": ["1", None, "3"]}),
        # "a" 1 repeated whole, "a" 2 with its null value again, "b" 1 corrected
        pl.DataFrame({"device": ["a", "a", "b", None], "t": ["1", "2", "1", "1"], "v": ["1", None, "3.5", "4"]}),
        # the correction repeated, a null key again, the first value of "b" 1 again
        pl.DataFrame({"device": ["b", None, "b"], "t": ["1", "1", "1"], "v": ["3.5", "4", "3"]}),
    ]
    seen = _SeenKeys(key, whole_rows=True)
    fresh = [seen.drop_repeats(page) for page in pages]
    assert [f["v"].to_list() for f in fresh] == [["1", None, "3"], ["3.5", "4"], ["4"]]
    assert all(a.equals(b) for a, b in zip(fresh, _pages_without_repeats(pages, key, True), strict=True))


@pytest.mark.parametrize("whole_rows", [False, True], ids=["by_key", "by_whole_row"])
def test_random_overlapping_pages_lose_exactly_the_keys_an_earlier_page_brought(whole_rows: bool) -> None:
    # Keyset pages re-read their boundary record, retried pages repeat whole: many pages hit the
    # hash look-up, and only the exact join on the hits may decide.
    rng = np.random.default_rng(7)
    key = ["device", "t"]
    pages = []
    for _ in range(40):
        n = int(rng.integers(0, 60))
        device = rng.choice(["a", "b", "c", None], size=n).tolist()
        # Few values: a key comes again now with the same value (a repeat), now with another.
        value = rng.choice([0.5, 1.5, None], size=n).tolist() if whole_rows else rng.random(n)
        columns = {"device": device, "t": rng.integers(0, 50, size=n), "v": value}
        pages.append(pl.DataFrame(columns, schema={"device": pl.String, "t": pl.Int64, "v": pl.Float64}))
    seen = _SeenKeys(key, whole_rows)
    fresh = [seen.drop_repeats(page) for page in pages]
    expected = _pages_without_repeats(pages, key, whole_rows)
    assert sum(f.height for f in fresh) < sum(p.height for p in pages)  # repeats were there to drop
    if whole_rows:  # and corrections to keep: more rows than a walk by key keeps
        by_key = _SeenKeys(key)
        assert sum(f.height for f in fresh) > sum(by_key.drop_repeats(page).height for page in pages)
    assert all(a.equals(b) for a, b in zip(fresh, expected, strict=True))


def test_pages_whose_keys_are_typed_differently_are_joined_as_before() -> None:
    seen = _SeenKeys(["t"])
    seen.drop_repeats(pl.DataFrame({"t": ["1", "2"]}))
    with pytest.raises(pl.exceptions.SchemaError):  # the join's own error, as the walk always raised it
        seen.drop_repeats(pl.DataFrame({"t": [1, 3]}))
