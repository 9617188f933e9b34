"""The personal vault: one SQLCipher database holding originals, messages, analysis and the custody log.

A vault is a folder with ``vault.json`` (key-derivation header, no case data) and ``vault.db`` (SQLCipher 4,
raw 256-bit key from Argon2id). Originals and attachments are stored inside the database as content-addressed
1 MiB chunks, so one transaction makes an import complete or absent and SQLCipher encrypts everything; temp
storage is kept in memory (SECURITY.md 7, 9, 24). Evidence tables are append-only (triggers), and every action
is written to the hash-chained custody log in the same transaction as the change it records.

This module never parses export formats (importers do) and never renders reports.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlcipher3 import dbapi2 as sqlcipher

from safetrail import __version__
from safetrail.errors import SafetrailError, VaultCorrupt, VaultError, VaultExists, VaultMissing
from safetrail.hashing import CHUNK, file_chunks, sha256_file
from safetrail.importers.base import DateOrder
from safetrail.importers.registry import Registered, open_records
from safetrail.model import (
    Attachment,
    Event,
    EventKind,
    Finding,
    Flag,
    Message,
    MessageKind,
    ParseWarning,
    Participant,
    Precision,
    Timestamp,
    TimestampKind,
)
from safetrail.storage import schema as t
from safetrail.storage.custody import CustodyEntry, chain_problems, make_entry, merkle_root
from safetrail.storage.keys import HEADER_NAME, VaultHeader

__all__ = ["CHUNK", "ImportResult", "MessageQuery", "StoredSource", "Vault", "utc_text"]

DB_NAME = "vault.db"
BATCH = 2000
ACTOR = "owner"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def utc_text(dt: datetime) -> str:
    """Fixed-width UTC text, so string order is time order in SQL."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _now() -> str:
    return utc_text(datetime.now(UTC))


def _parse_utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _engine(db_path: Path, key: bytes) -> sa.Engine:
    key_hex = key.hex()

    def creator() -> Any:
        conn = sqlcipher.connect(str(db_path), check_same_thread=False)
        conn.execute(f"PRAGMA key = \"x'{key_hex}'\"")  # must be the first statement on the connection
        conn.execute("PRAGMA cipher_log_level = NONE")
        conn.execute("PRAGMA cipher_memory_security = ON")
        conn.execute("PRAGMA temp_store = MEMORY")  # no plaintext temp files
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("select count(*) from sqlite_master").fetchall()
        return conn

    return sa.create_engine("sqlite://", module=sqlcipher, creator=creator, poolclass=sa.pool.StaticPool)


