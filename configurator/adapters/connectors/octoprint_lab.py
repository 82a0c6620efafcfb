"""A local OctoPrint with its bundled Virtual Printer: tests, benchmarks and demos with a
real printer server and no hardware.

:func:`ensure_installed` puts OctoPrint |version| in a virtualenv of its own (OctoPrint
pins pydantic 1, so it cannot share ours) under ``~/.cache/configurator/`` (or
``$CONFIGURATOR_OCTOPRINT_VENV``), from PyPI, once, under a file lock;
``scripts/octoprint.sh`` calls it from ``scripts/setup.sh``.

:class:`VirtualOctoPrint` runs one instance on loopback with a fresh base dir: a global
API key, an admin user, autoconnect to the Virtual Printer, no online checks. The Virtual
Printer is made quick: an ambient temperature at the hot end's target (``ambient_c``) so
heat-up waits are short, and ``M220 S<feedrate_pct>`` sent before every print
(OctoPrint's ``beforePrintStarted`` script). It is ready (``Operational``) ~4 s after
start and takes ~90 MB.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from configurator.adapters.connectors.octoprint_api import OctoPrintAPI, OctoPrintError
from configurator.adapters.processes import stop_group

OCTOPRINT_VERSION = "1.11.8"
_MARKER = ".configurator-complete"


def venv_dir() -> Path:
    """Where the OctoPrint virtualenv lives."""
    env = os.environ.get("CONFIGURATOR_OCTOPRINT_VENV")
    if env:
        return Path(env)
    return Path.home() / ".cache" / "configurator" / f"octoprint-{OCTOPRINT_VERSION}"


def ensure_installed(*, python: str = sys.executable, quiet: bool = True) -> Path:
    """The OctoPrint virtualenv's python, installing OctoPrint first if needed (minutes,
    needs PyPI). Safe to call from several processes at once."""
    venv = venv_dir()
    py = venv / "bin" / "python"
    if (venv / _MARKER).is_file():
        return py
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f".{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (venv / _MARKER).is_file():
            return py
        shutil.rmtree(venv, ignore_errors=True)  # a half-made one from an interrupted run
        for cmd in (
            [python, "-m", "venv", str(venv)],
            [str(py), "-m", "pip", "install", "-q", f"OctoPrint=={OCTOPRINT_VERSION}"],
        ):
            proc = subprocess.run(cmd, capture_output=quiet, text=True, check=False)
            if proc.returncode != 0:
                tail = (proc.stderr or "").strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
                raise OctoPrintError(f"installing OctoPrint {OCTOPRINT_VERSION} failed: {tail[0]}")
        (venv / _MARKER).write_text(OCTOPRINT_VERSION)
    return py


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_CONFIG = """\
api: {{key: {key}}}
server:
  firstRun: false
  host: 127.0.0.1
  port: {port}
  onlineCheck: {{enabled: false}}
  pluginBlacklist: {{enabled: false}}
serial: {{port: VIRTUAL, baudrate: 0, autoconnect: true}}
plugins:
  _disabled: [softwareupdate, announcements, tracking, errortracking, pluginmanager, achievements, discovery]
  health_check: {{disabled: [python_eol, octoprint_freshness]}}
  virtual_printer:
    enabled: true
    simulated_errors: []
    ambientTemperature: {ambient}
