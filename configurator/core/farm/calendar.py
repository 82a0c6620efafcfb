"""The farm calendar: when operators are on site (pure core: numpy and the stdlib's zoneinfo).

A non-auto-clear printer needs an operator to take a finished build off its plate; a print
can *start* unattended (the plate was cleared before), but the next one waits for the
operator. This module answers, vectorized over arrays of instants (POSIX s):

* :meth:`Calendar.next_staffed` — the first staffed instant at or after ``t``;
* :meth:`Calendar.add_staffed` — when ``d`` seconds of staffed time starting at ``t`` have
  passed (an operator's plate change of ``d`` s that cannot run through the night);
* :meth:`Calendar.clear_done` — when a plate whose build ended at ``t`` is clear again:
  ``t + setup`` on an auto-clear node (belt printer, auto-eject), ``add_staffed(t, setup)``
  (``next_staffed(t)`` for a zero setup) on the others.

Spec grammar (one line; ``;`` separates segments; days and times in the farm's time zone)::

    always
    Mon-Fri 07:00-23:00
    Mon-Fri 06:00-22:00; Sat 08:00-14:00
    daily 22:00-06:00          (overnight: 22:00 to 06:00 the next day)

Days: ``Mon Tue Wed Thu Fri Sat Sun``, a range ``Mon-Fri`` (may wrap, ``Sat-Mon``), a list
``Mon,Wed,Fri``, or ``daily``. Times ``HH:MM`` with ``24:00`` allowed as an end. Staffed
windows are turned into UTC instants day by day with :mod:`zoneinfo` (daylight saving
included) and kept as sorted arrays extended on demand, so each query is a
``numpy.searchsorted``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from configurator.errors import RequirementsError

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
ALWAYS = "always"
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_DAY_S = 86400.0


def _problem(field: str, message: str) -> RequirementsError:
    return RequirementsError({field: message})


def _parse_days(text: str, field: str) -> set[int]:
    low = {d.lower(): i for i, d in enumerate(DAYS)}
    if text.lower() in ("daily", "mon-sun"):
        return set(range(7))
    out: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if "-" in part:
            a, _, b = part.partition("-")
            if a.lower() not in low or b.lower() not in low:
                raise _problem(field, f"unknown day range {part!r} (days: {' '.join(DAYS)})")
            i, j = low[a.lower()], low[b.lower()]
            k = i
            out.add(k)
            while k != j:
                k = (k + 1) % 7
                out.add(k)
        elif part.lower() in low:
            out.add(low[part.lower()])
        else:
            raise _problem(field, f"unknown day {part!r} (days: {' '.join(DAYS)} or daily)")
    return out


def _parse_minute(text: str, field: str, *, end: bool) -> int:
    m = _TIME.match(text.strip())
    if not m:
        raise _problem(field, f"time {text!r} is not HH:MM")
    h, mi = int(m.group(1)), int(m.group(2))
    if mi > 59 or h > 24 or (h == 24 and (mi or not end)):
        raise _problem(field, f"time {text!r} is out of range (00:00 to 24:00)")
    return h * 60 + mi


def parse_windows(spec: str, *, field: str = "calendar") -> tuple[tuple[int, int, int], ...]:
    """``spec`` -> weekly windows ``(weekday 0=Mon, start minute, end minute)`` with
    ``start < end <= 1440`` (overnight segments are split at midnight). ``()`` means
    :data:`ALWAYS`. Raises :class:`RequirementsError` naming ``field`` on bad input."""
    text = (spec or "").strip()
    if not text:
        raise _problem(field, "empty calendar (use 'always' for a farm staffed around the clock)")
    if len(text) > 500:
        raise _problem(field, "calendar spec longer than 500 characters")
    if text.lower() == ALWAYS:
        return ()
    windows: set[tuple[int, int, int]] = set()
    for segment in text.split(";"):
        words = segment.split()
        if len(words) != 2 or "-" not in words[1]:
            raise _problem(
                field,
                f"segment {segment.strip()!r} is not 'DAYS HH:MM-HH:MM' (e.g. 'Mon-Fri 07:00-23:00')",
            )
        days = _parse_days(words[0], field)
        a, _, b = words[1].partition("-")
        start = _parse_minute(a, field, end=False)
        stop = _parse_minute(b, field, end=True)
        if start == stop:
            raise _problem(field, f"window {words[1]!r} is empty")
        for d in days:
            if start < stop:
                windows.add((d, start, stop))
            else:  # overnight: to midnight, then from midnight on the next day
                windows.add((d, start, 1440))
                if stop:
                    windows.add(((d + 1) % 7, 0, stop))
    return tuple(sorted(windows))


class Calendar:
    """Staffed hours of the farm in time zone ``tz`` (see module docstring).

    ``Calendar("always")`` is staffed around the clock: every query is the identity (an
    operator clears a plate the moment its setup is done), which is the farm without a
    calendar.
    """

    def __init__(self, spec: str = ALWAYS, tz: str = "UTC"):
        self.windows = parse_windows(spec)
        self.spec = spec.strip()
        try:
            self.zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise _problem(
                "timezone", f"unknown time zone {tz!r} (e.g. UTC, Europe/Berlin)"
            ) from None
        self.tz = tz
        self.always = not self.windows
        self._lo = self._hi = 0.0  # covered range [lo, hi) of the arrays below
        self._start = np.zeros(0)
        self._end = np.zeros(0)
        self._cum = np.zeros(0)  # staffed seconds before each window (from _lo)

    def __repr__(self) -> str:
        return f"Calendar({self.spec!r}, {self.tz!r})"

    # -- the window table ---------------------------------------------------------------
    def _build(self, lo: float, hi: float) -> None:
        """Windows (UTC) of every local day from ``lo - 2 days`` to ``hi + 30 days``."""
        first = datetime.fromtimestamp(lo, UTC).astimezone(self.zone).date() - timedelta(days=2)
        last = datetime.fromtimestamp(hi, UTC).astimezone(self.zone).date() + timedelta(days=30)
        by_day: dict[int, list[tuple[int, int]]] = {}
        for d, a, b in self.windows:
            by_day.setdefault(d, []).append((a, b))
        spans: list[list[float]] = []
        day: date = first
        while day <= last:
            for a, b in by_day.get(day.weekday(), ()):
                s = self._local(day, a)
                e = self._local(day, b)
                if e <= s:
                    continue
                if spans and s <= spans[-1][1]:  # touching windows (e.g. across midnight)
                    spans[-1][1] = max(spans[-1][1], e)
                else:
                    spans.append([s, e])
            day += timedelta(days=1)
        arr = np.array(spans, dtype=float).reshape(-1, 2)
        self._start, self._end = arr[:, 0].copy(), arr[:, 1].copy()
        length = self._end - self._start
        self._cum = np.concatenate([[0.0], np.cumsum(length)[:-1]])
        self._lo = self._local(first, 0)
        self._hi = self._local(last, 1440)

    def _local(self, day: date, minute: int) -> float:
        base = datetime(day.year, day.month, day.day, tzinfo=self.zone)
        if minute >= 1440:
            nxt = day + timedelta(days=1)
            return datetime(nxt.year, nxt.month, nxt.day, tzinfo=self.zone).timestamp()
        return (base + timedelta(minutes=minute)).replace(tzinfo=self.zone).timestamp()

    def _cover(self, t: np.ndarray, extra: float = 0.0) -> None:
        lo, hi = float(t.min()), float(t.max()) + extra
        if not len(self._start) or lo < self._lo + _DAY_S or hi > self._hi - 8 * _DAY_S:
            self._build(min(lo, self._lo) if len(self._start) else lo, max(hi, self._hi))

    # -- queries --------------------------------------------------------------------------
    def staffed(self, t: np.ndarray | float) -> np.ndarray:
        """Bool array: is ``t`` (POSIX s) inside a staffed window?"""
        t = np.asarray(t, dtype=float)
        if self.always:
            return np.ones(t.shape, dtype=bool)
        if t.size == 0:
            return np.zeros(t.shape, dtype=bool)
        self._cover(t)
        k = np.searchsorted(self._start, t, side="right") - 1
        return (k >= 0) & (t < self._end[np.maximum(k, 0)])

    def next_staffed(self, t: np.ndarray | float) -> np.ndarray:
        """The first staffed instant at or after ``t`` (POSIX s, array)."""
        t = np.asarray(t, dtype=float)
        if self.always or t.size == 0:
            return t.copy()
        self._cover(t)
        k = np.searchsorted(self._end, t, side="right")  # first window ending after t
        return np.maximum(t, self._start[k])

    def add_staffed(self, t: np.ndarray | float, d: np.ndarray | float) -> np.ndarray:
        """When ``d`` seconds (>= 0) of staffed time starting at ``t`` have passed."""
        t = np.asarray(t, dtype=float)
        d = np.broadcast_to(np.asarray(d, dtype=float), t.shape)
        if self.always or t.size == 0:
            return t + d
        self._cover(t, extra=float(d.max()) if d.size else 0.0)
        while True:
            k = np.searchsorted(self._start, t, side="right") - 1
            kk = np.maximum(k, 0)
            inside = np.clip(t - self._start[kk], 0.0, self._end[kk] - self._start[kk])
            before = np.where(k >= 0, self._cum[kk] + inside, 0.0)
            target = before + d
            cum_end = self._cum + (self._end - self._start)
            if not len(cum_end) or target.max() <= cum_end[-1]:
                break
            self._build(self._lo, self._hi + 4 * (self._hi - self._lo))  # sparse staffing
        m = np.searchsorted(cum_end, target, side="left")
        done = np.maximum(self._start[m] + (target - self._cum[m]), self.next_staffed(t))
        return np.where(d > 0, done, self.next_staffed(t))

    def clear_done(
        self, end: np.ndarray | float, setup: np.ndarray | float, auto_clear: np.ndarray | bool
    ) -> np.ndarray:
        """When a plate whose build ended at ``end`` is clear: ``end + setup`` where
        ``auto_clear``, else after ``setup`` s of staffed time (an operator's work)."""
        end = np.asarray(end, dtype=float)
        shape = end.shape
        end = end.reshape(-1)
        setup = np.broadcast_to(np.asarray(setup, dtype=float), shape).reshape(-1)
        auto = np.broadcast_to(np.asarray(auto_clear, dtype=bool), shape).reshape(-1)
        out = end + setup
        if not self.always and not auto.all():
            manual = ~auto
            out[manual] = self.add_staffed(end[manual], setup[manual])
        return out.reshape(shape)

    def unstaffed_between(self, t0: float, t1: float) -> list[tuple[float, float]]:
        """The unstaffed stretches ``(start, end)`` (POSIX s) that begin in ``[t0, t1]``."""
        if self.always or t1 < t0:
            return []
        self._cover(np.array([t0, t1], dtype=float))
        ends, starts = self._end[:-1], self._start[1:]
        keep = (ends >= t0) & (ends <= t1)
        return [(float(a), float(b)) for a, b in zip(ends[keep], starts[keep], strict=True)]

    def windows_between(self, t0: float, t1: float) -> int:
        """Number of staffed windows overlapping ``[t0, t1]`` (POSIX s; 0 when always)."""
        if self.always or t1 < t0:
            return 0
        self._cover(np.array([t0, t1], dtype=float))
        first = int(np.searchsorted(self._end, t0, side="right"))
        last = int(np.searchsorted(self._start, t1, side="right"))
        return max(last - first, 0)

    def shift_of(self, t: float) -> int:
        """Index of the staffed window holding (or next after) instant ``t``: operator
        actions are counted per shift with it."""
        if self.always:
            return int(t // _DAY_S)
        t_arr = np.asarray([t], dtype=float)
        self._cover(t_arr)
        k = int(np.searchsorted(self._end, t, side="right"))
        return int(round(self._start[k] / 60.0))
