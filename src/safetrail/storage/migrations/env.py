"""Alembic environment: runs on the connection the vault (or the team server) hands over, never on its own URL."""

from __future__ import annotations

from alembic import context

from safetrail.storage.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("safetrail migrations run through safetrail.storage.vault, which passes the connection")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
