"""Every Bagtower REST path, in one place, used by both the simulator and the client.

The vendor doc is a rendered OpenAPI page whose URL paths were lost: only the base path
`/prod` and `POST /prod/logs` are known from the production service. The paths below follow
the doc's parameter names (`companyId`, `id`, `deviceId`, ...) and are relative to the base
URL (which ends in `/prod`); correct them here, in one edit, when the real paths are known.
"""

from __future__ import annotations

BASE_PATH = "/prod"

COMPANY = "/companies/{companyId}"
DEVICES = "/companies/{companyId}/devices"
DEVICE = "/companies/{companyId}/devices/{id}"
DEVICE_KEY = "/companies/{companyId}/devices/{id}/key"
DEVICE_LOGS = "/companies/{companyId}/devices/{id}/logs"
DEVICE_ISSUES = "/companies/{companyId}/devices/{id}/issues"
ANNOTATIONS = "/companies/{companyId}/devices/{deviceId}/annotations"
DATA_VIEWS = "/companies/{companyId}/devices/{deviceId}/dataviews"
GROUPS = "/companies/{companyId}/groups"
MONITORS = "/companies/{companyId}/monitors"
MONITOR = "/companies/{companyId}/monitors/{id}"
ISSUES = "/companies/{companyId}/issues"
ISSUE = "/companies/{companyId}/issues/{id}"
ISSUE_EVENTS = "/companies/{companyId}/issues/{id}/events"
ISSUE_STATISTICS = "/companies/{companyId}/issue-statistics"
CAUSES = "/companies/{companyId}/causes"
CAUSE = "/companies/{companyId}/causes/{causeId}"
SOLUTIONS = "/companies/{companyId}/solutions"
SOLUTION = "/companies/{companyId}/solutions/{solutionId}"
KANBAN_STAGES = "/companies/{companyId}/kanban-stages"
KPIS = "/companies/{companyId}/kpis"
LOGS = "/logs"  # known: devices push with their own key
POOL_LOGS = "/pool/logs"  # a pool key shared by several devices; device named by `sensor-id`


def endpoint_name(template: str) -> str:
    """A short, secret-free name for messages and `_source`: the template without `/companies/{companyId}`."""
    return template.replace("/companies/{companyId}", "").lstrip("/") or "company"
