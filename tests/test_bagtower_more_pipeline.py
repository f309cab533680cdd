"""Bagtower data views, KPIs and issue statistics through Dagster and dbt into the warehouse, the
statistics reconciled with fct_issue, and the weekly full re-sync job bringing a late change to
an old issue into fct_issue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from dagster import AssetKey, AssetSelection, DagsterInstance, materialize

from pipelines.definitions import defs, resources
from pipelines.vendors.bagtower.assets import BagtowerResource, bagtower_issues, snapshot_assets
from pipelines.vendors.bagtower.simulator import API_KEY, COMPANY_ID, OPEN_STOP_TS, BagtowerSimulatorConfig
from pipelines.warehouse import connect, dbt_models

RECONCILIATION = "assert_issue_statistics_match_fct_issue"
NEW_MARTS = ("fct_issue_statistics", "fct_uptime")
# The simulator's clock a little behind the real one (the assets ask up to the real clock).
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
HISTORY_SINCE = int((NOW - timedelta(days=100)).timestamp())  # keeps a full re-sync short


def _resources(server) -> dict[str, object]:
    res = resources()
    res["bagtower"] = BagtowerResource(
        base_url=f"{server.url}/prod", api_key=API_KEY, company_id=COMPANY_ID, backoff_base_s=0.01
    )
    return res


def _build_warehouse(res: dict[str, object], instance: DagsterInstance, marts: tuple[str, ...] = ()) -> dict:
    """Every Bagtower snapshot and the issues landed, then dbt (only `marts` if given: the staging
    views read the landed files as they are); the dbt checks' results."""
    landed = materialize([*snapshot_assets, bagtower_issues], resources=res, instance=instance)
    assert landed.success
    return _rebuild(res, instance, marts)


def _rebuild(res: dict[str, object], instance: DagsterInstance, marts: tuple[str, ...] = ()) -> dict:
    selection = [AssetKey([mart]) for mart in marts] or None
    built = materialize([dbt_models], selection=selection, resources=res, instance=instance)
    assert built.success
    return {c.check_name: c.passed for c in built.get_asset_check_evaluations()}


def test_statistics_kpis_and_data_views_reach_the_marts_and_reconcile(start_simulator, data_dir: Path) -> None:
    server = start_simulator("bagtower", BagtowerSimulatorConfig(now=NOW.timestamp(), issues_since=HISTORY_SINCE))
    sim = server.app.state.simulator
    res = _resources(server)
    with DagsterInstance.ephemeral() as instance:
        checks = _build_warehouse(res, instance)
        assert checks[RECONCILIATION] is True

        def marts() -> dict[str, list[tuple]]:
            """The rows a re-run must give again (the snapshots' own instants aside)."""
            with connect() as con:
                return {
                    table: con.execute(f"select * exclude ({moving}) from {table} order by all").fetchall()
                    for table, moving in (
                        # The window ends at the run's moment, and Bagtower's `previous*` figures
                        # cover the period of the same length before it: both move between runs.
                        (
                            "fct_issue_statistics",
                            "window_end, previous_issue_count, previous_cost, previous_duration_s",
                        ),
                        ("fct_uptime", "period_start, period_end, measured_at"),
                        ("staging.stg_bagtower__data_views", "extracted_at"),
                    )
                }

        first = marts()
        with connect() as con:
            total = con.execute(
                "select window_start, window_end, issue_count, warehouse_issue_count, cost, mean_time_to_repair_s "
                "from fct_issue_statistics where breakdown = 'total'"
            ).fetchall()
            causes = dict(
                con.execute(
                    "select coalesce(member, '?'), issue_count from fct_issue_statistics where breakdown = 'cause'"
                ).fetchall()
            )
            warehouse_causes = dict(
                con.execute(
                    "select coalesce(cause, '(no cause)'), count(*) from fct_issue "
                    "where started_at <= ? and coalesce(stopped_at, 'infinity'::timestamptz) >= ? group by 1",
                    [total[0][1], total[0][0]],
                ).fetchall()
            )
            days = con.execute("select count(*) from fct_issue_statistics where breakdown = 'day'").fetchone()[0]
            company = con.execute(
                "select period_days, uptime_pct from fct_uptime where scope = 'company' order by period_days"
            ).fetchall()
            offline_day = con.execute(
                "select u.down_time_s, u.uptime_pct, u.is_complete from fct_uptime u "
                "join dim_device d using (device_key) where d.status = 'offline' and u.period_start = ?",
                [datetime.combine(NOW.date() - timedelta(days=0), datetime.min.time(), UTC)],
            ).fetchall()
            views = con.execute(
                "select count(*), count(*) filter (where share_type = 'USER') from staging.stg_bagtower__data_views"
            ).fetchone()

        # The vendor's statistics, as served for the window, and the warehouse's issues agree.
        window_start, window_end, count, warehouse_count, cost, mttr = total[0]
        served = sim.statistics(int(window_start.timestamp()), int(window_end.timestamp()))["globalSummary"]
        assert count == warehouse_count == served["totalAlert"] > 0
        assert (cost, mttr) == (served["totalCost"], served["mttr"])
        no_cause = causes.pop("unknown")
        assert causes == {k: v for k, v in warehouse_causes.items() if k != "(no cause)"}
        assert no_cause == warehouse_causes["(no cause)"]
        assert days == 31
        assert company == [(1, 99.0), (7, 98.5), (30, 98.0), (90, 97.5), (365, 97.0)]
        assert [(down, pct) for down, pct, _ in offline_day] == [(NOW.hour * 3600.0, 0.0)]
        # The offline device's day is not over (NOW is an hour ago), unless the suite crossed
        # midnight UTC and the extraction's clock, which decides completeness, with it.
        assert not offline_day[0][2] or datetime.now(UTC).date() > NOW.date()
        assert views == (5, 1)

        # The same snapshots and marts again: the same rows, nothing doubled.
        assert _build_warehouse(res, instance, NEW_MARTS)[RECONCILIATION] is True
        assert marts() == first

        # Issues the warehouse lost (a day's partition gone): the reconciliation warns.
        partitions = (data_dir / "landing/bagtower/issues").glob("date=20*")
        fullest = max(partitions, key=lambda p: pl.read_parquet(p / "*.parquet").height)
        fullest.rename(fullest.with_name("removed"))
        assert _rebuild(res, instance, ("fct_issue", *NEW_MARTS))[RECONCILIATION] is False


