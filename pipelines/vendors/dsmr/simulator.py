"""A DSMR-reader API simulator (several instances, one per meter) following `dsmr-reader.rst`
and the v5.11 OpenAPI contract.

Each instance lives under its own path prefix, `/<instance>/api/v2/...`, with its own zone and
API key, like separate DSMR-reader servers. It follows Django REST Framework's conventions:
`X-AUTHKEY` (or `Authorization: Token <key>`) else 403 `{"detail": ...}`; a disabled API answers
403 `{"detail": "API is disabled"}`; list endpoints answer `{count, next, previous, results}`
with full URLs (limit/offset, default limit 25); decimals are strings with fixed decimals while
`consumption/today` gives floats; timestamps are ISO 8601 in the instance's zone with the offset
(`+00:00` written `Z`, as DRF does). As on a real v5.11 server, `__gte`/`__lte` filters take a
local wall time `YYYY-MM-DD HH:MM:SS` or ISO 8601 with an offset; a wall time that is ambiguous
or does not exist in the zone (DST) answers 400 in Django's shape. `consumption/today` answers a
bare JSON string while the local day has no reading. Where the docs leave the form open, the
config has a switch per plausible form (timestamps, decimals, the no-data answer).

A meter sends a reading every 10 s. Positions only grow: each hour has an energy (Wh) and gas
(litres) drawn once per instance from a seeded generator, positions are cumulative sums from
the meter's installation (`INSTALLED`), interpolated inside the hour. Tariff 1 is night
(23:00-07:00 local) and weekends. The gas meter's `extra_device_timestamp` moves hourly.
Statistics for a local day appear `stats_delay_h` hours after its local midnight, computed as
DSMR-reader does from the readings: an hour's electricity is its last reading minus its first,
so the 10-s step across each hour boundary is in no hour and the hours add up to less than the
day (first to last reading of the day); gas moves hourly, so its hours add up. The clock
(`now`) can be pinned so tests can let new readings "arrive".

Derived from the same model: quarter-hour peaks (one per finished quarter: its first and last
reading, 4 x the kWh between them), electricity consumption compacted per minute (the minute's
last reading), gas consumption per hourly position, a fixed contract history that prices the
day statistics, meter statistics and the monitoring issues (`unhealthy_instances`).

This module is the HTTP side (routes, paging links, settings); the meters are `meter_model.py`,
the servers' switches, authentication and readings `servers.py`, the other answers
`derived_answers.py`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime

import polars as pl
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pipelines.vendors.dsmr import derived_answers as answers
from pipelines.vendors.dsmr.meter_model import (  # tests and the benchmark import these from here
    DEFAULT_INSTANCES,
    DUPLICATE_EVERY,  # noqa: F401 - re-exported
    DUPLICATE_ID_BASE,  # noqa: F401 - re-exported
    DUPLICATE_POWER_DELTA_W,  # noqa: F401 - re-exported
    ApiError,
    MeterModel,
    SimInstance,  # noqa: F401 - re-exported
)
from pipelines.vendors.dsmr.servers import DsmrSimulator, DsmrSimulatorConfig, paging

SIMULATOR_PORT = 8703


def _env_name(instance: str) -> str:
    return f"DSMR_{instance.upper()}_API_KEY"


BASE_URL_ENV = "DSMR_INSTANCES"
# Each instance's key is in the variable its `api_key_env` names; these are the default names.
CREDENTIAL_ENV = tuple(_env_name(i.name) for i in DEFAULT_INSTANCES)
# What `make run` and `make ui` point the pipeline at when no real service is configured.
DEFAULT_ENV = {
    "DSMR_INSTANCES": json.dumps(
        [
            {
                "name": i.name,
                "base_url": f"http://127.0.0.1:{SIMULATOR_PORT}/{i.name}",
                "api_key_env": _env_name(i.name),
                "timezone": i.timezone,
            }
            for i in DEFAULT_INSTANCES
        ]
    ),
    **{_env_name(i.name): i.api_key for i in DEFAULT_INSTANCES},
}


def _page_body(request: Request, count: int, results_json: str) -> str:
    """DRF LimitOffsetPagination: full `next`/`previous` URLs that keep every other parameter."""
    offset, limit = paging(dict(request.query_params))
    url = request.url
    next_url = None
    if offset + limit < count:
        next_url = str(url.include_query_params(limit=limit, offset=offset + limit))
    previous = None
    if offset > 0:
        back = url.include_query_params(limit=limit)
        previous = str(
            back.remove_query_params("offset")
            if offset - limit <= 0
            else back.include_query_params(offset=offset - limit)
        )
    head = json.dumps({"count": count, "next": next_url, "previous": previous})
    return head[:-1] + ', "results": ' + results_json + "}"


def _results_json(frame: pl.DataFrame) -> str:
    return frame.write_json() if frame.height else "[]"


def config_at(now: datetime) -> DsmrSimulatorConfig:
    """The default instances with the clock pinned at `now` (repeatable `make run`)."""
    return DsmrSimulatorConfig(now=now)


# An endpoint of one authenticated instance.
MeterHandler = Callable[[Request, "MeterModel"], Awaitable[Response]]


def create_app(config: DsmrSimulatorConfig | None = None) -> Starlette:
    """The ASGI app; `app.state.simulator` exposes the simulated instances to tests."""
    simulator = DsmrSimulator(config)

    def guarded(handler: MeterHandler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            path = request.url.path.split("/api/v2/", 1)[-1]
            if path in simulator.config.failing_endpoints:
                return Response("Internal Server Error", status_code=500, media_type="text/plain")
            try:
                model = simulator.authenticate(request.path_params["instance"], dict(request.headers))
                return await handler(request, model)
            except ApiError as err:
                return JSONResponse(err.body, status_code=err.status)

        return endpoint

    async def readings(request: Request, model: MeterModel) -> Response:
        if request.method == "POST":
            if request.headers.get("content-type", "").startswith("application/json"):
                data = await request.json()
            else:
                data = {k: str(v) for k, v in (await request.form()).items()}
            return JSONResponse(simulator.post_reading(model, data), status_code=201)
        count, page = simulator.reading_page(model, dict(request.query_params))
        return Response(_page_body(request, count, _results_json(page)), media_type="application/json")

    def listing(fetch: Callable[[DsmrSimulator, MeterModel, dict[str, str]], pl.DataFrame]) -> MeterHandler:
        async def handler(request: Request, model: MeterModel) -> Response:
            params = dict(request.query_params)
            rows = fetch(simulator, model, params)
            offset, limit = paging(params)
            page = rows.slice(offset, limit)
            return Response(_page_body(request, rows.height, _results_json(page)), media_type="application/json")

        return handler

    async def today(request: Request, model: MeterModel) -> Response:
        return JSONResponse(answers.today(simulator, model))

    async def meter_statistics(request: Request, model: MeterModel) -> Response:
        return JSONResponse(answers.meter_statistics(simulator, model))

    async def monitoring(request: Request, model: MeterModel) -> Response:
        return JSONResponse(answers.monitoring(simulator, model))

    prefix = "/{instance}/api/v2"
    app = Starlette(
        routes=[
            Route(f"{prefix}/datalogger/dsmrreading", guarded(readings), methods=["GET", "POST"]),
            Route(f"{prefix}/statistics/hour", guarded(listing(answers.hour_stats))),
            Route(f"{prefix}/statistics/day", guarded(listing(answers.day_stats))),
            Route(f"{prefix}/consumption/today", guarded(today)),
            Route(f"{prefix}/consumption/quarter-hour-peak-electricity", guarded(listing(answers.quarter_hour_peaks))),
            Route(f"{prefix}/consumption/electricity", guarded(listing(answers.electricity_consumption))),
            Route(f"{prefix}/consumption/gas", guarded(listing(answers.gas_consumption))),
            Route(f"{prefix}/consumption/energy-supplier-prices", guarded(listing(answers.energy_supplier_prices))),
            Route(f"{prefix}/datalogger/meter-statistics", guarded(meter_statistics)),
            Route(f"{prefix}/application/monitoring", guarded(monitoring)),
        ]
    )
    app.state.simulator = simulator
    return app
