"""A Bagtower API simulator that follows `bagtower-openapi.txt` (paths: see `paths.py`).

Authentication is the `x-api-key` header: the company key for every read, a device's own key
(`GET .../devices/{id}/key`) for `POST /logs`, the company's pool key for `POST /pool/logs`.
A missing or wrong key answers 403 `{"message": "Forbidden"}` as an API gateway does; other
errors are `{"code", "message"}` (the doc's error shape) with 400 or 404.

Unspecified by the doc, chosen here:
- device logs: `start` inclusive, `end` exclusive (epoch seconds). Without `raw` each metric id
  carries hourly `std` (population), `min`, `median`, `max`, `mean`, `sum` series (`x` = hour
  start) and, for `enum` metrics, `states` (`x` = instants the state changed, `y` = the state);
  with `raw=true` it carries `raw` (`x` = log instant, `y` = value) only.
- issues: `startts`/`stopts` select issues whose [startTs, stopTs] overlaps the window; by default
  open and closed issues, `archived=true` adds archived ones, `active=true` keeps only open ones,
  `closed=true` only closed ones. Issues carry `deviceId` (the create body has it; the
  documented response omits it).
- issue statistics: issues whose [startTs, stopTs] overlaps [startts, stopts], archived ones
  included; `duration` in seconds (an open issue counts up to `now`), `mttr` the mean duration of
  the closed ones; the summary's breakdown items carry the cause id under the doc's own spelling
  `casueid` (`statistics_cause_id_field` serves another), null for issues without a cause and for
  groups; `graphs` has one point per UTC day of the window (issues overlapping that day), the
  `previous*` values from the window of the same length just before.
- KPIs: `overall` uptime percentages (0-100) over the last 1/7/30/90/365 days; `devicesData`
  one item per device whose `dailyData` is the documented single object (today) or, the name
  suggesting it, a list of days (`kpi_daily_form`); times in seconds.
- `failing_endpoints` (endpoint names as `paths.endpoint_name`) answer 500 (isolation tests);
  `change_issue` changes an issue at a later instant (cause, solution, archive...).

Generated data is a pure function of (seed, ids, time) and the simulator's clock (`now`), so any
date can be served and an issue open at one `now` is closed at a later one. Pushed logs are kept
in memory and served with the generated ones.
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pipelines.simulation.answers import empty_response
from pipelines.simulation.noise import unit_noise
from pipelines.vendors.bagtower import paths
from pipelines.vendors.bagtower.fleet import (
    AGGREGATES,
    API_KEY,
    CAUSES,
    COMPANY_ID,
    CREATED_TS,
    KANBAN_STAGES,
    MAX_ISSUE_S,
    METRICS,
    OPEN_STOP_TS,
    SLOT_S,
    SOLUTIONS,
    SUMMARY_BUCKET_S,
    BagtowerSimulatorConfig,
    SimDevice,
    SimMonitor,
    build_fleet,
    hash_int,
    monitor_watches,
    seeded_uuid,
    unit_draw,
)

SIMULATOR_PORT = 8705
BASE_URL_ENV = "BAGTOWER_BASE_URL"
CREDENTIAL_ENV = ("BAGTOWER_API_KEY",)
DEFAULT_ENV = {
    "BAGTOWER_BASE_URL": f"http://127.0.0.1:{SIMULATOR_PORT}{paths.BASE_PATH}",
    "BAGTOWER_API_KEY": API_KEY,
    "BAGTOWER_COMPANY_ID": COMPANY_ID,
}


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str = "BAD_REQUEST") -> None:
        self.status, self.message, self.code = status, message, code

    def body(self) -> dict:
        if self.status == 403:
            return {"message": self.message}
        return {"code": self.code, "message": self.message}


class BagtowerSimulator:
    """State and behaviour of one simulated Bagtower company."""

    def __init__(self, config: BagtowerSimulatorConfig | None = None) -> None:
        self.config = config or BagtowerSimulatorConfig()
        self.devices, self.monitors = build_fleet(self.config.seed)
        self.devices.extend(self.config.extra_devices)
        self.pushed: list[dict[str, Any]] = []  # (device_id, t, id, val) rows from POST /logs
        self.causes = [self._catalog_item("cause", i, t) for i, t in enumerate(CAUSES)]
        self.solutions = [self._catalog_item("solution", i, t) for i, t in enumerate(SOLUTIONS)]
        # Where each issue served so far comes from, so one issue is found without a full scan.
        self._issue_origin: dict[str, tuple[SimDevice, SimMonitor, int]] = {}

    @property
    def now(self) -> int:
        return int(self.config.now if self.config.now is not None else time.time())

    def device_key(self, device_id: str) -> str:
        return "bt-dev-" + hashlib.sha256(f"{self.config.seed}:key:{device_id}".encode()).hexdigest()[:24]

    # -- auth and lookups ----------------------------------------------------------------------
    def authorize(self, headers: Any, company_id: str) -> None:
        if headers.get("x-api-key") != self.config.api_key or company_id != self.config.company_id:
            raise ApiError(403, "Forbidden")

    def device(self, device_id: str) -> SimDevice:
        for device in self.devices:
            if device.id == device_id:
                return device
        raise ApiError(404, f"device {device_id} not found", "NOT_FOUND")

    def _catalog_item(self, kind: str, index: int, title: str) -> dict:
        created = CREATED_TS + 86_400 * index
        return {
            "companyId": self.config.company_id,
            "id": seeded_uuid(self.config.seed, f"{kind}{index}"),
            "title": title,
            "description": f"{title} ({kind} defined at set-up)",
            "createdTs": created,
            "modifiedTs": created + 3600,
        }

    # -- documents -----------------------------------------------------------------------------
    def company(self) -> dict:
        return {
            "companyId": self.config.company_id,
            "companyName": "Cold Chain Sim",
            "description": "Simulated Bagtower company",
            "createdTs": CREATED_TS,
            "deviceCreated": True,
            "deviceCreatedTs": CREATED_TS,
            "deviceStarted": True,
            "deviceStartedTs": CREATED_TS + 600,
            "causes": [c["id"] for c in self.causes],
            "kanbanStageList": self.kanban_stages(),
            "tags": sorted({t for d in self.devices for t in d.tags}),
            "users": ["owner-1"],
            "ownerId": "owner-1",
            "isBetaTester": False,
            "costConfiguration": {"currency": "EUR", "enabled": True},
            "keyvaluePool": {"id": "pool", "value": "***"},  # never echo a key
        }

    def device_json(self, device: SimDevice) -> dict:
        return {
            "deviceId": device.id,
            "deviceName": device.name,
            "companyId": self.config.company_id,
            "companyName": "Cold Chain Sim",
            "keyId": f"key-{device.index}",
            "enabled": device.status != "offline",
            "group": device.group,
            "period": device.period,
            "types": {m: "enum" if METRICS[m].display == "enum" else "number" for m in device.metrics},
            "tags": list(device.tags),
            "status": device.status,
            "timezone": device.timezone,
            "pool": device.pool,
            "alertStatus": device.status == "alert",
            "createdTs": CREATED_TS + 3600 * device.index,
            "modifiedTs": CREATED_TS + 86_400 + 3600 * device.index,
            "kpis": ["uptime"],
        }

    def kanban_stages(self) -> list[dict]:
        return [
            {"id": sid, "name": name, "index": i, "description": f"Issues {name.lower()}", "headerColor": "#ffffff"}
            for i, (sid, name) in enumerate(KANBAN_STAGES)
        ]

    def monitor_json(self, monitor: SimMonitor) -> dict:
        return {
            "id": monitor.id,
            "companyId": self.config.company_id,
            "name": monitor.name,
            "metricList": [monitor.metric],
            "attachmentType": monitor.attachment_type,
            "attachmentValue": monitor.attachment_value,
            "logicOperator": "AND",
            "delay": 300,
            "target": 8 if monitor.metric == "temperature" else 1,
            "cost": {"fixedCost": str(monitor.fixed_cost), "costPerMinute": str(monitor.cost_per_minute)},
            "createdTs": CREATED_TS,
            "modifiedTs": CREATED_TS + 7200,
            "triggerCount": 0,
        }

    # -- logs ----------------------------------------------------------------------------------
    def raw_series(self, device: SimDevice, metric: str, start: int, end: int) -> pl.DataFrame:
        """(x, y) of one metric of one device in [start, end): generated grid plus pushed logs."""
        if device.status == "offline":
            t = np.array([], dtype=np.int64)
        else:
            first = start + (-start) % device.period
            t = np.arange(first, end, device.period, dtype=np.int64)
        generated = pl.DataFrame(
            {"x": t, "y": self._values(device, metric, t)}, schema={"x": pl.Int64, "y": pl.Float64}
        )
        pushed = [r for r in self.pushed if r["deviceId"] == device.id and r["id"] == metric and start <= r["t"] < end]
        extra = pl.DataFrame(
            {"x": [r["t"] for r in pushed], "y": [r["val"] for r in pushed]}, schema={"x": pl.Int64, "y": pl.Float64}
        )
        return pl.concat([generated, extra]).sort("x")

    def _values(self, device: SimDevice, metric: str, t: np.ndarray) -> np.ndarray:
        model = METRICS[metric]
        u = unit_noise(hash_int(self.config.seed, f"{device.id}:{metric}"), t)
        day = t / 86_400.0
        if model.kind == "wave":
            x = model.base + model.amplitude * np.sin(2 * np.pi * (day - 0.3)) + model.noise * (2 * u - 1)
        elif model.kind == "drain":
            x = model.base - 0.1 * (day - 20_000) / 365 + model.noise * (2 * u - 1)
        else:  # a door opening now and then for one period
            x = (u < model.base).astype(np.float64)
        return np.round(x, model.decimals)

    def logs(self, device: SimDevice, start: int, end: int, raw: bool) -> list[dict]:
        out = []
        for metric in device.metrics:
            series = self.raw_series(device, metric, start, end)
            display = METRICS[metric].display
            if raw:
                data = {"raw": {"x": series["x"].to_list(), "y": series["y"].to_list()}}
            else:
                data = self._summary(series, display == "enum")
                if self.config.malformed and device.index == 0 and metric == "temperature" and data["max"]["y"]:
                    data["max"]["y"] = data["max"]["y"][:-1]
            out.append({"id": metric, "display": display, "data": data})
        return out

    @staticmethod
    def _summary(series: pl.DataFrame, with_states: bool) -> dict:
        hourly = (
            series.group_by((pl.col("x") // SUMMARY_BUCKET_S * SUMMARY_BUCKET_S).alias("bucket"))
            .agg(
                pl.col("y").std(ddof=0).round(4).alias("std"),
                pl.col("y").min().alias("min"),
                pl.col("y").median().round(4).alias("median"),
                pl.col("y").max().alias("max"),
                pl.col("y").mean().round(4).alias("mean"),
                pl.col("y").sum().round(4).alias("sum"),
            )
            .sort("bucket")
        )
        data = {agg: {"x": hourly["bucket"].to_list(), "y": hourly[agg].to_list()} for agg in AGGREGATES}
        changes = series.filter(pl.col("y") != pl.col("y").shift(1).fill_null(-1.0)) if with_states else series.clear()
        data["states"] = {"x": changes["x"].to_list(), "y": changes["y"].to_list()}
        return data

    def push(self, device: SimDevice, body: dict) -> dict:
        try:
            ts = int(body["unixTimestamp"])
            rows = [{"deviceId": device.id, "t": ts, "id": str(d["id"]), "val": float(d["val"])} for d in body["data"]]
        except (KeyError, TypeError, ValueError):
            raise ApiError(400, "body must be {deviceId, unixTimestamp, data: [{id, type, val}]}") from None
        self.pushed.extend(rows)
        return {"deviceId": device.id, "period": device.period}

    # -- issues --------------------------------------------------------------------------------
    def issues(self, start: int, stop: int, device_id: str | None = None) -> list[dict]:
        """Every issue (as of `now`) whose [startTs, stopTs] overlaps [start, stop]."""
        return [issue for issue, _ in self._issues_with_events(start, stop, device_id)]

    def _issues_with_events(self, start: int, stop: int, device_id: str | None = None) -> list[tuple[dict, list]]:
        now = self.now
        out = []
        first_slot = max(start - MAX_ISSUE_S, self.config.issues_since) // SLOT_S
        last_slot = min(stop, now) // SLOT_S
        for device in self.devices:
            if device_id is not None and device.id != device_id:
                continue
            for monitor in self.monitors:
                if not monitor_watches(monitor, device):
                    continue
                for slot in range(first_slot, last_slot + 1):
                    found = self._issue(device, monitor, slot, now)
                    if found and found[0]["startTs"] <= stop and found[0]["stopTs"] >= start:
                        self._issue_origin[found[0]["id"]] = (device, monitor, slot)
                        out.append(found)
        return sorted(out, key=lambda f: (f[0]["startTs"], f[0]["id"]))

    def _issue(self, device: SimDevice, monitor: SimMonitor, slot: int, now: int) -> tuple[dict, list] | None:
        label = f"issue:{device.id}:{monitor.id}:{slot}"
        seed = self.config.seed
        if unit_draw(seed, label) >= monitor.probability:
            return None
        start = slot * SLOT_S + int(unit_draw(seed, label + ":start") * SLOT_S)
        if start > now or start < self.config.issues_since:
            return None
        stop = start + 600 + int(unit_draw(seed, label + ":duration") * (MAX_ISSUE_S - 600))
        closed = stop <= now
        archived = closed and unit_draw(seed, label + ":archive") < 0.25 and now >= stop + 86_400
        issue_id = seeded_uuid(seed, label)
        events = self._issue_events(issue_id, start, stop, now, closed, archived, label)
        cause = self.causes[int(unit_draw(seed, label + ":cause") * len(CAUSES))] if closed else None
        if cause is not None and unit_draw(seed, label + ":has-cause") >= 0.6:
            cause = None  # closed without a cause recorded
        solution = self.solutions[CAUSES.index(cause["title"])] if cause is not None else None
        if solution is not None and unit_draw(seed, label + ":has-solution") >= 0.7:
            solution = None
        minutes = (stop - start) / 60
        cost = monitor.fixed_cost + (monitor.cost_per_minute * minutes if closed else 0.0)
        stage = "resolved" if closed else ("in_progress" if now >= start + 3600 else "new")
        issue = {
            "id": issue_id,
            "companyId": self.config.company_id,
            "deviceId": device.id,
            "display": {"title": f"{monitor.name} on {device.name}", "subtitle": monitor.metric},
            "startTs": start,
            "stopTs": stop if closed else OPEN_STOP_TS,
            "createdTs": start,
            "modifiedTs": max(e["modifiedTs"] for e in events),
            "isArchived": archived,
            "isManual": False,
            "isMonitorFailed": False,
            "causeMonitorId": monitor.id,
            "cost": round(cost, 2),
            "kanbanStageId": stage,
            "causeId": cause["id"] if cause is not None else None,
            "cause": cause["title"] if cause is not None else None,
            "solutionId": solution["id"] if solution is not None else None,
            "threadId": seeded_uuid(seed, label + ":thread"),
            "lastIssueEvent": events[-1],
        }
        if issue_id in self.config.issue_changes:
            issue, events = self._changed(issue, events, now)
        if not self.config.issue_device_field:
            del issue["deviceId"]
        return issue, events

    def change_issue(self, issue_id: str, at: int, **fields: Any) -> None:
        """From `at` on, the issue carries `fields` (e.g. causeId, cause, isArchived), as if a user
        edited it then: `modifiedTs` moves to `at` and an event records the change."""
        self.config.issue_changes[issue_id] = (at, fields)

    def _changed(self, issue: dict, events: list[dict], now: int) -> tuple[dict, list[dict]]:
        at, fields = self.config.issue_changes[issue["id"]]
        if now < at:
            return issue, events
        event = {
            **events[-1],
            "id": seeded_uuid(self.config.seed, f"{issue['id']}:changed:{at}"),
            "eventType": "ISSUE_UPDATED",
            "timestamp": at,
            "createdTs": at,
            "modifiedTs": at,
            "isCreatedByUser": True,
            "message": {"EN": {"subject": "issue updated", "content": ""}},
        }
        events = [*events, event]
        return {**issue, **fields, "modifiedTs": at, "lastIssueEvent": event}, events

    def _issue_events(
        self, issue_id: str, start: int, stop: int, now: int, closed: bool, archived: bool, label: str
    ) -> list[dict]:
        moments = [("ALERT_CREATED", start)]
        if start + 3600 <= min(now, stop):
            moments.append(("KANBAN_STAGE_CHANGED", start + 3600))
        if closed:
            moments.append(("ALERT_CLOSED", stop))
        if archived:
            moments.append(("ALERT_ARCHIVED", stop + 86_400))
        return [
            {
                "id": seeded_uuid(self.config.seed, f"{label}:{kind}"),
                "issueId": issue_id,
                "companyId": self.config.company_id,
                "eventType": kind,
                "timestamp": ts,
                "createdTs": ts,
                "modifiedTs": ts,
                "isCreatedByUser": kind == "ALERT_ARCHIVED",
                "message": {"EN": {"subject": kind.replace("_", " ").lower(), "content": ""}},
                "context": {},
            }
            for kind, ts in moments
        ]

    def issue(self, issue_id: str) -> dict:
        return self._find(issue_id)[0]

    def issue_events(self, issue_id: str) -> list[dict]:
        return self._find(issue_id)[1]

    def _find(self, issue_id: str) -> tuple[dict, list]:
        if issue_id in self._issue_origin:
            found = self._issue(*self._issue_origin[issue_id], self.now)
            if found is not None:
                return found
        for found in self._issues_with_events(CREATED_TS, self.now):
            if found[0]["id"] == issue_id:
                return found
        raise ApiError(404, f"issue {issue_id} not found", "NOT_FOUND")

    def statistics(self, start: int, stop: int) -> dict:
        """The doc's issue statistics over [start, stop], `previous*` from the period before."""
        issues = self.issues(start, stop)
        previous = self.issues(start - (stop - start), start - 1)
        closed = [i for i in issues if i["stopTs"] != OPEN_STOP_TS]
        group_of = {d.id: d.group for d in self.devices}
        measures = {"count": lambda i: 1, "cost": lambda i: i["cost"], "duration": self._duration}
        summary = {
            measure: {
                "cause": self._breakdown(issues, value, lambda i: (i["cause"] or "unknown", i["causeId"])),
                "group": self._breakdown(issues, value, lambda i: (group_of[i["deviceId"]], None)),
            }
            for measure, value in measures.items()
        }
        return {
            "globalSummary": {
                "totalAlert": len(issues),
                "mttr": sum(self._duration(i) for i in closed) / len(closed) if closed else 0,
                "previousTotalAlert": len(previous),
                "currency": "EUR",
                "totalCost": round(sum(i["cost"] for i in issues), 2),
            },
            "summary": summary,
            "graphs": self._graphs(start, stop),
        }

    def _duration(self, issue: dict) -> int:
        return min(issue["stopTs"], self.now) - issue["startTs"]

    def _breakdown(self, issues: list[dict], value: Any, key: Any) -> list[dict]:
        totals: dict[tuple, float] = {}
        for issue in issues:
            totals[key(issue)] = totals.get(key(issue), 0) + value(issue)
        field = self.config.statistics_cause_id_field
        return [
            {field: cid, "label": label, "value": round(v, 2)}
            for (label, cid), v in sorted(totals.items(), key=_by_label)
        ]

    def _graphs(self, start: int, stop: int) -> dict:
        """One point per UTC day of the window: the issues overlapping that day."""
        points: dict[str, list[dict]] = {"duration": [], "cost": [], "count": []}
        first_day = start - start % 86_400
        for day in range(first_day, stop + 1, 86_400):
            issues = self.issues(max(day, start), min(day + 86_399, stop))
            before = self.issues(day - (stop - start), day - (stop - start) + 86_399)
            duration, cost = sum(self._duration(i) for i in issues), round(sum(i["cost"] for i in issues), 2)
            points["count"].append(
                {"timestamp": day, "count": len(issues), "offlineCount": 0, "previousCount": len(before)}
            )
            points["cost"].append(
                {"timestamp": day, "cost": cost, "previousCost": round(sum(i["cost"] for i in before), 2)}
            )
            points["duration"].append(
                {
                    "timestamp": day,
                    "duration": duration,
                    "OfflineDuration": 0,
                    "previousDuration": sum(self._duration(i) for i in before),
                }
            )
        return points

    def kpis(self, only_overall: bool = False) -> dict:
        """Company uptime over the last 1..365 days and each device's daily data (times in s)."""
        overall = {"p1d": 99.0, "p7days": 98.5, "p30days": 98.0, "p90days": 97.5, "p365d": 97.0}
        if only_overall:
            return {"overall": overall}
        today = self.now - self.now % 86_400
        devices = []
        for device in self.devices:
            days = [self._daily_data(device, today - 86_400 * back, index) for index, back in enumerate((1, 0))]
            daily = days if self.config.kpi_daily_form == "list" else days[-1]
            devices.append({"deviceId": device.id, "dailyData": daily})
        return {"overall": overall, "devicesData": devices}

    def _daily_data(self, device: SimDevice, day: int, index: int) -> dict:
        """A device's uptime on one UTC day (today: up to `now`); offline devices are down all day."""
        elapsed = min(86_400, self.now - day)
        if device.status == "offline":
            up, down = 0, elapsed
        else:
            down = int(unit_draw(self.config.seed, f"downtime:{device.id}:{day}") * 1800)
            up = elapsed - down
        other = 600 if device.status == "alert" else 0
        return {
            "unixTimestamp": day,
            "upTime": up - other,
            "downTime": down,
            "uncodedTime": 0,
            "otherAlertsTime": other,
            "upTimePercent": round(100 * (up - other) / elapsed, 2) if elapsed else 0.0,
            "index": index,
        }

    def annotations(self, device: SimDevice) -> list[dict]:
        return [
            {
                "id": seeded_uuid(self.config.seed, f"annotation:{device.id}:{i}"),
                "companyId": self.config.company_id,
                "deviceId": device.id,
                "userId": "owner-1",
                "unixTimestamp": CREATED_TS + 86_400 * (10 + i),
                "title": title,
                "content": f"<p>{title} for {device.name}</p>",
            }
            for i, title in enumerate(("Installed", "Calibrated"))
        ]

    def data_views(self, device: SimDevice) -> list[dict]:
        """A shared default view per device, a personal one on the first; none on offline ones."""
        if device.status == "offline":
            return []
        metrics = [
            {"metricId": m, "display": METRICS[m].display, "displayCriteria": "raw", "yLabelPosition": "left"}
            for m in device.metrics
        ]
        graphs = [
            {
                "id": "g1",
                "title": "All metrics",
                "showGraph": True,
                "metrics": metrics,
                "positionGraph": 0,
                "graphWidth": 1,
            }
        ]
        views = [self._data_view(device, 0, "Default", graphs, "GROUP", "ALL")]
        if device.index == 0:
            temperature = [{**graphs[0], "id": "g2", "title": "Temperature", "metrics": metrics[:1]}]
            views.append(self._data_view(device, 1, "My temperature", temperature, "USER", "owner-1"))
        return views

    def _data_view(
        self, device: SimDevice, position: int, name: str, graphs: list[dict], share_type: str, share_value: str
    ) -> dict:
        return {
            "id": seeded_uuid(self.config.seed, f"dataview:{device.id}:{position}"),
            "companyId": self.config.company_id,
            "deviceId": device.id,
            "name": name,
            "graphs": graphs,
            "positionView": position,
            "showUnknownGraphs": position == 0,
            "shareType": share_type,
            "shareValue": share_value,
        }


