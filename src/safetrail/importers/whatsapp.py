"""WhatsApp "Export chat" files: the ``.txt`` transcript, or a ``.zip`` holding it and the media.

Variants read (see ``WhatsAppImporter.variants``): Android ``DATE, TIME - SENDER: TEXT`` and iOS
``[DATE, TIME] SENDER: TEXT``; dates ``d/m/y``, ``m/d/y`` or ``y-m-d`` with ``/``, ``.`` or ``-`` and two- or
four-digit years; 24-hour or 12-hour times (``pm``, ``PM``, ``p. m.``, ``a.m.``) with or without seconds and with
U+202F or NBSP before the marker; UTF-8 with or without BOM, UTF-16 with BOM; LF or CRLF; the invisible marks
WhatsApp adds (U+200E, U+202A/U+202C) are ignored for matching and kept in ``raw``. Media placeholders, deleted
and edited markers and system lines are recognised in English, German, Spanish, French, Italian, Dutch and
Portuguese (see the tables in ``whatsapp_phrases``); an unknown locale still imports, with its placeholders as
plain text.

How a file is read: twice. A cheap first pass over the whole file decides the day/month order (any first field
above 12 means day first, any second field above 12 month first, both is a ``ParseError``; neither falls back
to ``ctx.date_order`` or raises ``AmbiguousDateOrder``) and learns who speaks (for ``from_me``, and for sender
names that contain ``": "``). The second pass streams: one message is held at a time, and records are yielded as
they complete, so memory stays flat on chats with millions of messages (SECURITY.md 23). This module holds the
importer and the two passes; what the lines look like is in ``whatsapp_phrases``, and the line reader, the clock
and the fast value builders they use are in ``whatsapp_reading``.

Choices made here (they change what users see, so they are listed):

* Times carry no zone: they are the exporting phone's wall clock, read in ``ctx.tz`` as ``local-assumed``. A
  time that did not exist (clocks went forward) or happened twice (clocks went back) is read with the offset in
  force before the change (``fold=0``) and gets a warning.
* ``raw`` is the record exactly as written (header, all its lines, CR characters of CRLF files inside it; no BOM,
  no final line break). ``text`` is the body: continuation lines joined with ``\\n``, an edited marker removed
  (it becomes an ``EDITED`` event) and the leading U+200E of iOS placeholders dropped.
* A line or message longer than ``ctx.limits.max_line_bytes`` is not imported and gets a warning; the rest of the
  chat imports. Refusing the whole file would let one crafted message hide every other message from the vault.
* Lines before the first dated line, lines that look like a header but carry an impossible date, invalid UTF-8,
  media the export names but the archive lacks, and archive members no message mentions each get a warning.
* ``from_me``: in a chat where exactly two people write and the file name (or, on iOS, the encryption notice)
  names one of them, the other is the exporter. Otherwise it is None for every message, with one warning.

This module must never open paths, extract an archive to disk, write files, or hold the whole chat in memory.
"""

from __future__ import annotations

import codecs
import hashlib
import itertools
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, ClassVar, Final

from safetrail.errors import AmbiguousDateOrder, ParseError
from safetrail.importers.archive import SafeZip, is_zip
from safetrail.importers.base import DateOrder, ParseContext, Probe, Record
from safetrail.importers.whatsapp_phrases import (
    ANDROID_OMITTED,
    ATTACHED,
    DATE_FIELDS,
    DELETED,
    DELETED_EXACT,
    EDITED,
    ENCRYPTION,
    FILE_ATTACHED,
    FILE_LABELLED,
    HEADER,
    HEADER_BYTES,
    IOS_OMITTED,
    LRM,
    MARKS,
    OMITTED_WORDS,
    SPECIAL_LAST,
    STRIP_EDGES,
    SYSTEM,
    body_kind,
    clean,
    conversation_from_filename,
    media_type,
    same_person,
)
from safetrail.importers.whatsapp_reading import Clock, Flagged, LongLine, blocks, message_builder, utf8
from safetrail.model import (
    Attachment,
    Event,
    EventKind,
    Message,
    MessageKind,
    ParseWarning,
    Participant,
    Timestamp,
)

