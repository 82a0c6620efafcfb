"""The FastAPI application factory: ``create_app(settings) -> FastAPI``.

Routers live in ``configurator/api/routers/`` (one module per area, each exposing
``router``) and are included below explicitly, one line each, under ``/api/v1``. Domain
errors become HTTP errors in one place: NotFoundError 404, ConflictError 409,
ForbiddenError 403, AuthError 401, RequirementsError 422 (one entry per field, FastAPI's
shape), any other ConfiguratorError 400. Request validation errors keep FastAPI's 422 shape;
a non-finite number in them (``NaN``/``Infinity`` sent as input) is echoed as a string,
since JSON cannot carry it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from configurator import __version__
from configurator.adapters.db.store import Store
from configurator.entrypoints.api.pages import include_web, shutdown_web
from configurator.errors import (
    AuthError,
    ConfiguratorError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    RequirementsError,
)
from configurator.services.farm.service import FarmService, load_or_create_admin_key
from configurator.settings import Settings

log = logging.getLogger("configurator.entrypoints.api")
API_PREFIX = "/api/v1"


def _error_response(exc: ConfiguratorError) -> JSONResponse:
    if isinstance(exc, RequirementsError):
        detail = [
            {"loc": ["body", field], "msg": reason, "type": "value_error"}
            for field, reason in exc.fields.items()
        ]
        return JSONResponse({"detail": detail}, status_code=422)
    if isinstance(exc, ForbiddenError):
        return JSONResponse({"detail": str(exc)}, status_code=403)
    if isinstance(exc, AuthError):
        return JSONResponse(
            {"detail": str(exc)}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
        )
    if isinstance(exc, NotFoundError):
        return JSONResponse({"detail": str(exc)}, status_code=404)
    if isinstance(exc, ConflictError):
        return JSONResponse({"detail": str(exc)}, status_code=409)
    return JSONResponse({"detail": str(exc)}, status_code=400)


def _json_safe(value: object) -> object:
    """``value`` with every non-finite float as its JSON-ish spelling (``"NaN"``,
    ``"Infinity"``, ``"-Infinity"``), so it can be rendered as strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _validation_response(exc: RequestValidationError) -> JSONResponse:
    """FastAPI's 422 (``{"detail": [{type, loc, msg, input, ...}]}``), strict-JSON safe."""
    return JSONResponse({"detail": _json_safe(jsonable_encoder(exc.errors()))}, status_code=422)


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
    ``app.state``: ``settings``, ``store``, ``farm`` (FarmService), ``admin_key``,
    ``admin_key_generated``.
    """
    settings = settings or Settings()
    store = Store(settings.resolved_database_url)
    if migrate:
        store.migrate()
    admin_key, generated = load_or_create_admin_key(settings)
    farm = FarmService(store, settings, admin_key=admin_key)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = None
        if sweep:
            task = asyncio.create_task(_sweeper(farm, max(settings.heartbeat_timeout_s / 4, 0.05)))
        try:
            yield
        finally:
            shutdown_web(app)
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            store.dispose()

    app = FastAPI(
        title="configurator",
        version=__version__,
        description="Generative product customization engine: catalogs, designs, orders, print farm.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.farm = farm
    app.state.admin_key = admin_key
    app.state.admin_key_generated = generated

    @app.exception_handler(ConfiguratorError)
    async def _domain_error(_request: Request, exc: ConfiguratorError) -> JSONResponse:
        return _error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation_response(exc)

    # -- routers: one line per module under configurator/api/routers/ -------------------
    from configurator.entrypoints.api.routers import farm as farm_router

    app.include_router(farm_router.router, prefix=API_PREFIX)
    # web configurator: pages, static files, catalogs/runs/designs/orders routers
    include_web(app, settings)
    return app
