"""Built-in product families. Importing this package registers every generator.

Every module in this package whose name does not start with ``_`` is imported (sorted by
name), so adding a family is: drop ``configurator/geometry/families/<family>.py`` with one
``@register("<name>", parameters=(...))`` function next to these. Nothing else to edit.
"""

from __future__ import annotations

import importlib
import pkgutil

#: modules imported (and so registered), discovered at import time
FAMILY_MODULES = tuple(
    sorted(info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_"))
)

for _module in FAMILY_MODULES:
    importlib.import_module(f"{__name__}.{_module}")
