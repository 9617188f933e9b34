"""Email: single messages (``.eml``, RFC 5322) and mailboxes (``mbox``, including Gmail Takeout).

Messages are parsed with the standard library's ``email`` package (``policy.default``), one at a time: an mbox is
split on its ``From `` separator lines while streaming, so a mailbox of any size is never held in memory whole.

Choices made here (they change what users see, so they are listed):

* mbox flavour: mboxrd is assumed, so one ``>`` is removed from every body line matching ``>+From `` (mboxo would
  only unquote ``>From ``; the two differ only for lines starting ``>>From ``). A separator is a ``From `` line that
  carries a time and a four-digit year, so an unquoted "From now on..." in a body does not split a message.
* ``Message.raw`` is the source text of the part the body was taken from, exactly as it stands in the file: still
  quoted-printable or base64, CRLF kept, ``>From`` quoting kept. ``Message.text`` is that part decoded, with line
  ends made ``\\n``; an HTML-only message is turned into plain text (links kept as "text (address)").
* Times: a ``Date`` with a zone is ``sender-asserted`` (the sender's software wrote it; it can be wrong or forged).
  A ``Date`` without a zone is read in the zone the user chose, with a warning. A missing or unreadable ``Date``
  falls back, with a warning, to the newest ``Received`` header (the time the user's own mail server took the
  message, so ``absolute``), then to the mbox ``From `` line. A message with no time at all is not imported and
  gets a warning: it stays in the stored original, and inventing a time would mislead a timeline.
* Whose mailbox: the owner is the address that Gmail's ``Sent`` label and ``Delivered-To`` headers point at, else the
  most frequent ``To`` of the mailbox (a headers-only first pass when the stream can seek). ``from_me`` is None
  when that cannot be told, and always for a single ``.eml`` without ``Delivered-To``.
* Thread (``Message.conversation``): Gmail's ``X-GM-THRID``, else the first ``References`` id (the thread's first
  message), else ``In-Reply-To``, else the message's own ``Message-ID`` (so a first message and its replies share
  one thread), else the subject without ``Re:``/``Fwd:`` prefixes.
* The HTML alternative of a chosen plain-text body is the same message in another form and is not listed again as
  an attachment; every other part (inline images included) is an attachment with its bytes.

This module must never open paths, write files, fetch anything an HTML part links to, or run anything in a message.
"""

from __future__ import annotations

import codecs
import hashlib
import mimetypes
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email import errors as email_errors
from email import policy as email_policy
from email import utils as email_utils
from email.message import EmailMessage
from email.message import Message as MimePart
from email.parser import BytesHeaderParser, BytesParser
from html.parser import HTMLParser
from typing import BinaryIO, ClassVar
from zoneinfo import ZoneInfo

from safetrail.errors import HostileInput, ParseError
from safetrail.importers.base import ParseContext, Probe, Record
from safetrail.model import (
    Attachment,
    Message,
    ParseWarning,
    Participant,
    Precision,
    Timestamp,
    TimestampKind,
)

__all__ = ["EmailImporter"]

_LINE_PIECE = 1 << 16  # mbox lines are read in pieces of at most this many bytes
_MAX_PARTS = 1000
_MAX_DEPTH = 32
_MAX_HTML = 4 << 20  # characters of HTML turned into text; larger bodies are shown as written
_SEPARATOR = re.compile(rb"^From \S*\s.*\b\d{1,2}:\d{2}(?::\d{2})?\b.*\b\d{4}\b")
_QUOTED_FROM = re.compile(rb"^>+From ")
_HEADER_LINE = re.compile(rb"^([!-9;-~]+):")
_SNIFF_HEADERS = frozenset((
    b"received", b"message-id", b"mime-version", b"from", b"to", b"cc", b"date", b"subject", b"return-path",
    b"delivered-to", b"content-type", b"x-gm-thrid", b"x-gm-labels", b"reply-to", b"in-reply-to", b"references",
))
_MSG_ID = re.compile(r"<[^<>\s]+>")
_SUBJECT_PREFIX = re.compile(r"^\s*(?:(?:re|fwd?|aw|wg|sv|vs|tr|rv|antw)\s*(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_ZONE_GIVEN = re.compile(r"(?:[+-]\d{4}|\b(?:UT|GMT|[ECMP][SD]T|Z))\s*(?:\([^()]*\))?\s*$", re.IGNORECASE)
_FROM_LINE_TIME = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),?\s+)?(?P<mon>[A-Z][a-z]{2})\s+(?P<day>\d{1,2})\s+"
    r"(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?\s+(?:(?P<zone>[+-]\d{4})\s+)?(?P<year>\d{4})")
