"""A Primayer Phocus/Enigma Data API simulator that follows `primayer-phocus-enigma.md`.

All eight methods, each a GET whose last path segment is the token:
`/logger/{serial}/{begin}/{end}`, `/logger/info/...`, `/logger/signal/...`,
`/group/summary/{date}`, `/group/{id}/{date}`, `/group/audio/{id}/{date}`,
`/report/logger/{date}` (CSV) and `/report/dma/{begin}/{end}` (CSV, `yyyy-MM-dd HH:mm`).

Unspecified by the doc, chosen here:
- a wrong token answers 401; an unknown serial or group 404; a bad date 400. Error bodies are
  plain text that echo the request path, token included, as careless services do (so the
  client's redaction is exercised).
- timestamps are local times of the fleet's zone without offset (`yyyy-MM-dd HH:mm`).
- `begin` is inclusive and `end` exclusive, both at local midnight: `/2021-01-01/2021-01-02/`
  is one local day. The DMA report's `begin`/`end` are read the same way, to the minute.
- the leak list spells its date `timestamp` and its loggers as numbers (the doc's example)
  unless configured to follow the doc's schema (`date`, strings); audio is an integer array
  unless `audio_as_base64` (what a .NET `byte[]` serializes to by default).

Data is a pure function of (seed, serial, time), so any date can be served: the fleet, its data
and the config's switches are `fleet.py`.
"""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from pipelines.simulation.answers import empty_response
from pipelines.vendors.primayer.fleet import (  # the config and token are imported from here too
    GROUP_NAMES,
    TIMEZONE,
    TOKEN,
    PrimayerSimulatorConfig,
    SimLogger,
    build_fleet,
    group_leaks,
    histogram_counts,
    local_strings,
    unit_noise,
)

SIMULATOR_PORT = 8702
BASE_URL_ENV = "PRIMAYER_BASE_URL"
CREDENTIAL_ENV = ("PRIMAYER_TOKEN",)


