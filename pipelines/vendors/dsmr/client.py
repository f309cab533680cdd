"""DSMR-reader client: one per instance (meter), each with its own URL, key and zone.

The v2 docs describe filters as local wall time (`YYYY-MM-DD HH:MM:SS`), but a real v5.11
server answers 400 for a wall time that is ambiguous or missing in its zone (every DST change)
and reads ISO 8601 with an offset exactly. So every filter is sent as a UTC instant with
`+00:00`: readings do not depend on the zone at all. Statistics do (a day is the instance's
local day), so every answer's offsets are checked against the configured zone and a mismatch
fails the run, naming the setting, instead of silently landing the wrong hours. Readings are
paged by key (`ordering=timestamp`, `timestamp__gte` = last seen) and a reading id is never
yielded twice.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import cast
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
import polars as pl

from pipelines.http import (
    DEFAULT_CONCURRENCY,
    Page,
    Request,
    RetryPolicy,
    SharedTransport,
    Tally,
    VendorDataError,
    VendorHttpClient,
)
from pipelines.vendors.dsmr import transform

VENDOR = "dsmr"
READINGS = "api/v2/datalogger/dsmrreading"
# Timestamp endings whose UTC offset a client keeps (check_zone): a server writes one or two.
KNOWN_OFFSETS_KEPT = 64
HOUR_STATISTICS = "api/v2/statistics/hour"
DAY_STATISTICS = "api/v2/statistics/day"
CONSUMPTION_TODAY = "api/v2/consumption/today"
QUARTER_HOUR_PEAKS = "api/v2/consumption/quarter-hour-peak-electricity"
ELECTRICITY_CONSUMPTION = "api/v2/consumption/electricity"
GAS_CONSUMPTION = "api/v2/consumption/gas"
ENERGY_SUPPLIER_PRICES = "api/v2/consumption/energy-supplier-prices"
METER_STATISTICS = "api/v2/datalogger/meter-statistics"
MONITORING = "api/v2/application/monitoring"
DEFAULT_TIMEZONE = "Europe/Amsterdam"  # DSMR-reader's own default TIME_ZONE
# Hour statistics are asked for this much beyond the local day on each side, then kept exactly
# by local date: a midnight that a DST change moves or skips still falls inside.
STATISTICS_MARGIN = timedelta(hours=2)
log = logging.getLogger(__name__)
PLACED = "_placed_at"  # where a reading belongs in time, its own instant or its predecessor's


def utc_filter(instant: datetime) -> str:
    """A filter value DSMR-reader reads exactly in any zone: ISO 8601 in UTC with `+00:00`
    (httpx encodes the `+`; unencoded it would arrive as a space)."""
    return instant.astimezone(UTC).isoformat()


@dataclass(frozen=True)
class DsmrInstance:
    name: str
    base_url: str
    api_key: str = field(repr=False)
    timezone: str = DEFAULT_TIMEZONE
    auth: str = "x-authkey"  # or "token": `Authorization: Token <key>`

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def instances_from_env(spec: str, environ: Mapping[str, str] | None = None) -> list[DsmrInstance]:
    """Instances from `DSMR_INSTANCES`: a JSON list of {name, base_url, api_key_env, timezone?, auth?}.

    The key itself never sits in the JSON: `api_key_env` names the variable holding it
    (default `DSMR_<NAME>_API_KEY`).
    """
    environ = os.environ if environ is None else environ
    try:
        entries = json.loads(spec)
    except json.JSONDecodeError as exc:
        raise ValueError(f"DSMR_INSTANCES is not valid JSON: {exc.msg}") from None
    if not isinstance(entries, list) or not entries:
        raise ValueError("DSMR_INSTANCES must be a non-empty JSON list of instances")
    instances = []
    for entry in entries:
        name = str(entry.get("name", "")).strip()
        if not name or not entry.get("base_url"):
            raise ValueError(f"DSMR_INSTANCES: every instance needs a name and a base_url (got keys {sorted(entry)})")
        key_env = entry.get("api_key_env") or f"DSMR_{name.upper()}_API_KEY"
        key = environ.get(key_env)
        if not key:
            raise ValueError(f"DSMR instance {name}: environment variable {key_env} (its API key) is not set")
        timezone = entry.get("timezone") or DEFAULT_TIMEZONE
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"DSMR instance {name}: unknown timezone {timezone!r}") from None
        auth = entry.get("auth", "x-authkey")
        if auth not in ("x-authkey", "token"):
            raise ValueError(f"DSMR instance {name}: auth must be 'x-authkey' or 'token'")
        instances.append(DsmrInstance(name, str(entry["base_url"]), key, timezone, auth))
    if len({i.name for i in instances}) != len(instances):
        raise ValueError("DSMR_INSTANCES: instance names must be unique")
    return instances


class DsmrClient:
    def __init__(
        self,
        instance: DsmrInstance,
        *,
        timeout_s: float = 30.0,
        retry: RetryPolicy | None = None,
        page_limit: int = 2000,
        transport: SharedTransport | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        """`transport`: the connection pool the run's other instances share (else one of its own)."""
        self.instance, self.page_limit = instance, page_limit
        self._known_offsets: dict[str | None, int | None] = {}  # by timestamp ending (check_zone)
        if instance.auth == "token":
            headers = {"Authorization": f"Token {instance.api_key}"}
        else:
            headers = {"X-AUTHKEY": instance.api_key}
        base = instance.base_url.rstrip("/") + "/"
        self.http = VendorHttpClient(
            VENDOR,
            base,
            secrets=[instance.api_key],
            timeout_s=timeout_s,
            retry=retry,
            headers=headers,
            base_url_setting=f"DSMR_INSTANCES ({instance.name}: base_url)",
            transport=transport,
            concurrency=concurrency,
        )

    def __enter__(self) -> DsmrClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    # -- transport -----------------------------------------------------------------------------
    def _checks(self) -> dict:
        """How the shared client reads this instance's refusals."""
        where = f"instance {self.instance.name}"
        return {"detail": where, "refusals": {403: "API key refused or API disabled"}, "ok": (200,)}

    def get_json(self, path: str, params: dict[str, str | int] | None = None) -> object:
        return self.http.get_json(Request(path, params), f"{self.instance.name} {path}", **self._checks())

    def get(self, path: str, params: dict[str, str | int] | None = None) -> dict:
        endpoint = f"{self.instance.name} {path}"
        body = self.get_json(path, params)
        if not isinstance(body, dict):
            raise VendorDataError(VENDOR, endpoint, f"expected an object, got {type(body).__name__}")
        return body

    def _results(self, path: str, response: httpx.Response) -> tuple[list[dict], str | None, int]:
        """A DRF page's results, its `next` and its `count`."""
        endpoint = f"{self.instance.name} {path}"
        body = self.http.json(endpoint, response)
        if not isinstance(body, dict) or not isinstance(body.get("results"), list):
            raise VendorDataError(VENDOR, endpoint, "answer has no `results` list")
        return body["results"], body.get("next"), int(body.get("count") or 0)

    def _readings_page(self, response: httpx.Response) -> tuple[pl.DataFrame, str | None, int]:
        """A readings page's typed rows, its `next` and its `count`: read by polars from the bytes
        when the page is plain, else decoded by orjson (the same rows, errors and reasons)."""
        plain = transform.plain_readings_page(response.content, self.instance.name)
        if plain is not None:
            return plain
        results, next_url, count = self._results(READINGS, response)
        return transform.readings_frame(results, self.instance.name), next_url, count

    def _page(self, path: str, params: dict[str, str | int]) -> tuple[list[dict], str | None, int]:
        endpoint = f"{self.instance.name} {path}"
        return self._results(path, self.http.fetch(Request(path, params), endpoint, **self._checks()))

    def pages(
        self,
        path: str,
        first: Request,
        read_page: Callable[[httpx.Response, Request], Page],
        key: str,
        where: str,
        tally: Tally | None,
    ) -> Iterator[pl.DataFrame]:
        """The shared paging over this instance's endpoint `path`, records keyed by `key`."""
        endpoint = f"{self.instance.name} {path}"
        checks = self._checks()
        yield from self.http.get_pages(first, endpoint, read_page, key=[key], where=where, tally=tally, **checks)

    def check_zone(self, page: pl.DataFrame, instant: str, raw: str, path: str) -> None:
        """Fail when the answer's offsets show the server keeps another zone than configured.

        A server writes its own zone's offset (or UTC, as the rst's examples do). With another
        zone configured, statistics would be cut into the wrong local days and the meter
        labelled with the wrong zone downstream, and a run would succeed with hours missing: it
        stops at the first answer that shows it (readings show it first) and names the setting.
        """
        # Each distinct (ending, expected offset) once: a page has a few, whatever its length.
        pairs = page.select(
            transform.offset_ending(raw).alias("ending"),
            transform.zone_offset_minutes(instant, self.instance.timezone).alias("expected"),
        ).unique()
        written_of = self._written_offsets(pairs["ending"])
        wrong_pairs = [
            (written, expected)
            for ending, expected in pairs.iter_rows()
            if (written := written_of[ending]) is not None and expected is not None and written not in (expected, 0)
        ]
        if not wrong_pairs:
            return
        seen = ", ".join(_offset_text(m) for m in sorted({written for written, _ in wrong_pairs}))
        wanted = ", ".join(_offset_text(m) for m in sorted({expected for _, expected in wrong_pairs}))
        raise VendorDataError(
            VENDOR,
            f"{self.instance.name} {path}",
            f"instance {self.instance.name} answers with UTC offsets {seen}, but DSMR_INSTANCES sets its "
            f"`timezone` to {self.instance.timezone!r}, which has {wanted} at those times: set `timezone` "
            "to the instance's TIME_ZONE (statistics are cut into its local days); nothing is landed from it",
        )

    def _written_offsets(self, endings: pl.Series) -> dict[str | None, int | None]:
        """`transform.written_offset_minutes` of each timestamp ending, kept per client: an
        instance writes its timestamps in one or two ways, and a query per page cost more than
        the rest of the check (~1 ms of a DSMR page's ~10). Only a few are kept: a server
        writing a new ending on every row costs a query per page, not a growing memory."""
        new = [ending for ending in endings.unique() if ending not in self._known_offsets]
        if not new:
            return self._known_offsets
        read = pl.DataFrame({"ending": new}, schema={"ending": pl.String})
        offsets = dict(zip(new, read.select(transform.written_offset_minutes("ending")).to_series(), strict=True))
        if len(self._known_offsets) + len(offsets) <= KNOWN_OFFSETS_KEPT:
            self._known_offsets.update(offsets)
            return self._known_offsets
        return self._known_offsets | offsets

    def check_hour_grid(self, page: pl.DataFrame) -> None:
        """Hours start on the local hour of the server's zone. Answers written in UTC carry no
        zone to compare, but hours off the configured zone's hour (:30 in St. John's, :00 in
        Amsterdam) still show a mis-set `timezone`."""
        local = pl.col("hour_start").dt.convert_time_zone(self.instance.timezone)
        off_grid = page.filter((local.dt.minute() != 0) | (local.dt.second() != 0))
        if not off_grid.height:
            return
        minutes = ", ".join(f":{m:02d}" for m in off_grid.select(local.dt.minute())["hour_start"].unique().sort())
        raise VendorDataError(
            VENDOR,
            f"{self.instance.name} {HOUR_STATISTICS}",
            f"instance {self.instance.name}: hours start at {minutes} past the hour in {self.instance.timezone!r}, "
            "the `timezone` DSMR_INSTANCES sets for it: set `timezone` to the instance's TIME_ZONE",
        )

    def offset_pages(
        self,
        path: str,
        params: dict[str, str | int],
        frame_of: Callable[[list[dict], str], pl.DataFrame],
        key: str,
        where: str,
        tally: Tally | None = None,
    ) -> Iterator[pl.DataFrame]:
        """Follow DRF's `next` by its limit/offset only: the host in `next` may be a proxy's."""

        def read_page(response: httpx.Response, request: Request) -> Page:
            results, next_url, count = self._results(path, response)
            follow = None
            if next_url:
                offset = parse_qs(urlsplit(next_url).query).get("offset", ["0"])[0]
                follow = request.with_params(offset=int(offset))
            return Page(frame_of(results, self.instance.name), follow, count)

        first = Request(path, {**params, "limit": self.page_limit, "offset": 0})
        yield from self.pages(path, first, read_page, key, where, tally)

    # -- endpoints -----------------------------------------------------------------------------
    def reading_pages(
        self, start: datetime, end: datetime | None = None, tally: Tally | None = None
    ) -> Iterator[pl.DataFrame]:
        """Typed readings with start <= measured_at < end (end None: up to the newest), each once.

        Keyset paging: each page restarts at the newest timestamp seen (`timestamp__gte`, so a
        reading on the boundary comes back and is dropped by id). When a page brings nothing
        newer (many readings on one second) the offset moves on instead, so paging always
        advances. Bounds are UTC instants, so DST days page like any other.
        """
        upper = {"timestamp__lte": utc_filter(end)} if end is not None else {}

        def read_page(response: httpx.Response, request: Request) -> Page:
            page, next_url, count = self._readings_page(response)
            received = page.height
            self.check_zone(page, "measured_at", "timestamp_raw", READINGS)
            key_at = datetime.fromisoformat(str((request.params or {})["timestamp__gte"]))
            # A reading with an unreadable timestamp belongs where the reading before it does
            # (the server orders by the real time); it lands so validation quarantines it.
            placed = pl.col("measured_at")
            if page["measured_at"].null_count():  # seldom: a datetime literal costs ~0.4 ms a page
                placed = placed.fill_null(strategy="forward").fill_null(pl.lit(key_at))
            page = page.with_columns(placed.alias(PLACED))
            if not next_url:
                return Page(page, None, count)
            newest = cast("datetime | None", page["measured_at"].max())
            if newest is not None and newest > key_at:
                follow = request.with_params(timestamp__gte=utc_filter(newest), offset=0)
            else:
                follow = request.with_params(offset=int((request.params or {})["offset"]) + received)
            return Page(page, follow, count)

        params: dict[str, str | int] = {
            "ordering": "timestamp",
            "timestamp__gte": utc_filter(start),
            **upper,
            "limit": self.page_limit,
            "offset": 0,
        }
        in_window = pl.col(PLACED) >= pl.lit(start)
        if end is not None:
            in_window &= pl.col(PLACED) < pl.lit(end)
        where = f"readings from {utc_filter(start)}"
        for page in self.pages(READINGS, Request(READINGS, params), read_page, "reading_id", where, tally):
            # Most pages lie wholly inside the window: kept whole, without a filter's copy.
            first, last = (cast("datetime | None", at) for at in (page[PLACED].min(), page[PLACED].max()))
            inside = first is not None and last is not None and first >= start and (end is None or last < end)
            fresh = (page if inside else page.filter(in_window)).drop(PLACED)
            if fresh.height:
                yield fresh

    def hour_statistics(self, day: date, tally: Tally | None = None) -> Iterator[pl.DataFrame]:
        """Hour statistics of the instance's local day `day` (23, 24 or 25 of them).

        Asked for in UTC two hours wider on each side of the local day, then kept exactly:
        hours whose start falls on `day` in the instance's zone, which the answer's offsets
        must confirm. DSMR-reader makes them all at once after that day's midnight.
        """
        zone = self.instance.zone
        first_midnight = datetime.combine(day, datetime.min.time(), zone)
        next_midnight = datetime.combine(day + timedelta(days=1), datetime.min.time(), zone)
        params: dict[str, str | int] = {
            "ordering": "hour_start",
            "hour_start__gte": utc_filter(first_midnight - STATISTICS_MARGIN),
            "hour_start__lte": utc_filter(next_midnight + STATISTICS_MARGIN),
        }
        frame_of = transform.hour_statistics_frame
        for page in self.offset_pages(HOUR_STATISTICS, params, frame_of, "stat_id", f"local day {day}", tally):
            self.check_zone(page, "hour_start", "hour_start_raw", HOUR_STATISTICS)
            self.check_hour_grid(page)
            local_day = pl.col("hour_start").dt.convert_time_zone(self.instance.timezone).dt.date()
            # An unreadable hour_start belongs where the hour before it does (ordered by hour).
            placed = local_day.fill_null(strategy="forward").fill_null(pl.lit(day - timedelta(days=1)))
            yield page.filter(placed == pl.lit(day))

    def day_statistics(self, first: date, last: date, tally: Tally | None = None) -> Iterator[pl.DataFrame]:
        """Day statistics of the instance's local days first..last (inclusive)."""
        params: dict[str, str | int] = {"ordering": "day", "day__gte": first.isoformat(), "day__lte": last.isoformat()}
        frame_of = transform.day_statistics_frame
        yield from self.offset_pages(DAY_STATISTICS, params, frame_of, "stat_id", f"local days {first}..{last}", tally)

    def consumption_today(self) -> pl.DataFrame:
        """Today's consumption (one row), or no row while the instance has none for today.

        v5.11 answers 200 with a bare JSON string ("No electricity readings found for: <day>")
        after local midnight or while its datalogger is down; the OpenAPI's array schema
        allows `[]` too. Neither is an error of ours: that instance lands nothing this time.
        """
        body = self.get_json(CONSUMPTION_TODAY)
        if isinstance(body, dict):
            return transform.consumption_today_frame(body, self.instance.name)
        if isinstance(body, str) or body == []:
            log.warning("dsmr consumption/today: nothing yet on instance %s (%r)", self.instance.name, body)
            return transform.consumption_today_frame(None, self.instance.name)
        endpoint = f"{self.instance.name} {CONSUMPTION_TODAY}"
        raise VendorDataError(VENDOR, endpoint, f"expected an object or a message, got {type(body).__name__}")

    def _timed_pages(
        self,
        path: str,
        field: str,
        frame_of: Callable[[list[dict], str], pl.DataFrame],
        key: str,
        start: datetime,
        end: datetime,
        tally: Tally | None,
    ) -> Iterator[pl.DataFrame]:
        """Records with start <= `field` < end of a list endpoint filtered on `field`.

        Bounds go out as UTC instants like the readings' (inclusive on both sides, so the upper
        one is cut here); the answer's offsets must match the configured zone. These endpoints
        hold a few thousand records a day at most, so plain offset paging suffices.
        """
        params: dict[str, str | int] = {
            "ordering": field,
            f"{field}__gte": utc_filter(start),
            f"{field}__lte": utc_filter(end),
        }
        where = f"{field} from {utc_filter(start)}"
        for page in self.offset_pages(path, params, frame_of, key, where, tally):
            self.check_zone(page, field, f"{field}_raw", path)
            # An unreadable instant belongs where the record before it does (ordered by it).
            placed = pl.col(field).fill_null(strategy="forward").fill_null(pl.lit(start))
            yield page.filter((placed >= pl.lit(start)) & (placed < pl.lit(end)))

    def quarter_hour_peaks(self, start: datetime, end: datetime, tally: Tally | None = None) -> Iterator[pl.DataFrame]:
        """Quarter-hour average power (kW) of the quarters that start in [start, end)."""
        frame_of = transform.quarter_hour_peaks_frame
        yield from self._timed_pages(QUARTER_HOUR_PEAKS, "read_at_start", frame_of, "peak_id", start, end, tally)

    def electricity_consumption(
        self, start: datetime, end: datetime, tally: Tally | None = None
    ) -> Iterator[pl.DataFrame]:
        """Compacted electricity records (one per minute by default) read in [start, end)."""
        frame_of = transform.electricity_consumption_frame
        yield from self._timed_pages(ELECTRICITY_CONSUMPTION, "read_at", frame_of, "consumption_id", start, end, tally)

    def gas_consumption(self, start: datetime, end: datetime, tally: Tally | None = None) -> Iterator[pl.DataFrame]:
        """Gas positions (one per meter update, hourly) read in [start, end)."""
        frame_of = transform.gas_consumption_frame
        yield from self._timed_pages(GAS_CONSUMPTION, "read_at", frame_of, "consumption_id", start, end, tally)

    def energy_supplier_prices(self) -> pl.DataFrame:
        """Every price contract entered on the instance (a handful: all pages at once)."""
        frame_of = transform.energy_supplier_prices_frame
        pages = list(self.offset_pages(ENERGY_SUPPLIER_PRICES, {"ordering": "start"}, frame_of, "contract_id", "all"))
        return pl.concat(pages, how="vertical_relaxed")

    def meter_statistics(self) -> pl.DataFrame:
        """The datalogger's meter statistics (one object, not a list) as one row."""
        body = self.get(METER_STATISTICS)
        frame = transform.meter_statistics_frame(body, self.instance.name)
        self.check_zone(frame, "measured_at", "timestamp_raw", METER_STATISTICS)
        return frame

    def monitoring_issues(self) -> list[dict]:
        """The issues DSMR-reader's Status page shows (`[]` while healthy)."""
        body = self.get_json(MONITORING)
        if not isinstance(body, list):
            endpoint = f"{self.instance.name} {MONITORING}"
            raise VendorDataError(VENDOR, endpoint, f"expected a list of issues, got {type(body).__name__}")
        return [issue if isinstance(issue, dict) else {"description": str(issue)} for issue in body]

    def latest_reading(self) -> tuple[int, datetime | None]:
        """(number of readings stored, timestamp of the newest) from one tiny request."""
        results, _, count = self._page(READINGS, {"ordering": "-timestamp", "limit": 1})
        latest = transform.readings_frame(results, self.instance.name)
        self.check_zone(latest, "measured_at", "timestamp_raw", READINGS)
        return count, (latest["measured_at"][0] if latest.height else None)


def _offset_text(minutes: int) -> str:
    """Minutes east of UTC as ISO 8601 writes them: +01:00, -03:30."""
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
