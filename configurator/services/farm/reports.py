"""What a node reports besides claims and results: its printer offline (with the reason),
progress, and the operator's pause/resume handed to it once (part of
:class:`~configurator.services.farm.service.FarmService`)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from configurator.adapters.db.snapshots import job_snapshot
from configurator.adapters.db.tables import JobRow, NodeRow
from configurator.core.farm import recovery
from configurator.core.farm.models import JOB_COMMANDS, JobState, NodeState
from configurator.errors import ConflictError, ForbiddenError, RequirementsError
from configurator.services.farm.base import FarmBase


class ReportsMixin(FarmBase):
    """Offline reports, progress and operator commands (part of ``FarmService``)."""

    def _report_offline(self, s: Session, node: NodeRow, now: float, reason: str) -> None:
        """The agent says its printer cannot print: offline now, jobs rerouted."""
        node.last_heartbeat = now
        why = reason or "the printer cannot print"
        if node.state == NodeState.OFFLINE:
            if node.state_reason != why:
                node.state_reason = why
                node.updated_at = now
            return
        node.state, node.state_reason, node.updated_at = NodeState.OFFLINE, why, now
        text = f"node {node.name} reports its printer offline: {why}"
        self._event(s, now, "node-offline", text, actor=f"node:{node.name}", node_id=node.id)
        jobs = self.store.open_jobs(s, node_id=node.id, lock=True)
        fates = recovery.node_lost(
            node.id, [job_snapshot(j) for j in jobs], max_attempts=self.settings.max_attempts,
            reason=text,
        )  # fmt: skip
        self._apply_fates(s, fates, {str(j.id): j for j in jobs}, now, actor=f"node:{node.name}")
        self._invalidate_view()

    @staticmethod
    def _take_command(job: JobRow | None) -> str | None:
        """The operator's pending pause/resume of ``job`` (cleared: delivered once)."""
        if job is None or not job.command:
            return None
        command, job.command = job.command, None
        return command

    def request_command(self, job_id: int, command: str) -> JobRow:
        """An operator asks to pause or resume a printing job; its node gets the command
        with its next heartbeat or progress reply (409 unless the job is printing)."""
        if command not in JOB_COMMANDS:
            raise RequirementsError({"command": f"one of {', '.join(JOB_COMMANDS)}"})
        now = self.clock()
        with self.store.transaction() as s:
            job = self._job(s, job_id)
            if job.state != JobState.PRINTING:
                raise ConflictError(
                    f"job {job_id} is {job.state}, not printing: nothing to {command}"
                )
            job.command, job.updated_at = command, now
            self._event(
                s, now, f"{command}-requested", f"operator asks node to {command} job {job_id}",
                actor="operator", job_id=job.id, node_id=job.node_id,
            )  # fmt: skip
            return job

    def _own_printing(self, s: Session, node: NodeRow, job_id: int) -> JobRow:
        job = self._job(s, job_id)
        if job.node_id != node.id:
            raise ForbiddenError(f"job {job_id} is not this node's")
        if job.state != JobState.PRINTING:
            raise ConflictError(f"job {job_id} is {job.state}, not printing")
        return job

    def progress(self, node_id: str, job_id: int, *, percent: float, seconds_left: float) -> JobRow:
        """The node's printing job is ``percent`` done, ``seconds_left`` to go."""
        return self.progress_report(node_id, job_id, percent=percent, seconds_left=seconds_left)[0]

    def progress_report(
        self, node_id: str, job_id: int, *, percent: float, seconds_left: float
    ) -> tuple[JobRow, str | None]:
        """:meth:`progress` and the operator's pending command for the job (delivered once)."""
        now = self.clock()
        with self.store.transaction() as s:
            node = self._agent_node(s, node_id)
            self._touch(s, node, now)
            job = self._own_printing(s, node, job_id)
            job.progress_pct, job.seconds_left, job.progress_at = percent, seconds_left, now
            job.est_finish = now + seconds_left
            job.updated_at = now
            return job, self._take_command(job)
