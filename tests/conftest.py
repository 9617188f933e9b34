"""Shared test fixtures. Tests never touch the network or the user's real vault."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SAFETRAIL_VAULT", raising=False)
    monkeypatch.delenv("SAFETRAIL_PASSPHRASE", raising=False)
    monkeypatch.setenv("TZ", "Europe/London")
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir(exist_ok=True)


@pytest.fixture
def vault_factory(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Create vaults with a known passphrase in the test's own folder."""
    from safetrail.storage.vault import Vault

    made = []

    def make(name: str = "vault", passphrase: str = "correct horse battery staple", **kw):  # type: ignore[no-untyped-def]
        v = Vault.create(tmp_path / name, passphrase, **kw)
        made.append(v)
        return v

    yield make
    for v in made:
        v.close()