def _migrate(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        if sa.inspect(conn).has_table("alembic_version"):
            current = conn.execute(sa.text("select version_num from alembic_version")).scalar()
            if current == t.LATEST_REVISION:
                return  # the common case: skip loading Alembic on every open
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


@dataclass(frozen=True, slots=True)
class StoredSource:
    id: int
    sha256: str
    size: int
    name: str
    importer: str
    importer_version: str
    importer_origin: str
    imported_at: str
    message_count: int
    warning_count: int
    options: dict[str, Any]


@dataclass(slots=True)
class ImportResult:
    source: StoredSource
    already_present: bool
    messages: int = 0
    senders: set[str] = field(default_factory=set)
    first: datetime | None = None
    last: datetime | None = None
    warnings: list[ParseWarning] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class MessageQuery:
    sender: str | None = None  # case-insensitive substring of the sender's name or id
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None  # case-insensitive substring of the text
    conversation: str | None = None
    platform: str | None = None
    message_ids: frozenset[str] | None = None
    limit: int | None = None


def _ts_dict(ts: Timestamp) -> dict[str, Any]:
    return {"utc": utc_text(ts.utc), "kind": ts.kind.value, "precision": ts.precision.value, "zone": ts.zone,
            "as_written": ts.as_written}


def _ts_from(d: dict[str, Any]) -> Timestamp:
    return Timestamp(_parse_utc(d["utc"]), TimestampKind(d["kind"]), Precision(d["precision"]), d.get("zone"),
                     d.get("as_written"))


def _message_row(case_id: int, source_id: int, seq: int, m: Message) -> dict[str, Any]:
    return {
        "case_id": case_id, "id": m.id, "source_id": source_id, "seq": seq, "locator": m.locator,
        "platform": m.platform, "conversation": m.conversation, "kind": m.kind.value,
        "sender_name": m.sender.name if m.sender else None,
        "sender_id": m.sender.platform_id if m.sender else None, "from_me": m.from_me,
        "recipients": [[p.name, p.platform_id] for p in m.recipients],
        "ts_utc": utc_text(m.timestamp.utc), "ts_kind": m.timestamp.kind.value,
        "ts_precision": m.timestamp.precision.value, "ts_zone": m.timestamp.zone,
        "ts_as_written": m.timestamp.as_written, "text": m.text, "raw": m.raw, "subject": m.subject,
        "platform_id": m.platform_id, "reply_to": m.reply_to, "forwarded_from": m.forwarded_from,
        "events": [{"kind": e.kind.value, "locator": e.locator, "actor": e.actor, "detail": e.detail,
                    "ts": _ts_dict(e.timestamp) if e.timestamp else None} for e in m.events],
    }


class Vault:
    """An open vault. Use ``Vault.create`` or ``Vault.open``; close it (or use ``with``) when done."""

    def __init__(self, folder: Path, engine: sa.Engine, case_id: int) -> None:
        self.folder = folder
        self._engine = engine
        self.case_id = case_id

    # -- opening -------------------------------------------------------------------------------------------
    @classmethod
    def create(cls, folder: Path, passphrase: str, *, exhibit_prefix: str = "ST", title: str = "") -> Vault:
        if (folder / HEADER_NAME).exists() or (folder / DB_NAME).exists():
            raise VaultExists(f"there is already a vault in {folder}")
        if not passphrase:
            raise VaultError("a vault needs a passphrase", hint="Choose a passphrase you can remember.")
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.close(os.open(folder / DB_NAME, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            header, key = VaultHeader.new(passphrase)
            engine = _engine(folder / DB_NAME, key)
            _migrate(engine)
            with engine.begin() as conn:
                case_id = conn.execute(t.cases.insert().values(
                    reference="personal", exhibit_prefix=exhibit_prefix, title=title, created_at=_now()
                )).inserted_primary_key[0]  # type: ignore[index]
            vault = cls(folder, engine, int(case_id))
            vault.append_custody("vault-created", "vault", {"tool": f"safetrail {__version__}",
                                                             "exhibit_prefix": exhibit_prefix})
            header.write(folder)  # last: a folder without a header is an unfinished create, not a vault
        except OSError as exc:
            raise VaultError(f"the vault cannot be created in {folder} ({exc.strerror})") from exc
        return vault

    @classmethod
    def open(cls, folder: Path, passphrase: str) -> Vault:
        if not (folder / HEADER_NAME).exists():
            raise VaultMissing(f"there is no vault in {folder}")
        key = VaultHeader.read(folder).unlock(passphrase)
        try:
            engine = _engine(folder / DB_NAME, key)
            _migrate(engine)
            with engine.connect() as conn:
                row = conn.execute(sa.select(t.cases.c.id).order_by(t.cases.c.id)).first()
        except sa.exc.DatabaseError as exc:
            raise VaultCorrupt(f"the vault database in {folder} cannot be read ({exc.orig})") from exc
        if row is None:
            raise VaultCorrupt(f"the vault in {folder} holds no case")
        return cls(folder, engine, int(row[0]))

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- custody -------------------------------------------------------------------------------------------
    def _last_entry(self, conn: sa.Connection) -> CustodyEntry | None:
        row = conn.execute(sa.select(t.custody).where(t.custody.c.case_id == self.case_id)
                           .order_by(t.custody.c.seq.desc()).limit(1)).mappings().first()
        return _entry(row) if row else None

    def _append(self, conn: sa.Connection, action: str, obj: str, details: dict[str, Any]) -> CustodyEntry:
        entry = make_entry(self._last_entry(conn), at=_now(), actor=ACTOR, action=action, object=obj,
                           details=details)
        conn.execute(t.custody.insert().values(case_id=self.case_id, **entry.to_dict()))
        return entry

    def append_custody(self, action: str, obj: str, details: dict[str, Any] | None = None) -> CustodyEntry:
        with self._engine.begin() as conn:
            return self._append(conn, action, obj, details or {})

    def custody_log(self) -> list[CustodyEntry]:
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(t.custody).where(t.custody.c.case_id == self.case_id)
                                .order_by(t.custody.c.seq)).mappings().all()
        return [_entry(r) for r in rows]

    def custody_problems(self) -> list[str]:
        return chain_problems(self.custody_log())

    def custody_root(self) -> str:
        return merkle_root(self.custody_log())

    # -- case facts ----------------------------------------------------------------------------------------
    def case_info(self) -> dict[str, Any]:
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(t.cases).where(t.cases.c.id == self.case_id)).mappings().one()
        return dict(row)

    def set_fact(self, key: str, value: Any) -> None:
        """Record a fact about the case (such as who the user is); the change is written to the custody log."""
        with self._engine.begin() as conn:
            conn.execute(t.facts.delete().where((t.facts.c.case_id == self.case_id) & (t.facts.c.key == key)))
            conn.execute(t.facts.insert().values(case_id=self.case_id, key=key, value=value, set_at=_now()))
            self._append(conn, "fact-set", key, {"value": value})

    def get_fact(self, key: str, default: Any = None) -> Any:
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(t.facts.c.value).where(
                (t.facts.c.case_id == self.case_id) & (t.facts.c.key == key))).first()
        return default if row is None else row[0]

    # -- blobs ---------------------------------------------------------------------------------------------
    def _store_blob(self, conn: sa.Connection, chunks: Iterable[bytes],
                    expected_sha: str | None = None) -> tuple[str, int]:
        digest, size, seq = hashlib.sha256(), 0, 0
        pending: list[dict[str, Any]] = []
        exists = expected_sha is not None and self._has_blob(conn, expected_sha)
        buffer = bytearray()
        for piece in chunks:
            digest.update(piece)
            size += len(piece)
            if exists:
                continue
            buffer += piece
            while len(buffer) >= CHUNK:
                pending.append({"seq": seq, "data": bytes(buffer[:CHUNK])})
                del buffer[:CHUNK]
                seq += 1
        if buffer and not exists:
            pending.append({"seq": seq, "data": bytes(buffer)})
            seq += 1
        sha = digest.hexdigest()
        if expected_sha is not None and sha != expected_sha:
            raise VaultError("the file changed while it was being imported; nothing was stored",
                             hint="Make sure no other program is writing to the file, then import it again.")
        if not exists and not self._has_blob(conn, sha):
            conn.execute(t.blobs.insert().values(case_id=self.case_id, sha256=sha, size=size, chunk_count=seq))
            for p in pending:
                conn.execute(t.blob_chunks.insert().values(case_id=self.case_id, sha256=sha, **p))
        return sha, size

    def _has_blob(self, conn: sa.Connection, sha: str) -> bool:
        return conn.execute(sa.select(t.blobs.c.sha256).where(
            (t.blobs.c.case_id == self.case_id) & (t.blobs.c.sha256 == sha))).first() is not None

    def read_blob(self, sha: str) -> Iterator[bytes]:
        """The stored bytes of an original or attachment, chunk by chunk."""
        with self._engine.connect() as conn:
            meta = conn.execute(sa.select(t.blobs).where(
                (t.blobs.c.case_id == self.case_id) & (t.blobs.c.sha256 == sha))).mappings().first()
            if meta is None:
                raise VaultCorrupt(f"the stored file {sha[:12]}… is missing from the vault")
            for seq in range(meta["chunk_count"]):
                row = conn.execute(sa.select(t.blob_chunks.c.data).where(
                    (t.blob_chunks.c.case_id == self.case_id) & (t.blob_chunks.c.sha256 == sha)
                    & (t.blob_chunks.c.seq == seq))).first()
                if row is None:
                    raise VaultCorrupt(f"part {seq} of the stored file {sha[:12]}… is missing")
                yield bytes(row[0])

    def recheck_blob(self, sha: str) -> bool:
        digest = hashlib.sha256()
        for chunk in self.read_blob(sha):
            digest.update(chunk)
        return digest.hexdigest() == sha

    # -- import --------------------------------------------------------------------------------------------
    def import_file(self, path: Path, *, format: str | None = None, tz: str | None = None,
                    date_order: DateOrder | str | None = None, regs: list[Registered] | None = None,
                    on_progress: Callable[[int], None] | None = None) -> ImportResult:
        """Store ``path`` and its messages in one transaction; a file already in the vault is left as it is."""
        started = time.monotonic()
        opened = open_records(path, format=format, tz=tz, date_order=date_order, regs=regs)
        src = opened.source
        existing = self._source_by_sha(src.sha256)
        if existing is not None:
            self.append_custody("import-repeated", src.sha256, {"name": src.name,
                                                                 "first_imported_at": existing.imported_at})
            return ImportResult(existing, already_present=True, messages=existing.message_count,
                                seconds=time.monotonic() - started)
        options = {"format": format, "tz": tz, "date_order": str(date_order) if date_order else None}
        result = ImportResult(StoredSource(0, src.sha256, src.size, src.name, src.importer, src.importer_version,
                                           src.importer_origin, "", 0, 0, options), already_present=False)
        try:
            with self._engine.begin() as conn:
                self._store_blob(conn, file_chunks(path), expected_sha=src.sha256)
                source_id = int(conn.execute(t.sources.insert().values(
                    case_id=self.case_id, sha256=src.sha256, size=src.size, name=src.name, importer=src.importer,
                    importer_version=src.importer_version, importer_origin=src.importer_origin, options=options,
                    imported_at=_now(),
                )).inserted_primary_key[0])  # type: ignore[index]
                stored = self._store_records(conn, source_id, opened.records, result, on_progress)
                if sha256_file(path)[0] != src.sha256:
                    raise VaultError("the file changed while it was being imported; nothing was stored",
                                     hint="Make sure no other program is writing to the file, then import it again.")
                self._append(conn, "import", src.sha256, {
                    "name": src.name, "size": src.size, "importer": src.importer,
                    "importer_version": src.importer_version, "importer_origin": src.importer_origin,
                    "messages": stored, "warnings": len(result.warnings), "options": options})
        except SafetrailError:
            raise
        except sa.exc.DatabaseError as exc:
            raise _storage_error(exc, self.folder) from exc
        result.messages = stored
        result.seconds = time.monotonic() - started
        found = self._source_by_sha(src.sha256)
        assert found is not None
        result.source = found
        return result

    def _store_records(self, conn: sa.Connection, source_id: int, records: Iterator[Message | ParseWarning],
                       result: ImportResult, on_progress: Callable[[int], None] | None) -> int:
        rows: list[dict[str, Any]] = []
        att_rows: list[dict[str, Any]] = []
        stored = seq = 0

        def flush() -> int:
            if not rows:
                return 0
            n = conn.execute(t.messages.insert().prefix_with("OR IGNORE", dialect="sqlite"), rows).rowcount
            if att_rows:
                conn.execute(t.attachments.insert().prefix_with("OR IGNORE", dialect="sqlite"), att_rows)
            rows.clear()
            att_rows.clear()
            return int(n)

        for record in records:
            if isinstance(record, ParseWarning):
                result.warnings.append(record)
                conn.execute(t.parse_warnings.insert().values(case_id=self.case_id, source_id=source_id,
                                                              locator=record.locator, reason=record.reason))
                continue
            seq += 1
            rows.append(_message_row(self.case_id, source_id, seq, record))
            for i, att in enumerate(record.attachments):
                att_rows.append(self._attachment_row(conn, record.id, i, att))
            if record.sender:
                result.senders.add(record.sender.name)
            ts = record.timestamp.utc
            result.first = ts if result.first is None or ts < result.first else result.first
            result.last = ts if result.last is None or ts > result.last else result.last
            if len(rows) >= BATCH:
                stored += flush()
                if on_progress:
                    on_progress(seq)
        stored += flush()
        if on_progress:
            on_progress(seq)
        if stored != seq:
            reason = (f"the file gave {seq} records but only {stored} had distinct places in it; "
                      "the repeats were stored once")
            result.warnings.append(ParseWarning("", "", reason))
            conn.execute(t.parse_warnings.insert().values(case_id=self.case_id, source_id=source_id, locator="",
                                                          reason=reason))
        return stored

    def _attachment_row(self, conn: sa.Connection, message_id: str, seq: int, att: Attachment) -> dict[str, Any]:
        sha, size = att.sha256, att.size
        if att.data is not None:
            sha, size = self._store_blob(conn, [att.data])
        return {"case_id": self.case_id, "message_id": message_id, "seq": seq, "name": att.name,
                "locator": att.locator, "media_type": att.media_type, "sha256": sha, "size": size,
                "omitted": att.omitted or att.data is None}

    # -- reading -------------------------------------------------------------------------------------------
    def _source_select(self) -> sa.Select[Any]:
        s = t.sources
        n_messages = (sa.select(sa.func.count()).where(t.messages.c.source_id == s.c.id)
                      .scalar_subquery().label("message_count"))
        n_warnings = (sa.select(sa.func.count()).where(t.parse_warnings.c.source_id == s.c.id)
                      .scalar_subquery().label("warning_count"))
        return sa.select(s, n_messages, n_warnings).where(s.c.case_id == self.case_id).order_by(s.c.id)

    def _source_by_sha(self, sha: str) -> StoredSource | None:
        with self._engine.connect() as conn:
            row = conn.execute(self._source_select().where(t.sources.c.sha256 == sha)).mappings().first()
        return _source(row) if row else None

    def sources(self) -> list[StoredSource]:
        with self._engine.connect() as conn:
            rows = conn.execute(self._source_select()).mappings().all()
        return [_source(r) for r in rows]

    def warnings(self) -> list[tuple[str, str, str]]:
        """(source name, locator, reason) for every stored parse warning."""
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(t.sources.c.name, t.parse_warnings.c.locator, t.parse_warnings.c.reason)
                                .join(t.sources, t.sources.c.id == t.parse_warnings.c.source_id)
                                .where(t.parse_warnings.c.case_id == self.case_id)
                                .order_by(t.parse_warnings.c.id)).all()
        return [(r[0], r[1], r[2]) for r in rows]

    def messages(self, query: MessageQuery = MessageQuery()) -> Iterator[Message]:
        m = t.messages
        stmt = sa.select(m, t.sources.c.sha256.label("source_sha256")).join(
            t.sources, t.sources.c.id == m.c.source_id).where(m.c.case_id == self.case_id)
        if query.sender:
            needle = f"%{query.sender.lower()}%"
            stmt = stmt.where(sa.func.lower(sa.func.coalesce(m.c.sender_name, "")).like(needle)
                              | sa.func.lower(sa.func.coalesce(m.c.sender_id, "")).like(needle))
        if query.text:
            stmt = stmt.where(sa.func.lower(m.c.text).like(f"%{query.text.lower()}%"))
        if query.since:
            stmt = stmt.where(m.c.ts_utc >= utc_text(query.since))
        if query.until:
            stmt = stmt.where(m.c.ts_utc <= utc_text(query.until))
        if query.conversation:
            stmt = stmt.where(m.c.conversation == query.conversation)
        if query.platform:
            stmt = stmt.where(m.c.platform == query.platform)
        if query.message_ids is not None:
            stmt = stmt.where(m.c.id.in_(sorted(query.message_ids)))
        stmt = stmt.order_by(m.c.ts_utc, m.c.source_id, m.c.seq)
        if query.limit:
            stmt = stmt.limit(query.limit)
        with self._engine.connect() as conn:
            atts = self._attachments(conn)
            for row in conn.execute(stmt).mappings():
                yield _message(row, atts.get(row["id"], ()))

    def _attachments(self, conn: sa.Connection) -> dict[str, tuple[Attachment, ...]]:
        out: dict[str, list[Attachment]] = {}
        for r in conn.execute(sa.select(t.attachments).where(t.attachments.c.case_id == self.case_id)
                              .order_by(t.attachments.c.message_id, t.attachments.c.seq)).mappings():
            out.setdefault(r["message_id"], []).append(Attachment(
                name=r["name"], locator=r["locator"], media_type=r["media_type"], sha256=r["sha256"],
                size=r["size"], omitted=bool(r["omitted"])))
        return {k: tuple(v) for k, v in out.items()}

    def source_of(self) -> dict[str, str]:
        """message id → source sha256, for exhibit references."""
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(t.messages.c.id, t.sources.c.sha256).join(
                t.sources, t.sources.c.id == t.messages.c.source_id).where(
                t.messages.c.case_id == self.case_id)).all()
        return {r[0]: r[1] for r in rows}

    # -- analysis results ----------------------------------------------------------------------------------
    def record_analysis(self, model_version: str, settings: dict[str, Any], message_count: int,
                        flags: Sequence[Flag], findings: Sequence[Finding]) -> int:
        with self._engine.begin() as conn:
            run_id = int(conn.execute(t.analysis_runs.insert().values(
                case_id=self.case_id, at=_now(), model_version=model_version, settings=settings,
                message_count=message_count)).inserted_primary_key[0])  # type: ignore[index]
            if flags:
                conn.execute(t.flags.insert(), [{"run_id": run_id, "case_id": self.case_id,
                                                 "message_id": f.message_id, "category": f.category,
                                                 "score": f.score, "evidence": f.evidence} for f in flags])
            if findings:
                conn.execute(t.findings.insert(), [{
                    "run_id": run_id, "case_id": self.case_id, "kind": f.kind, "conversation": f.conversation,
                    "summary": f.summary, "message_ids": list(f.message_ids),
                    "first": utc_text(f.first) if f.first else None, "last": utc_text(f.last) if f.last else None,
                    "counts": [[k, v] for k, v in f.counts]} for f in findings])
            self._append(conn, "analyse", f"run:{run_id}", {"model_version": model_version,
                                                             "messages": message_count, "flags": len(flags),
                                                             "findings": len(findings)})
        return run_id

    def _latest_run(self, conn: sa.Connection) -> dict[str, Any] | None:
        row = conn.execute(sa.select(t.analysis_runs).where(t.analysis_runs.c.case_id == self.case_id)
                           .order_by(t.analysis_runs.c.id.desc()).limit(1)).mappings().first()
        return dict(row) if row else None

    def latest_analysis(self) -> tuple[dict[str, Any] | None, list[Flag], list[Finding]]:
        with self._engine.connect() as conn:
            run = self._latest_run(conn)
            if run is None:
                return None, [], []
            flag_rows = conn.execute(sa.select(t.flags).where(t.flags.c.run_id == run["id"])).mappings().all()
            finding_rows = conn.execute(sa.select(t.findings).where(t.findings.c.run_id == run["id"])
                                        .order_by(t.findings.c.id)).mappings().all()
        flags = [Flag(r["message_id"], r["category"], float(r["score"]), r["evidence"], run["model_version"])
                 for r in flag_rows]
        findings = [Finding(kind=r["kind"], conversation=r["conversation"], summary=r["summary"],
                            message_ids=tuple(r["message_ids"]),
                            first=_parse_utc(r["first"]) if r["first"] else None,
                            last=_parse_utc(r["last"]) if r["last"] else None,
                            counts=tuple((str(k), float(v)) for k, v in r["counts"])) for r in finding_rows]
        return run, flags, findings


