"""The lake's data files on S3 (`WAREHOUSE_DATA_PATH=s3://...`), through moto's S3 server: a
writer's tables land as Parquet objects in the bucket, a reader reads them, nothing on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.lake import connect, needed_extensions
from tests.services import S3Server


@pytest.fixture
def s3_lake(moto_s3: S3Server, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket; the lake's data path in it, the SQLite catalog in the data directory."""
    bucket = moto_s3.fresh_bucket("lake", monkeypatch)
    monkeypatch.setenv("WAREHOUSE_DATA_PATH", f"s3://{bucket}/lake")
    return bucket


def test_tables_are_written_to_and_read_from_the_bucket(s3_lake: str, moto_s3: S3Server, data_dir: Path) -> None:
    assert needed_extensions() == ["ducklake", "sqlite", "httpfs"]
    with connect(read_only=False) as con:
        con.execute("create table readings as select i as id, i * 0.5 as value from range(1000) t(i)")
        con.execute("delete from readings where id >= 900")
    objects = moto_s3.client().list_objects_v2(Bucket=s3_lake, Prefix="lake/")["Contents"]
    assert any(o["Key"].endswith(".parquet") for o in objects)
    assert not list((data_dir / "lake").rglob("*.parquet")), "data files went to the local disk"
    with connect() as con:
        assert con.execute("select count(*), sum(value) from readings").fetchone() == (
            900,
            sum(i * 0.5 for i in range(900)),
        )


def test_wrong_credentials_fail_naming_the_bucket_not_the_secret(
    s3_lake: str, moto_s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "do-not-print-me")
    with pytest.raises(Exception) as failure:
        with connect(read_only=False) as con:
            con.execute("create table t as select i from range(100) r(i)")  # above inlining
    assert "do-not-print-me" not in str(failure.value)
    assert s3_lake in str(failure.value) or "127.0.0.1:9" in str(failure.value)
