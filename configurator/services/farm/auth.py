"""Keys of the farm: the operator's admin key and the node keys (stored hashed).

Keys are 256-bit random tokens (``cfa_...`` operator, ``cfn_...`` node), so a plain
sha256 is enough to store them; comparisons are constant-time. Node keys are cached in
memory after their first database lookup (hash -> node id).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path

from configurator.adapters import storage
from configurator.errors import AuthError, ForbiddenError
from configurator.settings import Settings

ADMIN_KEY_FILE = "admin.key"


def hash_key(key: str) -> str:
    """sha256 hex of a key (keys are 256-bit random tokens, so a plain hash suffices)."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_key(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def load_or_create_admin_key(settings: Settings) -> tuple[str, bool]:
    """The operator key: ``settings.admin_key``, else ``data_dir/admin.key``, else a new
    one written there (mode 0600). Returns (key, generated_now)."""
    if settings.admin_key:
        return settings.admin_key, False
    path = Path(settings.data_dir) / ADMIN_KEY_FILE
    if path.exists():
        key = storage.read_bytes(path).decode().strip()
        if key:
            return key, False
    key = new_key("cfa")
    storage.write_bytes_atomic(path, (key + "\n").encode(), mode=0o600)
    return key, True


class KeysMixin:
    """Operator and node authentication (part of :class:`FarmService`)."""

    def check_admin(self, key: str | None) -> None:
        """Raise :class:`AuthError` (401) unless ``key`` is the operator key; a valid node
        key gets :class:`ForbiddenError` (403)."""
        if not key:
            raise AuthError("missing key")
        if self._admin_hash and hmac.compare_digest(hash_key(key), self._admin_hash):
            return
        with self.store.transaction() as s:
            if self.store.node_by_key_hash(s, hash_key(key)) is not None:
                raise ForbiddenError("node keys cannot use operator endpoints")
        raise AuthError("invalid key")

    def node_id_for_key(self, key: str) -> str | None:
        """The active node owning ``key`` or None (no error)."""
        with self.store.transaction() as s:
            node = self.store.node_by_key_hash(s, hash_key(key))
            return node.id if node is not None else None

    def authenticate_node(self, key: str | None) -> str:
        """The node id owning ``key``; 401 for unknown keys, 403 for the operator key.

        Known keys are cached in memory (hash -> node id); every node operation re-checks
        in its own transaction that the node still exists (a removed node gets 401).
        """
        if not key:
            raise AuthError("missing key")
        h = hash_key(key)
        cached = self._node_keys.get(h)
        if cached is not None:
            return cached
        with self.store.transaction() as s:
            node = self.store.node_by_key_hash(s, h)
            if node is not None:
                if len(self._node_keys) > 100_000:
                    self._node_keys.clear()
                self._node_keys[h] = node.id
                return node.id
        if self._admin_hash and hmac.compare_digest(hash_key(key), self._admin_hash):
            raise ForbiddenError("the operator key cannot act as a node")
        raise AuthError("invalid key")
