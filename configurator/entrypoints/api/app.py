"""The FastAPI application factory: ``create_app(settings) -> FastAPI``.

Every service is built once by :class:`~configurator.services.container.Container`
(``app.state.container``). Routers live in ``entrypoints/api/routers/`` (one module per
area, each exposing ``router``; schemas in ``entrypoints/api/schemas/``) and are included
below explicitly, one line each, under ``/api/v1`` (the HTML pages at the root). Domain
errors become HTTP errors in one place: each error class's ``http_status``
(:mod:`configurator.errors`); a RequirementsError is one 422 entry per field, FastAPI's shape. Request validation errors keep FastAPI's 422 shape;
a non-finite number in them (``NaN``/``Infinity`` sent as input) is echoed as a string,
since JSON cannot carry it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from collections.abc import AsyncIterator
from functools import partial

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from configurator import __version__
from configurator.entrypoints.api.guard import AllowHeader, RequestGuard, body_limit
from configurator.entrypoints.api.openapi import complete_openapi
from configurator.entrypoints.api.routers import (
    catalogs,
    designs,
    docs,
    farm,
    orders,
    pages,
    runs,
)
from configurator.entrypoints.api.web import mount_static
from configurator.errors import ConfiguratorError, RateLimitError, RequirementsError
from configurator.services.container import Container
from configurator.services.farm.service import FarmService
from configurator.settings import Settings

log = logging.getLogger("configurator.entrypoints.api")
API_PREFIX = "/api/v1"


def _error_response(exc: ConfiguratorError) -> JSONResponse:
    """The one mapping of domain errors to HTTP: the class's ``http_status``; a
    RequirementsError is FastAPI's 422 shape (one entry per field); 401 carries
    ``WWW-Authenticate``, 429 ``Retry-After``."""
    status = exc.http_status
    if isinstance(exc, RequirementsError):
        detail = [
            {"loc": ["body", *field.split(".", 1)], "msg": reason, "type": "value_error"}
            for field, reason in exc.fields.items()
        ]
        return SafeJSONResponse({"detail": _json_safe(detail)}, status_code=status)
    headers = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, RateLimitError):
        headers["Retry-After"] = str(exc.retry_after_s)
    return SafeJSONResponse({"detail": _json_safe(str(exc))}, status_code=status, headers=headers)


def _json_safe(value: object) -> object:
    """``value`` renderable as strict JSON whatever the input was: every non-finite float as
    its JSON-ish spelling (``"NaN"``, ``"Infinity"``, ``"-Infinity"``), bytes and text with
    lone surrogates as text with backslash escapes (``"\\udcff"``), other objects as text."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "backslashreplace")
    if isinstance(value, dict):
        return {str(_json_safe(str(k))): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    try:
        return _json_safe(jsonable_encoder(value))
    except Exception:  # an input no encoder knows: its text
        return _json_safe(repr(value))


def _validation_response(exc: RequestValidationError) -> JSONResponse:
    """FastAPI's 422 (``{"detail": [{type, loc, msg, input, ...}]}``); never fails on the
    input it echoes (:func:`_json_safe`)."""
    return SafeJSONResponse({"detail": _json_safe(list(exc.errors()))}, status_code=422)


class SafeJSONResponse(JSONResponse):
    """JSON that always encodes: a lone surrogate in a string is written as its JSON escape
    (``\\udcff``) instead of failing (the app's default response class)."""

    def render(self, content: object) -> bytes:
        return json.dumps(
            content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
        ).encode("utf-8", "backslashreplace")


async def _sweeper(farm: FarmService, interval_s: float) -> None:
    """Apply the heartbeat timeout periodically (reroutes jobs of silent nodes)."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await asyncio.to_thread(farm.sweep)
        except Exception:  # keep sweeping; the next round retries
            log.exception("farm sweep failed")


def create_app(
    settings: Settings | None = None, *, migrate: bool = True, sweep: bool = True
) -> FastAPI:
    """Build the app for ``settings`` (database, data dir, keys, farm tunables).

    ``migrate``: upgrade the database schema to head first. ``sweep``: run the heartbeat
    sweeper while the app is up (every ``heartbeat_timeout_s / 4`` s).
    ``app.state.container``: every service (:class:`~configurator.services.container.Container`).
    """
    settings = settings or Settings()
    container = Container.build(settings, migrate=migrate)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(container.runs.start, background=True)
        task = None
        if sweep:
            interval = max(settings.heartbeat_timeout_s / 4, 0.05)
            task = asyncio.create_task(_sweeper(container.farm, interval))
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await asyncio.to_thread(container.close)

    app = FastAPI(
        title="configurator",
        version=__version__,
        description="Generative product customization engine: catalogs, designs, orders, print farm.",
        lifespan=lifespan,
        default_response_class=SafeJSONResponse,
        docs_url=None,  # served offline by routers/docs.py
        redoc_url=None,
    )
    app.state.container = container
    app.add_middleware(AllowHeader)
    app.add_middleware(RequestGuard, limit_for=partial(body_limit, settings))

    @app.exception_handler(ConfiguratorError)
    async def _domain_error(_request: Request, exc: ConfiguratorError) -> JSONResponse:
        return _error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation_response(exc)

    # -- routers: one line per module under entrypoints/api/routers/ -----------------------
    app.include_router(catalogs.router, prefix=API_PREFIX)
    app.include_router(runs.router, prefix=API_PREFIX)
    app.include_router(designs.router, prefix=API_PREFIX)
    app.include_router(orders.router, prefix=API_PREFIX)
    app.include_router(farm.router, prefix=API_PREFIX)
    app.include_router(pages.router)
    app.include_router(docs.router)
    mount_static(app)
    complete_openapi(app)
    return app


def app_from_environment() -> FastAPI:
    """uvicorn factory of each process of ``configurator serve --workers N``: the app for
    ``Settings()`` (the environment); the parent migrated the schema already."""
    return create_app(Settings(), migrate=False)