__all__ = ["WhatsAppImporter", "conversation_from_filename"]

PLATFORM: Final = "whatsapp"
_CHUNK: Final = 1 << 20
_CACHE: Final = 4096  # entries per lookup table before it is emptied, so hostile files cannot grow them
_MAX_SPEAKERS: Final = 2000  # beyond this the file is no chat (WhatsApp groups hold ~1,000 people)

_message: Final = message_builder(PLATFORM)  # the Message constructor, only faster (see whatsapp_reading)


# --- the first pass -----------------------------------------------------------------------------------------------

@dataclass(slots=True)
class _Survey:
    """What the whole file says before any message is yielded: date order evidence and who speaks."""

    found: bool = False  # any dated line at all
    day_first: tuple[int, str] | None = None  # (line, date text) proving d/m
    month_first: tuple[int, str] | None = None  # (line, date text) proving m/d
    undecided: tuple[int, str] | None = None  # first header whose order matters
    notice_name: str | None = None  # the name iOS puts on the encryption notice
    settled: set[bytes] = field(default_factory=set)  # plain speakers: nothing more to learn
    candidates: dict[bytes, list[Any]] = field(default_factory=dict)  # name -> [lines, second segment or None]
    overflow: bool = False

    def speakers(self) -> tuple[dict[str, str], dict[str, str]]:
        """(plain sender prefix -> name, long-name first segment -> whole name) for the second pass."""
        plain = {c.decode("utf-8", "replace"): clean(c.decode("utf-8", "replace")) for c in self.settled}
        longs: dict[str, str] = {}
        for c1, (count, c2) in self.candidates.items():
            first = c1.decode("utf-8", "replace")
            if c2 is not None and count >= 2:
                longs[first] = first + ": " + c2.decode("utf-8", "replace")
            else:
                plain[first] = clean(first)
        return plain, longs


def _survey(blocks: Iterator[bytes | LongLine]) -> _Survey:
    survey = _Survey()
    # Header prefixes seen, split as the second pass splits them: whole, date part, time part (see _stream_records).
    seen: set[bytes] = set()
    dates: set[bytes] = set()
    times: set[bytes] = set()
    match = HEADER_BYTES.match
    width = split = 0
    lineno = 0
    found = False
    settled = survey.settled
    for block in blocks:
        if type(block) is LongLine:
            lineno += 1
            assert isinstance(block, LongLine)
            found = found or match(block.head) is not None  # a chat of one huge message is still a chat
            continue
        assert isinstance(block, bytes)
        for lineno, line in enumerate(block.split(b"\n"), lineno + 1):  # noqa: B020 -- carries on across blocks
            if line[:width] not in seen:
                if line[:split] not in dates or line[split:width] not in times:
                    m = match(line)
                    if m is None:
                        continue
                    width, split = m.end(), m.start(4)
                    if line[:split] not in dates:
                        _note_date(survey, lineno, m.group(3))
                        if len(dates) > _CACHE:
                            dates.clear()
                        dates.add(line[:split])
                    if len(times) > _CACHE:
                        times.clear()
                    times.add(line[split:width])
                if len(seen) > _CACHE:
                    seen.clear()
                seen.add(line[:width])
                found = True
            i = line.find(b": ", width)
            if i > 0:
                name = line[width:i]
                if name not in settled and not survey.overflow:
                    _note_speaker(survey, name, line, i)
    survey.found = found
    return survey


def _note_date(survey: _Survey, lineno: int, date: bytes) -> None:
    m = DATE_FIELDS.match(date)
    if m is None or len(m.group(1)) > 2:
        return  # y-m-d: the order is written in the date itself
    text = date.decode("ascii")
    if survey.undecided is None:
        survey.undecided = (lineno, text)
    first, second = int(m.group(1)), int(m.group(2))
    if first > 12 and survey.day_first is None:
        survey.day_first = (lineno, text)
    if second > 12 and survey.month_first is None:
        survey.month_first = (lineno, text)


