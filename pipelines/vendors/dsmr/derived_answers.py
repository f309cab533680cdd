"""What the simulated DSMR-reader servers answer beyond the readings, derived from each
instance's meter (`meter_model.py`) as DSMR-reader computes it: hour and day statistics (ready
`stats_delay_h` after the local midnight), quarter-hour peaks, electricity and gas consumption,
price contracts, meter statistics, monitoring issues and today's consumption. Each answer is a
function of the server (`servers.py`: its clock, switches and answer forms), the instance's
meter and the request's parameters.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

import numpy as np
import polars as pl

from pipelines.vendors.dsmr.meter_model import (
    CONTRACTS,
    HORIZON,
    INTERVAL_S,
    QUARTER_S,
    ApiError,
    MeterModel,
    hundredths_text,
    micro_price,
    tenths_text,
    thousandths_text,
)
from pipelines.vendors.dsmr.servers import DsmrSimulator


def hour_stats(sim: DsmrSimulator, model: MeterModel, params: dict[str, str]) -> pl.DataFrame:
    stats = model.hour_stats
    lo = model.filter_to_epoch(params["hour_start__gte"], "hour_start__gte") if params.get("hour_start__gte") else None
    hi = (
        model.filter_to_epoch(params["hour_start__lte"], "hour_start__lte", upper=True)
        if params.get("hour_start__lte")
        else None
    )
    window = stats.filter(
        pl.col("t").is_between(lo if lo is not None else model.t0, hi if hi is not None else stats["t"][-1])
    )
    ready = _ready_dates(sim, model, window["local_date"].unique())
    rows = window.filter(pl.col("local_date").is_in(ready))
    rows = rows.sort("t", descending=params.get("ordering") == "-hour_start")
    return sim.numbers(
        rows.select(
            (pl.col("h") + 1).alias("id"),
            sim.stamp(model, pl.col("t")).alias("hour_start"),
            thousandths_text(pl.col("d1")).alias("electricity1"),
            thousandths_text(pl.col("d2")).alias("electricity2"),
            thousandths_text(pl.col("r1")).alias("electricity1_returned"),
            thousandths_text(pl.col("r2")).alias("electricity2_returned"),
            thousandths_text(pl.col("gas")).alias("gas"),
        )
    )


def day_stats(sim: DsmrSimulator, model: MeterModel, params: dict[str, str]) -> pl.DataFrame:
    stats = model.day_stats
    for param, op in (("day__gte", "ge"), ("day__lte", "le")):
        if params.get(param):
            try:
                bound = date.fromisoformat(params[param].strip()[:10])
            except ValueError:
                raise ApiError(400, {param: ["Enter a valid date."]}) from None
            stats = stats.filter(getattr(pl.col("local_date"), op)(bound))
    ready = _ready_dates(sim, model, stats["local_date"])
    stats = stats.filter(pl.col("local_date").is_in(ready))
    stats = stats.sort("local_date", descending=params.get("ordering") == "-day")
    return sim.numbers(
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
            sim.stamp(model, pl.col("first_t")).alias("electricity_reading_timestamp"),
            thousandths_text(pl.col("start_d1")).alias("electricity1_reading"),
            thousandths_text(pl.col("start_d2")).alias("electricity2_reading"),
            thousandths_text(pl.col("start_r1")).alias("electricity1_returned_reading"),
            thousandths_text(pl.col("start_r2")).alias("electricity2_returned_reading"),
            pl.lit(None, pl.String).alias("gas_reading_timestamp"),
            pl.lit(None, pl.String).alias("gas_reading"),
        )
    )


def _ready_dates(sim: DsmrSimulator, model: MeterModel, dates: pl.Series) -> list[date]:
    """Local days whose statistics exist: generated a few hours after the day's midnight."""
    now, delay = sim.now_s(), 3600 * sim.config.stats_delay_h
    return [d for d in dates.unique().to_list() if model.midnight_after(d) + delay <= now]


def _instant_window(sim: DsmrSimulator, model: MeterModel, params: dict[str, str], name: str) -> tuple[int, int]:
    """[lo, hi] epoch seconds from `<name>__gte`/`__lte` (as the readings' filters read them),
    never beyond the clock."""
    lo, hi = model.t0, min(sim.now_s(), int(HORIZON.timestamp()) - 2 * 3600)
    if params.get(f"{name}__gte"):
        lo = max(lo, model.filter_to_epoch(params[f"{name}__gte"], f"{name}__gte"))
    if params.get(f"{name}__lte"):
        hi = min(hi, model.filter_to_epoch(params[f"{name}__lte"], f"{name}__lte", upper=True))
    return lo, hi


