"""HTTP clients of the farm API (adapter, httpx).

:class:`NodeClient` is what a node agent speaks; :class:`OperatorClient` covers the
operator endpoints (tests, benchmarks, scripts). Both take an injectable ``transport``
(``httpx.MockTransport`` in unit tests, ``httpx.ASGITransport`` for in-process use) and
turn HTTP errors into the domain error tree (:func:`configurator.errors.error_for_status`:
the class declaring the status; 422 is a :class:`~configurator.errors.RequirementsError`
with one field per ``detail`` entry).

Connection failures and 5xx answers are retried with capped exponential backoff for up
to ``retry_for_s`` seconds (the server may be restarting), then :class:`FarmError`.
Every node request is safe to retry: heartbeat and progress overwrite, claim returns the
job already claimed, complete is idempotent, a repeated fail is refused without effect.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

import httpx

from configurator.core.farm.capability import FarmPrinter, FarmProfile
from configurator.errors import FarmError, RequirementsError, error_for_status

API = "/api/v1/farm"
log = logging.getLogger("configurator.adapters.farm_client")


def _raise_for(resp: httpx.Response) -> None:
    if resp.status_code < 400:
        return
    try:
        detail = resp.json().get("detail")
    except (ValueError, AttributeError):
        detail = resp.text
    cls = error_for_status(resp.status_code)
    if cls is RequirementsError:
        fields = {}
        if isinstance(detail, list):
            for d in detail:
                loc = d.get("loc") or ["?"]
                fields[str(loc[-1])] = d.get("msg", "invalid")
        raise RequirementsError(fields or {"request": str(detail)})
    raise cls(f"{resp.request.method} {resp.request.url.path}: {resp.status_code} {detail}")


class _Base:
    def __init__(
        self,
        server: str,
        key: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout_s: float = 30.0,
        retry_for_s: float = 60.0,
        stop: threading.Event | None = None,
    ):
        self.server = server.rstrip("/")
        self.retry_for_s = retry_for_s
        self.stop = stop  # set -> retries end at once (the agent is shutting down)
        self._http = httpx.Client(
            base_url=self.server,
            headers={"Authorization": f"Bearer {key}"},
            transport=transport,
            timeout=timeout_s,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """Send with retries on connection errors and 5xx; raise domain errors on 4xx."""
        deadline = time.monotonic() + self.retry_for_s
        delay = 0.05
        while True:
            try:
                resp = self._http.request(method, path, **kw)
                if resp.status_code < 500:
                    _raise_for(resp)
                    return resp
                problem = f"{resp.status_code} {resp.text[:200]}"
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if time.monotonic() + delay > deadline:
                raise FarmError(f"{method} {self.server}{path} failed: {problem}")
            if self.stop is not None and self.stop.wait(delay):
                raise FarmError(f"{method} {self.server}{path}: stopped while retrying ({problem})")
            if self.stop is None:
                time.sleep(delay)
            delay = min(delay * 2, 1.0)


class NodeClient(_Base):
    """The calling node's side of the API (its key identifies it)."""

    def heartbeat(
        self,
        state: str = "idle",
        materials: Mapping[str, float] | None = None,
        *,
        reason: str | None = None,
        printer: Mapping[str, Any] | None = None,
        auto_clear: bool | None = None,
    ) -> dict:
        """-> ``{"node": {...}, "heartbeat_interval_s": s, "command": pause|resume|None}``.
        ``offline`` with ``reason``: the printer cannot print (the farm reroutes its jobs);
        ``printer``: details (state, temperatures, bed...), ≤ 32 flat values."""
        body: dict[str, Any] = {"state": state}
        if materials is not None:
            body["materials"] = dict(materials)
        extra = {"reason": reason, "printer": dict(printer or {}) or None, "auto_clear": auto_clear}
        body.update({k: v for k, v in extra.items() if v is not None})
        return self.request("POST", f"{API}/agent/heartbeat", json=body).json()

    def claim(self) -> dict | None:
        """-> ``{"job": {...}, "file_url": path}`` or None when there is nothing to print."""
        resp = self.request("POST", f"{API}/agent/claim")
        return None if resp.status_code == 204 else resp.json()

    def download(self, file_url: str) -> bytes:
        return self.request("GET", file_url).content

    def progress(self, job_id: int, *, percent: float, seconds_left: float) -> dict:
        """-> the job and ``command``: an operator's pause/resume for it, or None."""
        body = {"percent": percent, "seconds_left": seconds_left}
        return self.request("POST", f"{API}/agent/jobs/{job_id}/progress", json=body).json()

    def complete(
        self,
        job_id: int,
        *,
        actual_seconds: float,
        grams_used: float,
        record: Mapping[str, Any] | None = None,
    ) -> dict:
        """``record``: production facts (slicer, hashes, firmware...), ≤ 32 str/number values."""
        body: dict[str, Any] = {"actual_seconds": actual_seconds, "grams_used": grams_used}
        if record:
            body["record"] = dict(record)
        return self.request("POST", f"{API}/agent/jobs/{job_id}/complete", json=body).json()

    def fail(self, job_id: int, *, reason: str) -> dict:
        """``reason``: the printer's own words (cut to the API's 500 characters)."""
        return self.request(
            "POST", f"{API}/agent/jobs/{job_id}/fail", json={"reason": reason[:500] or "failed"}
        ).json()


