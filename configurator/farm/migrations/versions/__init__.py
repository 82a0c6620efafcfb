"""Farm migration scripts."""
