"""The web configurator's HTML pages and static files (templates in the top-level ``web/``).

:func:`include_web` wires everything the web UI needs into an app built by
``create_app(settings)``: the pages below, the ``/api/v1`` routers for catalogs, runs,
designs and orders, ``/static`` (``web/static``) and ``/vendor/three`` — three.js served
at run time from ``node_modules/three`` (installed by ``npm ci`` from package-lock.json;
no CDN), which the pages import through an import map.

Pages: ``/`` gallery, ``/products/{id}`` product form + results, ``/orders/{token}``
order status, ``/farm`` operator dashboard (the admin key is entered in the page).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from configurator.settings import REPO_ROOT

log = logging.getLogger(__name__)

WEB_DIR = REPO_ROOT / "web"
STATIC_DIR = WEB_DIR / "static"
TEMPLATE_DIR = WEB_DIR / "templates"
THREE_DIR = REPO_ROOT / "node_modules" / "three"

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(TEMPLATE_DIR))


def _static_version() -> str:
    """A short hash of the static files (cache-busting query string)."""
    h = hashlib.sha256()
    for path in sorted(STATIC_DIR.rglob("*")):
        if path.is_file():
            st = path.stat()
            h.update(f"{path.relative_to(STATIC_DIR)}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:10]


_VERSION = _static_version()
templates.env.globals["static_url"] = lambda p: f"/static/{p}?v={_VERSION}"


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def error_page(request: Request, status_code: int, title: str, message: str) -> HTMLResponse:
    return render(request, "error.html", status_code, title=title, message=message)


@router.get("/", response_class=HTMLResponse)
def gallery(request: Request) -> HTMLResponse:
    cache = request.app.state.catalog_cache
    catalogs = list(cache.all().values())
    return render(
        request,
        "gallery.html",
        nav="gallery",
        catalogs=[
            {
                "id": c.id,
                "name": c.name,
                "summary": c.summary,
                "requirements": list(c.requirements),
                "objectives": list(c.objectives),
                "materials": list(c.materials),
            }
            for c in catalogs
        ],
        problems=cache.problems,
        catalog_dir=str(cache.catalog_dir),
    )


@router.get("/products/{catalog_id}", response_class=HTMLResponse)
def product(request: Request, catalog_id: str) -> HTMLResponse:
    from configurator.entrypoints.api.routers.catalogs import catalog_detail

    settings = request.app.state.settings
    try:
        catalog = request.app.state.catalog_cache.get(catalog_id)
    except HTTPException:
        return error_page(request, 404, "Not found", f"There is no product called “{catalog_id}”.")
    detail = catalog_detail(catalog, settings)
    return render(
        request,
        "product.html",
        nav="gallery",
        catalog=detail.model_dump(mode="json"),
        limits=detail.limits,
    )


@router.get("/orders/{token}", response_class=HTMLResponse)
def order_page(request: Request, token: str) -> HTMLResponse:
    from configurator.errors import NotFoundError

    orders = request.app.state.order_service
    try:
        order = orders.get(token)
    except NotFoundError:
        return error_page(request, 404, "Order not found", "Check the link you were given.")
    return render(request, "order.html", order=order.model_dump(mode="json"), token=token)


@router.get("/farm", response_class=HTMLResponse)
def farm_page(request: Request) -> HTMLResponse:
    return render(request, "farm.html", nav="farm")


def include_web(app: FastAPI, settings: Any) -> None:
    """Add the web UI and its API routers to ``app`` (call once from ``create_app``).

    Sets ``app.state.catalog_cache``, ``design_book``, ``run_manager`` and
    ``order_service`` (which places jobs through ``app.state.farm``, the farm service set
    by ``create_app`` before this call). Call ``shutdown_web(app)`` when the app stops.
    """
    from configurator.entrypoints.api.routers import catalogs, designs, orders, runs
    from configurator.services.design.book import DesignBook
    from configurator.services.design.runs import RunManager
    from configurator.services.orders import OrderService

    if not getattr(app.state, "settings", None):
        app.state.settings = settings
    app.state.catalog_cache = catalogs.CatalogCache(Path(settings.catalog_dir))
    app.state.design_book = book = DesignBook(settings, catalogs=app.state.catalog_cache)
    app.state.run_manager = RunManager(settings, on_records=book.put_many)
    app.state.order_service = OrderService(
        farm=getattr(app.state, "farm", None), book=book, catalogs=app.state.catalog_cache
    )
    for r in (catalogs.router, runs.router, designs.router, orders.router):
        app.include_router(r, prefix="/api/v1")
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    if (THREE_DIR / "build" / "three.module.js").is_file():
        app.mount(
            "/vendor/three/build", StaticFiles(directory=str(THREE_DIR / "build")), name="three"
        )
        app.mount(
            "/vendor/three/examples/jsm",
            StaticFiles(directory=str(THREE_DIR / "examples" / "jsm")),
            name="three-addons",
        )
    else:
        log.warning(
            "three.js not found in %s: the 3D preview is disabled (run `npm ci` or scripts/setup.sh)",
            THREE_DIR,
        )


def shutdown_web(app: FastAPI) -> None:
    """Stop the run manager's workers (idempotent)."""
    manager = getattr(app.state, "run_manager", None)
    if manager is not None:
        manager.shutdown()
