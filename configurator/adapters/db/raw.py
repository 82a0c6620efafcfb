"""Plain-SQL transactions on the pooled DBAPI connection (the agent hot paths).

:class:`RawTransaction` runs ``:name``-parameter SQL on a DBAPI cursor (rewritten to
``%(name)s`` for psycopg, once per statement text) and returns rows with attribute access,
JSON columns decoded — what SQLAlchemy's per-statement cost would otherwise dominate.
"""

from __future__ import annotations

import json
import re
from types import SimpleNamespace
from typing import Any

_PARAM = re.compile(r"(?<!:):(\w+)")
JSON_COLUMNS = frozenset({"materials", "data", "material_lots", "printer", "record"})


class RawRow(SimpleNamespace):
    """A result row with attribute access (JSON columns decoded, like an ORM row)."""


class _RawResult:
    def __init__(self, cur: Any):
        self._cur = cur

    def first(self) -> RawRow | None:
        if self._cur.description is None:
            return None
        row = self._cur.fetchone()
        if row is None:
            return None
        out = {}
        for d, v in zip(self._cur.description, row, strict=True):
            if d[0] in JSON_COLUMNS and isinstance(v, str):
                v = json.loads(v)
            out[d[0]] = v
        return RawRow(**out)


class RawTransaction:
    """``execute(sql, params)`` on a DBAPI cursor. ``sql`` uses ``:name`` parameters,
    rewritten to ``%(name)s`` for psycopg once per statement text; dict/list parameters
    are sent as JSON text."""

    _pg_sql: dict[str, str] = {}

    def __init__(self, cur: Any, *, postgres: bool):
        self._cur = cur
        self._pg = postgres
        #: events logged in this transaction, appended to the chain before commit
        self.events: list[dict[str, Any]] = []

    def fetchall(self) -> list[dict[str, Any]]:
        """The remaining rows of the last statement as dicts (JSON columns left as read)."""
        names = [d[0] for d in self._cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in self._cur.fetchall()]

    def execute(self, sql: str, params: dict[str, Any]) -> _RawResult:
        if self._pg:
            conv = self._pg_sql.get(sql)
            if conv is None:
                conv = self._pg_sql[sql] = _PARAM.sub(r"%(\1)s", sql)
            sql = conv
        params = {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in params.items()}
        self._cur.execute(sql, params)
        return _RawResult(self._cur)
