"""Adapter: the SQL database (SQLite by default, PostgreSQL in production)."""
