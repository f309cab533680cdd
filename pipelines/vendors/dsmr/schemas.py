"""Pandera contracts for landed DSMR-reader datasets; rows that break them go to quarantine.

Meter positions, powers, energies and costs are exact decimals (DSMR-reader's own decimal
fields), never floats.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData
from pandera.engines.polars_engine import Decimal

from pipelines.validation import UTC_DATETIME

KWH = Decimal(precision=12, scale=3)  # kWh, kW and m3: three decimals, as the API gives them
MONEY = Decimal(precision=12, scale=2)
TEMPERATURE = Decimal(precision=6, scale=1)
VOLTAGE = Decimal(precision=6, scale=1)


class _Strict(pa.DataFrameModel):
    class Config:
        strict = True
        coerce = True


class _Phases(_Strict):
    """Per-phase power, voltage and current as a reading carries them (null on one-phase meters)."""

    phase_currently_delivered_l1: KWH = pa.Field(nullable=True)  # type: ignore[valid-type]
    phase_currently_delivered_l2: KWH = pa.Field(nullable=True)  # type: ignore[valid-type]
    phase_currently_delivered_l3: KWH = pa.Field(nullable=True)  # type: ignore[valid-type]
    phase_currently_returned_l1: KWH = pa.Field(nullable=True)  # type: ignore[valid-type]
    phase_currently_returned_l2: KWH = pa.Field(nullable=True)  # type: ignore[valid-type]
    phase_currently_returned_l3: KWH = pa.Field(nullable=True)  # type: ignore[valid-type]
    phase_voltage_l1: VOLTAGE = pa.Field(nullable=True)  # type: ignore[valid-type]
    phase_voltage_l2: VOLTAGE = pa.Field(nullable=True)  # type: ignore[valid-type]
    phase_voltage_l3: VOLTAGE = pa.Field(nullable=True)  # type: ignore[valid-type]
    phase_power_current_l1: int = pa.Field(nullable=True)
    phase_power_current_l2: int = pa.Field(nullable=True)
    phase_power_current_l3: int = pa.Field(nullable=True)


class DsmrReading(_Phases):
    instance: str = pa.Field(nullable=False, str_length={"min_value": 1})
    reading_id: int = pa.Field(nullable=False)
    measured_at: UTC_DATETIME = pa.Field(nullable=False)  # type: ignore[valid-type]
    electricity_delivered_1: KWH = pa.Field(nullable=False, ge=0)  # type: ignore[valid-type]
    electricity_delivered_2: KWH = pa.Field(nullable=False, ge=0)  # type: ignore[valid-type]
    electricity_returned_1: KWH = pa.Field(nullable=False, ge=0)  # type: ignore[valid-type]
    electricity_returned_2: KWH = pa.Field(nullable=False, ge=0)  # type: ignore[valid-type]
    electricity_currently_delivered: KWH = pa.Field(nullable=False)  # type: ignore[valid-type]
    electricity_currently_returned: KWH = pa.Field(nullable=False)  # type: ignore[valid-type]
    gas_measured_at: UTC_DATETIME = pa.Field(nullable=True)  # type: ignore[valid-type]
    gas_delivered: KWH = pa.Field(nullable=True)  # type: ignore[valid-type]
    timestamp_raw: str = pa.Field(nullable=True)

    @pa.dataframe_check(name="gas position comes with its timestamp")
    def gas_has_timestamp(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("gas_delivered").is_null() | pl.col("gas_measured_at").is_not_null())


class _Energy(_Strict):
    instance: str = pa.Field(nullable=False)
    stat_id: int = pa.Field(nullable=True)
    electricity1: KWH = pa.Field(nullable=False)  # type: ignore[valid-type]
    electricity2: KWH = pa.Field(nullable=False)  # type: ignore[valid-type]
    electricity1_returned: KWH = pa.Field(nullable=False)  # type: ignore[valid-type]
    electricity2_returned: KWH = pa.Field(nullable=False)  # type: ignore[valid-type]
    gas: KWH = pa.Field(nullable=True)  # type: ignore[valid-type]


class DsmrHourStatistic(_Energy):
    hour_start: UTC_DATETIME = pa.Field(nullable=False)  # type: ignore[valid-type]
    hour_start_raw: str = pa.Field(nullable=True)


class DsmrDayStatistic(_Energy):
    day: pl.Date = pa.Field(nullable=False)
    electricity1_cost: MONEY = pa.Field(nullable=False)  # type: ignore[valid-type]
    electricity2_cost: MONEY = pa.Field(nullable=False)  # type: ignore[valid-type]
    gas_cost: MONEY = pa.Field(nullable=True)  # type: ignore[valid-type]
    fixed_cost: MONEY = pa.Field(nullable=True)  # type: ignore[valid-type]
    total_cost: MONEY = pa.Field(nullable=False)  # type: ignore[valid-type]
    lowest_temperature: TEMPERATURE = pa.Field(nullable=True)  # type: ignore[valid-type]
    highest_temperature: TEMPERATURE = pa.Field(nullable=True)  # type: ignore[valid-type]
    average_temperature: TEMPERATURE = pa.Field(nullable=True)  # type: ignore[valid-type]


class DsmrConsumptionToday(_Strict):
    instance: str = pa.Field(nullable=False, unique=True)
    day: pl.Date = pa.Field(nullable=False)
    electricity1: KWH = pa.Field(nullable=True)  # type: ignore[valid-type]
    electricity2: KWH = pa.Field(nullable=True)  # type: ignore[valid-type]
    electricity1_returned: KWH = pa.Field(nullable=True)  # type: ignore[valid-type]
    electricity2_returned: KWH = pa.Field(nullable=True)  # type: ignore[valid-type]
    gas: KWH = pa.Field(nullable=True)  # type: ignore[valid-type]
    electricity1_cost: MONEY = pa.Field(nullable=True)  # type: ignore[valid-type]
    electricity2_cost: MONEY = pa.Field(nullable=True)  # type: ignore[valid-type]
    gas_cost: MONEY = pa.Field(nullable=True)  # type: ignore[valid-type]
    total_cost: MONEY = pa.Field(nullable=True)  # type: ignore[valid-type]


class DsmrMeter(_Strict):
    instance: str = pa.Field(nullable=False, unique=True)
    timezone: str = pa.Field(nullable=False)
    base_url: str = pa.Field(nullable=False)
    reading_count: int = pa.Field(nullable=True, ge=0)
    latest_reading_at: UTC_DATETIME = pa.Field(nullable=True)  # type: ignore[valid-type]


PRICE = Decimal(precision=12, scale=6)


class DsmrQuarterHourPeak(_Strict):
    """A quarter hour's average power (kW): what capacity tariffs are billed on."""

    instance: str = pa.Field(nullable=False, str_length={"min_value": 1})
    peak_id: int = pa.Field(nullable=True)
    read_at_start: UTC_DATETIME = pa.Field(nullable=False)  # type: ignore[valid-type]
    read_at_end: UTC_DATETIME = pa.Field(nullable=False)  # type: ignore[valid-type]
    average_delivered: KWH = pa.Field(nullable=False)  # type: ignore[valid-type]
    read_at_start_raw: str = pa.Field(nullable=True)

    @pa.dataframe_check(name="a peak ends at or after its start")
    def ends_after_start(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("read_at_end") >= pl.col("read_at_start"))


