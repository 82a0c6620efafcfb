"""Adapters: every piece of I/O (files, database, HTTP, subprocesses, plots)."""
