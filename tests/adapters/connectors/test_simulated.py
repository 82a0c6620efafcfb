"""The simulated printer behind the PrinterConnector protocol (injected clock: exact)."""

from __future__ import annotations

import pytest

from configurator.adapters.connectors import (
    CONNECTORS,
    PrinterBusyError,
    PrinterConnector,
    PrintJob,
    SimulatedPrinter,
)
from configurator.errors import SettingsError


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def job(job_id: int = 1, attempt: int = 1, est: float = 100.0) -> PrintJob:
    return PrintJob(job_id, attempt, "PLA", "FDM", est, 10.0, "p.stl", b"x", node_speed=2.0)


def test_registered_and_implements_the_protocol():
    assert CONNECTORS["simulated"] is SimulatedPrinter
    assert isinstance(SimulatedPrinter(), PrinterConnector)


def test_a_print_runs_to_done_at_the_node_speed_and_playback_speed():
    clock = Clock()
    p = SimulatedPrinter(speed=10.0, noise_sigma=0.0, clock=clock)
    assert p.printer().state == "idle"
    p.start(job())
    assert p.printer().state == "printing"
    clock.t += 2.5  # 25 print-seconds of 50 (100 s / node speed 2)
    s = p.poll()
    assert s.phase == "printing" and s.percent == pytest.approx(50.0)
    assert s.seconds_left == pytest.approx(2.5)
    assert p.wall_seconds_left() == pytest.approx(2.5)
    clock.t += 2.5
    s = p.poll()
    assert s.phase == "done" and s.actual_seconds == pytest.approx(50.0)
    assert s.grams_used == pytest.approx(10.0)
    assert p.printer().state == "idle"


def test_pause_stops_the_clock_and_resume_continues():
    clock = Clock()
    p = SimulatedPrinter(speed=1.0, noise_sigma=0.0, clock=clock)
    p.start(job(est=20.0))
    clock.t += 4
    p.pause()
    assert p.printer().state == "paused" and p.poll().phase == "paused"
    clock.t += 100
    assert p.poll().percent == pytest.approx(40.0)
    p.resume()
    clock.t += 6
    assert p.poll().phase == "done"


def test_failures_are_seeded_and_carry_a_reason():
    clock = Clock()
    p = SimulatedPrinter(speed=1.0, fail_rate=1.0, seed=3, clock=clock)
    p.start(job())
    clock.t += 1e6
    s = p.poll()
    assert s.phase == "failed" and s.reason.startswith("simulated failure at ")
    again = SimulatedPrinter(speed=1.0, fail_rate=1.0, seed=3, clock=clock)
    again.start(job())
    clock.t += 1e6
    assert again.poll().reason == s.reason


def test_busy_printer_refuses_a_second_job_and_cancel_frees_it():
    p = SimulatedPrinter(clock=Clock())
    p.start(job(1))
    with pytest.raises(PrinterBusyError):
        p.start(job(2))
    p.cancel()
    assert p.poll().phase == "idle"
    p.start(job(2))


def test_re_attaches_only_to_the_same_attempt():
    p = SimulatedPrinter(clock=Clock())
    p.start(job(7, attempt=1))
    assert p.resume_job(job(7, attempt=1))
    assert not p.resume_job(job(7, attempt=2))
    assert not p.resume_job(job(8, attempt=1))


@pytest.mark.parametrize("kw", [{"speed": 0}, {"speed": float("nan")}, {"fail_rate": 1.5}])
def test_bad_settings_are_one_clear_error(kw):
    with pytest.raises(SettingsError):
        SimulatedPrinter(**kw)
