"""The farm service: the print farm's use cases, composed from one module per subject.

:class:`FarmService` is what the farm API (operators and node agents), the order service
and ``configurator serve --demo-nodes`` call: keys (:mod:`.auth`), nodes (:mod:`.nodes`),
jobs (:mod:`.jobs`), agent operations (:mod:`.agents`), sweep and status
(:mod:`.monitor`), the capability view and quotes (:mod:`.capabilities`), over the shared transaction/routing helpers of :mod:`.base`. Every
public method is one database transaction. Orders create jobs with
:meth:`~.jobs.JobsMixin.submit_jobs` (passing ``order_token``) and read them back with
:meth:`~.jobs.JobsMixin.job_status`.

Units: seconds, grams, mm; instants are POSIX seconds (``clock()``).
"""

from __future__ import annotations

from configurator.services.farm.agents import AgentsMixin
from configurator.services.farm.auth import KeysMixin
from configurator.services.farm.base import JobPlace
from configurator.services.farm.capabilities import CapabilitiesMixin, PiecesPlan
from configurator.services.farm.jobs import JobsMixin
from configurator.services.farm.monitor import MonitorMixin
from configurator.services.farm.nodes import NodesMixin
from configurator.services.farm.plates import PlatesMixin

__all__ = ["FarmService", "JobPlace", "PiecesPlan"]


class FarmService(
    KeysMixin, NodesMixin, JobsMixin, AgentsMixin, MonitorMixin, CapabilitiesMixin, PlatesMixin
):
    """The print farm's use cases. Thread-safe (each call opens its own transaction).

    ``FarmService(store, settings, *, admin_key=None, clock=time.time,
    policy="least-loaded", seed=0)``.
    """
