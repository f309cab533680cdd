"""Dagster assets for DSMR-reader: readings, hour and day statistics, quarter-hour peaks and
compacted electricity/gas consumption per day for every configured instance; meters, today's
consumption, price contracts and meter statistics as snapshots; a cursor-based `readings_recent`
for the schedule that lands only readings after the last landed one; and a check on the meters
that warns while an instance's own monitoring reports issues (a stalled datalogger)."""

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, closing
from datetime import UTC, date, datetime, timedelta
from typing import cast

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetMaterialization,
    EnvVar,
    MaterializeResult,
    MetadataValue,
)

from pipelines.asset_specs import landed_asset
from pipelines.cursors import read_cursor, write_cursor
from pipelines.http import SharedTransport, Tally, VendorConfigError, VendorDataError, VendorRequestError
from pipelines.landing import LandingResult, PartitionWriter, add_to_partition, land_frame, register_dataset
from pipelines.metadata import land_days, materialize_result
from pipelines.partitions import day_window, today_utc
from pipelines.prefetch import in_order
from pipelines.resources import VendorResource
from pipelines.vendors.dsmr.client import (
    CONSUMPTION_TODAY,
    DAY_STATISTICS,
    ELECTRICITY_CONSUMPTION,
    ENERGY_SUPPLIER_PRICES,
    GAS_CONSUMPTION,
    HOUR_STATISTICS,
    METER_STATISTICS,
    QUARTER_HOUR_PEAKS,
    READINGS,
    VENDOR,
    DsmrClient,
    instances_from_env,
)
from pipelines.vendors.dsmr.schemas import (
    DsmrConsumptionToday,
    DsmrDayStatistic,
    DsmrElectricityConsumption,
    DsmrEnergySupplierPrice,
    DsmrGasConsumption,
    DsmrHourStatistic,
    DsmrMeter,
    DsmrMeterStatistics,
    DsmrQuarterHourPeak,
    DsmrReading,
)

for _dataset, _schema in {
    "meters": DsmrMeter,
    "consumption_today": DsmrConsumptionToday,
    "readings": DsmrReading,
    "hour_statistics": DsmrHourStatistic,
    "day_statistics": DsmrDayStatistic,
    "quarter_hour_peaks": DsmrQuarterHourPeak,
    "electricity_consumption": DsmrElectricityConsumption,
    "gas_consumption": DsmrGasConsumption,
    "energy_supplier_prices": DsmrEnergySupplierPrice,
    "meter_statistics": DsmrMeterStatistics,
}.items():
    register_dataset(VENDOR, _dataset, _schema)
log = logging.getLogger(__name__)
DATALOGGER_CHECK = "datalogger_healthy"
DATALOGGER_CHECK_DESCRIPTION = (
    "No instance reports monitoring issues (DSMR-reader's Status page): a stalled "
    "datalogger warns here before its readings go missing."
)


class DsmrResource(VendorResource):
    """DSMR-reader instances (`DSMR_INSTANCES`, JSON); each key in the env var it names."""

    instances: str
    page_limit: int = 2000

    def clients(self) -> list[DsmrClient]:
        """A client per instance, all on one connection pool (one per call: one per run)."""
        retry, pool = self.retry_policy(), SharedTransport()
        return [
            DsmrClient(
                instance,
                timeout_s=self.timeout_s,
                retry=retry,
                page_limit=self.page_limit,
                transport=pool,
                concurrency=self.concurrency,
            )
            for instance in instances_from_env(self.instances)
        ]


# -- landing functions (plain Python: the assets and the tests call them) ------------------------
def land_readings(clients: Sequence[DsmrClient], partition_key: str) -> LandingResult:
    """Every instance's readings of one UTC day; the partition appears once all have landed.

    Instances are read a few at a time (the clients' `concurrency`) while the pages already
    read are validated and written, in the instances' order.
    """
    start, end = day_window(partition_key)

    def walk(client: DsmrClient, tally: Tally) -> Callable[[], Iterator[pl.DataFrame]]:
        return lambda: client.reading_pages(start, end, tally=tally)

    workers = min((client.http.concurrency for client in clients), default=1)
    with ExitStack() as stack:
        for client in clients:
            stack.enter_context(client)
        writer = stack.enter_context(PartitionWriter(VENDOR, "readings", partition_key, DsmrReading, READINGS))
        walks = [walk(client, writer.tally) for client in clients]
        pages = stack.enter_context(closing(in_order(walks, workers=workers)))
        for page in pages:
            writer.write(page)
    return writer.result


