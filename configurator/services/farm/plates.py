"""Operators' plate actions: a finished build was taken off a node's plate."""

from __future__ import annotations

from configurator.adapters.db.tables import NodeRow
from configurator.core.farm.models import ACCEPTING_STATES
from configurator.services.farm.base import FarmBase


class PlatesMixin(FarmBase):
    """Plate operations (part of :class:`FarmService`)."""

    def plate_cleared(self, node_id: str) -> NodeRow:
        """The operator cleared the node's plate: it may claim its next build. Recorded as
        event ``plate-cleared`` (actor ``operator``); repeating it changes nothing else."""
        now = self.clock()
        with self._tx(routing=True) as s:
            node = self._node(s, node_id)
            was = node.plate_clear_at
            node.plate_clear_at = now if was is None or was > now else was
            node.updated_at = now
            self._event(
                s,
                now,
                "plate-cleared",
                "operator cleared the plate" if was is None or was > now else "plate was clear",
                actor="operator",
                node_id=node.id,
            )
            if node.state in ACCEPTING_STATES:
                self._rebalance(s, now, [node.id], actor="router")
        return node
