"""Alembic migrations of the farm tables (version table ``farm_alembic_version``)."""
