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

import httpx
import polars as pl

from pipelines.http import EMPTY_BODIES, RetryPolicy, VendorDataError, VendorHttpClient

log = logging.getLogger(__name__)

VENDOR = "encloud"
AUTHORISE = "integration/users/authorise"
DEVICES = "integration/devices"
PAGE_LIMIT = 100
MAX_WALKS = 3  # walks of the pages when the device count keeps changing mid-pull

DEVICE_FIELDS = {
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
        self._api_key = api_key
        self.http = VendorHttpClient(
            VENDOR,
            base_url.rstrip("/"),
            secrets=[password, password_md5, api_key, self._basic],
            timeout_s=timeout_s,
            retry=retry,
        )
        self._token: str | None = None
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
        try:
            token = response.json()["user"]["auth_token"]
        except (ValueError, KeyError, TypeError):
            raise VendorDataError(VENDOR, AUTHORISE, "no user.auth_token in the answer") from None
        if not isinstance(token, str) or not token:
            raise VendorDataError(VENDOR, AUTHORISE, "empty user.auth_token in the answer")
        self.http.redact.add(token)
        self._token = token
        self.authorisations += 1
        return token

    def request(self, method: str, path: str, *, endpoint: str, **kwargs: object) -> httpx.Response:
        """An authorised request; a refused token is renewed once, then the refusal is an error."""
        for attempt in range(2):
            if self._token is None or attempt == 1:
                self.authorise()
            headers = {"Authorization": self._token or "", "API-KEY": self._api_key}
            response = self.http.request(method, path, endpoint=endpoint, headers=headers, **kwargs)
            if response.status_code != 401:
                return response
            log.info("%s %s: auth_token refused, authorising again", VENDOR, endpoint)
        raise self.http.fail(endpoint, response, "auth_token refused again right after authorising")

    # -- device pull ---------------------------------------------------------------------------
    def device_pages(
        self,
        timestamp: int,
        keys: list[str],
        *,
        customer_id: str | None = None,
        limit: int = PAGE_LIMIT,
    ) -> Iterator[pl.DataFrame]:
        """One frame per page of devices as of `timestamp` (columns of DEVICE_FIELDS plus
        `customer_id` and one String column per key), each device once."""
        params = {"timestamp": str(timestamp), "keys": ",".join(keys), "limit": str(limit)}
        if customer_id:
            params["customer_id"] = customer_id
        seen: set[str] = set()
        for _ in range(MAX_WALKS):
            changed = False
            expected_total: int | None = None
            page = 1
            while True:
                total, frame = self._devices_page({**params, "page": str(page)}, keys)
                if expected_total is None:
                    expected_total = total
                changed = changed or total != expected_total
                fresh = frame.filter(~pl.col("device_uid").is_in(list(seen)))
                seen.update(fresh["device_uid"].to_list())
                yield fresh.with_columns(pl.lit(customer_id, dtype=pl.String).alias("customer_id"))
                if limit == -1 or frame.height < limit or page * limit >= total:
                    break
                page += 1
            if not changed:
                return
            log.info("%s %s: device count changed during the pull, walking the pages again", VENDOR, DEVICES)
        raise VendorDataError(VENDOR, DEVICES, f"device count kept changing over {MAX_WALKS} walks of the pages")

    def _devices_page(self, params: dict[str, str], keys: list[str]) -> tuple[int, pl.DataFrame]:
        response = self.request("GET", f"/{DEVICES}", endpoint=DEVICES, params=params)
        if response.status_code not in (200, 204):  # 204: no device
            raise self.http.fail(DEVICES, response, f"page {params['page']}")
        if response.content.strip() in EMPTY_BODIES:  # no device, in a form the doc leaves open
            return 0, pl.DataFrame(schema={**DEVICE_FIELDS, **dict.fromkeys(keys, pl.String)})
        schema = {
            "totalFilteredResults": pl.Int64,
            "devices": pl.List(pl.Struct({**DEVICE_FIELDS, "last_data": pl.Struct(dict.fromkeys(keys, pl.String))})),
        }
        try:
            raw = pl.read_json(io.BytesIO(response.content), schema=schema)
        except Exception as exc:  # polars raises ComputeError and friends on malformed JSON
            raise VendorDataError(VENDOR, DEVICES, f"page {params['page']} unreadable: {exc}") from None
        total = raw["totalFilteredResults"][0] if raw.height else None
        if total is None:
            raise VendorDataError(VENDOR, DEVICES, f"page {params['page']} has no totalFilteredResults")
        devices = raw.select(pl.col("devices").explode()).drop_nulls("devices").unnest("devices")
        return total, devices.unnest("last_data")
