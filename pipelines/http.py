"""The one HTTP client every vendor uses: timeouts, bounded retries with backoff, redaction."""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import orjson

log = logging.getLogger(__name__)

# httpx logs every request URL at INFO; URLs may carry secrets (Primayer's token is a path segment),
# so its own request log is silenced and ours, redacted, replaces it.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
REDACTED = "***"
_SECRET_QUERY_KEYS = re.compile(r"(?i)((?:password|passwd|token|auth_token|api[_-]?key|authkey|secret)=)[^&\s\"']+")


class VendorRequestError(RuntimeError):
    """A request to a vendor failed for good; the message names vendor, endpoint and status."""

    def __init__(self, vendor: str, endpoint: str, status: int | None, detail: str) -> None:
        self.vendor, self.endpoint, self.status = vendor, endpoint, status
        where = f"{vendor} {endpoint}"
        super().__init__(f"{where} failed (status {status if status is not None else 'none'}): {detail}")


class VendorConfigError(ValueError):
    """A setting that cannot work, found before any request; names vendor and setting."""

    def __init__(self, vendor: str, setting: str, detail: str) -> None:
        self.vendor, self.setting = vendor, setting
        super().__init__(f"{vendor}: setting {setting} {detail}")


def check_base_url(vendor: str, base_url: str, setting: str) -> None:
    """Fail at once on a base URL that no request could use, instead of retrying it."""
    url = httpx.URL(base_url) if "://" in base_url else None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise VendorConfigError(vendor, setting, f"is not an http(s) URL: {base_url!r}")


class VendorDataError(ValueError):
    """A vendor answered something the client cannot read; names vendor, endpoint and record."""

    def __init__(self, vendor: str, endpoint: str, detail: str) -> None:
        super().__init__(f"{vendor} {endpoint}: {detail}")


def is_empty(body: object) -> bool:
    """Whether an answer means "nothing": `null`, `""`, `[]`, `{}` or no body at all.

    The docs show lists of results but not what an empty result looks like, and real services
    differ; every client reads all of these forms as an empty collection.
    """
    return body is None or (isinstance(body, str | list | dict) and len(body) == 0)


# The same, as raw bodies: for pages decoded straight from bytes (polars' `read_json`).
EMPTY_BODIES = frozenset({b"", b"null", b'""', b"[]", b"{}"})


class Redactor:
    """Removes known secrets (raw and URL-encoded) and secret-looking query values from text."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets: list[str] = []
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        if not secret:
            return
        for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
            if form not in self._secrets:
                self._secrets.append(form)
        self._secrets.sort(key=len, reverse=True)  # longest first so no fragment survives

    def __call__(self, text: object) -> str:
        out = str(text)
        for secret in self._secrets:
            out = out.replace(secret, REDACTED)
        return _SECRET_QUERY_KEYS.sub(r"\1" + REDACTED, out)


@dataclass(frozen=True)
class RetryPolicy:
    """How patiently a client talks to a vendor: attempts, backoff, and the bounds of one answer."""

    max_attempts: int = 6
    backoff_base_s: float = 0.2
    backoff_max_s: float = 10.0
    retry_after_max_s: float = 60.0
    # A whole request, body included: httpx's timeout is per read, so a server trickling one
    # byte at a time would otherwise hold a run for ever.
    request_deadline_s: float = 300.0
    # One answer's body; a page this big is a server gone wrong, not data to hold in memory.
    max_response_bytes: int = 256 * 1024 * 1024

    def delay(self, attempt: int, retry_after: str | None, rng: random.Random) -> float:
        """Seconds to wait before attempt `attempt + 1`: full-jitter backoff, longer if the
        server's `Retry-After` asks for more (capped): `Retry-After: 0` still gets a pause."""
        backoff = rng.uniform(0, min(self.backoff_max_s, self.backoff_base_s * 2**attempt))
        if retry_after is not None:
            try:
                return max(min(float(retry_after), self.retry_after_max_s), backoff)
            except ValueError:
                pass  # an HTTP-date: fall back to backoff
        return backoff


