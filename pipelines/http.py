"""The one HTTP client every vendor uses: timeouts, bounded retries with backoff, redaction, and
the one paging walk (`get_pages`) with its guards and its tally for reconciliation."""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from math import ceil
from typing import Any, Literal, cast
from urllib.parse import quote, quote_plus

import httpx
import numpy as np
import orjson
import polars as pl

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
    # Pages of one walk when the API reports no total to derive a budget from.
    max_pages: int = 10_000
    # Pages in a row that bring no new key before a walk is judged endless.
    max_pages_without_news: int = 3

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


@dataclass(frozen=True)
class Request:
    """One request as a vendor client describes it: the shared client sends, checks and pages it."""

    url: str
    params: Mapping[str, str | int] | None = None
    data: Mapping[str, str] | None = None  # a form body (BAXO posts its parameters)
    json: object = None  # a JSON body
    headers: Mapping[str, str] | None = None
    method: str = "GET"

    def with_params(self, **params: str | int) -> Request:
        return replace(self, params={**(self.params or {}), **params})


class Credentials:
    """How a vendor proves who it is when it cannot be a fixed header: the shared client applies
    it to every request and, when the service refuses it (401), renews it and sends once more."""

    def apply(self, request: Request) -> Request:
        return request

    def renew(self, request: Request) -> bool:
        """Renew after a 401 to `request`; False when a renewal cannot help."""
        return False

    def accepted(self, request: Request) -> None:
        """The service accepted `request` (e.g. a password sent once a day was taken)."""

    def refused_again(self) -> str:
        return "credentials refused again right after renewing them"


# What makes a record a repeat of one an earlier page brought (`VendorHttpClient.get_pages`).
Repeats = Literal["key", "row"]


@dataclass
class Page:
    """One page as the vendor read it: its records, the request for the next page (None on the
    last) and how many records the API says the whole walk holds (None: it does not say)."""

    frame: pl.DataFrame
    next: Request | None = None
    total: int | None = None


@dataclass
class Tally:
    """What the pages of one dataset's partition brought, for reconciliation with what the API
    reports: summed over every walk (instances, customers, device chunks) landing into it."""

    vendor: str
    dataset: str
    partition: str
    reported: int | None = None  # records the APIs said they hold; None: no API reported a total
    received: int = 0  # records the pages carried
    repeated: int = 0  # records an earlier page of the same walk had brought (`get_pages`' `repeats`)
    pages: int = 0
    endpoints: set[str] = field(default_factory=set)
    # Walks of one partition may run in threads at once (`pipelines.prefetch`): a count read and
    # written back by two of them would lose one's pages and hold a complete day back.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def distinct(self) -> int:
        return self.received - self.repeated

    def report(self, total: int) -> None:
        with self._lock:
            self.reported = (self.reported or 0) + total

    def count_page(self, endpoint: str, received: int, repeated: int) -> None:
        with self._lock:
            self.endpoints.add(endpoint)
            self.pages += 1
            self.received += received
            self.repeated += repeated

    def mismatch(self) -> str | None:
        """Why the pages brought fewer records than the API reported, or None.

        More than reported is not a loss: records that arrived during the walk (today's
        readings) are read past the first page's count.
        """
        if self.reported is None or self.distinct >= self.reported:
            return None
        endpoints = ", ".join(sorted(self.endpoints))
        return (
            f"reconciliation failed for {self.vendor} {endpoints}, partition {self.partition}: the API reported "
            f"{self.reported} records, the pages brought {self.distinct} distinct ({self.received} received, "
            f"{self.repeated} repeated across pages)"
        )


