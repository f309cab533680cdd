"""enCloud/enSite client: authorise (Basic auth, md5 password), then pull devices page by page.

The auth_token rotates on the vendor's side. The client authorises at its first request and once
more when a request is refused with 401; a second refusal right after a fresh token is an error.

Paging: the service sorts by `created_at` (static) ascending, so data changing during a pull does
not move a device across a page boundary; a device deleted or added during the walk does. The
client therefore skips devices it has already yielded (by `device_uid`; every page of one pull
answers as of the same `timestamp`, so the first copy equals any later one) and walks the pages
again from the first when `totalFilteredResults` changes mid-walk, so no device is lost.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import polars as pl
from polars._typing import SchemaDict  # the mapping every polars constructor takes as `schema`

from pipelines.http import (
    EMPTY_BODIES,
    Credentials,
    Page,
    Request,
    RetryPolicy,
    Tally,
    VendorDataError,
    VendorHttpClient,
)

log = logging.getLogger(__name__)

VENDOR = "encloud"
AUTHORISE = "integration/users/authorise"
DEVICES = "integration/devices"
PAGE_LIMIT = 100
MAX_WALKS = 3  # walks of the pages when the device count keeps changing mid-pull

DEVICE_FIELDS: SchemaDict = {
    "device_uid": pl.String,
    "sim_id": pl.String,
    "location": pl.List(pl.Float64),
    "frequency": pl.String,  # typed by the transform: a wrong one holds back its device only
    # Instants as text: the doc gives no example, so any form is read later (`utc_from_any`).
    "created_at": pl.String,
    "updated_at": pl.String,
    "location_string": pl.String,
    "state": pl.String,
    "last_seen": pl.String,
}
AUTH_ERRORS = {
    404: "unknown user (ivenCode 9002)",
    422: "bad credentials (ivenCode 9007)",
    403: "refused: not an API User, or a wrong API-KEY",
}


def md5_password(password: str) -> str:
    """The doc's scheme: Basic auth carries the md5 hex digest of the password."""
    return hashlib.md5(password.encode()).hexdigest()  # noqa: S324 - the vendor's scheme


class EncloudToken(Credentials):
    """The auth_token (fetched at the first request, renewed once when refused) and the API-KEY
    on every request; each token is registered with the redactor before anything can log it."""

    def __init__(self, client: EncloudClient, api_key: str) -> None:
        self._client, self._api_key = client, api_key
        self.token: str | None = None

    def apply(self, request: Request) -> Request:
        if self.token is None:
            self.token = self._client.authorise()
        headers = {**(request.headers or {}), "Authorization": self.token, "API-KEY": self._api_key}
        return replace(request, headers=headers)

    def renew(self, request: Request) -> bool:
        log.info("%s: auth_token refused, authorising again", VENDOR)
        self.token = self._client.authorise()
        return True

    def refused_again(self) -> str:
        return "auth_token refused again right after authorising"


