"""Dagster assets for Primayer Phocus/Enigma, one daily (UTC) partition each.

Loggers: epochs, the histogram long table and per-histogram statistics (one `logger` call per
serial); logger info; signal. Groups: summary, leak lists and correlator audio (WAV files plus a
table per clip). Reports: the logger and DMA CSV reports.

Day bounds: the service's timestamps are local times of the fleet's zone. A UTC partition
[D 00:00Z, D+1 00:00Z) is requested as local dates [local date of the start, local date of the
end + 1 day] and cut back to [start, end) in UTC after conversion, so the request covers the day
whether the service reads `end` as inclusive or exclusive, and each epoch lands in exactly one
partition. Group results and reports are asked for the partition's date itself.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandera.polars as pa
import polars as pl
from dagster import AssetExecutionContext, EnvVar, MaterializeResult

from pipelines.asset_specs import landed_multi_asset, landed_spec
from pipelines.http import VendorConfigError
from pipelines.landing import LandingResult, PartitionWriter, register_dataset
from pipelines.metadata import land_days, materialize_results
from pipelines.partitions import day_window, in_window
from pipelines.resources import VendorResource
from pipelines.validation import split_by_rules, split_foreign
from pipelines.vendors.primayer import transform
from pipelines.vendors.primayer.audio import DEFAULT_SAMPLE_RATE_HZ, WavPartition, clip_statistics, decode_clips
from pipelines.vendors.primayer.client import VENDOR, PrimayerClient
from pipelines.vendors.primayer.schemas import (
    PrimayerAudioClip,
    PrimayerDmaReport,
    PrimayerEpoch,
    PrimayerGroupSummary,
    PrimayerHistogramBin,
    PrimayerHistogramStat,
    PrimayerInfo,
    PrimayerLeak,
    PrimayerLoggerReport,
    PrimayerSignal,
)

for _dataset, _schema in {
    "logger_epochs": PrimayerEpoch,
    "histogram_bins": PrimayerHistogramBin,
    "histogram_stats": PrimayerHistogramStat,
    "logger_info": PrimayerInfo,
    "logger_signals": PrimayerSignal,
    "group_summaries": PrimayerGroupSummary,
    "group_leaks": PrimayerLeak,
    "group_audio": PrimayerAudioClip,
    "logger_report": PrimayerLoggerReport,
    "dma_report": PrimayerDmaReport,
}.items():
    register_dataset(VENDOR, _dataset, _schema)
LOGGER_REPORT_COLUMNS = {
    "serial": pl.String,
    "name": pl.String,
    "group_id": pl.Int64,
    "group_name": pl.String,
    "latitude": pl.Float64,
    "longitude": pl.Float64,
    "battery_pct": pl.Float64,
    "status": pl.String,
    "last_upload": pl.String,
}
DMA_REPORT_COLUMNS = {
    "dma": pl.String,
    "loggers": pl.Int64,
    "leak_loggers": pl.Int64,
    "quiet_loggers": pl.Int64,
    "period_start": pl.String,
    "period_end": pl.String,
}


@dataclass(frozen=True)
class FleetSettings:
    serials: tuple[str, ...]
    timezone: str
    audio_sample_rate_hz: int = DEFAULT_SAMPLE_RATE_HZ


class PrimayerResource(VendorResource):
    """Where and as whom to reach the Data API (`PRIMAYER_BASE_URL`, `PRIMAYER_TOKEN`), and the
    fleet: logger serials (`PRIMAYER_SERIALS`, comma-separated) and the IANA zone its zone-less
    timestamps are read in (`PRIMAYER_TIMEZONE`)."""

    base_url: str
    token: str
    serials: str = ""
    timezone: str = "Europe/London"
    audio_sample_rate_hz: int = DEFAULT_SAMPLE_RATE_HZ

    def client(self) -> PrimayerClient:
        retry = self.retry_policy()
        return PrimayerClient(self.base_url, self.token, timeout_s=self.timeout_s, retry=retry)

    def fleet(self) -> FleetSettings:
        try:
            ZoneInfo(self.timezone)
        except (ValueError, ZoneInfoNotFoundError):
            raise VendorConfigError(
                VENDOR, "PRIMAYER_TIMEZONE", f"is not an IANA time zone: {self.timezone!r}"
            ) from None
        serials = tuple(s.strip() for s in self.serials.split(",") if s.strip())
        return FleetSettings(serials, self.timezone, self.audio_sample_rate_hz)


# -- windows and serials ------------------------------------------------------------------------
def request_dates(partition_key: str, zone: str) -> tuple[date, date]:
    """Local dates [begin, end] that cover the UTC day (see the module's doc)."""
    start, end = day_window(partition_key)
    tz = ZoneInfo(zone)
    return start.astimezone(tz).date(), (end - timedelta(microseconds=1)).astimezone(tz).date() + timedelta(days=1)


def group_ids_and_leaks(client: PrimayerClient, day: date) -> Iterator[tuple[int, list[dict]]]:
    for group_id in client.summary(day)["id"].drop_nulls().to_list():
        yield group_id, client.group(group_id, day)


def fleet_serials(client: PrimayerClient, fleet: FleetSettings, day: date) -> list[str]:
    """Configured serials plus every logger the day's group leak results name."""
    found = set(fleet.serials)
    for group_id, leaks in group_ids_and_leaks(client, day):
        frame = transform.leaks_frame(leaks, group_id)
        found.update(frame["left_serial"].drop_nulls().to_list() + frame["right_serial"].drop_nulls().to_list())
    return sorted(found)


# -- landing functions (plain Python, what the assets and tests call) ---------------------------
def land_loggers(client: PrimayerClient, fleet: FleetSettings, partition_key: str) -> list[LandingResult]:
    """Epochs, histogram bins and histogram statistics of every logger for one UTC day."""
    start, end = day_window(partition_key)
    begin, stop = request_dates(partition_key, fleet.timezone)
    source = "logger/{serial}/{begin}/{end}"
    with (
        client,
        PartitionWriter(VENDOR, "logger_epochs", partition_key, PrimayerEpoch, source) as epochs_out,
        PartitionWriter(VENDOR, "histogram_bins", partition_key, PrimayerHistogramBin, source) as bins_out,
        PartitionWriter(VENDOR, "histogram_stats", partition_key, PrimayerHistogramStat, source) as stats_out,
    ):
        for serial in fleet_serials(client, fleet, date.fromisoformat(partition_key)):
            answer = _about(serial, client.logger(serial, begin, stop), epochs_out)
            if answer.is_empty():
                continue  # nothing about this logger to decode
            epochs = transform.epochs_frame(answer, fleet.timezone)
            epochs = epochs.filter(in_window("measured_at", start, end, keep_null=True))
            epochs_out.write(_unparsable_to_quarantine(transform.epoch_readings(epochs), epochs_out))
            histograms = transform.histograms_frame(epochs, fleet.timezone)
            good, bad = transform.split_histograms(
                histograms.filter(in_window("histogram_at", start, end, keep_null=True))
            )
            bins_out.quarantine(bad)
            long = transform.histogram_bins(good)
            bins_out.write(long)
            stats_out.write(transform.histogram_stats(long))
    return [epochs_out.result, bins_out.result, stats_out.result]


def _about(serial: str, answer: pl.DataFrame, writer: PartitionWriter) -> pl.DataFrame:
    """The answer's rows about the logger asked for; rows about another serial are held back."""
    own, foreign = split_foreign(answer, "serial", serial)
    writer.quarantine(foreign)
    return own


def _unparsable_to_quarantine(frame: pl.DataFrame, writer: PartitionWriter) -> pl.DataFrame:
    """Rows whose local time could not be read (or does not exist in the zone) are held back.

    The service's answer spans more than the UTC day, so such a row may be held back by the
    neighbouring partition too: its time is unknown, so is its day."""
    good, bad = split_by_rules(frame, (pl.col("measured_at").is_null(), "unparsable timestamp"))
    writer.quarantine(bad)
    return good


def land_logger_info(client: PrimayerClient, fleet: FleetSettings, partition_key: str) -> LandingResult:
    """Battery, cnv and lcf of every logger for one UTC day."""
    return _land_logger_series(
        client,
        fleet,
        partition_key,
        "logger_info",
        PrimayerInfo,
        "logger/info",
        client.logger_info,
        transform.info_frame,
    )


def land_signals(client: PrimayerClient, fleet: FleetSettings, partition_key: str) -> LandingResult:
    """Mobile signal strength of every logger for one UTC day."""
    return _land_logger_series(
        client,
        fleet,
        partition_key,
        "logger_signals",
        PrimayerSignal,
        "logger/signal",
        client.signal,
        transform.signals_frame,
    )


def _land_logger_series(
    client: PrimayerClient,
    fleet: FleetSettings,
    partition_key: str,
    dataset: str,
    schema: type[pa.DataFrameModel],
    source: str,
    fetch: Callable[[str, date, date], pl.DataFrame],
    decode: Callable[[pl.DataFrame, str], pl.DataFrame],
) -> LandingResult:
    """One per-logger series of one UTC day: each serial's answer, decoded in the fleet's zone and
    cut to the day; rows about another serial and rows whose time did not read are held back."""
    start, end = day_window(partition_key)
    begin, stop = request_dates(partition_key, fleet.timezone)
    with client, PartitionWriter(VENDOR, dataset, partition_key, schema, source) as writer:
        for serial in fleet_serials(client, fleet, date.fromisoformat(partition_key)):
            answer = _about(serial, fetch(serial, begin, stop), writer)
            if answer.is_empty():
                continue  # nothing about this logger to decode
            series = decode(answer, fleet.timezone).filter(in_window("measured_at", start, end, keep_null=True))
            writer.write(_unparsable_to_quarantine(series, writer))
    return writer.result


def land_groups(client: PrimayerClient, fleet: FleetSettings, partition_key: str) -> list[LandingResult]:
    """Group summary, leak lists and correlator audio (WAV files + clip table) for one date."""
    day = date.fromisoformat(partition_key)
    with (
        client,
        PartitionWriter(VENDOR, "group_summaries", partition_key, PrimayerGroupSummary, "group/summary") as summary_out,
        PartitionWriter(VENDOR, "group_leaks", partition_key, PrimayerLeak, "group/{id}") as leaks_out,
        PartitionWriter(VENDOR, "group_audio", partition_key, PrimayerAudioClip, "group/audio/{id}") as audio_out,
        WavPartition(partition_key) as wavs,
    ):
        summary = client.summary(day)
        summary_out.write(transform.summary_frame(summary, fleet.timezone, partition_key))
        for group_id in summary["id"].drop_nulls().to_list():
            leaks_out.write(transform.leaks_frame(client.group(group_id, day), group_id))
            _land_audio(client.group_audio(group_id, day), group_id, fleet, audio_out, wavs)
    return [summary_out.result, leaks_out.result, audio_out.result]


def _land_audio(
    clips: list[dict], group_id: int, fleet: FleetSettings, writer: PartitionWriter, wavs: WavPartition
) -> None:
    decoded = decode_clips(clips, group_id)
    writer.quarantine(decoded.quarantined)
    timed = decoded.clips.with_row_index("_clip").with_columns(
        transform.local_to_utc(transform.parse_local("timestamp_local"), fleet.timezone, ["serial"]).alias(
            "recorded_at"
        )
    )
    good, bad = split_by_rules(
        timed, (pl.col("recorded_at").is_null(), "unparsable timestamp"), (pl.col("serial").is_null(), "no logger")
    )
    writer.quarantine(bad)
    audio = [decoded.audio[i] for i in good["_clip"].to_list()]
    names = good.select(
        pl.format("{}_{}_{}.wav", "group_id", "serial", pl.col("recorded_at").dt.strftime("%Y%m%dT%H%M%SZ"))
    ).to_series()
    paths = [wavs.write(name, samples, fleet.audio_sample_rate_hz) for name, samples in zip(names, audio, strict=True)]
    stats = clip_statistics(audio, fleet.audio_sample_rate_hz)
    writer.write(
        pl.concat(
            [good.drop("_clip"), stats, pl.DataFrame({"wav_path": paths}, schema={"wav_path": pl.String})],
            how="horizontal",
        )
    )


def land_reports(client: PrimayerClient, fleet: FleetSettings, partition_key: str) -> list[LandingResult]:
    """The logger report for the date and the DMA report over the UTC day, in local minutes."""
    start, end = day_window(partition_key)
    tz = ZoneInfo(fleet.timezone)
    begin, stop = (moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") for moment in (start, end))
    with client:
        loggers = transform.report_frame(client.logger_report(date.fromisoformat(partition_key)), LOGGER_REPORT_COLUMNS)
        dmas = transform.report_frame(client.dma_report(begin, stop), DMA_REPORT_COLUMNS)
    return [
        _land_report("logger_report", partition_key, loggers, PrimayerLoggerReport, "report/logger"),
        _land_report("dma_report", partition_key, dmas, PrimayerDmaReport, "report/dma"),
    ]


def _land_report(
    dataset: str, partition_key: str, frame: pl.DataFrame, schema: type[pa.DataFrameModel], source: str
) -> LandingResult:
    with PartitionWriter(VENDOR, dataset, partition_key, schema, source) as writer:
        if frame.width and "serial" in frame.columns:
            good, bad = split_by_rules(frame, (pl.col("serial").is_null(), "no serial"))
            writer.quarantine(bad)
            frame = good
        writer.write(frame)
    return writer.result


# -- Dagster ------------------------------------------------------------------------------------
GROUP_DATASETS = ("group_summaries", "group_leaks", "group_audio")
LOGGER_DATASETS = ("logger_epochs", "histogram_bins", "histogram_stats")
REPORT_DATASETS = ("logger_report", "dma_report")


@landed_multi_asset(VENDOR, [landed_spec(VENDOR, d) for d in GROUP_DATASETS], daily=True, name="primayer_groups")
def primayer_groups(context: AssetExecutionContext, primayer: PrimayerResource) -> Iterator[MaterializeResult]:
    """Enigma groups with leak counts, their leak findings and correlator audio for one date."""
    yield from materialize_results(
        land_days(context, lambda day: land_groups(primayer.client(), primayer.fleet(), day))
    )


@landed_multi_asset(
    VENDOR, [landed_spec(VENDOR, d, deps=["group_leaks"]) for d in LOGGER_DATASETS], daily=True, name="primayer_loggers"
)
def primayer_loggers(context: AssetExecutionContext, primayer: PrimayerResource) -> Iterator[MaterializeResult]:
    """Epochs, noise-histogram long table and statistics of every logger for one UTC day."""
    yield from materialize_results(
        land_days(context, lambda day: land_loggers(primayer.client(), primayer.fleet(), day))
    )


@landed_multi_asset(
    VENDOR, [landed_spec(VENDOR, "logger_info", deps=["group_leaks"])], daily=True, name="primayer_logger_info"
)
def primayer_logger_info(context: AssetExecutionContext, primayer: PrimayerResource) -> Iterator[MaterializeResult]:
    """Battery, cnv and lcf of every logger for one UTC day."""
    yield from materialize_results(
        land_days(context, lambda day: [land_logger_info(primayer.client(), primayer.fleet(), day)])
    )


@landed_multi_asset(
    VENDOR, [landed_spec(VENDOR, "logger_signals", deps=["group_leaks"])], daily=True, name="primayer_logger_signals"
)
def primayer_logger_signals(context: AssetExecutionContext, primayer: PrimayerResource) -> Iterator[MaterializeResult]:
    """Mobile signal strength of every logger for one UTC day."""
    yield from materialize_results(
        land_days(context, lambda day: [land_signals(primayer.client(), primayer.fleet(), day)])
    )


@landed_multi_asset(VENDOR, [landed_spec(VENDOR, d) for d in REPORT_DATASETS], daily=True, name="primayer_reports")
def primayer_reports(context: AssetExecutionContext, primayer: PrimayerResource) -> Iterator[MaterializeResult]:
    """The logger CSV report for the date and the DMA CSV report over the UTC day."""
    yield from materialize_results(
        land_days(context, lambda day: land_reports(primayer.client(), primayer.fleet(), day))
    )


primayer_assets = [primayer_groups, primayer_loggers, primayer_logger_info, primayer_logger_signals, primayer_reports]


def resource_from_env() -> PrimayerResource:
    """The vendor's settings, read from the environment when a run starts (secrets stay EnvVars)."""
    return PrimayerResource(
        base_url=EnvVar("PRIMAYER_BASE_URL"),
        token=EnvVar("PRIMAYER_TOKEN"),
        serials=EnvVar("PRIMAYER_SERIALS"),
        timezone=EnvVar("PRIMAYER_TIMEZONE"),
    )
