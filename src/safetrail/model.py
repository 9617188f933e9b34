"""The evidence data model: what an importer yields and what the vault stores.

Everything here is a frozen value. Text is kept exactly as it stood in the source (``raw``); any repaired or
normalised copy is derived and stored beside it, never in its place. Times are UTC instants with a label that
says how sure we are of them (``TimestampKind``) and how fine they are (``Precision``).

This module must never import anything from the rest of safetrail: every other layer depends on it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "Attachment",
    "Event",
    "EventKind",
    "Finding",
    "Flag",
    "Message",
    "MessageKind",
    "ParseWarning",
    "Participant",
    "Precision",
    "Source",
    "Timestamp",
    "TimestampKind",
    "message_id",
    "utc_from_epoch_ms",
]


class TimestampKind(StrEnum):
    """How a time was established."""

    ABSOLUTE = "absolute"  # the source gives an instant (epoch, or a time with its zone)
    LOCAL_ASSUMED = "local-assumed"  # a wall-clock time with no zone; we assumed ``Timestamp.zone``
    SENDER_ASSERTED = "sender-asserted"  # a time the sender's own software wrote (e.g. an email Date header)


class Precision(StrEnum):
    MILLISECOND = "millisecond"
    SECOND = "second"
    MINUTE = "minute"
    DAY = "day"


class MessageKind(StrEnum):
    MESSAGE = "message"  # something a person sent
    SYSTEM = "system"  # a line the platform wrote (group created, number changed, encryption notice)
    CALL = "call"  # a call or missed call


class EventKind(StrEnum):
    """Things that happened to a message; each is evidence in its own right."""

    EDITED = "edited"
    DELETED = "deleted"  # deleted by the sender; the text is gone, the fact is kept
    UNSENT = "unsent"
    REACTION = "reaction"


@dataclass(frozen=True, slots=True)
class Participant:
    """Someone as the export names them: the display name shown, plus the platform's id when there is one."""

    name: str
    platform_id: str | None = None


@dataclass(frozen=True, slots=True)
class Timestamp:
    """A UTC instant plus how it was established.

    ``as_written`` is the time text exactly as the source shows it, so a reader can check our reading.
    ``zone`` is the IANA zone assumed for ``LOCAL_ASSUMED`` times (and the zone given, when the source gives one).
    """

    utc: datetime
    kind: TimestampKind
    precision: Precision
    zone: str | None = None
    as_written: str | None = None

    def __post_init__(self) -> None:
        if self.utc.tzinfo is None or self.utc.utcoffset() is None:
            raise ValueError("Timestamp.utc must be timezone-aware")
        if self.utc.tzinfo is not UTC:
            object.__setattr__(self, "utc", self.utc.astimezone(UTC))
        if self.kind is TimestampKind.LOCAL_ASSUMED and not self.zone:
            raise ValueError("a local-assumed timestamp must say which zone was assumed")

    def iso(self) -> str:
        return self.utc.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Source:
    """One original file as the user gave it. Its SHA-256 is taken before any parsing."""

    sha256: str
    size: int
    name: str
    importer: str = ""
    importer_version: str = ""
    importer_origin: str = "builtin"


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file that came with a message, or a placeholder saying one existed but was not exported.

    ``data`` holds the bytes when the export includes them; the vault stores them content-addressed and only
    ``sha256`` travels further. ``locator`` says where the bytes were (zip member, sibling path, XML part).
    """

    name: str
    locator: str
    media_type: str | None = None
    sha256: str | None = None
    size: int | None = None
    omitted: bool = False  # the export says there was media but left it out
    data: bytes | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened to a message (edited, deleted, unsent, a reaction), with where it was seen."""

    kind: EventKind
    locator: str
    actor: str | None = None
    timestamp: Timestamp | None = None
    detail: str | None = None


def message_id(source_sha256: str, locator: str) -> str:
    """A message's stable id: the same original and place always give the same id (idempotent re-import)."""
    return hashlib.sha256(f"{source_sha256}\x00{locator}".encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Message:
    """One message, call or system line, with exactly where it came from.

    ``raw`` is the record's text exactly as it stands in the source (for line formats, the whole record including
    the date header; for structured formats, the text field before any repair). ``text`` is the message body as the
    platform showed it: escapes decoded, split surrogates joined, mojibake repaired. They are equal when nothing
    needed repair. ``locator`` is ``member#fragment``: enough to find the bytes again.
    """

    source_sha256: str
    locator: str
    platform: str
    conversation: str
    timestamp: Timestamp
    text: str
    raw: str
    sender: Participant | None = None
    kind: MessageKind = MessageKind.MESSAGE
    recipients: tuple[Participant, ...] = ()
    from_me: bool | None = None  # None: the export does not say who the exporter is
    platform_id: str | None = None
    reply_to: str | None = None
    forwarded_from: str | None = None
    subject: str | None = None
    attachments: tuple[Attachment, ...] = ()
    events: tuple[Event, ...] = ()

    @property
    def id(self) -> str:
        return message_id(self.source_sha256, self.locator)

    @property
    def edited(self) -> bool:
        return any(e.kind is EventKind.EDITED for e in self.events)

    @property
    def deleted(self) -> bool:
        return any(e.kind in (EventKind.DELETED, EventKind.UNSENT) for e in self.events)

    @property
    def sender_name(self) -> str:
        return self.sender.name if self.sender else ""

    def to_dict(self) -> dict[str, Any]:
        """Everything about the message as plain JSON-able data (attachment bytes left out)."""
        return {
            "id": self.id,
            "platform": self.platform,
            "conversation": self.conversation,
            "kind": self.kind.value,
            "sender": self.sender.name if self.sender else None,
            "sender_id": self.sender.platform_id if self.sender else None,
            "from_me": self.from_me,
            "recipients": [p.name for p in self.recipients],
            "timestamp": self.timestamp.iso(),
            "timestamp_kind": self.timestamp.kind.value,
            "timestamp_precision": self.timestamp.precision.value,
            "timestamp_zone": self.timestamp.zone,
            "timestamp_as_written": self.timestamp.as_written,
            "text": self.text,
            "raw": self.raw,
            "subject": self.subject,
            "platform_id": self.platform_id,
            "reply_to": self.reply_to,
            "forwarded_from": self.forwarded_from,
            "attachments": [
                {"name": a.name, "locator": a.locator, "media_type": a.media_type, "sha256": a.sha256,
                 "size": a.size, "omitted": a.omitted}
                for a in self.attachments
            ],
            "events": [
                {"kind": e.kind.value, "locator": e.locator, "actor": e.actor,
                 "timestamp": e.timestamp.iso() if e.timestamp else None, "detail": e.detail}
                for e in self.events
            ],
            "source_sha256": self.source_sha256,
            "locator": self.locator,
        }


@dataclass(frozen=True, slots=True)
class ParseWarning:
    """Something an importer could not read or had to guess. Stored and counted, never only logged."""

    source_sha256: str
    locator: str
    reason: str


@dataclass(frozen=True, slots=True)
class Flag:
    """A per-message signal from analysis: a category, a calibrated score and the evidence quoted."""

    message_id: str
    category: str
    score: float
    evidence: str
    model_version: str


@dataclass(frozen=True, slots=True)
class Finding:
    """A pattern across messages (course of conduct, contact after refusal...), with the messages behind it."""

    kind: str
    conversation: str
    summary: str
    message_ids: tuple[str, ...]
    first: datetime | None = None
    last: datetime | None = None
    counts: tuple[tuple[str, float], ...] = ()


def utc_from_epoch_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)
