"""Bagtower data views, KPIs, issue statistics and the issues' full re-sync over real HTTP:
the simulator's answers against the doc, landing, quarantine, re-runs and isolation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import polars as pl
import pytest
from dagster import DagsterInstance, materialize

from pipelines.cursors import read_cursor
from pipelines.http import RetryPolicy
from pipelines.landing import land_frame
from pipelines.vendors.bagtower import paths, transform
from pipelines.vendors.bagtower.assets import (
    BagtowerResource,
    land_issues,
    land_snapshot,
    resync_issues,
    snapshot_assets,
)
from pipelines.vendors.bagtower.client import BagtowerClient
from pipelines.vendors.bagtower.schemas import BagtowerDataView, BagtowerKpi
from pipelines.vendors.bagtower.simulator import API_KEY, COMPANY_ID, OPEN_STOP_TS, BagtowerSimulatorConfig
from tests.landed import rows_of

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)  # the simulator's clock
HISTORY_SINCE = int((NOW - timedelta(days=100)).timestamp())  # keeps a full re-sync short
TODAY = datetime.now(UTC).date().isoformat()  # snapshots land under the run's date
# Fields the doc lists for each answer (bagtower-openapi.txt).
DOC_DATA_VIEW = {"companyId", "graphs", "shareValue", "positionView", "name", "showUnknownGraphs", "id"}
DOC_DATA_VIEW |= {"deviceId", "shareType"}
DOC_GRAPH = {"description", "id", "showGraph", "metrics", "title", "positionGraph", "graphWidth"}
DOC_STATISTICS = {"summary", "graphs", "globalSummary"}
DOC_GLOBAL_SUMMARY = {"totalAlert", "mttr", "previousTotalAlert", "currency", "totalCost"}
DOC_GRAPH_POINTS = {
    "duration": {"duration", "OfflineDuration", "previousDuration", "timestamp"},
    "cost": {"cost", "previousCost", "timestamp"},
    "count": {"offlineCount", "count", "previousCount", "timestamp"},
}
DOC_DAILY_DATA = {"downTime", "upTime", "unixTimestamp", "upTimePercent", "uncodedTime", "index", "otherAlertsTime"}
DOC_OVERALL = {"p365d", "p30days", "p1d", "p7days", "p90days"}


def client_for(server) -> BagtowerClient:
    retry = RetryPolicy(max_attempts=3, backoff_base_s=0.01, backoff_max_s=0.05)
    return BagtowerClient(f"{server.url}/prod", API_KEY, COMPANY_ID, retry=retry)


def get(server, template: str, **params: str) -> object:
    device = server.app.state.simulator.devices[0].id
    url = f"{server.url}/prod{template.format(companyId=COMPANY_ID, deviceId=device)}"
    response = httpx.get(url, params=params, headers={"x-api-key": API_KEY})
    assert response.status_code == 200
    return response.json()


def landed(data_dir: Path, dataset: str, zone: str = "landing") -> pl.DataFrame:
    return pl.read_parquet(data_dir / zone / "bagtower" / dataset / f"date={TODAY}" / "*.parquet")


# -- the simulator's answers have the doc's shape ------------------------------------------------
def test_data_views_statistics_and_kpis_answer_with_the_doc_fields(start_simulator) -> None:
    server = start_simulator("bagtower", BagtowerSimulatorConfig(now=NOW.timestamp()))
    views = get(server, paths.DATA_VIEWS)
    assert views and all(set(v) <= DOC_DATA_VIEW for v in views)
    assert all(set(g) <= DOC_GRAPH for v in views for g in v["graphs"])
    assert {v["shareType"] for v in views} == {"GROUP", "USER"}

    window = {"startts": str(int((NOW - timedelta(days=30)).timestamp())), "stopts": str(int(NOW.timestamp()))}
    statistics = get(server, paths.ISSUE_STATISTICS, **window)
    assert set(statistics) == DOC_STATISTICS and set(statistics["globalSummary"]) == DOC_GLOBAL_SUMMARY
    assert set(statistics["summary"]) == {"duration", "cost", "count"}
    for measure in statistics["summary"].values():
        assert set(measure) == {"cause", "group"}
        assert all(set(item) == {"casueid", "label", "value"} for items in measure.values() for item in items)
    for measure, points in statistics["graphs"].items():
        assert points and all(set(p) == DOC_GRAPH_POINTS[measure] for p in points), measure
    total = statistics["globalSummary"]["totalAlert"]
    assert total > 0 and sum(i["value"] for i in statistics["summary"]["count"]["cause"]) == total

    kpis = get(server, paths.KPIS)
    assert set(kpis["overall"]) == DOC_OVERALL
    assert all(set(d["dailyData"]) == DOC_DAILY_DATA for d in kpis["devicesData"])
    assert set(get(server, paths.KPIS, only_overall="true")) == {"overall"}


# -- landing ---------------------------------------------------------------------------------------
def test_data_views_land_per_device_with_their_graphs(start_simulator, data_dir: Path) -> None:
    server = start_simulator("bagtower", BagtowerSimulatorConfig(now=NOW.timestamp()))
    sim = server.app.state.simulator
    result = land_snapshot(client_for(server), "data_views")
    views = landed(data_dir, "data_views")
    served = [v for d in sim.devices for v in sim.data_views(d)]
    assert result.landed_rows == views.height == len(served) > 0 and result.quarantined_rows == 0
    assert set(views["device_id"]) == {d.id for d in sim.devices if d.status != "offline"}
    first = sim.devices[0]
    personal = views.filter(pl.col("share_type") == "USER").row(0, named=True)
    assert personal["device_id"] == first.id and personal["metric_ids"] == ["temperature"]
    default = views.filter((pl.col("device_id") == first.id) & (pl.col("share_type") == "GROUP")).row(0, named=True)
    assert default["metric_ids"] == list(first.metrics) and default["graph_count"] == 1
    assert json.loads(default["graphs"]) == sim.data_views(first)[0]["graphs"]
    assert set(views["_source"]) == {"devices/{deviceId}/dataviews"}


def test_a_data_view_of_another_share_type_or_device_is_quarantined_with_its_reason(data_dir: Path) -> None:
    good = {"id": "v1", "deviceId": "d1", "name": "ok", "graphs": [], "shareType": "GROUP"}
    views = [good, {**good, "id": "v2", "shareType": "EVERYONE"}, {**good, "id": "v3", "deviceId": "d2"}]
    result = land_frame("bagtower", "data_views", TODAY, transform.data_views_frame(views, "d1"), BagtowerDataView, "x")
    assert (result.landed_rows, result.quarantined_rows) == (1, 2)
    held_back = landed(data_dir, "data_views", "quarantine").sort("record")
    assert held_back["reason"].to_list() == [
        "BagtowerDataView: share_type failed isin(['GROUP', 'USER'])",
        "BagtowerDataView: answers for the device asked",
    ]
    assert json.loads(held_back["record"][1])["device_id"] == "d2"


@pytest.mark.parametrize("daily_form", ["object", "list"])
def test_kpis_land_company_periods_and_device_days(start_simulator, data_dir: Path, daily_form: str) -> None:
    config = BagtowerSimulatorConfig(now=NOW.timestamp(), kpi_daily_form=daily_form)
    server = start_simulator("bagtower", config)
    sim = server.app.state.simulator
    result = land_snapshot(client_for(server), "kpis")
    kpis = landed(data_dir, "kpis")
    days = 2 if daily_form == "list" else 1
    assert result.quarantined_rows == 0 and result.landed_rows == kpis.height == 5 + len(sim.devices) * 5 * days
    company = kpis.filter(pl.col("scope") == "company").sort("period_days")
    assert company["period_days"].to_list() == [1, 7, 30, 90, 365]
    assert company["value"].to_list() == [99.0, 98.5, 98.0, 97.5, 97.0]
    offline = next(d for d in sim.devices if d.status == "offline")
    today = kpis.filter(
        (pl.col("device_id") == offline.id) & (pl.col("day_start") == datetime(2026, 11, 21, tzinfo=UTC))
    )
    assert dict(zip(today["kpi"], today["value"], strict=True)) == {
        "up_time_s": 0.0,
        "down_time_s": 12 * 3600.0,
        "uncoded_time_s": 0.0,
        "other_alerts_time_s": 0.0,
        "uptime_pct": 0.0,
    }


def test_a_kpi_that_is_not_a_number_or_of_an_unknown_period_is_quarantined(data_dir: Path) -> None:
    body = {
        "overall": {"p1d": 99.0, "p2weeks": 98.0},
        "devicesData": [{"deviceId": "d1", "dailyData": {"unixTimestamp": 0, "upTime": "n/a", "downTime": 5}}],
    }
    result = land_frame("bagtower", "kpis", TODAY, transform.kpis_frame(body), BagtowerKpi, "kpis")
    kept = landed(data_dir, "kpis")
    assert sorted(kept["source_field"].to_list()) == ["downTime", "p1d"]
    reasons = landed(data_dir, "kpis", "quarantine")["reason"].to_list()
    # p2weeks has no known period; upTime and the three fields the day does not carry are no numbers
    assert result.quarantined_rows == 5 and len(reasons) == 5
    assert sum("known period" in r for r in reasons) == 1 and sum("is a number" in r for r in reasons) == 4


@pytest.mark.parametrize("cause_id_field", ["casueid", "causeId"])
def test_issue_statistics_land_as_one_long_table(start_simulator, data_dir: Path, cause_id_field: str) -> None:
    server = start_simulator("bagtower", BagtowerSimulatorConfig(statistics_cause_id_field=cause_id_field))
    sim = server.app.state.simulator
    result = land_snapshot(client_for(server), "issue_statistics")
    rows = landed(data_dir, "issue_statistics")
    assert result.quarantined_rows == 0 and result.landed_rows == rows.height
    start, end = rows["window_start"][0], rows["window_end"][0]
    assert start.time() == datetime.min.time() and (end - start).days == 30
    served = sim.statistics(int(start.timestamp()), int(end.timestamp()))

    def value(breakdown: str, measure: str) -> list[float]:
        return rows.filter((pl.col("breakdown") == breakdown) & (pl.col("measure") == measure))["value"].to_list()

    assert value("total", "count") == [served["globalSummary"]["totalAlert"]]
    assert value("total", "cost") == [served["globalSummary"]["totalCost"]]
    assert sum(value("cause", "count")) == sum(value("group", "count")) == served["globalSummary"]["totalAlert"]
    causes = rows.filter(pl.col("breakdown") == "cause")
    served_ids = {i[cause_id_field] for i in served["summary"]["count"]["cause"]}
    assert set(causes["cause_id"].to_list()) == served_ids and None in served_ids
    assert len(value("day", "count")) == 31 and len(value("day", "offline_duration")) == 31
    assert set(rows["currency"]) == {"EUR"}


def test_snapshots_land_again_the_same_rows_without_duplicates(start_simulator, data_dir: Path) -> None:
    server = start_simulator("bagtower", BagtowerSimulatorConfig(now=NOW.timestamp()))
    window = ["window_start", "window_end"]  # the statistics are asked up to the run's clock
    first = {}
    for dataset in ("data_views", "kpis", "issue_statistics"):
        land_snapshot(client_for(server), dataset)
        first[dataset] = rows_of(landed(data_dir, dataset).drop(window, strict=False))
    for dataset in first:
        land_snapshot(client_for(server), dataset)
        again = rows_of(landed(data_dir, dataset).drop(window, strict=False))
        assert again.equals(first[dataset]), dataset
    assert first["data_views"]["view_id"].is_unique().all()


def test_a_failing_endpoint_stops_only_its_own_dataset(start_simulator, data_dir: Path) -> None:
    config = BagtowerSimulatorConfig(now=NOW.timestamp(), failing_endpoints=("kpis",))
    server = start_simulator("bagtower", config)
    resource = BagtowerResource(
        base_url=f"{server.url}/prod", api_key=API_KEY, company_id=COMPANY_ID, backoff_base_s=0.01, max_attempts=2
    )
    wanted = {"devices", "data_views", "kpis", "issue_statistics"}
    assets = [a for a in snapshot_assets if a.key.path[-1] in wanted]
    with DagsterInstance.ephemeral() as instance:
        result = materialize(assets, resources={"bagtower": resource}, instance=instance, raise_on_error=False)
    assert not result.success
    failures = [e for e in result.all_events if e.is_step_failure]
    assert len(failures) == 1 and failures[0].step_key == "bagtower__kpis"
    message = str(failures[0].event_specific_data.error)
    assert "bagtower kpis failed (status 500)" in message and API_KEY not in message
    for dataset in ("devices", "data_views", "issue_statistics"):
        assert landed(data_dir, dataset).height > 0, dataset
    assert not (data_dir / "landing/bagtower/kpis").exists()


# -- the issues' full re-sync ------------------------------------------------------------------------
def _closed_issue_before(sim, moment: datetime) -> dict:
    """A closed issue that stopped a few days before `moment`, without a cause yet."""
    end = int(moment.timestamp())
    for issue in sim.issues(end - 10 * 86_400, end - 3 * 86_400):
        if issue["stopTs"] != OPEN_STOP_TS and issue["stopTs"] < end - 2 * 86_400 and not issue["causeId"]:
            return issue
    raise AssertionError("the simulator should close an issue without a cause in any week")


def test_a_change_long_after_an_issue_stopped_lands_only_through_the_full_resync(
    start_simulator, data_dir: Path
) -> None:
    server = start_simulator("bagtower", BagtowerSimulatorConfig(now=NOW.timestamp(), issues_since=HISTORY_SINCE))
    sim = server.app.state.simulator
    issue = _closed_issue_before(sim, NOW - timedelta(days=60))
    stopped = datetime.fromtimestamp(issue["stopTs"], UTC)

    def landed_issue() -> dict:
        issues = pl.read_parquet(data_dir / "landing/bagtower/issues/*/*.parquet", hive_partitioning=True)
        versions = issues.filter(pl.col("issue_id") == issue["id"])
        assert versions.height == 1, "one version landed, in one partition"
        return versions.row(0, named=True)

    sim.config.now = (stopped + timedelta(days=1)).timestamp()
    resync_issues(client_for(server), now=stopped + timedelta(days=1))
    assert landed_issue()["cause_id"] is None
    sim.config.now = (stopped + timedelta(days=50)).timestamp()
    land_issues(client_for(server), now=stopped + timedelta(days=50))  # the cursor moves on

    changed_at = int((stopped + timedelta(days=60)).timestamp())
    cause = sim.causes[3]
    sim.change_issue(issue["id"], changed_at, causeId=cause["id"], cause=cause["title"])
    sim.config.now = changed_at + 86_400
    land_issues(client_for(server), now=stopped + timedelta(days=61))
    assert landed_issue()["cause_id"] is None  # 60 days after it stopped: past the look-back

    resync_issues(client_for(server), now=stopped + timedelta(days=61))
    version = landed_issue()
    assert version["cause_id"] == cause["id"] and version["modified_at"] == datetime.fromtimestamp(changed_at, UTC)
    assert str(version["date"]) == version["modified_at"].date().isoformat()
    events = pl.read_parquet(data_dir / "landing/bagtower/issue_events/*/*.parquet")
    assert "ISSUE_UPDATED" in events.filter(pl.col("issue_id") == issue["id"])["event_type"].to_list()
    assert read_cursor("bagtower", "issues")["modified_through"] >= changed_at


def test_a_full_resync_run_twice_lands_the_same_rows(start_simulator, data_dir: Path) -> None:
    server = start_simulator("bagtower", BagtowerSimulatorConfig(now=NOW.timestamp(), issues_since=HISTORY_SINCE))
    sim = server.app.state.simulator
    resync_issues(client_for(server), now=NOW)
    first = rows_of(pl.read_parquet(data_dir / "landing/bagtower/issues/*/*.parquet"))
    assert first["issue_id"].is_unique().all() and first.height > 50
    assert set(first["issue_id"]) == {i["id"] for i in sim.issues(0, int(NOW.timestamp()))}
    resync_issues(client_for(server), now=NOW)
    assert rows_of(pl.read_parquet(data_dir / "landing/bagtower/issues/*/*.parquet")).equals(first)
