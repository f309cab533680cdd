"""BAXO Connect client: one `/k1` endpoint, services chosen by `get=`, password by POST."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import polars as pl

from pipelines.http import EMPTY_BODIES, RetryPolicy, VendorDataError, VendorHttpClient, check_base_url, is_empty
from pipelines.validation import TYPE_ERRORS, text_frame
from pipelines.vendors.baxo.timebase import to_baxo_seconds

log = logging.getLogger(__name__)

VENDOR = "baxo"

HISTORICS_SCHEMA = {
    "historics": pl.List(
        pl.Struct(
            {
                "tagReference": pl.String,
                "deviceIdentifier": pl.String,
                # Every value as its text: a wrongly typed one (`"timestamp": "yesterday"`) holds
                # back its own row in the transform instead of making the page unreadable.
                "logs": pl.List(pl.Struct({"value": pl.String, "timestamp": pl.String, "source": pl.String})),
            }
        )
    ),
    "next": pl.String,
}
# A value is one device's tag at one instant: a page repeating it adds nothing.
HISTORIC_KEY = ["device_id", "tag_reference", "timestamp"]
# Pages in a row that bring no new value before the paging is judged endless.
MAX_PAGES_WITHOUT_NEWS = 3
RAW_HISTORIC_COLUMNS = {
    "device_id": pl.String,
    "tag_reference": pl.String,
    "value": pl.String,
    "timestamp": pl.String,
    "source": pl.String,
}


class BaxoClient:
    """Sends the password on the first request of each UTC day only, as the doc allows, and
    again if the service asks for it (a new day began, or the service forgot the session)."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        timeout_s: float = 30.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.username, self._password = username, password
        self.service_url = base_url.rstrip("/")  # the doc's base address is the service itself
        # The service is one address (`next` pages are full URLs): no base URL, the address checked.
        self.http = VendorHttpClient(VENDOR, None, secrets=[password], timeout_s=timeout_s, retry=retry)
        check_base_url(VENDOR, base_url, "BAXO_BASE_URL")
        self._password_day: str | None = None

    def __enter__(self) -> BaxoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    # -- transport -----------------------------------------------------------------------------
    def _post(self, params: dict[str, str], url: str = "") -> httpx.Response:
        endpoint = f"k1?get={params.get('get', 'next')}"
        today = datetime.now(UTC).date().isoformat()
        sent_password = self._password_day != today
        response = self._send(url, params, sent_password, endpoint)
        if response.status_code == 401 and not sent_password:
            sent_password = True
            response = self._send(url, params, sent_password, endpoint)
        if response.status_code not in (200, 204):  # 204: nothing to report
            raise self.http.fail(endpoint, response, f"user {self.username}")
        if sent_password:
            self._password_day = today
        return response

    def _send(self, url: str, params: dict[str, str], with_password: bool, endpoint: str) -> httpx.Response:
        form = {"username": self.username, **params}
        if with_password:
            form["password"] = self._password
        return self.http.request("POST", url or self.service_url, data=form, endpoint=endpoint)

    def _json(self, params: dict[str, str], key: str) -> list | dict:
        """The answer's `key`; a list of results may come empty in any form (`is_empty`)."""
        endpoint = f"k1?get={params['get']}"
        response = self._post(params)
        body = self.http.json(endpoint, response)
        value = body.get(key) if isinstance(body, dict) else body
        if key != "device" and is_empty(value):
            return []
        if not isinstance(value, list | dict):
            raise VendorDataError(VENDOR, endpoint, f"no '{key}' in answer: {self.http.redact(response.text[:200])!r}")
        return value

    # -- services ------------------------------------------------------------------------------
    def contracts(self) -> list[dict]:
        return self._json({"get": "contracts"}, "contracts")  # type: ignore[return-value]

    def devices(self, contract_id: str) -> list[dict]:
        return self._json({"get": "devices", "contractId": contract_id}, "devices")  # type: ignore[return-value]

    def device(self, contract_id: str, device_id: str) -> dict:
        return self._json({"get": "device", "contractId": contract_id, "deviceId": device_id}, "device")  # type: ignore[return-value]

    def realtimes(self, contract_id: str, device_ids: list[str]) -> pl.DataFrame:
        """Latest values of every tag of the devices, one request for all of them."""
        params = {"get": "devices-realtimes", "contractId": contract_id, **_device_param(device_ids)}
        logs = self._json(params, "logs")
        # Values as text: the transform types them, holding back a row with a wrongly typed one.
        fields = ("deviceIdentifiant", "deviceIdentifier", "tagReference", "value", "timestamp", "isEvent")
        frame = text_frame(logs, fields)  # type: ignore[arg-type]
        # The doc spells the device field `deviceIdentifiant` here; accept the historics spelling too.
        device = pl.coalesce("deviceIdentifiant", "deviceIdentifier")
        if len(device_ids) == 1:
            device = device.fill_null(pl.lit(device_ids[0]))
        return frame.select(
            device.alias("device_id"),
            pl.col("tagReference").alias("tag_reference"),
            "value",
            "timestamp",
            pl.col("isEvent").alias("is_event"),
            TYPE_ERRORS,
        )

    def write_tag(self, contract_id: str, device_id: str, tag_reference: str, value: str) -> None:
        self._post(
            {
                "get": "devices-tags-write",
                "contractId": contract_id,
                "deviceId": device_id,
                "tagRef": tag_reference,
                "value": value,
            }
        )

    def historic_pages(
        self,
        contract_id: str,
        device_ids: list[str],
        start: datetime,
        end: datetime,
        tag_references: list[str] | None = None,
    ) -> Iterator[pl.DataFrame]:
        """One raw frame per page (device_id, tag_reference, value, timestamp, source) for
        start <= t <= end (the service's bounds are inclusive), following `next` to the end."""
        params = {
            "get": "devices-historics",
            "contractId": contract_id,
            "startTime": str(to_baxo_seconds(start)),
            "endTime": str(to_baxo_seconds(end)),
            **_device_param(device_ids),
        }
        if tag_references:
            params["tagReferences"] = ",".join(tag_references)
        url, form, visited = "", params, set()
        landed = pl.DataFrame(schema={c: RAW_HISTORIC_COLUMNS[c] for c in HISTORIC_KEY})
        pages_without_news = 0
        while True:
            response = self._post(form, url)
            page, next_url = self._historics_page(response.content, device_ids)
            # A row repeated on a later page (the service's paging shifted) lands once.
            fresh = page.join(landed, on=HISTORIC_KEY, how="anti")
            landed = pl.concat([landed, fresh.select(HISTORIC_KEY).drop_nulls()])
            yield fresh
            if not next_url:
                return
            pages_without_news = 0 if fresh.height else pages_without_news + 1
            if next_url in visited or pages_without_news >= MAX_PAGES_WITHOUT_NEWS:
                raise VendorDataError(
                    VENDOR,
                    "k1?get=devices-historics",
                    f"pagination does not end: {len(visited) + 1} pages, the last {pages_without_news} with no new "
                    f"row, next {self.http.redact(next_url)} (contract {contract_id})",
                )
            visited.add(next_url)
            url, form = next_url, {"get": "devices-historics"}  # `next` carries every other parameter

    @staticmethod
    def _historics_page(content: bytes, device_ids: list[str]) -> tuple[pl.DataFrame, str | None]:
        if content.strip() in EMPTY_BODIES:
            return pl.DataFrame(schema=RAW_HISTORIC_COLUMNS), None
        try:
            raw = pl.read_json(io.BytesIO(content), schema=HISTORICS_SCHEMA)
        except Exception as exc:  # polars raises ComputeError and friends on malformed JSON
            raise VendorDataError(VENDOR, "k1?get=devices-historics", f"unreadable page: {exc}") from None
        next_url = raw["next"][0] if raw.height else None
        groups = raw.select(pl.col("historics").explode()).unnest("historics").drop_nulls("tagReference")
        device = pl.col("deviceIdentifier")
        if len(device_ids) == 1:
            device = device.fill_null(pl.lit(device_ids[0]))
        page = (
            groups.with_columns(device.alias("device_id"))
            .explode("logs")
            .drop_nulls("logs")
            .unnest("logs")
            .select(pl.col("device_id"), pl.col("tagReference").alias("tag_reference"), "value", "timestamp", "source")
        )
        return page.cast(RAW_HISTORIC_COLUMNS), next_url  # type: ignore[arg-type]


def _device_param(device_ids: list[str]) -> dict[str, str]:
    if len(device_ids) == 1:
        return {"deviceId": device_ids[0]}
    return {"deviceIdentifiers": ",".join(device_ids)}
