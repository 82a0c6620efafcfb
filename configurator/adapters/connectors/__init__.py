"""Printer connectors: one protocol (:mod:`.base`), one module per kind of printer.

:data:`CONNECTORS` is the registry (``kind`` -> class): ``configurator node run`` picks
the connector by its flags, and a new printer server (Moonraker, say) is one module here
plus one line below. See docs/farm.md, "Add a printer connector".
"""

from __future__ import annotations

from configurator.adapters.connectors.base import (
    ConnectorError,
    JobRef,
    PrinterBusyError,
    PrinterConnector,
    PrinterInfo,
    PrintJob,
    PrintStatus,
)
from configurator.adapters.connectors.octoprint import OctoPrintConnector
from configurator.adapters.connectors.simulated import SimulatedPrinter

#: connector kind -> class (each implements :class:`PrinterConnector`)
CONNECTORS: dict[str, type] = {
    SimulatedPrinter.kind: SimulatedPrinter,
    OctoPrintConnector.kind: OctoPrintConnector,
}

__all__ = [
    "CONNECTORS",
    "ConnectorError",
    "JobRef",
    "OctoPrintConnector",
    "PrintJob",
    "PrintStatus",
    "PrinterBusyError",
    "PrinterConnector",
    "PrinterInfo",
    "SimulatedPrinter",
]
