"""Real processes for the farm's end-to-end tests: a ``configurator serve`` server and
``configurator node run --simulate`` agents, on free loopback ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ADMIN = "cluster-admin-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``configurator serve`` in a subprocess; ``kill()`` is SIGKILL, ``start()`` restarts
    it on the same port and data dir."""

    def __init__(self, data_dir: Path, *, env: dict[str, str] | None = None):
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "CONFIGURATOR_ADMIN_KEY": ADMIN,
            "CONFIGURATOR_DATA_DIR": str(data_dir),
            "CONFIGURATOR_HEARTBEAT_TIMEOUT_S": "1.5",
            "CONFIGURATOR_MAX_ATTEMPTS": "20",
            "CONFIGURATOR_REBALANCE_MARGIN_S": "5",
            **(env or {}),
        }
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self, timeout_s: float = 90.0) -> None:  # a loaded 2-core machine imports slowly
        self.starts += 1
        log = open(self.data_dir.parent / f"server-{self.starts}.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "configurator",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}")
            try:
                if httpx.get(f"{self.url}/openapi.json", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not come up")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


class Agent:
    """``configurator node run --simulate`` in a subprocess (SIGKILL-able, restartable)."""

    def __init__(
        self,
        server_url: str,
        key: str,
        *,
        speed: float = 1000.0,
        fail_rate: float = 0.0,
        seed: int = 0,
    ):
        self.args = [
            sys.executable, "-m", "configurator", "node", "run", "--server", server_url,
            "--node-key", key, "--simulate", "--speed", str(speed), "--fail-rate", str(fail_rate),
            "--seed", str(seed), "--poll", "0.2", "--retry-for", "30",
        ]  # fmt: skip
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.alive:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.alive:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