class VendorHttpClient:
    """httpx.Client wrapper that retries transient failures and never lets a secret out."""

    def __init__(
        self,
        vendor: str,
        base_url: str | None,
        *,
        secrets: Iterable[str | None] = (),
        timeout_s: float = 30.0,
        retry: RetryPolicy | None = None,
        headers: dict[str, str] | None = None,
        seed: int | None = None,
        base_url_setting: str | None = None,
    ) -> None:
        self.vendor = vendor
        self.redact = Redactor(secrets)
        self.retry = retry or RetryPolicy()
        self._rng = random.Random(seed)
        if base_url is not None:  # None: the caller sends absolute URLs (and checks its own)
            check_base_url(vendor, base_url, base_url_setting or f"{vendor.upper()}_BASE_URL")
        self._http = httpx.Client(base_url=base_url or "", timeout=timeout_s, headers=headers or {})

    def __enter__(self) -> VendorHttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, url: str, *, endpoint: str, **kwargs: Any) -> httpx.Response:
        """Send with retries on connect errors, timeouts, broken bodies, 429 and 5xx.

        `endpoint` is a short secret-free name for messages. Other 4xx answers are returned to
        the caller, who knows what they mean for its vendor (e.g. an expired token).
        """
        last_status: int | None = None
        last_detail = ""
        for attempt in range(self.retry.max_attempts):
            retry_after = None
            try:
                response = self._bounded(method, url, endpoint, **kwargs)
            except httpx.TransportError as exc:  # connect, timeout, dropped or truncated body
                last_status, last_detail = None, f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code not in RETRYABLE_STATUSES:
                    return response
                last_status, last_detail = response.status_code, response.text[:200]
                retry_after = response.headers.get("Retry-After")
            if attempt + 1 < self.retry.max_attempts:
                wait = self.retry.delay(attempt, retry_after, self._rng)
                log.warning(
                    "%s %s attempt %d/%d failed (%s): %s; retrying in %.2fs",
                    self.vendor,
                    endpoint,
                    attempt + 1,
                    self.retry.max_attempts,
                    last_status if last_status is not None else "no response",
                    self.redact(last_detail),
                    wait,
                )
                time.sleep(wait)
        raise VendorRequestError(
            self.vendor,
            endpoint,
            last_status,
            self.redact(f"gave up after {self.retry.max_attempts} attempts: {last_detail}"),
        ) from None

    def _bounded(self, method: str, url: str, endpoint: str, **kwargs: Any) -> httpx.Response:
        """Send and read the body within the policy's deadline and size cap (streamed, so
        neither a trickling nor a huge answer is waited for or held whole)."""
        deadline = time.monotonic() + self.retry.request_deadline_s
        with self._http.stream(method, url, **kwargs) as response:
            declared = int(response.headers.get("content-length") or 0)
            if declared > self.retry.max_response_bytes:
                raise self._too_big(endpoint, declared)
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.retry.max_response_bytes:
                    raise self._too_big(endpoint, size)
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout(f"answer not complete within {self.retry.request_deadline_s:g} s")
                chunks.append(chunk)
        # The chunks are already decoded: the new answer must not decode them again.
        headers = [
            (k, v) for k, v in response.headers.items() if k.lower() not in ("content-encoding", "content-length")
        ]
        return httpx.Response(response.status_code, headers=headers, content=b"".join(chunks), request=response.request)

    def _too_big(self, endpoint: str, size: int) -> VendorDataError:
        limit = self.retry.max_response_bytes
        return VendorDataError(
            self.vendor, endpoint, f"answer of {size:,} bytes or more exceeds the {limit:,}-byte cap"
        )

    def json(self, endpoint: str, response: httpx.Response) -> object:
        """The answer's JSON, decoded with orjson (about twice as fast as httpx's stdlib `json`).

        `204 No Content` and an empty body are None, as JSON `null` is (see `is_empty`)."""
        if response.status_code == 204 or not response.content.strip():
            return None
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            snippet = self.redact(response.text[:200])
            raise VendorDataError(self.vendor, endpoint, f"not JSON: {snippet!r}") from None

    def fail(self, endpoint: str, response: httpx.Response, detail: str = "") -> VendorRequestError:
        """An error for a non-retryable answer, with the vendor's message redacted."""
        body = response.text[:300]
        return VendorRequestError(self.vendor, endpoint, response.status_code, self.redact(f"{detail} {body}".strip()))
