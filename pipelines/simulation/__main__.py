"""Serve vendor simulators on 127.0.0.1 in the foreground: `python -m pipelines.simulation`."""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading

from pipelines.simulation.faults import CONTENT_FAULT_KINDS, FAULT_KINDS, FaultConfig
from pipelines.simulation.registry import VENDOR_SIMULATORS, simulator_spec
from pipelines.simulation.server import SimulatorServer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vendor", action="append", choices=sorted(VENDOR_SIMULATORS), help="default: all")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of requests that meet a fault")
    kinds = ", ".join(FAULT_KINDS + CONTENT_FAULT_KINDS)
    parser.add_argument("--fault-kinds", default=",".join(FAULT_KINDS), help=f"comma list of {kinds}")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault stream")
    args = parser.parse_args()
    servers = []
    for vendor in args.vendor or list(VENDOR_SIMULATORS):
        spec = simulator_spec(vendor)
        faults = FaultConfig(rate=args.fault_rate, kinds=tuple(args.fault_kinds.split(",")), seed=args.seed)
        servers.append(SimulatorServer(spec.create_app(), faults, port=spec.port).start())
        print(f"{vendor} simulator on {servers[-1].url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    for server in servers:
        server.stop()


if __name__ == "__main__":
    main()
