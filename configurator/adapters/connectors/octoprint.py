"""The OctoPrint connector: a :class:`~configurator.adapters.connectors.base.PrinterConnector`
for a printer behind OctoPrint (one OctoPrint instance per printer, as farms run it).

A job is sliced on the node (:class:`~configurator.adapters.connectors.slicing.NodeSlicer`,
bed from OctoPrint's printer profile), uploaded as ``farm_<node>_j<job>_a<attempt>.gcode``
with ``select=true&print=true``, and counts as started only when OctoPrint's 201 reply says
``effectivePrint: true`` (OctoPrint stores a file without printing it when the printer is
not free). The file name is the print's identity on the printer: a restarted agent finds
its print by name (selected now, or in the file's print history) and re-attaches instead
of uploading again; an attempt is never started twice.

Where a print stands comes from ``GET /api/job`` (state text, ``progress.completion`` %,
``printTime``/``printTimeLeft`` s) and, once the file is no longer the running one, from
its print history (``GET /api/files/local/<name>`` ``prints``). Faults end the attempt
with OctoPrint's own words: an ``error`` ("Thermal Runaway...", "MINTEMP triggered!"...),
a state outside the printing ones (``Offline``, ``Offline after error``, ``Error``,
``Closed``), a print cancelled at the printer, or no answer for ``unreachable_grace_s``
seconds. A print given up that way is cancelled when OctoPrint is seen running it again.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

from configurator.adapters.connectors.base import (
    ConnectorError,
    JobRef,
    PrinterBusyError,
    PrinterInfo,
    PrintJob,
    PrintStatus,
)
from configurator.adapters.connectors.octoprint_api import OctoPrintAPI, OctoPrintError
from configurator.adapters.connectors.slicing import Bed, NodeSlicer, SlicedJob

log = logging.getLogger("configurator.adapters.connectors.octoprint")

#: OctoPrint state texts while a print runs (``paused`` ones separately)
ACTIVE = frozenset(
    {"Printing", "Starting", "Resuming", "Finishing", "Cancelling", "Printing from SD",
     "Starting print from SD", "Sending file to SD", "Starting to send file to SD",
     "Transferring file to SD"}
)  # fmt: skip
PAUSED = frozenset({"Paused", "Pausing"})
READY = "Operational"
#: after an accepted upload, OctoPrint may show the file selected but not yet printing
START_GRACE_S = 15.0
#: how long a print that ended without success may wait for OctoPrint's state to say why
SETTLE_S = 5.0
PROFILE_MAX_AGE_S = 300.0

_FILE_RE = re.compile(r"^farm_(?P<node>[a-z0-9]+)_j(?P<job>\d+)_a(?P<attempt>\d+)\.gcode$")


def file_name(ref: JobRef) -> str:
    """The G-code file name of a farm print on OctoPrint."""
    node = re.sub(r"[^a-z0-9]", "", ref.node_id.lower()) or "node"
    return f"farm_{node}_j{ref.job_id}_a{ref.attempt}.gcode"


def parse_file_name(name: str | None) -> JobRef | None:
    """The farm print a file name stands for, None for any other file."""
    m = _FILE_RE.match(name or "")
    if m is None:
        return None
    return JobRef(m["node"], int(m["job"]), int(m["attempt"]))


@dataclass
class _Run:
    job: PrintJob
    name: str
    sliced: SlicedJob | None
    started: float  # monotonic s
    unreachable_since: float | None = None
    ended_at: float | None = None  # when first seen ended without success
    last: PrintStatus = field(default_factory=lambda: PrintStatus("printing", percent=0.0))

    def ended(self, now: float) -> float:
        if self.ended_at is None:
            self.ended_at = now
        return self.ended_at


class OctoPrintConnector:
    """One printer behind OctoPrint at ``url`` with API key ``key``.

    ``slicer``: the node's slicer; ``unreachable_grace_s``: how long OctoPrint may stay
    silent during a print before the attempt is failed; ``timeout_s``: per request.
    """

    kind = "octoprint"

    def __init__(
        self,
        url: str,
        key: str,
        *,
        slicer: NodeSlicer,
        unreachable_grace_s: float = 30.0,
        timeout_s: float = 10.0,
        api: OctoPrintAPI | None = None,
    ) -> None:
        self.api = api or OctoPrintAPI(url, key, timeout_s=timeout_s)
        self.url = self.api.url
        self.slicer = slicer
        self.unreachable_grace_s = unreachable_grace_s
        self.version = ""
        self.last_start: dict[str, float] = {}  # seconds: slice_s, upload_s (the last start)
        self._run: _Run | None = None
        self._stale: str | None = None  # a print given up on: cancel it when seen running
        self._profile: dict[str, Any] | None = None
        self._profile_at = 0.0

    # -- checks and state ------------------------------------------------------------
    def check(self) -> str:
        """Verify OctoPrint answers and takes the key; -> e.g. ``"OctoPrint 1.11.8"``.
        Raises :class:`OctoPrintAuthError` / :class:`OctoPrintUnreachable`."""
        version = self.api.version()
        self.api.job()  # the key must also read the printer's status
        self.version = str(version.get("server") or "")
        return str(version.get("text") or f"OctoPrint {self.version}")

    def printer(self) -> PrinterInfo:
        try:
            j = self.api.job()
        except OctoPrintError as exc:
            return PrinterInfo("offline", reason=str(exc))
        state, error = str(j.get("state") or ""), str(j.get("error") or "")
        name = _file_of(j)
        details = self._details(state)
        if state in ACTIVE or state in PAUSED:
            if self._stale is not None and name == self._stale and self._run is None:
                log.warning("cancelling %s: the farm gave this print up", name)
                self._cancel_on_printer(name)
            return PrinterInfo(
                "paused" if state in PAUSED else "printing",
                details=details,
                job=parse_file_name(name),
            )
        if state == READY:
            return PrinterInfo("idle", details=details)
        return PrinterInfo("offline", reason=_fault(state, error), details=details)

    def _details(self, state: str) -> dict[str, Any]:
        out: dict[str, Any] = {"octoprint_state": state}
        if self.version:
            out["octoprint"] = self.version
        try:
            prof = self._current_profile()
            vol = prof.get("volume") or {}
            out.update(
                profile=str(prof.get("name") or prof.get("id") or ""),
                bed_x_mm=vol.get("width"),
                bed_y_mm=vol.get("depth"),
                bed_z_mm=vol.get("height"),
            )
            temps = (self.api.printer() or {}).get("temperature") or {}
        except OctoPrintError:
            temps = {}
        for heater in ("tool0", "bed"):
            t = temps.get(heater) or {}
            if t.get("actual") is not None:
                out[f"{heater}_c"] = round(float(t["actual"]), 1)
                out[f"{heater}_target_c"] = round(float(t.get("target") or 0.0), 1)
        return {k: v for k, v in out.items() if v is not None}

    def _current_profile(self, *, fresh: bool = False) -> dict[str, Any]:
        now = time.monotonic()
        if fresh or self._profile is None or now - self._profile_at > PROFILE_MAX_AGE_S:
            self._profile = self.api.current_profile()
            self._profile_at = now
        return self._profile

    # -- starting ----------------------------------------------------------------------
    def start(self, job: PrintJob) -> None:
        self.slicer.profile_for(job)  # refuse a job the profile cannot print, before slicing
        j = self.api.job()
        state = str(j.get("state") or "")
        if state in ACTIVE or state in PAUSED:
            raise PrinterBusyError(f"OctoPrint is {state} ({_file_of(j) or 'no file'})")
        if state != READY:
            raise ConnectorError(_fault(state, str(j.get("error") or "")))
        bed = Bed.from_octoprint(self._current_profile(fresh=True))
        name = file_name(job.ref)
        sliced = self.slicer.slice(job, name.removesuffix(".gcode"), bed)
        t0 = time.monotonic()
        try:
            reply = self.api.upload(name, sliced.gcode, select=True, print_=True)
        except OctoPrintError:
            self._stale = name  # it may have started after all: cancel it when seen
            raise
        self.last_start = {"slice_s": sliced.slice_seconds, "upload_s": time.monotonic() - t0}
        if not reply.get("effectivePrint"):
            try:
                self.api.delete(name)
            except OctoPrintError as exc:
                log.warning("could not delete %s after a refused start: %s", name, exc)
            raise PrinterBusyError(
                "OctoPrint stored the file but did not start it (effectivePrint false): "
                "the printer was not free"
            )
        self._run = _Run(job, name, sliced, started=time.monotonic())

    def resume_job(self, job: PrintJob) -> bool:
        name = file_name(job.ref)
        try:
            running = _file_of(self.api.job())
            if running != name:
                info = self.api.file(name)
                prints = (info or {}).get("prints") or {}
                if not (prints.get("success") or prints.get("failure")):
                    return False  # never started here (or stored but refused): start anew
        except OctoPrintError as exc:
            log.warning("cannot tell whether %s runs on OctoPrint: %s", name, exc)
            return False
        stem = name.removesuffix(".gcode")
        sliced = self.slicer.load(stem)
        if sliced is None:
            try:
                sliced = self.slicer.adopt(stem, self.api.download(name))
            except (OctoPrintError, ConnectorError) as exc:
                log.warning("re-attached to %s without its G-code facts: %s", name, exc)
        self._run = _Run(job, name, sliced, started=time.monotonic() - START_GRACE_S)
        self._stale = None if self._stale == name else self._stale
        return True

    # -- following -----------------------------------------------------------------------
    def poll(self) -> PrintStatus:
        run = self._run
        if run is None:
            return PrintStatus("idle")
        try:
            j = self.api.job()
        except OctoPrintError as exc:
            now = time.monotonic()
            run.unreachable_since = run.unreachable_since or now
            if now - run.unreachable_since < self.unreachable_grace_s:
                return run.last
            self._stale, self._run = run.name, None
            return PrintStatus(
                "failed", reason=f"{exc}; gave up after {self.unreachable_grace_s:g} s"
            )
        run.unreachable_since = None
        status = self._status(run, j)
        if status.phase in ("printing", "paused"):
            run.last = status
        return status

    def _status(self, run: _Run, j: dict[str, Any]) -> PrintStatus:
        state, error = str(j.get("state") or ""), str(j.get("error") or "")
        prog = j.get("progress") or {}
        pct = prog.get("completion")
        left = prog.get("printTimeLeft")
        running = _file_of(j) == run.name
        if running and (state in ACTIVE or state in PAUSED):
            return PrintStatus(
                "paused" if state in PAUSED else "printing",
                percent=min(float(pct or 0.0), 100.0),
                seconds_left=float(left) if left is not None else None,
            )
        if running and state == READY and pct is not None and float(pct) >= 100.0:
            return self._done(run, prog.get("printTime"))
        # not (or no longer) running: the file's print history says how it ended
        last = self._last_print(run.name)
        if last is not None and last.get("success"):
            return self._done(run, last.get("printTime"))
        if state != READY and state not in ACTIVE and state not in PAUSED:
            return PrintStatus("failed", percent=pct, reason=_fault(state, error))
        if last is not None:  # it ended badly: let OctoPrint's state settle to say why
            if state != READY and time.monotonic() - run.ended(time.monotonic()) < SETTLE_S:
                return run.last
            where = f" at {float(pct):.0f}%" if running and pct is not None else ""
            return PrintStatus(
                "failed",
                percent=pct,
                reason=f"the print was cancelled or stopped on OctoPrint{where}",
            )
        if time.monotonic() - run.started < START_GRACE_S:
            return PrintStatus("printing", percent=0.0)
        self._stale = run.name  # given up: should it start after all, cancel it when seen
        return PrintStatus(
            "failed",
            reason=f"OctoPrint is not printing {run.name} ({state}, file {_file_of(j) or 'none'})",
        )

    def _last_print(self, name: str) -> dict[str, Any] | None:
        try:
            info = self.api.file(name)
        except OctoPrintError:
            return None
        return ((info or {}).get("prints") or {}).get("last")

    def _done(self, run: _Run, print_time: Any) -> PrintStatus:
        actual = float(print_time) if print_time else time.monotonic() - run.started
        record: dict[str, Any] = dict(run.sliced.record) if run.sliced else {}
        record.update(octoprint_file=run.name)
        if self.version:
            record["octoprint"] = self.version
        if self._profile:
            record["printer_profile"] = str(self._profile.get("id") or "")
        return PrintStatus(
            "done",
            percent=100.0,
            seconds_left=0.0,
            actual_seconds=max(actual, 1.0),
            grams_used=run.sliced.grams if run.sliced else 0.0,
            record=record,
        )

    # -- control -----------------------------------------------------------------------
    def cancel(self) -> None:
        run, self._run = self._run, None
        if run is not None:
            self._cancel_on_printer(run.name)
            return
        try:
            name = _file_of(self.api.job())
        except OctoPrintError as exc:
            log.warning("cancel: %s", exc)
            return
        if parse_file_name(name) is not None:  # a farm print; never someone else's
            self._cancel_on_printer(name)

    def _cancel_on_printer(self, name: str | None) -> None:
        try:
            j = self.api.job()
            state = str(j.get("state") or "")
            if _file_of(j) == name and (state in ACTIVE or state in PAUSED):
                self.api.job_command("cancel")
            self._stale = None if self._stale == name else self._stale
        except OctoPrintError as exc:
            log.warning("could not cancel %s now (%s); will when OctoPrint answers", name, exc)
            self._stale = name

    def pause(self) -> None:
        if self._run is not None:
            self.api.job_command("pause", "pause")

    def resume(self) -> None:
        if self._run is not None:
            self.api.job_command("pause", "resume")

    def close(self) -> None:
        self.api.close()


def _file_of(j: dict[str, Any]) -> str | None:
    return (((j.get("job") or {}).get("file")) or {}).get("name")


def _fault(state: str, error: str) -> str:
    """OctoPrint's reason for a printer that cannot print, in its own words."""
    error = error.strip().rstrip(":").strip()  # "SerialTimeoutException: " -> its name
    if error:
        return error if state in ("Error", "Offline after error") else f"{error} ({state})"
    return f"OctoPrint reports the printer {state or 'in an unknown state'}"
