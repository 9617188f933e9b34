"""Which importers exist, which one reads a given file, and the vault-free ``parse_file`` API.

Built-in importers are listed explicitly in ``BUILTIN``. Third-party importers register under the
``safetrail.importers`` entry-point group; one that fails to load or lacks the protocol's attributes is skipped with
a ``PluginWarning`` naming its package, never a crash. The highest ``sniff`` score wins; a tie at the top is an
``AmbiguousFormat`` naming both; ``format=`` overrides detection.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from safetrail.errors import AmbiguousFormat, InputError, UnknownFormat, UsageError
from safetrail.hashing import sha256_file
from safetrail.importers.archive import is_zip, zip_member_names
from safetrail.importers.base import (
    DEFAULT_LIMITS,
    HEAD_BYTES,
    DateOrder,
    Importer,
    Limits,
    ParseContext,
    Probe,
    Record,
)
from safetrail.importers.email import EmailImporter
from safetrail.importers.meta import MetaImporter
from safetrail.importers.sms_xml import SmsXmlImporter
from safetrail.importers.telegram import TelegramImporter
from safetrail.importers.whatsapp import WhatsAppImporter
from safetrail.model import Message, ParseWarning, Source

__all__ = [
    "BUILTIN",
    "ENTRY_POINT_GROUP",
    "DirectoryFiles",
    "PluginWarning",
    "Registered",
    "available",
    "detect",
    "open_records",
    "parse_file",
    "probe_file",
    "resolve_zone",
]

ENTRY_POINT_GROUP = "safetrail.importers"
MIN_SCORE = 0.2  # below this a sniff is a guess, not a claim

BUILTIN: tuple[type[Importer], ...] = (
    TelegramImporter,
    MetaImporter,
    SmsXmlImporter,
    EmailImporter,
    WhatsAppImporter,
)


class PluginWarning(UserWarning):
    """A third-party importer could not be loaded and was skipped."""


@dataclass(frozen=True, slots=True)
class Registered:
    importer: Importer
    origin: str  # "builtin" or "plugin:<distribution>"

    @property
    def name(self) -> str:
        return self.importer.name


_REQUIRED = ("name", "version", "platform", "title", "variants", "sniff", "parse")


def _plugins() -> list[Registered]:
    found: list[Registered] = []
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        package = ep.dist.name if ep.dist else ep.value
        try:
            obj = ep.load()
            importer = obj() if isinstance(obj, type) else obj
            missing = [a for a in _REQUIRED if not hasattr(importer, a)]
            if missing:
                raise TypeError("missing " + ", ".join(missing))
        except Exception as exc:  # a broken plugin must never stop safetrail
            warnings.warn(f"importer plugin {ep.name!r} from package {package!r} was skipped: {exc}",
                          PluginWarning, stacklevel=2)
            continue
        found.append(Registered(importer, f"plugin:{package}"))
    return found


def available(*, plugins: bool = True) -> list[Registered]:
    """Every importer: built-ins first, in their listed order, then plugins (a plugin may not shadow a name)."""
    regs = [Registered(cls(), "builtin") for cls in BUILTIN]
    names = {r.name for r in regs}
    if plugins:
        for reg in _plugins():
            if reg.name in names:
                warnings.warn(f"importer plugin {reg.name!r} ({reg.origin}) has the name of one already "
                              "installed and was skipped", PluginWarning, stacklevel=2)
                continue
            names.add(reg.name)
            regs.append(reg)
    return regs


def probe_file(path: Path, limits: Limits = DEFAULT_LIMITS) -> Probe:
    with path.open("rb") as fh:
        head = fh.read(HEAD_BYTES)
        members = None
        if is_zip(head):
            fh.seek(0)
            members = zip_member_names(fh, limits)
    return Probe(name=path.name, head=head, members=members)


def detect(probe: Probe, regs: list[Registered], *, path: str, format: str | None = None) -> Registered:
    if format:
        for reg in regs:
            if reg.name == format:
                return reg
        raise UsageError(f"there is no format called {format!r}",
                         hint="Supported formats: " + ", ".join(r.name for r in regs) + ".")
    scores: list[tuple[Registered, float]] = []
    for reg in regs:
        try:
            score = float(reg.importer.sniff(probe))
        except Exception:  # a sniff that fails on odd bytes is a 'no', not a crash
            score = 0.0
        scores.append((reg, score))
    scores.sort(key=lambda rs: rs[1], reverse=True)
    if not scores or scores[0][1] < MIN_SCORE:
        raise UnknownFormat(path, [r.name for r in regs], [(r.name, s) for r, s in scores[:3]])
    best = scores[0][1]
    tied = [r.name for r, s in scores if abs(s - best) < 1e-9]
    if len(tied) > 1:
        raise AmbiguousFormat(path, tied)
    return scores[0][0]


def resolve_zone(name: str | None) -> ZoneInfo:
    """The zone for wall-clock times: the one named, else the system's (TZ, /etc/localtime), else UTC."""
    candidates = [name] if name else [os.environ.get("TZ", "").lstrip(":"), _system_zone_name(), "UTC"]
    for candidate in candidates:
        if not candidate:
            continue
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            if name:
                raise UsageError(f"{name!r} is not a time zone safetrail knows",
                                 hint="Use an IANA name such as Europe/London or America/New_York.") from exc
    return ZoneInfo("UTC")