_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                                       "Dec"), 1)}
_PARSE_FAILURES = (ValueError, TypeError, IndexError, KeyError, AttributeError, LookupError, UnicodeError,
                   AssertionError, email_errors.MessageError)
_B64_DEFECTS = (email_errors.InvalidBase64CharactersDefect, email_errors.InvalidBase64PaddingDefect,
                email_errors.InvalidBase64LengthDefect)


class EmailImporter:
    """Reads ``.eml`` files and ``mbox`` mailboxes (Gmail Takeout, Thunderbird, mutt...)."""

    name: ClassVar[str] = "email"
    version: ClassVar[str] = "1.0"
    platform: ClassVar[str] = "email"
    title: ClassVar[str] = "Email: single messages (.eml) and mailboxes (mbox, Gmail Takeout)"
    variants: ClassVar[tuple[str, ...]] = (
        ".eml (RFC 5322), LF or CRLF line ends",
        "mbox (mboxrd quoting), Gmail Takeout with X-GM-THRID and X-GM-LABELS",
        "plain text, quoted-printable, base64, HTML-only and multipart messages with attachments",
    )

    def sniff(self, probe: Probe) -> float:
        head = probe.head.removeprefix(b"\xef\xbb\xbf")
        name = probe.name.lower()
        first, _, rest = head.partition(b"\n")
        if head.startswith(b"From ") and _SEPARATOR.match(first):
            score = 0.9 if _header_count(rest) >= 2 else 0.5
            return score + (0.05 if name.endswith((".mbox", ".mbx")) or "." not in name else 0.0)
        found = _header_count(head)
        if name.endswith(".eml"):
            return 0.95 if found >= 2 else 0.5 if found == 1 else 0.2
        return 0.8 if found >= 3 else 0.4 if found == 2 else 0.0

    def parse(self, stream: BinaryIO, ctx: ParseContext) -> Iterator[Record]:
        return _Reader(stream, ctx).records()


def _header_count(block: bytes) -> int:
    """How many well-known header names open lines of the header block at the start of ``block``."""
    found: set[bytes] = set()
    for line in block.split(b"\n")[:200]:
        if not line.strip():
            break
        if line[:1] in (b" ", b"\t"):
            continue
        match = _HEADER_LINE.match(line)
        if match is None:
            break
        if match.group(1).lower() in _SNIFF_HEADERS:
            found.add(match.group(1).lower())
    return len(found)


@dataclass(frozen=True, slots=True)
class _Raw:
    """One message's bytes as split from the source, with what unquoting changed."""

    locator: str
    data: bytes
    from_line: str | None = None
    quoted_lines: frozenset[int] = frozenset()  # line numbers (0-based) that had one ">" removed
    size: int = 0
    oversize: bool = False