def _by_label(item: tuple[tuple[str, str | None], float]) -> tuple[str, str]:
    (label, cause_id), _ = item
    return label, cause_id or ""


def _epoch_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(float(raw))
    except ValueError:
        raise ApiError(400, f"{name} must be epoch seconds") from None


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in ("true", "1", "yes")


def config_at(now: datetime) -> BagtowerSimulatorConfig:
    """The default company with the clock pinned at `now` (repeatable `make run`)."""
    return BagtowerSimulatorConfig(now=now.timestamp())


def create_app(config: BagtowerSimulatorConfig | None = None) -> Starlette:
    """The ASGI app; `app.state.simulator` exposes the simulated company to tests."""
    sim = BagtowerSimulator(config)

    def read(template: str, handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            if paths.endpoint_name(template) in sim.config.failing_endpoints:
                return Response("Internal Server Error", status_code=500, media_type="text/plain")
            try:
                sim.authorize(request.headers, request.path_params.get("companyId", ""))
                body = handler(request, request.path_params)
                empty = body == [] or (isinstance(body, dict) and len(body) == 1 and [] in body.values())
                if empty and sim.config.empty_form != "list":
                    return empty_response(sim.config.empty_form)  # an empty list of results, another way
                return JSONResponse(body)
            except ApiError as err:
                return JSONResponse(err.body(), status_code=err.status)

        return endpoint

    def issues(request: Request, p: dict) -> list[dict]:
        found = sim.issues(_epoch_param(request, "startts", 0), _epoch_param(request, "stopts", sim.now))
        if _flag(request, "active"):
            return [i for i in found if i["stopTs"] == OPEN_STOP_TS]
        if _flag(request, "closed"):
            found = [i for i in found if i["stopTs"] != OPEN_STOP_TS]
        return found if _flag(request, "archived") else [i for i in found if not i["isArchived"]]

    def logs(request: Request, p: dict) -> list[dict]:
        device = sim.device(p["id"])
        end = _epoch_param(request, "end", sim.now)
        start = _epoch_param(request, "start", end - 86_400)
        if end < start:
            raise ApiError(400, "end must not be before start")
        # The doc does not say whether `start`/`end` are inclusive: `log_bounds` serves each reading.
        bounds = sim.config.log_bounds
        return sim.logs(device, start + (bounds[0] == "("), end + (bounds[1] == "]"), _flag(request, "raw"))

    def by_id(items: list[dict], key: str, what: str) -> Any:
        def handler(request: Request, p: dict) -> dict:
            for item in items:
                if item["id"] == p[key]:
                    return item
            raise ApiError(404, f"{what} {p[key]} not found", "NOT_FOUND")

        return handler

    async def post_log(request: Request) -> Response:
        try:
            body = await request.json()
            device = sim.device(str(body.get("deviceId", "")))
            if request.headers.get("x-api-key") != sim.device_key(device.id):
                raise ApiError(403, "Forbidden")
            return JSONResponse(sim.push(device, body))
        except ApiError as err:
            return JSONResponse(err.body(), status_code=err.status)
        except ValueError:
            return JSONResponse(ApiError(400, "body is not JSON").body(), status_code=400)

    async def post_pool_log(request: Request) -> Response:
        try:
            if request.headers.get("x-api-key") != sim.config.pool_key:
                raise ApiError(403, "Forbidden")
            if request.headers.get("company-id") != sim.config.company_id:
                raise ApiError(403, "Forbidden")
            device = sim.device(request.headers.get("sensor-id", ""))
            if not device.pool:
                raise ApiError(400, f"device {device.id} does not belong to the pool")
            return JSONResponse(sim.push(device, await request.json()))
        except ApiError as err:
            return JSONResponse(err.body(), status_code=err.status)
        except ValueError:
            return JSONResponse(ApiError(400, "body is not JSON").body(), status_code=400)

    reads = {
        paths.COMPANY: lambda r, p: sim.company(),
        paths.DEVICES: lambda r, p: {"Items": [sim.device_json(d) for d in sim.devices]},
        paths.DEVICE: lambda r, p: sim.device_json(sim.device(p["id"])),
        paths.DEVICE_KEY: lambda r, p: {
            "id": f"key-{sim.device(p['id']).index}",
            "name": "device key",
            "value": sim.device_key(p["id"]),
            "enabled": True,
        },
        paths.DEVICE_LOGS: logs,
        paths.DEVICE_ISSUES: lambda r, p: sim.issues(CREATED_TS, sim.now, sim.device(p["id"]).id),
        paths.ANNOTATIONS: lambda r, p: sim.annotations(sim.device(p["deviceId"])),
        paths.DATA_VIEWS: lambda r, p: sim.data_views(sim.device(p["deviceId"])),
        paths.GROUPS: lambda r, p: {"groups": sorted({d.group for d in sim.devices})},
        paths.MONITORS: lambda r, p: [sim.monitor_json(m) for m in sim.monitors],
        paths.MONITOR: lambda r, p: by_id([sim.monitor_json(m) for m in sim.monitors], "id", "monitor")(r, p),
        paths.ISSUES: issues,
        paths.ISSUE_STATISTICS: lambda r, p: sim.statistics(
            _epoch_param(r, "startts", sim.now - 30 * 86_400), _epoch_param(r, "stopts", sim.now)
        ),
        paths.ISSUE: lambda r, p: sim.issue(p["id"]),
        paths.ISSUE_EVENTS: lambda r, p: sim.issue_events(p["id"]),
        paths.CAUSES: lambda r, p: sim.causes,
        paths.CAUSE: by_id(sim.causes, "causeId", "cause"),
        paths.SOLUTIONS: lambda r, p: sim.solutions,
        paths.SOLUTION: by_id(sim.solutions, "solutionId", "solution"),
        paths.KANBAN_STAGES: lambda r, p: sim.kanban_stages(),
        paths.KPIS: lambda r, p: sim.kpis(only_overall="only_overall" in r.query_params),
    }
    routes = [Route(paths.BASE_PATH + path, read(path, handler), methods=["GET"]) for path, handler in reads.items()]
    routes.append(Route(paths.BASE_PATH + paths.LOGS, post_log, methods=["POST"]))
    routes.append(Route(paths.BASE_PATH + paths.POOL_LOGS, post_pool_log, methods=["POST"]))
    app = Starlette(routes=routes)
    app.state.simulator = sim
    return app
