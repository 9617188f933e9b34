"""Passphrase → vault key with Argon2id, and the small plaintext header that records how (SECURITY.md 8).

The header holds only what is needed to derive the key again: algorithm, parameters, a 16-byte random salt and a
key check (SHA-256 of the key under a fixed label) that tells a wrong passphrase from a damaged database. It
holds nothing about the case.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from argon2.low_level import Type, hash_secret_raw

from safetrail.errors import VaultCorrupt, WrongPassphrase

__all__ = ["HEADER_NAME", "KdfParams", "VaultHeader", "derive_key"]

HEADER_NAME = "vault.json"
FORMAT = "safetrail-vault"
FORMAT_VERSION = 1
_CHECK_LABEL = b"safetrail vault key check v1"


@dataclass(frozen=True, slots=True)
class KdfParams:
    memory_kib: int = 64 * 1024
    time_cost: int = 3
    parallelism: int = 4
    salt_b64: str = ""

    @classmethod
    def fresh(cls) -> KdfParams:
        return cls(salt_b64=base64.b64encode(os.urandom(16)).decode())

    @property
    def salt(self) -> bytes:
        return base64.b64decode(self.salt_b64)


def derive_key(passphrase: str, params: KdfParams) -> bytes:
    return hash_secret_raw(passphrase.encode("utf-8"), params.salt, time_cost=params.time_cost,
                           memory_cost=params.memory_kib, parallelism=params.parallelism, hash_len=32,
                           type=Type.ID)


def _key_check(key: bytes) -> str:
    return hmac.new(key, _CHECK_LABEL, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class VaultHeader:
    kdf: KdfParams
    key_check: str

    @classmethod
    def new(cls, passphrase: str) -> tuple[VaultHeader, bytes]:
        params = KdfParams.fresh()
        key = derive_key(passphrase, params)
        return cls(params, _key_check(key)), key

    def unlock(self, passphrase: str) -> bytes:
        key = derive_key(passphrase, self.kdf)
        if not hmac.compare_digest(_key_check(key), self.key_check):
            raise WrongPassphrase("that passphrase does not open this vault")
        return key

    def write(self, folder: Path) -> None:
        body = {"format": FORMAT, "version": FORMAT_VERSION, "kdf": {"algorithm": "argon2id", **asdict(self.kdf)},
                "key_check": self.key_check}
        tmp = folder / (HEADER_NAME + ".tmp")
        with os.fdopen(os.open(tmp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600), "w", encoding="utf-8") as fh:
            json.dump(body, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, folder / HEADER_NAME)

    @classmethod
    def read(cls, folder: Path) -> VaultHeader:
        path = folder / HEADER_NAME
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
            kdf = dict(body["kdf"])
            if body.get("format") != FORMAT or kdf.pop("algorithm") != "argon2id":
                raise ValueError("not a safetrail vault header")
            params = KdfParams(**kdf)
            if params.memory_kib < 64 * 1024 or params.time_cost < 3 or len(params.salt) < 16:
                raise ValueError("key derivation parameters are below safetrail's minimum")
            return cls(params, str(body["key_check"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise VaultCorrupt(f"the vault header {path} cannot be read ({exc})") from exc
