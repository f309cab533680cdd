"""The simulated DSMR-reader servers: the config's switches (each form the docs leave open),
the instances with their meters (`meter_model.py`), the clock, authentication, the forms answers
are written in, and the readings resource (listed page by page, or posted). The statistics and
consumption answers derived from the meters are `derived_answers.py`, the HTTP side `simulator.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import numpy as np
import polars as pl

from pipelines.vendors.dsmr.meter_model import (
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
    ApiError,
    MeterModel,
    SimInstance,
    iso_local,
)


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
        offset, limit = paging(params)
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


def paging(params: dict[str, str]) -> tuple[int, int]:
    """(offset, limit) as DRF reads them: a missing, negative or unreadable value is the default."""

    def number(name: str, default: int) -> int:
        try:
            value = int(params.get(name, default))
        except ValueError:
            return default
        return value if value >= 0 else default

    limit = number("limit", DEFAULT_LIMIT) or DEFAULT_LIMIT
    return number("offset", 0), limit
