"""The encrypted vault: opening, idempotent lossless import, append-only evidence, no plaintext on disk."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.fakes import fake_regs, write_fake

from safetrail.errors import InputError, VaultExists, VaultMissing, WrongPassphrase
from safetrail.storage import schema
from safetrail.storage.vault import Vault

CANARY = "CANARY-7f3a9c-do-not-leak"


def _sample(tmp_path: Path) -> Path:
    return write_fake(tmp_path / "chat.fake", [
        "2026-02-01T21:40:00+00:00|Me|Please stop messaging me.",
        f"2026-02-01T23:10:00+00:00|Liam|answer me {CANARY}",
        f"@attach note.txt|attachment body {CANARY}",
        "2026-02-02T01:00:00+00:00|Liam|you can't ignore me forever",
        "this line is broken",
    ])


def test_wrong_passphrase_is_a_clear_error_and_opens_nothing(vault_factory, tmp_path: Path) -> None:
    """GIVEN a vault WHEN opened with the wrong passphrase THEN WrongPassphrase with a hint, no partial open."""
    vault_factory().close()
    with pytest.raises(WrongPassphrase) as info:
        Vault.open(tmp_path / "vault", "wrong")
    assert "passphrase" in str(info.value) and info.value.hint


def test_missing_and_existing_vaults(vault_factory, tmp_path: Path) -> None:
    with pytest.raises(VaultMissing):
        Vault.open(tmp_path / "nowhere", "x")
    vault_factory().close()
    with pytest.raises(VaultExists):
        Vault.create(tmp_path / "vault", "another")


def test_import_is_lossless_and_idempotent(vault_factory, tmp_path: Path) -> None:
    """GIVEN a file WHEN imported twice THEN the same ids, one source, the warning kept, the re-import logged."""
    vault = vault_factory()
    path = _sample(tmp_path)
    first = vault.import_file(path, regs=fake_regs())
    ids = [m.id for m in vault.messages()]
    second = vault.import_file(path, regs=fake_regs())
    assert first.messages == 3 and not first.already_present
    assert second.already_present and [m.id for m in vault.messages()] == ids
    assert len(vault.sources()) == 1 and vault.sources()[0].message_count == 3
    assert [w[2] for w in vault.warnings()] == ["line is not time|sender|text"]
    assert [e.action for e in vault.custody_log()] == ["vault-created", "import", "import-repeated"]
    assert vault.custody_problems() == []
    stored = b"".join(vault.read_blob(first.source.sha256))
    assert stored == path.read_bytes()
    att = next(m for m in vault.messages() if m.attachments).attachments[0]
    assert b"".join(vault.read_blob(att.sha256 or "")) == f"attachment body {CANARY}".encode()


def test_messages_survive_a_round_trip_exactly(vault_factory, tmp_path: Path) -> None:
    from safetrail.importers.registry import open_records

    vault = vault_factory()
    path = _sample(tmp_path)
    parsed = [r.to_dict() for r in open_records(path, regs=fake_regs()).records if hasattr(r, "to_dict")]
    vault.import_file(path, regs=fake_regs())
    assert [m.to_dict() for m in vault.messages()] == parsed


def test_evidence_tables_refuse_update_and_delete(vault_factory, tmp_path: Path) -> None:
    """GIVEN imported evidence WHEN anything tries to UPDATE or DELETE it THEN the database refuses."""
    vault = vault_factory()
    vault.import_file(_sample(tmp_path), regs=fake_regs())
    for stmt in ("UPDATE messages SET text = 'changed'", "DELETE FROM messages", "UPDATE custody SET actor='x'",
                 "DELETE FROM custody", "DELETE FROM blob_chunks", "UPDATE sources SET name='x'"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), vault._engine.begin() as conn:
            conn.execute(sa.text(stmt))


def test_canary_never_appears_in_plaintext_on_disk(vault_factory, tmp_path: Path) -> None:
    """GIVEN a canary in a message and an attachment WHEN imported THEN no file in the vault or temp dir has it."""
    vault = vault_factory()
    vault.import_file(_sample(tmp_path), regs=fake_regs())
    list(vault.messages())
    vault.close()
    scanned = 0
    for folder in (tmp_path / "vault", Path(os.environ["TMPDIR"])):
        for f in folder.rglob("*"):
            if f.is_file():
                scanned += 1
                data = f.read_bytes()
                assert CANARY.encode() not in data, f
                assert CANARY.encode("utf-16-le") not in data, f
                assert b"SQLite format 3" not in data[:16], f
    assert scanned >= 2


def test_a_file_that_no_importer_reads_is_refused_with_the_formats_listed(vault_factory, tmp_path: Path) -> None:
    vault = vault_factory()
    junk = tmp_path / "notes.bin"
    junk.write_bytes(b"\x00\x01 nothing to see")
    with pytest.raises(InputError) as info:
        vault.import_file(junk, regs=fake_regs())
    assert "notes.bin" in str(info.value) and "fake" in info.value.hint
    assert vault.sources() == []


def test_schema_matches_latest_migration(vault_factory) -> None:
    vault = vault_factory()
    with vault._engine.connect() as conn:
        assert conn.execute(sa.text("select version_num from alembic_version")).scalar() == schema.LATEST_REVISION
        tables = set(sa.inspect(conn).get_table_names()) - {"alembic_version"}
        assert tables == set(schema.metadata.tables)
        for name, table in schema.metadata.tables.items():
            assert {c["name"] for c in sa.inspect(conn).get_columns(name)} == set(table.columns.keys()), name


def test_vault_files_are_private_to_the_user(vault_factory, tmp_path: Path) -> None:
    vault_factory().close()
    for f in (tmp_path / "vault").iterdir():
        assert f.stat().st_mode & 0o077 == 0, f
