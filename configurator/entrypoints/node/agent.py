"""Node agent: heartbeats, claims, downloads, prints through a printer connector, reports.

``run_agent`` is a single-threaded loop around a
:class:`~configurator.adapters.farm_client.NodeClient` and a
:class:`~configurator.adapters.connectors.base.PrinterConnector`:

1. heartbeat with the printer's own state (``idle``, or ``offline`` while the printer
   cannot be reached or reports an error — the farm routes nothing to it then); the
   loaded material is left to the server, which subtracts the grams each job used;
2. claim; on 204 wait ``poll_s`` (heartbeating when due) and try again;
3. download the job file (its size is checked against the job);
4. start it on the printer (or re-attach when the printer is already printing it: an
   agent restarted mid-print), then poll the printer and report progress at least every
   half heartbeat interval;
5. ``complete`` with the printer's actual seconds and grams, or ``fail`` with the
   printer's reason.

A claim may be a plate of several jobs (``batch`` in the reply, docs/farm.md "Plate
batching"): the agent prints the batch's one file as one print and reports each job on
its own — progress and completion (the plate's seconds and grams shared out by each job's
estimate and grams), or the failure of every job on the plate.

A report refused with 403/409 (job cancelled by an operator or taken away after a
timeout) cancels the print on the printer and abandons the job; connection trouble is
retried by the client, and a loop iteration that still fails waits and starts again, so
an agent outlives server restarts.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from configurator.adapters.connectors.base import (
    ConnectorError,
    PrinterConnector,
    PrintJob,
)
from configurator.adapters.farm_client import NodeClient
from configurator.errors import AuthError, ConflictError, FarmError, ForbiddenError, NotFoundError

log = logging.getLogger("configurator.entrypoints.node.agent")


@dataclass
class AgentStats:
    claimed: int = 0
    completed: int = 0
    failed: int = 0
    abandoned: int = 0
    errors: int = 0
    completed_ids: list[int] = field(default_factory=list)


def run_agent(
    client: NodeClient,
    printer: PrinterConnector,
    *,
    stop: threading.Event | None = None,
    poll_s: float = 1.0,
    max_jobs: int | None = None,
    stats: AgentStats | None = None,
    auto_clear: bool | None = None,
) -> AgentStats:
    """Run until ``stop`` is set (or ``max_jobs`` builds were finished either way).
    ``auto_clear``: what the printer was set up as (sent with every heartbeat)."""
    agent = _Agent(client, printer, stop or threading.Event(), stats or AgentStats())
    agent.auto_clear = auto_clear
    return agent.run(poll_s=poll_s, max_jobs=max_jobs)


class _Agent:
    """The loop's state: the node as the server last described it, the heartbeat
    interval, and the job this agent started on the printer (``current``)."""

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
        self.node: dict = {}
        self.interval = 10.0
        self.last_hb = 0.0
        self.current: PrintJob | None = None
        self.auto_clear: bool | None = None
        self.members: list[dict] = []  # the jobs of the build printing now

    def beat(self) -> None:
        info = self.printer.printer()
        state = "offline" if info.state == "offline" else "idle"
        if self.auto_clear is None:
            reply = self.client.heartbeat(state)
        else:
            reply = self.client.heartbeat(state, auto_clear=self.auto_clear)
        self.node = reply["node"]
        self.interval = float(reply["heartbeat_interval_s"])
        self.last_hb = time.monotonic()

    def run(self, *, poll_s: float, max_jobs: int | None) -> AgentStats:
        stats, stop = self.stats, self.stop
        while not stop.is_set():
            if (
                max_jobs is not None
                and stats.completed + stats.failed + stats.abandoned >= max_jobs
            ):
                break
            try:
                if not self.node or time.monotonic() - self.last_hb >= self.interval:
                    self.beat()
                if self.printer.printer().state == "offline":
                    stop.wait(min(poll_s, self.interval))
                    continue
                claimed = self.client.claim()
                if claimed is None:
                    stop.wait(min(poll_s, self.interval))
                    continue
                stats.claimed += 1
                self.print_one(claimed)
                self.last_hb = time.monotonic()  # reports are signs of life too
            except (ForbiddenError, ConflictError, NotFoundError) as exc:
                stats.abandoned += 1
                self.current = None
                log.warning("job abandoned: %s", exc)
            except (FarmError, AuthError) as exc:  # unreachable server, or a key refused
                if stop.is_set():  # shutting down: the job stays ours until it times out
                    break
                stats.errors += 1
                log.warning("agent: %s; retrying", exc)
                stop.wait(min(poll_s, 1.0))
        return stats

    def print_one(self, claimed: dict) -> None:
        """Print one claimed build (a job, or a plate of several) to its end."""
        client, printer = self.client, self.printer
        job, batch = claimed["job"], claimed.get("batch")
        members = batch["jobs"] if batch else [job]
        url, size = (
            (batch["file_url"], batch["file_size"])
            if batch
            else (claimed["file_url"], job["file_size"])
        )
        data = client.download(url)
        if len(data) != size:
            self.fail_all(members, f"downloaded {len(data)} bytes, expected {size}")
            return
        task = PrintJob(
            job_id=int(job["id"]),
            attempt=int(job.get("attempts", 0)) + 1,
            material=str(job["material"]),
            technology=str(job["technology"]),
            est_seconds=float(batch["est_seconds"] if batch else job["est_seconds"]),
            grams=float(batch["grams"] if batch else job["grams"]),
            file_name=f"plate-{batch['id']}.stl" if batch else str(job.get("file_name") or f"job-{job['id']}.stl"),
            data=data,
            node_speed=float(self.node.get("speed", 1.0)),
        )  # fmt: skip
        try:
            if not printer.resume_job(task):
                if self.current is not None:
                    # the server no longer counts our previous print as ours (claim returns
                    # a node's printing job first): stop it before starting this one
                    printer.cancel()
                printer.start(task)
        except ConnectorError as exc:
            self.current = None
            self.fail_all(members, str(exc))
            return
        self.current = task
        self.members = members
        self.follow(task)

    def fail_all(self, members: list[dict], reason: str) -> None:
        """A build failed: every job on it fails (each is rerouted on its own)."""
        for m in members:
            self.client.fail(int(m["id"]), reason=reason)
        self.stats.failed += 1

    def follow(self, task: PrintJob) -> None:
        """Poll the printer and report until the job ends (or the agent stops)."""
        client, printer, stats, stop = self.client, self.printer, self.stats, self.stop
        first = True
        while not stop.is_set():
            status = printer.poll()
            members = self.members or [{"id": task.job_id, "est_seconds": 1.0, "grams": 1.0}]
            if status.phase == "done":
                est = sum(float(m["est_seconds"]) for m in members) or 1.0
                grams = sum(float(m["grams"]) for m in members) or 1.0
                for m in members:  # the plate's time and material, shared out per job
                    share_t = float(m["est_seconds"]) / est
                    share_g = 1.0 if len(members) == 1 else float(m["grams"]) / grams
                    client.complete(
                        int(m["id"]),
                        actual_seconds=max(float(status.actual_seconds or 0.0) * share_t, 1e-3),
                        grams_used=float(status.grams_used or 0.0) * share_g,
                    )
                    stats.completed_ids.append(int(m["id"]))
                self.current = None
                stats.completed += 1
                return
            if status.phase in ("failed", "idle"):
                self.current = None
                self.fail_all(members, status.reason or "the printer stopped the job")
                return
            if not first:
                try:
                    for m in members:
                        client.progress(
                            int(m["id"]),
                            percent=float(status.percent or 0.0),
                            seconds_left=float(status.seconds_left or 0.0),
                        )
                except (ForbiddenError, ConflictError):
                    printer.cancel()  # cancelled by an operator or taken away: stop printing
                    raise
                except FarmError as exc:  # the server is unreachable: the print goes on
                    log.warning("progress report failed (%s); printing on", exc)
            first = False
            step = max(self.interval * 0.5, 0.01)
            left = getattr(printer, "wall_seconds_left", None)
            if callable(left):  # a simulated printer ends exactly when it says
                step = min(step, max(left(), 0.0) + 1e-3)
            stop.wait(step)
        # interrupted: the server notices by heartbeat timeout or our next idle heartbeat
