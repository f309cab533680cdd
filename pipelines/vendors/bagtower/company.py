"""The simulated Bagtower company: its devices' documents, generated and pushed logs, KPIs, and
the issues its monitors raise (`issue_history.py`), all drawn from the fleet (`fleet.py`) at the
simulator's clock. The HTTP side (routes, keys, parameters) is `simulator.py`.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import numpy as np
import polars as pl

from pipelines.simulation.noise import unit_noise
from pipelines.vendors.bagtower.fleet import (
    AGGREGATES,
    CAUSES,
    CREATED_TS,
    KANBAN_STAGES,
    METRICS,
    SOLUTIONS,
    SUMMARY_BUCKET_S,
    BagtowerSimulatorConfig,
    SimDevice,
    SimMonitor,
    build_fleet,
    hash_int,
    seeded_uuid,
    unit_draw,
)
from pipelines.vendors.bagtower.issue_history import IssueHistory


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
        self.issue_history = IssueHistory(
            self.config, self.devices, self.monitors, self.causes, self.solutions, clock=lambda: self.now
        )

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

    # -- issues (`issue_history.py`) ------------------------------------------------------------
    def issues(self, start: int, stop: int, device_id: str | None = None) -> list[dict]:
        return self.issue_history.issues(start, stop, device_id)

    def issue(self, issue_id: str) -> dict:
        return self._found(issue_id)[0]

    def issue_events(self, issue_id: str) -> list[dict]:
        return self._found(issue_id)[1]

    def _found(self, issue_id: str) -> tuple[dict, list]:
        found = self.issue_history.find(issue_id)
        if found is None:
            raise ApiError(404, f"issue {issue_id} not found", "NOT_FOUND")
        return found

    def change_issue(self, issue_id: str, at: int, **fields: Any) -> None:
        self.issue_history.change_issue(issue_id, at, **fields)

    def statistics(self, start: int, stop: int) -> dict:
        return self.issue_history.statistics(start, stop)

    # -- KPIs and per-device documents ---------------------------------------------------------
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
