"""Discrete-event simulation of the print farm (engine: seeded, no I/O).

The simulator drives the *real* router (:mod:`configurator.core.farm.router`: ``FarmState``,
``route``, ``reroute``, ``rebalance``, the named policies) and the *real* recovery rules
(:mod:`configurator.core.farm.recovery`: ``timed_out``, ``node_lost``) against a simulated
clock. It owns only what a real farm would do physically: printers print, fail and get
repaired, and jobs arrive.

Why an event heap and not SimPy: every decision here is one call into the router with
the whole farm's state (``FarmState`` is a vectorized view of all nodes); there are no
long-lived processes that wait on each other. A ``heapq`` of ``(time, seq, kind, ...)``
keeps the ordering of simultaneous events explicit (``seq`` breaks ties in insertion
order, so the run is bit-for-bit deterministic), cancels a print cut by a failure with a
token check, and costs about a microsecond per event; SimPy would add a generator per
printer and interrupts for failures without changing any decision.

Model (times in simulated seconds from 0):

* A job arrives, is routed (``route``) to a node's queue, or waits in a pool when no node
  can take it now (retried whenever capacity frees up). A node that is up and idle starts
  the best job of its queue (``models.queue_key``: priority, deadline, first come).
* A print takes ``actual_s / speed`` (``JobSpec.actual_s``: the estimate times a seeded
  error); the router only knows ``est_seconds = work_s`` and the node's progress
  (``busy_s`` = time left scaled by the estimate).
* Node failures: per node, up-times ~ Exp(MTBF) and repairs ~ timeout + Exp(MTTR - timeout)
  from that node's own seeded stream, with MTBF = MTTR (1 - rate) / rate, so the node
  fails at the same instants whatever the policy. A failed node stops heartbeating; the
  watchdog sees it (``timed_out``) one second after the heartbeat timeout, marks it
  offline, and ``node_lost`` decides: the cut print counts a failed attempt and is
  rerouted or dead-lettered, the unstarted queue is rerouted. On repair the node accepts
  jobs again and ``rebalance`` may pull queued work onto it.
* After every completed print, ``rebalance`` targets the node that just finished (it may
  have finished early); an idle node therefore steals work whose finish improves by more
  than the margin.
* The run ends when every job is done or dead-lettered (job conservation is checked).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field, replace

import numpy as np

from configurator.core.farm import recovery
from configurator.core.farm.models import JobSnapshot, JobState, NodeSnapshot, Technology, queue_key
from configurator.core.farm.plates import Plate, plan_plate
from configurator.core.farm.router import (
    POLICIES,
    FarmState,
    make_policy,
    rebalance,
    reroute,
    route,
)
from configurator.engines.simulation.failures import failure_plans
from configurator.engines.simulation.farm_model import FarmModel
from configurator.engines.simulation.report import (
    Interval,
    JobOutcome,
    PlantCounts,
    SimReport,
    summarize,
)
from configurator.engines.simulation.views import (
    capability_matrix,
    check_printable,
    count_shifts,
    job_snapshot,
    node_snapshot,
    workload_lower_bound,
)
from configurator.engines.simulation.workload import Workload, policy_seed

__all__ = [
    "POLICY_NAMES",
    "SimConfig",
    "SimResult",
    "TimelinePoint",
    "capability_matrix",
    "check_printable",
    "simulate",
    "workload_lower_bound",
]
from configurator.errors import FarmError

#: the routing policies the simulator can run: the router's registry
POLICY_NAMES: tuple[str, ...] = tuple(POLICIES)

_ARRIVE, _FINISH, _FAIL, _CHECK, _REPAIR, _CLEAR, _KICK = 0, 1, 2, 3, 4, 5, 6
_WATCHDOG_LAG_S = 1.0


@dataclass(frozen=True)
class SimConfig:
    """Knobs of one run. ``heartbeat_timeout_s``/``max_attempts``/``rebalance_margin_s``
    default to :class:`configurator.settings.Settings` defaults."""

    heartbeat_timeout_s: float = 30.0
    max_attempts: int = 3
    rebalance_margin_s: float = 60.0
    rebalance: bool = True
    #: explicit failures ``(node_id, fail_s, repair_s)`` replacing the seeded ones (tests,
    #: what-if studies); ``repair_s`` must be after the watchdog sees the failure.
    failure_schedule: tuple[tuple[str, float, float], ...] | None = None
    #: plate changes, staffed hours, batching, quotes (:class:`FarmModel`); the default is
    #: :meth:`FarmModel.off`, the farm without them (every figure before them)
    model: FarmModel = field(default_factory=FarmModel.off)


@dataclass(frozen=True)
class TimelinePoint:
    """Farm load at an instant: jobs arrived and not final, nodes printing, nodes down."""

    t_s: float
    in_system: int
    printing: int
    down: int


@dataclass(frozen=True)
class SimResult:
    """A finished run: the report plus the trace the plot draws."""

    report: SimReport
    outcomes: tuple[JobOutcome, ...]
    intervals: tuple[Interval, ...]
    timeline: tuple[TimelinePoint, ...]
    workload: Workload


class _Sim:
    def __init__(self, workload: Workload, policy: str, config: SimConfig, cap: np.ndarray):
        self.w = workload
        self.cap = cap  # capability_matrix(workload), for the lower bound and plates
        self.cfg = config
        self.model = config.model
        self.policy_name = policy
        self.policy = make_policy(policy, seed=policy_seed(workload.seed))
        self.nodes = sorted(workload.nodes, key=lambda n: n.node_id)
        self.calendar = self.model.make_calendar()
        self.epoch = self.model.epoch() if not self.calendar.always else 0.0
        self.setup = np.array([self.model.setup_for(nd.technology) for nd in self.nodes])
        self.auto = np.array([nd.model in self.model.auto_clear_models for nd in self.nodes])
        snaps = [
            replace(node_snapshot(nd), setup_s=float(self.setup[i]), auto_clear=bool(self.auto[i]))
            for i, nd in enumerate(self.nodes)
        ]
        self.state = FarmState(snaps, now=0.0, calendar=self.calendar, time_offset=self.epoch)
        self.ni = {n.node_id: i for i, n in enumerate(self.nodes)}
        col = {n.node_id: c for c, n in enumerate(workload.nodes)}
        self.cap_col = [col[n.node_id] for n in self.nodes]
        n, j = len(self.nodes), len(workload.jobs)
        self.speed = np.array([nd.speed for nd in self.nodes])
        # per node
        self.queue: list[set[int]] = [set() for _ in range(n)]
        self.current: list[list[int]] = [[] for _ in range(n)]  # the plate printing now
        self.plate_est = [0.0] * n
        self.plate_act = [0.0] * n
        self.print_start = np.zeros(n)
        self.print_end = np.zeros(n)
        self.clear_at = [0.0] * n  # the plate is clear from this instant on
        self.token = [0] * n
        self.up = [True] * n
        self.online = [True] * n
        self.last_heartbeat = [0.0] * n
        self.fail_at = [0.0] * n
        # per job
        self.base = [job_snapshot(js, k) for k, js in enumerate(workload.jobs)]
        self.jk = {js.job_id: k for k, js in enumerate(workload.jobs)}
        if len(self.jk) != j:
            raise FarmError("job ids must be unique")
        self.actual = np.array([js.actual_s for js in workload.jobs])
        self.jstate = [JobState.QUEUED] * j
        self.jnode = [-1] * j
        self.attempts = [0] * j
        self.reroutes = [0] * j
        self.finish = [0.0] * j
        self.quote: list[float | None] = [None] * j
        self.pool: set[int] = set()
        self.open = 0
        self.final = 0
        # counters and trace
        self.n_reroutes = 0
        self.n_moves = 0
        self.n_failures = 0
        self.builds = 0
        self.batched = 0  # jobs that shared a plate with another job
        self.actions: dict[int, int] = {}  # operator plate changes per shift
        self.intervals: list[Interval] = []
        self.timeline: list[TimelinePoint] = []
        self.heap: list[tuple] = []
        self.seq = 0
        detect = config.heartbeat_timeout_s + _WATCHDOG_LAG_S
        self.plans = failure_plans(
            workload, self.ni, detect_s=detect, schedule=config.failure_schedule
        )
        self.repair_at = [0.0] * n

    def next_failure(self, i: int) -> None:
        nxt = next(self.plans[i], None)
        if nxt is not None:
            self.repair_at[i] = nxt[1]
            self.push(nxt[0], _FAIL, i)

    # -- plumbing -------------------------------------------------------------------------
    def push(self, t: float, kind: int, a: int, b: int = 0) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, kind, a, b))

    def snap(self, k: int) -> JobSnapshot:
        i = self.jnode[k]
        return replace(
            self.base[k],
            state=self.jstate[k],
            node_id=self.nodes[i].node_id if i >= 0 else None,
            attempts=self.attempts[k],
        )

    def sync_busy(self, now: float) -> None:
        """Tell the router how much of each current print is left (progress x estimate)
        and how long each idle node's plate still waits for clearing."""
        for i, plate in enumerate(self.current):
            if plate and self.online[i]:
                left = max(self.print_end[i] - now, 0.0)
                self.state.set_busy(
                    self.nodes[i].node_id, left * self.plate_est[i] / self.plate_act[i]
                )
            elif self.clear_at[i] > now or self.state.wait[i] > 0:
                self.state.set_plate_wait(self.nodes[i].node_id, self.clear_at[i] - now)

    def place(self, k: int, node_id: str | None) -> bool:
        if node_id is None:
            self.jstate[k], self.jnode[k] = JobState.QUEUED, -1
            self.pool.add(k)
            return False
        i = self.ni[node_id]
        self.jstate[k], self.jnode[k] = JobState.ASSIGNED, i
        self.queue[i].add(k)
        self.pool.discard(k)
        return True

    def horizon(self, i: int):
        """When an operator would clear node ``i``'s plate finishing at ``f`` anyway."""
        if self.calendar.always or self.auto[i]:
            return lambda f: f
        off = self.epoch
        return lambda f: float(self.calendar.next_staffed(f + off)) - off

    def plan(self, i: int, now: float) -> Plate:
        """The plate node ``i`` would start now (head of its queue, plus batched jobs)."""
        head = min(self.queue[i], key=lambda q: queue_key(self.base[q]))
        hs = self.base[head]
        rules = self.model.plates
        if not rules.batching:
            return Plate((hs,), ((0.0, 0.0, False),), hs.est_seconds)
        cands: list[tuple[JobSnapshot, float | None]] = [
            (self.base[q], None) for q in self.queue[i] if q != head
        ]
        ci = self.cap_col[i]
        for j, q in enumerate(self.queue):
            if j == i or not q:
                continue
            floor = now + self.state._floor(j)
            for k in q:
                b = self.base[k]
                if b.material == hs.material and b.priority == hs.priority and self.cap[k, ci]:
                    cands.append((b, floor + b.est_seconds / self.speed[j]))
        bed = self.nodes[i].bed_mm
        return plan_plate(
            hs,
            cands,
            bed=(bed[0], bed[1]),
            speed=float(self.speed[i]),
            now=now,
            since=self.w.jobs[head].arrival_s,
            horizon=self.horizon(i),
            rules=rules,
        )

    def kick(self, i: int, now: float) -> None:
        """Start the next plate on node ``i`` if it is up, idle and its plate is clear."""
        if self.current[i] or not self.up[i] or not self.online[i] or not self.queue[i]:
            return
        if self.clear_at[i] > now:
            return
        plate = self.plan(i, now)
        if plate.hold_until is not None:
            self.token[i] += 1
            self.push(plate.hold_until, _KICK, i, self.token[i])
            return
        nid = self.nodes[i].node_id
        ks = [self.jk[s.id] for s in plate.jobs]
        for k in ks:
            self.queue[self.jnode[k]].discard(k)
            self.state.unassign(self.snap(k))
            self.state.add_totals(
                nid, seconds=0.0, reserved={self.base[k].material: self.base[k].grams}
            )
            self.jstate[k], self.jnode[k] = JobState.PRINTING, i
        if len(ks) > 1:
            self.batched += len(ks)
        self.plate_est[i] = plate.est_seconds
        self.plate_act[i] = (
            float(sum(self.actual[k] for k in ks)) if len(ks) > 1 else self.actual[ks[0]]
        )
        dur = self.plate_act[i] / self.speed[i]
        self.current[i] = ks
        self.print_start[i], self.print_end[i] = now, now + dur
        self.state.set_plate_wait(nid, 0.0)
        self.state.set_busy(nid, self.plate_est[i] / self.speed[i])
        self.token[i] += 1
        self.push(now + dur, _FINISH, i, self.token[i])

    def release_print(self, i: int) -> list[int]:
        ks = self.current[i]
        nid = self.nodes[i].node_id
        for k in ks:
            self.state.add_totals(
                nid, seconds=0.0, reserved={self.base[k].material: -self.base[k].grams}
            )
        self.state.set_busy(nid, 0.0)
        self.current[i] = []
        return ks

    def finalize(self, k: int, state: str, now: float) -> None:
        self.jstate[k] = JobState.DONE if state == "done" else JobState.FAILED
        self.finish[k] = now
        self.open -= 1
        self.final += 1

    def retry_pool(self, now: float) -> None:
        if not self.pool:
            return
        self.sync_busy(now)
        jobs = [self.base[k] for k in sorted(self.pool)]  # state queued: nothing to unassign
        for a in reroute(self.state, jobs, self.policy, now=now):
            k = self.jk[a.job_id]
            if self.place(k, a.node_id):
                self.kick(self.jnode[k], now)

    def do_rebalance(self, now: float, target: str) -> None:
        if not self.cfg.rebalance:
            return
        unstarted = [self.snap(k) for q in self.queue for k in q]
        if not unstarted:
            return
        self.sync_busy(now)
        moves = rebalance(
            self.state, unstarted, now=now, margin_s=self.cfg.rebalance_margin_s, targets=[target]
        )
        # a plate may pull queued jobs from other nodes: with batching, apply every move
        # before the target starts a plate (else a later move could re-queue a pulled job)
        defer = self.model.plates.batching
        for mv in moves:
            k = self.jk[mv.job_id]
            self.queue[self.ni[mv.from_node]].discard(k)
            self.place(k, mv.to_node)
            self.n_moves += 1
            if not defer:
                self.kick(self.ni[mv.to_node], now)
        if defer and moves:
            self.kick(self.ni[target], now)

    def record(self, now: float) -> None:
        printing = sum(1 for k in self.current if k)
        down = sum(1 for u in self.up if not u)
        self.timeline.append(TimelinePoint(now, self.open, printing, down))

    # -- events ---------------------------------------------------------------------------
    def on_arrive(self, k: int, now: float) -> None:
        self.open += 1
        self.sync_busy(now)
        a = route(self.state, self.base[k], self.policy, now=now)
        if a.finish_at is not None:
            self.quote[k] = now + (a.finish_at - now) * (1.0 + self.model.quote_margin)
        if self.place(k, a.node_id):
            self.kick(self.jnode[k], now)

    def on_finish(self, i: int, token: int, now: float) -> None:
        if token != self.token[i] or not self.current[i]:
            return  # print was cut by a failure
        nid = self.nodes[i].node_id
        ks = self.release_print(i)
        for k in ks:
            self.intervals.append(Interval(nid, self.print_start[i], now, "print", self.base[k].id))
            self.jnode[k] = i
            self.finalize(k, "done", now)
        self.builds += 1
        if self.setup[i] > 0 or not self.calendar.always:
            self.plate_change(i, now)
        if self.clear_at[i] <= now:
            self.kick(i, now)
        self.do_rebalance(now, nid)
        self.retry_pool(now)

    def plate_change(self, i: int, now: float) -> None:
        """The finished build leaves the plate: clear again after the setup (in staffed
        time unless the node clears itself); an operator action is counted per shift."""
        off = self.epoch
        done = float(self.calendar.clear_done(now + off, self.setup[i], self.auto[i])) - off
        self.clear_at[i] = done
        if not self.auto[i]:
            start = done - self.setup[i] if self.setup[i] > 0 else done
            shift = self.calendar.shift_of(start + off)
            self.actions[shift] = self.actions.get(shift, 0) + 1
        if done > now:
            self.intervals.append(Interval(self.nodes[i].node_id, now, done, "setup"))
            self.state.set_plate_wait(self.nodes[i].node_id, done - now)
            self.push(done, _CLEAR, i)

    def on_clear(self, i: int, now: float) -> None:
        if self.clear_at[i] > now:
            return  # a repair reset the plate meanwhile
        self.state.set_plate_wait(self.nodes[i].node_id, 0.0)
        self.kick(i, now)
        self.do_rebalance(now, self.nodes[i].node_id)
        self.retry_pool(now)

    def on_kick(self, i: int, token: int, now: float) -> None:
        if token == self.token[i]:
            self.kick(i, now)

    def on_fail(self, i: int, now: float) -> None:
        self.n_failures += 1
        self.up[i] = False
        self.fail_at[i] = now
        self.last_heartbeat[i] = now
        if self.current[i]:  # the print stops now; the server learns at the timeout
            for k in self.current[i]:
                self.intervals.append(
                    Interval(
                        self.nodes[i].node_id, self.print_start[i], now, "lost", self.base[k].id
                    )
                )
            if self.setup[i] > 0 or not self.calendar.always:
                self.plate_change(i, now)  # the cut build must come off the plate
        self.token[i] += (
            1  # cancels its finish (and a held plate); the server still believes it runs
        )
        self.push(now + self.cfg.heartbeat_timeout_s + _WATCHDOG_LAG_S, _CHECK, i)
        self.push(self.repair_at[i], _REPAIR, i)

    def on_check(self, i: int, now: float) -> None:
        snaps = [
            NodeSnapshot(
                id=nd.node_id,
                technology=Technology(nd.technology),
                build_volume=nd.bed_mm,
                materials={},
                speed=nd.speed,
                last_heartbeat=now if self.up[x] else self.last_heartbeat[x],
            )
            for x, nd in enumerate(self.nodes)
            if self.online[x]
        ]
        for nid in recovery.timed_out(snaps, now=now, timeout_s=self.cfg.heartbeat_timeout_s):
            self.take_offline(self.ni[nid], now)

    def take_offline(self, i: int, now: float) -> None:
        nid = self.nodes[i].node_id
        self.online[i] = False
        self.state.set_accepting(nid, False)
        mine = [self.snap(k) for k in sorted(self.queue[i])]
        if self.current[i]:
            mine[:0] = [self.snap(k) for k in self.current[i]]
        fates = recovery.node_lost(
            nid, mine, max_attempts=self.cfg.max_attempts, reason="heartbeat timeout"
        )
        by_id = {s.id: s for s in mine}
        if self.current[i]:
            self.release_print(i)
        again = []
        for fate in fates:
            k = self.jk[fate.job_id]
            snap = by_id[fate.job_id]
            if snap.state == JobState.PRINTING:
                self.attempts[k] = fate.attempts
            else:
                self.queue[i].discard(k)
            if fate.action == recovery.DEAD:
                self.finalize(k, "dead", now)
                self.jnode[k] = -1
            elif fate.action == recovery.REROUTE:
                self.reroutes[k] += 1
                self.n_reroutes += 1
                again.append(replace(snap, attempts=fate.attempts))
        self.sync_busy(now)
        for a in reroute(self.state, again, self.policy, now=now):
            k = self.jk[a.job_id]
            if self.place(k, a.node_id):
                self.kick(self.jnode[k], now)

    def on_repair(self, i: int, now: float) -> None:
        self.intervals.append(Interval(self.nodes[i].node_id, self.fail_at[i], now, "down"))
        self.up[i] = True
        self.online[i] = True
        self.last_heartbeat[i] = now
        self.state.set_accepting(self.nodes[i].node_id, True)
        self.state.set_busy(self.nodes[i].node_id, 0.0)
        self.state.set_plate_wait(self.nodes[i].node_id, max(self.clear_at[i] - now, 0.0))
        self.next_failure(i)
        self.kick(i, now)
        self.do_rebalance(now, self.nodes[i].node_id)
        self.retry_pool(now)

    # -- loop -----------------------------------------------------------------------------
    def run(self) -> SimResult:
        total = len(self.base)
        for k, job in enumerate(self.w.jobs):
            self.push(job.arrival_s, _ARRIVE, k)
        for i in range(len(self.nodes)):
            self.next_failure(i)
        handlers = {
            _ARRIVE: lambda a, b, now: self.on_arrive(a, now),
            _FINISH: self.on_finish,
            _FAIL: lambda a, b, now: self.on_fail(a, now),
            _CHECK: lambda a, b, now: self.on_check(a, now),
            _REPAIR: lambda a, b, now: self.on_repair(a, now),
            _CLEAR: lambda a, b, now: self.on_clear(a, now),
            _KICK: self.on_kick,
        }
        while self.heap and self.final < total:
            now, _, kind, a, b = heapq.heappop(self.heap)
            handlers[kind](a, b, now)
            self.record(now)
        end = max(self.finish) if total else 0.0
        for iv_node in range(len(self.nodes)):  # close open down spans at the end
            if not self.up[iv_node]:
                self.intervals.append(
                    Interval(self.nodes[iv_node].node_id, self.fail_at[iv_node], end, "down")
                )
        return self.result()

    def result(self) -> SimResult:
        outcomes = []
        for k, job in enumerate(self.w.jobs):
            st = self.jstate[k]
            if st not in (JobState.DONE, JobState.FAILED):
                raise FarmError(f"simulation ended with job {job.job_id} still {st.value}")
            outcomes.append(
                JobOutcome(
                    job_id=job.job_id,
                    arrival_s=job.arrival_s,
                    deadline_s=job.deadline_s,
                    priority=job.priority,
                    state="done" if st == JobState.DONE else "dead",
                    finish_s=self.finish[k],
                    node_id=self.nodes[self.jnode[k]].node_id if self.jnode[k] >= 0 else None,
                    attempts=self.attempts[k],
                    reroutes=self.reroutes[k],
                    quote_s=self.quote[k],
                )
            )
        intervals = tuple(sorted(self.intervals, key=lambda iv: (iv.node_id, iv.start_s, iv.kind)))
        report = summarize(
            policy=self.policy_name,
            workload=self.w,
            outcomes=outcomes,
            intervals=intervals,
            lb=workload_lower_bound(self.w, self.cap, self.model),
            reroutes=self.n_reroutes,
            rebalance_moves=self.n_moves,
            failures=self.n_failures,
            plant=PlantCounts(
                builds=self.builds,
                batched_jobs=self.batched,
                operator_actions=dict(self.actions),
                shifts=count_shifts(self.calendar, self.epoch, max(self.finish, default=0.0)),
            ),
            model=self.model,
        )
        return SimResult(report, tuple(outcomes), intervals, tuple(self.timeline), self.w)


def simulate(workload: Workload, *, policy: str, config: SimConfig | None = None) -> SimResult:
    """Run one policy on ``workload``. Same workload + policy + config → identical result.

    Raises :class:`FarmError` for an unknown policy, or when a job could never be printed
    (no node in the fleet can print it), which would otherwise stall the simulation.
    """
    cfg = config or SimConfig()
    if policy not in POLICY_NAMES:
        raise FarmError(f"unknown policy {policy!r}; choose one of {', '.join(POLICY_NAMES)}")
    cap = check_printable(workload)
    return _Sim(workload, policy, cfg, cap).run()
