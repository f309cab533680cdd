"""Fault injection shared by every vendor simulator, as ASGI middleware.

Each request draws from one seeded random stream, so a run with the same seed and the same
sequence of requests meets the same faults.

Besides transport faults, `wrong_type` answers normally but with one value of one record
replaced by a wrongly typed one (text where a number belongs, an object where a value
belongs): the value goes in a field named in `wrong_type_fields`, which each test chooses for
the vendor it drives (a field the pipeline types, not a free-text one).
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

# Transport faults (the default): a client that retries gets the same answer as without them.
FAULT_KINDS = ("500", "502", "503", "429", "slow", "truncate", "drop")
# Faults in what a successful answer says: asked for by name.
CONTENT_FAULT_KINDS = ("wrong_type",)

Scope = dict[str, Any]


@dataclass
class FaultConfig:
    rate: float = 0.0
    kinds: tuple[str, ...] = FAULT_KINDS
    seed: int = 0
    slow_s: float = 3.0  # longer than the client timeout the tests use
    retry_after_s: int = 1
    injected: dict[str, int] = field(default_factory=dict)  # kind -> count, for tests and logs
    wrong_type_fields: tuple[str, ...] = ()  # fields `wrong_type` may put a wrong value in
    wrong_values: tuple[object, ...] = ("abc", {"unexpected": "object"})
    wrong_typed: list[tuple[str, object]] = field(default_factory=list)  # (field, value) served

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - {*FAULT_KINDS, *CONTENT_FAULT_KINDS}
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {FAULT_KINDS + CONTENT_FAULT_KINDS}")


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
        elif kind == "wrong_type":
            await self.app(scope, receive, _Rewriting(send, self._mistype))
        else:
            _abort(send)

    def _mistype(self, body: bytes) -> bytes:
        """The JSON answer with one value of one record wrongly typed (unchanged if it has none)."""
        try:
            document = json.loads(body)
        except ValueError:
            return body
        slots = list(_value_slots(document, set(self.config.wrong_type_fields)))
        if not slots:
            return body
        with self._lock:
            (container, key, name), value = self._rng.choice(slots), self._rng.choice(self.config.wrong_values)
        container[key] = value
        self.config.wrong_typed.append((name, value))
        return json.dumps(document).encode()


def _value_slots(node: object, fields: set[str], in_list: bool = False) -> Iterator[tuple[Any, Any, str]]:
    """(container, key, field) of each non-null value of a field in `fields` of a record (an
    object inside a list, at any depth), or of one element of such a field's list of values."""
    if isinstance(node, list):
        for item in node:
            yield from _value_slots(item, fields, in_list=True)
    elif isinstance(node, dict):
        for name, value in node.items():
            if in_list and name in fields and isinstance(value, list):
                yield from ((value, i, name) for i, v in enumerate(value) if v is not None and not isinstance(v, list))
            elif in_list and name in fields and value is not None and not isinstance(value, dict):
                yield node, name, name
            else:
                yield from _value_slots(value, fields, in_list)


class _Rewriting:
    """An ASGI `send` that holds a successful answer's body and sends it rewritten."""

    def __init__(self, send: Any, rewrite: Any) -> None:
        self.send, self.rewrite = send, rewrite
        self.start: dict[str, Any] | None = None
        self.chunks: list[bytes] = []

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.start = message
            return
        if message["type"] != "http.response.body" or self.start is None:
            await self.send(message)
            return
        self.chunks.append(message.get("body", b""))
        if message.get("more_body"):
            return
        body = b"".join(self.chunks)
        if self.start["status"] == 200:
            body = self.rewrite(body)
        headers = [(k, v) for k, v in self.start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await self.send({**self.start, "headers": headers})
        await self.send({"type": "http.response.body", "body": body})


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