class PrimayerError(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status, self.message = status, message


class PrimayerSimulator:
    """State and behaviour of one simulated Atrium account."""

    def __init__(self, config: PrimayerSimulatorConfig | None = None) -> None:
        self.config = config or PrimayerSimulatorConfig()
        self.loggers = build_fleet(self.config)
        self.zone = ZoneInfo(self.config.timezone)

    # -- helpers -------------------------------------------------------------------------------
    def logger(self, serial: str) -> SimLogger:
        for lg in self.loggers:
            if lg.serial == serial:
                return lg
        raise PrimayerError(404, f"Logger {serial} not found")

    def answer_serial(self, logger: SimLogger) -> str:
        """The serial a logger answer names: its own, unless the mix-up switch is on."""
        if self.config.answers_for_other_serial and logger is self.loggers[0]:
            return self.loggers[1].serial
        return logger.serial

    def group_ids(self) -> list[int]:
        return sorted({lg.group_id for lg in self.loggers})

    def group(self, group_id: str) -> int:
        try:
            gid = int(group_id)
        except ValueError:
            raise PrimayerError(400, f"Invalid group id {group_id}") from None
        if gid not in self.group_ids():
            raise PrimayerError(404, f"Group {group_id} not found")
        return gid

    def local_midnight(self, day: str) -> int:
        try:
            d = date.fromisoformat(day)
        except ValueError:
            raise PrimayerError(400, f"Invalid date {day}") from None
        return int(datetime(d.year, d.month, d.day, tzinfo=self.zone).timestamp())

    def local_minute(self, text: str) -> int:
        try:
            moment = datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=self.zone)
        except ValueError:
            raise PrimayerError(400, f"Invalid date time {text}") from None
        return int(moment.timestamp())

    def window(self, begin: str, end: str) -> tuple[int, int]:
        start, stop = self.local_midnight(begin), self.local_midnight(end)
        if stop < start:
            raise PrimayerError(400, "end is before begin")
        return start, stop

    @staticmethod
    def grid(start: int, stop: int, step_s: int, offset_s: int = 0) -> np.ndarray:
        """Unix seconds k*step + offset within [start, stop)."""
        first = start + (offset_s - start) % step_s
        return np.arange(first, stop, step_s, dtype=np.int64)

    def epoch_times(self, start: int, stop: int) -> np.ndarray:
        return self.grid(start, stop, self.config.epoch_interval_min * 60)

    def battery(self, logger: SimLogger, t: np.ndarray) -> np.ndarray:
        """Drains from 100 % by about 0.1 % a day, replaced every 800 days."""
        days = t / 86_400 + 37 * logger.index
        return np.round(100 - 0.1 * (days % 800), 1)

    def epoch_values(self, logger: SimLogger, t: np.ndarray) -> dict[str, list]:
        u = unit_noise(self.config.seed, f"{logger.serial}:epoch", t)
        day = t / 86_400
        cnv_base, lcf_base = (45, 8) if logger.leaking else (8, 0)
        return {
            "battery": self.battery(logger, t).tolist(),
            "cnv": (cnv_base + np.floor(10 * u)).astype(int).tolist(),
            "lcf": (lcf_base + np.floor(3 * u)).astype(int).tolist(),
            "temperature": np.round(11 + 2.5 * np.sin(2 * np.pi * (day - 0.3)) + 0.4 * (2 * u - 1), 2).tolist(),
            "timestamp": local_strings(t, self.config.timezone),
        }

    # -- methods -------------------------------------------------------------------------------
    def logger_data(self, serial: str, begin: str, end: str) -> list[dict]:
        logger = self.logger(serial)
        t = self.epoch_times(*self.window(begin, end))
        values = self.epoch_values(logger, t)
        per_epoch = self.config.histograms_per_epoch
        hist_t = (t[:, None] + 300 * np.arange(per_epoch)[None, :]).ravel()
        counts = histogram_counts(self.config, logger, hist_t).tolist()
        hist_stamps = local_strings(hist_t, self.config.timezone)
        epochs = []
        for i in range(len(t)):
            histograms = [
                {"timestamp": hist_stamps[i * per_epoch + k], "bins": counts[i * per_epoch + k]}
                for k in range(per_epoch)
            ]
            epochs.append(
                {
                    "battery": values["battery"][i],
                    "cnv": values["cnv"][i],
                    "lcf": values["lcf"][i],
                    "latitude": logger.latitude,
                    "longitude": logger.longitude,
                    "temperature": values["temperature"][i],
                    "timestamp": values["timestamp"][i],
                    "histograms": histograms,
                }
            )
        if self.config.duplicate_histogram and epochs and logger.index == 0:
            epochs[0]["histograms"].insert(1, dict(epochs[0]["histograms"][0]))
        if self.config.malformed and epochs:
            epochs[0]["histograms"][1]["bins"] = [3, -2, 5, 7]
            epochs[0]["histograms"][2]["bins"] = []
            epochs[-1]["timestamp"] = "31/02/2026 25:61"
            epochs[-1]["histograms"][0]["timestamp"] = "not a time"
        return [{"serial": self.answer_serial(logger), "epochs": epochs}]

    def logger_info(self, serial: str, begin: str, end: str) -> list[dict]:
        logger = self.logger(serial)
        t = self.epoch_times(*self.window(begin, end))
        v = self.epoch_values(logger, t)
        epochs = [
            {"battery": v["battery"][i], "cnv": v["cnv"][i], "lcf": v["lcf"][i], "timestamp": v["timestamp"][i]}
            for i in range(len(t))
        ]
        return [{"serial": self.answer_serial(logger), "epochs": epochs}]

    def logger_signal(self, serial: str, begin: str, end: str) -> list[dict]:
        logger = self.logger(serial)
        t = self.grid(*self.window(begin, end), self.config.signal_interval_h * 3600, offset_s=1800)
        u = unit_noise(self.config.seed, f"{logger.serial}:signal", t)
        strength = (20 + np.floor(70 * u)).astype(int)
        stamps = local_strings(t, self.config.timezone)
        signals = [
            {
                "name": "EE",
                "signal": f"{strength[i]}%",
                "type": "NB-IoT" if logger.index % 2 else "LTE-M",
                "timestamp": stamps[i],
            }
            for i in range(len(t))
        ]
        if self.config.malformed and signals:
            signals[0]["signal"] = "n/a"
        return [{"serial": self.answer_serial(logger), "signals": signals}]

    def summary(self, day: str) -> list[dict]:
        noon = self.local_midnight(day) + 6 * 3600
        stamp = local_strings(np.array([noon]), self.config.timezone)[0]
        return [
            {
                "id": gid,
                "groupName": GROUP_NAMES[(gid - 1001) % len(GROUP_NAMES)],
                "leaks": len(group_leaks(self.config, self.loggers, gid)),
                "timestamp": stamp,
            }
            for gid in self.group_ids()
        ]

    def leaks(self, group_id: str, day: str) -> list[dict]:
        gid = self.group(group_id)
        midnight = self.local_midnight(day)
        out = []
        for left, right, distance in group_leaks(self.config, self.loggers, gid):
            u = unit_noise(self.config.seed, f"{left.serial}:{right.serial}:leak", np.array([midnight]))[0]
            ids = (
                (int(left.serial), int(right.serial))
                if self.config.leak_ids_as_numbers
                else (left.serial, right.serial)
            )
            out.append(
                {
                    "left": ids[0],
                    "right": ids[1],
                    "confidence": int(40 + 55 * u),
                    "distanceFromLeft": distance,
                    self.config.leak_date_field: day,
                }
            )
        return out

    def audio_samples(self, logger: SimLogger, start: int) -> np.ndarray:
        """Unsigned 8-bit samples: a strong 520 Hz tone near a leak, else faint 180 Hz hum in noise."""
        rate = self.config.audio_sample_rate_hz
        n = int(self.config.audio_seconds * rate)
        t = np.arange(n) / rate
        noise = 2 * unit_noise(self.config.seed, f"{logger.serial}:audio", start * 100_000 + np.arange(n)) - 1
        tone, amplitude = (520.0, 70.0) if logger.leaking else (180.0, 12.0)
        wave = 128 + amplitude * np.sin(2 * np.pi * tone * t) + 8 * noise
        return np.clip(np.round(wave), 0, 255).astype(np.int64)

    def audio(self, group_id: str, day: str) -> list[dict]:
        gid = self.group(group_id)
        start = self.local_midnight(day) + 2 * 3600
        members = [lg for lg in self.loggers if lg.group_id == gid]
        stamps = local_strings(start + 60 * np.arange(len(members)), self.config.timezone)
        out = []
        for logger, stamp in zip(members, stamps, strict=True):
            samples = self.audio_samples(logger, start)
            if self.config.malformed and logger is members[-1]:
                samples[10] = 300
            audio: object = samples.tolist()
            if self.config.audio_as_base64 and not (self.config.malformed and logger is members[-1]):
                audio = base64.b64encode(samples.astype(np.uint8).tobytes()).decode()
            out.append({"logger": int(logger.serial), "timestamp": stamp, "audio": audio})
        return out

    def logger_report(self, day: str) -> str:
        end = self.local_midnight(day) + 86_400
        last = self.grid(end - 86_400, end, self.config.epoch_interval_min * 60)[-1:]
        stamp = local_strings(last, self.config.timezone)[0]
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(
            [
                "Serial",
                "Name",
                "Group Id",
                "Group Name",
                "Latitude",
                "Longitude",
                "Battery (%)",
                "Status",
                "Last Upload",
                "Firmware",
            ]
        )
        for lg in self.loggers:
            writer.writerow(
                [
                    lg.serial,
                    f"Phocus {lg.serial}",
                    lg.group_id,
                    GROUP_NAMES[(lg.group_id - 1001) % 3],
                    lg.latitude,
                    lg.longitude,
                    self.battery(lg, last)[0],
                    "Active",
                    stamp,
                    "4.2.1",
                ]
            )
        return buffer.getvalue()

    def dma_report(self, begin: str, end: str) -> str:
        start, stop = self.local_minute(begin), self.local_minute(end)
        if stop < start:
            raise PrimayerError(400, "end is before begin")
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(["DMA", "Loggers", "Leak Loggers", "Quiet Loggers", "Period Start", "Period End", "Region"])
        for gid in self.group_ids():
            members = [lg for lg in self.loggers if lg.group_id == gid]
            leaking = sum(lg.leaking for lg in members)
            writer.writerow(
                [
                    f"DMA {GROUP_NAMES[(gid - 1001) % 3]}",
                    len(members),
                    leaking,
                    len(members) - leaking,
                    begin,
                    end,
                    "South West",
                ]
            )
        return buffer.getvalue()


