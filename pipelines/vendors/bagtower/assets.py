"""Dagster assets for Bagtower: catalog snapshots, device logs per daily partition, and issues
with their events landed incrementally by modification time."""

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import cast

import pandera.polars as pa
import polars as pl
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    EnvVar,
    MaterializeResult,
    asset,
    multi_asset,
)

from pipelines.cursors import read_cursor, write_cursor
from pipelines.landing import LandingResult, PartitionWriter, land_frame, register_dataset
from pipelines.metadata import (
    daily_check_specs,
    land_days,
    materialize_result,
    materialize_results,
    quarantine_check_spec,
)
from pipelines.partitions import DAILY, day_window, in_window, today_utc
from pipelines.resources import VendorResource
from pipelines.vendors.bagtower import paths, transform
from pipelines.vendors.bagtower.client import VENDOR, BagtowerClient
from pipelines.vendors.bagtower.schemas import (
    BagtowerAnnotation,
    BagtowerCatalogItem,
    BagtowerDevice,
    BagtowerGroup,
    BagtowerIssue,
    BagtowerIssueEvent,
    BagtowerKanbanStage,
    BagtowerLogValue,
    BagtowerMonitor,
)

GROUP = "bagtower"
ISSUES_STREAM = "issues"
FIRST_RUN_DAYS = 30  # how far back the first issues run looks for modified issues
# Issues are asked for by their [start, stop] overlapping the window; an issue changed after it
# stopped (archived, cause set) still overlaps a window reaching this far before the cursor.
ISSUE_LOOKBACK = timedelta(days=35)


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
}


def land_snapshot(client: BagtowerClient, dataset: str) -> LandingResult:
    fetch, schema, template, _ = SNAPSHOTS[dataset]
    with client:
        frame = fetch(client)
    return land_frame(VENDOR, dataset, today_utc(), frame, schema, paths.endpoint_name(template))


def _snapshot_asset(dataset: str) -> AssetsDefinition:
    key = AssetKey([VENDOR, dataset])
    description = SNAPSHOTS[dataset][3] + " Snapshot, landed under the run's date."

    @asset(
        key=key,
        group_name=GROUP,
        kinds={"python", "parquet"},
        description=description,
        check_specs=[quarantine_check_spec(key)],
    )
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
    key = AssetKey([VENDOR, dataset])
    what = "Raw log values" if raw else "Hourly summaries (std, min, median, max, mean, sum) and state changes"

    @asset(
        key=key,
        group_name=GROUP,
        kinds={"python", "parquet"},
        **DAILY,
        deps=[AssetKey([VENDOR, "devices"])],
        description=f"{what} of every device's metrics for each UTC day.",
        check_specs=daily_check_specs(key),
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
    """
    now = now or datetime.now(UTC)
    cursor = read_cursor(VENDOR, ISSUES_STREAM)
    if cursor:
        first_day = datetime.fromtimestamp(cursor["modified_through"], UTC).date()
    else:
        first_day = now.date() - timedelta(days=FIRST_RUN_DAYS)
    first_moment = datetime.combine(first_day, datetime.min.time(), UTC)
    issue_results, event_results = [], []
    with client:
        issues = _with_device_ids(client, client.issues(first_moment - ISSUE_LOOKBACK, now))
        changed = transform.issues_frame(issues).filter(pl.col("modified_at") >= first_moment)
        for day in _days(first_day, now.date()):
            of_day = changed.filter(pl.col("modified_at").dt.date() == day)
            events = [transform.issue_events_frame(client.issue_events(i)) for i in of_day["issue_id"].to_list()]
            events_frame = pl.concat(events) if events else transform.issue_events_frame([])
            key = day.isoformat()
            issue_results.append(
                land_frame(VENDOR, "issues", key, of_day, BagtowerIssue, paths.endpoint_name(paths.ISSUES))
            )
            event_results.append(
                land_frame(
                    VENDOR,
                    "issue_events",
                    key,
                    events_frame,
                    BagtowerIssueEvent,
                    paths.endpoint_name(paths.ISSUE_EVENTS),
                )
            )
    latest = cast("datetime | None", changed["modified_at"].max())
    through = int(latest.timestamp()) if latest is not None else (cursor or {}).get("modified_through")
    write_cursor(VENDOR, ISSUES_STREAM, {"modified_through": through or int(first_moment.timestamp())})
    return issue_results, event_results


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _with_device_ids(client: BagtowerClient, issues: list[dict]) -> list[dict]:
    """The documented issue omits its device: map it through the by-device listing if needed."""
    if all(issue.get("deviceId") for issue in issues):
        return issues
    owner = {i["id"]: d["deviceId"] for d in client.devices() for i in client.device_issues(d["deviceId"])}
    return [{**issue, "deviceId": issue.get("deviceId") or owner.get(issue["id"])} for issue in issues]


ISSUES_KEY = AssetKey([VENDOR, "issues"])
EVENTS_KEY = AssetKey([VENDOR, "issue_events"])


@multi_asset(
    specs=[
        AssetSpec(
            ISSUES_KEY,
            group_name=GROUP,
            kinds={"python", "parquet"},
            deps=[AssetKey([VENDOR, "devices"])],
            description="Issues modified since the last run, landed under the day of their last modification.",
        ),
        AssetSpec(
            EVENTS_KEY,
            group_name=GROUP,
            kinds={"python", "parquet"},
            description="Events (created, stage changed, closed, archived) of the issues landed with them.",
        ),
    ],
    check_specs=[quarantine_check_spec(ISSUES_KEY), quarantine_check_spec(EVENTS_KEY)],
    name="bagtower_issues",
)
def bagtower_issues(bagtower: BagtowerResource) -> Iterator[MaterializeResult]:
    issue_results, event_results = land_issues(bagtower.client())
    yield from materialize_results([*issue_results, *event_results])


bagtower_assets = [*snapshot_assets, *log_assets, bagtower_issues]


def resource_from_env() -> BagtowerResource:
    """The vendor's settings, read from the environment when a run starts (secrets stay EnvVars)."""
    return BagtowerResource(
        base_url=EnvVar("BAGTOWER_BASE_URL"),
        api_key=EnvVar("BAGTOWER_API_KEY"),
        company_id=EnvVar("BAGTOWER_COMPANY_ID"),
    )
