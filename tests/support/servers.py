"""Real server processes for multi-process tests: ``python -m configurator serve`` on free
loopback ports, stopped (or killed) by the test; a fresh PostgreSQL database per use."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from configurator.adapters.db.engine import normalize_url
from configurator.adapters.processes import stop_group
from configurator.settings import REPO_ROOT

PG_ENV = "CONFIGURATOR_TEST_POSTGRES_URL"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new, empty database on the test server (dropped afterwards); its SQLAlchemy URL."""
    base = make_url(normalize_url(os.environ[PG_ENV]))
    name = f"runs_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class ServerProcess:
    """``configurator serve`` in a subprocess; ``url``, ``pid``, ``stop()``, ``kill()``."""

    def __init__(self, data_dir: Path, *, database: str | None = None, args=(), env=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / f"server-{self.port}.log"
        cmd = [sys.executable, "-m", "configurator", "serve", "--port", str(self.port),
               "--data-dir", str(data_dir), "--log-level", "warning", *args]  # fmt: skip
        if database:
            cmd += ["--database", database]
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            cmd,
            cwd=REPO_ROOT,
            env={**os.environ, **(env or {})},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() leaves no child behind
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, timeout: float = 90) -> ServerProcess:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(self.url + "/api/v1/catalogs", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError("server did not start:\n" + self.output()[-3000:])
            time.sleep(0.2)

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the server and every process it started (``--workers`` children, run
        workers): a supervisor killed alone would leave its children serving."""
        stop_group(self.proc, sig=signal.SIGKILL, wait_s=10)

    def stop(self) -> None:
        stop_group(self.proc, sig=signal.SIGINT, wait_s=30)
        self.log.close()
