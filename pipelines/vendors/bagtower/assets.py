"""Dagster assets for Bagtower: catalog snapshots, device logs per daily partition, and issues
with their events landed incrementally by modification time."""

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import cast

import pandera.polars as pa
import polars as pl
from dagster import AssetExecutionContext, AssetsDefinition, Config, EnvVar, MaterializeResult

from pipelines.asset_specs import landed_asset, landed_multi_asset, landed_spec
from pipelines.cursors import read_cursor, write_cursor
from pipelines.landing import LandingResult, PartitionWriter, land_frame, landing_store, register_dataset
from pipelines.metadata import land_days, materialize_result, materialize_results
from pipelines.partitions import day_window, in_window, today_utc
from pipelines.resources import VendorResource
from pipelines.vendors.bagtower import paths, transform
from pipelines.vendors.bagtower.client import VENDOR, BagtowerClient
from pipelines.vendors.bagtower.schemas import (
    BagtowerAnnotation,
    BagtowerCatalogItem,
    BagtowerDataView,
    BagtowerDevice,
    BagtowerGroup,
    BagtowerIssue,
    BagtowerIssueEvent,
    BagtowerIssueStatistic,
    BagtowerKanbanStage,
    BagtowerKpi,
    BagtowerLogValue,
    BagtowerMonitor,
)

ISSUES_STREAM = "issues"
FIRST_RUN_DAYS = 30  # how far back the first issues run looks for modified issues
# Issues are asked for by their [start, stop] overlapping the window; an issue changed after it
# stopped (archived, cause set) still overlaps a window reaching this far before the cursor.
ISSUE_LOOKBACK = timedelta(days=35)
STATISTICS_DAYS = 30  # issue statistics cover the UTC days from this many days ago up to the run


class BagtowerResource(VendorResource):
    """Where and as which company to reach Bagtower (`BAGTOWER_BASE_URL`, `BAGTOWER_API_KEY`,
    `BAGTOWER_COMPANY_ID`)."""

    base_url: str
    api_key: str
    company_id: str

    def client(self) -> BagtowerClient:
        retry = self.retry_policy()
        return BagtowerClient(self.base_url, self.api_key, self.company_id, timeout_s=self.timeout_s, retry=retry)


# -- snapshots -----------------------------------------------------------------------------------
def _devices(client: BagtowerClient) -> pl.DataFrame:
    return transform.devices_frame(client.devices())


def _groups(client: BagtowerClient) -> pl.DataFrame:
    return pl.DataFrame({"group_name": client.groups()}, schema={"group_name": pl.String})


def _annotations(client: BagtowerClient) -> pl.DataFrame:
    frames = [transform.annotations_frame(client.annotations(d["deviceId"])) for d in client.devices()]
    return pl.concat(frames) if frames else transform.annotations_frame([])


def _data_views(client: BagtowerClient) -> pl.DataFrame:
    frames = [transform.data_views_frame(client.data_views(d["deviceId"]), d["deviceId"]) for d in client.devices()]
    return pl.concat(frames) if frames else transform.data_views_frame([], "")


def _issue_statistics(client: BagtowerClient) -> pl.DataFrame:
    """The statistics of the issues overlapping the last STATISTICS_DAYS whole UTC days and today
    so far: `fct_issue_statistics` reconciles them with the issues in `fct_issue`."""
    window_end = datetime.now(UTC).replace(microsecond=0)
    window_start = datetime.combine(window_end.date() - timedelta(days=STATISTICS_DAYS), datetime.min.time(), UTC)
    body = client.issue_statistics(window_start, window_end)
    return transform.issue_statistics_frame(body, window_start, window_end)


SNAPSHOTS: dict[str, tuple[Callable[[BagtowerClient], pl.DataFrame], type[pa.DataFrameModel], str, str]] = {
    "devices": (_devices, BagtowerDevice, paths.DEVICES, "Devices with group, tags, period, status and zone."),
    "groups": (_groups, BagtowerGroup, paths.GROUPS, "Device groups of the company."),
    "monitors": (
        lambda c: transform.monitors_frame(c.monitors()),
        BagtowerMonitor,
        paths.MONITORS,
        "Monitors (metrics watched, attachment, cost rules) that raise issues.",
    ),
    "causes": (
        lambda c: transform.catalog_frame(c.causes()),
        BagtowerCatalogItem,
        paths.CAUSES,
        "Causes the company defined for issues.",
    ),
    "solutions": (
        lambda c: transform.catalog_frame(c.solutions()),
        BagtowerCatalogItem,
        paths.SOLUTIONS,
        "Solutions the company defined for issues.",
    ),
    "kanban_stages": (
        lambda c: transform.kanban_stages_frame(c.kanban_stages()),
        BagtowerKanbanStage,
        paths.KANBAN_STAGES,
        "Kanban stages issues move through.",
    ),
    "annotations": (_annotations, BagtowerAnnotation, paths.ANNOTATIONS, "Annotations users wrote on devices."),
    "data_views": (
        _data_views,
        BagtowerDataView,
        paths.DATA_VIEWS,
        "Data views of each device: graphs configuration (metrics plotted) and share type.",
    ),
    "kpis": (
        lambda c: transform.kpis_frame(c.kpis()),
        BagtowerKpi,
        paths.KPIS,
        "KPIs: the company's uptime over the last 1/7/30/90/365 days and each device's daily up/down times.",
    ),
    "issue_statistics": (
        _issue_statistics,
        BagtowerIssueStatistic,
        paths.ISSUE_STATISTICS,
        f"Issue statistics over the last {STATISTICS_DAYS} days: totals, counts/costs/durations by cause, "
        "group and day.",
    ),
}


