"""Traceability: design provenance, production records, exact reprints (docs/trace.md)."""