def _note_speaker(survey: _Survey, name: bytes, line: bytes, i: int) -> None:
    body = line[i + 2:].decode("utf-8", "replace").rstrip("\r")
    if body.startswith(LRM) and body_kind(body.lstrip(MARKS)) is MessageKind.SYSTEM:
        if survey.notice_name is None and ENCRYPTION.search(body):
            survey.notice_name = clean(name.decode("utf-8", "replace"))
        return
    if SYSTEM.search(name.decode("utf-8", "replace")):
        return  # "X changed the subject to "a: b"": a system line with a colon in it
    j = line.find(b": ", i + 2)
    second = line[i + 2:j] if 0 < j - i <= 66 else None
    state = survey.candidates.get(name)
    if state is None:
        if len(survey.candidates) + len(survey.settled) >= _MAX_SPEAKERS:
            survey.overflow = True
            return
        if second is None:
            survey.settled.add(name)
        else:
            survey.candidates[name] = [1, second]
    elif state[1] == second:
        state[0] += 1
    else:
        # Not always followed by the same "X: " segment, so the name is just the first segment.
        del survey.candidates[name]
        survey.settled.add(name)


# --- the second pass ----------------------------------------------------------------------------------------------

_INVALID: Final = object()  # a header whose date or time does not exist


@dataclass(slots=True)
class _Chat:
    """Everything the second pass needs besides the lines."""

    ctx: ParseContext
    member: str
    conversation: str
    clock: Clock
    speakers: dict[str, tuple[Participant, bool | None]]  # "SENDER" as written -> who, from_me
    long_names: dict[str, str]  # first segment of a name holding ": " -> the whole name as written
    from_me: dict[str, bool] | None
    fetch: Callable[[str], tuple[bytes | None, int | None, str] | None]
    zip_mode: bool
    referenced: set[str] = field(default_factory=set)
    people: dict[str, Participant] = field(default_factory=dict)

    def person(self, name: str) -> Participant:
        p = self.people.get(name)
        if p is None:
            p = Participant(name)
            if len(self.people) < _CACHE:
                self.people[name] = p
        return p

    def mine(self, name: str) -> bool | None:
        return None if self.from_me is None else self.from_me.get(name)


