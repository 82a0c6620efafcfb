"""Node agent: heartbeats, claims, downloads, prints through a printer connector, reports.

``run_agent`` is a single-threaded loop around a
:class:`~configurator.adapters.farm_client.NodeClient` and a
:class:`~configurator.adapters.connectors.base.PrinterConnector`:

1. heartbeat with the printer's own state, reason and details (temperatures, bed size);
   a printer that cannot be reached, is in an error state or runs a print the farm did
   not start (someone printing from its own UI) is reported ``offline`` and claims
   nothing until it is free again;
2. claim; on 204 wait ``poll_s`` (heartbeating when due) and try again;
3. download the job file (its size is checked against the job);
4. re-attach when the printer already runs this attempt (an agent restarted mid-print),
   else start it — slicing and uploading may take a while, so the job is kept alive with
   progress reports meanwhile;
5. poll the printer, report progress every half heartbeat interval and heartbeat with the
   printer's details; obey an operator ``command`` (pause/resume/cancel) in either reply;
6. ``complete`` with the printer's actual seconds, grams and production record, or
   ``fail`` with the printer's reason.

A printer found running a farm print this process did not start (a previous agent
process) is adopted: the claim says whether it is still this node's job (then it is
followed to its end), otherwise it is cancelled — an attempt the farm gave away is never
printed twice.

A claim may be a plate of several jobs (``batch`` in the reply, docs/farm.md "Plate
batching"): the agent prints the batch's one file as one print and reports each job on
its own — progress and completion (the plate's seconds and grams shared out by each job's
estimate and grams), or the failure of every job on the plate.

A report refused with 403/409 (job cancelled by an operator or taken away
after a timeout) cancels the print and abandons the job; connection trouble is retried by
the client, and a loop iteration that still fails waits and starts again, so an agent
outlives server restarts.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from configurator.adapters.connectors.base import (
    ConnectorError,
    PrinterConnector,
    PrinterInfo,
    PrintJob,
)
from configurator.adapters.farm_client import NodeClient
from configurator.errors import AuthError, ConflictError, FarmError, ForbiddenError, NotFoundError

log = logging.getLogger("configurator.entrypoints.node.agent")

#: how long an adopted print may take to stop after a cancel before the next start (s)
CANCEL_WAIT_S = 60.0


@dataclass
class AgentStats:
    claimed: int = 0
    completed: int = 0
    failed: int = 0
    abandoned: int = 0
    errors: int = 0
    reattached: int = 0
    completed_ids: list[int] = field(default_factory=list)


def run_agent(
    client: NodeClient,
    printer: PrinterConnector,
    *,
    stop: threading.Event | None = None,
    poll_s: float = 1.0,
    max_jobs: int | None = None,
    stats: AgentStats | None = None,
    auto_clear: bool = False,
    strict_start: bool = False,
) -> AgentStats:
    """Run until ``stop`` is set (or ``max_jobs`` jobs were finished either way).

    ``poll_s``: seconds between claims when idle and between printer polls while printing;
    ``auto_clear``: the printer clears its own plate (told to the server, which otherwise
    waits for an operator between jobs). A wrong node key raises :class:`AuthError` at the
    first heartbeat; with ``strict_start`` any failure of that first heartbeat (server
    unreachable for the client's whole retry time) raises, else the loop keeps retrying.
    """
    agent = _Agent(client, printer, stop or threading.Event(), stats or AgentStats())
    agent.auto_clear = auto_clear
    return agent.run(poll_s=poll_s, max_jobs=max_jobs, strict_start=strict_start)


class _Agent:
    """The loop's state: the node as the server last described it, the heartbeat
    interval, and the job this agent follows on the printer (``current``)."""

    def __init__(
        self,
        client: NodeClient,
        printer: PrinterConnector,
        stop: threading.Event,
        stats: AgentStats,
    ) -> None:
        self.client = client
        self.printer = printer
        self.stop = stop
        self.stats = stats
        self.auto_clear = False
        self.poll_s = 1.0
        self.node: dict = {}
        self.interval = 10.0
        self.last_hb = 0.0
        self.reported: tuple[str, str | None] | None = None
        self.current: PrintJob | None = None
        self.pending: dict | None = None  # a claim made before the loop started
        self.members: list[dict] = []  # the jobs of the build printing now (a plate: several)

    # -- heartbeats ----------------------------------------------------------------------
    def ours(self, info: PrinterInfo) -> bool:
        """The printer runs a print of this node (by its name on the printer)."""
        node_id = str(self.node.get("id") or "")
        return info.job is not None and (not node_id or _same_node(info.job.node_id, node_id))

    def node_state(self, info: PrinterInfo) -> tuple[str, str | None]:
        if info.state == "offline":
            return "offline", info.reason or "the printer cannot be reached"
        if info.state in ("printing", "paused") and not self.ours(info):
            return "offline", "busy with a print the farm did not start"
        return info.state, None

    def beat(self, info: PrinterInfo | None = None) -> None:
        info = info or self.printer.printer()
        state, reason = self.node_state(info)
        reply = self.client.heartbeat(
            state, reason=reason, printer=info.details or None, auto_clear=self.auto_clear or None
        )
        self.last_hb = time.monotonic()
        if (state, reason) != self.reported:
            log.info("printer %s%s", state, f": {reason}" if reason else "")
            self.reported = (state, reason)
        self.node = reply["node"]
        self.interval = float(reply["heartbeat_interval_s"])
        self.obey(reply.get("command"))

    def beat_if_due(self, info: PrinterInfo) -> None:
        """Heartbeat every interval, and at once when the printer goes offline or comes
        back (the end of a print needs none: its report tells the server)."""
        state = self.node_state(info)
        was = self.reported
        flipped = was is not None and state != was and "offline" in (state[0], was[0])
        if time.monotonic() - self.last_hb >= self.interval or flipped:
            self.beat(info)

    def obey(self, command: str | None) -> None:
        """An operator's command from the dashboard (pause/resume/cancel)."""
        if command is None or self.current is None:
            return
        log.info("operator command: %s job %s", command, self.current.job_id)
        if command == "pause":
            self.printer.pause()
        elif command == "resume":
            self.printer.resume()
        elif command == "cancel":
            self.printer.cancel()
            raise ConflictError(f"job {self.current.job_id} cancelled by an operator")

    # -- the loop ------------------------------------------------------------------------
    def run(self, *, poll_s: float, max_jobs: int | None, strict_start: bool) -> AgentStats:
        stats, stop = self.stats, self.stop
        self.poll_s = poll_s
        try:
            self.open()  # a wrong node key ends here (AuthError)
        except AuthError:
            raise
        except FarmError as exc:  # the server is not up yet: the loop retries
            if strict_start:
                raise
            log.warning("agent: %s; retrying", exc)
        while not stop.is_set():
            if (
                max_jobs is not None
                and stats.completed + stats.failed + stats.abandoned >= max_jobs
            ):
                break
            try:
                self.step()
            except (ForbiddenError, ConflictError, NotFoundError) as exc:
                stats.abandoned += 1
                self.current = None
                log.warning("job abandoned: %s", exc)
            except AuthError:
                raise
            except FarmError as exc:
                if stop.is_set():  # shutting down: the job stays ours until it times out
                    break
                stats.errors += 1
                log.warning("agent: %s; retrying", exc)
                stop.wait(min(self.poll_s, 1.0))
        return self.stats

    def open(self) -> None:
        """The first request. An idle printer claims before it heartbeats: the server
        returns the job it thinks this node prints (a print that ended while the agent was
        down is then reported from the printer's history), whereas an ``idle`` heartbeat
        would fail that job."""
        info = self.printer.printer()
        if info.state == "idle":
            self.pending = self.client.claim()
            if self.pending is not None:
                return
        self.beat(info)

    def step(self) -> None:
        """One idle iteration: claim if the printer is free (heartbeat when due)."""
        info = self.printer.printer()
        claimed, self.pending = self.pending, None
        if claimed is None:
            if info.state == "offline" or (info.state != "idle" and not self.ours(info)):
                self.beat_if_due(info)  # offline or busy: claim nothing
                self.stop.wait(min(self.poll_s, self.interval))
                return
            claimed = self.client.claim()
        if info.state not in ("idle", "offline"):
            self.adopt(info, claimed)
            return
        if claimed is None:
            self.beat_if_due(info)  # an idle heartbeat is safe: nothing is printing here
            self.stop.wait(min(self.poll_s, self.interval))
            return
        self.stats.claimed += 1
        self.print_one(claimed)
        self.last_hb = time.monotonic()  # reports are signs of life too

    def adopt(self, info: PrinterInfo, claimed: dict | None) -> None:
        """The printer runs a farm print of this node that nobody follows (a previous agent
        process started it): follow it when the claim says it is still ours, else cancel it
        and print what was claimed once the printer is free."""
        ref = info.job
        if claimed is not None:
            self.stats.claimed += 1
            job = claimed["job"]
            if ref is not None and (int(job["id"]), int(job["attempts"]) + 1) == (
                ref.job_id,
                ref.attempt,
            ):
                self.print_one(claimed)
                return
        log.warning(
            "the printer runs %s, which the farm no longer gives this node: cancelling", ref
        )
        self.printer.cancel()
        deadline = time.monotonic() + CANCEL_WAIT_S
        while self.printer.printer().state in ("printing", "paused"):
            if time.monotonic() > deadline or self.stop.wait(0.2):
                break
        if claimed is not None:
            self.print_one(claimed)

    def print_one(self, claimed: dict) -> None:
        """Print one claimed build (a job, or a plate of several) to its end (or until
        stopped)."""
        client, printer, stats = self.client, self.printer, self.stats
        job, batch = claimed["job"], claimed.get("batch")
        members = list(batch["jobs"]) if batch else [job]
        if batch:
            url, size = batch["file_url"], int(batch["file_size"])
            est, grams = float(batch["est_seconds"]), float(batch["grams"])
            file_name = f"plate-{batch['id']}.stl"
        else:
            url, size = claimed["file_url"], int(job["file_size"])
            est, grams = float(job["est_seconds"]), float(job["grams"])
            file_name = str(job.get("file_name") or f"job-{job['id']}.stl")
        data = client.download(url)
        if len(data) != size:
            self.fail_all(members, f"downloaded {len(data)} bytes, expected {size}")
            return
        task = PrintJob(
            job_id=int(job["id"]),
            attempt=int(job.get("attempts", 0)) + 1,
            material=str(job["material"]),
            technology=str(job["technology"]),
            est_seconds=est,
            grams=grams,
            file_name=file_name,
            data=data,
            node_speed=float(self.node.get("speed", 1.0)),
            node_id=str(job.get("node_id") or self.node.get("id") or ""),
        )
        if printer.resume_job(task):
            log.info("re-attached to job %s attempt %s on the printer", task.job_id, task.attempt)
            stats.reattached += 1
        else:
            if self.current is not None:
                # the server no longer counts our previous print as ours (claim returns a
                # node's printing job first): stop it before starting this one
                printer.cancel()
            self.current = None
            self.members = members
            error = self.start(task)
            if error is not None:
                log.warning("job %s not started: %s", task.job_id, error)
                self.fail_all(members, str(error))
                return
        self.current = task
        self.members = members
        self.follow(task)

    def fail_all(self, members: list[dict], reason: str) -> None:
        """A build failed: every job on it fails (each is rerouted on its own)."""
        for m in members:
            self.client.fail(int(m["id"]), reason=reason)
        self.stats.failed += 1

    def start(self, task: PrintJob) -> ConnectorError | None:
        """``printer.start(task)`` in a worker thread (slicing and uploading take time)
        while progress reports keep the job alive; the printer's refusal, or None."""
        outcome: list[BaseException | None] = []

        def work() -> None:
            try:
                self.printer.start(task)
                outcome.append(None)
            except BaseException as exc:  # handed to the agent thread
                outcome.append(exc)

        worker = threading.Thread(target=work, name=f"start-job-{task.job_id}", daemon=True)
        worker.start()
        last, gone = time.monotonic(), None
        while worker.is_alive():
            worker.join(timeout=min(self.interval * 0.5, 1.0))
            if (
                worker.is_alive()
                and gone is None
                and time.monotonic() - last >= self.interval * 0.5
            ):
                last = time.monotonic()
                try:
                    for m in self.members or [{"id": task.job_id}]:
                        self.client.progress(
                            int(m["id"]), percent=0.0, seconds_left=task.est_seconds
                        )
                except (ForbiddenError, ConflictError) as exc:
                    gone = exc  # cancelled while slicing: stop it once started
                except FarmError as exc:
                    log.warning("progress report failed (%s); starting on", exc)
        error = outcome[0] if outcome else None
        if gone is not None:
            if error is None:
                self.printer.cancel()
            raise gone
        if isinstance(error, ConnectorError):
            return error
        if error is not None:
            raise error
        return None

    def follow(self, task: PrintJob) -> None:
        """Poll the printer and report until the job ends (or the agent stops)."""
        printer, stop = self.printer, self.stop
        last_report = time.monotonic()
        while not stop.is_set():
            status = printer.poll()
            if status.phase == "done":
                self.complete_all(task, status)
                return
            if status.phase in ("failed", "idle"):
                reason = status.reason or "the printer stopped the job"
                log.warning("job %s failed: %s", task.job_id, reason)
                self.current = None
                self.fail_all(self.members or [{"id": task.job_id}], reason)
                return
            if time.monotonic() - last_report >= self.interval * 0.5:
                last_report = time.monotonic()
                self.report(task, status.percent, status.seconds_left)
            if time.monotonic() - self.last_hb >= self.interval:
                try:
                    self.beat()
                except (ForbiddenError, ConflictError, AuthError):
                    raise
                except FarmError as exc:  # the server is unreachable: the print goes on
                    log.warning("heartbeat failed (%s); printing on", exc)
                    self.last_hb = time.monotonic()
            step = min(max(self.interval * 0.5, 0.01), self.poll_s)
            left = getattr(printer, "wall_seconds_left", None)
            if callable(left):  # a simulated printer ends exactly when it says
                step = min(max(self.interval * 0.5, 0.01), max(left(), 0.0) + 1e-3)
            stop.wait(step)
        # interrupted: the server notices by heartbeat timeout or our next heartbeat

    def complete_all(self, task: PrintJob, status: Any) -> None:
        """The build is done: each of its jobs completes with its share of the build's
        seconds (by estimate) and grams (by grams), and the build's production record."""
        members = self.members or [{"id": task.job_id, "est_seconds": 1.0, "grams": 1.0}]
        seconds, grams = float(status.actual_seconds or 0.0), float(status.grams_used or 0.0)
        est = sum(float(m.get("est_seconds", 1.0)) for m in members) or 1.0
        mass = sum(float(m.get("grams", 1.0)) for m in members) or 1.0
        for m in members:
            share_t = float(m.get("est_seconds", 1.0)) / est
            share_g = 1.0 if len(members) == 1 else float(m.get("grams", 1.0)) / mass
            self.client.complete(
                int(m["id"]),
                actual_seconds=max(seconds * share_t, 1e-3) if seconds else 0.0,
                grams_used=grams * share_g,
                record=status.record or None,
            )
            self.stats.completed_ids.append(int(m["id"]))
        self.current = None
        self.stats.completed += 1
        log.info("job %s done in %.0f s", task.job_id, seconds)

    def report(self, task: PrintJob, percent: float | None, seconds_left: float | None) -> None:
        try:
            for m in self.members or [{"id": task.job_id}]:
                reply = self.client.progress(
                    int(m["id"]),
                    percent=min(max(float(percent or 0.0), 0.0), 100.0),
                    seconds_left=max(float(seconds_left or 0.0), 0.0),
                )
        except (ForbiddenError, ConflictError):
            self.printer.cancel()  # cancelled by an operator or taken away: stop printing
            raise
        except FarmError as exc:  # the server is unreachable: the print goes on
            log.warning("progress report failed (%s); printing on", exc)
            return
        self.obey(reply.get("command"))


def _same_node(name_part: str, node_id: str) -> bool:
    """A connector may keep only ``[a-z0-9]`` of the node id in its file names."""
    return name_part == node_id or name_part == "".join(
        c for c in node_id.lower() if c.isalnum() and c.isascii()
    )
