"""Pandera contracts for landed DSMR-reader datasets; rows that break them go to quarantine.

Meter positions, powers, energies and costs are exact decimals (DSMR-reader's own decimal
fields), never floats.
"""

from __future__ import annotations

from typing import Annotated

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from pipelines.validation import UTC_DATETIME

KWH = Annotated[pl.Decimal, 12, 3]  # kWh, kW and m3: three decimals, as the API gives them
MONEY = Annotated[pl.Decimal, 12, 2]
TEMPERATURE = Annotated[pl.Decimal, 6, 1]
VOLTAGE = Annotated[pl.Decimal, 6, 1]


class _Strict(pa.DataFrameModel):
    class Config:
        strict = True
        coerce = True


class _Phases(_Strict):
    """Per-phase power, voltage and current as a reading carries them (null on one-phase meters)."""

    phase_currently_delivered_l1: KWH = pa.Field(nullable=True)
    phase_currently_delivered_l2: KWH = pa.Field(nullable=True)
    phase_currently_delivered_l3: KWH = pa.Field(nullable=True)
    phase_currently_returned_l1: KWH = pa.Field(nullable=True)
    phase_currently_returned_l2: KWH = pa.Field(nullable=True)
    phase_currently_returned_l3: KWH = pa.Field(nullable=True)
    phase_voltage_l1: VOLTAGE = pa.Field(nullable=True)
    phase_voltage_l2: VOLTAGE = pa.Field(nullable=True)
    phase_voltage_l3: VOLTAGE = pa.Field(nullable=True)
    phase_power_current_l1: int = pa.Field(nullable=True)
    phase_power_current_l2: int = pa.Field(nullable=True)
    phase_power_current_l3: int = pa.Field(nullable=True)


class DsmrReading(_Phases):
    instance: str = pa.Field(nullable=False, str_length={"min_value": 1})
    reading_id: int = pa.Field(nullable=False)
    measured_at: UTC_DATETIME = pa.Field(nullable=False)
    electricity_delivered_1: KWH = pa.Field(nullable=False, ge=0)
    electricity_delivered_2: KWH = pa.Field(nullable=False, ge=0)
    electricity_returned_1: KWH = pa.Field(nullable=False, ge=0)
    electricity_returned_2: KWH = pa.Field(nullable=False, ge=0)
    electricity_currently_delivered: KWH = pa.Field(nullable=False)
    electricity_currently_returned: KWH = pa.Field(nullable=False)
    gas_measured_at: UTC_DATETIME = pa.Field(nullable=True)
    gas_delivered: KWH = pa.Field(nullable=True)
    timestamp_raw: str = pa.Field(nullable=True)

    @pa.dataframe_check(name="gas position comes with its timestamp")
    def gas_has_timestamp(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("gas_delivered").is_null() | pl.col("gas_measured_at").is_not_null())


class _Energy(_Strict):
    instance: str = pa.Field(nullable=False)
    stat_id: int = pa.Field(nullable=True)
    electricity1: KWH = pa.Field(nullable=False)
    electricity2: KWH = pa.Field(nullable=False)
    electricity1_returned: KWH = pa.Field(nullable=False)
    electricity2_returned: KWH = pa.Field(nullable=False)
    gas: KWH = pa.Field(nullable=True)


class DsmrHourStatistic(_Energy):
    hour_start: UTC_DATETIME = pa.Field(nullable=False)
    hour_start_raw: str = pa.Field(nullable=True)


class DsmrDayStatistic(_Energy):
    day: pl.Date = pa.Field(nullable=False)
    electricity1_cost: MONEY = pa.Field(nullable=False)
    electricity2_cost: MONEY = pa.Field(nullable=False)
    gas_cost: MONEY = pa.Field(nullable=True)
    fixed_cost: MONEY = pa.Field(nullable=True)
    total_cost: MONEY = pa.Field(nullable=False)
    lowest_temperature: TEMPERATURE = pa.Field(nullable=True)
    highest_temperature: TEMPERATURE = pa.Field(nullable=True)
    average_temperature: TEMPERATURE = pa.Field(nullable=True)


