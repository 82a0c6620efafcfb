"""A live app for API tests: ``create_app(settings)`` served by uvicorn on a free loopback
port in a thread, and a helper that waits for a run to finish."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import uvicorn

from configurator.entrypoints.api.app import create_app
from configurator.settings import Settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """create_app(settings) served by uvicorn in a thread on a free loopback port."""

    def __init__(self, settings: Settings):
        self.app = create_app(settings, sweep=False)
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(self.app, host="127.0.0.1", port=port, log_level="error")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> httpx.Client:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "server did not start"
            time.sleep(0.02)
        self.client = httpx.Client(base_url=self.url, timeout=60)
        return self.client

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(30)


def wait_finished(api: httpx.Client, run_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = api.get(f"/api/v1/runs/{run_id}").json()
        if run["finished"]:
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish")
