"""The printer-connector seam: what a node agent needs from the printer it drives.

A connector starts a claimed job from its file, reports where the print stands when
polled, and cancels, pauses or resumes it. The agent loop
(:mod:`configurator.entrypoints.node.agent`) only speaks this protocol, so a simulated
printer, an OctoPrint instance or any other printer server plug in the same way; the
registry is :data:`configurator.adapters.connectors.CONNECTORS`.

Units: seconds, grams, percent (0–100); instants are the connector's own business.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from configurator.errors import ConnectorError, PrinterBusyError

__all__ = [
    "ConnectorError",
    "PrintJob",
    "PrintStatus",
    "PrinterBusyError",
    "PrinterConnector",
    "PrinterInfo",
]

#: where a print stands: ``printing``/``paused`` while it runs, then ``done`` or ``failed``;
#: ``idle`` when the connector has no job (after cancel, or before start)
PrintPhase = Literal["idle", "printing", "paused", "done", "failed"]
#: the printer itself, for heartbeats: ``offline`` when the printer cannot be reached or
#: is in an error state (the farm routes nothing to it until it is back)
PrinterState = Literal["idle", "printing", "paused", "offline"]


@dataclass(frozen=True)
class PrintJob:
    """A claimed job as a connector sees it.

    ``est_seconds``: estimated print time on a speed-1 node; ``node_speed``: this node's
    throughput factor (the job should take about ``est_seconds / node_speed``);
    ``attempt``: 1-based attempt number (a connector may use ``node_id`` + ``job_id`` +
    ``attempt`` to name files so a restarted agent re-attaches to the same print);
    ``node_id``: the farm's id of the node printing it ("" when unknown).
    """

    job_id: int
    attempt: int
    material: str
    technology: str
    est_seconds: float
    grams: float
    file_name: str
    data: bytes
    node_speed: float = 1.0
    node_id: str = ""

    @property
    def ref(self) -> JobRef:
        return JobRef(self.node_id, self.job_id, self.attempt)


@dataclass(frozen=True)
class JobRef:
    """Which farm print a printer is running: node, job and attempt (as the connector
    named it on the printer)."""

    node_id: str
    job_id: int
    attempt: int


@dataclass(frozen=True)
class PrintStatus:
    """One poll of the current job: ``percent`` done, ``seconds_left`` (wall clock);
    when ``done``: ``actual_seconds`` and ``grams_used``; when ``failed``: ``reason``
    (the printer's own words). ``record``: facts for the job's production record (slicer,
    G-code hash, firmware...), reported with completion."""

    phase: PrintPhase
    percent: float | None = None
    seconds_left: float | None = None
    actual_seconds: float | None = None
    grams_used: float | None = None
    reason: str | None = None
    record: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PrinterInfo:
    """The printer's own state for a heartbeat: ``state``; ``reason`` when offline;
    ``details`` (temperatures °C, bed size mm, firmware...) shown to operators; ``job``:
    the farm print it runs while printing/paused, None when it runs something the farm
    did not start (someone printing from the printer's own UI: the printer is busy)."""

    state: PrinterState
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    job: JobRef | None = None


@runtime_checkable
class PrinterConnector(Protocol):
    """What a node agent drives. Methods may block briefly (network) but never for the
    length of a print; the agent polls."""

    #: registry name, e.g. ``"simulated"``, ``"octoprint"``
    kind: str

    def printer(self) -> PrinterInfo:
        """The printer's own state now (never raises: unreachable is ``offline``)."""
        ...

    def start(self, job: PrintJob) -> None:
        """Start printing ``job``; raise :class:`PrinterBusyError` if the printer is busy
        with something else, :class:`ConnectorError` when it refuses (with its reason)."""
        ...

    def resume_job(self, job: PrintJob) -> bool:
        """Re-attach to ``job`` if the printer is already running this attempt of it (an
        agent restarted mid-print, or a repeated claim): True when attached (then
        :meth:`poll` follows it), False otherwise. Another attempt of the same job is a
        new print: never re-attach to it."""
        ...

    def poll(self) -> PrintStatus:
        """Where the current job stands."""
        ...

    def cancel(self) -> None:
        """Stop the current job, or the farm print :meth:`printer` reports when no job is
        attached (a print a previous agent process started); never a print the farm did
        not start. No-op when none."""
        ...

    def pause(self) -> None:
        """Pause the current job."""
        ...

    def resume(self) -> None:
        """Resume a paused job."""
        ...

    def close(self) -> None:
        """Release resources (connections)."""
        ...
