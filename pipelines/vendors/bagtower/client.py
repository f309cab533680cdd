"""Bagtower client: company-scoped REST reads with the `x-api-key` header, and the log pushes."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import polars as pl
from polars._typing import SchemaDict  # the mapping every polars constructor takes as `schema`

from pipelines.http import EMPTY_BODIES, Request, RetryPolicy, VendorDataError, VendorHttpClient, is_empty
from pipelines.vendors.bagtower import paths

VENDOR = "bagtower"
# Points as their text: a wrongly typed one holds back its own point in the transform, not the answer.
SERIES = pl.Struct({"x": pl.List(pl.String), "y": pl.List(pl.String)})
AGGREGATES = ("std", "min", "median", "max", "mean", "sum", "states")
LOGS_SCHEMA: SchemaDict = {
    "id": pl.String,
    "display": pl.String,
    "data": pl.Struct({name: SERIES for name in (*AGGREGATES, "raw")}),
}


class BagtowerClient:
    """Every read is scoped to one company; the API key never leaves the header."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        company_id: str,
        *,
        timeout_s: float = 30.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.company_id = company_id
        self.http = VendorHttpClient(
            VENDOR,
            base_url.rstrip("/"),
            secrets=[api_key],
            timeout_s=timeout_s,
            retry=retry,
            headers={"x-api-key": api_key},
        )

    def __enter__(self) -> BagtowerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    # -- endpoints -----------------------------------------------------------------------------
    def _request(self, template: str, params: dict[str, str] | None = None, **ids: str) -> Request:
        return Request(template.format(companyId=self.company_id, **ids), params)

    def _json(self, template: str, params: dict[str, str] | None = None, **ids: str) -> Any:
        endpoint = paths.endpoint_name(template)
        return self.http.get_json(self._request(template, params, **ids), endpoint, detail=f"company {self.company_id}")

    def _list(self, template: str, key: str | None = None, params: dict[str, str] | None = None, **ids: str) -> list:
        """A list answer (under `key` when wrapped); an empty one may come in any form (`is_empty`)."""
        body = self._json(template, params, **ids)
        items = body.get(key) if key and isinstance(body, dict) else body
        if is_empty(items):
            return []
        if not isinstance(items, list):
            raise VendorDataError(VENDOR, paths.endpoint_name(template), f"expected a list, got {str(body)[:200]!r}")
        return items

    # -- catalogs ------------------------------------------------------------------------------
    def company(self) -> dict:
        return self._json(paths.COMPANY)

    def devices(self) -> list[dict]:
        return self._list(paths.DEVICES, "Items")

    def groups(self) -> list[str]:
        return [str(group) for group in self._list(paths.GROUPS, "groups")]

    def monitors(self) -> list[dict]:
        return self._list(paths.MONITORS)

    def causes(self) -> list[dict]:
        return self._list(paths.CAUSES)

    def solutions(self) -> list[dict]:
        return self._list(paths.SOLUTIONS)

    def kanban_stages(self) -> list[dict]:
        return self._list(paths.KANBAN_STAGES)

    def annotations(self, device_id: str) -> list[dict]:
        return self._list(paths.ANNOTATIONS, deviceId=device_id)

    def data_views(self, device_id: str) -> list[dict]:
        return self._list(paths.DATA_VIEWS, deviceId=device_id)

    def kpis(self) -> dict:
        """Company uptime (`overall`) and each device's `dailyData` (an object or a list of days)."""
        return self._object(paths.KPIS)

    def issue_statistics(self, start: datetime, stop: datetime) -> dict:
        """Issue counts, costs and durations over [start, stop] by cause, group and day."""
        params = {"startts": str(int(start.timestamp())), "stopts": str(int(stop.timestamp()))}
        return self._object(paths.ISSUE_STATISTICS, params)

    def _object(self, template: str, params: dict[str, str] | None = None) -> dict:
        """A JSON object answer; an empty one may come in any form (`is_empty`)."""
        body = self._json(template, params)
        if is_empty(body):
            return {}
        if not isinstance(body, dict):
            raise VendorDataError(VENDOR, paths.endpoint_name(template), f"expected an object, got {str(body)[:200]!r}")
        return body

    def device_key(self, device_id: str) -> str:
        key = self._json(paths.DEVICE_KEY, id=device_id).get("value")
        self.http.redact.add(key)  # a device key is a secret too
        return key

    # -- logs ----------------------------------------------------------------------------------
    def device_logs(self, device_id: str, start: datetime, end: datetime, *, raw: bool) -> pl.DataFrame:
        """One row per (metric id, aggregate) with its `x` (epoch s) and `y` lists, as served.

        Columns: device_id, metric_id, display, aggregate, x, y. Summary answers carry the
        aggregates and `states`; raw answers carry `raw` only. Empty series are dropped.
        """
        params = {"start": str(int(start.timestamp())), "end": str(int(end.timestamp()))}
        if raw:
            params["raw"] = "true"
        endpoint = paths.endpoint_name(paths.DEVICE_LOGS)
        request = self._request(paths.DEVICE_LOGS, params, id=device_id)
        response = self.http.fetch(request, endpoint, detail=f"company {self.company_id}")
        content = b"[]" if response.content.strip() in EMPTY_BODIES else response.content  # no series, any form
        try:
            frame = pl.read_json(io.BytesIO(content), schema=LOGS_SCHEMA)
        except Exception as exc:  # polars raises ComputeError and friends on malformed JSON
            raise VendorDataError(
                VENDOR, paths.endpoint_name(paths.DEVICE_LOGS), f"device {device_id}: unreadable logs: {exc}"
            ) from None
        names = ("raw",) if raw else AGGREGATES
        series = [
            frame.select(
                pl.lit(device_id).alias("device_id"),
                pl.col("id").alias("metric_id"),
                "display",
                pl.lit(name).alias("aggregate"),
                pl.col("data").struct.field(name).struct.field("x").alias("x"),
                pl.col("data").struct.field(name).struct.field("y").alias("y"),
            )
            for name in names
        ]
        out = pl.concat(series)
        return out.filter(pl.col("x").list.len().fill_null(0) + pl.col("y").list.len().fill_null(0) > 0)

    def push_log(self, device_key: str, device_id: str, unix_timestamp: int, data: list[dict]) -> dict:
        """`POST /logs` as a device does, with the device's own key."""
        self.http.redact.add(device_key)
        body = {"deviceId": device_id, "unixTimestamp": unix_timestamp, "data": data}
        request = Request(paths.LOGS, json=body, headers={"x-api-key": device_key}, method="POST")
        return _acknowledgement(
            self.http.get_json(request, paths.endpoint_name(paths.LOGS), detail=f"device {device_id}", ok=(200,))
        )

    def push_pool_log(self, pool_key: str, sensor_id: str, unix_timestamp: int, data: list[dict]) -> dict:
        """`POST /pool/logs` with the company's pool key; the device is named by `sensor-id`."""
        self.http.redact.add(pool_key)
        headers = {"x-api-key": pool_key, "sensor-id": sensor_id, "frame-type": "json", "company-id": self.company_id}
        body = {"unixTimestamp": unix_timestamp, "data": data}
        request = Request(paths.POOL_LOGS, json=body, headers=headers, method="POST")
        endpoint = paths.endpoint_name(paths.POOL_LOGS)
        return _acknowledgement(self.http.get_json(request, endpoint, detail=f"sensor {sensor_id}", ok=(200,)))

    # -- issues --------------------------------------------------------------------------------
    def issues(self, start: datetime, stop: datetime) -> list[dict]:
        """Open, closed and archived issues whose [startTs, stopTs] overlaps [start, stop]."""
        params = {"startts": str(int(start.timestamp())), "stopts": str(int(stop.timestamp())), "archived": "true"}
        return self._list(paths.ISSUES, params=params)

    def device_issues(self, device_id: str) -> list[dict]:
        return self._list(paths.DEVICE_ISSUES, id=device_id)

    def issue_events(self, issue_id: str) -> list[dict]:
        return self._list(paths.ISSUE_EVENTS, id=issue_id)


def _acknowledgement(body: object) -> dict:
    """A push's answer as an object (an empty or non-object answer acknowledges nothing more)."""
    return body if isinstance(body, dict) else {}
