"""Pandera contracts for landed BAXO datasets; rows that break them go to quarantine."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from pipelines.validation import UTC_DATETIME


class _TagValues(pa.DataFrameModel):
    device_id: str = pa.Field(nullable=False, str_length={"min_value": 1})
    tag_reference: str = pa.Field(nullable=False, str_length={"min_value": 1})
    value_raw: str = pa.Field(nullable=True)
    value: float = pa.Field(nullable=True)
    timestamp_2000: int = pa.Field(nullable=True)
    measured_at: UTC_DATETIME = pa.Field(nullable=False)

    # `error` too: pandera pops `name` when it builds the check, so a schema built second
    # (a subclass sharing this check) would otherwise report the function name.
    @pa.dataframe_check(name="value is a number", error="value is a number")
    def value_is_number(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("value").is_not_null() & pl.col("value").is_finite())

    class Config:
        strict = True
        coerce = True


class BaxoHistoric(_TagValues):
    source: int = pa.Field(isin=[1, 2])
    source_name: str = pa.Field(isin=["device", "platform"])


class BaxoRealtime(_TagValues):
    is_event: bool = pa.Field(nullable=True)


class BaxoDevice(pa.DataFrameModel):
    device_id: str = pa.Field(nullable=False, unique=True)
    contract_id: str = pa.Field(nullable=False)
    name: str = pa.Field(nullable=True)
    details: str = pa.Field(nullable=True)
    status: int = pa.Field(isin=[0, 1, 2])
    timezone: str = pa.Field(nullable=True)

    class Config:
        strict = True
        coerce = True


class BaxoContract(pa.DataFrameModel):
    contract_id: str = pa.Field(nullable=False, unique=True)
    reference: str = pa.Field(nullable=True)
    company: str = pa.Field(nullable=True)
    details: str = pa.Field(nullable=True)
    contact_email: str = pa.Field(nullable=True)

    class Config:
        strict = True
        coerce = True