class EncloudClient:
    """One API User's session: the password's md5, the Basic header, the API-KEY and every
    auth_token it receives are registered with the redactor, so no message can carry them."""

    def __init__(
        self,
        base_url: str,
        email: str,
        password: str,
        api_key: str,
        *,
        timeout_s: float = 30.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.email = email
        password_md5 = md5_password(password)
        self._basic = base64.b64encode(f"{email}:{password_md5}".encode()).decode()
        self.http = VendorHttpClient(
            VENDOR,
            base_url.rstrip("/"),
            secrets=[password, password_md5, api_key, self._basic],
            timeout_s=timeout_s,
            retry=retry,
            credentials=EncloudToken(self, api_key),
        )
        self.authorisations = 0

    def __enter__(self) -> EncloudClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    # -- authorisation -------------------------------------------------------------------------
    def authorise(self) -> str:
        """A current auth_token; registered with the redactor before anything can log it."""
        response = self.http.request(
            "GET", f"/{AUTHORISE}", endpoint=AUTHORISE, headers={"Authorization": f"Basic {self._basic}"}
        )
        if response.status_code != 200:
            detail = AUTH_ERRORS.get(response.status_code, "authorise failed")
            raise self.http.fail(AUTHORISE, response, f"user {self.email}: {detail}")
        body = self.http.json(AUTHORISE, response)
        user = body.get("user") if isinstance(body, dict) else None
        token = user.get("auth_token") if isinstance(user, dict) else None
        if not isinstance(token, str) or not token:
            raise VendorDataError(VENDOR, AUTHORISE, "no user.auth_token in the answer")
        self.http.redact.add(token)
        self.authorisations += 1
        return token

    def request(self, method: str, path: str, *, endpoint: str, **kwargs: Any) -> httpx.Response:
        """An authorised request of any kind (user management), whatever its status."""
        request = Request(path, method=method, **kwargs)
        return self.http.fetch(request, endpoint, ok=range(100, 600))

    # -- device pull ---------------------------------------------------------------------------
    def device_pages(
        self,
        timestamp: int,
        keys: list[str],
        *,
        customer_id: str | None = None,
        limit: int = PAGE_LIMIT,
        tally: Tally | None = None,
    ) -> Iterator[pl.DataFrame]:
        """One frame per page of devices as of `timestamp` (columns of DEVICE_FIELDS plus
        `customer_id` and one String column per key), each device once."""
        params = {"timestamp": str(timestamp), "keys": ",".join(keys), "limit": str(limit)}
        if customer_id:
            params["customer_id"] = customer_id
        seen: set[str] = set()
        received = distinct = pages = 0
        for _ in range(MAX_WALKS):
            walk = Tally(VENDOR, DEVICES, tally.partition if tally else "")
            totals: set[int] = set()
            for frame in self._walk(params, keys, limit, walk, totals, customer_id):
                fresh = frame.filter(~pl.col("device_uid").is_in(list(seen)))
                seen.update(fresh["device_uid"].drop_nulls().to_list())
                distinct += fresh.height
                yield fresh.with_columns(pl.lit(customer_id, dtype=pl.String).alias("customer_id"))
            received, pages = received + walk.received, pages + walk.pages
            if len(totals) <= 1:
                if tally is not None:  # the last walk's total: the one every device was read against
                    tally.endpoints.add(DEVICES)
                    tally.pages, tally.received = tally.pages + pages, tally.received + received
                    tally.repeated += received - distinct
                    if walk.reported is not None:
                        tally.report(walk.reported)
                return
            log.info("%s %s: device count changed during the pull, walking the pages again", VENDOR, DEVICES)
        raise VendorDataError(VENDOR, DEVICES, f"device count kept changing over {MAX_WALKS} walks of the pages")

    def _walk(
        self,
        params: dict[str, str],
        keys: list[str],
        limit: int,
        walk: Tally,
        totals: set[int],
        customer_id: str | None,
    ) -> Iterator[pl.DataFrame]:
        """One walk through the pages from the first; `totals` collects every total answered."""

        def read_page(response: httpx.Response, request: Request) -> Page:
            page = int((request.params or {})["page"])
            total, frame = self._devices_page(response, page, keys)
            totals.add(total)
            last = limit == -1 or frame.height < limit or page * limit >= total
            return Page(frame, None if last else request.with_params(page=str(page + 1)), total)

        first = Request(f"/{DEVICES}", {**params, "page": "1"})
        where = f"as of {params['timestamp']}" + (f", customer {customer_id}" if customer_id else "")
        yield from self.http.get_pages(first, DEVICES, read_page, key=["device_uid"], where=where, tally=walk)

    def _devices_page(self, response: httpx.Response, page: int, keys: list[str]) -> tuple[int, pl.DataFrame]:
        if response.content.strip() in EMPTY_BODIES:  # no device, in a form the doc leaves open
            return 0, pl.DataFrame(schema={**DEVICE_FIELDS, **dict.fromkeys(keys, pl.String)})
        schema: SchemaDict = {
            "totalFilteredResults": pl.Int64,
            "devices": pl.List(pl.Struct({**DEVICE_FIELDS, "last_data": pl.Struct(dict.fromkeys(keys, pl.String))})),
        }
        try:
            raw = pl.read_json(io.BytesIO(response.content), schema=schema)
        except Exception as exc:  # polars raises ComputeError and friends on malformed JSON
            raise VendorDataError(VENDOR, DEVICES, f"page {page} unreadable: {exc}") from None
        total = raw["totalFilteredResults"][0] if raw.height else None
        if total is None:
            raise VendorDataError(VENDOR, DEVICES, f"page {page} has no totalFilteredResults")
        devices = raw.select(pl.col("devices").explode()).drop_nulls("devices").unnest("devices")
        return total, devices.unnest("last_data")