def land_hour_statistics(clients: Sequence[DsmrClient], partition_key: str) -> LandingResult:
    """Hour statistics of the local day with the partition's date, like the day statistics:
    DSMR-reader makes both after that local midnight, so one run finds the whole day."""
    day = date.fromisoformat(partition_key)
    with PartitionWriter(VENDOR, "hour_statistics", partition_key, DsmrHourStatistic, HOUR_STATISTICS) as writer:
        for client in clients:
            with client:
                _write_counting(writer, client, client.hour_statistics(day, writer.tally), f"hour statistics {day}")
    return writer.result


def land_day_statistics(clients: Sequence[DsmrClient], partition_key: str) -> LandingResult:
    """Day statistics of the local day with the partition's date, for every instance."""
    day = date.fromisoformat(partition_key)
    with PartitionWriter(VENDOR, "day_statistics", partition_key, DsmrDayStatistic, DAY_STATISTICS) as writer:
        for client in clients:
            with client:
                pages = client.day_statistics(day, day, writer.tally)
                _write_counting(writer, client, pages, f"day statistics {day}")
    return writer.result


def _write_counting(writer: PartitionWriter, client: DsmrClient, pages: Iterator[pl.DataFrame], what: str) -> None:
    """Write the pages; warn when an instance has none yet (made hours after its local midnight)."""
    rows = 0
    for page in pages:
        writer.write(page)
        rows += page.height
    if rows == 0:
        log.warning("dsmr %s: none yet on instance %s; re-run this partition later", what, client.instance.name)


def land_meters(clients: Sequence[DsmrClient]) -> LandingResult:
    rows = []
    for client in clients:
        with client:
            count, latest = client.latest_reading()
        rows.append(
            {
                "instance": client.instance.name,
                "timezone": client.instance.timezone,
                "base_url": client.http.redact(client.instance.base_url),
                "reading_count": count,
                "latest_reading_at": latest,
            }
        )
    frame = pl.DataFrame(rows) if rows else DsmrMeter.empty()
    return land_frame(VENDOR, "meters", today_utc(), frame, DsmrMeter, READINGS)


def land_consumption_today(clients: Sequence[DsmrClient]) -> LandingResult:
    frames = []
    for client in clients:
        with client:
            frames.append(client.consumption_today())
    frame = pl.concat(frames, how="vertical_relaxed") if frames else DsmrConsumptionToday.empty()
    return land_frame(VENDOR, "consumption_today", today_utc(), frame, DsmrConsumptionToday, CONSUMPTION_TODAY)


def _land_timed(
    clients: Sequence[DsmrClient],
    partition_key: str,
    dataset: str,
    schema: type[DsmrQuarterHourPeak] | type[DsmrElectricityConsumption] | type[DsmrGasConsumption],
    source: str,
    pages_of: Callable[[DsmrClient, datetime, datetime, Tally], Iterator[pl.DataFrame]],
) -> LandingResult:
    """Every instance's records of one UTC day (filtered as UTC instants, like the readings)."""
    start, end = day_window(partition_key)
    with PartitionWriter(VENDOR, dataset, partition_key, schema, source) as writer:
        for client in clients:
            with client:
                for page in pages_of(client, start, end, writer.tally):
                    writer.write(page)
    return writer.result


def land_quarter_hour_peaks(clients: Sequence[DsmrClient], partition_key: str) -> LandingResult:
    return _land_timed(
        clients,
        partition_key,
        "quarter_hour_peaks",
        DsmrQuarterHourPeak,
        QUARTER_HOUR_PEAKS,
        DsmrClient.quarter_hour_peaks,
    )


def land_electricity_consumption(clients: Sequence[DsmrClient], partition_key: str) -> LandingResult:
    return _land_timed(
        clients,
        partition_key,
        "electricity_consumption",
        DsmrElectricityConsumption,
        ELECTRICITY_CONSUMPTION,
        DsmrClient.electricity_consumption,
    )


def land_gas_consumption(clients: Sequence[DsmrClient], partition_key: str) -> LandingResult:
    return _land_timed(
        clients, partition_key, "gas_consumption", DsmrGasConsumption, GAS_CONSUMPTION, DsmrClient.gas_consumption
    )


def land_energy_supplier_prices(clients: Sequence[DsmrClient]) -> LandingResult:
    frames = []
    for client in clients:
        with client:
            frames.append(client.energy_supplier_prices())
    frame = pl.concat(frames, how="vertical_relaxed") if frames else DsmrEnergySupplierPrice.empty()
    return land_frame(
        VENDOR, "energy_supplier_prices", today_utc(), frame, DsmrEnergySupplierPrice, ENERGY_SUPPLIER_PRICES
    )


def land_meter_statistics(clients: Sequence[DsmrClient]) -> LandingResult:
    frames = []
    for client in clients:
        with client:
            frames.append(client.meter_statistics())
    frame = pl.concat(frames, how="vertical_relaxed") if frames else DsmrMeterStatistics.empty()
    return land_frame(VENDOR, "meter_statistics", today_utc(), frame, DsmrMeterStatistics, METER_STATISTICS)


