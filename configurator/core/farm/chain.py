"""The farm event log as a hash chain (pure: no database here).

Every event stores ``prev_hash`` (the hash of the event before it; :data:`GENESIS` for the
first) and ``hash`` = sha256 of the canonical JSON (sorted keys, no spaces, ASCII) of its
own content *including* ``prev_hash`` and its ``id``. Ids are consecutive (1, 2, 3, ...):
the appender assigns them under the chain lock. A head row keeps the last id, the last
hash and the number of events, so a deleted tail is caught as well.

:func:`verify_chain` walks events in id order and names the first one that is wrong:
``edited`` (its content no longer hashes to its stored hash), ``deleted`` (an id is
missing or its ``prev_hash`` is not its predecessor's hash), ``head`` (the head row does
not match the last event: events were cut off the end or the head was changed).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: ``prev_hash`` of the first event
GENESIS = "0" * 64
#: the fields of an event that its hash covers (``prev_hash`` too)
HASHED_FIELDS = ("id", "at", "job_id", "node_id", "actor", "kind", "reason", "data", "prev_hash")


def canonical(fields: Mapping[str, Any]) -> bytes:
    """Canonical JSON bytes of an event's hashed fields (sorted keys, no spaces)."""
    body = {k: fields.get(k) for k in HASHED_FIELDS}
    body["v"] = 1
    return json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def event_hash(fields: Mapping[str, Any]) -> str:
    """sha256 hex of :func:`canonical` (``fields`` must hold ``id`` and ``prev_hash``)."""
    return hashlib.sha256(canonical(fields)).hexdigest()


def link(events: Iterable[dict[str, Any]], *, last_id: int, last_hash: str) -> list[dict]:
    """Give each event (dicts of the event columns) its ``id``, ``prev_hash`` and ``hash``,
    continuing a chain whose last event is ``last_id`` / ``last_hash``."""
    out = []
    for ev in events:
        last_id += 1
        row = dict(ev, id=last_id, prev_hash=last_hash)
        row["hash"] = last_hash = event_hash(row)
        out.append(row)
    return out


@dataclass(frozen=True)
class ChainReport:
    """What :func:`verify_chain` found: ``ok``, the number of events, the head hash and,
    when broken, the first bad event id, what is wrong with it and a readable line."""

    ok: bool
    events: int
    head_hash: str
    bad_event: int | None = None
    problem: str | None = None  # "edited" | "deleted" | "head"
    message: str = ""


def verify_chain(rows: Iterable[Mapping[str, Any]], head: Mapping[str, Any] | None) -> ChainReport:
    """Check events (``rows`` in id order, each with the hashed fields and ``hash``) and
    the head row (``last_id``, ``last_hash``, ``n``; None when there is none)."""
    prev_id, prev_hash, n = 0, GENESIS, 0
    for row in rows:
        rid = int(row["id"])
        if rid != prev_id + 1 or row.get("prev_hash") != prev_hash:
            gone = f"{prev_id + 1}" if rid == prev_id + 2 else f"{prev_id + 1}..{rid - 1}"
            what = (
                f"event {rid}: its predecessor is missing (event {gone} deleted)"
                if rid != prev_id + 1
                else f"event {rid}: its predecessor hash does not match event {prev_id}"
            )
            return ChainReport(False, n, prev_hash, rid, "deleted", what)
        if event_hash(row) != row.get("hash"):
            return ChainReport(
                False,
                n,
                prev_hash,
                rid,
                "edited",
                f"event {rid}: its hash does not match its content (edited)",
            )
        prev_id, prev_hash, n = rid, row["hash"], n + 1
    if head is None:
        if n:
            return ChainReport(False, n, prev_hash, None, "head", "the chain head row is missing")
        return ChainReport(True, 0, GENESIS, message="intact (0 events)")
    if int(head["last_id"]) != prev_id or head["last_hash"] != prev_hash or int(head["n"]) != n:
        return ChainReport(
            False,
            n,
            prev_hash,
            int(head["last_id"]),
            "head",
            f"the chain head names event {head['last_id']} ({head['n']} events) but the log "
            f"ends at event {prev_id} ({n} events): events after {prev_id} were deleted "
            "or the head was changed",
        )
    return ChainReport(True, n, prev_hash, message=f"intact ({n} events)")


#: what kind of actor an event's ``actor`` names (the production record shows these)
def actor_kind(actor: str) -> str:
    """``node`` (``node:<name>``), ``operator`` or ``system`` (router, orders, sweeps)."""
    if actor.startswith("node:"):
        return "node"
    if actor == "operator" or actor.startswith("operator:"):
        return "operator"
    return "system"
