"""Pandera contracts for landed enCloud datasets; rows that break them go to quarantine."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from pipelines.validation import UTC_DATETIME
from pipelines.vendors.encloud.transform import STATUS_SUFFIX

STATES = ["Registered", "Waiting For Response", "Passive", "Expired"]
# The link-status words the marts map to codes (seed encloud_link_statuses); others are held back.
LINK_STATUSES = ["connected", "searching", "disconnected", "no_sim"]


class EncloudDevice(pa.DataFrameModel):
    device_uid: str = pa.Field(nullable=False, unique=True, str_length={"min_value": 1})
    customer_id: str = pa.Field(nullable=True)
    sim_id: str = pa.Field(nullable=True)
    latitude: float = pa.Field(nullable=True, in_range={"min_value": -90, "max_value": 90})
    longitude: float = pa.Field(nullable=True, in_range={"min_value": -180, "max_value": 180})
    frequency_s: int = pa.Field(nullable=True, ge=0)
    created_at: UTC_DATETIME = pa.Field(nullable=True)
    updated_at: UTC_DATETIME = pa.Field(nullable=True)
    location_string: str = pa.Field(nullable=True)
    state: str = pa.Field(nullable=False, isin=STATES)
    last_seen_at: UTC_DATETIME = pa.Field(nullable=True)
    as_of: UTC_DATETIME = pa.Field(nullable=False)

    class Config:
        strict = True
        coerce = True


class EncloudReading(pa.DataFrameModel):
    device_uid: str = pa.Field(nullable=False, str_length={"min_value": 1})
    customer_id: str = pa.Field(nullable=True)
    key: str = pa.Field(nullable=False, str_length={"min_value": 1})
    value_raw: str = pa.Field(nullable=False)
    value: float = pa.Field(nullable=True)
    status: str = pa.Field(nullable=True)
    measured_at: UTC_DATETIME = pa.Field(nullable=False)

    @pa.dataframe_check(name="numeric key has a number")
    def numeric_key_has_number(cls, data: PolarsData) -> pl.LazyFrame:
        numeric = ~pl.col("key").str.ends_with(STATUS_SUFFIX)
        return data.lazyframe.select(~numeric | (pl.col("value").is_not_null() & pl.col("value").is_finite()))

    @pa.dataframe_check(name="status key has a known status")
    def status_key_is_known(cls, data: PolarsData) -> pl.LazyFrame:
        status = pl.col("key").str.ends_with(STATUS_SUFFIX)
        return data.lazyframe.select(~status | pl.col("status").is_in(LINK_STATUSES).fill_null(False))

    class Config:
        strict = True
        coerce = True
