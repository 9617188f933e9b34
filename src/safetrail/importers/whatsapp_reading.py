"""Reading a WhatsApp chat fast: bytes into blocks of UTF-8 lines, header dates and times into ``Timestamp``
values, and fields into frozen ``Message`` values, at the rate a million-message chat needs.

``whatsapp.py`` drives these from its two passes. The line reader holds one read of the file and one partial
line, never a whole over-long line, so memory stays flat (SECURITY.md 23); the clock is told the day/month order
and the zone; the builders give values equal to what the ``Message`` and ``Timestamp`` constructors give, only
faster.

This module knows nothing of what a line means (senders, placeholders, system lines): that is ``whatsapp.py`` and
``whatsapp_phrases.py``. It must never open paths, hold the whole chat in memory, decide the day/month order, or
build a value the model's constructors would refuse.
"""

from __future__ import annotations

import codecs
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol
from zoneinfo import ZoneInfo

from safetrail.importers.base import DateOrder
from safetrail.importers.whatsapp_phrases import DATE, TIME
from safetrail.model import (
    Attachment,
    Event,
    Message,
    MessageKind,
    Participant,
    Precision,
    Timestamp,
    TimestampKind,
)

__all__ = ["Clock", "Flagged", "LongLine", "MessageBuilder", "blocks", "message_builder", "utf8"]

_HEAD_KEEP: Final = 200  # bytes of an over-long line kept to say whose message it was


# --- fast construction of frozen values ---------------------------------------------------------------------------

# A frozen dataclass ``__init__`` sets each field through ``object.__setattr__`` (a slow generic call), and
# ``Timestamp`` adds a ``__post_init__`` check: on a million-message chat these were the largest single costs.
# Instead each value is filled in as a "draft": an instance of a subclass that adds no slots and allows plain
# attribute stores (which CPython turns into direct slot writes), then switched to the real class with
# ``__class__`` assignment. The result is an ordinary, frozen ``Message``/``Timestamp`` equal to what the
# constructor gives, about four times faster. It is used only while the classes keep exactly the fields listed
# here in ``__slots__`` (checked at import, otherwise the constructors are used); every Timestamp built this way
# is UTC-aware with its zone named (what ``__post_init__`` checks); tests/importers/test_whatsapp.py compares
# both ways of building.
_MESSAGE_FIELDS: Final = ("source_sha256", "locator", "platform", "conversation", "timestamp", "text", "raw",
                          "sender", "kind", "recipients", "from_me", "platform_id", "reply_to", "forwarded_from",
                          "subject", "attachments", "events")
_TIMESTAMP_FIELDS: Final = ("utc", "kind", "precision", "zone", "as_written")
_TimestampBuilder = Callable[[datetime, Precision, str, str], Timestamp]


class MessageBuilder(Protocol):
    """What ``message_builder`` returns: the fields a chat line gives in, a frozen ``Message`` out."""

    def __call__(self, sha: str, locator: str, conversation: str, ts: Timestamp, text: str, raw: str,
                 sender: Participant | None, kind: MessageKind, from_me: bool | None,
                 attachments: tuple[Attachment, ...] = (), events: tuple[Event, ...] = ()) -> Message: ...


def _draft_class(cls: type, names: tuple[str, ...]) -> type | None:
    """A mutable subclass with ``cls``'s exact memory layout, or None when ``cls`` is not as expected."""
    if tuple(f.name for f in fields(cls)) != names or set(vars(cls).get("__slots__", ())) != set(names):
        return None
    return type(f"_{cls.__name__}Draft", (cls,), {"__slots__": (), "__setattr__": object.__setattr__,
                                                  "__delattr__": object.__delattr__})


def message_builder(platform: str) -> MessageBuilder:
    """A function that builds a ``Message`` of ``platform`` from the fields a chat line gives."""
    draft = _draft_class(Message, _MESSAGE_FIELDS)
    if draft is None or hasattr(Message, "__post_init__"):
        def construct(sha: str, locator: str, conversation: str, ts: Timestamp, text: str, raw: str,
                      sender: Participant | None, kind: MessageKind, from_me: bool | None,
                      attachments: tuple[Attachment, ...] = (), events: tuple[Event, ...] = ()) -> Message:
            return Message(sha, locator, platform, conversation, ts, text, raw, sender, kind, (), from_me,
                           attachments=attachments, events=events)
        return construct
    new = object.__new__

    def build(sha: str, locator: str, conversation: str, ts: Timestamp, text: str, raw: str,
              sender: Participant | None, kind: MessageKind, from_me: bool | None,
              attachments: tuple[Attachment, ...] = (), events: tuple[Event, ...] = ()) -> Message:
        m: Any = new(draft)
        m.source_sha256 = sha
        m.locator = locator
        m.platform = platform
        m.conversation = conversation
        m.timestamp = ts
        m.text = text
        m.raw = raw
        m.sender = sender
        m.kind = kind
        m.recipients = ()
        m.from_me = from_me
        m.platform_id = None
        m.reply_to = None
        m.forwarded_from = None
        m.subject = None
        m.attachments = attachments
        m.events = events
        m.__class__ = Message
        return m  # type: ignore[no-any-return]
    return build


