"""Shared FastAPI dependencies: settings, services and the two kinds of key.

Keys travel as ``Authorization: Bearer <key>``. Operator endpoints take the admin key
(:data:`AdminKey`), node endpoints a node key (:data:`NodeId` resolves it to the node id).
Missing or unknown keys → 401, a valid key of the wrong kind → 403.

The dependencies are ``async`` on purpose: FastAPI runs sync dependencies in the thread
pool, one hop each, which cost more than the check itself. Key checks are in-memory hash
comparisons (node keys are cached after their first database lookup).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from configurator.services.farm.service import FarmService
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


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_farm(request: Request) -> FarmService:
    return request.app.state.farm


SettingsDep = Annotated[Settings, Depends(get_settings)]
FarmDep = Annotated[FarmService, Depends(get_farm)]


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
