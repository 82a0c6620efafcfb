"""configurator: generative product customization engine.

Catalog YAML -> design space -> pymoo optimization -> manifold meshes (STL/3MF)
-> print jobs routed to the least-loaded capable node of a print farm.
See ARCHITECTURE.md (shared) and README.md.
"""

__version__ = "0.1.0"
