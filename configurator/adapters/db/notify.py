"""PostgreSQL LISTEN: one connection per server process that hears the runs' notifications
(``pg_notify`` from :mod:`configurator.adapters.db.runs`) and hands each payload to a
callback, in a daemon thread; it reconnects after a lost connection (and then calls
``on_reconnect``, since notifications sent meanwhile are lost)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)


def libpq_url(sqlalchemy_url: str) -> str:
    """A ``postgresql+psycopg://`` SQLAlchemy URL as a plain libpq URL."""
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class Listener:
    """``LISTEN channel`` on its own connection; ``callback(payload)`` per notification.

    ``start()`` / ``stop()``; the thread wakes at least every ``timeout_s`` to notice
    ``stop()``."""

    def __init__(
        self,
        url: str,
        channel: str,
        callback: Callable[[str], None],
        *,
        on_reconnect: Callable[[], None] | None = None,
        timeout_s: float = 1.0,
    ):
        self.url = libpq_url(url)
        self.channel = channel
        self.callback = callback
        self.on_reconnect = on_reconnect
        self.timeout_s = timeout_s
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="runs-listen", daemon=True)

    def start(self, wait_s: float = 10.0) -> None:
        self._thread.start()
        self._ready.wait(wait_s)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(self.timeout_s + 2)

    def _run(self) -> None:
        first = True
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
                    conn.execute(f'LISTEN "{self.channel}"')
                    self._ready.set()
                    if not first and self.on_reconnect is not None:
                        self.on_reconnect()
                    first = False
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=self.timeout_s):
                            self.callback(note.payload)
            except Exception:  # connection lost: retry after a pause
                log.warning("runs listener: connection lost, reconnecting", exc_info=True)
                self._ready.set()
                self._stop.wait(1.0)
