"""Deterministic noise for the simulators: any instant of any series can be served again, the same."""

from __future__ import annotations

import hashlib

import numpy as np


def label_hash(label: str) -> int:
    """A stable 60-bit integer for a text label (a series' identity: seed, device, tag...)."""
    return int(hashlib.sha256(label.encode()).hexdigest()[:15], 16)


def unit_noise(salt: int, t: np.ndarray) -> np.ndarray:
    """Uniform [0, 1) per (salt, t): a splitmix64 hash, vectorized."""
    with np.errstate(over="ignore"):
        z = t.astype(np.uint64) + np.uint64(salt)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)