class _Reader:
    """One pass over one file: an mbox is split and each message parsed; a lone message is parsed whole."""

    def __init__(self, stream: BinaryIO, ctx: ParseContext) -> None:
        self.stream = stream
        self.ctx = ctx
        self.sha = ctx.source.sha256
        self.member = ctx.source.name
        self.max_message = ctx.limits.max_attachment_bytes
        self.owner: str | None = None
        self.out: list[Record] = []

    def records(self) -> Iterator[Record]:
        start = self._tell()
        first = self._readline()
        skipped = b""
        while first and not first.strip() and len(skipped) < 4096:
            skipped += first
            first = self._readline()
        if first.startswith(b"From ") and _SEPARATOR.match(first[:256]):
            yield from self._mbox(start, first)
        else:
            yield from self._single(skipped + first)

    # -- reading -------------------------------------------------------------------------------------------------

    def _tell(self) -> int | None:
        try:
            return self.stream.tell() if self.stream.seekable() else None
        except (OSError, ValueError):
            return None

    def _readline(self) -> bytes:
        try:
            return self.stream.readline(_LINE_PIECE)
        except OSError as exc:
            raise ParseError(f"the file could not be read ({exc.strerror or exc})", path=self.member) from exc

    def _read(self, size: int) -> bytes:
        try:
            return self.stream.read(size)
        except OSError as exc:
            raise ParseError(f"the file could not be read ({exc.strerror or exc})", path=self.member) from exc

    def _single(self, first: bytes) -> Iterator[Record]:
        data = first + self._read(self.max_message + 1 - len(first))
        if len(data) > self.max_message:
            raise HostileInput(f"this message is larger than the {self.max_message:,} bytes safetrail reads for "
                               "one email", path=self.member)
        yield from self._message(_Raw(f"{self.member}#message", data, size=len(data)), single=True)

    def _mbox(self, start: int | None, first: bytes) -> Iterator[Record]:
        if start is not None:
            try:
                self.stream.seek(start)
                self.owner = self._find_owner(self._readline())
                self.stream.seek(start)
                first = self._readline()
                while not first.startswith(b"From "):
                    first = self._readline()
            except OSError as exc:
                raise ParseError(f"the file could not be read again ({exc.strerror or exc})",
                                 path=self.member) from exc
        for raw in self._split(first, headers_only=False):
            if raw.oversize:
                yield ParseWarning(self.sha, raw.locator,
                                   f"this message is {raw.size:,} bytes, larger than the {self.max_message:,} "
                                   "safetrail reads for one email, so it was not imported (it stays in the stored "
                                   "original)")
                continue
            yield from self._message(raw, single=False)
        yield from self._flush()

    def _split(self, first: bytes, *, headers_only: bool) -> Iterator[_Raw]:
        """Split an mbox on separator lines while streaming; undo mboxrd ``>From`` quoting line by line."""
        lines: list[bytes] = []
        quoted: set[int] = set()
        size = index = line_no = 0
        from_line: str | None = None
        at_line_start = in_headers = True
        oversize = False
        piece = first
        while piece:
            starts_line = at_line_start
            at_line_start = piece.endswith(b"\n")
            if starts_line and piece.startswith(b"From ") and _SEPARATOR.match(piece[:256]):
                if from_line is not None:
                    yield self._finish(index, lines, from_line, quoted, size, oversize)
                index += 1
                lines, quoted, size, line_no, in_headers, oversize = [], set(), 0, 0, True, False
                from_line = piece[:256].decode("latin-1").rstrip("\r\n")
                piece = self._readline()
                continue
            if starts_line and piece[:1] == b">" and _QUOTED_FROM.match(piece):
                piece = piece[1:]
                quoted.add(line_no)
            if starts_line and in_headers and not piece.strip(b"\r\n"):
                in_headers = False
            if at_line_start:
                line_no += 1
            size += len(piece)
            if size > self.max_message:
                oversize = True
                lines = []
            elif not oversize and (in_headers or not headers_only):
                lines.append(piece)
            piece = self._readline()
        if from_line is not None:
            yield self._finish(index, lines, from_line, quoted, size, oversize)

    def _finish(self, index: int, lines: list[bytes], from_line: str, quoted: set[int], size: int,
                oversize: bool) -> _Raw:
        data = b"".join(lines)
        # The blank line before the next separator belongs to the mbox, not to the message.
        if data.endswith(b"\r\n\r\n"):
            data = data[:-2]
        elif data.endswith(b"\n\n"):
            data = data[:-1]
        return _Raw(f"{self.member}#message[{index}]", data, from_line, frozenset(quoted), size, oversize)

    # -- whose mailbox -------------------------------------------------------------------------------------------

    def _find_owner(self, first: bytes) -> str | None:
        owner_votes: Counter[str] = Counter()
        to_votes: Counter[str] = Counter()
        parser = BytesHeaderParser(policy=email_policy.default)
        for raw in self._split(first, headers_only=True):
            try:
                headers = parser.parsebytes(raw.data)
                labels = {label.strip().lower() for label in (_raw_header(headers, "X-GM-LABELS") or "").split(",")}
                sender = _addresses(headers, "From")
                delivered = _addresses(headers, "Delivered-To")
                if "sent" in labels and sender:
                    owner_votes[sender[0][1]] += 1
                elif delivered:
                    owner_votes.update(addr for _, addr in delivered)
                else:
                    to_votes.update(addr for _, addr in _addresses(headers, "To"))
            except _PARSE_FAILURES:
                continue
        for votes in (owner_votes, to_votes):
            ranked = votes.most_common(2)
            if ranked and (len(ranked) == 1 or ranked[0][1] > ranked[1][1]):
                return ranked[0][0]
        return None

    # -- one message ---------------------------------------------------------------------------------------------

    def _warn(self, locator: str, reason: str) -> None:
        self.out.append(ParseWarning(self.sha, locator, reason))

    def _flush(self) -> Iterator[Record]:
        if self.out:
            out, self.out = self.out, []
            yield from out

    def _message(self, raw: _Raw, *, single: bool) -> Iterator[Record]:
        yield from self._flush()
        message: Message | None = None
        if not single and not raw.data.strip():
            self._warn(raw.locator, "this message is empty and was not imported")
        else:
            try:
                message = self._build(raw, single=single)
            except RecursionError:
                self._warn(raw.locator, "this message is nested too deeply to read safely and was not imported "
                                        "(it stays in the stored original)")
            except _PARSE_FAILURES as exc:
                self._warn(raw.locator, f"this message could not be read ({type(exc).__name__}: {exc}) and was not "
                                        "imported (it stays in the stored original)")
        yield from self._flush()
        if message is not None:
            yield message

    def _build(self, raw: _Raw, *, single: bool) -> Message | None:
        loc = raw.locator
        parsed = BytesParser(policy=email_policy.default).parsebytes(raw.data)
        if not isinstance(parsed, EmailMessage):
            raise ValueError("not an email message")
        msg = parsed
        if single and not any(True for _ in msg.raw_items()):
            raise ParseError("this file holds no email headers, so it is not an email message", path=self.member,
                             locator=loc, hint="Choose an .eml file saved from your mail program, or an mbox file.")
        timestamp = self._time(msg, raw)
        if timestamp is None:
            return None

        def warn(reason: str) -> None:
            self._warn(loc, reason)

        senders = _addresses(msg, "From", warn)
        sender = Participant(senders[0][0] or senders[0][1], senders[0][1]) if senders else None
        if sender is None:
            from_text = _raw_header(msg, "From")
            sender = Participant(from_text) if from_text else None
        recipients = tuple(Participant(name or addr, addr) for field in ("To", "Cc", "Bcc")
                           for name, addr in _addresses(msg, field, warn))
        owner = self.owner
        if single:
            delivered = _addresses(msg, "Delivered-To")
            owner = delivered[0][1] if delivered else None
        from_me = senders[0][1] == owner if owner is not None and senders else None
        subject = _header_text(msg, "Subject")
        message_id = _first_id(_raw_header(msg, "Message-ID"))
        reply_to = _first_id(_raw_header(msg, "In-Reply-To"))
        body, body_raw, attachments = self._content(msg, raw, loc)
        return Message(
            source_sha256=self.sha, locator=loc, platform="email",
            conversation=_thread(msg, subject, message_id, reply_to), timestamp=timestamp, text=body,
            raw=body_raw, sender=sender, recipients=recipients, from_me=from_me, platform_id=message_id,
            reply_to=reply_to, subject=subject, attachments=attachments)

    # -- time ----------------------------------------------------------------------------------------------------

    def _time(self, msg: EmailMessage, raw: _Raw) -> Timestamp | None:
        loc = raw.locator
        written = (_raw_header(msg, "Date") or "")[:200]
        if written:
            found = _parse_date(written)
            if found is not None and found.tzinfo is not None:
                return Timestamp(found, TimestampKind.SENDER_ASSERTED, Precision.SECOND, as_written=written)
            if found is not None and _ZONE_GIVEN.search(written):
                # "-0000": the time is UTC and the sender's own zone is not said (RFC 5322 3.3).
                return Timestamp(found.replace(tzinfo=UTC), TimestampKind.SENDER_ASSERTED, Precision.SECOND,
                                 as_written=written)
            if found is not None:
                zone = self.ctx.tz
                self._warn(loc, f"the Date header {written!r} gives no time zone safetrail can read; "
                                f"{zone.key} was assumed")
                return Timestamp(found.replace(tzinfo=zone), TimestampKind.LOCAL_ASSUMED, Precision.SECOND,
                                 zone=zone.key, as_written=written)
        problem = "has no Date header" if not written else f"has a Date header that cannot be read ({written!r})"
        for received in _raw_headers(msg, "Received"):
            stamp = received.rpartition(";")[2].strip()[:200]
            found = _parse_date(stamp) if stamp else None
            if found is not None:
                if found.tzinfo is None:
                    found = found.replace(tzinfo=UTC)
                self._warn(loc, f"this message {problem}; the time shown is when the receiving mail server took it "
                                "(its newest Received header)")
                return Timestamp(found, TimestampKind.ABSOLUTE, Precision.SECOND, as_written=stamp)
        if raw.from_line is not None:
            found_line = _from_line_time(raw.from_line, self.ctx.tz)
            if found_line is not None:
                self._warn(loc, f"this message {problem} and no readable Received header; the time shown is from "
                                "the mailbox's own separator line")
                return found_line
        self._warn(loc, f"this message {problem} and nothing else in it says when it was sent or received, so it "
                        "was not imported (it stays in the stored original)")
        return None

    # -- body and attachments ------------------------------------------------------------------------------------

    def _content(self, msg: EmailMessage, raw: _Raw, loc: str) -> tuple[str, str, tuple[Attachment, ...]]:
        leaves: list[tuple[str, MimePart, int | None]] = []
        self._leaves(msg, "", leaves, None, 0, loc)
        if len(leaves) >= _MAX_PARTS:
            self._warn(loc, f"this message has more than {_MAX_PARTS:,} parts; the rest were not read")
        body_at = _choose_body(leaves)
        body = body_raw = ""
        alternatives: int | None = None
        if body_at is not None:
            section, part, alternatives = leaves[body_at]
            body, body_raw = self._body(part, raw, f"{loc}/part[{section}]")
        attachments: list[Attachment] = []
        for i, (section, part, group) in enumerate(leaves):
            if i == body_at:
                continue
            if (alternatives is not None and group == alternatives and part.get_content_maintype() == "text"
                    and not _is_attachment(part)):
                continue  # the same body in another form (HTML beside plain text)
            attachments.append(self._attachment(part, section, f"{loc}/part[{section}]"))
        return body, body_raw, tuple(attachments)

    def _leaves(self, part: MimePart, section: str, out: list[tuple[str, MimePart, int | None]],
                group: int | None, depth: int, loc: str) -> None:
        """Collect the parts that hold content, numbered as IMAP sections (1, 2, 2.1...)."""
        if depth > _MAX_DEPTH:
            self._warn(loc, f"parts nested more than {_MAX_DEPTH} deep were not read")
            return
        if part.is_multipart() and part.get_content_maintype() == "multipart":
            children = part.get_payload()
            if not isinstance(children, list):
                return
            inner = id(part) if part.get_content_subtype() == "alternative" else group
            for n, child in enumerate(children, 1):
                if len(out) >= _MAX_PARTS:
                    return
                if isinstance(child, MimePart):
                    self._leaves(child, f"{section}.{n}" if section else str(n), out, inner, depth + 1, loc)
            return
        out.append((section or "1", part, group))

    def _body(self, part: MimePart, raw: _Raw, loc: str) -> tuple[str, str]:
        content = part.get_payload(decode=True)
        data = content if isinstance(content, bytes) else b""
        self._check_transfer(part, loc)
        charset = part.get_content_charset()
        text = _decode(data, charset, loc, self._warn, "text")
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if part.get_content_type() == "text/html":
            if len(text) <= _MAX_HTML:
                text = _html_to_text(text)
            else:
                self._warn(loc, "this HTML body is too large to turn into plain text; it is shown as written")
        source = _source_bytes(part)
        if raw.quoted_lines:
            source = _requote(source, raw)
        if _transfer_encoding(part) in ("quoted-printable", "base64"):
            return text, source.decode("ascii", "replace") if source.isascii() else source.decode("utf-8", "replace")
        return text, _decode(source, charset, loc, None, "text")

    def _check_transfer(self, part: MimePart, loc: str) -> None:
        if any(isinstance(d, _B64_DEFECTS) for d in part.defects):
            self._warn(loc, "this part's base64 is damaged; what could be decoded was kept")

    def _attachment(self, part: MimePart, section: str, loc: str) -> Attachment:
        media_type = part.get_content_type()
        try:
            filename = part.get_filename()
        except _PARSE_FAILURES:
            filename = None
        name = _clean(filename) if filename else f"part-{section}{mimetypes.guess_extension(media_type) or '.bin'}"
        if part.is_multipart():
            # An attached email (message/rfc822): its bytes as the parser holds them, headers unchanged.
            inner = part.get_payload(0)
            try:
                data = inner.as_bytes(policy=email_policy.compat32) if isinstance(inner, MimePart) else b""
            except _PARSE_FAILURES:
                self._warn(loc, f"the attached message {name!r} could not be written out again and was not kept")
                return Attachment(name, loc, media_type, omitted=True)
            if not filename:
                name = f"part-{section}.eml"
        else:
            content = part.get_payload(decode=True)
            data = content if isinstance(content, bytes) else b""
            self._check_transfer(part, loc)
        if len(data) > self.ctx.limits.max_attachment_bytes:
            self._warn(loc, f"the attachment {name!r} is larger than the {self.ctx.limits.max_attachment_bytes:,} "
                            "bytes safetrail keeps and was not kept")
            return Attachment(name, loc, media_type, omitted=True)
        return Attachment(name, loc, media_type, hashlib.sha256(data).hexdigest(), len(data), data=data)


