"""Small presentation rules shared by the PDF, the pack and the CLI: exhibit references and local times."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from safetrail.storage.vault import StoredSource

__all__ = ["exhibit_refs", "local_time_text"]


def exhibit_refs(prefix: str, sources: Sequence[StoredSource]) -> dict[str, str]:
    """Source SHA-256 → exhibit reference (``PS/1``, ``PS/2``…) in import order, as UK exhibit labels run."""
    return {src.sha256: f"{prefix}/{n}" for n, src in enumerate(sources, 1)}


def local_time_text(dt: datetime, tz: ZoneInfo, *, seconds: bool = True) -> str:
    """``2026-02-01 21:40:05 GMT``: wall-clock time in ``tz`` with its abbreviation, never a bare time."""
    local = dt.astimezone(tz)
    return local.strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")
