"""Every vendor simulator, by vendor name: its app factory, default port and default settings.

A vendor's `simulator` module provides `create_app(config=None)`, `SIMULATOR_PORT`,
`DEFAULT_ENV` (setting name -> value pointing at the simulator on `http://127.0.0.1:<SIMULATOR_PORT>`),
`BASE_URL_ENV` (where the vendor is) and `CREDENTIAL_ENV` (who we are to it); one whose data
follows the clock also provides `config_at(now)`, a config with that clock pinned.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipelines.vendors import VENDORS

VENDOR_SIMULATORS = {vendor: f"pipelines.vendors.{vendor}.simulator" for vendor in VENDORS}


@dataclass(frozen=True)
class SimulatorSpec:
    vendor: str
    create_app: Callable[..., Any]
    port: int
    default_env: dict[str, str]  # settings that point the pipeline at this simulator
    base_url_env: str  # the setting that decides whether the real service is used instead
    credential_env: tuple[str, ...]  # the settings a 401/403 from the vendor points at
    config_at: Callable[[datetime], Any] | None  # a config with the clock pinned, if it has one

    def env_for_port(self, port: int) -> dict[str, str]:
        """`default_env` pointing at a simulator listening on `port` instead of `self.port`."""
        default_address, address = f"http://127.0.0.1:{self.port}", f"http://127.0.0.1:{port}"
        return {name: value.replace(default_address, address) for name, value in self.default_env.items()}


def simulator_spec(vendor: str) -> SimulatorSpec:
    module = importlib.import_module(VENDOR_SIMULATORS[vendor])
    return SimulatorSpec(
        vendor,
        module.create_app,
        module.SIMULATOR_PORT,
        module.DEFAULT_ENV,
        module.BASE_URL_ENV,
        module.CREDENTIAL_ENV,
        getattr(module, "config_at", None),
    )


def all_specs() -> list[SimulatorSpec]:
    return [simulator_spec(v) for v in VENDOR_SIMULATORS]