class _SeenKeys:
    """The keys the earlier pages of a walk brought, to drop the records a page repeats.

    `whole_rows`: a record repeats an earlier one only when every column matches (nulls equal);
    the key decides only which records are tracked (a key with a null part never repeats).

    Each key is also kept as a 64-bit hash in one sorted array: a page looks its rows up there,
    and only rows whose hash was seen (a repeat, or a rare collision) are joined on the key
    itself. A join of every page against every key seen so far grows with the walk: it took
    3.2 s of a 1 M-row BAXO day (two walks of 50 pages), more than fetching and decoding.
    """

    def __init__(self, key: list[str], whole_rows: bool = False) -> None:
        self.key, self.whole_rows = key, whole_rows
        self._frames: list[pl.DataFrame] = []  # the keys seen, page by page
        self._frame_hashes: list[np.ndarray] = []  # their hashes, in the same order
        self._hashes = np.empty(0, dtype=np.uint64)  # every hash seen, sorted
        self._schema: pl.Schema | None = None  # the seen keys' types while every page agrees

    def drop_repeats(self, frame: pl.DataFrame) -> pl.DataFrame:
        """`frame` without the rows whose key (or whole row) an earlier page brought (rows with
        a null key part stay); its keys are then seen."""
        keys = self._compared(frame)
        hashes = _row_hashes(keys)
        if self._frames and frame.height:
            fresh = self._without_seen(frame, keys, hashes)
            if fresh.height < frame.height:
                frame, keys = fresh, self._compared(fresh)
                hashes = _row_hashes(keys)
        if any(keys[column].null_count() for column in self.key):  # a key with a null part never repeats
            keys = keys.filter(pl.all_horizontal(pl.col(self.key).is_not_null()))
            hashes = _row_hashes(keys)
        self._add(keys, hashes)
        return frame

    def _without_seen(self, frame: pl.DataFrame, keys: pl.DataFrame, hashes: np.ndarray) -> pl.DataFrame:
        if keys.schema != self._schema:
            # Pages typed differently: the join on every seen key, as it always was (and its errors).
            return self._anti_join(frame, pl.concat(self._frames))
        looked_up = np.sort(hashes)  # in order, the look-ups stay in cache
        where = np.searchsorted(self._hashes, looked_up).clip(max=len(self._hashes) - 1)
        maybe_seen = self._hashes[where] == looked_up
        if not maybe_seen.any():
            return frame
        # Only the seen keys sharing a hash with this page can match it: the join is exact on those
        # (their hashes kept beside them: hashing every seen key again made each such page cost
        # more as the walk went on).
        seen = pl.concat(self._frames)
        sharing = pl.Series(np.isin(np.concatenate(self._frame_hashes), looked_up[maybe_seen]))
        return self._anti_join(frame, seen.filter(sharing))

    def _compared(self, frame: pl.DataFrame) -> pl.DataFrame:
        return frame if self.whole_rows else frame[self.key]

    def _anti_join(self, frame: pl.DataFrame, seen: pl.DataFrame) -> pl.DataFrame:
        # Tracked keys have no null part, so equal nulls only ever match among the values.
        return frame.join(seen, on=seen.columns, how="anti", nulls_equal=self.whole_rows)

    def _add(self, keys: pl.DataFrame, hashes: np.ndarray) -> None:
        self._schema = keys.schema if not self._frames or keys.schema == self._schema else None
        self._frames.append(keys)
        self._frame_hashes.append(hashes)
        # Inserted in place: linear in the keys seen (sorting them all again was 5x slower).
        new = np.sort(hashes)
        self._hashes = np.insert(self._hashes, np.searchsorted(self._hashes, new), new)


def _row_hashes(frame: pl.DataFrame) -> np.ndarray:
    return frame.hash_rows(seed=0).to_numpy()


class _Walk:
    """The guards of one walk through an endpoint's pages: a budget of pages, no request sent
    twice, no run of pages without a new key; and the keys seen, to drop records a page repeats."""

    def __init__(self, http: VendorHttpClient, endpoint: str, where: str, key: Sequence[str], repeats: Repeats) -> None:
        self.http, self.endpoint, self.where, self.key = http, endpoint, where, list(key)
        self.budget = http.retry.max_pages
        self.pages = self.without_news = 0
        self.sent: set[str] = set()
        self.seen = _SeenKeys(self.key, whole_rows=repeats == "row")
        self.total: int | None = None

    def fail(self, detail: str) -> VendorDataError:
        return VendorDataError(self.http.vendor, self.endpoint, self.http.redact(f"{detail} ({self.where})"))

    def before(self, request: Request) -> None:
        fingerprint = repr((request.method, request.url, sorted((request.params or {}).items()), request.data))
        if fingerprint in self.sent:
            raise self.fail(f"pagination does not end: page {self.pages + 1} asks again for {request.url}")
        if self.pages >= self.budget:
            raise self.fail(
                f"pagination does not end: {self.pages} pages, over the budget of {self.budget} "
                f"(the API reported {self.total if self.total is not None else 'no'} records)"
            )
        self.sent.add(fingerprint)

    def fresh(self, page: Page) -> pl.DataFrame:
        """The page's records no earlier page brought (rows without a key stay, for validation
        to quarantine)."""
        self.pages += 1
        frame = self.seen.drop_repeats(page.frame)
        if self.pages == 1 and page.total is not None:
            self.total = page.total
            if page.next is not None and page.frame.height:
                # The page size as served (a server may cap the limit asked), twice over: keyset
                # paging re-reads its boundary record, and a walk needs slack, not precision.
                self.budget = min(self.budget, 2 * ceil(page.total / page.frame.height) + 3)
        self.without_news = 0 if frame.height else self.without_news + 1
        if page.next is not None and self.without_news >= self.http.retry.max_pages_without_news:
            raise self.fail(
                f"pagination does not end: {self.pages} pages, the last {self.without_news} with no new row, "
                f"next {page.next.url}"
            )
        return frame