def datalogger_health(clients: Sequence[DsmrClient]) -> AssetCheckResult:
    """Warn while any instance's monitoring lists issues, or cannot be read.

    A monitoring endpoint that fails counts as an issue of that instance, not as a failure of
    the meters asset: the readings downstream of it must still land.
    """
    issues: dict[str, list[dict]] = {}
    for client in clients:
        with client:
            try:
                issues[client.instance.name] = client.monitoring_issues()
            except (VendorRequestError, VendorDataError, VendorConfigError) as exc:
                issues[client.instance.name] = [{"source": "pipeline", "description": f"monitoring unreadable: {exc}"}]
    unhealthy = sorted(name for name, found in issues.items() if found)
    return AssetCheckResult(
        check_name=DATALOGGER_CHECK,
        passed=not unhealthy,
        severity=AssetCheckSeverity.WARN,
        metadata={"unhealthy_instances": MetadataValue.json(unhealthy), "issues": MetadataValue.json(issues)},
    )


# A reading is one instance's reading id: what the cursor mode deduplicates against the landed day.
READING_KEY = ("instance", "reading_id")


def _cursor_stream(instance: str) -> str:
    return f"readings_{instance}"


def land_recent_readings(clients: Sequence[DsmrClient], now: datetime | None = None) -> tuple[int, list[LandingResult]]:
    """Readings after each instance's cursor, merged into their UTC-day `readings` partitions.

    Returns (new readings landed, results of the rewritten partitions). Without a cursor an
    instance starts at the beginning of the current UTC day. Each touched partition is
    rewritten whole (its landed rows plus the new ones, deduplicated by reading), then the
    cursors move: a crash between the two re-reads, never skips.
    """
    now = now or datetime.now(UTC)
    cursors = {c.instance.name: read_cursor(VENDOR, _cursor_stream(c.instance.name)) or {} for c in clients}
    midnight = datetime.combine(now.date(), datetime.min.time(), UTC)
    starts = {
        name: datetime.fromisoformat(cursor["last_measured_at"]) if cursor else midnight
        for name, cursor in cursors.items()
    }
    new_rows, results = 0, []
    try:
        day = min(starts.values()).date()
        while day <= now.date():
            day_start = datetime.combine(day, datetime.min.time(), UTC)
            day_end = day_start + timedelta(days=1)
            fresh: dict[str, list[pl.DataFrame]] = {}
            for client in clients:
                name = client.instance.name
                if starts[name] >= day_end:
                    continue
                skip = cursors[name].get("ids_at_last", [])
                for page in client.reading_pages(max(starts[name], day_start), day_end):
                    page = page.filter(~pl.col("reading_id").is_in(skip).fill_null(False))
                    if page.height:
                        fresh.setdefault(name, []).append(page)
            if fresh:
                new = pl.concat([f for frames in fresh.values() for f in frames], how="vertical_relaxed")
                result, added = add_to_partition(
                    VENDOR, "readings", day.isoformat(), new, DsmrReading, READINGS, READING_KEY
                )
                results.append(result)
                new_rows += added
                for name, frames in fresh.items():
                    _advance_cursor(name, pl.concat(frames, how="vertical_relaxed"))
            day += timedelta(days=1)
    finally:
        for client in clients:
            client.http.close()
    return new_rows, results


def _advance_cursor(instance: str, landed: pl.DataFrame) -> None:
    newest = cast("datetime | None", landed["measured_at"].max())
    if newest is None:
        return
    ids = landed.filter(pl.col("measured_at") == newest)["reading_id"].to_list()
    write_cursor(VENDOR, _cursor_stream(instance), {"last_measured_at": newest.isoformat(), "ids_at_last": ids})


# -- assets -----------------------------------------------------------------------------------
@landed_asset(VENDOR, "meters", extra_checks={DATALOGGER_CHECK: DATALOGGER_CHECK_DESCRIPTION})
def dsmr_meters(dsmr: DsmrResource) -> MaterializeResult:
    """Configured instances with their zone and newest reading (snapshot), checked against
    each instance's own monitoring."""
    landed = materialize_result([land_meters(dsmr.clients())])
    health = datalogger_health(dsmr.clients())
    return MaterializeResult(
        metadata=landed.metadata,
        check_results=[*(landed.check_results or []), health],
        data_version=landed.data_version,
    )


@landed_asset(VENDOR, "consumption_today", deps=["meters"])
def dsmr_consumption_today(dsmr: DsmrResource) -> MaterializeResult:
    """Each instance's consumption of its current local day so far (snapshot)."""
    return materialize_result([land_consumption_today(dsmr.clients())])


