"""What landing on S3 costs beside the local disk: BAXO historics days extracted from the
simulator and published to a fresh data directory, then to moto's S3 server on 127.0.0.1, and
the landed days read back the way dbt's source reads them.

python -m bench.landing_s3 [--days 3] [--repeats 2]

moto is a local, single-threaded stand-in: real S3 adds network latency per request (about 6
requests a partition and zone: the uploads, the manifest's GET and PUT, a LIST, the deletes).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb

from pipelines.http import RetryPolicy
from pipelines.lake import load_extensions
from pipelines.simulation.registry import simulator_spec
from pipelines.simulation.server import SimulatorServer
from pipelines.vendors.baxo.assets import land_historics
from pipelines.vendors.baxo.client import BaxoClient
from pipelines.vendors.baxo.simulator import PASSWORD, USERNAME
from tests.services import running_moto_s3

FIRST_DAY = date(2026, 11, 18)
# The sources' two forms (dbt_project/models/staging/*/_*__sources.yml), for BAXO's historics.
LOCAL_READ = "select count(*) from read_parquet('{root}/landing/baxo/device_historics/date=*/*.parquet', hive_partitioning = true, union_by_name = true)"  # noqa: E501
S3_READ = (
    "select count(*) from (select * exclude (v) from read_parquet('{root}/landing/baxo/device_historics/date=*/v=*/*.parquet', "  # noqa: E501
    "hive_partitioning = true, union_by_name = true) where v in (select json_extract_string(content, '$.version') "
    "from read_text('{root}/landing/baxo/device_historics/date=*/_manifest.json')))"
)


def land_days(url: str, days: int, repeats: int) -> tuple[float, int]:
    """Seconds to land `days` days `repeats` times (each repeat replaces the days), rows a round."""
    client_retry = RetryPolicy(max_attempts=8, backoff_base_s=0.01, backoff_max_s=0.2)
    started, rows = time.perf_counter(), 0
    for _ in range(repeats):
        rows = 0
        for n in range(days):
            day = (FIRST_DAY + timedelta(days=n)).isoformat()
            rows += land_historics(BaxoClient(f"{url}/k1", USERNAME, PASSWORD, retry=client_retry), day).landed_rows
    return time.perf_counter() - started, rows


def read_landed(query: str) -> tuple[float, int]:
    with duckdb.connect() as con:
        load_extensions(con)
        started = time.perf_counter()
        (count,) = con.execute(query).fetchall()[0]
        return time.perf_counter() - started, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    server = SimulatorServer(simulator_spec("baxo").create_app(None), None).start()
    try:
        with tempfile.TemporaryDirectory() as scratch, running_moto_s3() as s3:
            os.environ["PIPELINES_DATA_DIR"] = scratch
            local = land_days(server.url, args.days, args.repeats), read_landed(LOCAL_READ.format(root=scratch))
            os.environ.update(s3.environment())
            s3.client().create_bucket(Bucket="landing-bench")
            os.environ["PIPELINES_LANDING_URI"] = root = "s3://landing-bench/telemetry"
            on_s3 = land_days(server.url, args.days, args.repeats), read_landed(S3_READ.format(root=root))
            assert not list(Path(scratch).glob("landing/**/date=*/v=*")), "S3 landing wrote locally"
    finally:
        server.stop()
    print(f"BAXO historics, {args.days} days landed {args.repeats} times (each time replacing them)")
    print("store  | land s | rows a round | read as dbt s | rows read")
    for name, ((land_s, rows), (read_s, read_rows)) in (("local", local), ("moto", on_s3)):
        print(f"{name:6} | {land_s:6.2f} | {rows:12,} | {read_s:13.3f} | {read_rows:9,}")


if __name__ == "__main__":
    main()
