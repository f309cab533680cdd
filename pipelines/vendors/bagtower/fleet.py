"""The Bagtower simulator's fleet: devices, their metrics and monitors, the issue catalog, and
the seeded noise everything is drawn from. The company's documents, logs and KPIs derived from
the fleet are `company.py`, its issues and statistics `issue_history.py`, the HTTP side
`simulator.py`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from pipelines.simulation.noise import label_hash

COMPANY_ID = "bagtower-sim-company"
API_KEY = "bt-sim-company-key-4f1c9e"
POOL_KEY = "bt-sim-pool-key-8d2b71"
OPEN_STOP_TS = 9876543210  # the doc's stopTs of an issue still open
SUMMARY_BUCKET_S = 3600
SLOT_S = 2 * 86_400  # each (device, monitor) pair may raise one issue per slot
MAX_ISSUE_S = 3 * 86_400 + 600
CREATED_TS = 1_748_736_000  # 2025-06-01T00:00:00Z, creation of the simulated fleet


@dataclass(frozen=True)
class MetricModel:
    id: str
    display: str  # number | percent | enum
    kind: str  # wave | drain | toggle
    base: float
    amplitude: float = 0.0
    noise: float = 0.0
    decimals: int = 2


METRICS = {
    m.id: m
    for m in (
        MetricModel("temperature", "number", "wave", base=4.0, amplitude=1.5, noise=0.3),
        MetricModel("humidity", "percent", "wave", base=70.0, amplitude=8.0, noise=2.0, decimals=1),
        MetricModel("battery_voltage", "number", "drain", base=3.6, noise=0.004, decimals=3),
        MetricModel("door_open", "enum", "toggle", base=0.08, decimals=0),
    )
}
AGGREGATES = ("std", "min", "median", "max", "mean", "sum")


@dataclass(frozen=True)
class SimDevice:
    id: str
    name: str
    group: str
    tags: tuple[str, ...]
    period: int
    timezone: str
    status: str
    metrics: tuple[str, ...]
    index: int
    pool: bool = False


@dataclass(frozen=True)
class SimMonitor:
    id: str
    name: str
    metric: str
    attachment_type: str  # DEVICE | GROUP | TAG
    attachment_value: str
    fixed_cost: float
    cost_per_minute: float
    probability: float  # chance of an issue per device and slot


CAUSES = ("Compressor failure", "Door left open", "Power outage", "Sensor fault")
SOLUTIONS = ("Compressor repaired", "Staff reminded", "Battery replaced", "Sensor replaced")
KANBAN_STAGES = (("new", "New"), ("in_progress", "In progress"), ("resolved", "Resolved"))


@dataclass
class BagtowerSimulatorConfig:
    seed: int = 11
    api_key: str = API_KEY
    pool_key: str = POOL_KEY
    company_id: str = COMPANY_ID
    now: float | None = None  # the simulator's clock (epoch s); None follows the real clock
    malformed: bool = False  # the first device's hourly temperature `max` loses its last `y`
    log_bounds: str = "[)"  # device logs' start/end inclusive "[", "]" or exclusive "(", ")"
    empty_form: str = "list"  # an empty list of results: `[]`, `{}`, `null`, `""` or 204 (EMPTY_FORMS)
    issue_device_field: bool = True  # False serves issues exactly as documented (no deviceId)
    extra_devices: list[SimDevice] = field(default_factory=list)
    statistics_cause_id_field: str = "casueid"  # the doc's spelling; a fixed service may send `causeId`
    kpi_daily_form: str = "object"  # `dailyData` as documented ("object") or as a list of days ("list")
    failing_endpoints: tuple[str, ...] = ()  # endpoint names (paths.endpoint_name) answering 500
    # Changes made to issues after they were generated: issue id -> (instant, fields changed).
    issue_changes: dict[str, tuple[int, dict]] = field(default_factory=dict)
    issues_since: int = CREATED_TS  # no issue starts earlier (tests shorten the history a re-sync lands)


def hash_int(seed: int, label: str) -> int:
    return label_hash(f"{seed}:{label}")


def unit_draw(seed: int, label: str) -> float:
    return hash_int(seed, label) / float(1 << 60)


def seeded_uuid(seed: int, label: str) -> str:
    h = hashlib.sha256(f"{seed}:{label}".encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def build_fleet(seed: int) -> tuple[list[SimDevice], list[SimMonitor]]:
    groups = ("north", "north", "south", "south", "lab")
    tag_sets = (
        ("cold-room", "mains"),
        ("cold-room", "battery-powered"),
        ("freezer", "battery-powered"),
        ("freezer",),
        ("lab",),
    )
    periods = (300, 300, 600, 300, 900)
    zones = ("Europe/Paris", "Europe/Paris", "Europe/Brussels", "UTC", "America/New_York")
    statuses = ("ok", "alert", "ok", "ok", "offline")
    metric_sets = (
        ("temperature", "humidity", "door_open"),
        ("temperature", "battery_voltage"),
        ("temperature", "humidity", "battery_voltage", "door_open"),
        ("temperature", "door_open"),
        ("temperature", "humidity"),
    )
    devices = [
        SimDevice(
            id=seeded_uuid(seed, f"device{i}"),
            name=f"{groups[i].title()} unit {i + 1}",
            group=groups[i],
            tags=tag_sets[i],
            period=periods[i],
            timezone=zones[i],
            status=statuses[i],
            metrics=metric_sets[i],
            index=i,
            pool=i == 3,
        )
        for i in range(5)
    ]
    monitors = [
        SimMonitor(
            seeded_uuid(seed, "monitor-temp"), "High temperature", "temperature", "GROUP", "north", 50.0, 0.5, 0.35
        ),
        SimMonitor(
            seeded_uuid(seed, "monitor-battery"),
            "Low battery",
            "battery_voltage",
            "TAG",
            "battery-powered",
            10.0,
            0.0,
            0.25,
        ),
        SimMonitor(
            seeded_uuid(seed, "monitor-door"), "Door left open", "door_open", "DEVICE", devices[3].id, 0.0, 1.2, 0.4
        ),
    ]
    return devices, monitors


def monitor_watches(monitor: SimMonitor, device: SimDevice) -> bool:
    if monitor.metric not in device.metrics:
        return False
    if monitor.attachment_type == "DEVICE":
        return device.id == monitor.attachment_value
    if monitor.attachment_type == "GROUP":
        return device.group == monitor.attachment_value
    return monitor.attachment_value in device.tags