# -- headers -----------------------------------------------------------------------------------------------------


def _clean(value: str) -> str:
    """Undo the parser's surrogate escapes: raw UTF-8 bytes in headers are read as UTF-8, invalid ones as U+FFFD."""
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return value


def _header_text(msg: MimePart, name: str) -> str | None:
    """A header decoded (encoded words, RFC 2047), or as written when it cannot be decoded."""
    try:
        header = msg.get(name)
        return None if header is None else " ".join(_clean(str(header)).split())
    except _PARSE_FAILURES:
        return _raw_header(msg, name)


def _raw_headers(msg: MimePart, name: str) -> list[str]:
    wanted = name.lower()
    return [" ".join(_clean(str(value)).split()) for key, value in msg.raw_items() if key.lower() == wanted]


def _raw_header(msg: MimePart, name: str) -> str | None:
    found = _raw_headers(msg, name)
    return found[0] if found else None


def _addresses(msg: MimePart, field: str, warn: Callable[[str], None] | None = None) -> list[tuple[str, str]]:
    """(display name, lower-cased address) pairs of an address header; damaged ones give a warning."""
    found: list[tuple[str, str]] = []
    try:
        headers = msg.get_all(field) or []
    except _PARSE_FAILURES:
        headers = []
        if warn is not None:
            warn(f"the {field} header cannot be read as addresses")
    for header in headers:
        try:
            if hasattr(header, "addresses"):
                pairs = [(a.display_name, a.addr_spec) for a in header.addresses]
                defects = getattr(header, "defects", ())
            else:
                # Headers the parser does not know as address fields (Delivered-To) are read the older way.
                pairs = email_utils.getaddresses([str(header)])
                defects = ()
        except _PARSE_FAILURES:
            pairs, defects = [], (True,)
        for display_name, addr_spec in pairs:
            spec = _clean(addr_spec).strip()
            if spec and spec != "<>":
                found.append((_clean(display_name).strip(), spec.lower()))
        if defects and warn is not None:
            warn(f"the {field} header {_clean(str(header))!r} is not a well-formed address list; what could be "
                 "read from it was kept")
    return found


