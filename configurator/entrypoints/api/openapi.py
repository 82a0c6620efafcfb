"""The OpenAPI document, completed: every operation lists the errors it can answer with,
each with its schema, so a client (or schemathesis) can rely on it.

FastAPI documents the success and the 422 of operations with parameters. On top,
:func:`complete_openapi` adds, from what each operation is:

* every operation: ``400`` (a request the service cannot act on) with the error schema
  ``Error`` (``{"detail": "..."}``), the shape ``create_app``'s handler answers with;
* a security requirement (admin or node key): ``401`` (missing or unknown key, with
  ``WWW-Authenticate: Bearer``) and ``403`` (a key of the wrong kind, or acting on what it
  does not own);
* a path parameter: ``404``;
* a request body: ``413`` (past its size limit, :mod:`configurator.entrypoints.api.guard`)
  and ``422`` (FastAPI's ``HTTPValidationError``: one entry per field);
* a state change (``POST``/``PATCH``/``DELETE``) of the farm, or an order: ``409`` (a
  transition refused, a name taken, no capable printer);
* an error status a route declares itself (e.g. ``409`` of a quote) gets the schema too;
* operations listed in :data:`EXTRA` their own (``429`` with ``Retry-After`` for new runs,
  ``503`` when print estimates are unavailable).

Descriptions already written on a route are kept; the schema is added to them.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR_REF = {"$ref": "#/components/schemas/Error"}
VALIDATION_REF = {"$ref": "#/components/schemas/HTTPValidationError"}
ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "properties": {"detail": {"title": "Detail", "type": "string"}},
    "required": ["detail"],
    "description": "An error: `detail` is one readable line.",
}
VALIDATION_SCHEMAS = {
    "ValidationError": {
        "title": "ValidationError",
        "type": "object",
        "properties": {
            "loc": {"title": "Location", "type": "array",
                    "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
            "msg": {"title": "Message", "type": "string"},
            "type": {"title": "Error Type", "type": "string"},
        },
        "required": ["loc", "msg", "type"],
    },
    "HTTPValidationError": {
        "title": "HTTPValidationError",
        "type": "object",
        "properties": {"detail": {"title": "Detail", "type": "array",
                                  "items": {"$ref": "#/components/schemas/ValidationError"}}},
    },
}  # fmt: skip

DESCRIPTIONS = {
    400: "The request cannot be acted on",
    401: "Missing or unknown key (`Authorization: Bearer <key>`)",
    403: "A key of the wrong kind, or acting on what it does not own",
    404: "No such resource",
    409: "The change is refused in the resource's current state",
    413: "The request body is larger than this operation accepts",
    422: "Invalid input: one entry per field",
    429: "Too many at once; retry after `Retry-After` seconds",
    503: "Print estimates are unavailable (no trained estimator)",
}
#: (method, path) -> statuses beyond the rules of the module docstring
EXTRA: dict[tuple[str, str], tuple[int, ...]] = {
    ("post", "/api/v1/runs"): (429,),
    ("post", "/api/v1/orders"): (409, 503),
}
HEADERS = {
    401: {"WWW-Authenticate": {"description": "`Bearer`", "required": True,
                               "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "seconds", "required": True,
                          "schema": {"type": "string", "pattern": "^[0-9]+$"}}},
}  # fmt: skip


def statuses_of(method: str, path: str, operation: dict[str, Any]) -> set[int]:
    """The error statuses an operation documents (the module docstring's rules)."""
    out = {400}
    if operation.get("security"):
        out |= {401, 403}
    params = operation.get("parameters", [])
    if any(p.get("in") == "path" for p in params):
        out.add(404)
    if params:
        out.add(422)
    if "requestBody" in operation:
        out |= {413, 422}
    if method in ("post", "patch", "delete") and path.startswith("/api/v1/farm"):
        out.add(409)
    out |= set(EXTRA.get((method, path), ()))
    return out


def complete(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` (FastAPI's document) with every operation's errors documented."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    for name, value in VALIDATION_SCHEMAS.items():
        components.setdefault(name, value)
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            declared = {int(c) for c in responses if c.isdigit() and c.startswith("4")}
            for status in sorted(statuses_of(method, path, operation) | declared):
                entry = responses.setdefault(str(status), {})
                entry.setdefault("description", DESCRIPTIONS.get(status, "Refused"))
                ref = VALIDATION_REF if status == 422 else ERROR_REF
                entry["content"] = {"application/json": {"schema": ref}}
                if status in HEADERS:
                    entry["headers"] = HEADERS[status]
    return schema


def complete_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the completed document (built once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
