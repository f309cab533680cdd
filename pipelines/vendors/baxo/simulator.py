"""A BAXO Connect API simulator that follows `baxo-connect.fr.md`.

One endpoint, `/k1`, answers every service chosen by `get=`, by GET or POST (form body), always
in JSON. Authentication is `username` + `password`; the password may be left out on later
requests of the same (UTC) day once it has been given. The doc leaves error bodies and codes
unspecified: this simulator answers `{"error": "<message>"}` with 400 (bad parameters),
401 (credentials), 403 (API not enabled) and 404 (unknown contract or device).

Timestamps count seconds from 2000-01-01T00:00:00Z and are UTC. Historics are ordered by
device (in request order), tag, then time, and cut into pages of 10,000 rows; a page that is not
the last carries `next`, the full URL of the following page (the password is never in it).
`startTime` and `endTime` are both inclusive.

Data is a pure function of (seed, device, tag, timestamp), so any date can be served and
backfilled, and tests can predict the rows: the fleet, its values and the config's switches are
`fleet.py`.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import NamedTuple
from urllib.parse import urlencode

import numpy as np
import polars as pl
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pipelines.simulation.answers import empty_response, empty_value
from pipelines.vendors.baxo.fleet import (  # the config, fleet and credentials are imported from here too
    CORRECTION,
    PASSWORD,
    TAG_MODELS,
    UNKNOWN_TAG,  # noqa: F401 - re-exported: tests name the unmapped tag from here
    USERNAME,
    BaxoSimulatorConfig,
    SimContract,
    SimDevice,
    build_fleet,
    tag_noise,
    tag_values,
)
from pipelines.vendors.baxo.timebase import BAXO_EPOCH_UNIX_S

SIMULATOR_PORT = 8701
BASE_URL_ENV = "BAXO_BASE_URL"
CREDENTIAL_ENV = ("BAXO_USERNAME", "BAXO_PASSWORD")
# What `make run` and `make ui` point the pipeline at when no real service is configured.
DEFAULT_ENV = {
    "BAXO_BASE_URL": f"http://127.0.0.1:{SIMULATOR_PORT}/k1",
    "BAXO_USERNAME": USERNAME,
    "BAXO_PASSWORD": PASSWORD,
}


class BaxoError(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status, self.message = status, message


class BaxoSimulator:
    """State and behaviour of one simulated BAXO Connect account."""

    def __init__(self, config: BaxoSimulatorConfig | None = None) -> None:
        self.config = config or BaxoSimulatorConfig()
        self.contracts, self.devices = build_fleet(self.config)
        self.authenticated: set[tuple[str, str]] = set()  # (username, UTC day) with a password given
        self.requests_with_password = 0
        self.tag_writes: list[dict[str, str]] = []

    # -- helpers -------------------------------------------------------------------------------
    def _authenticate(self, params: dict[str, str]) -> None:
        if not self.config.api_enabled:
            raise BaxoError(403, "La fonctionnalité API n'est pas activée pour ce compte.")
        username, password = params.get("username"), params.get("password")
        today = datetime.now(UTC).date().isoformat()
        if username != self.config.username:
            raise BaxoError(401, "Identifiants invalides.")
        if password is None:
            if (username, today) not in self.authenticated:
                raise BaxoError(401, "Mot de passe requis pour la première requête de la journée.")
            return
        self.requests_with_password += 1
        if password != self.config.password:
            raise BaxoError(401, "Identifiants invalides.")
        self.authenticated.add((username, today))

    def _contract(self, params: dict[str, str]) -> SimContract:
        contract_id = _required(params, "contractId")
        for contract in self.contracts:
            if contract.id == contract_id:
                return contract
        raise BaxoError(404, f"Contrat inconnu : {contract_id}")

    def _devices(self, params: dict[str, str], contract: SimContract) -> tuple[list[SimDevice], bool]:
        """The requested devices and whether several were asked (`deviceIdentifiers`)."""
        if "deviceIdentifiers" in params:
            ids, multi = [i.strip() for i in params["deviceIdentifiers"].split(",") if i.strip()], True
        else:
            ids, multi = [_required(params, "deviceId")], False
        known = {d.id: d for d in self.devices if d.contract_id == contract.id}
        missing = [i for i in ids if i not in known]
        if missing:
            raise BaxoError(404, f"Appareil inconnu : {', '.join(missing)}")
        return [known[i] for i in ids], multi

    def _mixed_up(self, device: SimDevice) -> SimDevice:
        """With `wrong_device`, the contract's first device is answered by its second one."""
        siblings = [d for d in self.devices if d.contract_id == device.contract_id]
        if self.config.wrong_device and device is siblings[0] and len(siblings) > 1:
            return siblings[1]
        return device

    # -- services ------------------------------------------------------------------------------
    def handle(self, params: dict[str, str], url: str) -> dict | None:
        self._authenticate(params)
        service = params.get("get")
        if service == "contracts":
            return {"contracts": [_contract_json(c) for c in self.contracts]}
        contract = self._contract(params)
        if service == "devices":
            return {"devices": [_device_json(d) for d in self.devices if d.contract_id == contract.id]}
        devices, multi = self._devices(params, contract)
        if service == "device":
            return {"device": _device_json(self._mixed_up(devices[0]))}
        tags = _tag_filter(params)
        if service == "devices-realtimes":
            return {"logs": self._realtimes(devices, tags, multi)}
        if service == "devices-historics":
            return self._historics(params, devices, tags, multi, url)
        if service == "devices-tags-write":
            self.tag_writes.append(
                {"deviceId": devices[0].id, "tagRef": _required(params, "tagRef"), "value": _required(params, "value")}
            )
            return None
        raise BaxoError(400, f"Service inconnu : get={service}")

    def _realtimes(self, devices: list[SimDevice], tags: set[str] | None, multi: bool) -> list[dict]:
        now = int((self.config.now or datetime.now(UTC)).timestamp()) - BAXO_EPOCH_UNIX_S
        logs = []
        for device in devices:
            if device.status == 1:
                continue
            t = now - now % device.interval_s
            for tag in device.tags:
                if tags is not None and tag not in tags:
                    continue
                value = tag_values(self.config.seed, device, tag, np.array([t]))[0]
                row = {"tagReference": tag, "value": value, "timestamp": t, "isEvent": TAG_MODELS[tag].kind == "event"}
                logs.append({"deviceIdentifiant": device.id, **row} if multi else row)
        return logs

    def series_counts(self, devices: list[SimDevice], tags: set[str] | None, start: int, end: int) -> list[Series]:
        """Every series a historics walk serves for [start, end], in page order."""
        out = []
        for device in devices:
            if device.status == 1:
                continue
            for tag in device.tags:
                if tags is None or tag in tags:
                    out.append(_series(device, tag, start, end, device.interval_s))
        # The doc does not say a logger never sends a timestamp twice: with `corrected_values`,
        # each hourly value of the first device's TEMP_1 comes again, CORRECTION higher (one key,
        # two values), counted in the pages' rows like any other.
        at = next((i for i, s in enumerate(out) if s.device.index == 0 and s.tag == "TEMP_1"), None)
        if at is not None and self.config.corrected_values == "next_to":  # each right after the first
            out[at] = out[at]._replace(resent_hourly=True)
        elif at is not None and self.config.corrected_values == "at_end":
            # after every other series, so on a later page than the values they correct
            step = math.lcm(out[at].device.interval_s, 3_600)
            out.append(_series(out[at].device, "TEMP_1", start, end, step)._replace(corrected=True))
        return out

    def _historics(
        self, params: dict[str, str], devices: list[SimDevice], tags: set[str] | None, multi: bool, url: str
    ) -> dict:
        start, end = _int(params, "startTime"), _int(params, "endTime")
        if end < start:
            raise BaxoError(400, "endTime doit être postérieur à startTime.")
        # The doc does not say whether the bounds are inclusive: `time_bounds` serves each reading.
        start += self.config.time_bounds[0] == "("
        end -= self.config.time_bounds[1] == ")"
        page = _int(params, "page") if "page" in params else 1
        # A hostile service may repeat the previous page's last rows (`page_overlap`).
        overlap = self.config.page_overlap if page > 1 else 0
        offset, remaining = (page - 1) * self.config.page_rows - overlap, self.config.page_rows
        groups: list[str] = []
        series = self.series_counts(devices, tags, start, end)
        total = sum(s.rows for s in series)
        for one in series:
            if offset >= one.rows:
                offset -= one.rows
                continue
            take = min(one.rows - offset, remaining)
            t, corrected = one.times(offset, take)
            groups.append(self._history_group(one.device, one.tag, t, multi, corrected))
            remaining -= take
            offset = 0
            if remaining == 0:
                break
        body = {"historics": "__GROUPS__"}
        if page * self.config.page_rows < total or self.config.endless_pages:
            next_params = {k: v for k, v in params.items() if k != "password"} | {"page": str(page + 1)}
            body["next"] = f"{url}?{urlencode(next_params)}"
        return {"__raw__": json.dumps(body).replace('"__GROUPS__"', "[" + ",".join(groups) + "]")}

    def _history_group(self, device: SimDevice, tag: str, t: np.ndarray, multi: bool, corrected: np.ndarray) -> str:
        values = tag_values(self.config.seed, device, tag, t)
        if corrected.any():
            higher = (values.cast(pl.Float64) + CORRECTION).cast(pl.String)
            values = values.zip_with(pl.Series(~corrected), higher)
        u = tag_noise(self.config.seed + 1, device.index, tag, t)
        logs = pl.DataFrame(
            {"value": values, "timestamp": pl.Series(t, dtype=pl.Int64), "source": np.where(u < 0.1, 2, 1)}
        )
        if self.config.malformed and tag == "TEMP_1":
            step = pl.Series(t // device.interval_s) % 97
            logs = logs.with_columns(
                value=pl.when(step == 13).then(pl.lit("#ERR")).otherwise(pl.col("value")),
                timestamp=pl.when(step == 41).then(None).otherwise(pl.col("timestamp")),
            )
        head = {"tagReference": tag, "deviceIdentifier": device.id} if multi else {"tagReference": tag}
        return json.dumps(head)[:-1] + ',"logs":' + logs.write_json() + "}"


class Series(NamedTuple):
    """One group of a historics walk: the values of `tag` on `device` at `instants` times from
    `first`, every `step` seconds. `corrected`: each CORRECTION higher than the value first sent;
    `resent_hourly`: each hourly value followed by a corrected copy (both among its rows)."""

    device: SimDevice
    tag: str
    first: int
    instants: int
    step: int
    corrected: bool = False
    resent_hourly: bool = False

    @property
    def rows(self) -> int:
        return len(self.times()[0]) if self.resent_hourly else self.instants

    def times(self, offset: int = 0, take: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The timestamps of rows [offset, offset + take) and which of them are corrected copies."""
        if not self.resent_hourly:
            end = self.instants if take is None else offset + take
            t = self.first + self.step * np.arange(offset, end, dtype=np.int64)
            return t, np.full(len(t), self.corrected)
        base = self.first + self.step * np.arange(self.instants, dtype=np.int64)  # a day or so: built whole
        t = np.repeat(base, np.where(base % 3_600 == 0, 2, 1))
        copy = np.zeros(len(t), dtype=bool)
        copy[1:] = t[1:] == t[:-1]
        end = len(t) if take is None else offset + take
        return t[offset:end], copy[offset:end]


def _series(device: SimDevice, tag: str, start: int, end: int, step: int) -> Series:
    first = start + (-start) % step
    return Series(device, tag, first, 0 if first > end else (end - first) // step + 1, step)


def _required(params: dict[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise BaxoError(400, f"Paramètre manquant : {name}")
    return value


def _int(params: dict[str, str], name: str) -> int:
    try:
        return int(_required(params, name))
    except ValueError:
        raise BaxoError(400, f"Paramètre invalide : {name}") from None


def _tag_filter(params: dict[str, str]) -> set[str] | None:
    raw = params.get("tagReferences")
    return {t.strip() for t in raw.split(",") if t.strip()} if raw else None


def _contract_json(c: SimContract) -> dict:
    return {
        "id": c.id,
        "reference": c.reference,
        "company": c.company,
        "details": c.details,
        "contactEmail": c.contact_email,
    }


def _device_json(d: SimDevice) -> dict:
    return {"id": d.id, "name": d.name, "details": d.details, "status": d.status, "timezone": d.timezone}


def _empty_answer(key: str, form: str) -> Response:
    """`{key: []}` by default; the other forms leave out the key or the whole body."""
    if form in ("no_content", "null", "string"):
        return empty_response(form)
    return JSONResponse({key: empty_value(form)} if form == "list" else {})


def config_at(now: datetime) -> BaxoSimulatorConfig:
    """The default fleet with the real-time values' clock pinned at `now` (repeatable `make run`)."""
    return BaxoSimulatorConfig(now=now)


def create_app(config: BaxoSimulatorConfig | None = None) -> Starlette:
    """The ASGI app; `app.state.simulator` exposes the simulated account to tests."""
    simulator = BaxoSimulator(config)

    async def k1(request: Request) -> Response:
        params = dict(request.query_params)
        if request.method == "POST":
            params.update({k: str(v) for k, v in (await request.form()).items()})
        try:
            body = simulator.handle(params, str(request.url.replace(query="")))
        except BaxoError as err:
            return JSONResponse({"error": err.message}, status_code=err.status)
        if body is None:
            return Response(status_code=200)
        if "__raw__" in body:
            return Response(body["__raw__"], media_type="application/json")
        if len(body) == 1 and next(iter(body.values())) == []:  # an empty list of results
            return _empty_answer(next(iter(body)), simulator.config.empty_form)
        return JSONResponse(body)

    app = Starlette(routes=[Route("/k1", k1, methods=["GET", "POST"])])
    app.state.simulator = simulator
    return app