class _NextPage:
    """A walk's next page: read when the walk asks for it or, `ahead`, fetched and read at once in
    a thread of its own while the walk's consumer works on the page before (the network and the
    decoding of one page overlap the work on the last; still one request in flight per walk)."""

    def __init__(self, read: Callable[[], Page], ahead: bool) -> None:
        self._read, self._ahead = read, ahead
        self._done = threading.Event()
        self._page: Page | None = None
        self._error: BaseException | None = None
        if ahead:
            # A daemon: a request still retrying for a walk that has stopped must not keep the process alive.
            threading.Thread(target=self._run, name="page-ahead", daemon=True).start()

    def _run(self) -> None:
        try:
            self._page = self._read()
        except BaseException as exc:  # raised in the walk, where the page would have come
            self._error = exc
        finally:
            self._done.set()

    def result(self) -> Page:
        if not self._ahead:
            return self._read()
        self._done.wait()
        if self._error is not None:
            raise self._error
        return cast("Page", self._page)


# Walks of pages a landing function may run at once against one vendor (`pipelines.prefetch`):
# enough to keep the second core busy while pages are in flight, few enough to stay polite.
DEFAULT_CONCURRENCY = 4


class SharedTransport:
    """One connection pool for every client a run builds for a vendor.

    DSMR builds a client per meter, each with its own key and address; an httpx client of its
    own costs ~25-75 ms here (its SSL context loads the CA bundle), seconds per run over a
    hundred meters, and opens its own connections. Clients borrow this pool instead; it closes
    when the last borrower does, so each client keeps its `with` block.
    """

    def __init__(self) -> None:
        self._transport = httpx.HTTPTransport()
        self._lock = threading.Lock()
        self._borrowers = 0

    def borrow(self) -> httpx.BaseTransport:
        with self._lock:
            self._borrowers += 1
        return _BorrowedTransport(self)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._transport.handle_request(request)

    def give_back(self) -> None:
        with self._lock:
            self._borrowers -= 1
            last = self._borrowers == 0
        if last:
            self._transport.close()


