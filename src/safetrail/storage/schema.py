"""The vault schema (SQLAlchemy Core), shared by the personal SQLCipher vault and the team server's PostgreSQL.

Every table carries ``case_id`` so one schema serves one person's vault (a single case) and a server holding many.
Times are stored as fixed-width ISO-8601 UTC strings (``2026-02-01T21:40:00.000000Z``) so text order is time
order on both engines. Changes go through an Alembic migration in ``storage/migrations``; this module must match
the latest one (a test compares them).
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "LATEST_REVISION",
    "analysis_runs",
    "attachments",
    "blob_chunks",
    "blobs",
    "cases",
    "custody",
    "facts",
    "findings",
    "flags",
    "messages",
    "metadata",
    "parse_warnings",
    "sources",
]

LATEST_REVISION = "0001"  # the newest migration in storage/migrations/versions (a test checks it)

metadata = sa.MetaData()

cases = sa.Table(
    "cases", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("reference", sa.String(64), nullable=False, unique=True),
    sa.Column("exhibit_prefix", sa.String(16), nullable=False),
    sa.Column("title", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.String(32), nullable=False),
)

blobs = sa.Table(
    "blobs", metadata,
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), primary_key=True),
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("chunk_count", sa.Integer, nullable=False),
)

blob_chunks = sa.Table(
    "blob_chunks", metadata,
    sa.Column("case_id", sa.Integer, primary_key=True),
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.ForeignKeyConstraint(["case_id", "sha256"], ["blobs.case_id", "blobs.sha256"]),
)

sources = sa.Table(
    "sources", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("importer", sa.String(64), nullable=False),
    sa.Column("importer_version", sa.String(32), nullable=False),
    sa.Column("importer_origin", sa.String(128), nullable=False),
    sa.Column("options", sa.JSON, nullable=False),
    sa.Column("imported_at", sa.String(32), nullable=False),
    sa.UniqueConstraint("case_id", "sha256", name="uq_sources_case_sha256"),
)

messages = sa.Table(
    "messages", metadata,
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), primary_key=True),
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("source_id", sa.Integer, sa.ForeignKey("sources.id"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("locator", sa.Text, nullable=False),
    sa.Column("platform", sa.String(64), nullable=False),
    sa.Column("conversation", sa.Text, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("sender_name", sa.Text),
    sa.Column("sender_id", sa.Text),
    sa.Column("from_me", sa.Boolean),
    sa.Column("recipients", sa.JSON, nullable=False),
    sa.Column("ts_utc", sa.String(32), nullable=False),
    sa.Column("ts_kind", sa.String(24), nullable=False),
    sa.Column("ts_precision", sa.String(16), nullable=False),
    sa.Column("ts_zone", sa.String(64)),
    sa.Column("ts_as_written", sa.Text),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("raw", sa.Text, nullable=False),
    sa.Column("subject", sa.Text),
    sa.Column("platform_id", sa.Text),
    sa.Column("reply_to", sa.Text),
    sa.Column("forwarded_from", sa.Text),
    sa.Column("events", sa.JSON, nullable=False),
    sa.Index("ix_messages_time", "case_id", "ts_utc"),
    sa.Index("ix_messages_conversation", "case_id", "conversation"),
)

attachments = sa.Table(
    "attachments", metadata,
    sa.Column("case_id", sa.Integer, primary_key=True),
    sa.Column("message_id", sa.String(32), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("locator", sa.Text, nullable=False),
    sa.Column("media_type", sa.String(128)),
    sa.Column("sha256", sa.String(64)),
    sa.Column("size", sa.BigInteger),
    sa.Column("omitted", sa.Boolean, nullable=False),
    sa.ForeignKeyConstraint(["case_id", "message_id"], ["messages.case_id", "messages.id"]),
)

parse_warnings = sa.Table(
    "parse_warnings", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False),
    sa.Column("source_id", sa.Integer, sa.ForeignKey("sources.id"), nullable=False),
    sa.Column("locator", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
)

custody = sa.Table(
    "custody", metadata,
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("object", sa.Text, nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("entry_hash", sa.String(64), nullable=False),
)

analysis_runs = sa.Table(
    "analysis_runs", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("model_version", sa.String(128), nullable=False),
    sa.Column("settings", sa.JSON, nullable=False),
    sa.Column("message_count", sa.Integer, nullable=False),
)

flags = sa.Table(
    "flags", metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("analysis_runs.id"), primary_key=True),
    sa.Column("message_id", sa.String(32), primary_key=True),
    sa.Column("category", sa.String(32), primary_key=True),
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("evidence", sa.Text, nullable=False),
)

findings = sa.Table(
    "findings", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("analysis_runs.id"), nullable=False),
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("conversation", sa.Text, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("message_ids", sa.JSON, nullable=False),
    sa.Column("first", sa.String(32)),
    sa.Column("last", sa.String(32)),
    sa.Column("counts", sa.JSON, nullable=False),
)

facts = sa.Table(
    "facts", metadata,
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), primary_key=True),
    sa.Column("key", sa.String(256), primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
    sa.Column("set_at", sa.String(32), nullable=False),
)
