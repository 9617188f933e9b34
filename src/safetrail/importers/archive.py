"""Safe reading of zip exports (WhatsApp, Instagram, Facebook): never extracted to disk, bounded in size.

Checks made before any member is read: member count, declared sizes, compression ratio (zip bombs), names that
are absolute, contain ``..`` or are symlinks (path traversal). Unsafe members are refused, never written anywhere;
reads are capped at the declared size so a lying header cannot inflate past it.
"""

from __future__ import annotations

import stat
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from safetrail.errors import HostileInput, ParseError
from safetrail.importers.base import DEFAULT_LIMITS, Limits

__all__ = ["SafeZip", "is_zip", "zip_member_names"]

_CHUNK = 1 << 20


def is_zip(head: bytes) -> bool:
    return head[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def zip_member_names(stream: BinaryIO, limits: Limits = DEFAULT_LIMITS) -> tuple[str, ...] | None:
    """Member names of a zip for sniffing, or None when the stream is not a readable zip."""
    try:
        with zipfile.ZipFile(stream) as zf:
            infos = zf.infolist()
            if len(infos) > limits.max_members:
                return None
            return tuple(i.filename for i in infos)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return None


def _is_unsafe_name(name: str) -> bool:
    normal = name.replace("\\", "/")
    return (normal.startswith("/") or (len(normal) > 1 and normal[1] == ":")
            or any(part == ".." for part in normal.split("/")) or "\x00" in normal)


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    size: int
    compressed: int


class SafeZip:
    """A zip archive opened for reading with bomb and traversal checks.

    ``path`` is the original file's name, used in error messages. Members refused for unsafe names are listed
    in ``refused`` so the importer can warn about them.
    """

    def __init__(self, stream: BinaryIO, path: str, limits: Limits = DEFAULT_LIMITS) -> None:
        self.path = path
        self.limits = limits
        try:
            self._zf = zipfile.ZipFile(stream)
            infos = self._zf.infolist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
            raise ParseError(f"this zip archive cannot be read ({exc})", path=path,
                             hint="Export the chat again, or unzip it and import the text file inside.") from exc
        if len(infos) > limits.max_members:
            raise HostileInput(f"the archive holds {len(infos):,} files, more than the {limits.max_members:,} "
                               "safetrail will read", path=path)
        total = 0
        self.members: dict[str, Member] = {}
        self.refused: list[str] = []
        for info in infos:
            if info.is_dir():
                continue
            if _is_unsafe_name(info.filename) or _is_symlink(info):
                self.refused.append(info.filename)
                continue
            if info.file_size > limits.max_member_bytes:
                raise HostileInput(f"member {info.filename!r} claims {info.file_size:,} bytes, above the limit",
                                   path=path)
            if (info.file_size > _CHUNK and info.compress_size > 0
                    and info.file_size / info.compress_size > limits.max_compression_ratio):
                raise HostileInput(f"member {info.filename!r} expands {info.file_size // info.compress_size}-fold "
                                   "(a zip bomb?)", path=path)
            total += info.file_size
            if total > limits.max_archive_bytes:
                raise HostileInput("the archive expands to more than the size safetrail will read", path=path)
            self.members[info.filename] = Member(info.filename, info.file_size, info.compress_size)

    def names(self) -> list[str]:
        return list(self.members)

    def find(self, basename: str) -> str | None:
        """The member whose last path part is ``basename`` (shallowest first), or None."""
        hits = sorted((n for n in self.members if n.rsplit("/", 1)[-1] == basename), key=lambda n: n.count("/"))
        return hits[0] if hits else None

    def iter_chunks(self, name: str) -> Iterator[bytes]:
        member = self.members[name]
        remaining = member.size
        try:
            with self._zf.open(name) as fh:
                while True:
                    chunk = fh.read(min(_CHUNK, remaining + 1))
                    if not chunk:
                        break
                    remaining -= len(chunk)
                    if remaining < 0:
                        raise HostileInput(f"member {name!r} is larger than its header says", path=self.path)
                    yield chunk
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError) as exc:
            raise ParseError(f"member {name!r} is damaged and cannot be read ({exc})", path=self.path) from exc

    def read(self, name: str, max_bytes: int | None = None) -> bytes:
        limit = self.limits.max_member_bytes if max_bytes is None else max_bytes
        if self.members[name].size > limit:
            raise HostileInput(f"member {name!r} is larger than the {limit:,} bytes safetrail reads for it",
                               path=self.path)
        return b"".join(self.iter_chunks(name))

    def close(self) -> None:
        self._zf.close()

    def __enter__(self) -> SafeZip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
