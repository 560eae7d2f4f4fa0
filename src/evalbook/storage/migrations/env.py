"""Alembic environment: evalbook passes its own connection; no alembic.ini is needed."""

from __future__ import annotations

from alembic import context

from evalbook.storage.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - evalbook always passes a connection
    raise RuntimeError("run migrations through `evalbook db upgrade`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
