"""Pure core: domain models and rules (numpy, pydantic, trimesh, manifold3d only; no files, DB, HTTP or subprocess)."""
