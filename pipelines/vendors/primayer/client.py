"""Primayer Phocus/Enigma client: GET methods whose last path segment is the token.

The token travels in the URL path, so every URL, log line and error goes through the
`VendorHttpClient` redactor; endpoint names used in messages and `_source` never carry it.
"""

from __future__ import annotations

import io
import logging
from datetime import date
from urllib.parse import quote

import polars as pl

from pipelines.http import Request, RetryPolicy, VendorDataError, VendorHttpClient, is_empty

log = logging.getLogger(__name__)

VENDOR = "primayer"

HISTOGRAM = pl.Struct({"timestamp": pl.String, "bins": pl.List(pl.Int64)})
LOGGER_SCHEMA = {
    "serial": pl.String,
    "epochs": pl.List(
        pl.Struct(
            {
                # Readings as their text: a wrongly typed one holds back its own epoch in the
                # transform instead of making the logger's whole answer unreadable.
                **dict.fromkeys(("battery", "cnv", "lcf", "latitude", "longitude", "temperature"), pl.String),
                "timestamp": pl.String,
                "histograms": pl.List(HISTOGRAM),
            }
        )
    ),
}
INFO_SCHEMA = {
    "serial": pl.String,
    "epochs": pl.List(pl.Struct({"battery": pl.Float64, "cnv": pl.Int64, "lcf": pl.Int64, "timestamp": pl.String})),
}
SIGNAL_SCHEMA = {
    "serial": pl.String,
    "signals": pl.List(pl.Struct({"name": pl.String, "signal": pl.String, "type": pl.String, "timestamp": pl.String})),
}
SUMMARY_SCHEMA = {"id": pl.Int64, "groupName": pl.String, "leaks": pl.Int64, "timestamp": pl.String}


class PrimayerClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout_s: float = 30.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._token = token
        self.http = VendorHttpClient(
            VENDOR, base_url.rstrip("/") + "/", secrets=[token], timeout_s=timeout_s, retry=retry
        )

    def __enter__(self) -> PrimayerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    # -- endpoints -----------------------------------------------------------------------------
    def _request(self, *segments: str) -> Request:
        """GET `<segments...>/<token>`: the token is the last path segment, redacted everywhere."""
        return Request("/".join(quote(s, safe="") for s in (*segments, self._token)))

    def _json(self, endpoint: str, *segments: str) -> list:
        """A JSON array; `endpoint` is the secret-free name used in messages and `_source`."""
        body = self.http.get_json(self._request(*segments), endpoint)
        if is_empty(body):
            return []
        if not isinstance(body, list):
            raise VendorDataError(VENDOR, endpoint, f"expected a JSON array, got {type(body).__name__}")
        return body

    def _frame(self, endpoint: str, schema: dict, *segments: str) -> pl.DataFrame:
        body = self._json(endpoint, *segments)
        try:
            return pl.from_dicts(body, schema=schema, strict=False) if body else pl.DataFrame(schema=schema)
        except Exception as exc:  # polars raises several error types on shapes it cannot read
            raise VendorDataError(VENDOR, endpoint, f"unexpected shape: {exc}") from None

    # -- logger methods ------------------------------------------------------------------------
    def logger(self, serial: str, begin: date, end: date) -> pl.DataFrame:
        """Epochs with histograms, one row per logger (serial, epochs)."""
        return self._frame(f"logger/{serial}", LOGGER_SCHEMA, "logger", serial, begin.isoformat(), end.isoformat())

    def logger_info(self, serial: str, begin: date, end: date) -> pl.DataFrame:
        return self._frame(
            f"logger/info/{serial}", INFO_SCHEMA, "logger", "info", serial, begin.isoformat(), end.isoformat()
        )

    def signal(self, serial: str, begin: date, end: date) -> pl.DataFrame:
        return self._frame(
            f"logger/signal/{serial}", SIGNAL_SCHEMA, "logger", "signal", serial, begin.isoformat(), end.isoformat()
        )

    # -- group methods -------------------------------------------------------------------------
    def summary(self, day: date) -> pl.DataFrame:
        return self._frame("group/summary", SUMMARY_SCHEMA, "group", "summary", day.isoformat())

    def group(self, group_id: int, day: date) -> list[dict]:
        """Leak list as sent; its quirks (field names, id types) are resolved by the transform."""
        return self._json(f"group/{group_id}", "group", str(group_id), day.isoformat())

    def group_audio(self, group_id: int, day: date) -> list[dict]:
        """Clips as sent; `audio` is an integer array or a base64 string."""
        return self._json(f"group/audio/{group_id}", "group", "audio", str(group_id), day.isoformat())

    # -- reports -------------------------------------------------------------------------------
    def logger_report(self, day: date) -> pl.DataFrame:
        return self._csv("report/logger", "report", "logger", day.isoformat())

    def dma_report(self, begin: str, end: str) -> pl.DataFrame:
        """`begin`/`end` as `yyyy-MM-dd HH:mm`; the space is percent-encoded in the path."""
        return self._csv("report/dma", "report", "dma", begin, end)

    def _csv(self, endpoint: str, *segments: str) -> pl.DataFrame:
        """Every column as text, by header, unknown ones included."""
        response = self.http.fetch(self._request(*segments), endpoint)
        if not response.content.strip():
            return pl.DataFrame()
        try:
            return pl.read_csv(io.BytesIO(response.content), infer_schema=False)
        except Exception as exc:
            raise VendorDataError(VENDOR, endpoint, f"unreadable CSV: {exc}") from None