class _BorrowedTransport(httpx.BaseTransport):
    """A client's share of a `SharedTransport`: closing it gives the share back, once."""

    def __init__(self, shared: SharedTransport) -> None:
        self._shared: SharedTransport | None = shared

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._shared is None:
            raise RuntimeError("request on a closed client")
        return self._shared.handle_request(request)

    def close(self) -> None:
        shared, self._shared = self._shared, None
        if shared is not None:
            shared.give_back()


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
        credentials: Credentials | None = None,
        transport: SharedTransport | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        """`transport`: a pool shared with the run's other clients (else one of its own).
        `concurrency`: walks of pages a landing function may run at once on this client."""
        if concurrency < 1:
            raise VendorConfigError(vendor, "concurrency", f"must be at least 1, got {concurrency}")
        self.vendor, self.concurrency = vendor, concurrency
        self.credentials = credentials or Credentials()
        self.redact = Redactor(secrets)
        self.retry = retry or RetryPolicy()
        self._rng = random.Random(seed)
        if base_url is not None:  # None: the caller sends absolute URLs (and checks its own)
            check_base_url(vendor, base_url, base_url_setting or f"{vendor.upper()}_BASE_URL")
        self._http = httpx.Client(
            base_url=base_url or "",
            timeout=timeout_s,
            headers=headers or {},
            transport=transport.borrow() if transport is not None else None,
        )

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

    # -- the one path every vendor's reads take ------------------------------------------------
    def fetch(
        self,
        request: Request,
        endpoint: str,
        *,
        detail: str = "",
        refusals: Mapping[int, str] | None = None,
        ok: Sequence[int] = (200, 204),  # 204: nothing to report
    ) -> httpx.Response:
        """Send `request` with the vendor's credentials (renewed once on a 401) and fail on any
        status outside `ok`, naming `detail` (and the meaning `refusals` gives a status)."""
        response = self._send(request, endpoint)
        if response.status_code == 401 and self.credentials.renew(request):
            response = self._send(request, endpoint)
            if response.status_code == 401:
                raise self.fail(endpoint, response, self.credentials.refused_again())
        if response.status_code not in ok:
            meaning = (refusals or {}).get(response.status_code)
            raise self.fail(endpoint, response, ": ".join(part for part in (detail, meaning) if part))
        return response

    def _send(self, request: Request, endpoint: str) -> httpx.Response:
        sent = self.credentials.apply(request)
        log.debug("%s %s %s", self.vendor, sent.method, self.redact(sent.url))  # the URL may carry a token
        response = self.request(
            sent.method,
            sent.url,
            endpoint=endpoint,
            # None, not {}: httpx replaces a URL's own query (a `next` URL's) with any params given.
            params=dict(sent.params) if sent.params else None,
            data=dict(sent.data) if sent.data is not None else None,
            json=sent.json,
            headers=dict(sent.headers or {}),
        )
        if response.status_code < 400:
            self.credentials.accepted(sent)
        return response

    def get_json(self, request: Request | str, endpoint: str, **checks: Any) -> object:
        """The decoded answer to one request (`fetch`'s checks apply)."""
        request = Request(request) if isinstance(request, str) else request
        return self.json(endpoint, self.fetch(request, endpoint, **checks))

    @staticmethod
    def _next_page(
        walk: _Walk, page: Page, read: Callable[[Request], Page], ahead: bool
    ) -> tuple[_NextPage | None, VendorDataError | None]:
        """The page after `page` (None after the last), on its way if `ahead`, or why the walk may
        not ask for it, to be raised once `page` has been handed on, where it always was."""
        follow = page.next
        if follow is None:
            return None, None
        try:
            walk.before(follow)
        except VendorDataError as refused:
            return None, refused
        return _NextPage(lambda: read(follow), ahead), None

    def get_pages(
        self,
        first: Request,
        endpoint: str,
        read_page: Callable[[httpx.Response, Request], Page],
        *,
        key: Sequence[str],
        where: str,
        tally: Tally | None = None,
        read_ahead: bool = False,
        repeats: Repeats = "key",
        **checks: Any,
    ) -> Iterator[pl.DataFrame]:
        """Every page of a walk, as frames of the records no earlier page brought.

        `repeats`: what makes a record a repeat of an earlier page's. "key": the same `key` (a
        record with its own id, read again as the pages shifted: the first copy stays). "row":
        the same key and values. A reading keyed by what it measures (device, tag, instant) that
        comes again with another value is a correction: it stays, and the warehouse's duplicate
        ranking keeps one value and holds the other back with its reason, instead of the walk
        dropping it unseen.

        `read_page` turns an answer into its records, the next request and the API's total.
        The walk stops with an error naming vendor, endpoint and `where` (the partition) when it
        asks for a page twice, brings no new key for `max_pages_without_news` pages, or outruns
        its budget: the API's total over the page size as served (with slack), else `max_pages`.

        `read_ahead`: fetch and read the next page in a thread while this one is worked on. It
        pays when `read_page` only decodes (BAXO: polars, which releases the GIL) and the work is
        done downstream; DSMR, whose `read_page` builds its typed frames itself, measured ~5 %
        slower with it and ~60 MB more peak RSS, as the page ahead competed for the same cores.
        """
        walk = _Walk(self, endpoint, f"partition {tally.partition}" if tally else where, key, repeats)

        def read(request: Request) -> Page:
            return read_page(self.fetch(request, endpoint, **checks), request)

        walk.before(first)
        page = read(first)
        while True:
            fresh = walk.fresh(page)
            if tally is not None:
                tally.count_page(endpoint, page.frame.height, page.frame.height - fresh.height)
            following, refused = self._next_page(walk, page, read, read_ahead)
            yield fresh
            if refused is not None:
                raise refused
            if following is None:
                break
            page = following.result()
        if tally is not None and walk.total is not None:
            tally.report(walk.total)
