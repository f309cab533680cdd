"""The DSMR simulator's data model: one meter per instance, its readings, statistics and
contracts from a seeded generator; and the filters it parses as a real v5.11 server does.

The servers that answer from it are `servers.py` (readings) and `derived_answers.py`
(statistics, consumption), the HTTP side `simulator.py`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cached_property
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

INSTALLED = datetime(2020, 1, 1, tzinfo=UTC)  # no reading before; data up to HORIZON
HORIZON = datetime(2040, 1, 1, tzinfo=UTC)
INTERVAL_S = 10
DEFAULT_LIMIT = 25
IGNORED_ORDERING_PAGE = 25  # page size of a server that ignores `ordering` (`ignores_ordering`)
POSTED_ID_BASE = 1_000_000_000
# duplicate_timestamps: every DUPLICATE_EVERY-th reading has a twin at the same second, stored
# later (a higher id, DUPLICATE_ID_BASE + k) with a slightly different current power.
DUPLICATE_EVERY = 360
DUPLICATE_ID_BASE = 500_000_000
DUPLICATE_POWER_DELTA_W = 7
PRICE_CENTS = {"electricity1": 21, "electricity2": 23, "gas": 95}  # per kWh / m3, the current contract
FIXED_COST_CENTS = 80
QUARTER_S = 900


@dataclass(frozen=True)
class EnergyContract:
    """An energy supplier contract as entered in DSMR-reader's admin; `end` is inclusive (the
    docs' "active today" sample is `start__lte=today&end__gte=today`), far future when open."""

    id: int
    start: date
    end: date
    description: str
    cents: dict[str, int]  # electricity1, electricity2, gas: per kWh / m3
    fixed_daily_cents: int


# Every instance has the same contract history: day costs follow the contract of their day.
CONTRACTS = (
    EnergyContract(
        1,
        date(2020, 1, 1),
        date(2025, 12, 31),
        "Fixed 2020-2025",
        {"electricity1": 19, "electricity2": 22, "gas": 80},
        70,
    ),
    EnergyContract(2, date(2026, 1, 1), date(2099, 12, 31), "Variable from 2026", PRICE_CENTS, FIXED_COST_CENTS),
)
# Django's message when a naive filter value has no single instant in the zone (DST).
WALL_TIME_ERROR = "{wall} couldn't be interpreted in time zone {zone}; it may be ambiguous or it may not exist."
DATETIME_FORMAT_ERROR = (
    "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
)


@dataclass(frozen=True)
class SimInstance:
    name: str
    timezone: str
    api_key: str
    three_phase: bool = True
    gas: bool = True
    solar: bool = False
    phase_s: int = 0  # readings at INSTALLED + phase_s + 10 s * k


DEFAULT_INSTANCES = (
    SimInstance("home", "Europe/Amsterdam", "dsmr-sim-key-home-4f1c", three_phase=True, gas=True, solar=True),
    SimInstance("cabin", "America/St_Johns", "dsmr-sim-key-cabin-9a2e", three_phase=False, gas=False, phase_s=3),
    SimInstance("flat", "Europe/London", "dsmr-sim-key-flat-77b0", three_phase=False, gas=True, phase_s=7),
)


class ApiError(Exception):
    def __init__(self, status: int, body: dict) -> None:
        self.status, self.body = status, body