def create_app(config: PrimayerSimulatorConfig | None = None) -> Starlette:
    """The ASGI app; `app.state.simulator` exposes the simulated account to tests."""
    simulator = PrimayerSimulator(config)

    def endpoint(method: Callable[..., object], csv_body: bool = False) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            params = dict(request.path_params)
            path = request.url.path
            try:
                if simulator.config.force_status is not None:
                    raise PrimayerError(simulator.config.force_status, "Service unavailable")
                if params.pop("token") != simulator.config.token:
                    raise PrimayerError(401, "Authorization has been denied for this request")
                body = method(**params)
            except PrimayerError as err:
                return PlainTextResponse(f"{err.message} ({path})", status_code=err.status)
            if csv_body:
                return Response(body, media_type="text/csv")
            if body == []:
                return empty_response(simulator.config.empty_form)
            return JSONResponse(body)

        return handle

    routes = [
        Route("/logger/info/{serial}/{begin}/{end}/{token}", endpoint(simulator.logger_info)),
        Route("/logger/signal/{serial}/{begin}/{end}/{token}", endpoint(simulator.logger_signal)),
        Route("/logger/{serial}/{begin}/{end}/{token}", endpoint(simulator.logger_data)),
        Route("/group/summary/{day}/{token}", endpoint(simulator.summary)),
        Route("/group/audio/{group_id}/{day}/{token}", endpoint(simulator.audio)),
        Route("/group/{group_id}/{day}/{token}", endpoint(simulator.leaks)),
        Route("/report/logger/{day}/{token}", endpoint(simulator.logger_report, csv_body=True)),
        Route("/report/dma/{begin}/{end}/{token}", endpoint(simulator.dma_report, csv_body=True)),
    ]
    app = Starlette(routes=routes)
    app.state.simulator = simulator
    return app


FLEET_SERIALS = ",".join(lg.serial for lg in build_fleet(PrimayerSimulatorConfig()))
# What `make run` and `make ui` point the pipeline at when no real service is configured.
DEFAULT_ENV = {
    "PRIMAYER_BASE_URL": f"http://127.0.0.1:{SIMULATOR_PORT}",
    "PRIMAYER_TOKEN": TOKEN,
    "PRIMAYER_SERIALS": FLEET_SERIALS,
    "PRIMAYER_TIMEZONE": TIMEZONE,
}
