"""Alembic environment: the app passes its own connection in config.attributes["connection"]."""

from alembic import context

from haoban.store.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite needs batch mode to alter tables
)
with context.begin_transaction():
    context.run_migrations()
