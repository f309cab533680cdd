"""Run a vendor simulator app with uvicorn, in a background thread or in the foreground."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from pipelines.simulation.faults import FaultConfig, FaultInjector


class SimulatorServer:
    """A uvicorn server on 127.0.0.1 in a daemon thread; `port=0` picks a free port."""

    def __init__(self, app: Any, faults: FaultConfig | None = None, port: int = 0) -> None:
        self.faults = faults or FaultConfig()
        self.app = app
        config = uvicorn.Config(
            FaultInjector(app, self.faults),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
            timeout_keep_alive=30,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def port(self) -> int:
        return self._server.servers[0].sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> SimulatorServer:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"simulator did not start on 127.0.0.1:{self._server.config.port}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


@contextmanager
def running(app: Any, faults: FaultConfig | None = None, port: int = 0) -> Iterator[SimulatorServer]:
    server = SimulatorServer(app, faults, port).start()
    try:
        yield server
    finally:
        server.stop()
