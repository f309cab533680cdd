"""Landing, quarantine and cursors on S3 (`PIPELINES_LANDING_URI=s3://...`) through moto's S3
server: vendors extract over HTTP from their simulators, partitions are published by manifest,
a writer killed before its manifest leaves the previous partition readable, cursors outlive the
process that wrote them. dbt's own reading of the bucket: tests/test_landing_s3_warehouse.py."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import traceback
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import jinja2
import numpy as np
import pandera.polars as pa
import polars as pl
import pytest
import yaml

from pipelines import landing
from pipelines.cursors import read_cursor
from pipelines.http import RetryPolicy
from pipelines.lake import load_extensions
from pipelines.landing import land_frame, landing_store
from pipelines.landing_s3 import MANIFEST, S3LandingStore
from pipelines.settings import DBT_PROJECT_DIR, PROJECT_ROOT
from pipelines.vendors.baxo.assets import land_historics
from pipelines.vendors.baxo.client import BaxoClient
from pipelines.vendors.baxo.simulator import PASSWORD, USERNAME, BaxoSimulatorConfig
from pipelines.vendors.dsmr.assets import land_recent_readings
from pipelines.vendors.dsmr.client import DsmrClient, DsmrInstance
from pipelines.vendors.dsmr.simulator import DEFAULT_INSTANCES, DsmrSimulatorConfig
from pipelines.vendors.primayer.audio import WavPartition
from tests.landed import rows_of
from tests.services import S3Server

DAY = "2026-11-20"
HISTORICS = f"landing/baxo/device_historics/date={DAY}"


class Reading(pa.DataFrameModel):
    name: str
    value: float


@pytest.fixture
def s3_landing(moto_s3: S3Server, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket as the landing root; the data directory stays local (and must stay empty
    of landed data)."""
    bucket = moto_s3.fresh_bucket("landing", monkeypatch)
    monkeypatch.setenv("PIPELINES_LANDING_URI", f"s3://{bucket}/telemetry/")
    return bucket


def baxo_client(url: str) -> BaxoClient:
    retry = RetryPolicy(max_attempts=8, backoff_base_s=0.01, backoff_max_s=0.2)
    return BaxoClient(f"{url}/k1", USERNAME, PASSWORD, retry=retry)


def object_keys(moto_s3: S3Server, bucket: str, prefix: str) -> list[str]:
    listed = moto_s3.client().list_objects_v2(Bucket=bucket, Prefix=f"telemetry/{prefix}")
    return sorted(item["Key"].removeprefix("telemetry/") for item in listed.get("Contents", []))


def versions(keys: list[str]) -> set[str]:
    return {part for key in keys for part in key.split("/") if part.startswith("v=")}


def source_sql(source_file: str, vendor: str, dataset: str) -> str:
    """What dbt reads for a source: its `external_location` rendered as dbt renders it (env_var
    from the environment, then dbt-duckdb's `{schema}`/`{name}`)."""
    sources = yaml.safe_load((DBT_PROJECT_DIR / "models" / "staging" / source_file).read_text())["sources"]
    template = sources[0]["config"]["external_location"]
    rendered = jinja2.Template(template).render(env_var=lambda name, default=None: os.environ.get(name, default))
    return f"select * from {rendered.format_map({'schema': vendor, 'name': dataset})}"


def read_as_dbt(vendor: str, dataset: str) -> pl.DataFrame:
    with duckdb.connect() as con:
        load_extensions(con)
        return con.execute(source_sql(f"{vendor}/_{vendor}__sources.yml", vendor, dataset)).pl()


