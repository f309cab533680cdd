"""The BAXO simulator's fleet: contracts, devices and their tags, tag values as a pure function of
(seed, device, tag, timestamp), and the config's switches. The HTTP side (`/k1`, its services,
authentication, paging) is `simulator.py`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, get_args

import numpy as np
import polars as pl

from pipelines.simulation.noise import label_hash, unit_noise

PAGE_ROWS = 10_000
USERNAME = "ops@baxo-sim.test"
PASSWORD = "baxo-sim-password"


@dataclass(frozen=True)
class TagModel:
    """How one tag's values evolve: a daily wave plus noise, a counter, or a rare event."""

    reference: str
    kind: str  # wave | counter | event | drain
    base: float
    amplitude: float = 0.0
    noise: float = 0.0
    decimals: int = 2


TAG_MODELS = {
    t.reference: t
    for t in (
        TagModel("TEMP_1", "wave", base=12.0, amplitude=4.0, noise=0.3, decimals=2),
        TagModel("PRES_1", "wave", base=3.2, amplitude=0.4, noise=0.05, decimals=3),
        TagModel("CPT_1", "counter", base=10_000.0, amplitude=3.0, decimals=0),
        TagModel("BATT", "drain", base=3.65, noise=0.005, decimals=3),
        TagModel("ALARM_1", "event", base=0.02, decimals=0),
        # Not in the baxo_tag_metrics seed: an installation adds tags the pipeline does not know yet.
        TagModel("HUMID_1", "wave", base=60.0, amplitude=15.0, noise=1.0, decimals=1),
    )
}
UNKNOWN_TAG = "HUMID_1"
CORRECTION = 0.5  # how much higher a corrected value is (`corrected_values`)
# Where a corrected value comes (`BaxoSimulatorConfig.corrected_values`); "": none comes.
CorrectedValues = Literal["", "next_to", "at_end"]

TIMEZONES = (
    "UTC",
    "(UTC+01:00) Bruxelles, Copenhague, Madrid, Paris",
    "(UTC+01:00) Amsterdam, Berlin, Berne, Rome, Stockholm, Vienne",
    "(UTC) Dublin, Édimbourg, Lisbonne, Londres",
)


@dataclass(frozen=True)
class SimDevice:
    id: str
    name: str
    details: str
    status: int  # 0 active, 1 inactive (logs nothing), 2 suspended
    timezone: str
    contract_id: str
    tags: tuple[str, ...]
    interval_s: int
    index: int


@dataclass(frozen=True)
class SimContract:
    id: str
    reference: str
    company: str
    details: str
    contact_email: str


@dataclass
class BaxoSimulatorConfig:
    seed: int = 7
    devices_per_contract: int = 3
    interval_s: int = 300
    username: str = USERNAME
    password: str = PASSWORD
    api_enabled: bool = True
    malformed: bool = False  # corrupt a few TEMP_1 records: "#ERR" values and null timestamps
    unknown_tag: bool = False  # the first device also logs UNKNOWN_TAG, a tag no seed maps
    # the first device's TEMP_1 sends each hour's value twice, the second CORRECTION higher:
    # "next_to" the first, in the same group, or "at_end", a group of its own after every other
    # series of the walk (so on a later page); "": never. Pages count the copies as rows.
    corrected_values: CorrectedValues = ""
    page_rows: int = PAGE_ROWS
    empty_form: str = "list"  # an empty result: `{key: []}`, `{}`, `null`, `""` or 204 (EMPTY_FORMS)
    time_bounds: str = "[]"  # startTime/endTime inclusive "[" or exclusive "(" / ")": "[]", "[)", "(]", "()"
    page_overlap: int = 0  # historics pages after the first repeat this many rows of the one before
    endless_pages: bool = False  # historics keep giving a `next` page (empty) past the last one
    wrong_device: bool = False  # `get=device` for a contract's first device answers with its second
    extra_devices: list[SimDevice] = field(default_factory=list)
    now: datetime | None = None  # the clock of real-time values (`make run` pins it); None: the wall clock

    def __post_init__(self) -> None:
        # A mistyped form would silently serve no corrections, and a test of them would test nothing.
        if self.corrected_values not in get_args(CorrectedValues):
            raise ValueError(
                f"corrected_values must be one of {get_args(CorrectedValues)}, got {self.corrected_values!r}"
            )


def _uuid(seed: int, label: str) -> str:
    h = hashlib.sha256(f"{seed}:{label}".encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def build_fleet(config: BaxoSimulatorConfig) -> tuple[list[SimContract], list[SimDevice]]:
    contracts = [
        SimContract(_uuid(config.seed, "CT001"), "CT001", "Contonso", "Contonso .Inc Contract", "admin@contonso.test"),
        SimContract(_uuid(config.seed, "MI001"), "MI001", "Mira", "Mira Contract", "it@mira.test"),
    ]
    devices: list[SimDevice] = []
    tag_sets = (("TEMP_1", "PRES_1", "BATT", "ALARM_1"), ("TEMP_1", "CPT_1", "BATT"), ("PRES_1", "CPT_1", "ALARM_1"))
    for c_index, contract in enumerate(contracts):
        for d in range(config.devices_per_contract):
            i = c_index * config.devices_per_contract + d
            devices.append(
                SimDevice(
                    id=str(int(hashlib.sha256(f"{config.seed}:dev{i}".encode()).hexdigest()[:8], 16)),
                    name=f"{contract.reference}-LOG{d + 1:02d}",
                    details=f"Enregistreur {d + 1} du contrat {contract.reference}",
                    status=(0, 0, 2, 0, 1, 0)[i % 6],
                    timezone=TIMEZONES[i % len(TIMEZONES)],
                    contract_id=contract.id,
                    tags=tag_sets[i % len(tag_sets)] + ((UNKNOWN_TAG,) if config.unknown_tag and i == 0 else ()),
                    interval_s=config.interval_s,
                    index=i,
                )
            )
    devices.extend(config.extra_devices)
    return contracts, devices


def tag_noise(seed: int, device: int, tag: str, t: np.ndarray) -> np.ndarray:
    """Uniform [0, 1) per (seed, device, tag, t)."""
    return unit_noise(label_hash(f"{seed}:{device}:{tag}"), t)


def tag_values(seed: int, device: SimDevice, tag: str, t: np.ndarray) -> pl.Series:
    """The values (as BAXO's strings) of `tag` on `device` at 2000-epoch seconds `t`."""
    model = TAG_MODELS[tag]
    u = tag_noise(seed, device.index, tag, t)
    day = t / 86_400.0
    if model.kind == "wave":
        x = model.base + model.amplitude * np.sin(2 * np.pi * (day - 0.3)) + model.noise * (2 * u - 1)
    elif model.kind == "counter":  # a volume index: never decreases, faster by day than by night
        x = np.floor(
            model.base + model.amplitude * (t / device.interval_s) + 50 * (day - np.sin(2 * np.pi * day) / (2 * np.pi))
        )
    elif model.kind == "drain":  # a battery losing about 0.1 V a year
        x = model.base - 0.1 * (day - 9_000) / 365 + model.noise * (2 * u - 1)
    else:
        x = (u < model.base).astype(np.float64)
    series = pl.Series("value", x).round(model.decimals)
    return series.cast(pl.Int64).cast(pl.String) if model.decimals == 0 else series.cast(pl.String)
