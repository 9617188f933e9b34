"""SMS Backup & Restore (Android) XML: texts (``<sms>``), picture messages (``<mms>``) and call logs (``<call>``).

The app writes one UTF-8 file per backup: ``<smses count="N">`` with ``<sms …/>`` and ``<mms>…</mms>`` records, or
``<calls count="N">`` with ``<call …/>`` records. Every field is an attribute, so records are built from element
attributes as the parser meets them; no tree is ever built, which keeps memory flat on multi-gigabyte backups
(SECURITY.md 23). The parser is expat with defusedxml's protections (no DTD, no entity declarations, no external
references), so a crafted file cannot expand entities or read other files (SECURITY.md 22).

Two things expat cannot read as the app writes them are handled in the byte stream before parsing, in a way that
needs only a few bytes of look-behind:

* Emoji are often written as two character references for a UTF-16 surrogate pair (``&#55357;&#56832;``), which
  XML forbids. The ``&`` of each such reference is replaced by the noncharacter U+FDD0 so expat passes the
  reference through as text; afterwards the pair becomes one character in ``Message.text`` while ``Message.raw``
  keeps the references exactly as written. A half pair becomes U+FFFD with a warning.
* MMS media is base64 in a ``data`` attribute that can run to megabytes. Plain base64 values are lifted out of the
  stream as bytes and replaced by a short token (U+FDD1 and a number), so expat never copies them; values that are
  not plain base64 are left for expat to read as usual.

Choices made here (they change what users see, so they are listed):

* A backup that simply stops (the phone died mid-backup, the copy was cut short) yields every complete record and
  then a ``ParseWarning`` saying where it stops: raising would make the vault discard the whole import. Damage in
  the middle of the file is a ``ParseError`` naming line and column, raised after the records before it.
* ``count`` on the root element is compared with the records read; a difference is a warning (SECURITY.md 6).
* Drafts, outbox, failed and queued texts are the phone owner's words that may never have reached anyone: they are
  imported as the owner's and each gets a warning saying so, because the model has no delivery status yet.
* ``raw`` for texts is the ``body``/``text`` attribute as XML decodes it (surrogate references as written); for
  calls, which have no text, it is the record's attributes in file order, so every field stays visible.

This module must never open paths, write files, build a whole document tree or resolve an entity.
"""

from __future__ import annotations

import binascii
import hashlib
import re
from collections.abc import Iterator
from typing import BinaryIO, ClassVar
from xml.parsers import expat

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from safetrail.errors import HostileInput, ParseError
from safetrail.importers.base import ParseContext, Probe, Record
from safetrail.model import (
    Attachment,
    Message,
    MessageKind,
    ParseWarning,
    Participant,
    Precision,
    Timestamp,
    TimestampKind,
    utc_from_epoch_ms,
)

__all__ = ["SmsXmlImporter"]

_CHUNK = 1 << 20
_MAX_DEPTH = 16  # the format nests four deep; anything far deeper is crafted
_MAX_PARTS = 1000  # parts or addresses in one MMS
_MAX_SHIFTS = 64

# The ``&`` of a character reference to a UTF-16 surrogate (U+D800-U+DFFF, decimal 55296-57343).
_SURROGATE_AMP = re.compile(
    rb"&(?=#(?:0{0,8}(?:55(?:29[6-9]|[3-9][0-9][0-9])|56[0-9]{3}|57(?:[0-2][0-9][0-9]|3(?:[0-3][0-9]|4[0-3])))"
    rb"|[xX]0{0,8}[dD][89a-fA-F][0-9a-fA-F]{2});)")
