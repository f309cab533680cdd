"""BAXO Connect client: one `/k1` endpoint, services chosen by `get=`, password by POST."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import cast

import httpx
import polars as pl
from polars._typing import SchemaDict  # the mapping every polars constructor takes as `schema`

from pipelines.http import (
    DEFAULT_CONCURRENCY,
    EMPTY_BODIES,
    Credentials,
    Page,
    Request,
    RetryPolicy,
    Tally,
    VendorDataError,
    VendorHttpClient,
    check_base_url,
    is_empty,
)
from pipelines.validation import TYPE_ERRORS, text_frame
from pipelines.vendors.baxo.timebase import to_baxo_seconds

log = logging.getLogger(__name__)

VENDOR = "baxo"

HISTORICS_SCHEMA: SchemaDict = {
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
# A value is one device's tag at one instant. A later page repeating it adds nothing; one bringing
# it again with another value corrects it, and both land for the warehouse to rank (`repeats="row"`).
HISTORIC_KEY = ["device_id", "tag_reference", "timestamp"]
HISTORICS = "k1?get=devices-historics"
RAW_HISTORIC_COLUMNS: SchemaDict = {
    "device_id": pl.String,
    "tag_reference": pl.String,
    "value": pl.String,
    "timestamp": pl.String,
    "source": pl.String,
}


class BaxoPassword(Credentials):
    """The username on every request; the password on the first request of each UTC day only,
    as the doc allows, and again if the service asks for it (a new day began, or the service
    forgot the session)."""

    def __init__(self, username: str, password: str) -> None:
        self.username, self._password = username, password
        self._password_day: str | None = None
        self._resend = False

    def apply(self, request: Request) -> Request:
        form = {"username": self.username, **(request.data or {})}
        if self._resend or self._password_day != _today():
            form["password"] = self._password
        return replace(request, data=form, method="POST")

    def renew(self, request: Request) -> bool:
        # Refused without the password: the session was forgotten, send it once more.
        self._resend = "password" not in (self.apply(request).data or {})
        return self._resend

    def accepted(self, request: Request) -> None:
        if "password" in (request.data or {}):
            self._password_day, self._resend = _today(), False

    def refused_again(self) -> str:
        return f"user {self.username}"


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


class BaxoClient:
    """One `/k1` address, services chosen by `get=`; the password travels as `BaxoPassword` says."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        timeout_s: float = 30.0,
        retry: RetryPolicy | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self.username = username
        self.service_url = base_url.rstrip("/")  # the doc's base address is the service itself
        # The service is one address (`next` pages are full URLs): no base URL, the address checked.
        credentials = BaxoPassword(username, password)
        self.http = VendorHttpClient(
            VENDOR,
            None,
            secrets=[password],
            timeout_s=timeout_s,
            retry=retry,
            credentials=credentials,
            concurrency=concurrency,
        )
        check_base_url(VENDOR, base_url, "BAXO_BASE_URL")

    def __enter__(self) -> BaxoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    # -- transport -----------------------------------------------------------------------------
    def _post(self, params: dict[str, str]) -> httpx.Response:
        endpoint = f"k1?get={params['get']}"
        return self.http.fetch(Request(self.service_url, data=params), endpoint, detail=f"user {self.username}")

    def _answer(self, params: dict[str, str], key: str, kind: type[list] | type[dict]) -> list | dict:
        """The answer's `key`, which must be a `kind`; a list of results may come empty in any
        form (`is_empty`)."""
        endpoint = f"k1?get={params['get']}"
        response = self._post(params)
        body = self.http.json(endpoint, response)
        value = body.get(key) if isinstance(body, dict) else body
        if kind is list and is_empty(value):
            return []
        if isinstance(value, list | dict) and isinstance(value, kind):
            return value
        raise VendorDataError(VENDOR, endpoint, f"no '{key}' in answer: {self.http.redact(response.text[:200])!r}")

    def _list(self, params: dict[str, str], key: str) -> list[dict]:
        return cast("list[dict]", self._answer(params, key, list))

    def _object(self, params: dict[str, str], key: str) -> dict:
        return cast("dict", self._answer(params, key, dict))

    # -- services ------------------------------------------------------------------------------
    def contracts(self) -> list[dict]:
        return self._list({"get": "contracts"}, "contracts")

    def devices(self, contract_id: str) -> list[dict]:
        return self._list({"get": "devices", "contractId": contract_id}, "devices")

    def device(self, contract_id: str, device_id: str) -> dict:
        return self._object({"get": "device", "contractId": contract_id, "deviceId": device_id}, "device")

    def realtimes(self, contract_id: str, device_ids: list[str]) -> pl.DataFrame:
        """Latest values of every tag of the devices, one request for all of them."""
        params = {"get": "devices-realtimes", "contractId": contract_id, **_device_param(device_ids)}
        logs = self._list(params, "logs")
        # Values as text: the transform types them, holding back a row with a wrongly typed one.
        fields = ("deviceIdentifiant", "deviceIdentifier", "tagReference", "value", "timestamp", "isEvent")
        frame = text_frame(logs, fields)
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
        tally: Tally | None = None,
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

        def read_page(response: httpx.Response, request: Request) -> Page:
            page, next_url = self._historics_page(response.content, device_ids)
            # `next` carries every other parameter
            follow = Request(next_url, data={"get": "devices-historics"}) if next_url else None
            return Page(page, follow)

        first = Request(self.service_url, data=params)
        where = f"contract {contract_id}, from {start.isoformat()}"
        # Read ahead: a page's read is polars decoding the JSON, which releases the GIL while the
        # walk's thread transforms the page before.
        yield from self.http.get_pages(
            first,
            HISTORICS,
            read_page,
            key=HISTORIC_KEY,
            where=where,
            tally=tally,
            read_ahead=True,
            repeats="row",
            detail=f"user {self.username}",
        )

    @staticmethod
    def _historics_page(content: bytes, device_ids: list[str]) -> tuple[pl.DataFrame, str | None]:
        if content.strip() in EMPTY_BODIES:
            return pl.DataFrame(schema=RAW_HISTORIC_COLUMNS), None
        try:
            raw = pl.read_json(io.BytesIO(content), schema=HISTORICS_SCHEMA)
        except Exception as exc:  # polars raises ComputeError and friends on malformed JSON
            raise VendorDataError(VENDOR, HISTORICS, f"unreadable page: {exc}") from None
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
        return page.cast(pl.Schema(RAW_HISTORIC_COLUMNS)), next_url


def _device_param(device_ids: list[str]) -> dict[str, str]:
    if len(device_ids) == 1:
        return {"deviceId": device_ids[0]}
    return {"deviceIdentifiers": ",".join(device_ids)}
