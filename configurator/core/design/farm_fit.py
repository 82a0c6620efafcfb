"""The farm a design run is attached to, as the design space sees it (pure).

:class:`FarmFit` turns a :class:`~configurator.core.farm.capability.FarmProfile` into what
:class:`~configurator.core.design.space.DesignSpace` needs, all by the farm's one capability
rule (:meth:`FarmState.prints <configurator.core.farm.router.FarmState.prints>` and
:func:`~configurator.core.farm.router.fit_margin`, the router's bed fit):

* which of the catalog's materials the farm prints at all (:attr:`FarmFit.available`,
  with the reason for the others);
* the farm's printers as the catalog's ``printer.x/y/z/volume`` table (the largest printer
  of the farm that prints each material; 0 when none), replacing the catalog's own
  ``printers:``;
* the margin of the constraint :data:`FARM_CONSTRAINT`: the design's plate extents (the
  catalog's ``plate:``) fit, at some rotation about z, the bed of a printer of the farm that
  prints its material (mm, >= 0 satisfied).
"""

from __future__ import annotations

import numpy as np

from configurator.core.catalog.model import Catalog
from configurator.core.catalog.program import PRINTER_COLUMNS
from configurator.core.farm.capability import Availability, FarmProfile
from configurator.core.farm.router import fit_margin

#: the constraint a farm-attached run adds (when the catalog declares its ``plate``)
FARM_CONSTRAINT = "fits a printer of the farm"
FARM_MESSAGE = (
    "No printer of our farm that prints this material has room for this design "
    "(at any rotation on its bed); make it smaller or pick another material."
)


class FarmFit:
    """A farm profile applied to one catalog (see the module docstring)."""

    def __init__(self, catalog: Catalog, profile: FarmProfile):
        self.profile = profile
        self.fingerprint = profile.fingerprint
        self.materials = list(catalog.materials)
        self.availability: dict[str, Availability] = {
            m: profile.availability(m, spec.technology) for m, spec in catalog.materials.items()
        }
        self.beds = [
            profile.beds(m, spec.technology) for m, spec in catalog.materials.items()
        ]  # per material index: (k, 3) mm
        table = np.zeros((len(self.beds), len(PRINTER_COLUMNS)))
        for i, beds in enumerate(self.beds):
            if len(beds):
                volume = beds.prod(axis=1)
                j = int(np.lexsort((beds[:, 2], beds[:, 1], beds[:, 0], volume))[-1])
                table[i] = (*beds[j], volume[j])
        #: ``printer.x/y/z/volume`` per material (rows in catalog order)
        self.printer_table = table

    @property
    def available(self) -> list[str]:
        """The catalog's materials the farm prints, in catalog order."""
        return [m for m in self.materials if self.availability[m].available]

    def unavailable_reasons(self) -> list[str]:
        """Why each unavailable material is (customer words), in catalog order."""
        return [a.reason or "" for a in self.availability.values() if not a.available]

    def margin(self, extents: np.ndarray, material: np.ndarray | int) -> np.ndarray:
        """(n,) mm: :func:`fit_margin` of each design's plate ``extents`` (n, 3) against the
        beds of its material (``material``: catalog material index, (n,) or one for all)."""
        n = len(extents)
        idx = np.broadcast_to(np.asarray(material, dtype=np.intp), (n,))
        out = np.empty(n)
        for i in np.unique(idx):
            sel = idx == i
            out[sel] = fit_margin(extents[sel], self.beds[int(i)])
        return out
