"""The database: engine, tables, queries (every SQL string) and Alembic migrations."""