def _first_id(value: str | None) -> str | None:
    if not value:
        return None
    match = _MSG_ID.search(value)
    return match.group(0) if match else value.strip() or None


def _thread(msg: MimePart, subject: str | None, message_id: str | None, reply_to: str | None) -> str:
    gmail = _raw_header(msg, "X-GM-THRID")
    if gmail:
        return f"gmail-thread:{gmail}"
    references = _MSG_ID.findall(_raw_header(msg, "References") or "")
    if references:
        return str(references[0])
    if reply_to:
        return reply_to
    if message_id:
        return message_id
    if subject:
        return "subject:" + " ".join(_SUBJECT_PREFIX.sub("", subject).split()).casefold()
    return "email"


def _parse_date(text: str) -> datetime | None:
    try:
        return email_utils.parsedate_to_datetime(text)
    except (ValueError, TypeError, IndexError, OverflowError):
        return None


def _from_line_time(line: str, zone: ZoneInfo) -> Timestamp | None:
    match = _FROM_LINE_TIME.search(line[:256])
    if match is None or match.group("mon") not in _MONTHS:
        return None
    try:
        naive = datetime(int(match.group("year")), _MONTHS[match.group("mon")], int(match.group("day")),
                         int(match.group("h")), int(match.group("m")), int(match.group("s") or 0))
    except ValueError:
        return None
    written = match.group(0)
    offset = match.group("zone")
    if offset is not None:
        seconds = (int(offset[1:3]) * 3600 + int(offset[3:5]) * 60) * (-1 if offset[0] == "-" else 1)
        return Timestamp(datetime.fromtimestamp(naive.replace(tzinfo=UTC).timestamp() - seconds, UTC),
                         TimestampKind.ABSOLUTE, Precision.SECOND, as_written=written)
    return Timestamp(naive.replace(tzinfo=zone), TimestampKind.LOCAL_ASSUMED, Precision.SECOND, zone=zone.key,
                     as_written=written)


