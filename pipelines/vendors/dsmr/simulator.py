"""A DSMR-reader API simulator (several instances, one per meter) following `dsmr-reader.rst`
and the v5.11 OpenAPI contract.

Each instance lives under its own path prefix, `/<instance>/api/v2/...`, with its own zone and
API key, like separate DSMR-reader servers. It follows Django REST Framework's conventions:
`X-AUTHKEY` (or `Authorization: Token <key>`) else 403 `{"detail": ...}`; a disabled API answers
403 `{"detail": "API is disabled"}`; list endpoints answer `{count, next, previous, results}`
with full URLs (limit/offset, default limit 25); decimals are strings with fixed decimals while
`consumption/today` gives floats; timestamps are ISO 8601 in the instance's zone with the offset
(`+00:00` written `Z`, as DRF does). As on a real v5.11 server, `__gte`/`__lte` filters take a
local wall time `YYYY-MM-DD HH:MM:SS` or ISO 8601 with an offset; a wall time that is ambiguous
or does not exist in the zone (DST) answers 400 in Django's shape. `consumption/today` answers a
bare JSON string while the local day has no reading. Where the docs leave the form open, the
config has a switch per plausible form (timestamps, decimals, the no-data answer).

A meter sends a reading every 10 s. Positions only grow: each hour has an energy (Wh) and gas
(litres) drawn once per instance from a seeded generator, positions are cumulative sums from
the meter's installation (`INSTALLED`), interpolated inside the hour. Tariff 1 is night
(23:00-07:00 local) and weekends. The gas meter's `extra_device_timestamp` moves hourly.
Statistics for a local day appear `stats_delay_h` hours after its local midnight, computed as
DSMR-reader does from the readings: an hour's electricity is its last reading minus its first,
so the 10-s step across each hour boundary is in no hour and the hours add up to less than the
day (first to last reading of the day); gas moves hourly, so its hours add up. The clock
(`now`) can be pinned so tests can let new readings "arrive".

Derived from the same model: quarter-hour peaks (one per finished quarter: its first and last
reading, 4 x the kWh between them), electricity consumption compacted per minute (the minute's
last reading), gas consumption per hourly position, a fixed contract history that prices the
day statistics, meter statistics and the monitoring issues (`unhealthy_instances`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation

import numpy as np
import polars as pl
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pipelines.vendors.dsmr.meter_model import (
    CONTRACTS,
    DATETIME_FORMAT_ERROR,
    DEFAULT_INSTANCES,
    DEFAULT_LIMIT,
    DUPLICATE_EVERY,
    DUPLICATE_ID_BASE,
    DUPLICATE_POWER_DELTA_W,
    HORIZON,
    IGNORED_ORDERING_PAGE,
    INTERVAL_S,
    POSTED_ID_BASE,
    QUARTER_S,
    ApiError,
    MeterModel,
    SimInstance,
    hundredths_text,
    iso_local,
    micro_price,
    tenths_text,
    thousandths_text,
)

SIMULATOR_PORT = 8703


def _env_name(instance: str) -> str:
    return f"DSMR_{instance.upper()}_API_KEY"


BASE_URL_ENV = "DSMR_INSTANCES"
# Each instance's key is in the variable its `api_key_env` names; these are the default names.
CREDENTIAL_ENV = tuple(_env_name(i.name) for i in DEFAULT_INSTANCES)
# What `make run` and `make ui` point the pipeline at when no real service is configured.
DEFAULT_ENV = {
    "DSMR_INSTANCES": json.dumps(
        [
            {
                "name": i.name,
                "base_url": f"http://127.0.0.1:{SIMULATOR_PORT}/{i.name}",
                "api_key_env": _env_name(i.name),
                "timezone": i.timezone,
            }
            for i in DEFAULT_INSTANCES
        ]
    ),
    **{_env_name(i.name): i.api_key for i in DEFAULT_INSTANCES},
}


@dataclass
class DsmrSimulatorConfig:
    seed: int = 5
    instances: tuple[SimInstance, ...] = DEFAULT_INSTANCES
    api_enabled: bool = True
    now: datetime | None = None  # pinned clock; None follows the real time
    stats_delay_h: int = 2
    malformed: bool = False  # corrupt a few readings: an unreadable position, an impossible timestamp
    # Forms the docs leave open, one switch each (the defaults are what v5.11 was seen to do):
    timestamp_form: str = "local"  # "local" (the instance's offset, Z at +00:00), "utc_z", "utc_offset"
    fractional_seconds: bool = False  # timestamps written with microseconds
    decimals_as_numbers: bool = False  # list endpoints give decimals as JSON numbers, not strings
    today_unprocessed: bool = False  # consumption/today has nothing, as while the datalogger is down
    no_data_today_form: str = "string"  # "string" (v5.11) or "list": `[]`, the OpenAPI's array schema
    duplicate_timestamps: bool = False  # hourly, two readings share a timestamp (distinct ids), as v5.11 stores
    unhealthy_instances: tuple[str, ...] = ()  # application/monitoring reports their datalogger stalled
    failing_endpoints: tuple[str, ...] = ()  # paths after api/v2/ that always answer 500 (isolation tests)
    # A server gone wrong (a caching proxy, a patched install): readings newest first whatever
    # `ordering` asks, and at most IGNORED_ORDERING_PAGE of them a page whatever `limit` asks.
    ignores_ordering: bool = False
    posted: dict[str, list[dict]] = field(default_factory=dict)


class DsmrSimulator:
    def __init__(self, config: DsmrSimulatorConfig | None = None) -> None:
        self.config = config or DsmrSimulatorConfig()
        self.instances = {i.name: i for i in self.config.instances}
        self._models: dict[str, MeterModel] = {}

    def model(self, name: str) -> MeterModel:
        if name not in self._models:
            self._models[name] = MeterModel(self.config.seed, self.instances[name])
        return self._models[name]

    def now_s(self) -> int:
        return int((self.config.now or datetime.now(UTC)).timestamp())

    def authenticate(self, name: str, headers: dict[str, str]) -> MeterModel:
        if name not in self.instances:
            raise ApiError(404, {"detail": "Not found."})
        if not self.config.api_enabled:
            raise ApiError(403, {"detail": "API is disabled"})
        key = headers.get("x-authkey")
        auth = headers.get("authorization", "")
        if key is None and auth.startswith("Token "):
            key = auth.removeprefix("Token ").strip()
        if key is None:
            raise ApiError(403, {"detail": "Authentication credentials were not provided."})
        if key != self.instances[name].api_key:
            raise ApiError(403, {"detail": "Invalid auth key"})
        return self.model(name)

    # -- readings --------------------------------------------------------------------------------
    def _posted(self, model: MeterModel) -> pl.DataFrame:
        rows = self.config.posted.get(model.instance.name, [])
        return pl.DataFrame(rows, schema=_POSTED_SCHEMA) if rows else pl.DataFrame(schema=_POSTED_SCHEMA)

    def _twins(self, model: MeterModel, k_lo: int, k_hi: int) -> pl.DataFrame:
        """Second readings at the timestamps of generated readings k_lo..k_hi (duplicate_timestamps)."""
        if not self.config.duplicate_timestamps or k_hi < k_lo:
            return pl.DataFrame(schema=_POSTED_SCHEMA)
        first = -(-k_lo // DUPLICATE_EVERY) * DUPLICATE_EVERY
        k = np.arange(first, k_hi + 1, DUPLICATE_EVERY, dtype=np.int64)
        return (
            model.readings(k)
            .with_columns(
                (DUPLICATE_ID_BASE + pl.col("id") - 1).alias("id"),
                (pl.col("now_w") + DUPLICATE_POWER_DELTA_W).alias("now_w"),
            )
            .select(list(_POSTED_SCHEMA))
        )

    def reading_page(self, model: MeterModel, params: dict[str, str]) -> tuple[int, pl.DataFrame]:
        lo, hi = model.t0, min(self.now_s(), int(HORIZON.timestamp()) - 3600)
        if params.get("timestamp__gte"):
            lo = max(lo, model.filter_to_epoch(params["timestamp__gte"], "timestamp__gte"))
        if params.get("timestamp__lte"):
            hi = min(hi, model.filter_to_epoch(params["timestamp__lte"], "timestamp__lte", upper=True))
        phase = model.t0 + model.instance.phase_s
        k_lo = max(0, -(-(lo - phase) // INTERVAL_S))
        k_hi = (hi - phase) // INTERVAL_S  # inclusive
        generated = max(0, k_hi - k_lo + 1)
        # Posted readings and timestamp twins page like generated ones, merged by (timestamp, id).
        extra_rows = pl.concat([self._posted(model), self._twins(model, k_lo, k_hi)], how="vertical_relaxed")
        posted = extra_rows.filter(pl.col("t").is_between(lo, hi)).sort("t", "id")
        count = generated + posted.height
        offset, limit = _paging(params)
        descending = params.get("ordering") == "-timestamp"  # anything else: ascending, as DRF ignores it
        if self.config.ignores_ordering:
            descending, limit = True, min(limit, IGNORED_ORDERING_PAGE)
        start = max(0, count - offset - limit) if descending else offset
        stop = min(count, count - offset if descending else offset + limit)
        if stop <= start:
            return count, self.render_readings(model, model.readings(np.arange(0, dtype=np.int64)))
        i0 = max(0, start - posted.height)
        gen = model.readings(np.arange(k_lo + i0, k_lo + min(generated, stop), dtype=np.int64))
        first_t = gen["t"][0] if gen.height else None
        before = 0 if first_t is None or i0 == 0 else posted.filter(pl.col("t") < first_t).height
        extra = posted if i0 == 0 or first_t is None else posted.filter(pl.col("t") >= first_t)
        merged = pl.concat([gen, extra.select(gen.columns)], how="vertical_relaxed").sort("t", "id")
        pos0 = i0 + before
        page = merged.slice(start - pos0, stop - start)
        if descending:
            page = page.reverse()
        rendered = self.render_readings(model, page)
        return count, self.numbers(_corrupt(rendered) if self.config.malformed else rendered)

    def render_readings(self, model: MeterModel, frame: pl.DataFrame) -> pl.DataFrame:
        return model.render_readings(frame, self.config.timestamp_form, self.config.fractional_seconds)

    def stamp(self, model: MeterModel, epoch_s: pl.Expr) -> pl.Expr:
        """An instant written in the configured timestamp form."""
        config = self.config
        return iso_local(epoch_s, model.instance.timezone, config.timestamp_form, config.fractional_seconds)

    def numbers(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Decimal strings as JSON numbers, when that form is switched on."""
        if not self.config.decimals_as_numbers:
            return frame
        decimals = [c for c, t in frame.schema.items() if t == pl.String and c not in _TEXT_FIELDS]
        return frame.with_columns(pl.col(decimals).cast(pl.Float64, strict=False))

    def post_reading(self, model: MeterModel, data: dict[str, str]) -> dict:
        errors: dict[str, list[str]] = {}
        for name in _REQUIRED:
            if data.get(name) in (None, ""):
                errors[name] = ["This field is required."]
        values: dict[str, int | None] = {}
        for name in _DECIMAL_FIELDS:
            raw = data.get(name)
            if raw in (None, "") or name in errors:
                values[name] = None
                continue
            try:
                values[name] = int((Decimal(str(raw)) * 1000).to_integral_value())
            except InvalidOperation:
                errors[name] = ["A valid number is required."]
        stamps: dict[str, int | None] = {}
        for name in ("timestamp", "extra_device_timestamp"):
            raw = data.get(name)
            if raw in (None, "") or name in errors:
                stamps[name] = None
                continue
            try:
                stamps[name] = model.filter_to_epoch(str(raw), name)
            except ApiError:
                errors[name] = [DATETIME_FORMAT_ERROR]
        if errors:
            raise ApiError(400, errors)
        posted = self.config.posted.setdefault(model.instance.name, [])
        row = {
            "id": POSTED_ID_BASE + len(posted) + 1,
            "t": stamps["timestamp"],
            "p_d1": values["electricity_delivered_1"],
            "p_d2": values["electricity_delivered_2"],
            "p_r1": values["electricity_returned_1"],
            "p_r2": values["electricity_returned_2"],
            "now_w": values["electricity_currently_delivered"],
            "back_w": values["electricity_currently_returned"],
            "gas_t": stamps["extra_device_timestamp"],
            "gas": values["extra_device_delivered"],
            "posted": True,
            **{f"l{i}": values[f"phase_currently_delivered_l{i}"] for i in (1, 2, 3)},
        }
        posted.append(row)
        frame = pl.DataFrame([row], schema=_POSTED_SCHEMA)
        rendered = self.render_readings(model, frame)
        return json.loads(rendered.write_json())[0]

    # -- statistics ------------------------------------------------------------------------------
    def hour_stats(self, model: MeterModel, params: dict[str, str]) -> pl.DataFrame:
        stats = model.hour_stats
        lo = (
            model.filter_to_epoch(params["hour_start__gte"], "hour_start__gte")
            if params.get("hour_start__gte")
            else None
        )
        hi = (
            model.filter_to_epoch(params["hour_start__lte"], "hour_start__lte", upper=True)
            if params.get("hour_start__lte")
            else None
        )
        window = stats.filter(
            pl.col("t").is_between(lo if lo is not None else model.t0, hi if hi is not None else stats["t"][-1])
        )
        ready = self._ready_dates(model, window["local_date"].unique())
        rows = window.filter(pl.col("local_date").is_in(ready))
        rows = rows.sort("t", descending=params.get("ordering") == "-hour_start")
        return self.numbers(
            rows.select(
                (pl.col("h") + 1).alias("id"),
                self.stamp(model, pl.col("t")).alias("hour_start"),
                thousandths_text(pl.col("d1")).alias("electricity1"),
                thousandths_text(pl.col("d2")).alias("electricity2"),
                thousandths_text(pl.col("r1")).alias("electricity1_returned"),
                thousandths_text(pl.col("r2")).alias("electricity2_returned"),
                thousandths_text(pl.col("gas")).alias("gas"),
            )
        )

    def day_stats(self, model: MeterModel, params: dict[str, str]) -> pl.DataFrame:
        stats = model.day_stats
        for param, op in (("day__gte", "ge"), ("day__lte", "le")):
            if params.get(param):
                try:
                    bound = date.fromisoformat(params[param].strip()[:10])
                except ValueError:
                    raise ApiError(400, {param: ["Enter a valid date."]}) from None
                stats = stats.filter(getattr(pl.col("local_date"), op)(bound))
        ready = self._ready_dates(model, stats["local_date"])
        stats = stats.filter(pl.col("local_date").is_in(ready))
        stats = stats.sort("local_date", descending=params.get("ordering") == "-day")
        return self.numbers(
            stats.select(
                "id",
                pl.col("local_date").dt.strftime("%Y-%m-%d").alias("day"),
                hundredths_text(pl.col("total")).alias("total_cost"),
                thousandths_text(pl.col("d1")).alias("electricity1"),
                thousandths_text(pl.col("d2")).alias("electricity2"),
                thousandths_text(pl.col("r1")).alias("electricity1_returned"),
                thousandths_text(pl.col("r2")).alias("electricity2_returned"),
                hundredths_text(pl.col("c1")).alias("electricity1_cost"),
                hundredths_text(pl.col("c2")).alias("electricity2_cost"),
                (thousandths_text(pl.col("gas")) if model.instance.gas else pl.lit(None, pl.String)).alias("gas"),
                (hundredths_text(pl.col("cg")) if model.instance.gas else pl.lit(None, pl.String)).alias("gas_cost"),
                tenths_text(pl.col("low_temp")).alias("lowest_temperature"),
                tenths_text(pl.col("high_temp")).alias("highest_temperature"),
                tenths_text(pl.col("avg_temp")).alias("average_temperature"),
                hundredths_text(pl.col("fixed")).alias("fixed_cost"),
                self.stamp(model, pl.col("first_t")).alias("electricity_reading_timestamp"),
                thousandths_text(pl.col("start_d1")).alias("electricity1_reading"),
                thousandths_text(pl.col("start_d2")).alias("electricity2_reading"),
                thousandths_text(pl.col("start_r1")).alias("electricity1_returned_reading"),
                thousandths_text(pl.col("start_r2")).alias("electricity2_returned_reading"),
                pl.lit(None, pl.String).alias("gas_reading_timestamp"),
                pl.lit(None, pl.String).alias("gas_reading"),
            )
        )

    def _ready_dates(self, model: MeterModel, dates: pl.Series) -> list[date]:
        """Local days whose statistics exist: generated a few hours after the day's midnight."""
        now, delay = self.now_s(), 3600 * self.config.stats_delay_h
        return [d for d in dates.unique().to_list() if model.midnight_after(d) + delay <= now]

    # -- consumption, contracts, meter statistics, monitoring --------------------------------------
    def _instant_window(self, model: MeterModel, params: dict[str, str], name: str) -> tuple[int, int]:
        """[lo, hi] epoch seconds from `<name>__gte`/`__lte` (as the readings' filters read them),
        never beyond the clock."""
        lo, hi = model.t0, min(self.now_s(), int(HORIZON.timestamp()) - 2 * 3600)
        if params.get(f"{name}__gte"):
            lo = max(lo, model.filter_to_epoch(params[f"{name}__gte"], f"{name}__gte"))
        if params.get(f"{name}__lte"):
            hi = min(hi, model.filter_to_epoch(params[f"{name}__lte"], f"{name}__lte", upper=True))
        return lo, hi

    def quarter_hour_peaks(self, model: MeterModel, params: dict[str, str]) -> pl.DataFrame:
        """One record per finished quarter hour, as DSMR-reader keeps them: the first and last
        reading inside it and 4 x the kWh delivered between those two readings (kW).

        Quarter hours start on :00/:15/:30/:45 in every zone (offsets are whole quarters)."""
        lo, hi = self._instant_window(model, params, "read_at_start")
        phase = model.t0 + model.instance.phase_s
        first_quarter = max(0, (lo - phase) // QUARTER_S)
        last_quarter = max(-1, (min(hi, self.now_s() - QUARTER_S) - model.t0) // QUARTER_S)
        starts = model.t0 + QUARTER_S * np.arange(first_quarter, last_quarter + 1, dtype=np.int64)
        first = model.first_reading_at(starts)
        last = model.first_reading_at(starts + QUARTER_S) - INTERVAL_S
        delivered = sum(model.positions(last, k) - model.positions(first, k) for k in ("d1", "d2"))
        quarters = pl.DataFrame(
            {
                "id": (starts - model.t0) // QUARTER_S + 1,
                "first_t": first,
                "last_t": last,
                "average": np.asarray(delivered, dtype=np.int64) * 4,
            },
            schema={"id": pl.Int64, "first_t": pl.Int64, "last_t": pl.Int64, "average": pl.Int64},
        ).filter(pl.col("first_t").is_between(lo, hi) & (pl.col("last_t") + INTERVAL_S <= self.now_s()))
        for param, op in (("average_delivered__gte", "ge"), ("average_delivered__lte", "le")):
            if params.get(param):
                try:
                    bound = int(Decimal(params[param]) * 1000)
                except InvalidOperation:
                    raise ApiError(400, {param: ["Enter a number."]}) from None
                quarters = quarters.filter(getattr(pl.col("average"), op)(bound))
        ordering = params.get("ordering", "")
        by = "average" if ordering.lstrip("-") == "average_delivered" else "first_t"
        quarters = quarters.sort(by, "id", descending=ordering.startswith("-"))
        return self.numbers(
            quarters.select(
                "id",
                self.stamp(model, pl.col("first_t")).alias("read_at_start"),
                self.stamp(model, pl.col("last_t")).alias("read_at_end"),
                thousandths_text(pl.col("average")).alias("average_delivered"),
            )
        )

    def electricity_consumption(self, model: MeterModel, params: dict[str, str]) -> pl.DataFrame:
        """Readings compacted per minute (DSMR-reader's default grouping): one record at each
        finished minute's start with the positions and powers of its last reading."""
        lo, hi = self._instant_window(model, params, "read_at")
        first_minute = max(0, -(-(lo - model.t0) // 60))
        last_minute = (min(hi, self.now_s() - 60) - model.t0) // 60
        minutes = model.t0 + 60 * np.arange(first_minute, max(first_minute, last_minute + 1), dtype=np.int64)
        phase = model.t0 + model.instance.phase_s
        last_reading = (model.first_reading_at(minutes + 60) - phase) // INTERVAL_S - 1
        readings = model.readings(last_reading).with_columns(
            pl.Series("minute", minutes, dtype=pl.Int64), pl.Series("minute_id", (minutes - model.t0) // 60 + 1)
        )
        readings = readings.sort("minute", descending=params.get("ordering") == "-read_at")
        rendered = model.render_readings(readings, self.config.timestamp_form, self.config.fractional_seconds)
        return self.numbers(
            rendered.with_columns(readings["minute"], readings["minute_id"]).select(
                pl.col("minute_id").alias("id"),
                self.stamp(model, pl.col("minute")).alias("read_at"),
                pl.col("electricity_delivered_1").alias("delivered_1"),
                pl.col("electricity_returned_1").alias("returned_1"),
                pl.col("electricity_delivered_2").alias("delivered_2"),
                pl.col("electricity_returned_2").alias("returned_2"),
                pl.col("electricity_currently_delivered").alias("currently_delivered"),
                pl.col("electricity_currently_returned").alias("currently_returned"),
                *[pl.col(f"phase_currently_{d}_l{i}") for d in ("delivered", "returned") for i in (1, 2, 3)],
                *[pl.col(f"phase_voltage_l{i}") for i in (1, 2, 3)],
                *[pl.col(f"phase_power_current_l{i}") for i in (1, 2, 3)],
            )
        )

    def gas_consumption(self, model: MeterModel, params: dict[str, str]) -> pl.DataFrame:
        """One record per gas meter position (hourly): the position and the change since the
        previous one. A meter without gas has none."""
        lo, hi = self._instant_window(model, params, "read_at")
        first_hour = max(1, -(-(lo - model.t0) // 3600))
        last_hour = (hi - model.t0) // 3600 if model.instance.gas else first_hour - 1
        hours = np.arange(first_hour, max(first_hour, last_hour + 1), dtype=np.int64)
        gas = pl.DataFrame(
            {
                "id": hours,
                "t": model.t0 + 3600 * hours,
                "position": model.cumulative["gas"][hours],
                "change": model.hourly["gas"][hours - 1],
            },
            schema={"id": pl.Int64, "t": pl.Int64, "position": pl.Int64, "change": pl.Int64},
        ).sort("t", descending=params.get("ordering") == "-read_at")
        return self.numbers(
            gas.select(
                "id",
                self.stamp(model, pl.col("t")).alias("read_at"),
                thousandths_text(pl.col("position")).alias("delivered"),
                thousandths_text(pl.col("change")).alias("currently_delivered"),
            )
        )

    def energy_supplier_prices(self, model: MeterModel, params: dict[str, str]) -> pl.DataFrame:
        contracts = pl.DataFrame(
            {
                "id": [c.id for c in CONTRACTS],
                "start": [c.start for c in CONTRACTS],
                "end": [c.end for c in CONTRACTS],
                "description": [c.description for c in CONTRACTS],
                "electricity_delivered_1_price": [micro_price(c.cents["electricity1"]) for c in CONTRACTS],
                "electricity_delivered_2_price": [micro_price(c.cents["electricity2"]) for c in CONTRACTS],
                "gas_price": [micro_price(c.cents["gas"]) for c in CONTRACTS],
                # Returns are not priced in the simulated contracts: "set to zero when unused".
                "electricity_returned_1_price": [micro_price(0) for _ in CONTRACTS],
                "electricity_returned_2_price": [micro_price(0) for _ in CONTRACTS],
                "fixed_daily_cost": [micro_price(c.fixed_daily_cents) for c in CONTRACTS],
            }
        )
        for field_name in ("start", "end"):
            for suffix, op in (("gte", "ge"), ("lte", "le")):
                param = f"{field_name}__{suffix}"
                if params.get(param):
                    try:
                        bound = date.fromisoformat(params[param].strip())
                    except ValueError:
                        raise ApiError(400, {param: ["Enter a valid date."]}) from None
                    contracts = contracts.filter(getattr(pl.col(field_name), op)(bound))
        ordering = params.get("ordering", "")
        by = ordering.lstrip("-") if ordering.lstrip("-") in ("start", "end") else "id"
        contracts = contracts.sort(by, descending=ordering.startswith("-"))
        return self.numbers(contracts.with_columns(pl.col("start", "end").dt.strftime("%Y-%m-%d")))

    def meter_statistics(self, model: MeterModel) -> dict:
        """The datalogger's meter statistics: counters fixed per instance, the newest reading's
        time and tariff, and a short latest telegram."""
        inst = model.instance
        phase = model.t0 + inst.phase_s
        latest_t = phase + (max(self.now_s(), phase) - phase) // INTERVAL_S * INTERVAL_S
        hour, _ = model.hour_index(np.array([latest_t]))
        tariff = 1 if model.hourly["d1"][hour[0]] > 0 else 2
        seed = sum(inst.name.encode()) + self.config.seed
        polyphase = (lambda n: n) if inst.three_phase else (lambda n: None)
        body = {
            "id": 1,
            "timestamp": pl.select(self.stamp(model, pl.lit(latest_t))).item(),
            "dsmr_version": "50",
            "electricity_tariff": tariff,
            "power_failure_count": seed % 7,
            "long_power_failure_count": seed % 3,
            "voltage_sag_count_l1": seed % 5,
            "voltage_sag_count_l2": polyphase(seed % 4),
            "voltage_sag_count_l3": polyphase(seed % 2),
            "voltage_swell_count_l1": seed % 2,
            "voltage_swell_count_l2": polyphase(0),
            "voltage_swell_count_l3": polyphase(1),
            "rejected_telegrams": seed % 11,
            "latest_telegram": f"/XMX5LGBBFFB2312{seed:05d}\r\n\r\n1-3:0.2.8(50)\r\n0-0:96.14.0(000{tariff})\r\n!0000",
        }
        return body

    def monitoring(self, model: MeterModel) -> list[dict]:
        """Issues as DSMR-reader's Status page lists them ({source, description, since});
        none while healthy."""
        if model.instance.name not in self.config.unhealthy_instances:
            return []
        since = pl.select(self.stamp(model, pl.lit(self.now_s() - 3600))).item()
        return [{"source": "Datalogger", "description": "No recent readings received", "since": since}]

    def today(self, model: MeterModel) -> dict | str | list:
        """Consumption of the local day so far; v5.11 answers a bare string (200) while the day
        has no processed reading: just after local midnight, or while the datalogger is down."""
        now = self.now_s()
        local_day = datetime.fromtimestamp(now, model.zone).date()
        midnight = model.midnight_after(local_day - timedelta(days=1))
        first_reading = int(model.first_reading_at(np.array([max(midnight, model.t0)]))[0])
        if self.config.today_unprocessed or first_reading > now:
            no_data = f"No electricity readings found for: {local_day.isoformat()}"
            return [] if self.config.no_data_today_form == "list" else no_data
        prices = next(c.cents for c in CONTRACTS if c.start <= local_day <= c.end)
        at = np.array([max(midnight, model.t0), max(now, model.t0)], dtype=np.int64)
        used = {k: int(np.diff(model.positions(at, k))[0]) for k in ("d1", "d2", "r1", "r2", "gas")}
        cost = {
            "electricity1": round(used["d1"] * prices["electricity1"] / 1000) / 100,
            "electricity2": round(used["d2"] * prices["electricity2"] / 1000) / 100,
            "gas": round(used["gas"] * prices["gas"] / 1000) / 100,
        }
        body = {
            "day": local_day.isoformat(),
            "electricity1": used["d1"] / 1000,
            "electricity1_cost": cost["electricity1"],
            "electricity1_returned": used["r1"] / 1000,
            "electricity2": used["d2"] / 1000,
            "electricity2_cost": cost["electricity2"],
            "electricity2_returned": used["r2"] / 1000,
            "total_cost": round(sum(cost.values()), 2),
        }
        if model.instance.gas:
            body |= {"gas": used["gas"] / 1000, "gas_cost": cost["gas"]}
        return body


_REQUIRED = (
    "timestamp",
    "electricity_currently_delivered",
    "electricity_currently_returned",
    "electricity_delivered_1",
    "electricity_delivered_2",
    "electricity_returned_1",
    "electricity_returned_2",
)
_DECIMAL_FIELDS = (
    "electricity_currently_delivered",
    "electricity_currently_returned",
    "electricity_delivered_1",
    "electricity_delivered_2",
    "electricity_returned_1",
    "electricity_returned_2",
    "phase_currently_delivered_l1",
    "phase_currently_delivered_l2",
    "phase_currently_delivered_l3",
    "extra_device_delivered",
)
# String columns that are text, not decimals (`decimals_as_numbers` leaves them alone).
_TEXT_FIELDS = frozenset(
    {
        "timestamp",
        "extra_device_timestamp",
        "hour_start",
        "day",
        "electricity_reading_timestamp",
        "gas_reading_timestamp",
        "read_at",
        "read_at_start",
        "read_at_end",
        "start",
        "end",
        "description",
    }
)
_POSTED_SCHEMA = {
    "id": pl.Int64,
    "t": pl.Int64,
    "p_d1": pl.Int64,
    "p_d2": pl.Int64,
    "p_r1": pl.Int64,
    "p_r2": pl.Int64,
    "now_w": pl.Int64,
    "back_w": pl.Int64,
    "gas_t": pl.Int64,
    "gas": pl.Int64,
    "posted": pl.Boolean,
    "l1": pl.Int64,
    "l2": pl.Int64,
    "l3": pl.Int64,
}


def _corrupt(page: pl.DataFrame) -> pl.DataFrame:
    """Every 997th reading (by id) gets a bad position, another a timestamp no calendar has."""
    step = pl.col("id") % 997
    return page.with_columns(
        pl.when(step == 13)
        .then(pl.lit("12.3.4"))
        .otherwise(pl.col("electricity_delivered_1"))
        .alias("electricity_delivered_1"),
        pl.when(step == 41).then(pl.lit("2026-13-45T99:00:00+01:00")).otherwise(pl.col("timestamp")).alias("timestamp"),
    )


def _paging(params: dict[str, str]) -> tuple[int, int]:
    def number(name: str, default: int) -> int:
        try:
            value = int(params.get(name, default))
        except ValueError:
            return default
        return value if value >= 0 else default

    limit = number("limit", DEFAULT_LIMIT) or DEFAULT_LIMIT
    return number("offset", 0), limit


def _page_body(request: Request, count: int, results_json: str) -> str:
    """DRF LimitOffsetPagination: full `next`/`previous` URLs that keep every other parameter."""
    offset, limit = _paging(dict(request.query_params))
    url = request.url
    next_url = None
    if offset + limit < count:
        next_url = str(url.include_query_params(limit=limit, offset=offset + limit))
    previous = None
    if offset > 0:
        back = url.include_query_params(limit=limit)
        previous = str(
            back.remove_query_params("offset")
            if offset - limit <= 0
            else back.include_query_params(offset=offset - limit)
        )
    head = json.dumps({"count": count, "next": next_url, "previous": previous})
    return head[:-1] + ', "results": ' + results_json + "}"


def _results_json(frame: pl.DataFrame) -> str:
    return frame.write_json() if frame.height else "[]"


def config_at(now: datetime) -> DsmrSimulatorConfig:
    """The default instances with the clock pinned at `now` (repeatable `make run`)."""
    return DsmrSimulatorConfig(now=now)


# An endpoint of one authenticated instance.
MeterHandler = Callable[[Request, "MeterModel"], Awaitable[Response]]


def create_app(config: DsmrSimulatorConfig | None = None) -> Starlette:
    """The ASGI app; `app.state.simulator` exposes the simulated instances to tests."""
    simulator = DsmrSimulator(config)

    def guarded(handler: MeterHandler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            path = request.url.path.split("/api/v2/", 1)[-1]
            if path in simulator.config.failing_endpoints:
                return Response("Internal Server Error", status_code=500, media_type="text/plain")
            try:
                model = simulator.authenticate(request.path_params["instance"], dict(request.headers))
                return await handler(request, model)
            except ApiError as err:
                return JSONResponse(err.body, status_code=err.status)

        return endpoint

    async def readings(request: Request, model: MeterModel) -> Response:
        if request.method == "POST":
            if request.headers.get("content-type", "").startswith("application/json"):
                data = await request.json()
            else:
                data = {k: str(v) for k, v in (await request.form()).items()}
            return JSONResponse(simulator.post_reading(model, data), status_code=201)
        count, page = simulator.reading_page(model, dict(request.query_params))
        return Response(_page_body(request, count, _results_json(page)), media_type="application/json")

    def listing(fetch: Callable[[MeterModel, dict[str, str]], pl.DataFrame]) -> MeterHandler:
        async def handler(request: Request, model: MeterModel) -> Response:
            params = dict(request.query_params)
            rows = fetch(model, params)
            offset, limit = _paging(params)
            page = rows.slice(offset, limit)
            return Response(_page_body(request, rows.height, _results_json(page)), media_type="application/json")

        return handler

    async def today(request: Request, model: MeterModel) -> Response:
        return JSONResponse(simulator.today(model))

    async def meter_statistics(request: Request, model: MeterModel) -> Response:
        return JSONResponse(simulator.meter_statistics(model))

    async def monitoring(request: Request, model: MeterModel) -> Response:
        return JSONResponse(simulator.monitoring(model))

    prefix = "/{instance}/api/v2"
    app = Starlette(
        routes=[
            Route(f"{prefix}/datalogger/dsmrreading", guarded(readings), methods=["GET", "POST"]),
            Route(f"{prefix}/statistics/hour", guarded(listing(simulator.hour_stats))),
            Route(f"{prefix}/statistics/day", guarded(listing(simulator.day_stats))),
            Route(f"{prefix}/consumption/today", guarded(today)),
            Route(
                f"{prefix}/consumption/quarter-hour-peak-electricity", guarded(listing(simulator.quarter_hour_peaks))
            ),
            Route(f"{prefix}/consumption/electricity", guarded(listing(simulator.electricity_consumption))),
            Route(f"{prefix}/consumption/gas", guarded(listing(simulator.gas_consumption))),
            Route(f"{prefix}/consumption/energy-supplier-prices", guarded(listing(simulator.energy_supplier_prices))),
            Route(f"{prefix}/datalogger/meter-statistics", guarded(meter_statistics)),
            Route(f"{prefix}/application/monitoring", guarded(monitoring)),
        ]
    )
    app.state.simulator = simulator
    return app
