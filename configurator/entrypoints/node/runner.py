"""Run one agent per printer (each in its own thread, each with its own node key).

:func:`connect_printer` builds a printer's connector; for OctoPrint it waits until the
instance answers — heartbeating the node ``offline`` meanwhile — and stops at once on a
refused key. :func:`run_printers` runs them all until ``stop`` is set.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from configurator.adapters.connectors import OctoPrintConnector, SimulatedPrinter
from configurator.adapters.connectors.base import PrinterConnector
from configurator.adapters.connectors.octoprint_api import OctoPrintAuthError, OctoPrintError
from configurator.adapters.connectors.slicing import NodeSlicer
from configurator.adapters.farm_client import NodeClient
from configurator.entrypoints.node.agent import AgentStats, run_agent
from configurator.entrypoints.node.printers import PrinterSpec
from configurator.errors import AuthError, ConfiguratorError, FarmError, SettingsError

log = logging.getLogger("configurator.entrypoints.node")

#: seconds between attempts to reach an OctoPrint that does not answer at start
CONNECT_RETRY_S = 5.0


def build_connector(spec: PrinterSpec) -> PrinterConnector:
    """The connector of ``spec`` (not yet checked)."""
    if spec.simulate is not None:
        try:
            return SimulatedPrinter(**spec.simulate)
        except TypeError as exc:
            raise SettingsError(f"printer {spec.name!r}: bad simulate settings: {exc}") from exc
    assert spec.octoprint is not None and spec.octoprint_key is not None
    slicer = NodeSlicer(spec.default_workdir(), spec.slicer_profile or None)
    return OctoPrintConnector(spec.octoprint, spec.octoprint_key, slicer=slicer)


def connect_printer(
    spec: PrinterSpec,
    connector: PrinterConnector,
    client: NodeClient,
    stop: threading.Event,
    *,
    retry_s: float = CONNECT_RETRY_S,
) -> PrinterConnector | None:
    """``connector``, once its printer server answers (None if stopped first).

    A refused OctoPrint key raises :class:`OctoPrintAuthError` at once (not a retry
    loop); an unreachable OctoPrint is retried every ``retry_s`` with the node reported
    offline (reason: OctoPrint's error).
    """
    if not isinstance(connector, OctoPrintConnector):
        return connector
    told = None
    while not stop.is_set():
        try:
            version = connector.check()
        except OctoPrintAuthError as exc:
            connector.close()
            raise OctoPrintAuthError(
                f"{exc} at {connector.url}: check the OctoPrint key", exc.status
            ) from exc
        except OctoPrintError as exc:
            if str(exc) != told:
                log.warning(
                    "%s: %s; retrying every %g s (node reported offline)", spec.name, exc, retry_s
                )
                told = str(exc)
            try:
                client.heartbeat("offline", reason=str(exc)[:500])
            except AuthError:
                raise
            except FarmError as farm_exc:
                log.warning("%s: heartbeat failed: %s", spec.name, farm_exc)
            stop.wait(retry_s)
            continue
        log.info("%s: %s at %s (profile materials: %s)", spec.name, version, connector.url,
                 ", ".join(connector.slicer.materials))  # fmt: skip
        return connector
    connector.close()
    return None


@dataclass
class PrinterRun:
    spec: PrinterSpec
    stats: AgentStats = field(default_factory=AgentStats)
    error: Exception | None = None


def run_printers(
    server: str,
    specs: list[PrinterSpec],
    stop: threading.Event,
    *,
    poll_s: float = 1.0,
    retry_for_s: float = 60.0,
    max_jobs: int | None = None,
) -> list[PrinterRun]:
    """Run every printer's agent until ``stop`` is set (or each finished ``max_jobs``).

    A configuration error in one printer (refused key) stops all of them: the first such
    error is in its :class:`PrinterRun` and the caller exits with it.
    """
    runs = [PrinterRun(spec) for spec in specs]
    connectors = [build_connector(spec) for spec in specs]  # bad profiles fail here, at once

    def one(run: PrinterRun, connector: PrinterConnector) -> None:
        spec = run.spec
        try:
            with NodeClient(server, spec.node_key, retry_for_s=retry_for_s, stop=stop) as client:
                printer = connect_printer(spec, connector, client, stop)
                if printer is None:
                    return
                try:
                    run_agent(client, printer, stop=stop, poll_s=poll_s, max_jobs=max_jobs,
                              stats=run.stats, auto_clear=spec.auto_clear, strict_start=True)  # fmt: skip
                finally:
                    printer.close()
        except ConfiguratorError as exc:
            run.error = exc
            if isinstance(exc, (AuthError, OctoPrintAuthError, SettingsError)) or len(specs) == 1:
                stop.set()
            if len(specs) > 1:  # a lone printer's error is the command's one line
                log.error("%s: %s", spec.name, exc)
            connector.close()
        except Exception as exc:  # handed to the CLI's last resort, never a thread traceback
            run.error = exc
            stop.set()

    threads = [
        threading.Thread(target=one, args=(r, c), name=f"agent-{r.spec.name}")
        for r, c in zip(runs, connectors, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(0.5)
    return runs
