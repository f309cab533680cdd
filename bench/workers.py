"""One contender per process: `python -m bench.workers <name> '<json job>'` prints one JSON line.

Each worker measures its own wall time around the work (imports excluded), its peak RSS before
the work (the imports' baseline) and at the end. Contenders:

ours             BaxoClient -> transform -> pandera -> Parquet (`land_historics`), as the asset runs it
dlt_rest_api     dlt `rest_api` source, json_link paginator on `next`, POST form; DuckDB destination
dlt_arrow        dlt `RESTClient.paginate`, one pyarrow table per page, DuckDB destination
dsmr_*           the same three on DSMR readings: ours is `land_readings` (keyset pages of 2,000);
                 dlt pages by limit/offset (2,000) with the instance's local day bounds
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

from pipelines.settings import PROJECT_ROOT
from pipelines.vendors.baxo.simulator import PASSWORD, USERNAME

GROUP_FIELDS = ("tagReference", "deviceIdentifier", "logs")


def _peak_rss_mb() -> float:
    """This process's peak RSS since it started this program.

    Linux's `VmHWM` belongs to the address space the exec created. `ru_maxrss` (getrusage, wait4)
    does not: it carries over the RSS of the parent that forked the process (vfork, as
    subprocess uses), so a child of a large parent would report the parent's size.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _historic_forms(base_url: str, partition: str) -> list[dict[str, str]]:
    """The historics requests our extraction makes (one per contract and device batch), as form data."""
    from pipelines.partitions import day_window
    from pipelines.vendors.baxo.assets import DEVICES_PER_REQUEST
    from pipelines.vendors.baxo.client import BaxoClient
    from pipelines.vendors.baxo.timebase import to_baxo_seconds

    start, end = day_window(partition)
    forms = []
    with BaxoClient(base_url + "k1", USERNAME, PASSWORD) as client:
        for contract in client.contracts():
            ids = [d["id"] for d in client.devices(contract["id"])]
            for i in range(0, len(ids), DEVICES_PER_REQUEST):
                batch = ids[i : i + DEVICES_PER_REQUEST]
                forms.append(
                    {
                        "username": USERNAME,
                        "password": PASSWORD,
                        "get": "devices-historics",
                        "contractId": contract["id"],
                        "startTime": str(to_baxo_seconds(start)),
                        "endTime": str(to_baxo_seconds(end)),
                        **({"deviceIdentifiers": ",".join(batch)} if len(batch) > 1 else {"deviceId": batch[0]}),
                    }
                )
    return forms


def ours(job: dict[str, Any]) -> dict[str, Any]:
    from pipelines.vendors.baxo.assets import land_historics
    from pipelines.vendors.baxo.client import BaxoClient

    baseline = _peak_rss_mb()
    started = time.perf_counter()
    client = BaxoClient(job["base_url"] + "k1", USERNAME, PASSWORD, **_concurrency(job))
    result = land_historics(client, job["partition"])
    return {
        "rows": result.landed_rows,
        "quarantined": result.quarantined_rows,
        "wall_s": time.perf_counter() - started,
        "baseline_rss_mb": baseline,
    }


def _dlt_pipeline(job: dict[str, Any]) -> Any:
    import dlt

    work = Path(job["work_dir"])
    return dlt.pipeline(
        pipeline_name="bench_baxo",
        destination=dlt.destinations.duckdb(str(work / "dlt.duckdb")),
        dataset_name="baxo",
        pipelines_dir=str(work / "dlt_pipelines"),
    )


def _loaded_rows(pipeline: Any, table: str) -> int:
    return int(pipeline.last_trace.last_normalize_info.row_counts.get(table, 0))


def dlt_rest_api(job: dict[str, Any]) -> dict[str, Any]:
    from dlt.sources.rest_api import rest_api_source

    forms = _historic_forms(job["base_url"], job["partition"])
    baseline = _peak_rss_mb()
    started = time.perf_counter()
    source = rest_api_source(
        {
            "client": {"base_url": job["base_url"]},
            "resource_defaults": {"write_disposition": "replace"},
            "resources": [
                {
                    "name": f"device_historics_{i}",
                    "table_name": "device_historics",
                    "endpoint": {
                        "path": "k1",
                        "method": "POST",
                        "data": form,
                        "data_selector": "historics",
                        # BAXO answers the next page's full URL in `next`; the form stays the same.
                        "paginator": {"type": "json_link", "next_url_path": "next"},
                    },
                }
                for i, form in enumerate(forms)
            ],
        }
    )
    pipeline = _dlt_pipeline(job)
    pipeline.run(source, loader_file_format=job.get("loader_file_format", "parquet"))
    return {
        "rows": _loaded_rows(pipeline, "device_historics__logs"),
        "wall_s": time.perf_counter() - started,
        "baseline_rss_mb": baseline,
    }


