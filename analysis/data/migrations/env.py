"""Alembic environment: runs on the connection store.upgrade hands over, inside its write transaction."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
# The caller holds the store's write lock in an open transaction; Alembic joins it instead of committing on its own.
with context.begin_transaction():
    context.run_migrations()
