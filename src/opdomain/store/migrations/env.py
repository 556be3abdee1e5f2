"""Alembic environment: runs against the Store handed over in ``config.attributes``."""

from alembic import context

store = context.config.attributes["store"]

with store.engine.connect() as connection:
    context.configure(connection=connection, render_as_batch=store.is_sqlite)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