def _system_zone_name() -> str:
    try:
        target = os.readlink("/etc/localtime")
    except OSError:
        try:
            return Path("/etc/timezone").read_text(encoding="utf-8").strip()
        except OSError:
            return ""
    return target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else ""


class DirectoryFiles:
    """``RelatedFiles`` over the folder that holds the original: no links, nothing outside it."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root.resolve()
        self.max_bytes = max_bytes

    def read(self, relpath: str) -> bytes | None:
        candidate = self.root / relpath
        try:
            if candidate.is_symlink() or not candidate.is_file():
                return None
            resolved = candidate.resolve()
            if not resolved.is_relative_to(self.root) or resolved.stat().st_size > self.max_bytes:
                return None
            return resolved.read_bytes()
        except (OSError, ValueError):
            return None


@dataclass(frozen=True, slots=True)
class Opened:
    """A file ready for parsing: its ``Source`` (hashed before parsing), the importer and the records."""

    source: Source
    registered: Registered
    records: Iterator[Record]


def open_records(path: Path, *, format: str | None = None, tz: str | None = None,
                 date_order: DateOrder | str | None = None, regs: list[Registered] | None = None,
                 limits: Limits = DEFAULT_LIMITS) -> Opened:
    """Hash ``path``, pick its importer and return a lazy record iterator (the caller owns consuming it)."""
    if not path.exists():
        raise InputError("there is no such file", path=str(path))
    if not path.is_file():
        raise InputError("this is not a regular file", path=str(path),
                         hint="Pass the export file itself (for a folder, `safetrail import` picks the files).")
    regs = available() if regs is None else regs
    try:
        probe = probe_file(path, limits)
        sha, size = sha256_file(path)
    except OSError as exc:
        raise InputError(f"the file cannot be read ({exc.strerror})", path=str(path)) from exc
    reg = detect(probe, regs, path=str(path), format=format)
    order = DateOrder(date_order) if isinstance(date_order, str) else date_order
    source = Source(sha256=sha, size=size, name=path.name, importer=reg.name,
                    importer_version=reg.importer.version, importer_origin=reg.origin)
    ctx = ParseContext(source=source, tz=resolve_zone(tz), date_order=order,
                       related=DirectoryFiles(path.parent, limits.max_attachment_bytes), limits=limits)

    def records() -> Iterator[Record]:
        with path.open("rb") as fh:
            yield from _parse_guarded(reg, fh, ctx, str(path))

    return Opened(source, reg, records())


def _parse_guarded(reg: Registered, stream: BinaryIO, ctx: ParseContext, path: str) -> Iterator[Record]:
    try:
        yield from reg.importer.parse(stream, ctx)
    except InputError:
        raise
    except RecursionError as exc:
        raise InputError("the file is nested too deeply to read safely", path=path) from exc
    except MemoryError as exc:
        raise InputError("the file is too large to read in memory", path=path) from exc


def parse_file(path: str | os.PathLike[str], format: str | None = None, tz: str | None = None,
               date_order: DateOrder | str | None = None,
               on_warning: Callable[[ParseWarning], None] | None = None) -> Iterator[Message]:
    """Parse one export file into messages, with no vault involved.

    Warnings go to ``on_warning`` when given, else are issued as Python warnings (``UserWarning``).
    """
    opened = open_records(Path(path), format=format, tz=tz, date_order=date_order)
    for record in opened.records:
        if isinstance(record, ParseWarning):
            if on_warning is not None:
                on_warning(record)
            else:
                warnings.warn(f"{opened.source.name} ({record.locator}): {record.reason}", UserWarning,
                              stacklevel=2)
        else:
            yield record
