"""The Bagtower simulator's issues: what the monitors raise on the fleet as of the simulator's
clock, their events, later edits (`change_issue`), and the issue statistics derived from them.

An issue is a pure function of (seed, device, monitor, slot) and the clock: at most one per
(device, monitor) pair and `SLOT_S` slot, open until its drawn stop, closed (and perhaps
archived a day later) after it. The HTTP side is `simulator.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipelines.vendors.bagtower.fleet import (
    CAUSES,
    CREATED_TS,
    MAX_ISSUE_S,
    OPEN_STOP_TS,
    SLOT_S,
    BagtowerSimulatorConfig,
    SimDevice,
    SimMonitor,
    monitor_watches,
    seeded_uuid,
    unit_draw,
)


class IssueHistory:
    """Issues of one simulated company; `clock` gives the simulator's `now` (epoch seconds)."""

    def __init__(
        self,
        config: BagtowerSimulatorConfig,
        devices: list[SimDevice],
        monitors: list[SimMonitor],
        causes: list[dict],
        solutions: list[dict],
        clock: Callable[[], int],
    ) -> None:
        self.config, self.devices, self.monitors = config, devices, monitors
        self.causes, self.solutions = causes, solutions
        self._clock = clock
        # Where each issue served so far comes from, so one issue is found without a full scan.
        self._issue_origin: dict[str, tuple[SimDevice, SimMonitor, int]] = {}

    @property
    def now(self) -> int:
        return self._clock()

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

    def find(self, issue_id: str) -> tuple[dict, list] | None:
        """The issue and its events, or None when no monitor raised it (so far)."""
        if issue_id in self._issue_origin:
            found = self._issue(*self._issue_origin[issue_id], self.now)
            if found is not None:
                return found
        for found in self._issues_with_events(CREATED_TS, self.now):
            if found[0]["id"] == issue_id:
                return found
        return None

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


def _by_label(item: tuple[tuple[str, str | None], float]) -> tuple[str, str]:
    (label, cause_id), _ = item
    return label, cause_id or ""
