"""geometry/families."""
