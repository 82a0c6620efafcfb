"""The web configurator's HTML pages (templates in the top-level ``web/``).

Pages: ``/`` gallery, ``/products/{id}`` product form + results, ``/orders/{token}``
order status, ``/orders/{token}/record`` its printable production record,
``/farm`` operator dashboard (the admin key is entered in the page) and
``/farm/jobs/{id}/record`` a job's record for operators (loaded with that key). Every
page shows the demo banner ("demo printers run N× faster than real time") when the farm's
nodes play their prints faster than real time. The
static files and three.js are mounted by :func:`configurator.entrypoints.api.web.mount_static`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from configurator.entrypoints.api.clients import ensure_client_cookie
from configurator.entrypoints.api.deps import CatalogsDep, FarmDep, OrdersDep, RunsDep, TraceDep
from configurator.entrypoints.api.schemas.catalogs import catalog_detail, farm_availability
from configurator.entrypoints.api.web import TEMPLATE_DIR, static_url
from configurator.errors import NotFoundError

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(TEMPLATE_DIR))
templates.env.globals["static_url"] = static_url


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    ensure_client_cookie(request, response)  # the run queue's per-client fairness
    return response


def error_page(request: Request, status_code: int, title: str, message: str) -> HTMLResponse:
    return render(request, "error.html", status_code, title=title, message=message)


@router.get("/", response_class=HTMLResponse)
def gallery(request: Request, catalogs: CatalogsDep, farm: FarmDep) -> HTMLResponse:
    return render(
        request,
        "gallery.html",
        nav="gallery",
        time_scale=farm.capabilities().time_scale,
        catalogs=[
            {
                "id": c.id,
                "name": c.name,
                "summary": c.summary,
                "requirements": list(c.requirements),
                "objectives": list(c.objectives),
                "materials": list(c.materials),
            }
            for c in catalogs.all().values()
        ],
        problems=catalogs.problems,
        catalog_dir=str(catalogs.catalog_dir),
    )


@router.get("/products/{catalog_id}", response_class=HTMLResponse)
def product(
    request: Request, catalog_id: str, catalogs: CatalogsDep, runs: RunsDep, farm: FarmDep
) -> HTMLResponse:
    catalog = catalogs.find(catalog_id)
    if catalog is None:
        return error_page(request, 404, "Not found", f"There is no product called “{catalog_id}”.")
    view = farm.capabilities()
    detail = catalog_detail(
        catalog, runs.limits, farm_availability(view, catalog), time_scale=view.time_scale
    )
    return render(
        request,
        "product.html",
        nav="gallery",
        catalog=detail.model_dump(mode="json"),
        limits=detail.limits,
        time_scale=view.time_scale,
    )


@router.get("/orders/{token}", response_class=HTMLResponse)
def order_page(request: Request, token: str, orders: OrdersDep, farm: FarmDep) -> HTMLResponse:
    try:
        order = orders.get(token)
    except NotFoundError:
        return error_page(request, 404, "Order not found", "Check the link you were given.")
    return render(
        request,
        "order.html",
        order=order.model_dump(mode="json"),
        token=token,
        time_scale=farm.capabilities().time_scale,
    )


@router.get("/orders/{token}/record", response_class=HTMLResponse)
def order_record_page(request: Request, token: str, trace: TraceDep) -> HTMLResponse:
    try:
        record = trace.order_record(token, audience="customer")
    except NotFoundError:
        return error_page(request, 404, "Order not found", "Check the link you were given.")
    return render(request, "record.html", record=record, back=f"/orders/{token}")


@router.get("/farm/jobs/{job_id}/record", response_class=HTMLResponse)
def job_record_page(request: Request, job_id: int) -> HTMLResponse:
    return render(request, "job_record.html", nav="farm", job_id=job_id)


@router.get("/farm", response_class=HTMLResponse)
def farm_page(request: Request, farm: FarmDep) -> HTMLResponse:
    return render(request, "farm.html", nav="farm", time_scale=farm.capabilities().time_scale)
