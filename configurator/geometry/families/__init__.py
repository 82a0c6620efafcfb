"""Built-in product families. Importing this package registers every generator.

To add a family: write ``configurator/geometry/families/<family>.py`` with one
``@register("<name>", parameters=(...))`` function and list the module in ``FAMILY_MODULES``.
"""

from __future__ import annotations

import importlib

#: modules under this package that register a generator, in registration order.
FAMILY_MODULES = ("enclosure", "bone_plate")

for _module in FAMILY_MODULES:
    importlib.import_module(f"{__name__}.{_module}")