def _stream_records(chat: _Chat, blocks: Iterator[bytes | LongLine]) -> Iterator[Record]:
    """The second pass: lines to records, one open record at a time.

    This loop runs once per line of chats with millions of lines, so it is written for speed: locals only, and
    the common message (one line, a known sender, plain text) is built inline without calling ``_finish``.
    """
    sha = chat.ctx.source.sha256
    limit = chat.ctx.limits.max_line_bytes
    prefix = chat.member + "#L"
    conversation = chat.conversation
    speakers = chat.speakers
    clock = chat.clock
    match = HEADER.match
    plain_kind = MessageKind.MESSAGE
    deleted_exact = DELETED_EXACT
    special_last = SPECIAL_LAST
    timestamp_type = Timestamp
    decode_utf8 = bytes.decode  # UTF-8, strict
    # Header prefix -> Timestamp, Flagged or _INVALID; date part -> Clock.date's day or _INVALID; time part ->
    # Clock.time's time or _INVALID.
    cache: dict[str, Any] = {}
    dates: dict[str, Any] = {}
    times: dict[str, Any] = {}
    width = split = 0
    day: Any = None
    tod: Any = None
    lineno = 0
    # The open record: header line (without CR) and as written, first line number, header width, time, more lines.
    head: str | None = None
    head_orig = ""
    start = 0
    head_width = 0
    info: Any = None
    extra: list[str] | None = None
    size = 0
    too_long = False
    stray_first = stray_count = 0  # lines before the first header
    stray_sample = ""

    for block in blocks:
        if type(block) is LongLine:
            lineno += 1
            assert isinstance(block, LongLine)
            sample = block.head.decode("utf-8", "replace")
            if match(sample) is not None:
                if head is not None:
                    done = _finish(chat, head, head_orig, start, lineno - 1, head_width, info, extra, too_long)
                    if isinstance(done, list):
                        yield from done
                    else:
                        yield done
                elif stray_count:
                    yield _stray_warning(sha, prefix, stray_first, stray_count, stray_sample)
                    stray_count = 0
                head, head_orig, start, head_width, info, extra, too_long = (
                    sample, sample, lineno, 0, None, None, True)
            elif head is None:
                if stray_count == 0:
                    stray_first, stray_sample = lineno, sample
                stray_count += 1
            else:
                too_long, extra = True, None
            continue
        assert isinstance(block, bytes)
        try:
            # Line by line: a line without emoji then stays a compact 1-byte string, which is faster to slice
            # and hash than a line cut from a block decoded as one 4-byte-per-character string.
            lines = list(map(decode_utf8, block.split(b"\n")))
            bad: set[int] = set()
        except UnicodeDecodeError:
            lines, bad = _decode_lines(block, lineno + 1)
        crlf = b"\r" in block
        for lineno, line in enumerate(lines, lineno + 1):  # noqa: B020 -- lineno carries on across blocks
            if bad and lineno in bad:
                yield ParseWarning(sha, f"{prefix}{lineno}", "this line is not valid UTF-8 text; the unreadable "
                                   "bytes were replaced with \ufffd")
            if crlf and line[-1:] == "\r":
                orig, line = line, line[:-1]
            else:
                orig = line
            hit = cache.get(line[:width])
            if hit is None:
                # A new minute, or a continuation line. Known date and time parts save the regex; both tables
                # hold only parts that a regex match on an earlier line validated.
                day = dates.get(line[:split])
                tod = times.get(line[split:width]) if day is not None else None
                if tod is None:
                    m = match(line)
                    if m is not None:
                        width, split = m.end(), m.start(4)
                        day = dates.get(line[:split])
                        if day is None:
                            day = clock.date(m.group(3), m.start(3)) or _INVALID
                            if len(dates) > _CACHE:
                                dates.clear()
                            dates[line[:split]] = day
                        tod = times.get(line[split:width])
                        if tod is None:
                            tod = clock.time(m.group(4)) or _INVALID
                            if len(times) > _CACHE:
                                times.clear()
                            times[line[split:width]] = tod
                if tod is not None:
                    if day is _INVALID or tod is _INVALID:
                        hit = _INVALID  # never cached, so the fast lookup above only ever finds real times
                    else:
                        hit = clock.at(day, tod, line[day.start:split + tod.length])
                        if len(cache) > _CACHE:
                            cache.clear()
                        cache[line[:width]] = hit
                if hit is None or hit is _INVALID:
                    if hit is _INVALID:
                        yield ParseWarning(sha, f"{prefix}{lineno}", "this line starts like a new message but its "
                                           f"date {line[:width].strip(MARKS + ' -[]')!r} does not exist; it was "
                                           "kept as part of the message before it")
                    if head is None:
                        if stray_count == 0:
                            stray_first, stray_sample = lineno, line
                        stray_count += 1
                    elif not too_long:
                        if extra is None:
                            extra = [orig]
                            size = len(head) + len(line)
                        else:
                            extra.append(orig)
                            size += len(line) + 1
                        if size > limit:
                            too_long, extra = True, None
                    continue
            # A header line: the open record is complete.
            if head is not None:
                if extra is None and type(info) is timestamp_type and not too_long:
                    i = head.find(": ", head_width)
                    who = speakers.get(head[head_width:i]) if i > 0 else None
                    if who is not None:
                        body = head[i + 2:]
                        if body[:1] != LRM and body[-1:] not in special_last and body not in deleted_exact:
                            yield _message(sha, f"{prefix}{start}", conversation, info, body, head, who[0],
                                           plain_kind, who[1])
                            head, head_orig, start, head_width, info = line, orig, lineno, width, hit
                            continue
                done = _finish(chat, head, head_orig, start, lineno - 1, head_width, info, extra, too_long)
                if isinstance(done, list):
                    yield from done
                else:
                    yield done
            elif stray_count:
                yield _stray_warning(sha, prefix, stray_first, stray_count, stray_sample)
                stray_count = 0
            head, head_orig, start, head_width, info, extra, too_long = line, orig, lineno, width, hit, None, False
    if head is not None:
        done = _finish(chat, head, head_orig, start, lineno, head_width, info, extra, too_long)
        if isinstance(done, list):
            yield from done
        else:
            yield done
    elif stray_count:
        yield _stray_warning(sha, prefix, stray_first, stray_count, stray_sample)


