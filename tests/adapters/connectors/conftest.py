"""Connector fixtures: real OctoPrint instances (see tests/support/octoprint.py)."""

from tests.support.octoprint import octoprint, octoprint_pool, two_octoprints  # noqa: F401