@landed_asset(VENDOR, "readings", daily=True, deps=["meters"])
def dsmr_readings(context: AssetExecutionContext, dsmr: DsmrResource) -> MaterializeResult:
    """Every instance's readings (one per 10 s) of each UTC day, streamed page by page."""
    return materialize_result(land_days(context, lambda day: [land_readings(dsmr.clients(), day)]))


@landed_asset(VENDOR, "hour_statistics", daily=True, deps=["meters"])
def dsmr_hour_statistics(context: AssetExecutionContext, dsmr: DsmrResource) -> MaterializeResult:
    """Hour statistics of every instance for the local day with the partition's date."""
    return materialize_result(land_days(context, lambda day: [land_hour_statistics(dsmr.clients(), day)]))


@landed_asset(VENDOR, "day_statistics", daily=True, deps=["meters"])
def dsmr_day_statistics(context: AssetExecutionContext, dsmr: DsmrResource) -> MaterializeResult:
    """Day statistics of every instance for the local day with the partition's date."""
    return materialize_result(land_days(context, lambda day: [land_day_statistics(dsmr.clients(), day)]))


@landed_asset(VENDOR, "quarter_hour_peaks", daily=True, deps=["meters"])
def dsmr_quarter_hour_peaks(context: AssetExecutionContext, dsmr: DsmrResource) -> MaterializeResult:
    """Every instance's quarter-hour average power (kW) of the quarters starting in each UTC day."""
    return materialize_result(land_days(context, lambda day: [land_quarter_hour_peaks(dsmr.clients(), day)]))


@landed_asset(VENDOR, "electricity_consumption", daily=True, deps=["meters"])
def dsmr_electricity_consumption(context: AssetExecutionContext, dsmr: DsmrResource) -> MaterializeResult:
    """Every instance's compacted electricity records (one a minute) of each UTC day."""
    return materialize_result(land_days(context, lambda day: [land_electricity_consumption(dsmr.clients(), day)]))


@landed_asset(VENDOR, "gas_consumption", daily=True, deps=["meters"])
def dsmr_gas_consumption(context: AssetExecutionContext, dsmr: DsmrResource) -> MaterializeResult:
    """Every instance's gas positions (one an hour) of each UTC day."""
    return materialize_result(land_days(context, lambda day: [land_gas_consumption(dsmr.clients(), day)]))


@landed_asset(VENDOR, "energy_supplier_prices", deps=["meters"])
def dsmr_energy_supplier_prices(dsmr: DsmrResource) -> MaterializeResult:
    """Every instance's price contracts with their validity dates (snapshot)."""
    return materialize_result([land_energy_supplier_prices(dsmr.clients())])


@landed_asset(VENDOR, "meter_statistics", deps=["meters"])
def dsmr_meter_statistics(dsmr: DsmrResource) -> MaterializeResult:
    """Every instance's datalogger counters: power failures, voltage sags/swells, rejected
    telegrams (snapshot)."""
    return materialize_result([land_meter_statistics(dsmr.clients())])


# Its landing is recorded under `dsmr/readings` (see below): no checks of its own.
@landed_asset(VENDOR, "readings_recent", deps=["meters"], checks=False)
def dsmr_readings_recent(context: AssetExecutionContext, dsmr: DsmrResource) -> MaterializeResult:
    """Cursor mode for the schedule: readings after the last landed one, into `readings` partitions.

    The day partitions it rewrites belong to `dsmr/readings`: each is recorded as a
    materialization of that asset and partition too, so lineage, the UI and the late-data
    sensor (which rebuilds that day's facts) see the change.
    """
    new_rows, results = land_recent_readings(dsmr.clients())
    context.log.info(f"dsmr readings_recent: {new_rows} new readings in {len(results)} partitions")
    for result in results:
        context.log_event(
            AssetMaterialization(
                asset_key=dsmr_readings.key,
                partition=result.partition_date,
                description="Rewritten with new readings by dsmr/readings_recent (cursor mode).",
                metadata=materialize_result([result], with_check=False).metadata,
            )
        )
    return materialize_result(results, with_check=False)


dsmr_assets = [
    dsmr_meters,
    dsmr_consumption_today,
    dsmr_readings,
    dsmr_hour_statistics,
    dsmr_day_statistics,
    dsmr_quarter_hour_peaks,
    dsmr_electricity_consumption,
    dsmr_gas_consumption,
    dsmr_energy_supplier_prices,
    dsmr_meter_statistics,
    dsmr_readings_recent,
]


def resource_from_env() -> DsmrResource:
    """The vendor's settings, read from the environment when a run starts (secrets stay EnvVars)."""
    # A JSON list of instances; each names the env var that holds its API key.
    return DsmrResource(instances=EnvVar("DSMR_INSTANCES"))