def test_a_partition_is_published_by_manifest_and_a_rerun_replaces_it(
    s3_landing: str, moto_s3: S3Server, data_dir: Path, start_simulator
) -> None:
    server = start_simulator("baxo", BaxoSimulatorConfig(malformed=True))
    first = land_historics(baxo_client(server.url), DAY)
    assert first.path == f"s3://{s3_landing}/telemetry/{HISTORICS}"
    assert first.landed_rows > 0 and first.quarantined_rows > 0
    keys = object_keys(moto_s3, s3_landing, HISTORICS)
    (version,) = versions(keys)
    manifest = json.loads(landing_store().read_text(f"{HISTORICS}/{MANIFEST}") or "")
    assert manifest["version"] == version.removeprefix("v=")
    assert keys == sorted([f"{HISTORICS}/{MANIFEST}"] + [f"{HISTORICS}/{version}/{f}" for f in manifest["files"]])
    landed = read_as_dbt("baxo", "device_historics")
    assert landed.height == first.landed_rows
    assert not list(data_dir.rglob("*.parquet")), "landing went to the local disk"

    second = land_historics(baxo_client(server.url), DAY)
    assert (second.landed_rows, second.quarantined_rows) == (first.landed_rows, first.quarantined_rows)
    again = object_keys(moto_s3, s3_landing, HISTORICS)
    assert len(versions(again)) == 1 and versions(again) != {version}, "the replaced version was not deleted"
    assert rows_of(read_as_dbt("baxo", "device_historics")).equals(rows_of(landed))
    quarantine = landing_store().read_partition(f"quarantine/baxo/device_historics/date={DAY}")
    assert quarantine is not None and quarantine.height == first.quarantined_rows


# Runs in a process of its own: lands the day, but dies by SIGKILL at the instant its manifest
# would be written, after every part was uploaded.
KILLED_BEFORE_MANIFEST = """
import os, signal, sys
from pipelines.landing_s3 import MANIFEST, S3LandingStore
from tests.test_landing_s3 import DAY, baxo_client
from pipelines.vendors.baxo.assets import land_historics

write_text = S3LandingStore.write_text
def die_before_manifest(self, key, text):
    if key.endswith(MANIFEST):
        os.kill(os.getpid(), signal.SIGKILL)
    write_text(self, key, text)
S3LandingStore.write_text = die_before_manifest
land_historics(baxo_client(sys.argv[1]), DAY)
"""


# Each process of its own imports the vendors' Dagster code (seconds on a busy machine): out of
# `make test-fast`, like the other whole-process tests.
@pytest.mark.slow
def test_a_writer_killed_before_its_manifest_leaves_the_previous_partition_and_its_orphans_go_next_run(
    s3_landing: str, moto_s3: S3Server, start_simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    first_server = start_simulator("baxo")
    land_historics(baxo_client(first_server.url), DAY)
    before = rows_of(read_as_dbt("baxo", "device_historics"))
    before_in_store = rows_of(landing_store().read_partition(HISTORICS))  # type: ignore[arg-type]
    (live,) = versions(object_keys(moto_s3, s3_landing, HISTORICS))
    # The killed run is served other rows (malformed ones held back): had they been published,
    # the partition would differ.
    other_server = start_simulator("baxo", BaxoSimulatorConfig(malformed=True))
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_BEFORE_MANIFEST, other_server.url], cwd=PROJECT_ROOT, env=os.environ.copy()
    )
    assert killed.returncode == -9
    leftovers = versions(object_keys(moto_s3, s3_landing, HISTORICS))
    assert live in leftovers and len(leftovers) == 2, "the killed run uploaded nothing: no kill point tested"
    assert rows_of(read_as_dbt("baxo", "device_historics")).equals(before)
    assert rows_of(landing_store().read_partition(HISTORICS)).equals(before_in_store)  # type: ignore[arg-type]

    # The next run publishes its own version and removes the one it replaced; the orphan is
    # seconds old, as a live writer's upload would be, so it stays until STALE_LEFTOVER_S.
    land_historics(baxo_client(first_server.url), DAY)
    (orphan,) = leftovers - {live}
    after_rerun = versions(object_keys(moto_s3, s3_landing, HISTORICS))
    assert live not in after_rerun and orphan in after_rerun and len(after_rerun) == 2
    # Once stale, the next publish removes it.
    monkeypatch.setattr(landing, "STALE_LEFTOVER_S", 0)
    land_historics(baxo_client(first_server.url), DAY)
    (current,) = versions(object_keys(moto_s3, s3_landing, HISTORICS))
    assert current not in leftovers | after_rerun
    assert rows_of(read_as_dbt("baxo", "device_historics")).equals(before)


NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
HOME = DEFAULT_INSTANCES[0]