def dlt_arrow(job: dict[str, Any]) -> dict[str, Any]:
    import dlt
    import pyarrow as pa
    import pyarrow.compute as pc
    from dlt.sources.helpers.rest_client import RESTClient
    from dlt.sources.helpers.rest_client.paginators import JSONLinkPaginator

    group_schema = pa.schema(
        [
            ("tagReference", pa.string()),
            ("deviceIdentifier", pa.string()),
            (
                "logs",
                pa.list_(pa.struct([("value", pa.string()), ("timestamp", pa.int64()), ("source", pa.int64())])),
            ),
        ]
    )

    def page_table(groups: list[dict]) -> pa.Table:
        """Groups of logs to one row per log, with arrow kernels (no per-row Python)."""
        table = pa.Table.from_pylist(groups, schema=group_schema)
        logs = table.column("logs").combine_chunks()
        parents = pc.list_parent_indices(logs)
        flat = pc.list_flatten(logs)
        return pa.table(
            {
                "device_id": pc.take(table.column("deviceIdentifier"), parents),
                "tag_reference": pc.take(table.column("tagReference"), parents),
                "value": flat.field("value"),
                "timestamp": flat.field("timestamp"),
                "source": flat.field("source"),
            }
        )

    forms = _historic_forms(job["base_url"], job["partition"])
    baseline = _peak_rss_mb()
    started = time.perf_counter()
    client = RESTClient(
        base_url=job["base_url"], paginator=JSONLinkPaginator(next_url_path="next"), data_selector="historics"
    )

    @dlt.resource(name="device_historics", write_disposition="replace")
    def historics() -> Any:
        for form in forms:
            for page in client.paginate("k1", method="POST", data=form):
                yield page_table(page)

    pipeline = _dlt_pipeline(job)
    pipeline.run(historics(), loader_file_format="parquet")
    return {
        "rows": _loaded_rows(pipeline, "device_historics"),
        "wall_s": time.perf_counter() - started,
        "baseline_rss_mb": baseline,
    }


# -- DSMR readings ------------------------------------------------------------------------------
DSMR_PAGE_LIMIT = 2000  # the DSMR resource's default page size; dlt pages by the same


def dsmr_reading_requests(job: dict[str, Any]) -> list[tuple[str, dict[str, str]]]:
    """(path, params) of each bench meter's readings of the partition's UTC day, by local bounds."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from bench.simserver import DSMR_TIMEZONE, dsmr_instances
    from pipelines.partitions import day_window
    from pipelines.vendors.dsmr.client import READINGS

    start, end = day_window(job["partition"])
    zone = ZoneInfo(DSMR_TIMEZONE)

    def local(instant: Any) -> str:
        return instant.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")

    bounds = {
        "ordering": "timestamp",
        "timestamp__gte": local(start),
        "timestamp__lte": local(end - timedelta(seconds=1)),
    }
    return [(f"{i.name}/{READINGS}", bounds) for i in dsmr_instances(job["instances"])]


def dsmr_ours(job: dict[str, Any]) -> dict[str, Any]:
    from bench.simserver import DSMR_API_KEY, DSMR_TIMEZONE, dsmr_instances
    from pipelines.vendors.dsmr.assets import DsmrResource, land_readings

    # As a run configures it: `DSMR_INSTANCES` naming each meter's key variable.
    os.environ["DSMR_BENCH_API_KEY"] = DSMR_API_KEY
    instances = [
        {
            "name": i.name,
            "base_url": job["base_url"] + i.name,
            "api_key_env": "DSMR_BENCH_API_KEY",
            "timezone": DSMR_TIMEZONE,
        }
        for i in dsmr_instances(job["instances"])
    ]
    resource = DsmrResource(instances=json.dumps(instances), page_limit=DSMR_PAGE_LIMIT, **_concurrency(job))
    baseline = _peak_rss_mb()
    started = time.perf_counter()
    result = land_readings(resource.clients(), job["partition"])
    return {
        "rows": result.landed_rows,
        "quarantined": result.quarantined_rows,
        "wall_s": time.perf_counter() - started,
        "baseline_rss_mb": baseline,
    }


def _concurrency(job: dict[str, Any]) -> dict[str, int]:
    """The resource's `concurrency` when the job sets one (to compare settings), else its default."""
    return {"concurrency": int(job["concurrency"])} if "concurrency" in job else {}


