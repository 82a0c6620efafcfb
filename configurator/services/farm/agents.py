"""What node agents do: heartbeat, claim, progress, complete, fail.

Claim and complete are the hot paths: plain SQL on the pooled connection
(:mod:`configurator.adapters.db.statements`) in one short transaction each; a node that is
offline or unknown takes the ORM path, which handles coming back and 401.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from configurator.adapters.db.snapshots import job_snapshot
from configurator.adapters.db.tables import JobRow, NodeRow
from configurator.core.farm import recovery
from configurator.core.farm.models import (
    ACCEPTING_STATES,
    REPORTABLE_STATES,
    JobState,
    NodeState,
)
from configurator.errors import ConflictError, ForbiddenError, NotFoundError, RequirementsError
from configurator.services.farm.batches import BatchesMixin
from configurator.services.farm.plate_rules import after_build, plate_clear
from configurator.services.farm.reports import ReportsMixin


class AgentsMixin(BatchesMixin, ReportsMixin):
    """Node-agent operations (part of :class:`FarmService`)."""

    def heartbeat(
        self,
        node_id: str,
        *,
        state: NodeState | str = NodeState.IDLE,
        materials: Mapping[str, float] | None = None,
        auto_clear: bool | None = None,
        reason: str | None = None,
        printer: Mapping[str, Any] | None = None,
    ) -> NodeRow:
        """:meth:`heartbeat_report` without the operator's command."""
        node, _ = self.heartbeat_report(
            node_id,
            state=state,
            materials=materials,
            auto_clear=auto_clear,
            reason=reason,
            printer=printer,
        )
        return node

    def heartbeat_report(
        self,
        node_id: str,
        *,
        state: NodeState | str = NodeState.IDLE,
        materials: Mapping[str, float] | None = None,
        auto_clear: bool | None = None,
        reason: str | None = None,
        printer: Mapping[str, Any] | None = None,
    ) -> tuple[NodeRow, str | None]:
        """A node's sign of life with its state (idle/printing/paused/offline) and loaded
        material (grams per material; ``None`` = unchanged); returns the node and the
        operator's pending command for its printing job (pause/resume, delivered once).

        ``offline`` (with ``reason``: the printer's error, "busy with a print the farm did
        not start", unreachable) is the agent saying its printer cannot print: the node
        goes offline at once and its jobs are rerouted as after a heartbeat timeout (the
        printing one counts a failed attempt); the next idle heartbeat brings it back.
        ``printer``: details a connector node reports (firmware, temperatures, bed...;
        ``None`` = unchanged), kept on the node; a change is logged as ``printer-info``.

        Reported grams update the materials the operator registered the node for; a
        registered material the report leaves out is unloaded (0 g); a material it was
        never registered for is ignored (an event says so): what a node can make comes
        from its registration, never from the node alone. ``auto_clear``: what the agent
        was started with; the operator's registration stays in force, a mismatch is
        recorded (event ``auto-clear-mismatch``, once per change of what the agent says)."""
        reported = NodeState(state)
        if reported not in REPORTABLE_STATES:
            raise RequirementsError(
                {"state": f"a node reports one of {sorted(s.value for s in REPORTABLE_STATES)}"}
            )
        now = self.clock()
        with self._tx(routing=True) as s:
            node = self._agent_node(s, node_id)
            if reported == NodeState.OFFLINE:
                self._report_offline(s, node, now, (reason or "").strip()[:500])
                return node, None
            came_back = self._touch(s, node, now)
            node.state_reason = None
            changed = came_back
            if auto_clear is not None and auto_clear != node.agent_auto_clear:
                node.agent_auto_clear = bool(auto_clear)
                if bool(auto_clear) != bool(node.auto_clear):
                    self._event(
                        s, now, "auto-clear-mismatch",
                        f"agent runs with auto_clear={bool(auto_clear)}, registered "
                        f"auto_clear={bool(node.auto_clear)} (the registration applies)",
                        actor=f"node:{node.name}", node_id=node.id,
                    )  # fmt: skip
            if printer is not None and dict(printer) != (node.printer or {}):
                node.printer = dict(printer)
                self._event(
                    s, now, "printer-info", "printer details reported",
                    actor=f"node:{node.name}", node_id=node.id, data=dict(printer),
                )  # fmt: skip
            if materials is not None:
                registered = dict(node.materials or {})
                loaded = {m: float(materials.get(m, 0.0)) for m in registered}
                foreign = sorted(set(materials) - set(registered))
                if foreign:
                    self._event(
                        s,
                        now,
                        "materials-ignored",
                        f"reported {', '.join(foreign)}, not registered for this node",
                        actor=f"node:{node.name}",
                        node_id=node.id,
                    )
                if loaded != registered:
                    node.materials = loaded
                    changed = True
            printing = self._printing_job(s, node.id)
            if printing is not None and reported == NodeState.IDLE:
                cut = [  # a plate: every job on it
                    j for j in self.store.open_jobs(s, node_id=node.id, lock=True)
                    if j.state == JobState.PRINTING
                ]  # fmt: skip
                fates = [
                    recovery.after_failure(
                        job_snapshot(j),
                        max_attempts=self.settings.max_attempts,
                        reason="node reported idle while the job was printing (agent restarted?)",
                    )
                    for j in cut
                ]
                self._apply_fates(
                    s, fates, {str(j.id): j for j in cut}, now, actor=f"node:{node.name}"
                )
                printing = None
            if node.state not in (NodeState.DRAINING, NodeState.MAINTENANCE):
                if printing is not None:  # a paused print is still this node's job
                    paused = reported == NodeState.PAUSED
                    node.state = NodeState.PAUSED if paused else NodeState.PRINTING
                else:
                    node.state = reported
            if changed:
                self._reconcile_node(s, node, now, actor=f"node:{node.name}", reason="node changed")
            command = self._take_command(printing)
        if changed:
            self._invalidate_view()
        return node, command

    def claim(self, node_id: str) -> JobRow | None:
        """Atomically take the head of the node's own queue (assigned → printing).

        Returns the job the node is already printing if there is one (a retried claim is
        harmless), None when the queue is empty (after routing waiting jobs and pulling
        work from busier nodes), the node is not in service, or its plate is not clear
        (a finished build waits for an operator's plate-cleared, or its auto-clear).
        """
        job, pull = self._claim_once(node_id)
        if job is None and pull:
            now = self.clock()
            with self._tx(routing=True) as s:
                node = self._node(s, node_id)
                if node.state in ACCEPTING_STATES:
                    self._reconcile_node(s, node, now, actor="router", reason="node is idle")
            job, _ = self._claim_once(node_id)
        return job

    def _claim_once(self, node_id: str) -> tuple[Any, bool]:
        """Hot path in SQL Core with prebuilt statements: touch the node, then return its
        printing job or atomically start the head of its queue (a head that may share a
        plate goes to the plate planner, :meth:`_claim_plate`)."""
        now = self.clock()
        plate = False
        with self.store.raw_transaction() as s:
            node = self._touch_fast(s, node_id, now)
            if node is not None:
                if node.state not in ACCEPTING_STATES and node.state != NodeState.DRAINING:
                    return None, False
                head = s.execute(self._sql.head, {"nid": node_id}).first()
                if head is not None and head.state == JobState.PRINTING:
                    return head, False
                if node.state not in ACCEPTING_STATES:
                    return None, False
                if not plate_clear(node, now):  # the finished build waits for its clearing
                    if node.state == NodeState.PRINTING:
                        s.execute(
                            self._sql.node_state, {"nid": node_id, "t_state": NodeState.IDLE.value}
                        )
                    return None, False
                if head is None:
                    if node.state != NodeState.IDLE:
                        s.execute(
                            self._sql.node_state, {"nid": node_id, "t_state": NodeState.IDLE.value}
                        )
                    # routing and pulling need the routing lock: only when there is work
                    pull = s.execute(self._sql.pullable, {"nid": node_id}).first() is not None
                    return None, pull
                if self.settings.batching:
                    others = s.execute(
                        self._sql.batchable,
                        {
                            "nid": node_id,
                            "jid": head.id,
                            "mat": head.material,
                            "prio": head.priority,
                        },
                    ).first()
                    plate = self.may_batch(head, node, now, others is not None)
            if node is not None and not plate:
                lot = (node.material_lots or {}).get(head.material)
                job = s.execute(
                    self._sql.start,
                    {
                        "jid": head.id,
                        "t_now": now,
                        "t_finish": now + head.est_seconds / node.speed,
                        "t_lot": lot,
                    },
                ).first()
                if node.state != NodeState.PRINTING:
                    s.execute(
                        self._sql.node_state, {"nid": node_id, "t_state": NodeState.PRINTING.value}
                    )
                self._event_fast(
                    s, now, "claimed", f"attempt {job.attempts + 1}",
                    actor=f"node:{node.name}", job_id=job.id, node_id=node_id,
                    data={"material_lot": lot} if lot else None,
                )  # fmt: skip
                return job, False
        if plate:
            return self._claim_plate(node_id)
        return self._claim_once_slow(node_id)

    def _claim_once_slow(self, node_id: str) -> tuple[JobRow | None, bool]:
        now = self.clock()
        with self.store.transaction() as s:
            node = self._agent_node(s, node_id)
            self._touch(s, node, now)
            current = self._printing_job(s, node.id)
            if current is not None:
                return current, False
            if node.state not in ACCEPTING_STATES or not plate_clear(node, now):
                return None, False
            job = self.store.queue_head(s, node.id)
            if job is None:
                node.state = NodeState.IDLE
                return None, True
            job.state, job.started_at, job.updated_at = JobState.PRINTING, now, now
            job.progress_pct = job.seconds_left = job.progress_at = None
            job.est_finish = now + job.est_seconds / node.wall_speed
            job.material_lot = lot = (node.material_lots or {}).get(job.material)
            node.state = NodeState.PRINTING
            self._event(
                s,
                now,
                "claimed",
                f"attempt {job.attempts + 1}",
                actor=f"node:{node.name}",
                job_id=job.id,
                node_id=node.id,
                data={"material_lot": lot} if lot else None,
            )
            return job, False

    def complete(
        self,
        node_id: str,
        job_id: int,
        *,
        actual_seconds: float,
        grams_used: float,
        record: Mapping[str, Any] | None = None,
    ) -> JobRow:
        """Mark the node's printing job done (idempotent: repeating it changes nothing).
        ``record``: what a connector node reports of the attempt (slicer, profile and
        G-code hashes...), stored on the job and in the ``completed`` event.

        Hot path in SQL Core (one short transaction); an offline node goes the ORM way.
        Finishing early with work queued elsewhere triggers a rebalance towards this node.
        """
        now = self.clock()
        with self.store.raw_transaction() as s:
            node = self._touch_fast(s, node_id, now)
            if node is not None:
                done = s.execute(
                    self._sql.done,
                    {
                        "jid": job_id,
                        "nid": node_id,
                        "t_now": now,
                        "t_actual": actual_seconds,
                        "t_used": grams_used,
                        "t_record": dict(record) if record else None,
                    },
                ).first()
                if done is None:  # not this node's printing job: say why
                    job = s.execute(self._sql.job_for_update, {"jid": job_id}).first()
                    if job is None:
                        raise NotFoundError(f"job {job_id} not found")
                    if job.node_id != node_id:
                        raise ForbiddenError(f"job {job_id} is not this node's")
                    if job.state == JobState.DONE:
                        return job  # a retried report: no effect
                    raise ConflictError(f"job {job_id} is {job.state}, not printing")
                margin = self.settings.rebalance_margin_s
                early = done.est_finish is not None and now < done.est_finish - margin
                job = done
                mats = dict(node.materials or {})
                if job.material in mats:
                    mats[job.material] = max(mats[job.material] - grams_used, 0.0)
                clear = after_build(self.settings, node, now)
                s.execute(self._sql.node_done, {"nid": node_id, "t_mats": mats, "t_clear": clear})
                self._event_fast(
                    s, now, "completed", f"{actual_seconds:.0f} s, {grams_used:.1f} g",
                    actor=f"node:{node.name}", job_id=job_id, node_id=node_id,
                    data=_completed(actual_seconds, grams_used, record),
                )  # fmt: skip
                elsewhere = early and s.execute(self._sql.elsewhere, {"nid": node_id}).first()
        if node is None:
            return self._complete_slow(
                node_id, job_id, actual_seconds=actual_seconds, grams_used=grams_used, record=record
            )
        if elsewhere:
            with self._tx(routing=True) as s:
                nd = self._node(s, node_id)
                if nd.state in ACCEPTING_STATES:
                    self._rebalance(s, now, [nd.id], actor="router")
        return done

    def _complete_slow(
        self,
        node_id: str,
        job_id: int,
        *,
        actual_seconds: float,
        grams_used: float,
        record: Mapping[str, Any] | None = None,
    ) -> JobRow:
        now = self.clock()
        with self.store.transaction() as s:
            node = self._agent_node(s, node_id)
            self._touch(s, node, now)
            job = self._job(s, job_id)
            if job.node_id != node.id:
                raise ForbiddenError(f"job {job_id} is not this node's")
            if job.state == JobState.DONE:
                return job
            if job.state != JobState.PRINTING:
                raise ConflictError(f"job {job_id} is {job.state}, not printing")
            early = (
                job.est_finish is not None
                and now < job.est_finish - self.settings.rebalance_margin_s
            )
            job.state, job.finished_at, job.updated_at = JobState.DONE, now, now
            job.actual_seconds, job.grams_used = actual_seconds, grams_used
            job.record = dict(record) if record else None
            job.progress_pct, job.seconds_left = 100.0, 0.0
            mats = dict(node.materials or {})
            if job.material in mats:
                mats[job.material] = max(mats[job.material] - grams_used, 0.0)
                node.materials = mats
            if node.state == NodeState.PRINTING:
                node.state = NodeState.IDLE
            node.plate_clear_at = after_build(self.settings, node, now)
            self._event(
                s,
                now,
                "completed",
                f"{actual_seconds:.0f} s, {grams_used:.1f} g",
                actor=f"node:{node.name}",
                job_id=job.id,
                node_id=node.id,
                data=_completed(actual_seconds, grams_used, record),
            )
        if early:
            with self._tx(routing=True) as s:
                node = self._node(s, node_id)
                if node.state in ACCEPTING_STATES:
                    self._rebalance(s, now, [node.id], actor="router")
        return job

    def fail(self, node_id: str, job_id: int, *, reason: str) -> JobRow:
        """The node's printing job failed: attempts + 1, rerouted or dead-lettered."""
        now = self.clock()
        with self._tx(routing=True) as s:
            node = self._agent_node(s, node_id)
            self._touch(s, node, now)
            job = self._own_printing(s, node, job_id)
            fate = recovery.after_failure(
                job_snapshot(job),
                max_attempts=self.settings.max_attempts,
                reason=f"node {node.name}: {reason}",
            )
            if node.state == NodeState.PRINTING:
                node.state = NodeState.IDLE
            node.plate_clear_at = after_build(self.settings, node, now)  # the failed build is on it
            self._apply_fates(s, [fate], {str(job.id): job}, now, actor=f"node:{node.name}")
            return job


def _completed(
    actual_seconds: float, grams_used: float, record: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The ``completed`` event's data: the outcome and the node's record of the attempt."""
    data: dict[str, Any] = {"actual_seconds": actual_seconds, "grams_used": grams_used}
    if record:
        data["record"] = dict(record)
    return data
