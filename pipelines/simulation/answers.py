"""Forms of an empty answer the vendors' docs leave open, served by every simulator's switch.

A doc that shows a list of results rarely says what "nothing" looks like: `[]`, `{}`, `null`,
`""` or `204 No Content` are all plausible from a real service, and clients accept each.
"""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

EMPTY_FORMS = ("list", "object", "null", "string", "no_content")


def empty_response(form: str) -> Response:
    """An empty answer in `form` (one of EMPTY_FORMS)."""
    if form == "no_content":
        return Response(status_code=204)
    return JSONResponse({"list": [], "object": {}, "null": None, "string": ""}[form])


def empty_value(form: str) -> object:
    """The JSON value of an empty collection in `form`, for answers that wrap it under a key."""
    return {"list": [], "object": {}, "null": None, "string": "", "no_content": None}[form]
