"""A vendor simulator behind a page cache, in its own process, so it is not what the bench measures.

The first request for a page renders it with the real simulator (same auth, same bytes, same
`next` links); later requests for it are answered from memory. `GET /_bench/cpu` tells the CPU
seconds the server process has used, so the bench can report the simulator's share of a run.

python -m bench.simserver --devices-per-contract 10 --interval-s 10 [--no-cache]   BAXO
python -m bench.simserver --dsmr-instances 116 [--no-cache]                        DSMR readings
prints `PORT <n>` once it listens.
"""

from __future__ import annotations

import argparse
import socket
import sys
import time

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pipelines.vendors.baxo.simulator import BaxoError, BaxoSimulator, BaxoSimulatorConfig
from pipelines.vendors.dsmr import simulator as dsmr

DSMR_API_KEY = "dsmr-bench-key"  # one key for every bench instance: dlt's rest_api takes one client header
DSMR_TIMEZONE = "Europe/Amsterdam"


def dsmr_instances(count: int) -> tuple[dsmr.SimInstance, ...]:
    """`count` three-phase meters with gas, the bench's DSMR fleet (one meter = 8,640 readings a day)."""
    return tuple(dsmr.SimInstance(f"m{i:03d}", DSMR_TIMEZONE, DSMR_API_KEY, phase_s=i % 10) for i in range(count))


def create_cached_app(config: BaxoSimulatorConfig, cache: bool = True) -> Starlette:
    simulator = BaxoSimulator(config)
    pages: dict[tuple, bytes] = {}

    async def k1(request: Request) -> Response:
        params = dict(request.query_params)
        if request.method == "POST":
            params.update({k: str(v) for k, v in (await request.form()).items()})
        key = tuple(sorted((k, v) for k, v in params.items() if k != "password"))
        try:
            if key in pages:
                simulator._authenticate(params)  # the cache skips rendering, never the credentials
                return Response(pages[key], media_type="application/json")
            body = simulator.handle(params, str(request.url.replace(query="")))
        except BaxoError as err:
            return JSONResponse({"error": err.message}, status_code=err.status)
        if body is not None and "__raw__" in body:
            raw = body["__raw__"].encode()
            if cache:
                pages[key] = raw
            return Response(raw, media_type="application/json")
        return JSONResponse(body)

    return Starlette(routes=[Route("/k1", k1, methods=["GET", "POST"]), _cpu_route(pages)])


def create_cached_dsmr_app(instances: int, cache: bool = True) -> Starlette:
    """DSMR readings pages (limit/offset or keyset, as asked) rendered by the real simulator, cached."""
    simulator = dsmr.DsmrSimulator(dsmr.DsmrSimulatorConfig(instances=dsmr_instances(instances)))
    pages: dict[tuple, bytes] = {}

    async def readings(request: Request) -> Response:
        params = dict(request.query_params)
        key = (request.path_params["instance"], tuple(sorted(params.items())))
        try:
            model = simulator.authenticate(request.path_params["instance"], dict(request.headers))
        except dsmr.ApiError as err:  # the cache skips rendering, never the credentials
            return JSONResponse(err.body, status_code=err.status)
        if key not in pages:
            count, page = simulator.reading_page(model, params)
            body = dsmr._page_body(request, count, dsmr._results_json(page)).encode()
            if not cache:
                return Response(body, media_type="application/json")
            pages[key] = body
        return Response(pages[key], media_type="application/json")

    route = Route("/{instance}/api/v2/datalogger/dsmrreading", readings)
    return Starlette(routes=[route, _cpu_route(pages)])


def _cpu_route(pages: dict) -> Route:
    async def cpu(request: Request) -> Response:
        return JSONResponse({"cpu_s": time.process_time(), "cached_pages": len(pages)})

    return Route("/_bench/cpu", cpu)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices-per-contract", type=int)
    parser.add_argument("--interval-s", type=int)
    parser.add_argument("--dsmr-instances", type=int, help="serve DSMR readings of this many meters instead")
    parser.add_argument("--no-cache", action="store_true")
    args = parser.parse_args()
    if args.dsmr_instances:
        app = create_cached_dsmr_app(args.dsmr_instances, cache=not args.no_cache)
    else:
        config = BaxoSimulatorConfig(devices_per_contract=args.devices_per_contract, interval_s=args.interval_s)
        app = create_cached_app(config, cache=not args.no_cache)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)  # connections queue from here on, so the port is usable once printed
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, timeout_keep_alive=60))
    server.run(sockets=[sock])
    sys.exit(0)


if __name__ == "__main__":
    main()
