"""Extraction cursors: the last position a vendor stream has landed, kept beside the data.

A cursor is a small JSON document `cursors/<vendor>/<stream>.json` in the landing store (the data
directory, or the object store of `PIPELINES_LANDING_URI`), replaced whole. Write it only after
the rows it covers have landed, so a crash re-reads rather than skips.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipelines.landing import landing_store
from pipelines.settings import data_dir


def cursor_key(vendor: str, stream: str) -> str:
    return f"cursors/{vendor}/{stream}.json"


def cursor_path(vendor: str, stream: str) -> Path:
    """Where the cursor lives when landing is on the local disk."""
    return data_dir() / cursor_key(vendor, stream)


def read_cursor(vendor: str, stream: str) -> dict[str, Any] | None:
    """The stream's cursor, or None before its first landed run."""
    text = landing_store().read_text(cursor_key(vendor, stream))
    return json.loads(text) if text is not None else None


def write_cursor(vendor: str, stream: str, value: dict[str, Any]) -> None:
    """Replace the cursor atomically (a rename on disk, one PUT on an object store)."""
    landing_store().write_text(cursor_key(vendor, stream), json.dumps(value, sort_keys=True, default=str))
