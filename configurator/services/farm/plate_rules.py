"""Plate state of a node row, as the farm service reads and writes it (no transactions here).

A node's plate is clear from ``plate_clear_at`` (POSIX s) on; None means a finished (or
failed) build is still on it and waits for an operator (``POST /nodes/{id}/plate-cleared``).
An auto-clear node (belt printer, auto-eject) clears itself ``setup_s`` after a build.
"""

from __future__ import annotations

from typing import Any

from configurator.core.farm.calendar import Calendar
from configurator.settings import Settings


def node_setup(settings: Settings, node: Any) -> float:
    """The node's plate change, s: its own ``setup_s``, else its technology's default."""
    own = getattr(node, "setup_s", None)
    return float(own) if own is not None else settings.setup_for(node.technology)


def plate_clear(node: Any, now: float) -> bool:
    """May the node start a build now?"""
    return node.plate_clear_at is not None and node.plate_clear_at <= now


def after_build(settings: Settings, node: Any, now: float) -> float | None:
    """``plate_clear_at`` after a build ended at ``now``: ``now + setup`` on an auto-clear
    node, None (an operator must clear it) otherwise."""
    return now + node_setup(settings, node) if node.auto_clear else None


def plate_wait(settings: Settings, calendar: Calendar, node: Any, now: float) -> float:
    """Seconds until the node's plate is clear, as the router estimates it: the time left
    of an auto-clear, else the next staffed moment plus the setup (the operator's work)."""
    if node.plate_clear_at is not None:
        return max(node.plate_clear_at - now, 0.0)
    setup = node_setup(settings, node)
    if node.auto_clear:
        return setup
    return float(calendar.add_staffed(now, setup)) - now
