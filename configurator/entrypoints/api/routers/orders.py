"""``/api/v1/orders``: place an order for a design, read it back by its token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from configurator.errors import EstimateError, NotFoundError
from configurator.services.orders import OrderCreate, OrderPublic, OrderService

router = APIRouter(prefix="/orders", tags=["orders"])


def get_order_service(request: Request) -> OrderService:
    return request.app.state.order_service


Orders = Annotated[OrderService, Depends(get_order_service)]


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
def place_order(body: OrderCreate, orders: Orders) -> JSONResponse:
    try:
        order = orders.place(body)
    except EstimateError as exc:
        raise HTTPException(status_code=503, detail=str(exc)) from exc
    return JSONResponse(
        status_code=201, content=order.model_dump(mode="json"), headers={"Location": order.url}
    )


@router.get("/{token}", response_model=OrderPublic, summary="An order and its jobs' live state")
def get_order(token: str, orders: Orders) -> OrderPublic:
    try:
        return orders.get(token)
    except NotFoundError as exc:
        raise HTTPException(status_code=404, detail="no such order") from exc
