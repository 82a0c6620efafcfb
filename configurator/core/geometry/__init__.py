"""Geometry: the generator registry, the product families, mesh checks and the plate layout.

Importing this package registers every built-in family (:mod:`.families`), so a registry
lookup always sees them; a new family is one module in ``families/``.
"""

from configurator.core.geometry import families  # noqa: F401  (registers the built-in families)
