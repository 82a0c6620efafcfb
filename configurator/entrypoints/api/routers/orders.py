"""``/api/v1/orders``: place an order for a design, read it back by its token, read its
production record, reprint it exactly (docs/trace.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from configurator.entrypoints.api.deps import OrdersDep, ReprintsDep, TraceDep
from configurator.services.orders import OrderCreate, OrderPublic
from configurator.services.trace.reprint import ReprintRequest

router = APIRouter(prefix="/orders", tags=["orders"])


@router.post(
    "",
    status_code=201,
    response_model=OrderPublic,
    summary="Order a design: one print job per piece, routed at once",
    responses={
        422: {"description": "unknown design, material not offered, bad quantity"},
        503: {"description": "print estimates are unavailable (no trained estimator)"},
    },
)
def place_order(body: OrderCreate, orders: OrdersDep) -> JSONResponse:
    order = orders.place(body)
    return JSONResponse(
        status_code=201, content=order.model_dump(mode="json"), headers={"Location": order.url}
    )


@router.get(
    "/{token}",
    response_model=OrderPublic,
    summary="An order and its jobs' live state",
    responses={404: {"description": "no such order"}},
)
def get_order(token: str, orders: OrdersDep) -> OrderPublic:
    return orders.get(token)


@router.get(
    "/{token}/record",
    summary="The order's production record (customer view)",
    responses={404: {"description": "no such order"}},
)
def order_record(token: str, trace: TraceDep) -> dict[str, Any]:
    """Per piece: the design record, mesh hashes, slicing, printer, material lot, every
    state change with time and actor, the outcome; anything unknown reads "not recorded".
    No node ids, event data or operator identities."""
    return trace.order_record(token, audience="customer")


@router.post(
    "/{token}/reprint",
    status_code=201,
    response_model=OrderPublic,
    summary="Reprint an order exactly: same design, mesh rebuilt and verified by hash",
    responses={
        404: {"description": "no such order"},
        409: {"description": "the rebuilt mesh differs (generator changed): the reason"},
    },
)
async def reprint_order(token: str, body: ReprintRequest, reprints: ReprintsDep) -> JSONResponse:
    order = await run_in_threadpool(reprints.reprint, token, body)
    return JSONResponse(
        status_code=201, content=order.model_dump(mode="json"), headers={"Location": order.url}
    )
