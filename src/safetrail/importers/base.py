"""The importer protocol: what every platform parser provides, and the context it is given.

An importer is pure: ``parse`` reads only the stream it is handed (and, through ``ParseContext.related``, files
that sit beside the original, confined to that folder). It never opens paths, writes files, touches the vault or
the network. It yields ``Message`` and ``ParseWarning`` values in source order and raises ``ParseError`` or
``HostileInput`` (naming ``ctx.source.name`` and a locator) when it cannot go on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import BinaryIO, ClassVar, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from safetrail.model import Message, ParseWarning, Source

__all__ = [
    "DEFAULT_LIMITS",
    "HEAD_BYTES",
    "DateOrder",
    "Importer",
    "Limits",
    "ParseContext",
    "Probe",
    "Record",
    "RelatedFiles",
]

HEAD_BYTES = 64 * 1024

Record = Message | ParseWarning


class DateOrder(StrEnum):
    DMY = "dmy"
    MDY = "mdy"
    YMD = "ymd"


@dataclass(frozen=True, slots=True)
class Probe:
    """What ``sniff`` may look at: the file name, its first bytes, and member names when it is a zip archive."""

    name: str
    head: bytes
    members: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds that keep hostile files from exhausting memory or time (SECURITY.md 22, 23)."""

    max_line_bytes: int = 1 << 20  # one text line / record
    max_json_depth: int = 64
    max_json_bytes: int = 512 << 20  # a JSON document that must be read whole
    max_member_bytes: int = 2 << 30  # one archive member, uncompressed
    max_archive_bytes: int = 8 << 30  # all members together, uncompressed
    max_members: int = 200_000
    max_compression_ratio: int = 200  # per member, for members above 1 MiB uncompressed
    max_attachment_bytes: int = 512 << 20


DEFAULT_LIMITS = Limits()


class RelatedFiles(Protocol):
    """Read-only access to files beside the original (a Telegram export's ``photos/``), confined to its folder."""

    def read(self, relpath: str) -> bytes | None:
        """The file's bytes, or None when it is absent, outside the folder, or a link."""
        ...


@dataclass(frozen=True, slots=True)
class ParseContext:
    """Everything an importer is told besides the bytes.

    ``tz`` is the zone assumed for wall-clock times that carry none (stored on each such timestamp).
    ``date_order`` is the user's answer when a file's day/month order cannot be decided from the file.
    """

    source: Source
    tz: ZoneInfo
    date_order: DateOrder | None = None
    related: RelatedFiles | None = None
    limits: Limits = DEFAULT_LIMITS


@runtime_checkable
class Importer(Protocol):
    """A platform export parser. Implementations are plain classes with these class attributes."""

    name: ClassVar[str]  # stable id used by --format, e.g. "whatsapp"
    version: ClassVar[str]  # bump when output for the same input changes
    platform: ClassVar[str]  # the platform messages came from, e.g. "whatsapp"
    title: ClassVar[str]  # one line for `safetrail formats`
    variants: ClassVar[tuple[str, ...]]  # the export variants read, for `safetrail formats`

    def sniff(self, probe: Probe) -> float:
        """How sure this importer is that it reads the file: 0.0 (not at all) to 1.0 (certain)."""
        ...

    def parse(self, stream: BinaryIO, ctx: ParseContext) -> Iterator[Record]:
        """Yield the file's messages and warnings in source order."""
        ...