# -- bodies ------------------------------------------------------------------------------------------------------


def _is_attachment(part: MimePart) -> bool:
    return (part.get_content_disposition() or "") == "attachment"


def _choose_body(leaves: list[tuple[str, MimePart, int | None]]) -> int | None:
    for wanted in ("text/plain", "text/html"):
        for i, (_, part, _) in enumerate(leaves):
            if part.get_content_type() == wanted and not _is_attachment(part):
                return i
    return None


def _transfer_encoding(part: MimePart) -> str:
    return str(part.get("Content-Transfer-Encoding", "")).strip().lower()


def _source_bytes(part: MimePart) -> bytes:
    """The part's body exactly as in the file, transfer encoding and line ends untouched."""
    encoding = _transfer_encoding(part)
    if encoding in ("quoted-printable", "base64") or encoding.startswith("x-uu"):
        payload = part.get_payload(decode=False)
        return payload.encode("ascii", "surrogateescape") if isinstance(payload, str) else b""
    content = part.get_payload(decode=True)  # 7bit/8bit/binary: decoding leaves the bytes as they are
    return content if isinstance(content, bytes) else b""


def _requote(source: bytes, raw: _Raw) -> bytes:
    """Put back the mboxrd ``>`` that splitting removed, so raw text is as it stands in the file."""
    at = raw.data.find(source)
    if at < 0 or not source:
        return source
    first = raw.data.count(b"\n", 0, at)
    lines = source.splitlines(keepends=True)
    return b"".join(b">" + line if first + n in raw.quoted_lines else line for n, line in enumerate(lines))


