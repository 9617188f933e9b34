"""SHA-256 of files, read in 1 MiB chunks (FIPS 180-4 via hashlib/OpenSSL)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

__all__ = ["CHUNK", "file_chunks", "sha256_file"]

CHUNK = 1 << 20


def file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


def sha256_file(path: Path) -> tuple[str, int]:
    """(hex digest, size in bytes)."""
    digest, size = hashlib.sha256(), 0
    for chunk in file_chunks(path):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size
