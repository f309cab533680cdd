"""Pandera contracts for landed Primayer datasets; rows that break them go to quarantine."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from pipelines.validation import UTC_DATETIME


class _Strict(pa.DataFrameModel):
    class Config:
        strict = True
        coerce = True


class PrimayerEpoch(_Strict):
    serial: str = pa.Field(str_length={"min_value": 1})
    timestamp_local: str = pa.Field(nullable=True)
    measured_at: UTC_DATETIME = pa.Field(nullable=False)
    battery: float = pa.Field(nullable=True, ge=0, le=100)
    cnv: int = pa.Field(nullable=True)
    lcf: int = pa.Field(nullable=True)
    temperature: float = pa.Field(nullable=True, ge=-40, le=85)
    latitude: float = pa.Field(nullable=True, ge=-90, le=90)
    longitude: float = pa.Field(nullable=True, ge=-180, le=180)
    histogram_count: int = pa.Field(ge=0)
    timezone: str


class PrimayerHistogramBin(_Strict):
    serial: str
    epoch_at: UTC_DATETIME
    histogram_at: UTC_DATETIME
    bin: int = pa.Field(ge=0)
    count: int = pa.Field(ge=0)


class PrimayerHistogramStat(_Strict):
    serial: str
    epoch_at: UTC_DATETIME
    histogram_at: UTC_DATETIME
    bin_count: int = pa.Field(gt=0)
    total_samples: int = pa.Field(gt=0)
    modal_bin: int = pa.Field(ge=0)
    p10_bin: int = pa.Field(ge=0)
    p50_bin: int = pa.Field(ge=0)
    p90_bin: int = pa.Field(ge=0)
    spread_bins: int = pa.Field(ge=0)
    noise_level_share: float = pa.Field(ge=0, le=1)
    leak_likely: bool


class PrimayerInfo(_Strict):
    serial: str
    timestamp_local: str = pa.Field(nullable=True)
    measured_at: UTC_DATETIME = pa.Field(nullable=False)
    battery: float = pa.Field(nullable=True, ge=0, le=100)
    cnv: int = pa.Field(nullable=True)
    lcf: int = pa.Field(nullable=True)


class PrimayerSignal(_Strict):
    serial: str
    timestamp_local: str = pa.Field(nullable=True)
    measured_at: UTC_DATETIME = pa.Field(nullable=False)
    network_name: str = pa.Field(nullable=True)
    network_type: str = pa.Field(nullable=True)
    signal_raw: str = pa.Field(nullable=True)
    signal_pct: float = pa.Field(nullable=False, ge=0, le=100)


class PrimayerGroupSummary(_Strict):
    group_id: int
    group_name: str = pa.Field(nullable=True)
    leak_count: int = pa.Field(ge=0)
    timestamp_local: str = pa.Field(nullable=True)
    reported_at: UTC_DATETIME = pa.Field(nullable=True)
    report_date: pl.Date


class PrimayerLeak(_Strict):
    group_id: int
    left_serial: str = pa.Field(str_length={"min_value": 1})
    right_serial: str = pa.Field(str_length={"min_value": 1})
    confidence: float = pa.Field(nullable=True, ge=0, le=100)
    distance_from_left_m: float = pa.Field(nullable=True, ge=0)
    detected_raw: str = pa.Field(nullable=True)
    detected_on: pl.Date = pa.Field(nullable=False)


class PrimayerAudioClip(_Strict):
    group_id: int
    serial: str
    timestamp_local: str = pa.Field(nullable=True)
    recorded_at: UTC_DATETIME = pa.Field(nullable=False)
    sample_count: int = pa.Field(gt=0)
    sample_rate_hz: int = pa.Field(gt=0)
    duration_s: float = pa.Field(gt=0)
    rms: float = pa.Field(ge=0, le=1)
    peak: float = pa.Field(ge=0, le=1)
    dominant_frequency_hz: float = pa.Field(ge=0)
    wav_path: str


class PrimayerLoggerReport(pa.DataFrameModel):
    """The logger CSV report; columns the doc does not name are kept as text (not strict)."""

    serial: str = pa.Field(str_length={"min_value": 1})
    name: str = pa.Field(nullable=True)
    group_id: int = pa.Field(nullable=True)
    group_name: str = pa.Field(nullable=True)
    latitude: float = pa.Field(nullable=True, ge=-90, le=90)
    longitude: float = pa.Field(nullable=True, ge=-180, le=180)
    battery_pct: float = pa.Field(nullable=True, ge=0, le=100)
    status: str = pa.Field(nullable=True)
    last_upload: str = pa.Field(nullable=True)

    class Config:
        strict = False
        coerce = True


class PrimayerDmaReport(pa.DataFrameModel):
    """The Phocus DMA CSV report; unknown columns are kept as text."""

    dma: str = pa.Field(str_length={"min_value": 1})
    loggers: int = pa.Field(nullable=True, ge=0)
    leak_loggers: int = pa.Field(nullable=True, ge=0)
    quiet_loggers: int = pa.Field(nullable=True, ge=0)
    period_start: str = pa.Field(nullable=True)
    period_end: str = pa.Field(nullable=True)

    class Config:
        strict = False
        coerce = True