def _decode(data: bytes, charset: str | None, loc: str, warn: Callable[[str, str], None] | None, what: str) -> str:
    """Bytes to text in the declared charset; unknown charsets and bad bytes are read with U+FFFD and a warning."""
    def say(reason: str) -> None:
        if warn is not None:
            warn(loc, reason)

    declared = (charset or "us-ascii").strip().lower()
    try:
        codec = codecs.lookup(declared).name
    except LookupError:
        try:
            text = data.decode("utf-8")
            say(f"the {what} says it is in {charset!r}, a character set safetrail does not know; it was read as "
                "UTF-8")
        except UnicodeDecodeError:
            text = data.decode("utf-8", "replace")
            say(f"the {what} says it is in {charset!r}, a character set safetrail does not know; it was read as "
                "UTF-8 and unreadable bytes are shown as \ufffd")
        return text
    if codec == "ascii" and not data.isascii():
        try:
            text = data.decode("utf-8")
            say(f"the {what} says it is plain ASCII but holds UTF-8 characters; it was read as UTF-8")
            return text
        except UnicodeDecodeError:
            codec = "cp1252"
            say(f"the {what} says it is plain ASCII but holds other bytes; it was read as Windows-1252")
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        say(f"some bytes of the {what} are not valid {charset or codec}; they are shown as \ufffd")
        return data.decode(codec, "replace")


class _HtmlText(HTMLParser):
    """HTML to the plain text a reader sees: block elements break lines, links keep their address."""

    _BLOCKS = frozenset(("p", "div", "br", "li", "tr", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
                         "blockquote", "pre", "hr", "section", "article", "header", "footer", "dt", "dd"))
    _HIDDEN = frozenset(("script", "style", "head", "title", "template"))

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self.hidden = 0
        self.links: list[tuple[str | None, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self.hidden += 1
        elif tag == "li":
            self.pieces.append("\n- ")
        elif tag in self._BLOCKS:
            self.pieces.append("\n")
        elif tag == "a":
            self.links.append((dict(attrs).get("href"), len(self.pieces)))
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt and not self.hidden:
                self.pieces.append(f"[{alt}]")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            return
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self._BLOCKS and tag != "li":
            self.pieces.append("\n")
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            shown = "".join(self.pieces[start:]).strip()
            if href and href.startswith(("http:", "https:", "mailto:")) and href.removeprefix("mailto:") != shown:
                self.pieces.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.pieces.append(re.sub(r"\s+", " ", data))

    def text(self) -> str:
        lines = (" ".join(line.split()) for line in "".join(self.pieces).split("\n"))
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _html_to_text(html: str) -> str:
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    return parser.text()