def _timestamp_builder() -> _TimestampBuilder:
    """Local-assumed timestamps from a UTC datetime (tzinfo exactly ``datetime.UTC``) and a zone name."""
    draft = _draft_class(Timestamp, _TIMESTAMP_FIELDS)
    kind = TimestampKind.LOCAL_ASSUMED
    if draft is None:
        def construct(utc: datetime, precision: Precision, zone: str, as_written: str) -> Timestamp:
            return Timestamp(utc, kind, precision, zone, as_written)
        return construct
    new = object.__new__

    def build(utc: datetime, precision: Precision, zone: str, as_written: str) -> Timestamp:
        if utc.tzinfo is not UTC or not zone:
            return Timestamp(utc, kind, precision, zone, as_written)
        t: Any = new(draft)
        t.utc = utc
        t.kind = kind
        t.precision = precision
        t.zone = zone
        t.as_written = as_written
        t.__class__ = Timestamp
        return t  # type: ignore[no-any-return]
    return build


_timestamp: Final = _timestamp_builder()


# --- bytes in, lines out ------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class LongLine:
    """A line longer than the limit: never held whole; its size and first bytes say what it was."""

    size: int
    head: bytes


def utf8(chunks: Iterator[bytes], damaged: list[int]) -> Iterator[bytes]:
    """The chat as UTF-8 bytes: a UTF-8 BOM dropped, UTF-16 (with BOM) transcoded.

    Lines of UTF-16 text that could not be decoded are appended to ``damaged`` (their U+FFFD replacements are
    already in the output); invalid UTF-8 is left for the line reader, which knows the line numbers.
    """
    first = b""
    for chunk in chunks:
        first += chunk
        if len(first) >= 4:
            break
    if first.startswith(codecs.BOM_UTF8):
        yield first[3:]
        yield from chunks
    elif first[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        yield from _from_utf16(first, chunks, damaged)
    else:
        yield first
        yield from chunks


def _from_utf16(first: bytes, chunks: Iterator[bytes], damaged: list[int]) -> Iterator[bytes]:
    little = first[:2] == codecs.BOM_UTF16_LE
    encoding = "utf-16-le" if little else "utf-16-be"
    pending, lines = b"", 0
    for piece in itertools.chain((first[2:],), chunks):
        data = pending + piece
        cut = len(data) - len(data) % 2
        if cut >= 2 and 0xD8 <= data[cut - 1 if little else cut - 2] <= 0xDB:
            cut -= 2  # keep a high surrogate with its partner in the next piece
        part, pending = data[:cut], data[cut:]
        try:
            text = part.decode(encoding)
        except UnicodeDecodeError:
            text = part.decode(encoding, "replace")
            damaged.append(lines + text[:text.index("\ufffd")].count("\n") + 1)
        lines += text.count("\n")
        yield text.encode("utf-8")
    if pending:
        damaged.append(lines + 1)
        yield pending.decode(encoding, "replace").encode("utf-8")


def blocks(chunks: Iterator[bytes], limit: int) -> Iterator[bytes | LongLine]:
    """Split UTF-8 bytes into blocks of whole lines (``block.split(b"\\n")`` gives the lines, at least one).

    Reads are cut to at most ``limit`` bytes, so only the line that continues from one read into the next can be
    over-long, and that one is measured exactly; an over-long line is skipped without ever being held whole.
    """
    rest = b""
    skipping = -1  # bytes of the over-long line seen so far, or -1
    head = b""
    for chunk in chunks:
        for start in range(0, len(chunk), limit):
            data = chunk[start:start + limit] if len(chunk) > limit else chunk
            if skipping >= 0:
                j = data.find(b"\n")
                if j < 0:
                    skipping += len(data)
                    continue
                yield LongLine(skipping + j, head)
                skipping, data = -1, data[j + 1:]
                if not data:
                    continue
            j = data.find(b"\n")
            if j < 0:
                rest += data
                if len(rest) > limit:
                    head, skipping, rest = rest[:_HEAD_KEEP], len(rest), b""
                continue
            if len(rest) + j > limit:
                yield LongLine(len(rest) + j, (rest + data[:_HEAD_KEEP])[:_HEAD_KEEP])
                rest, data = b"", data[j + 1:]
                k = data.rfind(b"\n")
                if k >= 0:
                    yield data[:k]
                rest = data[k + 1:]
                continue
            k = data.rfind(b"\n")
            yield rest + data[:k] if rest else data[:k]
            rest = data[k + 1:]
    if skipping >= 0:
        yield LongLine(skipping, head)
    elif rest:
        yield rest


# --- times --------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Flagged:
    """A timestamp that needs a warning (a wall-clock time a DST change made missing or doubled)."""

    timestamp: Timestamp
    warning: str


_UNSET: Final[object] = object()


@dataclass(frozen=True, slots=True, eq=False)
class _Day:
    year: int
    month: int
    day: int
    start: int  # where the date text starts in the line (after marks and bracket)
    # Per local hour: its start as a UTC instant, None when a DST change falls inside it, _UNSET until needed.
    hours: list[Any] = field(default_factory=lambda: [_UNSET] * 24)


@dataclass(frozen=True, slots=True)
class _Time:
    hour: int
    after_hour: timedelta  # minutes and seconds
    precision: Precision
    length: int  # of the time text, without the separator after it


class Clock:
    """Reads header dates and times into ``Timestamp`` values in ``tz``, with one zone lookup per local hour."""

    def __init__(self, tz: ZoneInfo, order: DateOrder) -> None:
        self.tz = tz
        self.zone = tz.key
        self.order = order

    def date(self, text: str, start: int) -> _Day | None:
        """The date written as ``text`` in the file's order, or None when there is no such day."""
        m = DATE.fullmatch(text)
        if m is None:
            return None
        a, _, b, c = m.groups()
        if len(a) == 4:
            year, month, day = a, b, c
        elif self.order is DateOrder.DMY:
            day, month, year = a, b, c
        elif self.order is DateOrder.MDY:
            month, day, year = a, b, c
        else:
            year, month, day = a, b, c
        if len(year) not in (2, 4) or len(day) > 2:
            return None
        y = int(year) + (2000 if len(year) == 2 else 0)
        try:
            datetime(y, int(month), int(day))
        except ValueError:
            return None
        return _Day(y, int(month), int(day), start)

    def time(self, text: str) -> _Time | None:
        m = TIME.fullmatch(text)
        if m is None:
            return None
        hh, mm, ss, ampm = m.groups()
        hour, minute, second = int(hh), int(mm), int(ss or 0)
        if ampm is not None:
            if hour > 12:
                return None
            hour = hour % 12 + (12 if ampm in "Pp" else 0)
        if hour > 23 or minute > 59 or second > 59:
            return None
        return _Time(hour, timedelta(minutes=minute, seconds=second),
                     Precision.SECOND if ss is not None else Precision.MINUTE, len(text))

    def at(self, day: _Day, time: _Time, stamp: str) -> Timestamp | Flagged:
        """The instant, and a warning when a DST change makes the wall-clock time missing or doubled."""
        base = day.hours[time.hour]
        if base is _UNSET:
            self._fill_hours(day)
            base = day.hours[time.hour]
        if base is not None:
            return _timestamp(base + time.after_hour, time.precision, self.zone, stamp)
        # A DST change falls in this hour: look at the minute itself.
        local = datetime(day.year, day.month, day.day, time.hour) + time.after_hour
        offset, warning = self._offset_at(local, stamp)
        timestamp = _timestamp((local - offset).replace(tzinfo=UTC), time.precision, self.zone, stamp)
        return timestamp if warning is None else Flagged(timestamp, warning)

    def _fill_hours(self, day: _Day) -> None:
        """Work out the UTC start of each local hour of ``day``: all at once on the usual day without a change."""
        midnight = datetime(day.year, day.month, day.day)
        if self._steady(midnight, midnight.replace(hour=23, minute=59, second=59)):
            offset = self.tz.utcoffset(midnight)
            assert offset is not None
            start = (midnight - offset).replace(tzinfo=UTC)
            day.hours[:] = [start + timedelta(hours=h) for h in range(24)]
        else:
            day.hours[:] = [self._hour_start(midnight.replace(hour=h)) for h in range(24)]

    def _steady(self, start: datetime, end: datetime) -> bool:
        return len({self.tz.utcoffset(t) for t in (start, start.replace(fold=1), end, end.replace(fold=1))}) == 1

    def _hour_start(self, start: datetime) -> datetime | None:
        """The UTC instant of local ``start``, or None when the offset changes within that hour."""
        if not self._steady(start, start.replace(minute=59, second=59)):
            return None
        offset = self.tz.utcoffset(start)
        assert offset is not None
        return (start - offset).replace(tzinfo=UTC)

    def _offset_at(self, local: datetime, stamp: str) -> tuple[timedelta, str | None]:
        before = self.tz.utcoffset(local)
        after = self.tz.utcoffset(local.replace(fold=1))
        assert before is not None and after is not None
        if before == after:
            return before, None
        hours = before.total_seconds() / 3600
        shown = f"UTC{hours:+g}" if hours else "UTC"
        if before < after:
            return before, (f"the time {stamp} did not exist in {self.zone}, because the clocks went forward then; "
                            f"it was read as {shown}, the offset before the change")
        return before, (f"the time {stamp} happened twice in {self.zone}, because the clocks went back then; "
                        f"it was read as the first of the two ({shown})")
