"""dbt's parse state (partial parsing), kept between the dbt calls of one data directory.

Every dbt call gets a fresh target folder (as dagster-dbt names one), which starts from the state
of the project's `target/` (written by `make manifest`). dbt refused that state ("profile has changed")
while the profile held the data directory's path, and parsed the whole project in every call
(3–4 s of each step). The profile now names no path (profiles.yml), so that state serves any
data directory, which re-parses only its sources' locations. Better still, each call starts from
the state its data directory's last call left, which in a daily run has nothing to re-parse.

A kept state is reused only for the same project files: it outlives a deploy of new files, and
dbt's partial parsing can go wrong when files go away (a generic test's macro deleted while a
test still names it: "'test_…' is undefined"). A changed project starts from the project's own
state instead, which `make manifest` wrote from the files in place.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from pathlib import Path

PARTIAL_PARSE_FILE = "partial_parse.msgpack"
# What dbt generates in the project folder, never parsed.
GENERATED = ("target", "logs", "dbt_packages")


def project_fingerprint(project_dir: Path) -> str:
    """A hash of the dbt project's own files: their paths and contents."""
    files = []
    for folder, subfolders, names in os.walk(project_dir):
        if Path(folder) == project_dir:
            subfolders[:] = [name for name in subfolders if name not in GENERATED]
        files += [Path(folder, name) for name in names]
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(str(path.relative_to(project_dir)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def seed_target(target_path: Path, kept_dir: Path, project_dir: Path, fingerprint: str) -> None:
    """Make the call's target folder, holding the kept state if these project files left it,
    else the project's own (`make manifest`'s), else none (dbt parses the whole project)."""
    target_path.mkdir(parents=True)
    kept = kept_dir / PARTIAL_PARSE_FILE
    if kept.is_file() and _kept_fingerprint(kept_dir) == fingerprint:
        shutil.copyfile(kept, target_path / PARTIAL_PARSE_FILE)
    elif (project_state := project_dir / "target" / PARTIAL_PARSE_FILE).is_file():
        shutil.copyfile(project_state, target_path / PARTIAL_PARSE_FILE)


def keep(target_path: Path, kept_dir: Path, fingerprint: str) -> None:
    """Keep the call's state for the next call, with the fingerprint of the files it was parsed
    from (taken before the call). Each file is replaced whole, so a concurrent call reads a
    whole state; a state and a fingerprint of two calls only cost one whole parse."""
    state = target_path / PARTIAL_PARSE_FILE
    if not state.is_file():
        return
    kept_dir.mkdir(parents=True, exist_ok=True)
    _replace(kept_dir / PARTIAL_PARSE_FILE, state.read_bytes())
    _replace(kept_dir / f"{PARTIAL_PARSE_FILE}.project", fingerprint.encode())


def _kept_fingerprint(kept_dir: Path) -> str | None:
    try:
        return (kept_dir / f"{PARTIAL_PARSE_FILE}.project").read_text()
    except FileNotFoundError:
        return None


def _replace(path: Path, content: bytes) -> None:
    staged = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    staged.write_bytes(content)
    os.replace(staged, path)
