"""Shared FastAPI dependencies: the container's services and the two kinds of key.

Every service comes from the :class:`~configurator.services.container.Container` that
``create_app`` keeps in ``app.state.container``. Keys travel as
``Authorization: Bearer <key>``. Operator endpoints take the admin key (:data:`AdminKey`),
node endpoints a node key (:data:`NodeId` resolves it to the node id). Missing or unknown
keys → 401, a valid key of the wrong kind → 403.

The dependencies are ``async`` on purpose: FastAPI runs sync dependencies in the thread
pool, one hop each, which cost more than the check itself. Key checks are in-memory hash
comparisons (node keys are cached after their first database lookup).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from configurator.services.catalogs import CatalogCache
from configurator.services.container import Container
from configurator.services.design.book import DesignBook
from configurator.services.design.runs import RunManager
from configurator.services.farm.service import FarmService
from configurator.services.orders import OrderService
from configurator.services.quotes import QuoteService
from configurator.services.trace.record import TraceService
from configurator.services.trace.reprint import ReprintService
from configurator.settings import Settings

_operator_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="OperatorKey",
    description="The admin key (printed on first start)",
)
_node_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="NodeKey",
    description="The node key returned once by POST /farm/nodes",
)


async def get_container(request: Request) -> Container:
    return request.app.state.container


ContainerDep = Annotated[Container, Depends(get_container)]


async def get_settings(c: ContainerDep) -> Settings:
    return c.settings


async def get_farm(c: ContainerDep) -> FarmService:
    return c.farm


async def get_catalogs(c: ContainerDep) -> CatalogCache:
    return c.catalogs


async def get_book(c: ContainerDep) -> DesignBook:
    return c.book


async def get_runs(c: ContainerDep) -> RunManager:
    return c.runs


async def get_orders(c: ContainerDep) -> OrderService:
    return c.orders


async def get_quotes(c: ContainerDep) -> QuoteService:
    return c.quotes


async def get_trace(c: ContainerDep) -> TraceService:
    return c.trace


async def get_reprints(c: ContainerDep) -> ReprintService:
    return c.reprints


SettingsDep = Annotated[Settings, Depends(get_settings)]
FarmDep = Annotated[FarmService, Depends(get_farm)]
CatalogsDep = Annotated[CatalogCache, Depends(get_catalogs)]
BookDep = Annotated[DesignBook, Depends(get_book)]
RunsDep = Annotated[RunManager, Depends(get_runs)]
OrdersDep = Annotated[OrderService, Depends(get_orders)]
QuotesDep = Annotated[QuoteService, Depends(get_quotes)]
TraceDep = Annotated[TraceService, Depends(get_trace)]
ReprintsDep = Annotated[ReprintService, Depends(get_reprints)]


async def require_admin(
    farm: FarmDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_operator_scheme)],
) -> None:
    farm.check_admin(creds.credentials if creds else None)


async def require_node(
    farm: FarmDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_node_scheme)],
) -> str:
    return farm.authenticate_node(creds.credentials if creds else None)


AdminKey = Annotated[None, Depends(require_admin)]
NodeId = Annotated[str, Depends(require_node)]