def _storage_error(exc: sa.exc.DatabaseError, folder: Path) -> SafetrailError:
    text = str(exc.orig).lower()
    if "full" in text or "disk" in text:
        return VaultError(f"the disk holding {folder} is full; nothing from this import was stored",
                          hint="Free some space and import the file again.")
    return VaultCorrupt(f"the vault in {folder} could not be written ({exc.orig})")


def _entry(row: Any) -> CustodyEntry:
    return CustodyEntry(seq=row["seq"], at=row["at"], actor=row["actor"], action=row["action"],
                        object=row["object"], details=dict(row["details"] or {}), prev_hash=row["prev_hash"],
                        entry_hash=row["entry_hash"])


def _source(row: Any) -> StoredSource:
    return StoredSource(id=row["id"], sha256=row["sha256"], size=row["size"], name=row["name"],
                        importer=row["importer"], importer_version=row["importer_version"],
                        importer_origin=row["importer_origin"], imported_at=row["imported_at"],
                        message_count=row["message_count"], warning_count=row["warning_count"],
                        options=dict(row["options"] or {}))


def _message(row: Any, attachments: tuple[Attachment, ...]) -> Message:
    sender = Participant(row["sender_name"], row["sender_id"]) if row["sender_name"] is not None else None
    return Message(
        source_sha256=row["source_sha256"], locator=row["locator"], platform=row["platform"],
        conversation=row["conversation"],
        timestamp=Timestamp(_parse_utc(row["ts_utc"]), TimestampKind(row["ts_kind"]), Precision(row["ts_precision"]),
                            row["ts_zone"], row["ts_as_written"]),
        text=row["text"], raw=row["raw"], sender=sender, kind=MessageKind(row["kind"]),
        recipients=tuple(Participant(n, i) for n, i in row["recipients"]), from_me=row["from_me"],
        platform_id=row["platform_id"], reply_to=row["reply_to"], forwarded_from=row["forwarded_from"],
        subject=row["subject"], attachments=attachments,
        events=tuple(Event(EventKind(e["kind"]), e["locator"], e.get("actor"),
                           _ts_from(e["ts"]) if e.get("ts") else None, e.get("detail")) for e in row["events"]),
    )

