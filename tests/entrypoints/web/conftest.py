"""Shared by the browser tests: the real server (``python -m configurator serve``) on a free
loopback port, Debian's Chromium through Playwright, a page that records screenshots of
every step in ``test-output/web/`` (ignored by git) and fails on any page error."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest

from configurator.settings import REPO_ROOT

CHROMIUM = os.environ.get("CONFIGURATOR_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
]
OUT = REPO_ROOT / "test-output" / "web"
THREE = REPO_ROOT / "node_modules" / "three" / "build" / "three.module.js"


def require_browser() -> None:
    """Skip the calling module when Chromium, three.js or Playwright is missing."""
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"Chromium not found at {CHROMIUM} (scripts/setup.sh installs it)",
            allow_module_level=True,
        )
    if not THREE.exists():
        pytest.skip(
            "three.js not installed (npm ci; scripts/setup.sh does it)", allow_module_level=True
        )
    pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def live_server(data: Path, args: Sequence[str], *, admin_key: str) -> Iterator[str]:
    """``configurator serve --port P --data-dir DATA ARGS...`` in a process; yields its URL,
    stops it (SIGINT, then kill) and keeps its log in ``test-output/web``."""
    port = _free_port()
    env = {**os.environ, "CONFIGURATOR_ADMIN_KEY": admin_key, "CONFIGURATOR_RUN_WORKERS": "1"}
    log = open(data / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "configurator",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(data),
            *args,
            "--log-level",
            "warning",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                if httpx.get(url + "/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "server did not start:\n" + (data / "server.log").read_text()[-3000:]
                )
            time.sleep(0.2)
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()
        if OUT.exists():
            shutil.copy(data / "server.log", OUT / f"server-{data.name}.log")


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, request):
    OUT.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.shots = []  # type: ignore[attr-defined]

    def shot(name: str) -> None:
        path = OUT / f"{request.node.name}-{len(pg.shots) + 1:02d}-{name}.png"
        pg.screenshot(path=str(path), full_page=True)
        pg.shots.append(path)

    pg.shot = shot  # type: ignore[attr-defined]
    yield pg
    context.close()
    assert not errors, errors
