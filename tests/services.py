"""Throwaway servers the scale-out tests start themselves: PostgreSQL from its server binaries,
S3 from moto. Each listens on 127.0.0.1 on a free port and lives in a temporary folder."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

# Debian keeps the server binaries off PATH; other systems put them on it.
POSTGRES_BIN_DIRS = [Path("/usr/lib/postgresql/15/bin"), Path("/usr/lib/postgresql/16/bin")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    return next((str(d / name) for d in POSTGRES_BIN_DIRS if (d / name).is_file()), None)


@dataclass(frozen=True)
class Postgres:
    port: int
    user: str = "postgres"
    host: str = "127.0.0.1"

    def conninfo(self, dbname: str = "postgres") -> str:
        """libpq key=value settings, as `WAREHOUSE_CATALOG=postgres:<this>` takes them."""
        return f"dbname={dbname} host={self.host} port={self.port} user={self.user}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.conninfo(), autocommit=True) as con:
            con.execute(f'create database "{name}"')
        return self.conninfo(name)


def _as_unprivileged(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: drop to the `postgres` (or `nobody`) user when root."""
    if os.geteuid() != 0:
        return command
    user = next((u for u in ("postgres", "nobody") if _has_user(u)), None)
    if user is None or not shutil.which("setpriv"):
        raise RuntimeError("running as root with no unprivileged user to start PostgreSQL as")
    return ["setpriv", f"--reuid={user}", f"--regid={pwd.getpwnam(user).pw_gid}", "--clear-groups", *command]


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@contextmanager
def running_postgres() -> Iterator[Postgres]:
    """initdb a cluster in a temp folder, serve it on a free port (trust auth, 127.0.0.1 only),
    then stop it and remove the folder. The folder sits directly in the system's temp dir: as
    root, the unprivileged server user must reach it (pytest's temp dirs are private to root)."""
    initdb, pg_ctl = postgres_binary("initdb"), postgres_binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        raise FileNotFoundError("PostgreSQL server binaries (initdb, pg_ctl) not found")
    with tempfile.TemporaryDirectory(prefix="pipelines-postgres-") as scratch:
        folder = Path(scratch)
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres" if _has_user("postgres") else "nobody")
            shutil.chown(folder, owner.pw_uid, owner.pw_gid)
        with _serving(initdb, pg_ctl, folder) as server:
            yield server


@contextmanager
def _serving(initdb: str, pg_ctl: str, folder: Path) -> Iterator[Postgres]:
    cluster, port = folder / "cluster", free_port()
    quiet = {"stdout": subprocess.DEVNULL, "check": True}
    init = [initdb, "-D", str(cluster), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
    subprocess.run(_as_unprivileged(init), **quiet)
    # fsync off: a test cluster is thrown away, durability would only cost the tests time.
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off"
    start = [pg_ctl, "-D", str(cluster), "-o", options, "-l", str(folder / "server.log"), "-w", "start"]
    subprocess.run(_as_unprivileged(start), **quiet)
    try:
        yield Postgres(port)
    finally:
        subprocess.run(_as_unprivileged([pg_ctl, "-D", str(cluster), "-m", "fast", "-w", "stop"]), **quiet)


@dataclass(frozen=True)
class S3Server:
    endpoint: str  # host:port
    access_key: str = "testing"
    secret_key: str = "testing"
    region: str = "us-east-1"

    def client(self):  # noqa: ANN201 - boto3's client type is generated at run time
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=f"http://{self.endpoint}",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
        )

    def environment(self) -> dict[str, str]:
        """The settings our storage layer reads to reach this server."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": self.region,
            "AWS_ENDPOINT_URL": f"http://{self.endpoint}",
        }

    def fresh_bucket(self, name: str, monkeypatch: pytest.MonkeyPatch) -> str:
        """A new bucket `<name>-<random>`, with the settings that reach this server set for the
        test: each test has a bucket of its own, so nothing one writes is seen by another."""
        bucket = f"{name}-{uuid.uuid4().hex[:8]}"
        self.client().create_bucket(Bucket=bucket)
        for setting, value in self.environment().items():
            monkeypatch.setenv(setting, value)
        return bucket


@contextmanager
def running_moto_s3() -> Iterator[S3Server]:
    """moto's S3 API in its own process on 127.0.0.1 (`moto_server`), stopped afterwards."""
    port = free_port()
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("moto's S3 server did not start") from None
                time.sleep(0.2)
        yield S3Server(f"127.0.0.1:{port}")
    finally:
        server.terminate()
        server.wait(timeout=10)
