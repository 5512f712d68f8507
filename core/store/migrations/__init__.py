"""Alembic's environment and revisions for the store (run through :mod:`core.store.migrate`)."""
