"""Hostile input stops here: request size limits (413) and text no store can keep (422).

:class:`RequestGuard` is a pure ASGI middleware in front of every route:

* **Size.** Each request body has a limit by route (:func:`body_limit`): node reports
  (``/farm/agent/...``) ``max_agent_report_bytes`` (a few KB), job uploads
  ``max_upload_bytes`` plus the multipart envelope, every other body ``max_json_bytes``. A
  ``Content-Length`` past it is refused before a byte is read; a body without one is
  counted as it streams (Starlette's body-limit responder). Answer: 413 ``{"detail": ...}``.
* **Text.** A JSON body is read (it is small) and must be UTF-8 with no NUL character and
  no lone UTF-16 surrogate in any key or string (PostgreSQL refuses both, SQLite would keep
  them silently, and JSON cannot carry a lone surrogate to a browser); the path and query
  string must hold no NUL. Answer: a field-level 422 in FastAPI's shape, ``loc`` naming
  the string (``["body", "materials", "<key>"]``).

Both answers are sent before the route runs, so nothing of such a request reaches a
service or the database.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.middleware.body_limit import RequestBodyLimitResponder
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: room for the multipart envelope (boundaries, part headers, the small form fields)
MULTIPART_ENVELOPE_BYTES = 64 * 1024


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text (NUL, a lone surrogate), or None."""
    if "\x00" in value:
        return "must not contain the NUL character (U+0000)"
    for ch in value:
        if "\ud800" <= ch <= "\udfff":
            return f"must not contain a lone UTF-16 surrogate (U+{ord(ch):04X})"
    return None


def check_text(value: str) -> str:
    """``value`` unchanged, or ValueError saying why no store can keep it (pydantic
    validator of form fields)."""
    problem = text_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def find_bad_text(data: Any, path: tuple[Any, ...] = ()) -> tuple[tuple[Any, ...], str] | None:
    """The first key or string of parsed JSON that cannot be stored: ``(loc, reason)``."""
    if isinstance(data, str):
        problem = text_problem(data)
        return (path, problem) if problem else None
    if isinstance(data, dict):
        for key, value in data.items():
            problem = text_problem(key)
            if problem:
                return (*path, _printable(key)), f"key {problem}"
            found = find_bad_text(value, (*path, key))
            if found:
                return found
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found = find_bad_text(value, (*path, i))
            if found:
                return found
    return None


def _printable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def body_limit(settings: Any, method: str, path: str) -> int:
    """The largest request body (bytes) ``method path`` accepts (see the module docstring)."""
    if "/farm/agent/" in path:
        return int(settings.max_agent_report_bytes)
    if method == "POST" and path.rstrip("/").endswith("/farm/jobs"):
        return int(settings.max_upload_bytes) + MULTIPART_ENVELOPE_BYTES
    return int(settings.max_json_bytes)


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return True  # FastAPI reads a body without a content type as JSON
    main = content_type.split(";", 1)[0].strip().lower()
    return main == "application/json" or (
        main.startswith("application/") and main.endswith("+json")
    )


class RequestGuard:
    """The middleware (module docstring). ``limit_for(method, path) -> bytes``."""

    def __init__(self, app: ASGIApp, *, limit_for: Callable[[str, str], int]):
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        bad = self._bad_url(scope)
        if bad is not None:
            await _json(send, 422, {"detail": [bad]})
            return
        headers = Headers(scope=scope)
        limit = self.limit_for(scope["method"], scope["path"])
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await _too_large(send, limit)
            return
        if scope["method"] in ("GET", "HEAD", "OPTIONS") and length in (None, "0"):
            await self.app(scope, receive, send)
            return
        if not _is_json(headers.get("content-type")):
            await RequestBodyLimitResponder(self.app, limit)(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > limit:
                await _too_large(send, limit)
                return
        problem = _bad_json_text(body)
        if problem is not None:
            await _json(send, 422, {"detail": [problem]})
            return
        await self.app(scope, _replay(body, receive), send)

    @staticmethod
    def _bad_url(scope: Scope) -> dict[str, Any] | None:
        if "\x00" in scope["path"]:
            return _entry(("path",), "must not contain the NUL character (U+0000)", "")
        query = scope.get("query_string", b"").decode("latin-1")
        if "%00" in query or "\x00" in query:
            for name, value in parse_qsl(query, keep_blank_values=True):
                if "\x00" in name or "\x00" in value:
                    reason = "must not contain the NUL character (U+0000)"
                    return _entry(("query", _printable(name)), reason, _printable(value))
        return None


def _entry(loc: tuple[Any, ...], msg: str, value: Any) -> dict[str, Any]:
    return {"type": "string_unstorable", "loc": list(loc), "msg": msg, "input": value}


def _bad_json_text(body: bytes) -> dict[str, Any] | None:
    if not body:
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        msg = f"the body is not UTF-8 text (byte 0x{body[exc.start]:02x} at {exc.start})"
        return {"type": "unicode_error", "loc": ["body"], "msg": msg, "input": None}
    try:
        data = json.loads(text)
    except RecursionError:
        return {"type": "json_invalid", "loc": ["body"], "msg": "JSON nested too deeply",
                "input": None}  # fmt: skip
    except ValueError:
        return None  # FastAPI answers with its own 422 (json_invalid)
    found = find_bad_text(data)
    if found is None:
        return None
    loc, reason = found
    return _entry(("body", *(_printable(p) if isinstance(p, str) else p for p in loc)),
                  reason, None)  # fmt: skip


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _json(send: Send, status: int, content: Any, headers: list | None = None) -> None:
    raw = json.dumps(content, ensure_ascii=True).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(raw)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": raw})


async def _too_large(send: Send, limit: int) -> None:
    await _json(send, 413, {"detail": f"the request body is larger than {limit} bytes"},
                [(b"connection", b"close")])  # fmt: skip


class AllowHeader:
    """A 405 lists in ``Allow`` every method the path supports, as the OpenAPI document
    declares them — Starlette names only those of the first route matching the path
    (``/farm/nodes/{id}`` has three, GET, PATCH and DELETE, each its own route). Paths
    outside the document (pages, files) keep Starlette's header."""

    def __init__(self, app: ASGIApp):
        self.app = app
        self._paths: list[tuple[re.Pattern[str], set[str]]] | None = None

    def _methods(self, scope: Scope) -> set[str] | None:
        if self._paths is None:
            paths = scope["app"].openapi().get("paths", {})
            self._paths = [
                (re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(p)) + "$"),
                 {m.upper() for m in item})
                for p, item in paths.items()
            ]  # fmt: skip
        for pattern, methods in self._paths:
            if pattern.match(scope["path"]):
                return methods | ({"HEAD"} if "GET" in methods else set())
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                methods = self._methods(scope)
                if methods:
                    headers = [(k, v) for k, v in message["headers"] if k.lower() != b"allow"]
                    headers.append((b"allow", ", ".join(sorted(methods)).encode()))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_allow)
