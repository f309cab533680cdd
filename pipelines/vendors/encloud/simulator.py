"""An enCloud/enSite integration API simulator that follows `encore-encloud.md`.

- `GET /integration/users/authorise`: Basic auth (email, md5 of the password) of an API User;
  answers `{"user": {"auth_token", "name", "email"}}`. Unknown user 404 (ivenCode 9002), bad
  password 422 (ivenCode 9007). The token rotates: it goes stale after `token_lifetime_s`
  seconds or `token_max_uses` requests, and authorise then hands out a new one.
- `GET /integration/devices`: headers `Authorization: <auth_token>` and `API-KEY`; parameters as
  the doc lists them. Answers the devices' state as of `timestamp` (inclusive; 0 = now), sorted
  by `created_at` ASC then `device_uid`, so a page boundary does not move while values change.
- `POST/PUT/DELETE /integration/users` and the hot link (`/integration/hot link`, `/redirect`).

Left open by the doc, served in every plausible form: timestamps in answers (`created_at`,
`updated_at`, `last_seen`) are Unix seconds by default, or, by `timestamp_form`, epoch
milliseconds, ISO 8601 with `Z`, ISO 8601 with an offset, or a mix of all four from device to
device. Chosen here: `last_data` is a flat
object keyed by the requested key names (`{"cell.rssi": -71, "cell2.status": "connected"}`), null
for keys a device does not have; a stale or unknown token is 401 (ivenCode 9003), a wrong
API-KEY 403 (ivenCode 9004), a user who is not an API User 403 (ivenCode 9008); invalid
parameters are 400 in the doc's `{"status", "description", "ivenCode": 0}` shape; an unknown key
is 400 "Key <k> is not present"; devices created after `timestamp` are not listed.

Values are a pure function of (seed, device, key, report time), so any date can be served: the
fleet, its values and the config's switches are `fleet.py`.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from pipelines.simulation.answers import empty_response
from pipelines.vendors.encloud.fleet import (  # the config and accounts are imported from here too
    API_KEY,
    API_USER_EMAIL,
    API_USER_PASSWORD,
    CUSTOMERS,
    DEFAULT_KEYS,
    KNOWN_KEYS,
    LIMITS,
    STATES,
    TIMESTAMP_FORMS,
    EncloudSimulatorConfig,
    SimDevice,
    SimUser,
    build_fleet,
    format_timestamp,
    key_value,
    last_report,
    md5_hex,
)

SIMULATOR_PORT = 8704
BASE_URL_ENV = "ENCLOUD_BASE_URL"
CREDENTIAL_ENV = ("ENCLOUD_EMAIL", "ENCLOUD_PASSWORD", "ENCLOUD_API_KEY")
# What `make run` and `make ui` point the pipeline at when no real service is configured.
DEFAULT_ENV = {
    "ENCLOUD_BASE_URL": f"http://127.0.0.1:{SIMULATOR_PORT}",
    "ENCLOUD_EMAIL": API_USER_EMAIL,
    "ENCLOUD_PASSWORD": API_USER_PASSWORD,
    "ENCLOUD_API_KEY": API_KEY,
    "ENCLOUD_KEYS": DEFAULT_KEYS,
    "ENCLOUD_CUSTOMER_IDS": ",".join(CUSTOMERS),
}


class EncloudError(Exception):
    def __init__(self, status: int, description: str, iven_code: int = 0) -> None:
        self.status, self.description, self.iven_code = status, description, iven_code

    def response(self) -> Response:
        body = {"status": self.status, "description": self.description, "ivenCode": self.iven_code}
        return JSONResponse(body, status_code=self.status)


class EncloudSimulator:
    """State and behaviour of one simulated enCloud distributor account."""

    def __init__(self, config: EncloudSimulatorConfig | None = None) -> None:
        self.config = config or EncloudSimulatorConfig()
        self.devices = build_fleet(self.config)
        self.users: dict[str, SimUser] = {
            API_USER_EMAIL: SimUser(API_USER_EMAIL, "API User", "API_USER", md5_hex(API_USER_PASSWORD)),
            "admin@encloud-sim.test": SimUser(
                "admin@encloud-sim.test", "Admin", "ADMIN", md5_hex(API_USER_PASSWORD), CUSTOMERS[0]
            ),
        }
        self._token: str | None = None
        self._token_issued = 0.0
        self._token_uses = 0
        self.authorise_calls = 0
        self.hot_link_tokens: dict[str, tuple[str, str | None]] = {}  # token -> (email, device_uid)
        self.after_devices_page: Callable[[EncloudSimulator, int], None] | None = None  # test hook

    # -- authorisation -------------------------------------------------------------------------
    def _token_is_stale(self) -> bool:
        lifetime_over = time.monotonic() - self._token_issued > self.config.token_lifetime_s
        max_uses = self.config.token_max_uses
        return self._token is None or lifetime_over or (max_uses is not None and self._token_uses >= max_uses)

    def authorise(self, authorization: str | None) -> dict:
        self.authorise_calls += 1
        email, password_md5 = _basic_credentials(authorization)
        user = self.users.get(email)
        if user is None:
            raise EncloudError(404, "The user is not found.", 9002)
        if not password_md5 or not secrets.compare_digest(password_md5, user.password_md5):
            raise EncloudError(422, "Bad credentials.", 9007)
        if user.user_type != "API_USER":
            raise EncloudError(403, "Only users of type API User may use the API.", 9008)
        if self._token_is_stale():
            self._token, self._token_issued, self._token_uses = secrets.token_urlsafe(16), time.monotonic(), 0
        return {"user": {"auth_token": self._token, "name": user.name, "email": user.email}}

    def check(self, request: Request) -> None:
        token = request.headers.get("authorization", "")
        if self._token is None or self._token_is_stale() or not secrets.compare_digest(token, self._token):
            raise EncloudError(401, "The auth token is invalid or expired.", 9003)
        if not secrets.compare_digest(request.headers.get("api-key", ""), self.config.api_key):
            raise EncloudError(403, "The API-KEY is invalid.", 9004)
        self._token_uses += 1

    # -- device pull ---------------------------------------------------------------------------
    def devices_answer(self, params: dict[str, str]) -> dict:
        timestamp = _int_param(params, "timestamp", required=True)
        keys = [k.strip() for k in _required(params, "keys").split(",") if k.strip()]
        if not keys:
            raise EncloudError(400, "keys is not present")
        for key in keys:
            if key not in KNOWN_KEYS:
                raise EncloudError(400, f"Key {key} is not present")
        limit = _int_param(params, "limit") if params.get("limit") else self.config.default_limit
        if limit not in LIMITS:
            raise EncloudError(400, "limit must be one of 10, 25, 50, 100, -1")
        page = _int_param(params, "page") if params.get("page") else 1
        if page < 1:
            raise EncloudError(400, "page must be 1 or more")
        state = params.get("state") or None
        if state is not None and state not in STATES:
            raise EncloudError(400, f"state must be one of {', '.join(STATES)}")
        is_online = params.get("is_online") or None
        if is_online not in (None, "true", "false"):
            raise EncloudError(400, "is_online must be true or false")
        customer_id = params.get("customer_id") or None
        if customer_id is not None and customer_id not in CUSTOMERS:
            raise EncloudError(400, "Customer is not present")

        at = timestamp or int(time.time())
        existing = sorted((d for d in self.devices if d.created_at <= at), key=lambda d: (d.created_at, d.uid))
        wanted = {u.strip() for u in params.get("devices", "").split(",") if u.strip()}
        search = (params.get("search") or "").lower()
        rows = []
        for device in existing:
            seen = last_report(device, self.config.seed, at)
            online = seen is not None and at - seen <= 2 * device.frequency_s
            if (
                (wanted and device.uid not in wanted)
                or (customer_id and device.customer_id != customer_id)
                or (state and device.state != state)
                or (is_online and (is_online == "true") != online)
                or (search and search not in device.uid.lower() and search not in device.location_string.lower())
            ):
                continue
            rows.append((device, seen))
        chosen = rows if limit == -1 else rows[(page - 1) * limit : page * limit]
        return {
            "totalResults": len(existing),
            "totalFilteredResults": len(rows),
            "limit": limit,
            "page": page,
            "sort": "created_at",
            "sort_type": "ASC",
            "devices": [self._device_json(d, seen, keys) for d, seen in chosen],
        }

    def _device_json(self, device: SimDevice, seen: int | None, keys: list[str]) -> dict:
        seed, malformed, form = self.config.seed, self.config.malformed, self.config.timestamp_form
        if form == "mixed":
            form = TIMESTAMP_FORMS[int(hashlib.md5(device.uid.encode()).hexdigest(), 16) % len(TIMESTAMP_FORMS)]
        return {
            "device_uid": device.uid,
            "sim_id": device.sim_id,
            "location": [device.latitude, device.longitude],
            "frequency": device.frequency_s,
            "created_at": format_timestamp(device.created_at, form),
            "updated_at": format_timestamp(device.updated_at, form),
            "location_string": device.location_string,
            "state": device.state,
            "last_seen": format_timestamp(seen, form),
            "last_data": None if seen is None else {k: key_value(device, seed, k, seen, malformed) for k in keys},
        }

    # -- users and hot link --------------------------------------------------------------------
    def create_user(self, body: dict) -> dict:
        user = _user_object(body)
        user_type, customer_id, email = user.get("user_type"), user.get("customer_id"), user.get("email")
        if customer_id not in CUSTOMERS:
            raise EncloudError(400, "Customer ID is not present")
        if user_type not in ("ADMIN", "VIEWER"):
            raise EncloudError(400, "User Type is not present")
        if not email:
            raise EncloudError(400, "Email is not present")
        if email in self.users:
            raise EncloudError(400, "User with this email already exists.")
        self.users[email] = SimUser(email, str(user.get("name") or ""), user_type, customer_id=customer_id)
        return {"status": 200, "description": "User is created successfully."}

    def update_user(self, email: str | None, body: dict) -> dict:
        user = self._customer_user(email)
        changes = _user_object(body)
        if "user_type" in changes and changes["user_type"] not in ("ADMIN", "VIEWER"):
            raise EncloudError(400, "User Type is not present")
        new_email = changes.get("changed_email")
        if new_email and new_email != user.email and new_email in self.users:
            raise EncloudError(400, "User with this email already exists.")
        user.user_type = changes.get("user_type", user.user_type)
        user.name = changes.get("name", user.name)
        if new_email:
            del self.users[user.email]
            user.email = new_email
            self.users[new_email] = user
        return {"status": 200, "description": "User is updated successfully."}

    def delete_user(self, email: str | None) -> dict:
        user = self._customer_user(email)
        del self.users[user.email]
        return {"status": 200, "description": "User is deleted successfully."}

    def _customer_user(self, email: str | None) -> SimUser:
        user = self.users.get(email or "")
        if user is None or user.user_type == "API_USER":
            raise EncloudError(404, "Given User not found")
        return user

    def hot_link(self, params: dict[str, str]) -> dict:
        email, customer_id = params.get("email"), params.get("customer_id")
        if customer_id not in CUSTOMERS:
            raise EncloudError(400, "Customer is not present")
        if not email:
            raise EncloudError(400, "Email is not present")
        if email not in self.users:  # the doc: unknown users are created under the customer
            self.users[email] = SimUser(email, email.split("@")[0], "VIEWER", customer_id=customer_id)
        token = secrets.token_hex(16)
        self.hot_link_tokens[token] = (email, params.get("device_id") or None)
        return {"token": token}

    def redirect(self, token: str | None) -> Response:
        target = self.hot_link_tokens.pop(token or "", None)  # single use
        if target is None:
            return PlainTextResponse("404 Page Not Found", status_code=404)
        _, device_uid = target
        return RedirectResponse(f"/devices/{device_uid}" if device_uid else "/devices", status_code=302)


def _basic_credentials(authorization: str | None) -> tuple[str, str]:
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        raise EncloudError(404, "The user is not found.", 9002)
    try:
        email, _, password = base64.b64decode(encoded).decode().partition(":")
    except ValueError:
        raise EncloudError(404, "The user is not found.", 9002) from None
    return email, password


def _required(params: dict[str, str], name: str) -> str:
    value = params.get(name)
    if value is None or value == "":
        raise EncloudError(400, f"{name} is not present")
    return value


def _int_param(params: dict[str, str], name: str, required: bool = False) -> int:
    raw = _required(params, name) if required else params.get(name, "")
    try:
        return int(raw)
    except ValueError:
        raise EncloudError(400, f"{name} must be an integer") from None


def _user_object(body: object) -> dict:
    user = body.get("user") if isinstance(body, dict) else None
    if not isinstance(user, dict):
        raise EncloudError(400, "user is not present")
    return user


def create_app(config: EncloudSimulatorConfig | None = None) -> Starlette:
    """The ASGI app; `app.state.simulator` exposes the simulated account to tests."""
    simulator = EncloudSimulator(config)

    async def json_body(request: Request) -> dict:
        try:
            body = await request.json()
        except ValueError:
            raise EncloudError(400, "user is not present") from None
        if not isinstance(body, dict):
            raise EncloudError(400, "user is not present")
        return body

    async def endpoint(request: Request) -> Response:
        path, method = request.url.path, request.method
        params = dict(request.query_params)
        try:
            if path == "/integration/users/authorise":
                return JSONResponse(simulator.authorise(request.headers.get("authorization")))
            if path == "/redirect":
                return simulator.redirect(params.get("token"))
            simulator.check(request)
            if path == "/integration/devices":
                answer = simulator.devices_answer(params)
                if simulator.after_devices_page is not None:
                    simulator.after_devices_page(simulator, answer["page"])
                if not answer["devices"] and simulator.config.empty_form != "list":
                    return empty_response(simulator.config.empty_form)  # no device, answered another way
                return JSONResponse(answer)
            if path == "/integration/hot link":
                return JSONResponse(simulator.hot_link(params))
            if method == "POST":
                return JSONResponse(simulator.create_user(await json_body(request)))
            if method == "PUT":
                return JSONResponse(simulator.update_user(params.get("email"), await json_body(request)))
            return JSONResponse(simulator.delete_user(params.get("email")))
        except EncloudError as err:
            return err.response()
        except Exception:  # the doc's 500: "enCloud related error"
            return PlainTextResponse("Internal Server Error", status_code=500)

    app = Starlette(
        routes=[
            Route("/integration/users/authorise", endpoint, methods=["GET"]),
            Route("/integration/devices", endpoint, methods=["GET"]),
            Route("/integration/users", endpoint, methods=["POST", "PUT", "DELETE"]),
            Route("/integration/hot link", endpoint, methods=["GET"]),
            Route("/redirect", endpoint, methods=["GET"]),
        ]
    )
    app.state.simulator = simulator
    return app
