"""Fault injection shared by every vendor simulator, as ASGI middleware.

Each request draws from one seeded random stream, so a run with the same seed and the same
sequence of requests meets the same faults.
"""

from __future__ import annotations

import asyncio
import random
import threading
from dataclasses import dataclass, field
from typing import Any

FAULT_KINDS = ("500", "502", "503", "429", "slow", "truncate", "drop")

Scope = dict[str, Any]


@dataclass
class FaultConfig:
    rate: float = 0.0
    kinds: tuple[str, ...] = FAULT_KINDS
    seed: int = 0
    slow_s: float = 3.0  # longer than the client timeout the tests use
    retry_after_s: int = 1
    injected: dict[str, int] = field(default_factory=dict)  # kind -> count, for tests and logs

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {FAULT_KINDS}")


class FaultInjector:
    """Wraps an ASGI app; with probability `rate` a request meets one of the configured faults."""

    def __init__(self, app: Any, config: FaultConfig) -> None:
        self.app, self.config = app, config
        self._rng = random.Random(config.seed)
        self._lock = threading.Lock()

    def _draw(self) -> str | None:
        with self._lock:
            hit = self._rng.random() < self.config.rate
            kind = self._rng.choice(self.config.kinds) if self.config.kinds else None
        if not hit or kind is None:
            return None
        self.config.injected[kind] = self.config.injected.get(kind, 0) + 1
        return kind

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        kind = self._draw() if scope["type"] == "http" else None
        if kind is None:
            await self.app(scope, receive, send)
        elif kind in ("500", "502", "503", "429"):
            await _error(send, int(kind), self.config.retry_after_s)
        elif kind == "slow":
            await asyncio.sleep(self.config.slow_s)
            await self.app(scope, receive, send)
        elif kind == "truncate":
            await _truncated(send)
        else:
            _abort(send)


async def _error(send: Any, status: int, retry_after_s: int) -> None:
    body = b'{"error":"injected fault"}'
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 429:
        headers.append((b"retry-after", str(retry_after_s).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _transport(send: Any) -> asyncio.Transport | None:
    # uvicorn hands the app its RequestResponseCycle.send; the cycle owns the socket transport.
    return getattr(getattr(send, "__self__", None), "transport", None)


async def _truncated(send: Any) -> None:
    """Headers promise 4 KiB of JSON; half a record arrives, then the connection closes."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"historics":[{"tagRef', "more_body": True})
    _abort(send)


def _abort(send: Any) -> None:
    transport = _transport(send)
    if transport is None:
        raise ConnectionAbortedError("injected dropped connection")
    transport.abort()
