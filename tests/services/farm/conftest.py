"""Farm fixtures: real OctoPrint instances for the real-printer tests (see
tests/support/octoprint.py; started only by the tests that ask for them)."""

from tests.support.octoprint import octoprint_pool, two_octoprints  # noqa: F401
