"""The Primayer simulator's fleet: loggers in Enigma groups, their leaks and noise histograms as a
pure function of (seed, serial, time), and the config's switches. The HTTP side (the eight
methods, errors, CSV reports) is `simulator.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.simulation.noise import label_hash
from pipelines.simulation.noise import unit_noise as hashed_noise

TOKEN = "3f2b8c1e-7d4a-4e2b-9c6f-0a1b2c3d4e5f"
TIMEZONE = "Europe/London"
GROUP_NAMES = ("Enigma Harbour", "Enigma Hill Road", "Enigma Mill Lane")


@dataclass(frozen=True)
class SimLogger:
    serial: str
    group_id: int
    index: int  # position in the fleet, drives its bin count and noise
    latitude: float
    longitude: float
    leaking: bool


@dataclass
class PrimayerSimulatorConfig:
    seed: int = 7
    token: str = TOKEN
    timezone: str = TIMEZONE
    groups: int = 3
    loggers_per_group: int = 4
    epoch_interval_min: int = 120
    histograms_per_epoch: int = 4
    histogram_samples: int = 600
    signal_interval_h: int = 6
    audio_seconds: float = 2.0
    audio_sample_rate_hz: int = 4000
    audio_as_base64: bool = False
    leak_date_field: str = "timestamp"  # the doc's example; "date" is its schema
    leak_ids_as_numbers: bool = True  # the doc's example; False gives strings as in its schema
    malformed: bool = False  # negative and empty bins, a bad timestamp, audio out of byte range
    # The first logger's logger/info/signal answers carry the second logger's serial (a mix-up).
    answers_for_other_serial: bool = False
    empty_form: str = "list"  # how an empty result is answered: one of EMPTY_FORMS
    duplicate_histogram: bool = False  # the fleet's first logger serves its first histogram twice
    force_status: int | None = None  # answer every request with this status (error tests)


def build_fleet(config: PrimayerSimulatorConfig) -> list[SimLogger]:
    """Loggers in Enigma groups; group 0 leaks between its loggers 1 and 2, group 2 between 0 and 1."""
    leaking = {(0, 1), (0, 2), (2, 0), (2, 1)}
    loggers = []
    for g in range(config.groups):
        for i in range(config.loggers_per_group):
            index = g * config.loggers_per_group + i
            loggers.append(
                SimLogger(
                    serial=str(300101 + 100 * g + i),
                    group_id=1001 + g,
                    index=index,
                    latitude=round(51.45 + 0.01 * g + 0.002 * i, 6),
                    longitude=round(-2.58 + 0.015 * g - 0.003 * i, 6),
                    leaking=(g, i) in leaking,
                )
            )
    return loggers


def group_leaks(config: PrimayerSimulatorConfig, loggers: list[SimLogger], group_id: int) -> list[tuple]:
    """(left, right, distance m) of every leak of a group: consecutive leaking loggers."""
    members = [lg for lg in loggers if lg.group_id == group_id and lg.leaking]
    return [(a, b, 80.0 + 23.5 * a.index) for a, b in zip(members, members[1:], strict=False)]


def unit_noise(seed: int, salt: str, t: np.ndarray) -> np.ndarray:
    """Uniform [0, 1) per (seed, salt, t)."""
    return hashed_noise(label_hash(f"{seed}:{salt}"), t)


def bin_count(logger: SimLogger) -> int:
    """10 to 64 bins, depending on the logger."""
    return 10 + (logger.index * 13) % 55


def histogram_counts(config: PrimayerSimulatorConfig, logger: SimLogger, t: np.ndarray) -> np.ndarray:
    """Bin counts (len(t) x bins) at Unix seconds `t`: quiet loggers spread low, leaking ones narrow and high."""
    n = bin_count(logger)
    level = np.linspace(0.0, 1.0, n)
    if logger.leaking:
        mu, sigma = 0.72 + 0.04 * unit_noise(config.seed, f"{logger.serial}:mu", t), 0.05
    else:
        mu, sigma = 0.18 + 0.08 * unit_noise(config.seed, f"{logger.serial}:mu", t), 0.2
    shape = np.exp(-0.5 * ((level[None, :] - mu[:, None]) / sigma) ** 2)
    shape /= shape.sum(axis=1, keepdims=True)
    cells = (t[:, None] * 64 + np.arange(n)[None, :]).astype(np.uint64)
    jitter = unit_noise(config.seed, f"{logger.serial}:bins", cells.ravel()).reshape(cells.shape)
    return np.floor(shape * config.histogram_samples + jitter).astype(np.int64)


def local_strings(seconds: np.ndarray, zone: str, fmt: str = "%Y-%m-%d %H:%M") -> list[str]:
    """Unix seconds to zone-less local time strings, as the service writes them."""
    series = pl.Series(seconds.astype(np.int64))
    return (
        pl.select(pl.from_epoch(series, time_unit="s").dt.replace_time_zone("UTC").dt.convert_time_zone(zone))
        .to_series()
        .dt.strftime(fmt)
        .to_list()
    )
