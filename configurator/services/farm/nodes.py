"""Operators' node operations: register, change, drain, remove, read."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from configurator.adapters.db.snapshots import job_snapshot
from configurator.adapters.db.tables import NodeRow
from configurator.core.farm import recovery
from configurator.core.farm.models import NodeState, Technology
from configurator.errors import ConflictError, RequirementsError
from configurator.services.farm.auth import hash_key, new_key
from configurator.services.farm.base import FarmBase


class NodesMixin(FarmBase):
    """Node operations (part of :class:`FarmService`)."""

    def register_node(
        self,
        *,
        name: str,
        technology: Technology | str,
        build_volume: tuple[float, float, float],
        materials: Mapping[str, float],
        speed: float = 1.0,
        time_scale: float = 1.0,
        auto_clear: bool = False,
        setup_s: float | None = None,
        material_lots: Mapping[str, str] | None = None,
    ) -> tuple[NodeRow, str]:
        """Add a node; returns (node, node key). The key is shown once: only its hash is kept.

        ``materials``: the materials the node may print (grams loaded); the node's own
        reports can change the grams, never the list. ``time_scale``: a simulated printer
        playing its prints that many times faster than real time (1 for a real printer).
        ``auto_clear``: it clears its own plate after ``setup_s`` (default: the technology's
        setting); otherwise an operator clears it after every build (plate-cleared).
        ``material_lots``: material -> the spool/lot id loaded (optional; jobs claimed on
        the node record the lot of their material)."""
        key = new_key("cfn")
        now = self.clock()
        with self._tx(routing=True) as s:
            clash = self.store.node_by_name(s, name)
            if clash is not None:
                raise ConflictError(f"a node named {name!r} already exists ({clash.id})")
            node = NodeRow(
                id="n" + uuid.uuid4().hex[:12],
                name=name,
                technology=Technology(technology).value,
                bv_x=build_volume[0],
                bv_y=build_volume[1],
                bv_z=build_volume[2],
                speed=speed,
                time_scale=float(time_scale),
                materials={k: float(v) for k, v in materials.items()},
                state=NodeState.IDLE,
                key_hash=hash_key(key),
                auto_clear=bool(auto_clear),
                setup_s=setup_s,
                plate_clear_at=now,
                material_lots=_lots(material_lots),
                last_heartbeat=now,
                created_at=now,
                updated_at=now,
            )
            s.add(node)
            self._event(
                s,
                now,
                "node-registered",
                f"{technology} {build_volume} mm",
                actor="operator",
                node_id=node.id,
                data={"material_lots": node.material_lots} if node.material_lots else None,
            )
            s.flush()
            self._reconcile_node(s, node, now, actor="operator", reason="node joined")
        self._invalidate_view()
        return node, key

    def update_node(
        self,
        node_id: str,
        *,
        name: str | None = None,
        build_volume: tuple[float, float, float] | None = None,
        materials: Mapping[str, float] | None = None,
        speed: float | None = None,
        state: NodeState | str | None = None,
        time_scale: float | None = None,
        auto_clear: bool | None = None,
        setup_s: float | None = None,
        material_lots: Mapping[str, str] | None = None,
    ) -> NodeRow:
        """Change a node; ``state`` may be idle (back in service), maintenance or draining;
        ``materials`` replaces the registration (materials and grams); ``material_lots``
        replaces the lots loaded (material -> spool/lot id; ``{}`` clears them)."""
        now = self.clock()
        with self._tx(routing=True) as s:
            node = self._node(s, node_id)
            if name is not None:
                node.name = name
            if build_volume is not None:
                node.bv_x, node.bv_y, node.bv_z = build_volume
            if materials is not None:
                node.materials = {k: float(v) for k, v in materials.items()}
            if speed is not None:
                node.speed = speed
            if time_scale is not None:
                node.time_scale = float(time_scale)
            if auto_clear is not None:
                node.auto_clear = bool(auto_clear)
            if setup_s is not None:
                node.setup_s = setup_s
            if material_lots is not None:
                node.material_lots = _lots(material_lots)
            if state is not None:
                state = NodeState(state)
                if state not in (NodeState.IDLE, NodeState.MAINTENANCE, NodeState.DRAINING):
                    raise RequirementsError(
                        {"state": "operators may set idle, maintenance or draining"}
                    )
                if state == NodeState.IDLE and self._printing_job(s, node.id) is not None:
                    state = NodeState.PRINTING
                node.state = state
            node.updated_at = now
            self._event(
                s,
                now,
                "node-updated",
                "operator update",
                actor="operator",
                node_id=node.id,
                data=None if material_lots is None else {"material_lots": node.material_lots},
            )
            self._reconcile_node(s, node, now, actor="operator", reason=f"node {node.state}")
        self._invalidate_view()
        return node

    def drain_node(self, node_id: str) -> NodeRow:
        """The node finishes its current job; its queue moves elsewhere."""
        return self.update_node(node_id, state=NodeState.DRAINING)

    def remove_node(self, node_id: str) -> None:
        """Remove a node; all its open jobs (printing too, no attempt counted) are rerouted."""
        now = self.clock()
        with self._tx(routing=True) as s:
            node = self._node(s, node_id)
            node.state, node.updated_at = NodeState.REMOVED, now
            self._node_keys = {h: n for h, n in self._node_keys.items() if n != node_id}
            jobs = self.store.open_jobs(s, node_id=node.id, lock=True)
            fates = recovery.node_removed(node.id, [job_snapshot(j) for j in jobs])
            self._event(
                s,
                now,
                "node-removed",
                "operator removed the node",
                actor="operator",
                node_id=node.id,
            )
            self._apply_fates(s, fates, {str(j.id): j for j in jobs}, now, actor="operator")
        self._invalidate_view()

    def list_nodes(self) -> list[NodeRow]:
        with self.store.transaction() as s:
            return self.store.active_nodes(s)

    def get_node(self, node_id: str) -> NodeRow:
        with self.store.transaction() as s:
            return self._node(s, node_id, lock=False)


def _lots(lots: Mapping[str, str] | None) -> dict[str, str] | None:
    """The lots to keep: material -> lot id (blank ids dropped; None when none is left)."""
    kept = {str(m): str(v).strip() for m, v in (lots or {}).items() if str(v).strip()}
    return kept or None
