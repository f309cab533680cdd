"""One line per failed Dagster run: what went wrong and which setting to look at.

Dagster wraps an asset's exception (`DagsterExecutionStepExecutionError`) and keeps only its
serialized form (class name, message, stack, cause chain), so the vendor, endpoint and status of
a `VendorRequestError` are read back from its message, whose shape `pipelines/http.py` fixes.
Every message shown here was already redacted by the HTTP client where it could carry a secret.
"""

from __future__ import annotations

import re

from dagster import DagsterEventType
from dagster._utils.error import SerializableErrorInfo

from pipelines.simulation.registry import SimulatorSpec

MAX_LINE = 200
CREDENTIAL_STATUSES = frozenset({401, 403})
# The message of `VendorRequestError(vendor, endpoint, status, detail)`, after its class name.
_VENDOR_REQUEST_MESSAGE = re.compile(
    r"(?P<vendor>\S+) (?P<endpoint>.+?) failed \(status (?P<status>\d+|none)\): (?P<detail>.*)"
)


def failure_errors(events: list) -> list[SerializableErrorInfo]:
    """The errors of a run's failed steps, or of the run itself when no step failed."""
    steps = [e.step_failure_data.error for e in events if e.event_type == DagsterEventType.STEP_FAILURE]
    if steps:
        return [error for error in steps if error is not None]
    runs = [e.event_specific_data.error for e in events if e.event_type == DagsterEventType.RUN_FAILURE]
    return [error for error in runs if error is not None]


def original_error(error: SerializableErrorInfo) -> SerializableErrorInfo:
    """The `VendorRequestError` in the cause chain if there is one, else the deepest cause."""
    chain = [error]
    while chain[-1].cause is not None:
        chain.append(chain[-1].cause)
    vendor_errors = [e for e in chain if e.cls_name == "VendorRequestError"]
    return vendor_errors[0] if vendor_errors else chain[-1]


def error_message(error: SerializableErrorInfo) -> str:
    """The first line of the exception's own message, without `module.Class: ` in front."""
    text = (error.message or "").strip()
    prefix = re.match(r"[\w.]*" + re.escape(error.cls_name) + r": ", text) if error.cls_name else None
    lines = (text[prefix.end() :] if prefix else text).splitlines()
    return lines[0] if lines else (error.cls_name or "unknown error")


def describe_vendor_failure(spec: SimulatorSpec, error: SerializableErrorInfo) -> str:
    """`<vendor>: <what failed>`, naming the setting to look at when the cause says which."""
    cause = original_error(error)
    message = error_message(cause)
    parsed = _VENDOR_REQUEST_MESSAGE.match(message) if cause.cls_name == "VendorRequestError" else None
    if parsed is None:
        return _one_line(f"{spec.vendor}: {cause.cls_name}: {message}")
    status, endpoint, detail = parsed["status"], parsed["endpoint"], parsed["detail"]
    if status == "none":  # no HTTP answer at all: refused, timed out, name not resolved
        return _one_line(f"{spec.vendor}: {spec.base_url_env} unreachable ({endpoint}: {detail})")
    if int(status) in CREDENTIAL_STATUSES:
        return _one_line(f"{spec.vendor}: {', '.join(spec.credential_env)} refused ({status})")
    return _one_line(f"{spec.vendor}: {endpoint} answered {status} (check {spec.base_url_env}): {detail}")


def describe_failure(label: str, error: SerializableErrorInfo) -> str:
    """`<label>: <Class>: <message>` for a failure that belongs to no vendor (dbt)."""
    cause = original_error(error)
    return _one_line(f"{label}: {cause.cls_name}: {error_message(cause)}")


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 3] + "..."