_MARKED_RUN = re.compile("(?:\ufdd0#(?:0*[0-9]{1,7}|[xX]0*[0-9a-fA-F]{1,6});)+")
_MARKED_REF = re.compile("\ufdd0#(?:0*([0-9]{1,7})|[xX]0*([0-9a-fA-F]{1,6}));")
_REF_MARK = "\ufdd0"
_DATA_MARK = "\ufdd1"
_DATA_ATTR = b' data="'
_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
_UTF8_CONTINUATION = bytes(range(0x80, 0xC0))
_DECLARED_ENCODING = re.compile(rb"""^(?:\xef\xbb\xbf)?<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_ROOT_SNIFF = re.compile(rb"<(smses|calls)[\s>]")
_PHONE_PUNCTUATION = str.maketrans("", "", " -().\u00a0\u202f")

_SMS_TYPES: dict[str, tuple[bool, str | None]] = {
    # type -> (written by the phone owner, why it may never have been delivered)
    "1": (False, None),
    "2": (True, None),
    "3": (True, "a draft that was never sent"),
    "4": (True, "in the outbox: it may not have been sent"),
    "5": (True, "marked as failed: it was probably not delivered"),
    "6": (True, "queued to send: it may not have been sent"),
}
_CALL_TYPES: dict[str, tuple[bool, str]] = {
    "1": (False, "Incoming call"),
    "2": (True, "Outgoing call"),
    "3": (False, "Missed call"),
    "4": (False, "Voicemail"),
    "5": (False, "Rejected call"),
    "6": (False, "Blocked call"),
}
_HIDDEN_CALLER = {"2": "Withheld number", "3": "Unknown number", "4": "Payphone"}
_MMS_FROM, _MMS_TO, _MMS_CC, _MMS_BCC = "137", "151", "130", "129"
_NULLS = frozenset(("", "null", "(Unknown)"))
_ME = Participant("Me")
_WITHHELD = "withheld"


class SmsXmlImporter:
    """Reads SMS Backup & Restore ``sms-*.xml`` and ``calls-*.xml`` backups."""

    name: ClassVar[str] = "sms"
    version: ClassVar[str] = "1.0"
    platform: ClassVar[str] = "sms"
    title: ClassVar[str] = "SMS Backup & Restore (Android): texts, picture messages and call logs (XML)"
    variants: ClassVar[tuple[str, ...]] = (
        "sms-*.xml with <sms> and <mms> records (media as base64)",
        "calls-*.xml with <call> records",
        "emoji written as surrogate-pair character references",
        "backups cut short (imported up to the break, with a warning)",
    )

    def sniff(self, probe: Probe) -> float:
        root = _ROOT_SNIFF.search(probe.head)
        if root is None:
            return 0.0
        score = 0.6
        record = b"<call " if root.group(1) == b"calls" else b"<sms "
        if record in probe.head or b"<mms " in probe.head or b'count="' in probe.head[root.start():root.start() + 200]:
            score = 0.9
        if probe.name.lower().endswith(".xml"):
            score += 0.05
        return score

    def parse(self, stream: BinaryIO, ctx: ParseContext) -> Iterator[Record]:
        return _Reader(stream, ctx).records()


class _Prefilter:
    """Rewrites the byte stream so expat can read it (see the module docstring), a chunk at a time.

    Keeps back only the bytes that might belong to a reference or tag cut by the chunk boundary. Tracks the line
    and column of lifted ``data`` values so expat's error positions can be mapped back to the file's.
    """

    def __init__(self, encoding: str, max_data_bytes: int) -> None:
        utf8 = encoding in ("utf-8", "utf8")
        self.active = utf8 or not encoding.startswith(("utf-16", "utf16", "utf-32", "utf32", "ucs"))
        # For UTF-8 the mark is one character for one, so expat's columns stay true.
        self.ref_mark = _REF_MARK.encode() if utf8 else b"&#xFDD0;"
        self.data_mark = _DATA_MARK.encode() if utf8 else b"&#xFDD1;"
        self.lift_data = utf8
        self.max_data = max_data_bytes
        self.carry = b""
        self.in_data = False
        self.data: list[bytes] = []
        self.data_size = 0
        self.data_line = 0
        self.data_column = 0
        self.lifted: dict[int, tuple[bytes | None, int]] = {}  # token -> (base64 bytes or None if too big, size)
        self.held = 0
        self.next_token = 0
        self.line = 1  # position in the output stream, for mapping error columns
        self.column = 0
        self.shifts: list[tuple[int, int, int]] = []  # (line, column, characters removed) per lifted value

    def feed(self, chunk: bytes, final: bool) -> bytes:
        if not self.active:
            return chunk
        buf = self.carry + chunk if self.carry else chunk
        self.carry = b""
        out: list[bytes] = []
        pos = 0
        end = len(buf)
        while pos < end:
            if self.in_data:
                quote = buf.find(b'"', pos)
                stop = end if quote < 0 else quote
                value = buf[pos:stop]
                holding = self.data_size <= self.max_data
                if holding and value.translate(None, _B64_ALPHABET):
                    # Not plain base64 after all: hand it back to expat to read in the ordinary way.
                    self.in_data = False
                    out.append(self._emit(b"".join(self.data) + value))
                    self.data = []
                    pos = stop
                    continue
                self.data_size += len(value)
                if self.data_size <= self.max_data:
                    self.data.append(value)
                elif self.data:
                    self.data = []  # too large to keep: read on to the closing quote and report it
                if quote < 0:
                    pos = end
                    break
                out.append(self._emit(self._close_data()))
                self.in_data = False
                pos = quote
                continue
            found = buf.find(_DATA_ATTR, pos) if self.lift_data else -1
            if found < 0:
                break
            value_start = found + len(_DATA_ATTR)
            if self._in_part_tag(buf, found):
                out.append(self._emit(buf[pos:value_start]))
                self.in_data = True
                self.data = []
                self.data_size = 0
                self.data_line, self.data_column = self.line, self.column
            else:
                out.append(self._emit(buf[pos:value_start]))
            pos = value_start
        if pos < end:
            cut = end if final or self.in_data else self._safe_cut(buf, pos)
            out.append(self._emit(buf[pos:cut]))
            self.carry = buf[cut:]
        return b"".join(out)

    @staticmethod
    def _in_part_tag(buf: bytes, at: int) -> bool:
        """Whether ``at`` is an attribute position inside a ``<part`` start tag, judged from the tag's start."""
        lt = buf.rfind(b"<", max(0, at - 65536), at)
        if lt < 0 or not buf.startswith(b"<part", lt) or buf[lt + 5:lt + 6] not in (b" ", b"\t", b"\n", b"\r"):
            return False
        head = buf[lt:at]
        return b">" not in head and b"'" not in head and head.count(b'"') % 2 == 0

    @staticmethod
    def _safe_cut(buf: bytes, pos: int) -> int:
        """Where to stop this chunk so no reference, ``data`` attribute or part tag is split across chunks."""
        end = len(buf)
        cut = end
        amp = buf.rfind(b"&", max(pos, end - 32))
        if amp >= 0 and b";" not in buf[amp:]:
            cut = amp
        lt = buf.rfind(b"<", max(pos, end - 65536))
        if lt >= 0 and b">" not in buf[lt:]:
            cut = min(cut, lt)
        return cut

    def _close_data(self) -> bytes:
        token = self.next_token
        self.next_token += 1
        kept = b"".join(self.data) if self.data_size <= self.max_data else None
        if kept is not None:
            # Values no record claims (say, inside a comment) must not pile up: keep at most two records' worth.
            while self.lifted and self.held + len(kept) > 2 * self.max_data:
                oldest = next(iter(self.lifted))
                self.held -= len(self.lifted.pop(oldest)[0] or b"")
            self.held += len(kept)
        self.lifted[token] = (kept, self.data_size)
        self.data = []
        placeholder = self.data_mark + str(token).encode()
        removed = self.data_size - len(str(token)) - 1
        if len(self.shifts) >= _MAX_SHIFTS:
            del self.shifts[0]
        self.shifts.append((self.data_line, self.data_column, removed))
        return placeholder

    def _emit(self, piece: bytes) -> bytes:
        piece = _SURROGATE_AMP.sub(self.ref_mark, piece) if b"&#" in piece else piece
        newline = piece.rfind(b"\n")
        if newline >= 0:
            self.line += piece.count(b"\n")
            tail = piece[newline + 1:]
            self.column = len(tail.translate(None, _UTF8_CONTINUATION))
        else:
            self.column += len(piece.translate(None, _UTF8_CONTINUATION))
        return piece

    def file_position(self, line: int, column: int) -> tuple[int, int]:
        """Map a (line, 0-based column) reported by expat back to the file, undoing lifted ``data`` values."""
        shift = sum(removed for ln, col, removed in self.shifts if ln == line and col < column)
        return line, column + shift

    def take(self, token: str) -> tuple[bytes | None, int] | None:
        """The lifted value for a placeholder; values lifted before it that no part claimed are dropped."""
        try:
            wanted = int(token)
            found = self.lifted.pop(wanted)
        except (KeyError, ValueError):
            return None
        self.held -= len(found[0] or b"")
        while self.lifted:
            oldest = next(iter(self.lifted))
            if oldest > wanted:
                break
            self.held -= len(self.lifted.pop(oldest)[0] or b"")
        return found


def _declared_encoding(head: bytes) -> str:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    match = _DECLARED_ENCODING.match(head)
    return match.group(1).decode("ascii").lower() if match else "utf-8"


def _make_expat() -> expat.XMLParserType:
    """An expat parser carrying defusedxml's protections: no DTD, no entity declarations, no external references."""
    defused = DefusedXMLParser(target=_NoTarget(), forbid_dtd=True, forbid_entities=True, forbid_external=True)
    parser: expat.XMLParserType = defused.parser
    # ElementTree's own callbacks are not wanted: records are built straight from expat's attribute dicts.
    parser.DefaultHandlerExpand = None
    parser.ordered_attributes = False
    return parser


class _NoTarget:
    """A target with no callbacks, so ElementTree installs none of its own."""


def _normal_address(address: str) -> str:
    cleaned = address.strip().translate(_PHONE_PUNCTUATION)
    return cleaned or address.strip()


class _Reader:
    """One pass over one backup. Expat callbacks append records to ``out``; ``records`` yields them in order."""

    def __init__(self, stream: BinaryIO, ctx: ParseContext) -> None:
        self.stream = stream
        self.ctx = ctx
        self.sha = ctx.source.sha256
        self.member = ctx.source.name
        self.out: list[Record] = []
        self.depth = 0
        self.root = ""
        self.declared: int | None = None
        self.declared_text = ""
        self.counts = {"sms": 0, "mms": 0, "call": 0}
        self.read_records = 0
        self.events = 0
        self.mms: dict[str, str] | None = None
        self.mms_locator = ""
        self.parts: list[dict[str, str]] = []
        self.addrs: list[dict[str, str]] = []
        self.extra_parts = 0
        self.unknown: dict[str, int] = {}
        self.party_cache: dict[tuple[str, str], Participant] = {}
        self.conversation_cache: dict[str, str] = {}
        self.run_cache: dict[str, str] = {}
        self.prefilter: _Prefilter | None = None
        self.max_data = (ctx.limits.max_attachment_bytes // 3 + 1) * 4

    # -- driving expat -------------------------------------------------------------------------------------------

    def records(self) -> Iterator[Record]:
        parser = _make_expat()
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        first = self._read()
        prefilter = self.prefilter = _Prefilter(_declared_encoding(first[:512]), self.max_data)
        # Bytes expat may hold for one unfinished record before we call it hostile: the largest attachment allowed,
        # as base64 that could not be lifted, plus a generous record.
        bound = self.max_data + 16 * self.ctx.limits.max_line_bytes
        pending = 0
        chunk = first
        while True:
            final = not chunk
            data = prefilter.feed(chunk, final)
            before = self.events
            try:
                parser.Parse(data, final)
            except expat.ExpatError as exc:
                yield from self._drain()
                yield from self._broken(exc, final, prefilter)
                return
            except (LookupError, UnicodeError) as exc:
                yield from self._drain()
                raise ParseError(f"the file declares a character encoding that cannot be read ({exc})",
                                 path=self.member, locator=f"{self.member}#L1",
                                 hint="SMS Backup & Restore writes UTF-8; the file may have been changed.") from exc
            except DefusedXmlException as exc:
                yield from self._drain()
                raise HostileInput(
                    "the file declares a document type or entities, which SMS Backup & Restore never writes; such "
                    "declarations can make a reader fetch other files or fill memory, so reading stopped",
                    path=self.member, locator=f"{self.member}#/") from exc
            yield from self._drain()
            if final:
                break
            pending = pending + len(data) if self.events == before else 0
            if pending > bound:
                raise HostileInput(f"one record runs past {bound:,} bytes without ending, far beyond any real "
                                   "backup", path=self.member, locator=self._next_locator())
            chunk = self._read()
        yield from self._finish()

    def _read(self) -> bytes:
        try:
            return self.stream.read(_CHUNK)
        except OSError as exc:
            raise ParseError(f"the file could not be read ({exc.strerror or exc})", path=self.member) from exc

    def _drain(self) -> Iterator[Record]:
        if self.out:
            out, self.out = self.out, []
            yield from out

    def _broken(self, exc: expat.ExpatError, final: bool, prefilter: _Prefilter) -> Iterator[Record]:
        line, column = prefilter.file_position(exc.lineno, exc.offset)
        where = f"line {line:,}, column {column + 1:,}"
        reason = expat.ErrorString(exc.code)
        if final and self.root:
            cut = ""
            if self.mms is not None:
                cut = f" The picture message at {self.mms_locator} was cut off and could not be read."
            yield ParseWarning(self.sha, f"{self.member}#L{line}",
                               f"the file ends in the middle of a record ({where}): it looks cut short, as happens "
                               f"when a phone stops during a backup. The {self.read_records:,} complete records "
                               f"before that point were imported.{cut}")
            yield from self._finish()
            return
        if not self.root:
            raise ParseError(f"this is not a readable SMS Backup & Restore file: the XML cannot be read at {where} "
                             f"({reason})", path=self.member, locator=f"{self.member}#L{line}",
                             hint="Choose the .xml file that SMS Backup & Restore saved, exactly as the app wrote it.")
        raise ParseError(f"the file is damaged at {where} ({reason}); the {self.read_records:,} records before that "
                         "point were read", path=self.member, locator=f"{self.member}#L{line}",
                         hint="Copy the backup from the phone again if you can; the stored original is unchanged.")

    def _finish(self) -> Iterator[Record]:
        for tag, n in self.unknown.items():
            yield ParseWarning(self.sha, f"{self.member}#/{self.root}",
                               f"{n:,} <{tag}> element(s) are not records safetrail knows and were skipped")
        if self.declared is not None and self.declared != self.read_records:
            noun = "calls" if self.root == "calls" else "messages"
            yield ParseWarning(self.sha, f"{self.member}#/{self.root}",
                               f"the file says {self.declared:,} {noun}, {self.read_records:,} were read")
        elif self.declared is None and self.declared_text:
            yield ParseWarning(self.sha, f"{self.member}#/{self.root}",
                               f"the file's count {self.declared_text!r} is not a number, so it could not be checked")

    def _next_locator(self) -> str:
        return f"{self.member}#/{self.root}"

    # -- expat callbacks -----------------------------------------------------------------------------------------

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        self.events += 1
        self.depth += 1
        depth = self.depth
        if depth == 2:
            if tag == "sms":
                self.read_records += 1
                n = self.counts["sms"] = self.counts["sms"] + 1
                self._sms(attrs, f"{self.member}#/{self.root}/sms[{n}]")
            elif tag == "call":
                self.read_records += 1
                n = self.counts["call"] = self.counts["call"] + 1
                self._call(attrs, f"{self.member}#/{self.root}/call[{n}]")
            elif tag == "mms":
                self.read_records += 1
                n = self.counts["mms"] = self.counts["mms"] + 1
                self.mms = attrs
                self.mms_locator = f"{self.member}#/{self.root}/mms[{n}]"
                self.parts = []
                self.addrs = []
                self.extra_parts = 0
            else:
                self.unknown[tag] = self.unknown.get(tag, 0) + 1
        elif depth == 4 and self.mms is not None:
            target = self.parts if tag == "part" else self.addrs if tag == "addr" else None
            if target is not None:
                if len(target) < _MAX_PARTS:
                    target.append(attrs)
                else:
                    self.extra_parts += 1
        elif depth == 1:
            self._root(tag, attrs)
        elif depth > _MAX_DEPTH:
            raise HostileInput(f"elements are nested more than {_MAX_DEPTH} deep, far beyond any real backup",
                               path=self.member, locator=self._next_locator())

    def _end(self, tag: str) -> None:
        self.events += 1
        if self.depth == 2 and self.mms is not None:
            self._mms(self.mms, self.mms_locator)
            self.mms = None
            self.parts = []
            self.addrs = []
        self.depth -= 1

    def _root(self, tag: str, attrs: dict[str, str]) -> None:
        if tag not in ("smses", "calls"):
            raise ParseError(f"the XML's top element is <{tag}>, not <smses> or <calls> as SMS Backup & Restore "
                             "writes", path=self.member, locator=f"{self.member}#/{tag}",
                             hint="Choose the sms-….xml or calls-….xml file the app saved.")
        self.root = tag
        count = attrs.get("count")
        if count is not None:
            self.declared_text = count
            try:
                self.declared = int(count)
            except ValueError:
                self.declared = None

    # -- records -------------------------------------------------------------------------------------------------

    def _warn(self, locator: str, reason: str) -> None:
        self.out.append(ParseWarning(self.sha, locator, reason))

    def _subject(self, value: str | None, locator: str) -> str | None:
        """The subject as shown: the app writes the word "null" for none; split emoji are joined."""
        if value is None or value in _NULLS:
            return None
        return self._clean(value, locator, "subject")[0] if _REF_MARK in value else value

    def _clean(self, value: str, locator: str, field: str) -> tuple[str, str]:
        """(text, raw): split surrogate references joined for text, kept exactly as written in raw."""
        raw = value.replace(_REF_MARK, "&")
        text = _MARKED_RUN.sub(self._join_run, value)
        lone = text.count("\ufffd") - value.count("\ufffd")
        if lone:
            what = "half of an emoji or other character" if lone == 1 else f"{lone} halves of emoji or other characters"
            self._warn(locator, f"the {field} holds {what} (an unpaired UTF-16 surrogate), shown as \ufffd; the raw "
                                "text keeps it as written")
        return text, raw

    def _join_run(self, match: re.Match[str]) -> str:
        """One run of marked references as text. Runs repeat (the same few emoji), so they are remembered."""
        run = match.group(0)
        found = self.run_cache.get(run)
        if found is None:
            units = _MARKED_REF.sub(_code_unit, run)
            # UTF-16 round trip: a high and a low surrogate side by side become one character; a half becomes U+FFFD.
            found = units.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
            if len(self.run_cache) < 4096:
                self.run_cache[run] = found
        return found

    def _party(self, address: str, contact: str | None) -> Participant:
        key = (address, contact or "")
        found = self.party_cache.get(key)
        if found is None:
            name = contact if contact and contact not in _NULLS else address
            if _REF_MARK in name:
                name = self._clean(name, f"{self.member}#/{self.root}", "contact name")[0]
            found = Participant(name, address or None)
            if len(self.party_cache) < 100_000:
                self.party_cache[key] = found
        return found

    def _conversation(self, address: str) -> str:
        found = self.conversation_cache.get(address)
        if found is None:
            parts = sorted({_normal_address(a) for a in address.split("~") if a.strip()})
            found = "~".join(parts) if parts else "unknown"
            if len(self.conversation_cache) < 100_000:
                self.conversation_cache[address] = found
        return found

    def _time(self, attrs: dict[str, str], locator: str) -> Timestamp | None:
        written = attrs.get("date", "")
        if len(written) == 13 and written.isdigit():  # the usual case, milliseconds 2001-2286, checked inline
            return Timestamp(utc_from_epoch_ms(int(written)), TimestampKind.ABSOLUTE, Precision.MILLISECOND,
                             as_written=written)
        ms = _epoch_ms(written)
        if ms is not None:
            return Timestamp(utc_from_epoch_ms(ms), TimestampKind.ABSOLUTE, Precision.MILLISECOND,
                             as_written=written)
        seconds = _epoch_seconds(written)
        if seconds is not None:
            self._warn(locator, f"the time {written!r} looks like seconds rather than milliseconds and was read so")
            return Timestamp(utc_from_epoch_ms(seconds * 1000), TimestampKind.ABSOLUTE, Precision.SECOND,
                             as_written=written)
        sent = attrs.get("date_sent", "")
        ms = _epoch_ms(sent)
        if ms is not None:
            self._warn(locator, f"the time {written!r} cannot be read; the time it was sent ({sent}) is used instead")
            return Timestamp(utc_from_epoch_ms(ms), TimestampKind.ABSOLUTE, Precision.MILLISECOND, as_written=sent)
        self._warn(locator, f"this record's time {written!r} cannot be read, so the record was not imported "
                            "(it stays in the stored original)")
        return None

    def _sms(self, attrs: dict[str, str], locator: str) -> None:
        timestamp = self._time(attrs, locator)
        if timestamp is None:
            return
        get = attrs.get
        body = get("body", "")
        if _REF_MARK in body:
            text, raw = self._clean(body, locator, "message")
        else:
            text = raw = body
        address = get("address", "")
        other = self._party(address, get("contact_name"))
        kind = get("type", "")
        mine, undelivered = _SMS_TYPES.get(kind, (None, None))
        recipients: tuple[Participant, ...]
        if mine is None:
            self._warn(locator, f"the message type {kind!r} is not one the app documents, so who wrote it is unknown")
            sender, recipients = other, ()
        elif mine:
            sender, recipients = _ME, (other,)
        else:
            sender, recipients = other, (_ME,)
        if undelivered:
            self._warn(locator, f"this text you wrote is {undelivered} (SMS type {kind}); it is imported as yours")
        subject = self._subject(get("subject"), locator)
        self.out.append(Message(
            source_sha256=self.sha, locator=locator, platform="sms", conversation=self._conversation(address),
            timestamp=timestamp, text=text, raw=raw, sender=sender, recipients=recipients, from_me=mine,
            subject=subject))

    def _mms(self, attrs: dict[str, str], locator: str) -> None:
        timestamp = self._time(attrs, locator)
        if timestamp is None:
            return
        get = attrs.get
        address = get("address", "")
        addresses = [a for a in address.split("~") if a.strip()]
        box = get("msg_box", "")
        mine, undelivered = _SMS_TYPES.get(box, (None, None))
        # contact_name lists the thread's names in the order of ``address``; a name holding ", " itself would
        # break the split, so names are only used when the counts agree.
        contact = get("contact_name") or ""
        names = [contact] if len(addresses) == 1 else contact.split(", ")
        name_of = dict(zip(addresses, names, strict=True)) if len(names) == len(addresses) else {}
        single_name = name_of.get(addresses[0]) if addresses else None
        by_type: dict[str, list[Participant]] = {}
        for addr in self.addrs:
            value = addr.get("address", "")
            if value and value not in _NULLS and value != "insert-address-token":
                by_type.setdefault(addr.get("type", ""), []).append(self._party(value, name_of.get(value)))
        if mine is None:
            self._warn(locator, f"the message box {box!r} is not one the app documents, so who wrote it is unknown")
        senders = by_type.get(_MMS_FROM, [])
        recipients: tuple[Participant, ...]
        if mine:
            sender: Participant | None = _ME
            recipients = tuple(p for t in (_MMS_TO, _MMS_CC, _MMS_BCC) for p in by_type.get(t, ()))
        else:
            sender = senders[0] if senders else (self._party(addresses[0], single_name) if addresses else None)
            # ``address`` lists everyone in the thread but the phone owner, so a recipient missing from it is the
            # owner (their own number).
            others = {_normal_address(a) for a in addresses}
            listed = [p for t in (_MMS_TO, _MMS_CC) for p in by_type.get(t, ()) if p != sender]
            recipients = tuple(dict.fromkeys(
                p if _normal_address(p.platform_id or "") in others else _ME for p in listed))
            if not recipients and mine is False:
                recipients = (_ME,)
        if undelivered:
            self._warn(locator, f"this picture message you wrote is {undelivered} (box {box}); it is imported "
                                "as yours")
        texts: list[str] = []
        raws: list[str] = []
        attachments: list[Attachment] = []
        for k, part in enumerate(self.parts, 1):
            media_type = part.get("ct", "")
            if media_type == "application/smil":
                continue  # layout for the phone's viewer, not content
            part_locator = f"{locator}/parts/part[{k}]"
            text = part.get("text")
            if media_type == "text/plain" and text is not None and text != "null" and "data" not in part:
                if _REF_MARK in text:
                    text, raw = self._clean(text, part_locator, "message")
                else:
                    raw = text
                texts.append(text)
                raws.append(raw)
                continue
            attachments.append(self._attachment(part, part_locator, k, media_type, text))
        if self.extra_parts:
            self._warn(locator, f"{self.extra_parts:,} further parts or addresses beyond {_MAX_PARTS:,} were skipped")
        subject = self._subject(get("sub"), locator)
        self.out.append(Message(
            source_sha256=self.sha, locator=locator, platform="sms", conversation=self._conversation(address),
            timestamp=timestamp, text="\n".join(texts), raw="\n".join(raws), sender=sender,
            recipients=recipients, from_me=mine, subject=subject, attachments=tuple(attachments)))

    def _attachment(self, part: dict[str, str], locator: str, k: int, media_type: str,
                    text: str | None) -> Attachment:
        name = next((part[f] for f in ("cl", "fn", "name") if part.get(f) not in (None, *_NULLS)), f"part-{k}")
        kind = media_type or None
        data = part.get("data")
        if data is None:
            if text is not None and text != "null":
                blob = text.encode("utf-8", "surrogatepass")
                return Attachment(name, locator, kind, hashlib.sha256(blob).hexdigest(), len(blob), data=blob)
            self._warn(locator, f"the attachment {name!r} was left out of the backup (the app can skip media)")
            return Attachment(name, locator, kind, omitted=True)
        encoded: bytes | str | None = data
        if data.startswith(_DATA_MARK) and self.prefilter is not None:
            lifted = self.prefilter.take(data[1:])
            if lifted is None:
                self._warn(locator, f"the data of attachment {name!r} could not be found again and was not kept")
                return Attachment(name, locator, kind, omitted=True)
            encoded, encoded_size = lifted[0], lifted[1]
        else:
            encoded_size = len(data)
        if encoded is None or encoded_size > self.max_data:
            self._warn(locator, f"the attachment {name!r} is larger than the "
                                f"{self.ctx.limits.max_attachment_bytes:,} bytes safetrail keeps and was not kept")
            return Attachment(name, locator, kind, omitted=True)
        decoded = _decode_base64(encoded)
        if decoded is None:
            self._warn(locator, f"the data of attachment {name!r} is not valid base64, so it was not kept")
            return Attachment(name, locator, kind, omitted=True)
        return Attachment(name, locator, kind, hashlib.sha256(decoded).hexdigest(), len(decoded), data=decoded)

    def _call(self, attrs: dict[str, str], locator: str) -> None:
        timestamp = self._time(attrs, locator)
        if timestamp is None:
            return
        get = attrs.get
        number = get("number", "")
        if number.strip() in ("", "-1", "-2", "-3", "null"):
            # No number: the caller withheld it (presentation 2), or the network did not pass it on (3, 4).
            other = Participant(_HIDDEN_CALLER.get(get("presentation", ""), "Withheld number"))
            conversation = _WITHHELD
        else:
            other = self._party(number, get("contact_name"))
            conversation = self._conversation(number)
        kind = get("type", "")
        known = _CALL_TYPES.get(kind)
        if known is None:
            self._warn(locator, f"the call type {kind!r} is not one the app documents, so its direction is unknown")
            mine: bool | None = None
            label = "Call"
        else:
            mine, label = known
        text = label + _duration(get("duration", ""))
        raw = " ".join(f'{k}="{v}"' for k, v in attrs.items())
        if _REF_MARK in raw:
            raw = self._clean(raw, locator, "call record")[1]
        sender, recipients = (_ME, (other,)) if mine else (other, (_ME,)) if mine is False else (other, ())
        self.out.append(Message(
            source_sha256=self.sha, locator=locator, platform="sms", conversation=conversation,
            timestamp=timestamp, text=text, raw=raw, sender=sender, recipients=recipients, from_me=mine,
            kind=MessageKind.CALL))


_SURROGATE_CHARS = {str(n): chr(n) for n in range(0xD800, 0xE000)}


def _code_unit(match: re.Match[str]) -> str:
    found = _SURROGATE_CHARS.get(match.group(1) or "")
    if found is not None:
        return found
    decimal, hexa = match.group(1), match.group(2)
    value = int(decimal) if decimal is not None else int(hexa, 16)
    return chr(value) if value <= 0x10FFFF else "\ufffd"


# Milliseconds from 1990 to 2200: anything outside is not a phone's clock.
_MS_MIN, _MS_MAX = 631_152_000_000, 7_258_118_400_000


def _epoch_ms(text: str) -> int | None:
    if not text or not text.isdigit() or len(text) > 16:
        return None
    value = int(text)
    return value if _MS_MIN <= value <= _MS_MAX else None


def _epoch_seconds(text: str) -> int | None:
    if not text or not text.isdigit() or len(text) > 12:
        return None
    value = int(text)
    return value if _MS_MIN // 1000 <= value <= _MS_MAX // 1000 else None


def _duration(text: str) -> str:
    if not text.isdigit() or len(text) > 9:
        return ""
    seconds = int(text)
    if seconds == 0:
        return ""
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f" ({hours} h {minutes} min {seconds} s)"
    if minutes:
        return f" ({minutes} min {seconds} s)"
    return f" ({seconds} s)"


def _decode_base64(encoded: bytes | str) -> bytes | None:
    try:
        return binascii.a2b_base64(encoded, strict_mode=True)
    except (binascii.Error, ValueError):
        pass
    # Some writers wrap base64 lines; whitespace is harmless, anything else is damage.
    compact = re.sub(r"\s+", "", encoded) if isinstance(encoded, str) else re.sub(rb"\s+", b"", encoded)
    try:
        return binascii.a2b_base64(compact, strict_mode=True)
    except (binascii.Error, ValueError):
        return None