def quarter_hour_peaks(sim: DsmrSimulator, model: MeterModel, params: dict[str, str]) -> pl.DataFrame:
    """One record per finished quarter hour, as DSMR-reader keeps them: the first and last
    reading inside it and 4 x the kWh delivered between those two readings (kW).

    Quarter hours start on :00/:15/:30/:45 in every zone (offsets are whole quarters)."""
    lo, hi = _instant_window(sim, model, params, "read_at_start")
    phase = model.t0 + model.instance.phase_s
    first_quarter = max(0, (lo - phase) // QUARTER_S)
    last_quarter = max(-1, (min(hi, sim.now_s() - QUARTER_S) - model.t0) // QUARTER_S)
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
    ).filter(pl.col("first_t").is_between(lo, hi) & (pl.col("last_t") + INTERVAL_S <= sim.now_s()))
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
    return sim.numbers(
        quarters.select(
            "id",
            sim.stamp(model, pl.col("first_t")).alias("read_at_start"),
            sim.stamp(model, pl.col("last_t")).alias("read_at_end"),
            thousandths_text(pl.col("average")).alias("average_delivered"),
        )
    )


def electricity_consumption(sim: DsmrSimulator, model: MeterModel, params: dict[str, str]) -> pl.DataFrame:
    """Readings compacted per minute (DSMR-reader's default grouping): one record at each
    finished minute's start with the positions and powers of its last reading."""
    lo, hi = _instant_window(sim, model, params, "read_at")
    first_minute = max(0, -(-(lo - model.t0) // 60))
    last_minute = (min(hi, sim.now_s() - 60) - model.t0) // 60
    minutes = model.t0 + 60 * np.arange(first_minute, max(first_minute, last_minute + 1), dtype=np.int64)
    phase = model.t0 + model.instance.phase_s
    last_reading = (model.first_reading_at(minutes + 60) - phase) // INTERVAL_S - 1
    readings = model.readings(last_reading).with_columns(
        pl.Series("minute", minutes, dtype=pl.Int64), pl.Series("minute_id", (minutes - model.t0) // 60 + 1)
    )
    readings = readings.sort("minute", descending=params.get("ordering") == "-read_at")
    rendered = model.render_readings(readings, sim.config.timestamp_form, sim.config.fractional_seconds)
    return sim.numbers(
        rendered.with_columns(readings["minute"], readings["minute_id"]).select(
            pl.col("minute_id").alias("id"),
            sim.stamp(model, pl.col("minute")).alias("read_at"),
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


def gas_consumption(sim: DsmrSimulator, model: MeterModel, params: dict[str, str]) -> pl.DataFrame:
    """One record per gas meter position (hourly): the position and the change since the
    previous one. A meter without gas has none."""
    lo, hi = _instant_window(sim, model, params, "read_at")
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
    return sim.numbers(
        gas.select(
            "id",
            sim.stamp(model, pl.col("t")).alias("read_at"),
            thousandths_text(pl.col("position")).alias("delivered"),
            thousandths_text(pl.col("change")).alias("currently_delivered"),
        )
    )


def energy_supplier_prices(sim: DsmrSimulator, model: MeterModel, params: dict[str, str]) -> pl.DataFrame:
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
    return sim.numbers(contracts.with_columns(pl.col("start", "end").dt.strftime("%Y-%m-%d")))


def meter_statistics(sim: DsmrSimulator, model: MeterModel) -> dict:
    """The datalogger's meter statistics: counters fixed per instance, the newest reading's
    time and tariff, and a short latest telegram."""
    inst = model.instance
    phase = model.t0 + inst.phase_s
    latest_t = phase + (max(sim.now_s(), phase) - phase) // INTERVAL_S * INTERVAL_S
    hour, _ = model.hour_index(np.array([latest_t]))
    tariff = 1 if model.hourly["d1"][hour[0]] > 0 else 2
    seed = sum(inst.name.encode()) + sim.config.seed
    polyphase = (lambda n: n) if inst.three_phase else (lambda n: None)
    body = {
        "id": 1,
        "timestamp": pl.select(sim.stamp(model, pl.lit(latest_t))).item(),
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


def monitoring(sim: DsmrSimulator, model: MeterModel) -> list[dict]:
    """Issues as DSMR-reader's Status page lists them ({source, description, since});
    none while healthy."""
    if model.instance.name not in sim.config.unhealthy_instances:
        return []
    since = pl.select(sim.stamp(model, pl.lit(sim.now_s() - 3600))).item()
    return [{"source": "Datalogger", "description": "No recent readings received", "since": since}]


def today(sim: DsmrSimulator, model: MeterModel) -> dict | str | list:
    """Consumption of the local day so far; v5.11 answers a bare string (200) while the day
    has no processed reading: just after local midnight, or while the datalogger is down."""
    now = sim.now_s()
    local_day = datetime.fromtimestamp(now, model.zone).date()
    midnight = model.midnight_after(local_day - timedelta(days=1))
    first_reading = int(model.first_reading_at(np.array([max(midnight, model.t0)]))[0])
    if sim.config.today_unprocessed or first_reading > now:
        no_data = f"No electricity readings found for: {local_day.isoformat()}"
        return [] if sim.config.no_data_today_form == "list" else no_data
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
