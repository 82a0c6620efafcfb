"""The physical farm model of a simulation: plate changes, staffed hours, batching, quotes.

:class:`FarmModel` is what a simulated farm does between two builds (pure, seeded by
nothing: it is deterministic):

* ``setup_s`` — plate change after every build, per technology (s), times ``setup_scale``;
* ``calendar`` — staffed hours (:class:`configurator.core.farm.calendar.Calendar`); the
  simulated clock's t = 0 is ``start_date`` 00:00 in the calendar's time zone (a Monday);
* ``auto_clear_models`` — printer models that clear their own plate (belt printers): they
  never wait for an operator;
* ``plates`` — batching rules (:class:`configurator.core.farm.plates.PlateRules`);
* ``quote_margin`` — the ready-by time quoted at submission is the router's estimated
  finish plus this fraction of the time until then (the estimator's error and later
  higher-priority work eat into it).

:meth:`FarmModel.off` (no setup, always staffed, no batching) is the model every figure
before plate changes was measured with; it reproduces them exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from configurator.core.farm.calendar import ALWAYS, Calendar
from configurator.core.farm.plates import PlateRules
from configurator.errors import FarmError

#: default plate change per technology, s (docs/simulate.md "Setup and staffing" gives
#: the sources): FDM part removal + sheet swap, SLA platform swap + resin check, SLS
#: build-unit swap, SLM plate removal, depowdering and inert-gas purge
DEFAULT_SETUP_S: dict[str, float] = {"FDM": 300.0, "SLA": 900.0, "SLS": 1800.0, "SLM": 14400.0}
#: default staffed hours of the farm
DEFAULT_CALENDAR = "Mon-Fri 07:00-23:00"


@dataclass(frozen=True)
class FarmModel:
    """See the module docstring. Times in s; ``start_date`` ISO date of t = 0."""

    setup_s: Mapping[str, float] = field(default_factory=dict)
    setup_scale: float = 1.0
    calendar: str = ALWAYS
    timezone: str = "UTC"
    start_date: str = "2027-01-04"
    auto_clear_models: tuple[str, ...] = ()
    plates: PlateRules = field(default_factory=lambda: PlateRules(batching=False))
    quote_margin: float = 0.0

    def __post_init__(self) -> None:
        if not (0.0 <= self.setup_scale <= 100.0):
            raise FarmError(f"setup scale must be in [0, 100], got {self.setup_scale}")
        for tech, s in self.setup_s.items():
            if not (0.0 <= float(s) <= 7 * 86400):
                raise FarmError(f"setup of {tech} must be in [0, 604800] s, got {s}")
        if not (0.0 <= self.quote_margin <= 10.0):
            raise FarmError(f"quote margin must be in [0, 10], got {self.quote_margin}")

    @classmethod
    def off(cls) -> FarmModel:
        """No plate changes, staffed around the clock, no batching."""
        return cls()

    @classmethod
    def standard(
        cls,
        *,
        setup_s: Mapping[str, float] | None = None,
        setup_scale: float = 1.0,
        calendar: str = DEFAULT_CALENDAR,
        timezone: str = "UTC",
        batching: bool = True,
        batch_wait_s: float = 900.0,
        batch_plate_s: float = 3600.0,
        quote_margin: float = 0.0,
    ) -> FarmModel:
        """The settings' model (``Settings.setup_s``, ``farm_calendar``, batching)."""
        return cls(
            setup_s=dict(DEFAULT_SETUP_S if setup_s is None else setup_s),
            setup_scale=setup_scale,
            calendar=calendar,
            timezone=timezone,
            plates=PlateRules(batching=batching, wait_s=batch_wait_s, plate_s=batch_plate_s),
            quote_margin=quote_margin,
        )

    def setup_for(self, technology: str) -> float:
        """Plate change of a node of ``technology``, s (0 when not given)."""
        return float(self.setup_s.get(technology, 0.0)) * self.setup_scale

    def make_calendar(self) -> Calendar:
        return Calendar(self.calendar, self.timezone)

    def epoch(self) -> float:
        """POSIX s of simulated t = 0: ``start_date`` 00:00 in the calendar's time zone."""
        try:
            day = date.fromisoformat(self.start_date)
        except ValueError:
            raise FarmError(f"start date {self.start_date!r} is not YYYY-MM-DD") from None
        return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(self.timezone)).timestamp()

    @property
    def is_off(self) -> bool:
        return (
            not any(self.setup_for(t) > 0 for t in self.setup_s)
            and Calendar(self.calendar, self.timezone).always
            and not self.plates.batching
        )