class OperatorClient(_Base):
    """Operator endpoints (admin key)."""

    def register_node(
        self,
        *,
        name: str,
        technology: str,
        build_volume: tuple[float, float, float],
        materials: Mapping[str, float],
        speed: float = 1.0,
        time_scale: float = 1.0,
        auto_clear: bool = False,
        setup_s: float | None = None,
    ) -> dict:
        """-> ``{"node": {...}, "node_key": key}``."""
        body = {
            "name": name,
            "technology": technology,
            "build_volume": list(build_volume),
            "materials": dict(materials),
            "speed": speed,
            "time_scale": time_scale,
            "auto_clear": auto_clear,
        }
        if setup_s is not None:
            body["setup_s"] = setup_s
        return self.request("POST", f"{API}/nodes", json=body).json()

    def plate_cleared(self, node_id: str) -> dict:
        """The operator took the finished build off ``node_id``'s plate."""
        return self.request("POST", f"{API}/nodes/{node_id}/plate-cleared").json()

    def submit_job(self, *, file_name: str, file_bytes: bytes, fields: Mapping[str, Any]) -> dict:
        """Multipart submit; ``fields``: design_id, material, bbox_x/y/z, est_seconds, grams,
        optional priority, deadline (ISO), technology, label."""
        files = {"file": (file_name, file_bytes, "application/octet-stream")}
        data = {k: str(v) for k, v in fields.items() if v is not None}
        return self.request("POST", f"{API}/jobs", files=files, data=data).json()

    def status(self) -> dict:
        return self.request("GET", f"{API}/status").json()

    def capabilities(self) -> dict:
        """The farm's capability view (``GET /farm/capabilities``): printers with their
        technology, build volume, materials, speed and state."""
        return self.request("GET", f"{API}/capabilities").json()

    def farm_profile(self) -> FarmProfile:
        """What the farm can make, as a design run's farm constraint reads it."""
        try:
            printers = [
                FarmPrinter(
                    name=p["name"],
                    technology=p["technology"],
                    build_volume=tuple(p["build_volume"]),
                    materials=sorted(p["materials"]),
                )
                for p in self.capabilities()["printers"]
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise FarmError(
                f"{self.server} answered an unexpected capability view: {exc}"
            ) from None
        return FarmProfile(printers=printers, source=self.server)

    def jobs(self, **params: Any) -> list[dict]:
        return self.request("GET", f"{API}/jobs", params=params).json()

    def job(self, job_id: int) -> dict:
        return self.request("GET", f"{API}/jobs/{job_id}").json()
