"""What the farm can make, as a fact the design side reads: the capability view and quotes.

:meth:`CapabilitiesMixin.capabilities` is a read-only
:class:`~configurator.core.farm.capability.FarmView` of the registered nodes (any state but
removed: technology, materials and grams, build volume, wall-clock speed, state, current
load), built from the store — so every server process on one database sees the same farm —
and cached for ``Settings.capabilities_ttl_s`` seconds (a change this process commits
drops the cache at once). The materials are the operator's registration with the grams the
node reported (a node cannot report itself into printing a material it was not registered
for: :meth:`~configurator.services.farm.agents.AgentsMixin.heartbeat`).

:meth:`CapabilitiesMixin.quote` plans ``quantity`` pieces on that view with the router's
own policy (earliest finish, node speeds and queues included), so a quote's ``ready_by`` is
where an order placed now would be routed.

Units: seconds, grams, mm; instants POSIX seconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from configurator.core.farm.capability import FarmView, missing_reason, plan_pieces, waiting_reason
from configurator.core.farm.models import JobSnapshot, Technology
from configurator.core.farm.router import make_policy
from configurator.errors import NoCapableNodeError
from configurator.services.farm.base import FarmBase


@dataclass(frozen=True)
class PiecesPlan:
    """Where ``quantity`` pieces would go if ordered now (see :meth:`CapabilitiesMixin.quote`).

    ``ready_by``: POSIX s when the last piece should be done (None when no printer that
    can make it takes jobs now: ``waiting_reason`` says why). ``nodes``: the node names, one
    per piece (None: it would wait). ``at``: the instant of the farm state used.
    ``time_scale``: the largest demo time compression among the nodes used (1: real time).
    """

    ready_by: float | None
    nodes: tuple[str | None, ...]
    at: float
    waiting_reason: str | None
    time_scale: float


class CapabilitiesMixin(FarmBase):
    """The capability view and quotes (part of :class:`FarmService`)."""

    def capabilities(self, *, max_age_s: float | None = None) -> FarmView:
        """The registered nodes and their loads, at most ``max_age_s`` old (default:
        ``Settings.capabilities_ttl_s``; 0 = read the store now)."""
        ttl = self.settings.capabilities_ttl_s if max_age_s is None else max_age_s
        cached = self._view
        if cached is not None and time.monotonic() - cached[0] <= ttl:
            return cached[1]
        with self._view_lock:
            cached = self._view
            if cached is not None and time.monotonic() - cached[0] <= ttl:
                return cached[1]
            built = time.monotonic()
            with self.store.transaction() as s:
                view = self._farm_view(s, self.clock())
            self._view = (built, view)
            return view

    def quote(
        self,
        *,
        material: str,
        technology: Technology | str,
        bbox: tuple[float, float, float],
        est_seconds: float,
        grams: float,
        quantity: int,
        max_age_s: float | None = None,
    ) -> PiecesPlan:
        """Plan ``quantity`` pieces (``est_seconds`` on a speed-1 node and ``grams`` each)
        on the current farm state, as :meth:`submit_jobs` would route them now.

        Raises :class:`NoCapableNodeError` (409) when no registered node can ever make it."""
        view = self.capabilities(max_age_s=max_age_s)
        job = _piece(material, technology, bbox, est_seconds, grams)
        state = view.state()
        reason = missing_reason(state, job)
        if reason is not None:
            raise NoCapableNodeError(f"the farm cannot make this: {reason}")
        policy = make_policy(self.policy_name, seed=self.seed)
        plan = plan_pieces(state, job, quantity, policy, now=view.at)
        by_id = {n.id: n for n in view.nodes}
        names = tuple(
            (by_id[a.node_id].name or a.node_id) if a.node_id is not None else None for a in plan
        )
        if any(a.node_id is None for a in plan):  # the pieces already planned stay counted
            return PiecesPlan(None, names, view.at, waiting_reason(state, job), 1.0)
        scale = max(by_id[a.node_id].time_scale for a in plan if a.node_id is not None)
        ready = max(float(a.finish_at) for a in plan if a.finish_at is not None)
        return PiecesPlan(ready, names, view.at, None, scale)


def _piece(
    material: str,
    technology: Technology | str,
    bbox: tuple[float, float, float],
    est_seconds: float,
    grams: float,
) -> JobSnapshot:
    return JobSnapshot(
        id="quote",
        technology=Technology(technology),
        material=material,
        bbox=tuple(float(v) for v in bbox),  # type: ignore[arg-type]
        est_seconds=float(est_seconds),
        grams=float(grams),
        seq=2**62,  # after every job already submitted
    )