def thousandths_text(values: pl.Expr) -> pl.Expr:
    """Integer thousandths as a decimal string with three decimals."""
    return pl.format("{}.{}", values // 1000, (values % 1000).cast(pl.String).str.zfill(3))


def hundredths_text(values: pl.Expr) -> pl.Expr:
    return pl.format("{}.{}", values // 100, (values % 100).cast(pl.String).str.zfill(2))


def tenths_text(values: pl.Expr) -> pl.Expr:
    sign = pl.when(values < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.format("{}{}.{}", sign, values.abs() // 10, (values.abs() % 10).cast(pl.String))


def iso_local(epoch_s: pl.Expr, zone: str, form: str = "local", fractional: bool = False) -> pl.Expr:
    """ISO 8601 with an offset: by default in the zone, +00:00 written Z as DRF does."""
    instant = pl.from_epoch(epoch_s, "s").dt.replace_time_zone("UTC")
    shown = instant if form in ("utc_z", "utc_offset") else instant.dt.convert_time_zone(zone)
    seconds = "%S%.6f" if fractional else "%S"
    text = shown.dt.strftime(f"%Y-%m-%dT%H:%M:{seconds}%:z")
    return text if form == "utc_offset" else text.str.replace(r"\+00:00$", "Z")


def contract_frame() -> pl.DataFrame:
    """The contracts with their prices in cents, for pricing days."""
    return pl.DataFrame(
        {
            "start": [c.start for c in CONTRACTS],
            "price_e1": [c.cents["electricity1"] for c in CONTRACTS],
            "price_e2": [c.cents["electricity2"] for c in CONTRACTS],
            "price_gas": [c.cents["gas"] for c in CONTRACTS],
            "fixed": [c.fixed_daily_cents for c in CONTRACTS],
        },
        schema_overrides={"price_e1": pl.Int64, "price_e2": pl.Int64, "price_gas": pl.Int64, "fixed": pl.Int64},
    )


def micro_price(cents: int) -> str:
    """A price per kWh or m3 in cents as the API writes it: euros with six decimals."""
    return f"{Decimal(cents) / 100:.6f}"


class MeterModel:
    """Hourly energy and gas of one instance from installation to the horizon, and positions."""

    def __init__(self, seed: int, instance: SimInstance) -> None:
        self.instance, self.zone = instance, ZoneInfo(instance.timezone)
        self.t0 = int(INSTALLED.timestamp())
        hours = int((HORIZON - INSTALLED).total_seconds()) // 3600
        rng = np.random.default_rng([seed, *instance.name.encode()])
        starts = self.t0 + 3600 * np.arange(hours, dtype=np.int64)
        local = (
            pl.from_epoch(pl.Series(starts), "s").dt.replace_time_zone("UTC").dt.convert_time_zone(instance.timezone)
        )
        hour = local.dt.hour().cast(pl.Int64).to_numpy()
        weekday = local.dt.weekday().cast(pl.Int64).to_numpy()
        tariff1 = (weekday >= 6) | (hour < 7) | (hour >= 23)
        evening = ((hour >= 17) & (hour < 22)) * 400
        delivered = 150 + evening + rng.integers(0, 500, hours)
        solar = np.clip(600 - 120 * np.abs(hour - 13), 0, None) * rng.integers(0, 3, hours) if instance.solar else 0
        returned = np.asarray(solar, dtype=np.int64) * np.ones(hours, dtype=np.int64)
        gas = (rng.integers(0, 300, hours) + 60 * (hour < 9)) if instance.gas else np.zeros(hours, np.int64)
        self.hourly = {
            "d1": np.where(tariff1, delivered, 0),
            "d2": np.where(tariff1, 0, delivered),
            "r1": np.where(tariff1, returned, 0),
            "r2": np.where(tariff1, 0, returned),
            "gas": gas.astype(np.int64),
            "delivered": delivered.astype(np.int64),
            "returned": returned,
        }
        base = {"d1": 1_234_567, "d2": 987_654, "r1": 0, "r2": 12_345, "gas": 2_345_678}
        self.cumulative = {k: base[k] + np.concatenate([[0], np.cumsum(self.hourly[k])]).astype(np.int64) for k in base}
        self.hours = hours

    def hour_index(self, epoch_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        offset = epoch_s - self.t0
        return offset // 3600, offset % 3600

    def positions(self, epoch_s: np.ndarray, key: str) -> np.ndarray:
        """Meter position (thousandths) at each instant: never decreasing."""
        h, s = self.hour_index(epoch_s)
        return self.cumulative[key][h] + self.hourly[key][h] * s // 3600

    def readings(self, k: np.ndarray) -> pl.DataFrame:
        """Generated readings number k (0-based since installation), as the API writes them."""
        t = self.t0 + self.instance.phase_s + INTERVAL_S * k
        h, _ = self.hour_index(t)
        wobble = 80 + (k * 2654435761 % 41)  # percent, so current power varies around the hourly mean
        now_w = self.hourly["delivered"][h] * wobble // 100
        back_w = self.hourly["returned"][h] * wobble // 100
        cols = {
            "id": k + 1,
            "t": t,
            **{f"p_{key}": self.positions(t, key) for key in ("d1", "d2", "r1", "r2")},
            "now_w": now_w,
            "back_w": back_w,
            "gas_t": self.t0 + 3600 * h,
            "gas": self.cumulative["gas"][h],
        }
        generated = {"posted": pl.lit(False), **{f"l{i}": pl.lit(None, dtype=pl.Int64) for i in (1, 2, 3)}}
        return pl.DataFrame(cols).with_columns(**generated)

    def render_readings(self, frame: pl.DataFrame, form: str = "local", fractional: bool = False) -> pl.DataFrame:
        zone, inst = self.instance.timezone, self.instance
        null = pl.lit(None, dtype=pl.String)
        l1 = pl.col("now_w") * 5 // 10
        l2 = pl.col("now_w") * 3 // 10
        model_phases = (l1, l2, pl.col("now_w") - l1 - l2) if inst.three_phase else (pl.col("now_w"), None, None)
        # A posted reading shows what was posted; generated ones follow the meter model.
        posted = pl.col("posted")
        phases = {
            f"phase_currently_delivered_l{i}": pl.when(posted)
            .then(thousandths_text(pl.col(f"l{i}")))
            .otherwise(thousandths_text(phase) if phase is not None else null)
            for i, phase in zip((1, 2, 3), model_phases, strict=True)
        }
        gas_t, gas_value = iso_local(pl.col("gas_t"), zone, form, fractional), thousandths_text(pl.col("gas"))
        gas = {
            "extra_device_timestamp": pl.when(posted).then(gas_t).otherwise(gas_t if inst.gas else null),
            "extra_device_delivered": pl.when(posted).then(gas_value).otherwise(gas_value if inst.gas else null),
        }
        return frame.select(
            "id",
            iso_local(pl.col("t"), zone, form, fractional).alias("timestamp"),
            thousandths_text(pl.col("p_d1")).alias("electricity_delivered_1"),
            thousandths_text(pl.col("p_r1")).alias("electricity_returned_1"),
            thousandths_text(pl.col("p_d2")).alias("electricity_delivered_2"),
            thousandths_text(pl.col("p_r2")).alias("electricity_returned_2"),
            thousandths_text(pl.col("now_w")).alias("electricity_currently_delivered"),
            thousandths_text(pl.col("back_w")).alias("electricity_currently_returned"),
            *[e.alias(n) for n, e in phases.items()],
            *[e.alias(n) for n, e in gas.items()],
            *[null.alias(f"phase_currently_returned_l{i}") for i in (1, 2, 3)],
            *[null.alias(f"phase_voltage_l{i}") for i in (1, 2, 3)],
            *[pl.lit(None, dtype=pl.Int64).alias(f"phase_power_current_l{i}") for i in (1, 2, 3)],
        )

    def first_reading_at(self, instant: np.ndarray) -> np.ndarray:
        """The first reading time at or after each instant on the 10-s grid (ceil)."""
        phase = self.t0 + self.instance.phase_s
        return phase + -(-(instant - phase) // INTERVAL_S) * INTERVAL_S

    def gas_position(self, epoch_s: np.ndarray) -> np.ndarray:
        """Gas as a reading at each instant shows it: the position at the start of the UTC hour."""
        h, _ = self.hour_index(epoch_s)
        return self.cumulative["gas"][h]

    @cached_property
    def hour_stats(self) -> pl.DataFrame:
        """Hour statistics as DSMR-reader makes them: from the readings inside each local hour.

        Hours start on the local hour (:30 UTC in St. John's). Electricity is the hour's last
        reading minus its first: the 10-s step across the boundary into the next hour belongs
        to neither. Gas is the change to the next hour's first reading, so gas hours add up.
        """
        utc_hours = self.t0 + 3600 * np.arange(self.hours - 1, dtype=np.int64)
        instants = pl.from_epoch(pl.Series(utc_hours), "s").dt.replace_time_zone("UTC")
        local = instants.dt.convert_time_zone(self.instance.timezone)
        offset_s = (local.dt.replace_time_zone(None) - instants.dt.replace_time_zone(None)).dt.total_seconds()
        starts = utc_hours + (-offset_s.to_numpy()) % 3600
        first = self.first_reading_at(starts)
        last = self.first_reading_at(starts + 3600) - INTERVAL_S
        electricity = {k: self.positions(last, k) - self.positions(first, k) for k in ("d1", "d2", "r1", "r2")}
        gas = self.gas_position(last + INTERVAL_S) - self.gas_position(first)
        return pl.DataFrame(
            {
                "h": np.arange(starts.size, dtype=np.int64),
                "t": starts,
                "first_t": first,
                "last_t": last,
                **electricity,
                "gas": gas,
            }
        ).with_columns(
            local_date=pl.from_epoch("t", "s")
            .dt.replace_time_zone("UTC")
            .dt.convert_time_zone(self.instance.timezone)
            .dt.date()
        )

    @cached_property
    def day_stats(self) -> pl.DataFrame:
        """Day statistics from the first and last reading of each local day (the contract's
        "difference between the first and last reading of the day"); gas from its hours."""
        days = self.hour_stats.group_by("local_date", maintain_order=True).agg(
            pl.col("first_t").first(), pl.col("last_t").last(), pl.col("gas").sum()
        )
        first, last = days["first_t"].to_numpy(), days["last_t"].to_numpy()
        keys = ("d1", "d2", "r1", "r2")
        days = days.with_columns(
            *[pl.Series(k, self.positions(last, k) - self.positions(first, k)) for k in keys],
            *[pl.Series(f"start_{k}", self.positions(first, k)) for k in keys],
        )
        # Each day is priced by the contract it falls in (contracts are contiguous from INSTALLED).
        days = (
            days.sort("local_date")
            .join_asof(contract_frame(), left_on="local_date", right_on="start", strategy="backward")
            .with_columns(
                ((pl.col("d1") * pl.col("price_e1") + 500) // 1000).alias("c1"),
                ((pl.col("d2") * pl.col("price_e2") + 500) // 1000).alias("c2"),
                ((pl.col("gas") * pl.col("price_gas") + 500) // 1000).alias("cg"),
            )
        )
        doy = days["local_date"].dt.ordinal_day().to_numpy()
        avg = np.round(100 - 80 * np.cos(2 * math.pi * (doy - 20) / 365.25)).astype(np.int64)
        spread = (doy * 7919 % 50) + 20
        return days.with_columns(
            (pl.col("c1") + pl.col("c2") + pl.col("cg") + pl.col("fixed")).alias("total"),
            pl.Series("avg_temp", avg),
            pl.Series("low_temp", avg - spread // 2),
            pl.Series("high_temp", avg + spread - spread // 2),
        ).with_row_index("id", offset=1)

    def filter_to_epoch(self, text: str, param: str, *, upper: bool = False) -> int:
        """A filter value as Django reads it: ISO 8601 with an offset, or a naive wall time in the
        zone that must name exactly one instant (400 in Django's shape otherwise)."""
        try:
            parsed = datetime.fromisoformat(text.strip())
        except ValueError:
            raise ApiError(400, {param: ["Enter a valid date/time."]}) from None
        if parsed.tzinfo is None:
            earlier, later = parsed.replace(tzinfo=self.zone, fold=0), parsed.replace(tzinfo=self.zone, fold=1)
            if earlier.utcoffset() != later.utcoffset():  # repeated (autumn) or skipped (spring)
                raise ApiError(400, {param: [WALL_TIME_ERROR.format(wall=parsed, zone=self.instance.timezone)]})
            parsed = earlier
        # Readings fall on whole seconds: a fractional bound keeps only the seconds inside it.
        return math.floor(parsed.timestamp()) if upper else math.ceil(parsed.timestamp())

    def midnight_after(self, day: date) -> int:
        nxt = datetime.combine(day + timedelta(days=1), datetime.min.time()).replace(tzinfo=self.zone)
        return int(nxt.timestamp())
