"""Correlator audio: bytes to WAV files and one row of statistics per clip.

The doc only says `audio: [byte]`. Assumed (settings of `PrimayerResource`): mono, unsigned
8-bit PCM (a .NET `byte` is 0..255, silence at 128), `audio_sample_rate_hz` samples a second
(default 4000). The .NET service may serialize the bytes as a base64 string rather than an
integer array; both are read.
"""

from __future__ import annotations

import base64
import binascii
import wave
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import numpy as np
import polars as pl

from pipelines.landing import Staged, landing_store
from pipelines.settings import data_dir
from pipelines.validation import as_quarantine

DEFAULT_SAMPLE_RATE_HZ = 4000


@dataclass
class DecodedClips:
    clips: pl.DataFrame  # group_id, serial, timestamp_local, samples as bytes
    quarantined: pl.DataFrame  # record, reason
    audio: list[np.ndarray] = field(default_factory=list)  # uint8 samples, one per row of `clips`


def _samples(audio: object) -> tuple[np.ndarray | None, str | None]:
    """One clip's bytes from an integer array or a base64 string, or the reason it is unreadable."""
    if isinstance(audio, str):
        try:
            return np.frombuffer(base64.b64decode(audio, validate=True), dtype=np.uint8), None
        except (binascii.Error, ValueError):
            return None, "audio is not valid base64"
    if not isinstance(audio, list) or not audio:
        return None, "audio is empty or not a byte array"
    try:
        values = np.asarray(audio, dtype=np.int64)
    except (TypeError, ValueError):
        return None, "audio holds non-integer values"
    if values.ndim != 1 or values.min() < 0 or values.max() > 255:
        return None, "audio out of byte range 0..255"
    return values.astype(np.uint8), None


def decode_clips(clips: list[dict], group_id: int) -> DecodedClips:
    """Decode each clip's bytes (numpy over its samples; one step per clip, never per sample)."""
    good_rows, bad_rows, audio = [], [], []
    for clip in clips:
        samples, reason = _samples(clip.get("audio"))
        row = {
            "group_id": group_id,
            "serial": _text(clip.get("logger")),
            "timestamp_local": _text(clip.get("timestamp")),
        }
        if samples is None:
            shown = clip.get("audio")
            shown = shown[:20] if isinstance(shown, list | str) else shown
            bad_rows.append({**row, "audio_head": str(shown), "reason": reason})
        else:
            good_rows.append(row)
            audio.append(samples)
    schema = {"group_id": pl.Int64, "serial": pl.String, "timestamp_local": pl.String}
    bad = pl.DataFrame(bad_rows, schema={**schema, "audio_head": pl.String, "reason": pl.String})
    quarantined = as_quarantine(bad, pl.col("reason"), leave_out=["reason"])
    return DecodedClips(pl.DataFrame(good_rows, schema=schema), quarantined, audio)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def clip_statistics(audio: list[np.ndarray], sample_rate_hz: int) -> pl.DataFrame:
    """samples, duration, RMS and peak (of samples centred on 128, scaled to [-1, 1)) and the
    dominant frequency (the largest non-DC FFT bin); clips of equal length share one FFT call."""
    n = len(audio)
    lengths = np.array([len(a) for a in audio], dtype=np.int64)
    rms, peak, dominant = np.zeros(n), np.zeros(n), np.zeros(n)
    if n:
        centred = (np.concatenate(audio).astype(np.float64) - 128.0) / 128.0
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        rms = np.sqrt(np.add.reduceat(centred**2, starts) / lengths)
        peak = np.maximum.reduceat(np.abs(centred), starts)
        for length in np.unique(lengths):  # one batch per distinct clip length
            rows = np.flatnonzero(lengths == length)
            block = np.stack([centred[starts[r] : starts[r] + length] for r in rows])
            spectrum = np.abs(np.fft.rfft(block - block.mean(axis=1, keepdims=True), axis=1))
            spectrum[:, 0] = 0.0
            dominant[rows] = np.argmax(spectrum, axis=1) * sample_rate_hz / length
    return pl.DataFrame(
        {
            "sample_count": lengths,
            "sample_rate_hz": np.full(n, sample_rate_hz, dtype=np.int64),
            "duration_s": lengths / sample_rate_hz,
            "rms": rms,
            "peak": peak,
            "dominant_frequency_hz": dominant,
        }
    )


def audio_key(partition_date: str) -> str:
    return f"audio/primayer/date={partition_date}"


def audio_dir(partition_date: str) -> Path:
    """The day's WAV folder when landing is on the local disk."""
    return data_dir() / audio_key(partition_date)


class WavPartition:
    """Stages a partition's WAV files and publishes them whole on a clean exit (a folder swap on
    disk, a manifest on an object store: `landing_store()`), so a re-run replaces the day's clips
    and readers never see half a file."""

    def __init__(self, partition_date: str) -> None:
        self.store = landing_store()
        self.key = audio_key(partition_date)
        self.store.recover(self.key)
        self.staged: Staged | None = None

    def __enter__(self) -> WavPartition:
        self.staged = self.store.stage(self.key)
        return self

    def write(self, name: str, samples: np.ndarray, sample_rate_hz: int) -> str:
        """Write one clip; returns its path relative to the landing root (its published place)."""
        assert self.staged is not None, "write inside `with WavPartition(...)`"
        with wave.open(str(self.staged.folder / name), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(1)  # 8-bit WAV is unsigned, exactly the service's bytes
            wav.setframerate(sample_rate_hz)
            wav.writeframes(samples.astype(np.uint8).tobytes())
        return self.store.published_key(self.staged, name)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.staged is None:
            return
        if exc_type is not None:
            self.store.discard(self.staged)
            return
        self.store.publish(self.staged)