class DsmrElectricityConsumption(_Phases):
    instance: str = pa.Field(nullable=False, str_length={"min_value": 1})
    consumption_id: int = pa.Field(nullable=True)
    read_at: UTC_DATETIME = pa.Field(nullable=False)  # type: ignore[valid-type]
    delivered_1: KWH = pa.Field(nullable=False, ge=0)  # type: ignore[valid-type]
    returned_1: KWH = pa.Field(nullable=False, ge=0)  # type: ignore[valid-type]
    delivered_2: KWH = pa.Field(nullable=False, ge=0)  # type: ignore[valid-type]
    returned_2: KWH = pa.Field(nullable=False, ge=0)  # type: ignore[valid-type]
    currently_delivered: KWH = pa.Field(nullable=False)  # type: ignore[valid-type]
    currently_returned: KWH = pa.Field(nullable=False)  # type: ignore[valid-type]
    read_at_raw: str = pa.Field(nullable=True)


class DsmrGasConsumption(_Strict):
    instance: str = pa.Field(nullable=False, str_length={"min_value": 1})
    consumption_id: int = pa.Field(nullable=True)
    read_at: UTC_DATETIME = pa.Field(nullable=False)  # type: ignore[valid-type]
    delivered: KWH = pa.Field(nullable=False, ge=0)  # type: ignore[valid-type]
    currently_delivered: KWH = pa.Field(nullable=False)  # type: ignore[valid-type]
    read_at_raw: str = pa.Field(nullable=True)


class DsmrEnergySupplierPrice(_Strict):
    """A price contract: valid from `start_date` through `end_date` (inclusive)."""

    instance: str = pa.Field(nullable=False, str_length={"min_value": 1})
    contract_id: int = pa.Field(nullable=False)
    start_date: pl.Date = pa.Field(nullable=False)
    end_date: pl.Date = pa.Field(nullable=False)
    description: str = pa.Field(nullable=True)
    electricity_delivered_1_price: PRICE = pa.Field(nullable=True, ge=0)  # type: ignore[valid-type]
    electricity_delivered_2_price: PRICE = pa.Field(nullable=True, ge=0)  # type: ignore[valid-type]
    gas_price: PRICE = pa.Field(nullable=True, ge=0)  # type: ignore[valid-type]
    electricity_returned_1_price: PRICE = pa.Field(nullable=True, ge=0)  # type: ignore[valid-type]
    electricity_returned_2_price: PRICE = pa.Field(nullable=True, ge=0)  # type: ignore[valid-type]
    fixed_daily_cost: PRICE = pa.Field(nullable=True)  # type: ignore[valid-type]

    @pa.dataframe_check(name="a contract ends on or after its start")
    def ends_after_start(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("end_date") >= pl.col("start_date"))


class DsmrMeterStatistics(_Strict):
    """The datalogger's counters of one instance at the time of the snapshot."""

    instance: str = pa.Field(nullable=False, unique=True)
    measured_at: UTC_DATETIME = pa.Field(nullable=True)  # type: ignore[valid-type]
    dsmr_version: str = pa.Field(nullable=True)
    electricity_tariff: int = pa.Field(nullable=True)
    power_failure_count: int = pa.Field(nullable=True, ge=0)
    long_power_failure_count: int = pa.Field(nullable=True, ge=0)
    voltage_sag_count_l1: int = pa.Field(nullable=True, ge=0)
    voltage_sag_count_l2: int = pa.Field(nullable=True, ge=0)
    voltage_sag_count_l3: int = pa.Field(nullable=True, ge=0)
    voltage_swell_count_l1: int = pa.Field(nullable=True, ge=0)
    voltage_swell_count_l2: int = pa.Field(nullable=True, ge=0)
    voltage_swell_count_l3: int = pa.Field(nullable=True, ge=0)
    rejected_telegrams: int = pa.Field(nullable=True, ge=0)
    latest_telegram: str = pa.Field(nullable=True)
    timestamp_raw: str = pa.Field(nullable=True)