class DsmrConsumptionToday(_Strict):
    instance: str = pa.Field(nullable=False, unique=True)
    day: pl.Date = pa.Field(nullable=False)
    electricity1: KWH = pa.Field(nullable=True)
    electricity2: KWH = pa.Field(nullable=True)
    electricity1_returned: KWH = pa.Field(nullable=True)
    electricity2_returned: KWH = pa.Field(nullable=True)
    gas: KWH = pa.Field(nullable=True)
    electricity1_cost: MONEY = pa.Field(nullable=True)
    electricity2_cost: MONEY = pa.Field(nullable=True)
    gas_cost: MONEY = pa.Field(nullable=True)
    total_cost: MONEY = pa.Field(nullable=True)


class DsmrMeter(_Strict):
    instance: str = pa.Field(nullable=False, unique=True)
    timezone: str = pa.Field(nullable=False)
    base_url: str = pa.Field(nullable=False)
    reading_count: int = pa.Field(nullable=True, ge=0)
    latest_reading_at: UTC_DATETIME = pa.Field(nullable=True)


PRICE = Annotated[pl.Decimal, 12, 6]


class DsmrQuarterHourPeak(_Strict):
    """A quarter hour's average power (kW): what capacity tariffs are billed on."""

    instance: str = pa.Field(nullable=False, str_length={"min_value": 1})
    peak_id: int = pa.Field(nullable=True)
    read_at_start: UTC_DATETIME = pa.Field(nullable=False)
    read_at_end: UTC_DATETIME = pa.Field(nullable=False)
    average_delivered: KWH = pa.Field(nullable=False)
    read_at_start_raw: str = pa.Field(nullable=True)

    @pa.dataframe_check(name="a peak ends at or after its start")
    def ends_after_start(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("read_at_end") >= pl.col("read_at_start"))


class DsmrElectricityConsumption(_Phases):
    instance: str = pa.Field(nullable=False, str_length={"min_value": 1})
    consumption_id: int = pa.Field(nullable=True)
    read_at: UTC_DATETIME = pa.Field(nullable=False)
    delivered_1: KWH = pa.Field(nullable=False, ge=0)
    returned_1: KWH = pa.Field(nullable=False, ge=0)
    delivered_2: KWH = pa.Field(nullable=False, ge=0)
    returned_2: KWH = pa.Field(nullable=False, ge=0)
    currently_delivered: KWH = pa.Field(nullable=False)
    currently_returned: KWH = pa.Field(nullable=False)
    read_at_raw: str = pa.Field(nullable=True)


class DsmrGasConsumption(_Strict):
    instance: str = pa.Field(nullable=False, str_length={"min_value": 1})
    consumption_id: int = pa.Field(nullable=True)
    read_at: UTC_DATETIME = pa.Field(nullable=False)
    delivered: KWH = pa.Field(nullable=False, ge=0)
    currently_delivered: KWH = pa.Field(nullable=False)
    read_at_raw: str = pa.Field(nullable=True)


class DsmrEnergySupplierPrice(_Strict):
    """A price contract: valid from `start_date` through `end_date` (inclusive)."""

    instance: str = pa.Field(nullable=False, str_length={"min_value": 1})
    contract_id: int = pa.Field(nullable=False)
    start_date: pl.Date = pa.Field(nullable=False)
    end_date: pl.Date = pa.Field(nullable=False)
    description: str = pa.Field(nullable=True)
    electricity_delivered_1_price: PRICE = pa.Field(nullable=True, ge=0)
    electricity_delivered_2_price: PRICE = pa.Field(nullable=True, ge=0)
    gas_price: PRICE = pa.Field(nullable=True, ge=0)
    electricity_returned_1_price: PRICE = pa.Field(nullable=True, ge=0)
    electricity_returned_2_price: PRICE = pa.Field(nullable=True, ge=0)
    fixed_daily_cost: PRICE = pa.Field(nullable=True)

    @pa.dataframe_check(name="a contract ends on or after its start")
    def ends_after_start(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("end_date") >= pl.col("start_date"))


class DsmrMeterStatistics(_Strict):
    """The datalogger's counters of one instance at the time of the snapshot."""

    instance: str = pa.Field(nullable=False, unique=True)
    measured_at: UTC_DATETIME = pa.Field(nullable=True)
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
