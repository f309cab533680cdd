"""A Bagtower API simulator that follows `bagtower-openapi.txt` (paths: see `paths.py`).

Authentication is the `x-api-key` header: the company key for every read, a device's own key
(`GET .../devices/{id}/key`) for `POST /logs`, the company's pool key for `POST /pool/logs`.
A missing or wrong key answers 403 `{"message": "Forbidden"}` as an API gateway does; other
errors are `{"code", "message"}` (the doc's error shape) with 400 or 404.

Unspecified by the doc, chosen here:
- device logs: `start` inclusive, `end` exclusive (epoch seconds). Without `raw` each metric id
  carries hourly `std` (population), `min`, `median`, `max`, `mean`, `sum` series (`x` = hour
  start) and, for `enum` metrics, `states` (`x` = instants the state changed, `y` = the state);
  with `raw=true` it carries `raw` (`x` = log instant, `y` = value) only.
- issues: `startts`/`stopts` select issues whose [startTs, stopTs] overlaps the window; by default
  open and closed issues, `archived=true` adds archived ones, `active=true` keeps only open ones,
  `closed=true` only closed ones. Issues carry `deviceId` (the create body has it; the
  documented response omits it).
- issue statistics: issues whose [startTs, stopTs] overlaps [startts, stopts], archived ones
  included; `duration` in seconds (an open issue counts up to `now`), `mttr` the mean duration of
  the closed ones; the summary's breakdown items carry the cause id under the doc's own spelling
  `casueid` (`statistics_cause_id_field` serves another), null for issues without a cause and for
  groups; `graphs` has one point per UTC day of the window (issues overlapping that day), the
  `previous*` values from the window of the same length just before.
- KPIs: `overall` uptime percentages (0-100) over the last 1/7/30/90/365 days; `devicesData`
  one item per device whose `dailyData` is the documented single object (today) or, the name
  suggesting it, a list of days (`kpi_daily_form`); times in seconds.
- `failing_endpoints` (endpoint names as `paths.endpoint_name`) answer 500 (isolation tests);
  `change_issue` changes an issue at a later instant (cause, solution, archive...).

Generated data is a pure function of (seed, ids, time) and the simulator's clock (`now`), so any
date can be served and an issue open at one `now` is closed at a later one. Pushed logs are kept
in memory and served with the generated ones. This module is the HTTP side; the fleet and the
config's switches are `fleet.py`, the simulated company `company.py`, its issues
`issue_history.py`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pipelines.simulation.answers import empty_response
from pipelines.vendors.bagtower import paths
from pipelines.vendors.bagtower.company import ApiError, BagtowerSimulator
from pipelines.vendors.bagtower.fleet import (  # the config and credentials are imported from here too
    API_KEY,
    COMPANY_ID,
    CREATED_TS,
    OPEN_STOP_TS,
    BagtowerSimulatorConfig,
)

SIMULATOR_PORT = 8705
BASE_URL_ENV = "BAGTOWER_BASE_URL"
CREDENTIAL_ENV = ("BAGTOWER_API_KEY",)
DEFAULT_ENV = {
    "BAGTOWER_BASE_URL": f"http://127.0.0.1:{SIMULATOR_PORT}{paths.BASE_PATH}",
    "BAGTOWER_API_KEY": API_KEY,
    "BAGTOWER_COMPANY_ID": COMPANY_ID,
}


def _epoch_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(float(raw))
    except ValueError:
        raise ApiError(400, f"{name} must be epoch seconds") from None


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in ("true", "1", "yes")


def config_at(now: datetime) -> BagtowerSimulatorConfig:
    """The default company with the clock pinned at `now` (repeatable `make run`)."""
    return BagtowerSimulatorConfig(now=now.timestamp())


def create_app(config: BagtowerSimulatorConfig | None = None) -> Starlette:
    """The ASGI app; `app.state.simulator` exposes the simulated company to tests."""
    sim = BagtowerSimulator(config)

    def read(template: str, handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            if paths.endpoint_name(template) in sim.config.failing_endpoints:
                return Response("Internal Server Error", status_code=500, media_type="text/plain")
            try:
                sim.authorize(request.headers, request.path_params.get("companyId", ""))
                body = handler(request, request.path_params)
                empty = body == [] or (isinstance(body, dict) and len(body) == 1 and [] in body.values())
                if empty and sim.config.empty_form != "list":
                    return empty_response(sim.config.empty_form)  # an empty list of results, another way
                return JSONResponse(body)
            except ApiError as err:
                return JSONResponse(err.body(), status_code=err.status)

        return endpoint

    def issues(request: Request, p: dict) -> list[dict]:
        found = sim.issues(_epoch_param(request, "startts", 0), _epoch_param(request, "stopts", sim.now))
        if _flag(request, "active"):
            return [i for i in found if i["stopTs"] == OPEN_STOP_TS]
        if _flag(request, "closed"):
            found = [i for i in found if i["stopTs"] != OPEN_STOP_TS]
        return found if _flag(request, "archived") else [i for i in found if not i["isArchived"]]

    def logs(request: Request, p: dict) -> list[dict]:
        device = sim.device(p["id"])
        end = _epoch_param(request, "end", sim.now)
        start = _epoch_param(request, "start", end - 86_400)
        if end < start:
            raise ApiError(400, "end must not be before start")
        # The doc does not say whether `start`/`end` are inclusive: `log_bounds` serves each reading.
        bounds = sim.config.log_bounds
        return sim.logs(device, start + (bounds[0] == "("), end + (bounds[1] == "]"), _flag(request, "raw"))

    def by_id(items: list[dict], key: str, what: str) -> Any:
        def handler(request: Request, p: dict) -> dict:
            for item in items:
                if item["id"] == p[key]:
                    return item
            raise ApiError(404, f"{what} {p[key]} not found", "NOT_FOUND")

        return handler

    async def post_log(request: Request) -> Response:
        try:
            body = await request.json()
            device = sim.device(str(body.get("deviceId", "")))
            if request.headers.get("x-api-key") != sim.device_key(device.id):
                raise ApiError(403, "Forbidden")
            return JSONResponse(sim.push(device, body))
        except ApiError as err:
            return JSONResponse(err.body(), status_code=err.status)
        except ValueError:
            return JSONResponse(ApiError(400, "body is not JSON").body(), status_code=400)

    async def post_pool_log(request: Request) -> Response:
        try:
            if request.headers.get("x-api-key") != sim.config.pool_key:
                raise ApiError(403, "Forbidden")
            if request.headers.get("company-id") != sim.config.company_id:
                raise ApiError(403, "Forbidden")
            device = sim.device(request.headers.get("sensor-id", ""))
            if not device.pool:
                raise ApiError(400, f"device {device.id} does not belong to the pool")
            return JSONResponse(sim.push(device, await request.json()))
        except ApiError as err:
            return JSONResponse(err.body(), status_code=err.status)
        except ValueError:
            return JSONResponse(ApiError(400, "body is not JSON").body(), status_code=400)

    reads = {
        paths.COMPANY: lambda r, p: sim.company(),
        paths.DEVICES: lambda r, p: {"Items": [sim.device_json(d) for d in sim.devices]},
        paths.DEVICE: lambda r, p: sim.device_json(sim.device(p["id"])),
        paths.DEVICE_KEY: lambda r, p: {
            "id": f"key-{sim.device(p['id']).index}",
            "name": "device key",
            "value": sim.device_key(p["id"]),
            "enabled": True,
        },
        paths.DEVICE_LOGS: logs,
        paths.DEVICE_ISSUES: lambda r, p: sim.issues(CREATED_TS, sim.now, sim.device(p["id"]).id),
        paths.ANNOTATIONS: lambda r, p: sim.annotations(sim.device(p["deviceId"])),
        paths.DATA_VIEWS: lambda r, p: sim.data_views(sim.device(p["deviceId"])),
        paths.GROUPS: lambda r, p: {"groups": sorted({d.group for d in sim.devices})},
        paths.MONITORS: lambda r, p: [sim.monitor_json(m) for m in sim.monitors],
        paths.MONITOR: lambda r, p: by_id([sim.monitor_json(m) for m in sim.monitors], "id", "monitor")(r, p),
        paths.ISSUES: issues,
        paths.ISSUE_STATISTICS: lambda r, p: sim.statistics(
            _epoch_param(r, "startts", sim.now - 30 * 86_400), _epoch_param(r, "stopts", sim.now)
        ),
        paths.ISSUE: lambda r, p: sim.issue(p["id"]),
        paths.ISSUE_EVENTS: lambda r, p: sim.issue_events(p["id"]),
        paths.CAUSES: lambda r, p: sim.causes,
        paths.CAUSE: by_id(sim.causes, "causeId", "cause"),
        paths.SOLUTIONS: lambda r, p: sim.solutions,
        paths.SOLUTION: by_id(sim.solutions, "solutionId", "solution"),
        paths.KANBAN_STAGES: lambda r, p: sim.kanban_stages(),
        paths.KPIS: lambda r, p: sim.kpis(only_overall="only_overall" in r.query_params),
    }
    routes = [Route(paths.BASE_PATH + path, read(path, handler), methods=["GET"]) for path, handler in reads.items()]
    routes.append(Route(paths.BASE_PATH + paths.LOGS, post_log, methods=["POST"]))
    routes.append(Route(paths.BASE_PATH + paths.POOL_LOGS, post_pool_log, methods=["POST"]))
    app = Starlette(routes=routes)
    app.state.simulator = sim
    return app