# A first extraction of recent readings in a process of its own: its cursor must reach the next one.
FIRST_RECENT_RUN = """
import sys
from datetime import datetime
from tests.test_landing_s3 import dsmr_client
from pipelines.vendors.dsmr.assets import land_recent_readings
print(land_recent_readings([dsmr_client(sys.argv[1])], datetime.fromisoformat(sys.argv[2]))[0])
"""


def dsmr_client(url: str) -> DsmrClient:
    instance = DsmrInstance(HOME.name, f"{url}/{HOME.name}", HOME.api_key, HOME.timezone)
    return DsmrClient(instance, retry=RetryPolicy(max_attempts=8, backoff_base_s=0.01, backoff_max_s=0.2))


@pytest.mark.slow
def test_cursors_on_s3_survive_a_restart(s3_landing: str, moto_s3: S3Server, data_dir: Path, start_simulator) -> None:
    server = start_simulator("dsmr", DsmrSimulatorConfig(now=NOW, instances=(HOME,)))
    first = subprocess.run(
        [sys.executable, "-c", FIRST_RECENT_RUN, server.url, NOW.isoformat()],
        cwd=PROJECT_ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        check=True,
    )
    since_midnight = int(first.stdout.split()[-1])
    assert since_midnight == 6 * 360 + 1  # every 10 s from 00:00:00 to 06:00:00
    assert object_keys(moto_s3, s3_landing, "cursors/") == [f"cursors/dsmr/readings_{HOME.name}.json"]
    assert not (data_dir / "cursors").exists()

    later = NOW + timedelta(minutes=30)
    server.app.state.simulator.config.now = later
    new_rows, _ = land_recent_readings([dsmr_client(server.url)], later)
    assert new_rows == 180, "the restarted run did not resume from the cursor on S3"
    assert read_cursor("dsmr", f"readings_{HOME.name}")["last_measured_at"] == later.isoformat()  # type: ignore[index]
    day = landing_store().read_partition(f"landing/dsmr/readings/date={NOW.date()}")
    assert day is not None and day.height == since_midnight + 180 and day["reading_id"].is_unique().all()


def test_the_s3_store_is_chosen_by_the_landing_uri(s3_landing: str) -> None:
    store = landing_store()
    assert isinstance(store, S3LandingStore)
    assert (store.bucket, store.prefix) == (s3_landing, "telemetry")


def test_a_bucket_that_refuses_fails_naming_the_partition_not_the_secret(
    s3_landing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIPELINES_LANDING_URI", "s3://no-such-landing-bucket/telemetry")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "do-not-print-me")
    frame = pl.DataFrame({"name": ["a"], "value": [1.0]})
    with pytest.raises(Exception) as failure:
        land_frame("v", "d", DAY, frame, Reading, "e")
    message = "".join(traceback.format_exception(failure.value))
    assert "no-such-landing-bucket" in message and f"v/d/date={DAY}" in message
    assert "do-not-print-me" not in message


def test_wav_files_are_published_with_their_day_and_named_where_they_will_be(
    s3_landing: str, moto_s3: S3Server, data_dir: Path
) -> None:
    samples = np.arange(256, dtype=np.uint8)
    for _ in range(2):  # a re-run replaces the day's clips
        with WavPartition(DAY) as wavs:
            path = wavs.write("7_1001_20261120T101500Z.wav", samples, 4000)
    assert path.startswith(f"audio/primayer/date={DAY}/v=") and path.endswith(".wav")
    assert object_keys(moto_s3, s3_landing, "audio/") == sorted([path, f"audio/primayer/date={DAY}/{MANIFEST}"])
    body = moto_s3.client().get_object(Bucket=s3_landing, Key=f"telemetry/{path}")["Body"].read()
    with wave.open(io.BytesIO(body), "rb") as wav:
        assert (wav.getframerate(), wav.readframes(256)) == (4000, samples.tobytes())
    assert not (data_dir / "audio").exists()


def test_a_landing_uri_that_is_not_s3_is_refused_without_echoing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPELINES_LANDING_URI", "gs://user:hunter2@bucket/prefix")
    with pytest.raises(ValueError, match="PIPELINES_LANDING_URI must be s3://") as refused:
        landing_store()
    assert "hunter2" not in str(refused.value)