def _decode_lines(block: bytes, first: int) -> tuple[list[str], set[int]]:
    """Lines of a block that is not all valid UTF-8, and the numbers of the lines that are not."""
    lines: list[str] = []
    bad: set[int] = set()
    for lineno, raw in enumerate(block.split(b"\n"), first):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            lines.append(raw.decode("utf-8", "replace"))
            bad.add(lineno)
    return lines, bad


def _stray_warning(sha: str, prefix: str, first: int, count: int, sample: str) -> ParseWarning:
    where = f"{prefix}{first}" + (f"-L{first + count - 1}" if count > 1 else "")
    shown = sample[:80] + ("…" if len(sample) > 80 else "")
    return ParseWarning(sha, where, f"{count} line(s) before the first dated message could not be placed in the "
                        f"chat and were not imported; the first reads {shown!r}")


def _finish(chat: _Chat, head: str, head_orig: str, start: int, end: int, width: int, info: Any,
            extra: list[str] | None, too_long: bool) -> Message | list[Record]:
    """One complete record (header line plus continuation lines): its message, or a list of warnings and it.

    A plain function rather than a generator, because most records give just the one message.
    """
    ctx = chat.ctx
    sha = ctx.source.sha256
    locator = f"{chat.member}#L{start}" + (f"-L{end}" if end > start else "")
    if too_long or info is None:
        shown = head[:60].strip(MARKS)
        return [ParseWarning(sha, locator, f"this message is longer than the {ctx.limits.max_line_bytes:,} bytes "
                             f"safetrail reads for one message, so it was not imported (it begins {shown!r}); the "
                             "rest of the chat was")]
    warnings: list[Record] = []
    if type(info) is Flagged:
        warnings.append(ParseWarning(sha, locator, info.warning))
        info = info.timestamp
    rest = head[width:]
    if extra:
        raw = "\n".join([head_orig, *extra])
        if raw[-1:] == "\r":
            raw = raw[:-1]
        tail = "\n" + "\n".join(extra)
        if "\r" in tail:
            tail = "\n".join(x[:-1] if x[-1:] == "\r" else x for x in tail.split("\n"))
    else:
        raw, tail = head, ""
    sender: str | None = None
    kind = MessageKind.MESSAGE
    i = rest.find(": ")
    if i > 0:
        first = rest[:i]
        whole = chat.long_names.get(first)
        known = chat.speakers.get(first)
        if whole is not None and rest.startswith(whole + ": "):
            sender, body = clean(whole), rest[len(whole) + 2:]
        elif known is not None:
            sender, body = known[0].name, rest[i + 2:]
        elif not SYSTEM.search(first):
            sender, body = clean(first), rest[i + 2:]
        else:
            body = rest
    else:
        body = rest
    marked = body[:1] == LRM
    if sender is None:
        kind = MessageKind.SYSTEM
    elif marked:
        found = body_kind(body.lstrip(MARKS).rstrip())
        if found is MessageKind.SYSTEM:
            kind, sender = found, None
        elif found is MessageKind.CALL:
            kind = found
    text = body + tail
    events: tuple[Event, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    if sender is not None:
        if text.rstrip()[-1:] == ">":
            edited = EDITED.fullmatch(text, text.rfind("<"))
            if edited:
                events = (Event(EventKind.EDITED, locator, actor=sender, detail=edited.group(1)),)
                text = text[:edited.start()].rstrip(" \u00a0\u200e")
        first_line = (text.partition("\n")[0] if events else body).strip(STRIP_EDGES)
        if not tail and first_line.rstrip(".").casefold() in DELETED:
            events += (Event(EventKind.DELETED, locator, actor=sender, detail=first_line),)
        elif marked or first_line[-1:] in SPECIAL_LAST or first_line in IOS_OMITTED:
            attachments = _attachments(chat, first_line, marked, locator, warnings)
    if marked:
        text = text.lstrip(LRM)
    person = chat.person(sender) if sender is not None else None
    message = _message(sha, locator, chat.conversation, info, text, raw, person, kind,
                       chat.mine(sender) if sender is not None else None, attachments, events)
    if warnings:
        warnings.append(message)
        return warnings
    return message


def _attachments(chat: _Chat, first_line: str, marked: bool, locator: str,
                 warnings: list[Record]) -> tuple[Attachment, ...]:
    """The attachment a placeholder line stands for; a warning when the export names a file that is not there.

    ``marked`` says the body began with U+200E, as iOS placeholders do; only then is an unknown "… omitted" in
    another language taken for a placeholder rather than words someone typed.
    """
    last = first_line[-1:]
    bracketed = first_line[:1] == "<" and last == ">"
    if first_line in ANDROID_OMITTED or first_line in IOS_OMITTED or (
            (marked or bracketed) and len(first_line) < 80 and ":" not in first_line
            and OMITTED_WORDS.search(first_line)):
        return (Attachment(first_line, locator, omitted=True),)
    labelled = False
    if last == ")":
        m = FILE_ATTACHED.fullmatch(first_line)
        if m is None:
            m = FILE_LABELLED.fullmatch(first_line)
            labelled = True
    elif bracketed:
        m = ATTACHED.fullmatch(first_line)
    else:
        return ()
    if m is None:
        return ()
    name = m.group("name").strip(MARKS + " ")
    got = chat.fetch(name)
    sha = chat.ctx.source.sha256
    if got is None:
        if labelled:
            return ()  # "word (anything)" that names no file we have is just text
        where = "in the archive" if chat.zip_mode else "beside the chat file"
        warnings.append(ParseWarning(sha, locator, f"the message names the file {name!r}, which is not {where}; "
                                     "it was recorded as missing"))
        return (Attachment(name, locator, media_type(name), omitted=True),)
    data, size, member = got
    chat.referenced.add(member)
    if data is None:
        warnings.append(ParseWarning(sha, locator, f"the file {name!r} is larger than the "
                                     f"{chat.ctx.limits.max_attachment_bytes:,} bytes safetrail reads for one "
                                     "attachment; it was recorded but not stored"))
        return (Attachment(name, member, media_type(name), size=size),)
    return (Attachment(name, member, media_type(name), hashlib.sha256(data).hexdigest(), len(data), data=data),)



# --- the importer -------------------------------------------------------------------------------------------------

def _order(survey: _Survey, ctx: ParseContext, member: str) -> tuple[DateOrder, list[ParseWarning]]:
    sha = ctx.source.sha256
    if survey.day_first and survey.month_first:
        (l1, d1), (l2, d2) = survey.day_first, survey.month_first
        raise ParseError(f"the dates disagree about day/month order: {d1!r} (line {l1}) can only be day first, "
                         f"{d2!r} (line {l2}) can only be month first", path=ctx.source.name,
                         locator=f"{member}#L{l2}",
                         hint="The file may join two exports from phones with different settings. Split it "
                              "where the date style changes and import each part on its own.")
    decided = (DateOrder.DMY if survey.day_first else DateOrder.MDY if survey.month_first else None)
    if decided is None:
        if survey.undecided is None:
            return ctx.date_order or DateOrder.YMD, []
        if ctx.date_order is None:
            raise AmbiguousDateOrder(ctx.source.name, survey.undecided[1])
        return ctx.date_order, []
    warnings = []
    if ctx.date_order is not None and ctx.date_order is not decided:
        line, text = survey.day_first or survey.month_first or (1, "")
        warnings.append(ParseWarning(sha, f"{member}#L{line}", f"the date order {ctx.date_order.value} was asked "
                                     f"for, but {text!r} can only be {decided.value}; the file's own order was "
                                     "used"))
    return decided, warnings


class WhatsAppImporter:
    """WhatsApp chat exports, Android and iOS, as ``.txt`` or ``.zip`` (with media)."""

    name: ClassVar[str] = "whatsapp"
    version: ClassVar[str] = "1.0.0"
    platform: ClassVar[str] = PLATFORM
    title: ClassVar[str] = "WhatsApp \u201cExport chat\u201d (.txt, or .zip with media), Android and iOS"
    variants: ClassVar[tuple[str, ...]] = (
        "Android .txt: '31/12/2023, 21:14 - Name: text' (and m/d/yy, d.m.yy, y-m-d, d-m-y; 12- or 24-hour)",
        "iOS _chat.txt: '[31/12/2023, 21:14:05] Name: text' (and '[26.04.19 14:42]', 12-hour with U+202F)",
        ".zip with the chat text and media (Android 'WhatsApp Chat with NAME.zip', iOS 'WhatsApp Chat - NAME.zip')",
        "placeholders, deleted and edited markers in en, de, es, fr, it, nl, pt",
        "UTF-8 with or without BOM, UTF-16 with BOM, LF or CRLF",
    )

    def sniff(self, probe: Probe) -> float:
        named = conversation_from_filename(probe.name) is not None
        if probe.members is not None:
            bases = [m.replace("\\", "/").rsplit("/", 1)[-1] for m in probe.members]
            if any(conversation_from_filename(b) and b.lower().endswith(".txt") for b in bases):
                return 0.95
            if "_chat.txt" in bases:
                return 0.9
            return 0.0
        if is_zip(probe.head):
            return 0.0
        head = probe.head
        if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            text = head[2:len(head) - len(head) % 2].decode("utf-16-le" if head[:2] == codecs.BOM_UTF16_LE
                                                            else "utf-16-be", "replace")
        else:
            text = head.decode("utf-8", "replace").lstrip("\ufeff")
        hits = sum(1 for line in text.split("\n")[:40] if HEADER.match(line))
        if hits == 0:
            return 0.0
        score = 0.6 + (0.05 if hits >= 3 else 0.0)
        if named or probe.name == "_chat.txt":
            score += 0.3
        return round(score, 2)

    def parse(self, stream: BinaryIO, ctx: ParseContext) -> Iterator[Record]:
        """Survey the whole chat now (first pass); return the second pass as a lazy iterator of records.

        Deliberately not a generator: the records come straight from the streaming loop, with no generator
        frames in between, because each frame costs time on every one of possibly millions of messages.
        """
        start = stream.tell()
        magic = stream.read(4)
        stream.seek(start)
        if is_zip(magic):
            return self._parse_zip(stream, ctx)

        def chunks() -> Iterator[bytes]:
            stream.seek(start)
            while data := stream.read(_CHUNK):
                yield data

        def beside(name: str) -> tuple[bytes | None, int | None, str] | None:
            if ctx.related is None or "/" in name or "\\" in name or name.startswith("."):
                return None
            data = ctx.related.read(name)
            return None if data is None else (data, len(data), name)

        first, records = _prepare(ctx, ctx.source.name, chunks, beside, [ctx.source.name], zip_mode=False)
        return itertools.chain(first, records)

    def _parse_zip(self, stream: BinaryIO, ctx: ParseContext) -> Iterator[Record]:
        sha = ctx.source.sha256
        archive = SafeZip(stream, ctx.source.name, ctx.limits)
        try:
            first: list[Record] = [
                ParseWarning(sha, name, "this archive entry was not read: its name points outside the archive or "
                             "it is a link, which a genuine WhatsApp export never has") for name in archive.refused]
            chats = [n for n in archive.members if n.lower().endswith(".txt") and (
                n.rsplit("/", 1)[-1] == "_chat.txt" or conversation_from_filename(n) is not None)]
            if not chats:
                chats = [n for n in archive.members if n.lower().endswith(".txt")]
            if not chats:
                raise ParseError("this archive holds no chat text (_chat.txt or 'WhatsApp Chat with ….txt')",
                                 path=ctx.source.name, hint="Export the chat again from WhatsApp, or import the "
                                 "text file itself.")
            chats.sort(key=lambda n: (n.count("/"), n))
            member = chats[0]
            first += [ParseWarning(sha, other, f"the archive holds more than one chat text; only {member!r} was "
                                   "read") for other in chats[1:]]
            by_base: dict[str, str] = {}
            for name in sorted(archive.members, key=lambda n: (n.count("/"), n)):
                by_base.setdefault(name.rsplit("/", 1)[-1], name)
            limit = ctx.limits.max_attachment_bytes

            def fetch(name: str) -> tuple[bytes | None, int | None, str] | None:
                found = by_base.get(name)
                if found is None or found == member:
                    return None
                size = archive.members[found].size
                if size > limit:
                    return None, size, found
                try:
                    return archive.read(found, limit), size, found
                except zlib.error as exc:
                    raise _damaged(ctx, found, exc) from exc

            def chunks() -> Iterator[bytes]:
                try:
                    yield from archive.iter_chunks(member)
                except zlib.error as exc:
                    raise _damaged(ctx, member, exc) from exc

            referenced: set[str] = set()
            more, records = _prepare(ctx, member, chunks, fetch,
                                     [member, ctx.source.name], zip_mode=True, referenced=referenced)
        except BaseException:
            archive.close()
            raise
        return itertools.chain(first, more, records, _unused_members(archive, ctx, member, chats, referenced))


def _damaged(ctx: ParseContext, member: str, exc: Exception) -> ParseError:
    # SafeZip translates zipfile's own errors; a corrupt deflate stream surfaces as zlib.error instead.
    return ParseError(f"member {member!r} of the archive is damaged and cannot be read ({exc})", path=ctx.source.name,
                      hint="Export the chat again from WhatsApp; the copy you have may have been cut short.")


def _unused_members(archive: SafeZip, ctx: ParseContext, member: str, chats: list[str],
                    used: set[str]) -> Iterator[Record]:
    """After the last message: warn about media no message named, and close the archive."""
    try:
        unused = [n for n in archive.members if n not in used and n not in chats]
        if unused:
            shown = ", ".join(unused[:5]) + (f" and {len(unused) - 5} more" if len(unused) > 5 else "")
            yield ParseWarning(ctx.source.sha256, member, f"{len(unused)} file(s) in the archive are not mentioned "
                               f"by any message and were not imported: {shown}")
    finally:
        archive.close()


def _prepare(ctx: ParseContext, member: str, chunks: Callable[[], Iterator[bytes]],
             fetch: Callable[[str], tuple[bytes | None, int | None, str] | None], names: list[str], *,
             zip_mode: bool, referenced: set[str] | None = None) -> tuple[list[Record], Iterator[Record]]:
    """Run the first pass; return the warnings it gives and the (lazy) second pass."""
    sha = ctx.source.sha256
    limit = max(ctx.limits.max_line_bytes, 64)
    damaged: list[int] = []
    survey = _survey(blocks(utf8(chunks(), damaged), limit))
    if not survey.found:
        if not any(chunks()):
            empty: list[Record] = [ParseWarning(sha, f"{member}#L1", "the chat file is empty")]
            return empty, iter(())
        raise ParseError("no line in this file starts with a WhatsApp date and time", path=ctx.source.name,
                         locator=f"{member}#L1", hint="Check that this is the chat text WhatsApp exported; if it "
                         "is, its date style may be new to safetrail.")
    order, order_warnings = _order(survey, ctx, member)
    first: list[Record] = [*order_warnings]
    first += [ParseWarning(sha, f"{member}#L{line}", "this line is not valid UTF-16 text; the unreadable bytes were "
                           "replaced with \ufffd") for line in sorted(set(damaged))]
    plain, longs = survey.speakers()
    named = next((n for n in map(conversation_from_filename, names) if n), None) or survey.notice_name
    conversation = named or member.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    people = set(plain.values()) | {clean(v) for v in longs.values()}
    from_me: dict[str, bool] | None = None
    if named and not survey.overflow and len(people) == 2 and any(same_person(p, named) for p in people):
        from_me = {p: not same_person(p, named) for p in people}
    else:
        first.append(ParseWarning(sha, f"{member}#L1", "safetrail could not tell which participant exported this "
                                  "chat (only a one-to-one chat whose file name names the other person shows it), "
                                  "so no message is marked as yours; you can say which participant you are when "
                                  "you review the case"))
    chat = _Chat(ctx, member, conversation, Clock(ctx.tz, order), {}, longs, from_me, fetch, zip_mode,
                 referenced if referenced is not None else set())
    chat.speakers = {written: (chat.person(name), chat.mine(name)) for written, name in plain.items()}
    return first, _stream_records(chat, blocks(utf8(chunks(), []), limit))

