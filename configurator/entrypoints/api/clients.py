"""Who is asking, for the run queue's fairness and per-client limits.

A browser gets a signed cookie (``cfg_client``: a random id and its HMAC under a key
derived from the admin key, so every server process of one deployment accepts it) with the
first page or run it asks for; a request without a valid one counts as its IP address.
The key is stored hashed (:func:`client_key`). A client that throws its cookies away counts
as its address from then on; the store-wide queue bound (``max_queued_runs``) caps what
any number of clients can queue.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

COOKIE = "cfg_client"
MAX_AGE_S = 365 * 86400


def _key(request: Request) -> bytes:
    admin = request.app.state.container.admin_key
    return hashlib.sha256(f"configurator-client-cookie:{admin}".encode()).digest()


def _sign(key: bytes, ident: str) -> str:
    return hmac.new(key, ident.encode(), hashlib.sha256).hexdigest()[:32]


def client_key(request: Request) -> tuple[str, str | None]:
    """``(client key, new cookie value or None)``: the key is a hash of the cookie's id when
    the request carries a valid one, else of the client's address (and a new cookie is
    issued for next time)."""
    key = _key(request)
    raw = request.cookies.get(COOKIE, "")
    ident, _, sig = raw.partition(".")
    if ident and len(raw) <= 100 and hmac.compare_digest(sig, _sign(key, ident)):
        return "c" + hashlib.sha256(ident.encode()).hexdigest()[:40], None
    host = request.client.host if request.client else "unknown"
    ident = secrets.token_urlsafe(16)
    return "a" + hashlib.sha256(host.encode()).hexdigest()[:40], f"{ident}.{_sign(key, ident)}"


def set_client_cookie(response: Response, value: str | None) -> None:
    """Attach a newly issued client cookie (no-op for None)."""
    if value is not None:
        response.set_cookie(
            COOKIE, value, max_age=MAX_AGE_S, httponly=True, samesite="lax", path="/"
        )


def ensure_client_cookie(request: Request, response: Response) -> None:
    """Give a page's response a client cookie when the request had no valid one."""
    set_client_cookie(response, client_key(request)[1])