def _closed_issue_before(sim, moment: datetime) -> dict:
    end = int(moment.timestamp())
    for issue in sim.issues(end - 10 * 86_400, end - 3 * 86_400):
        if issue["stopTs"] != OPEN_STOP_TS and issue["stopTs"] < end - 2 * 86_400 and not issue["causeId"]:
            return issue
    raise AssertionError("the simulator should close an issue without a cause in any week")


@pytest.fixture
def bagtower_env(start_simulator, monkeypatch: pytest.MonkeyPatch):
    """The Definitions' own resources pointed at a simulator (the jobs read the environment)."""
    server = start_simulator("bagtower", BagtowerSimulatorConfig(now=NOW.timestamp(), issues_since=HISTORY_SINCE))
    monkeypatch.setenv("BAGTOWER_BASE_URL", f"{server.url}/prod")
    monkeypatch.setenv("BAGTOWER_API_KEY", API_KEY)
    monkeypatch.setenv("BAGTOWER_COMPANY_ID", COMPANY_ID)
    return server


def test_the_weekly_resync_brings_a_change_60_days_after_an_issue_stopped(bagtower_env, data_dir: Path) -> None:
    sim = bagtower_env.app.state.simulator
    issue = _closed_issue_before(sim, NOW - timedelta(days=62))
    stopped = issue["stopTs"]
    res = _resources(bagtower_env)
    resync = defs.resolve_job_def("bagtower_issues_resync_job")
    incremental = AssetSelection.assets(bagtower_issues).downstream()  # the issues, then fct_issue

    def cause_in_fct_issue() -> str | None:
        with connect() as con:
            return con.execute("select cause from fct_issue where native_id = ?", [issue["id"]]).fetchone()[0]

    with DagsterInstance.ephemeral() as instance:
        sim.config.now = stopped + 86_400
        devices = [a for a in snapshot_assets if a.key.path[-1] == "devices"]
        assert materialize(devices, resources=res, instance=instance).success
        assert materialize([dbt_models], resources=res, instance=instance).success  # dim_device first
        assert resync.execute_in_process(instance=instance).success  # every issue, once
        assert cause_in_fct_issue() is None

        sim.config.now = stopped + 50 * 86_400  # daily runs move the cursor on
        assert materialize([bagtower_issues], resources=res, instance=instance).success

        cause = sim.causes[3]
        sim.change_issue(issue["id"], stopped + 60 * 86_400, causeId=cause["id"], cause=cause["title"])
        sim.config.now = stopped + 61 * 86_400
        run = materialize([bagtower_issues, dbt_models], selection=incremental, resources=res, instance=instance)
        assert run.success
        assert cause_in_fct_issue() is None  # past the 35-day look-back: the incremental run cannot see it

        assert resync.execute_in_process(instance=instance).success
    assert cause_in_fct_issue() == cause["title"]
    with connect() as con:
        copies = con.execute("select count(*) from fct_issue where native_id = ?", [issue["id"]]).fetchone()[0]
    assert copies == 1
