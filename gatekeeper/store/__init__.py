"""Persistence (sqlmodel): SQLite by default, PostgreSQL for production."""
