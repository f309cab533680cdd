"""The landing store on S3 (`PIPELINES_LANDING_URI=s3://bucket/prefix`): landing, quarantine,
audio and cursors as objects, with the same all-or-nothing publish as the local folders.

S3 has no rename, so a partition is published in three steps:
1. its parts, staged on the local disk as usual, are uploaded under a prefix of their own,
   `<zone>/<vendor>/<dataset>/date=D/v=<version>/part-NNNNN.parquet`; nobody reads them yet;
2. one small object, `date=D/_manifest.json`, is written naming that version live. A PUT
   replaces an object whole, so readers see the previous manifest or the new one, never a mix;
   dbt's sources read only the files of the versions a manifest names;
3. only then are the replaced version and the orphans of crashed writers deleted: versions no
   manifest names whose newest object was uploaded more than `STALE_LEFTOVER_S` ago (a younger
   one may be a live writer's, still uploading or about to write its manifest).
A writer killed before step 2 leaves the previous partition live and whole; its uploaded files
are removed by a later publish of that partition. Version names start with the UTC time of their
staging, so they sort by age and never repeat.

boto3 because it is already pinned (moto's S3 server, the tests' S3, depends on it), reads the
standard `AWS_*` settings and credential chain by itself, and uploads a large part in multipart
chunks streamed from the staged file (memory stays flat), while listing and deleting prefixes,
which the Parquet writers (polars' object_store, DuckDB's httpfs) do not do.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import polars as pl

from pipelines import landing
from pipelines.landing import Staged

MANIFEST = "_manifest.json"
VERSION_PREFIX = "v="
_VERSION_TIME_FORMAT = "%Y%m%dT%H%M%S%fZ"
# S3's DeleteObjects takes at most this many keys a call.
_DELETE_BATCH = 1000


def new_version() -> str:
    """Sortable by staging time, unique across writers: `20261202T041500123456Z-<12 hex>`."""
    return f"{datetime.now(UTC).strftime(_VERSION_TIME_FORMAT)}-{uuid.uuid4().hex[:12]}"


def s3_client() -> Any:
    """A boto3 S3 client from the standard settings. An `AWS_ENDPOINT_URL` (MinIO, moto, another
    cloud's S3 API) is addressed path-style, as the lake's DuckDB secret does (pipelines/lake.py)."""
    import boto3
    from botocore.config import Config

    endpoint = os.environ.get("AWS_ENDPOINT_URL", "").strip() or None
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None
    config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 5, "mode": "standard"})
    return boto3.client("s3", endpoint_url=endpoint, region_name=region, config=config if endpoint else None)


class S3LandingStore:
    """`landing.LandingStore` on an `s3://bucket/prefix` (see the module's docstring)."""

    def __init__(self, uri: str) -> None:
        parts = urlsplit(uri)
        self.bucket, self.prefix = parts.netloc, parts.path.strip("/")
        self._s3 = s3_client()

    def _object(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._object(key)}"

    def stage(self, key: str) -> Staged:
        """Parts are staged in a local temporary folder, uploaded only when published."""
        return Staged(key, Path(tempfile.mkdtemp(prefix="landing-")), new_version())

    def published_key(self, staged: Staged, name: str) -> str:
        return f"{staged.key}/{VERSION_PREFIX}{staged.version}/{name}"

    def publish(self, staged: Staged) -> None:
        try:
            files = sorted(path.name for path in staged.folder.iterdir() if path.is_file())
            for name in files:
                self._upload(staged.folder / name, self.published_key(staged, name))
            replaced = self._live_version(staged.key)
            manifest = {"version": staged.version, "files": files, "published_at": datetime.now(UTC).isoformat()}
            self.write_text(f"{staged.key}/{MANIFEST}", json.dumps(manifest))
        finally:
            # Uploaded or failed, the staged copy is done with; a failed upload's objects are
            # orphans the next publish removes.
            shutil.rmtree(staged.folder, ignore_errors=True)
        self._remove_versions(staged.key, live=staged.version, replaced=replaced)

    def discard(self, staged: Staged) -> None:
        shutil.rmtree(staged.folder, ignore_errors=True)  # nothing was uploaded before publish

    def recover(self, key: str) -> bool:
        return False  # a manifest is replaced in one PUT: a crash leaves nothing to put back

    def recover_all(self) -> list[str]:
        return []

    def partitions(self, dataset_key: str) -> list[str]:
        """Partitions that have a manifest: orphans of a writer killed before its first publish
        are not a partition."""
        names = set()
        for key in self._keys(f"{dataset_key}/date="):
            partition, _, tail = key.removeprefix(f"{self._object(dataset_key)}/").partition("/")
            if tail == MANIFEST:
                names.add(partition)
        return sorted(names)

    def read_partition(self, key: str) -> pl.DataFrame | None:
        text = self.read_text(f"{key}/{MANIFEST}")
        if text is None:
            return None
        manifest = json.loads(text)
        folder = f"{key}/{VERSION_PREFIX}{manifest['version']}"
        # A version also holds files that are not rows (the partition's `_fingerprint`).
        parts = [name for name in manifest["files"] if name.endswith(".parquet")]
        frames = [pl.read_parquet(io.BytesIO(self._get(f"{folder}/{name}"))) for name in parts]
        return pl.concat(frames, how="vertical_relaxed")

    def read_text(self, key: str) -> str | None:
        try:
            return self._get(key).decode()
        except self._s3.exceptions.NoSuchKey:
            return None

    def write_text(self, key: str, text: str) -> None:
        """One PUT: S3 replaces the object whole or not at all."""
        self._s3.put_object(Bucket=self.bucket, Key=self._object(key), Body=text.encode())

    def _get(self, key: str) -> bytes:
        body: bytes = self._s3.get_object(Bucket=self.bucket, Key=self._object(key))["Body"].read()
        return body

    def _upload(self, path: Path, key: str) -> None:
        self._s3.upload_file(str(path), self.bucket, self._object(key))

    def _live_version(self, key: str) -> str | None:
        text = self.read_text(f"{key}/{MANIFEST}")
        return json.loads(text)["version"] if text is not None else None

    def _objects(self, key_prefix: str) -> Iterator[dict[str, Any]]:
        """Every object under the prefix, as S3 lists it (`Key`, `LastModified`, ...)."""
        pages = self._s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self._object(key_prefix))
        for page in pages:
            yield from page.get("Contents", [])

    def _keys(self, key_prefix: str) -> Iterator[str]:
        return (item["Key"] for item in self._objects(key_prefix))

    def _remove_versions(self, key: str, live: str, replaced: str | None) -> None:
        """Delete the replaced version and stale orphans, never the live one."""
        by_version: dict[str, list[str]] = defaultdict(list)
        newest: dict[str, datetime] = {}
        for item in self._objects(f"{key}/{VERSION_PREFIX}"):
            version = item["Key"].removeprefix(f"{self._object(key)}/{VERSION_PREFIX}").split("/", 1)[0]
            by_version[version].append(item["Key"])
            newest[version] = max(item["LastModified"], newest.get(version, item["LastModified"]))
        doomed = [
            object_key
            for version, keys in by_version.items()
            if version != live and (version == replaced or _is_stale(newest[version]))
            for object_key in keys
        ]
        for start in range(0, len(doomed), _DELETE_BATCH):
            batch = [{"Key": k} for k in doomed[start : start + _DELETE_BATCH]]
            self._s3.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})


def _is_stale(last_upload: datetime) -> bool:
    """An orphan whose last upload is old enough that no live writer can still be about to
    publish it (S3's clock against ours: an hour dwarfs any skew)."""
    return (datetime.now(UTC) - last_upload).total_seconds() > landing.STALE_LEFTOVER_S