def land_snapshot(client: BagtowerClient, dataset: str) -> LandingResult:
    fetch, schema, template, _ = SNAPSHOTS[dataset]
    with client:
        frame = fetch(client)
    return land_frame(VENDOR, dataset, today_utc(), frame, schema, paths.endpoint_name(template))


def _snapshot_asset(dataset: str) -> AssetsDefinition:
    description = SNAPSHOTS[dataset][3] + " Snapshot, landed under the run's date."

    @landed_asset(VENDOR, dataset, description=description)
    def _snapshot(bagtower: BagtowerResource) -> MaterializeResult:
        return materialize_result([land_snapshot(bagtower.client(), dataset)])

    return _snapshot


snapshot_assets = [_snapshot_asset(name) for name in SNAPSHOTS]
_DATASET_SCHEMAS: dict[str, type[pa.DataFrameModel]] = {
    **{name: spec[1] for name, spec in SNAPSHOTS.items()},
    "device_logs": BagtowerLogValue,
    "device_log_summaries": BagtowerLogValue,
    "issues": BagtowerIssue,
    "issue_events": BagtowerIssueEvent,
}
for _dataset, _schema in _DATASET_SCHEMAS.items():
    register_dataset(VENDOR, _dataset, _schema)


# -- device logs ---------------------------------------------------------------------------------
LOG_DATASETS = {False: "device_log_summaries", True: "device_logs"}


def land_device_logs(client: BagtowerClient, partition_key: str, *, raw: bool) -> LandingResult:
    """One UTC day of every device's logs (raw values or hourly summaries), device by device.

    Series whose `x` and `y` differ in length cannot be paired: they go to quarantine whole.
    """
    start, end = day_window(partition_key)
    start_s, end_s = int(start.timestamp()), int(end.timestamp())
    source = paths.endpoint_name(paths.DEVICE_LOGS) + ("?raw=true" if raw else "")
    with client, PartitionWriter(VENDOR, LOG_DATASETS[raw], partition_key, BagtowerLogValue, source) as writer:
        for device in client.devices():
            # One second before the day too: a service with an exclusive `start` still gives midnight.
            series = client.device_logs(device["deviceId"], start - timedelta(seconds=1), end, raw=raw)
            paired, unpaired = transform.split_series(series)
            writer.quarantine(unpaired)
            points = transform.log_values_frame(paired)
            # A point whose time did not read is kept for validation to quarantine it.
            writer.write(points.filter(in_window("unix_timestamp", start_s, end_s, keep_null=True)))
    return writer.result


def _log_asset(raw: bool) -> AssetsDefinition:
    dataset = LOG_DATASETS[raw]
    what = "Raw log values" if raw else "Hourly summaries (std, min, median, max, mean, sum) and state changes"

    @landed_asset(
        VENDOR, dataset, daily=True, deps=["devices"], description=f"{what} of every device's metrics for each UTC day."
    )
    def _logs(context: AssetExecutionContext, bagtower: BagtowerResource) -> MaterializeResult:
        return materialize_result(land_days(context, lambda day: [land_device_logs(bagtower.client(), day, raw=raw)]))

    return _logs


log_assets = [_log_asset(False), _log_asset(True)]


# -- issues --------------------------------------------------------------------------------------
def land_issues(client: BagtowerClient, now: datetime | None = None) -> tuple[list[LandingResult], list[LandingResult]]:
    """Land every issue modified since the cursor's day, under the day it was last modified.

    Each day from the cursor's day to today is landed whole (the issues last modified that day,
    with all their events), so re-landing replaces and an issue that changed again moves to its
    new day: dbt keeps the latest version of each issue, never a duplicate. The cursor (the latest
    modification landed) is written only after every day has landed.

    Issues are listed by their [start, stop] overlapping a window ISSUE_LOOKBACK before the
    cursor's day: a change to an issue that stopped earlier than that is not seen here, only by
    the weekly full re-sync (`resync_issues`).
    """
    now = now or datetime.now(UTC)
    cursor = read_cursor(VENDOR, ISSUES_STREAM)
    if cursor:
        first_day = datetime.fromtimestamp(cursor["modified_through"], UTC).date()
    else:
        first_day = now.date() - timedelta(days=FIRST_RUN_DAYS)
    first_moment = datetime.combine(first_day, datetime.min.time(), UTC)
    with client:
        issues = _with_device_ids(client, client.issues(first_moment - ISSUE_LOOKBACK, now))
        changed = transform.issues_frame(issues).filter(pl.col("modified_at") >= first_moment)
        results = _land_issue_days(client, changed, _days(first_day, now.date()))
    _advance_cursor(changed, cursor, first_moment)
    return results