def _dsmr_paginator() -> Any:
    from dlt.sources.helpers.rest_client.paginators import OffsetPaginator

    return OffsetPaginator(limit=DSMR_PAGE_LIMIT, total_path="count")


def dsmr_dlt_rest_api(job: dict[str, Any]) -> dict[str, Any]:
    from dlt.sources.rest_api import rest_api_source

    from bench.simserver import DSMR_API_KEY

    requests = dsmr_reading_requests(job)
    baseline = _peak_rss_mb()
    started = time.perf_counter()
    source = rest_api_source(
        {
            "client": {"base_url": job["base_url"], "headers": {"X-AUTHKEY": DSMR_API_KEY}},
            "resource_defaults": {"write_disposition": "replace"},
            "resources": [
                {
                    "name": f"readings_{i}",
                    "table_name": "readings",
                    "endpoint": {
                        "path": path,
                        "params": params,
                        "data_selector": "results",
                        "paginator": {
                            "type": "offset",
                            "limit": DSMR_PAGE_LIMIT,
                            "total_path": "count",
                        },
                    },
                }
                for i, (path, params) in enumerate(requests)
            ],
        }
    )
    pipeline = _dlt_pipeline(job)
    pipeline.run(source, loader_file_format=job.get("loader_file_format", "parquet"))
    return {
        "rows": _loaded_rows(pipeline, "readings"),
        "wall_s": time.perf_counter() - started,
        "baseline_rss_mb": baseline,
    }


def dsmr_dlt_arrow(job: dict[str, Any]) -> dict[str, Any]:
    import dlt
    import pyarrow as pa
    from dlt.sources.helpers.rest_client import RESTClient

    from bench.simserver import DSMR_API_KEY

    requests = dsmr_reading_requests(job)
    baseline = _peak_rss_mb()
    started = time.perf_counter()
    client = RESTClient(base_url=job["base_url"], headers={"X-AUTHKEY": DSMR_API_KEY}, data_selector="results")

    @dlt.resource(name="readings", write_disposition="replace")
    def readings() -> Any:
        for path, params in requests:
            for page in client.paginate(path, params=params, paginator=_dsmr_paginator()):
                yield pa.Table.from_pylist(page)

    pipeline = _dlt_pipeline(job)
    pipeline.run(readings(), loader_file_format="parquet")
    return {
        "rows": _loaded_rows(pipeline, "readings"),
        "wall_s": time.perf_counter() - started,
        "baseline_rss_mb": baseline,
    }


CONTENDERS = {
    "ours": ours,
    "dlt_rest_api": dlt_rest_api,
    "dlt_arrow": dlt_arrow,
    "dsmr_ours": dsmr_ours,
    "dsmr_dlt_rest_api": dsmr_dlt_rest_api,
    "dsmr_dlt_arrow": dsmr_dlt_arrow,
}
# Imported before the clock (and the profiler) starts: start-up is not what the bench compares.
PRELOAD = {
    "ours": ("pipelines.vendors.baxo.assets",),
    "dlt_rest_api": ("dlt", "dlt.sources.rest_api", "pipelines.vendors.baxo.assets"),
    "dlt_arrow": ("dlt", "pyarrow", "dlt.sources.helpers.rest_client", "pipelines.vendors.baxo.assets"),
    "dsmr_ours": ("pipelines.vendors.dsmr.assets", "bench.simserver"),
    "dsmr_dlt_rest_api": ("dlt", "dlt.sources.rest_api", "pipelines.vendors.dsmr.assets", "bench.simserver"),
    "dsmr_dlt_arrow": (
        "dlt",
        "pyarrow",
        "dlt.sources.helpers.rest_client",
        "pipelines.vendors.dsmr.assets",
        "bench.simserver",
    ),
}


def main() -> None:
    name, job = sys.argv[1], json.loads(sys.argv[2])
    os.environ["PIPELINES_DATA_DIR"] = job["work_dir"]
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    for module in PRELOAD[name]:
        importlib.import_module(module)
    profile_to = job.get("profile_to")
    if profile_to:
        from pyinstrument import Profiler

        with Profiler(interval=0.002) as profiler:
            out = CONTENDERS[name](job)
        text = profiler.output_text(unicode=False, color=False)
        # The profile is committed with the results: name files relative to the project.
        Path(profile_to).write_text(text.replace(str(PROJECT_ROOT) + "/", ""))
    else:
        out = CONTENDERS[name](job)
    out["peak_rss_mb"] = _peak_rss_mb()
    print("RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
