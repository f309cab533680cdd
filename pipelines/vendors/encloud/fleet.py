"""The enCloud simulator's fleet and accounts: routers per customer, their check-ins and sensor
values as a pure function of (seed, device, key, report time), and the config's switches. The
HTTP side (authorisation, the device pull, users and hot links) is `simulator.py`.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

API_USER_EMAIL = "api.user@encloud-sim.test"
API_USER_PASSWORD = "encloud-sim-password"
API_KEY = "30e087a1db41aca5942f6ae72f10db3facc409ed"
CUSTOMERS = ("SDK15", "YRK15", "BRD15")
DEFAULT_KEYS = "cell.rssi,cell.rsrq,cell.uptime,system.uptime,cell2.status"

STATES = ("Registered", "Waiting For Response", "Passive", "Expired")
LIMITS = (10, 25, 50, 100, -1)
LINK_STATUSES = ("connected", "searching", "disconnected", "no_sim")
KNOWN_KEYS = (
    "cell.rssi",
    "cell.rsrq",
    "cell.uptime",
    "cell.status",
    "cell2.rssi",
    "cell2.rsrq",
    "cell2.uptime",
    "cell2.status",
    "system.uptime",
)
FLEET_EPOCH = 1_483_228_800  # 2017-01-01: devices were added to inventory from then on


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - the vendor's scheme, not ours


def _unit(*parts: object) -> float:
    """Uniform [0, 1) from a hash of the parts: the simulator's only source of variation."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:7], "big") / float(1 << 56)


@dataclass(frozen=True)
class SimDevice:
    uid: str
    customer_id: str
    index: int
    sim_id: str
    latitude: float
    longitude: float
    location_string: str
    frequency_s: int
    created_at: int
    updated_at: int
    state: str
    stopped_at: int | None  # Passive/Expired devices stopped reporting then
    has_second_modem: bool


@dataclass
class SimUser:
    email: str
    name: str
    user_type: str  # API_USER, ADMIN or VIEWER
    password_md5: str = ""
    customer_id: str | None = None


@dataclass
class EncloudSimulatorConfig:
    seed: int = 5
    devices_per_customer: int = 120
    api_key: str = API_KEY
    token_lifetime_s: float = 3600.0
    token_max_uses: int | None = None  # the token goes stale after this many authorised requests
    default_limit: int = 25  # the API User's setting, used when `limit` is not given
    malformed: bool = False  # a few devices answer cell.rssi "n/a" and an unknown cell2.status
    empty_form: str = "list"  # no device: the full answer with `devices: []`, or `{}`/`null`/`""`/204
    timestamp_form: str = "epoch_s"  # one of TIMESTAMP_FORMS, or "mixed" (a form per device)


TIMESTAMP_FORMS = ("epoch_s", "epoch_ms", "iso_z", "iso_offset")
_OFFSET = timezone(timedelta(hours=-3, minutes=-30))  # a :30 offset, so a wrong sign or unit shows


def format_timestamp(seconds: int | None, form: str) -> int | str | None:
    """A Unix time in one of the forms the doc leaves open."""
    if seconds is None:
        return None
    moment = datetime.fromtimestamp(seconds, UTC)
    forms: dict[str, int | str] = {
        "epoch_s": seconds,
        "epoch_ms": seconds * 1000,
        "iso_z": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "iso_offset": moment.astimezone(_OFFSET).isoformat(),
    }
    return forms[form]


def build_fleet(config: EncloudSimulatorConfig) -> list[SimDevice]:
    devices = []
    for c_index, customer in enumerate(CUSTOMERS):
        for d in range(config.devices_per_customer):
            i = c_index * config.devices_per_customer + d
            u = [_unit(config.seed, "device", i, n) for n in range(8)]
            created = FLEET_EPOCH + int(u[0] * 8 * 365 * 86_400) // 60 * 60
            state = STATES[0] if u[1] < 0.8 else STATES[1 + int((u[1] - 0.8) / 0.2 * 3)]
            stopped = created + 30 * 86_400 + int(u[2] * 365 * 86_400) if state in ("Passive", "Expired") else None
            devices.append(
                SimDevice(
                    uid=f"00A0EB{int(u[3] * 0xFFF) * 0x1000 + i:06X}",  # unique for up to 4096 devices
                    customer_id=customer,
                    index=i,
                    sim_id=f"8901260{int(u[4] * 1e12):012d}",
                    latitude=round(40.0 + c_index * 3 + u[5] * 2, 6),
                    longitude=round(-75.0 + c_index * 2 + u[6] * 2, 6),
                    location_string=f"{100 + d} Main Street, Site {customer}-{d:03d}",
                    frequency_s=(300, 600, 900)[i % 3],
                    created_at=created,
                    updated_at=created + int(u[7] * 90 * 86_400),
                    state=state,
                    stopped_at=stopped,
                    has_second_modem=i % 4 != 0,
                )
            )
    return devices


def last_report(device: SimDevice, seed: int, at: int) -> int | None:
    """The device's last check-in at or before `at`, or None if it never reported by then."""
    if device.state == "Waiting For Response" or at < device.created_at:
        return None
    end = min(at, device.stopped_at) if device.stopped_at is not None else at
    phase = device.index * 37 % device.frequency_s
    report = end - (end - phase) % device.frequency_s
    day_start = end - end % 86_400
    if _unit(seed, "outage", device.index, day_start) < 0.1:  # some days it is offline from 21:00
        report = min(report, day_start + 21 * 3600 - (day_start + 21 * 3600 - phase) % device.frequency_s)
    return report if report >= device.created_at else None


def key_value(device: SimDevice, seed: int, key: str, t: int, malformed: bool = False) -> float | int | str | None:
    """The value of `key` on `device` at report time `t` (JSON number, status text or null)."""
    modem, _, quantity = key.partition(".")
    if modem == "cell2" and not device.has_second_modem:
        return None
    day = t / 86_400
    u = _unit(seed, device.index, key, t)
    if malformed and device.index % 29 == 3:
        return "n/a" if quantity == "rssi" else ("rebooting" if quantity == "status" else None)
    if quantity == "rssi":
        return round(-85 + 10 * math.sin(2 * math.pi * (day + device.index / 17)) + 6 * (2 * u - 1))
    if quantity == "rsrq":
        return round(-11 + 3 * math.sin(2 * math.pi * (day + device.index / 11)) + 2 * (2 * u - 1), 1)
    if quantity == "uptime":
        period = 86_400 * (7 if modem == "system" else 2) + device.index * 613
        return (t - device.created_at) % period
    if quantity == "status":
        return LINK_STATUSES[0] if u < 0.85 else LINK_STATUSES[1 + int((u - 0.85) / 0.15 * 3)]
    return None
