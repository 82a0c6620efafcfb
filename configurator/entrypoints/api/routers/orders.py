"""``/api/v1/orders``: place an order for a design, read it back by its token."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from configurator.entrypoints.api.deps import OrdersDep
from configurator.services.orders import OrderCreate, OrderPublic

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
