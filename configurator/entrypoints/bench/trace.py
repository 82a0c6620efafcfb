"""Trace benchmark.

``trace``: farm event appends per second with the hash chain (lock the chain head, link,
insert, move the head — what every farm transaction does) ÷ the same appends without it
(plain inserts), on the same kind of store (SQLite in a temporary directory, WAL, the
farm's engine settings), one event per transaction — the worst case: the chain's cost is
per transaction, a transaction logging several events pays it once. Target ratio ≥ 0.7.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from configurator.entrypoints.bench import Row, benchmark


def _rate(chained: bool, n: int, folder: Path) -> float:
    """Events per second appended through ``Store.transaction`` (the ORM path)."""
    from configurator.adapters.db.store import Store

    store = Store(f"sqlite:///{folder / ('chained' if chained else 'plain')}.db", chained=chained)
    store.migrate()
    try:
        for i in range(50):  # warm up: connections, statement caches
            with store.transaction() as s:
                store.log_event(s, at=float(i), actor="system", kind="bench", reason="warm-up",
                                job_id=None, node_id=None, data=None)  # fmt: skip
        best = 0.0
        for _ in range(3):
            t0 = time.perf_counter()
            for i in range(n):
                with store.transaction() as s:
                    store.log_event(
                        s, at=float(i), actor="node:bench", kind="completed", reason="60 s, 9.0 g",
                        job_id=i, node_id="nbench", data={"actual_seconds": 60.0, "grams_used": 9.0},
                    )  # fmt: skip
            best = max(best, n / (time.perf_counter() - t0))
        if chained:
            assert store.verify_chain().ok
        return best
    finally:
        store.dispose()


@benchmark("trace")
def bench_trace(quick: bool = False) -> list[Row]:
    n = 300 if quick else 2000
    with tempfile.TemporaryDirectory(prefix="cfg-bench-trace-") as tmp:
        plain = _rate(False, n, Path(tmp))
        chained = _rate(True, n, Path(tmp))
    ratio = chained / plain if plain else None
    return [
        Row(
            area="trace",
            metric="event appends/s, hash chain ÷ plain inserts (SQLite, 1 event per transaction)",
            ours=round(chained, 1),
            peer_name="same store, no chain",
            peer=round(plain, 1),
            ratio=None if ratio is None else round(ratio, 3),
            target=">= 0.7",
            ok=None if ratio is None else ratio >= 0.7,
            unit="events/s",
            note=f"{n} transactions, best of 3",
        )
    ]