"""


class VirtualOctoPrint:
    """One OctoPrint + Virtual Printer on ``127.0.0.1:port`` with base dir ``basedir``.

    ``api_key`` is the global key (what an admin has); :meth:`app_key` makes the per-user
    application key a node agent should use. ``user``/``password``: the admin user.
    """

    def __init__(
        self,
        basedir: Path,
        *,
        port: int | None = None,
        ambient_c: float = 215.0,
        feedrate_pct: int = 5000,
        user: str = "farm",
    ) -> None:
        self.basedir = Path(basedir)
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_key = secrets.token_hex(16)
        self.user = user
        self.password = secrets.token_hex(8)
        self.ambient_c = ambient_c
        self.feedrate_pct = feedrate_pct
        self.proc: subprocess.Popen | None = None
        self._api: OctoPrintAPI | None = None

    # -- lifecycle -------------------------------------------------------------------
    def start(self, timeout_s: float = 90.0) -> None:
        """Create the base dir (first time), start the server and wait until the Virtual
        Printer is ``Operational``."""
        py = ensure_installed()
        if not (self.basedir / "config.yaml").is_file():
            self._prepare(py)
        log = open(self.basedir / "serve.log", "ab")  # noqa: SIM115 (the child keeps it)
        self.proc = subprocess.Popen(
            [str(py), "-m", "octoprint", "serve", "--iknowwhatimdoing", "--host", "127.0.0.1",
             "--port", str(self.port), "--basedir", str(self.basedir)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        log.close()
        self.wait_state("Operational", timeout_s)

    def _prepare(self, py: Path) -> None:
        self.basedir.mkdir(parents=True, exist_ok=True)
        config = _CONFIG.format(key=self.api_key, port=self.port, ambient=self.ambient_c)
        (self.basedir / "config.yaml").write_text(config)
        scripts = self.basedir / "scripts" / "gcode"
        scripts.mkdir(parents=True, exist_ok=True)
        (scripts / "beforePrintStarted").write_text(f"M220 S{self.feedrate_pct}\n")
        subprocess.run(
            [str(py), "-m", "octoprint", "--basedir", str(self.basedir), "user", "add",
             "--password", self.password, "--admin", self.user],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """Terminate the server, thawed if frozen (its whole process group SIGKILLed
        after 10 s)."""
        if self._api is not None:
            self._api.close()
            self._api = None
        if self.proc is not None:
            stop_group(self.proc, wait_s=10)

    def freeze(self) -> None:
        """SIGSTOP the server: it stops answering (a hung OctoPrint)."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT after :meth:`freeze`."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGCONT)

    # -- using it --------------------------------------------------------------------
    @property
    def api(self) -> OctoPrintAPI:
        """An API client with the global key (the admin's view)."""
        if self._api is None:
            self._api = OctoPrintAPI(self.url, self.api_key)
        return self._api

    def app_key(self, app: str = "configurator-node") -> str:
        """A per-user application key for ``app`` (as a farm operator would make one)."""
        return self.api.generate_app_key(app, self.user)

    def state(self) -> str:
        """``GET /api/job``'s state text, or ``"unreachable"``."""
        try:
            return str(self.api.job()["state"])
        except OctoPrintError:
            return "unreachable"

    def wait_state(self, wanted: str, timeout_s: float = 60.0) -> None:
        """Wait until the state text is ``wanted``."""
        deadline = time.monotonic() + timeout_s
        last = "?"
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise OctoPrintError(f"OctoPrint exited with {self.proc.returncode}; see serve.log")
            last = self.state()
            if last == wanted:
                return
            time.sleep(0.1)
        raise OctoPrintError(
            f"OctoPrint at {self.url} is {last!r}, not {wanted!r}, after {timeout_s:g} s"
        )

    def debug(self, command: str) -> None:
        """A Virtual Printer debug command, e.g. ``trigger_fatal_error_marlin``."""
        self.api.commands([f"!!DEBUG:{command}"])

    def reset(self, timeout_s: float = 30.0) -> None:
        """Back to a clean Operational printer: reconnect after a fault, cancel any print,
        delete every stored file (their print history goes with them)."""
        api = self.api
        if self.state() not in ("Operational", "Printing", "Paused", "Pausing", "Starting"):
            api.connect()
            self.wait_state("Operational", timeout_s)
        if self.state() != "Operational":
            api.job_command("cancel")
            self.wait_state("Operational", timeout_s)
        for f in api.files():
            if f.get("type") != "folder":
                api.delete(str(f["path"]))
