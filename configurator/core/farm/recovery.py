"""Recovery rules of the print farm (pure core: decisions only; the service applies them).

* Heartbeat: a node whose last sign of life is older than ``timeout_s`` goes offline.
  Its unstarted jobs are rerouted at once; its printing job counts a failed attempt.
* A failed attempt: ``attempts + 1``; when the job has failed ``max_attempts`` times it
  goes to the dead-letter state (``failed``), otherwise it is rerouted.
* Draining: the printing job stays, the unstarted queue is rerouted.
* Removing a node: like draining, and the printing job is rerouted without counting an
  attempt (the operator, not the job, ended the print).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from configurator.core.farm.models import JobFate, JobSnapshot, JobState, NodeSnapshot, NodeState

REROUTE, DEAD, KEEP = "reroute", "dead", "keep"

#: node states the heartbeat timeout does not apply to
_NOT_WATCHED = frozenset({NodeState.OFFLINE, NodeState.REMOVED, NodeState.MAINTENANCE})


def timed_out(
    nodes: Iterable[NodeSnapshot], *, now: float, timeout_s: float, since: float = 0.0
) -> list[str]:
    """Ids of watched nodes whose last heartbeat (or ``since``, e.g. the server's start
    after a restart, whichever is later) is more than ``timeout_s`` seconds before ``now``."""
    out = []
    for n in nodes:
        if n.state in _NOT_WATCHED:
            continue
        last = max(n.last_heartbeat if n.last_heartbeat is not None else since, since)
        if now - last > timeout_s:
            out.append(n.id)
    return sorted(out)


def after_failure(job: JobSnapshot, *, max_attempts: int, reason: str) -> JobFate:
    """One failed attempt of ``job``: reroute, or dead letter once ``max_attempts`` failed."""
    attempts = job.attempts + 1
    if attempts >= max_attempts:
        return JobFate(job.id, DEAD, attempts, f"{reason} (attempt {attempts} of {max_attempts})")
    return JobFate(job.id, REROUTE, attempts, f"{reason} (attempt {attempts} of {max_attempts})")


def node_lost(
    node_id: str, jobs: Sequence[JobSnapshot], *, max_attempts: int, reason: str
) -> list[JobFate]:
    """Fates of ``node_id``'s open jobs when it went offline (``reason`` says why)."""
    fates = []
    for job in jobs:
        if job.node_id != node_id:
            continue
        if job.state == JobState.PRINTING:
            fates.append(after_failure(job, max_attempts=max_attempts, reason=reason))
        elif job.state == JobState.ASSIGNED:
            fates.append(JobFate(job.id, REROUTE, job.attempts, f"{reason}; not started"))
    return fates


def node_drained(
    node_id: str, jobs: Sequence[JobSnapshot], *, reason: str = "node draining"
) -> list[JobFate]:
    """Fates when ``node_id`` drains: its printing job stays, its queue moves."""
    fates = []
    for job in jobs:
        if job.node_id != node_id:
            continue
        if job.state == JobState.PRINTING:
            fates.append(JobFate(job.id, KEEP, job.attempts, f"{reason}; finishing current job"))
        elif job.state == JobState.ASSIGNED:
            fates.append(JobFate(job.id, REROUTE, job.attempts, reason))
    return fates


def node_removed(
    node_id: str, jobs: Sequence[JobSnapshot], *, reason: str = "node removed"
) -> list[JobFate]:
    """Fates when an operator removes ``node_id``: every open job is rerouted, no attempt
    is counted."""
    return [
        JobFate(j.id, REROUTE, j.attempts, reason)
        for j in jobs
        if j.node_id == node_id and j.state in (JobState.PRINTING, JobState.ASSIGNED)
    ]
