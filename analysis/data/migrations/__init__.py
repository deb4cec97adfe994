"""Alembic migrations of the store's schema, run from code (store.upgrade); no alembic.ini."""