def resync_issues(
    client: BagtowerClient, now: datetime | None = None
) -> tuple[list[LandingResult], list[LandingResult]]:
    """Land every issue the service lists, whatever its age: the full re-sync.

    Every day an issue was last modified, and every day landed before, is landed whole again, so
    afterwards the landed issues are exactly the service's: a late change to an old issue moves
    it to its modification day, and a day whose issues changed since is emptied of them.
    """
    now = now or datetime.now(UTC)
    cursor = read_cursor(VENDOR, ISSUES_STREAM)
    with client:
        # Issues overlapping [0, now]: the service lists them all, open, closed and archived.
        issues = _with_device_ids(client, client.issues(datetime.fromtimestamp(0, UTC), now))
        listed = transform.issues_frame(issues)
        days = sorted(set(listed["modified_at"].dt.date().to_list()) | _landed_days("issues"))
        results = _land_issue_days(client, listed, days)
    _advance_cursor(listed, cursor, datetime.combine(now.date(), datetime.min.time(), UTC))
    return results


def _land_issue_days(
    client: BagtowerClient, issues: pl.DataFrame, days: list[date]
) -> tuple[list[LandingResult], list[LandingResult]]:
    """Each day landed whole: the issues last modified that day, with all their events."""
    issue_results, event_results = [], []
    for day in days:
        of_day = issues.filter(pl.col("modified_at").dt.date() == day)
        events = [transform.issue_events_frame(client.issue_events(i)) for i in of_day["issue_id"].to_list()]
        events_frame = pl.concat(events) if events else transform.issue_events_frame([])
        key = day.isoformat()
        issue_results.append(
            land_frame(VENDOR, "issues", key, of_day, BagtowerIssue, paths.endpoint_name(paths.ISSUES))
        )
        event_results.append(
            land_frame(
                VENDOR, "issue_events", key, events_frame, BagtowerIssueEvent, paths.endpoint_name(paths.ISSUE_EVENTS)
            )
        )
    return issue_results, event_results


def _advance_cursor(landed: pl.DataFrame, cursor: dict | None, fallback: datetime) -> None:
    """The latest modification landed, written only once every day has landed; never moved back."""
    latest = cast("datetime | None", landed["modified_at"].max())
    through = max(int(latest.timestamp()) if latest is not None else 0, (cursor or {}).get("modified_through") or 0)
    write_cursor(VENDOR, ISSUES_STREAM, {"modified_through": through or int(fallback.timestamp())})


def _landed_days(dataset: str) -> set[date]:
    """The days a dataset has landed partitions for (not the schema-only one)."""
    days = set()
    for partition in landing_store().partitions(f"landing/{VENDOR}/{dataset}"):
        try:
            days.add(date.fromisoformat(partition.removeprefix("date=")))
        except ValueError:
            continue  # date=none: the empty, schema-only partition
    return days


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _with_device_ids(client: BagtowerClient, issues: list[dict]) -> list[dict]:
    """The documented issue omits its device: map it through the by-device listing if needed."""
    if all(issue.get("deviceId") for issue in issues):
        return issues
    owner = {i["id"]: d["deviceId"] for d in client.devices() for i in client.device_issues(d["deviceId"])}
    return [{**issue, "deviceId": issue.get("deviceId") or owner.get(issue["id"])} for issue in issues]


# The incremental runs and the re-sync land the same partitions: a pool limited to one keeps
# them from running at once.
ISSUES_POOL = "bagtower_issues"


class IssuesSyncConfig(Config):
    """`full_resync`: land every issue the service lists instead of those changed since the cursor."""

    full_resync: bool = False


@landed_multi_asset(
    VENDOR,
    [
        landed_spec(
            VENDOR,
            "issues",
            deps=["devices"],
            description="Issues modified since the last run, landed under the day of their last modification "
            "(every issue the service lists on a full re-sync).",
        ),
        landed_spec(
            VENDOR,
            "issue_events",
            description="Events (created, stage changed, closed, archived) of the issues landed with them.",
        ),
    ],
    # Issues land by modification day, not by partition: a cursor, not daily partitions.
    daily=False,
    name="bagtower_issues",
    pool=ISSUES_POOL,
)
def bagtower_issues(config: IssuesSyncConfig, bagtower: BagtowerResource) -> Iterator[MaterializeResult]:
    sync = resync_issues if config.full_resync else land_issues
    issue_results, event_results = sync(bagtower.client())
    yield from materialize_results([*issue_results, *event_results])


bagtower_assets = [*snapshot_assets, *log_assets, bagtower_issues]


def resource_from_env() -> BagtowerResource:
    """The vendor's settings, read from the environment when a run starts (secrets stay EnvVars)."""
    return BagtowerResource(
        base_url=EnvVar("BAGTOWER_BASE_URL"),
        api_key=EnvVar("BAGTOWER_API_KEY"),
        company_id=EnvVar("BAGTOWER_COMPANY_ID"),
    )
