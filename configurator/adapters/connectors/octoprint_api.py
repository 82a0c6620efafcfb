"""OctoPrint's REST API, the calls a node agent needs (httpx, ``X-Api-Key``).

Only transport and error mapping live here; what the answers mean for a farm job is
:mod:`configurator.adapters.connectors.octoprint`. Errors:

* no answer (connection refused, timeout) -> :class:`OctoPrintUnreachable`;
* 401/403 -> :class:`OctoPrintAuthError` ("OctoPrint refused the key (403)");
* any other 4xx/5xx -> :class:`OctoPrintError` with OctoPrint's own ``error`` text and
  ``status``.

Reference: OctoPrint 1.11 ``/api/version``, ``/api/job``, ``/api/printer``,
``/api/connection``, ``/api/printerprofiles``, ``/api/files/local``,
``/api/printer/command``, ``/api/plugin/appkeys``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from configurator.adapters.connectors.base import ConnectorError


class OctoPrintError(ConnectorError):
    """OctoPrint answered with an error; ``status`` is the HTTP status (0: no answer)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class OctoPrintAuthError(OctoPrintError):
    """OctoPrint refused the API key (401/403)."""


class OctoPrintUnreachable(OctoPrintError):
    """OctoPrint did not answer (not running, wrong URL, network, timeout)."""


def _error_text(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text.strip()[:300]
    if isinstance(body, dict) and body.get("error"):
        return str(body["error"])[:300]
    return str(body)[:300]


class OctoPrintAPI:
    """One OctoPrint instance. ``timeout_s``: per request (seconds)."""

    def __init__(
        self,
        url: str,
        key: str,
        *,
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise OctoPrintError(f"the OctoPrint URL must be http(s)://..., got {url!r}")
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url,
            headers={"X-Api-Key": key},
            timeout=timeout_s,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    # -- transport ---------------------------------------------------------------------
    def request(
        self, method: str, path: str, *, ok: tuple[int, ...] = (), **kw: Any
    ) -> httpx.Response:
        """Send one request; statuses in ``ok`` are returned instead of raised."""
        try:
            resp = self._http.request(method, path, **kw)
        except httpx.TransportError as exc:
            detail = str(exc) or type(exc).__name__
            raise OctoPrintUnreachable(
                f"OctoPrint at {self.url} did not answer ({detail})"
            ) from exc
        if resp.status_code < 400 or resp.status_code in ok:
            return resp
        if resp.status_code in (401, 403):
            raise OctoPrintAuthError(
                f"OctoPrint refused the key ({resp.status_code})", resp.status_code
            )
        raise OctoPrintError(
            f"OctoPrint {method} {path}: {resp.status_code} {_error_text(resp)}", resp.status_code
        )

    def _json(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        return self.request(method, path, **kw).json()

    # -- reading ---------------------------------------------------------------------
    def version(self) -> dict[str, Any]:
        """``{"api": "0.1", "server": "1.11.8", "text": "OctoPrint 1.11.8"}``."""
        return self._json("GET", "/api/version")

    def job(self) -> dict[str, Any]:
        """``GET /api/job``: ``state`` (text), optional ``error``, ``job.file.name``,
        ``progress.completion`` (percent), ``printTime``/``printTimeLeft`` (s)."""
        return self._json("GET", "/api/job")

    def printer(self) -> dict[str, Any] | None:
        """``GET /api/printer`` (state flags, temperatures °C); None on 409 (not operational)."""
        resp = self.request("GET", "/api/printer", ok=(409,))
        return None if resp.status_code == 409 else resp.json()

    def connection(self) -> dict[str, Any]:
        """``GET /api/connection``'s ``current`` (``state``, ``port``, ``printerProfile``)."""
        return self._json("GET", "/api/connection").get("current") or {}

    def current_profile(self) -> dict[str, Any]:
        """The printer profile in use (``volume``: width/depth/height mm, origin, formFactor)."""
        profiles = self._json("GET", "/api/printerprofiles").get("profiles") or {}
        for pick in ("current", "default"):
            for prof in profiles.values():
                if prof.get(pick):
                    return prof
        raise OctoPrintError(f"OctoPrint at {self.url} has no printer profile")

    def file(self, name: str) -> dict[str, Any] | None:
        """A stored file's metadata (``date``, ``prints``: success/failure/last), None if absent."""
        resp = self.request("GET", f"/api/files/local/{name}", ok=(404,))
        return None if resp.status_code == 404 else resp.json()

    def files(self) -> list[dict[str, Any]]:
        """Every stored file at the top level (name, date, prints...)."""
        return self._json("GET", "/api/files/local").get("files") or []

    def download(self, name: str) -> bytes:
        """The bytes of a stored file."""
        return self.request("GET", f"/downloads/files/local/{name}").content

    # -- acting ----------------------------------------------------------------------
    def upload(
        self, name: str, gcode: Path | bytes, *, select: bool = True, print_: bool = True
    ) -> dict[str, Any]:
        """``POST /api/files/local`` (multipart); the 201 reply, whose ``effectivePrint`` /
        ``effectiveSelect`` say whether OctoPrint really started / selected it."""
        data = gcode.read_bytes() if isinstance(gcode, Path) else gcode
        return self._json(
            "POST",
            "/api/files/local",
            files={"file": (name, data, "application/octet-stream")},
            data={"select": str(select).lower(), "print": str(print_).lower()},
        )

    def delete(self, name: str) -> None:
        """Delete a stored file (absent is fine)."""
        self.request("DELETE", f"/api/files/local/{name}", ok=(404,))

    def job_command(self, command: str, action: str | None = None) -> bool:
        """``POST /api/job`` (start/cancel/pause/restart); False when OctoPrint answers 409
        (nothing to pause/cancel, or not operational)."""
        body: dict[str, Any] = {"command": command}
        if action is not None:
            body["action"] = action
        return self.request("POST", "/api/job", json=body, ok=(409,)).status_code != 409

    def connect(self) -> None:
        """``POST /api/connection {"command": "connect"}`` with the saved port/baud rate."""
        self.request("POST", "/api/connection", json={"command": "connect"})

    def commands(self, lines: list[str]) -> None:
        """Send raw G-code (or ``!!DEBUG:`` lines to the Virtual Printer)."""
        self.request("POST", "/api/printer/command", json={"commands": lines})

    def generate_app_key(self, app: str, user: str) -> str:
        """A per-user application key (appkeys plugin; needs an admin or the global key)."""
        body = {"command": "generate", "app": app, "user": user}
        return str(self._json("POST", "/api/plugin/appkeys", json=body)["api_key"])
