"""Housekeeping and the operators' view: the heartbeat sweep and the farm status."""

from __future__ import annotations

from typing import Any

from configurator.adapters.db.snapshots import job_snapshot, node_snapshot
from configurator.core.farm import recovery
from configurator.core.farm.models import JobState, NodeState
from configurator.services.farm.base import FarmBase


class MonitorMixin(FarmBase):
    """Sweep and status (part of :class:`FarmService`)."""

    def sweep(self) -> list[str]:
        """Apply the heartbeat timeout: nodes silent for longer go offline, their jobs are
        rerouted (the printing one counts a failed attempt); waiting jobs are retried.
        Returns the ids of nodes taken offline."""
        now = self.clock()
        with self._tx(routing=True) as s:
            nodes = self.store.active_nodes(s)
            lost = recovery.timed_out(
                [node_snapshot(n) for n in nodes],
                now=now,
                timeout_s=self.settings.heartbeat_timeout_s,
                since=self.started_at,
            )
            for node_id in lost:
                node = self.store.lock_node(s, node_id)
                if node is None or node.state in (NodeState.OFFLINE, NodeState.REMOVED):
                    continue
                node.state, node.updated_at = NodeState.OFFLINE, now
                reason = f"node {node.name} missed its heartbeat ({self.settings.heartbeat_timeout_s:g} s)"
                self._event(s, now, "node-offline", reason, actor="system", node_id=node.id)
                jobs = self.store.open_jobs(s, node_id=node.id, lock=True)
                fates = recovery.node_lost(
                    node.id,
                    [job_snapshot(j) for j in jobs],
                    max_attempts=self.settings.max_attempts,
                    reason=reason,
                )
                self._apply_fates(s, fates, {str(j.id): j for j in jobs}, now, actor="system")
            if self.store.any_job_in_state(s, JobState.QUEUED):
                self._route_waiting(s, now, actor="router")
            return lost

    def status(self, *, events: int = 50) -> dict[str, Any]:
        """Nodes (state, load in seconds, queue in order), job counts, recent events."""
        now = self.clock()
        with self.store.transaction() as s:
            nodes = self.store.active_nodes(s)
            out_nodes = []
            for node in nodes:
                plan = self._plan(s, node, now)
                out_nodes.append(
                    {
                        "node": node,
                        "load_s": (plan[-1].finish - now) if plan else 0.0,
                        "queue": [int(e.job_id) for e in plan],
                    }
                )
            counts = self.store.job_counts(s)
            recent = self.store.recent_events(s, events)
            return {
                "now": now,
                "nodes": out_nodes,
                "jobs": {st.value: int(counts.get(st.value, 0)) for st in JobState},
                "events": recent,
            }
