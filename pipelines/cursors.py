"""Extraction cursors: the last position a vendor stream has landed, kept beside the data.

A cursor is a small JSON document in `data/cursors/<vendor>/<stream>.json`, replaced atomically.
Write it only after the rows it covers have landed, so a crash re-reads rather than skips.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pipelines.settings import data_dir


def cursor_path(vendor: str, stream: str) -> Path:
    return data_dir() / "cursors" / vendor / f"{stream}.json"


def read_cursor(vendor: str, stream: str) -> dict[str, Any] | None:
    """The stream's cursor, or None before its first landed run."""
    path = cursor_path(vendor, stream)
    return json.loads(path.read_text()) if path.exists() else None


def write_cursor(vendor: str, stream: str, value: dict[str, Any]) -> None:
    """Replace the cursor atomically (temp file + rename)."""
    path = cursor_path(vendor, stream)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    tmp.write_text(json.dumps(value, sort_keys=True, default=str))
    tmp.replace(path)
