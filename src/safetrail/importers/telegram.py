"""Telegram Desktop "Export chat history" in JSON (``result.json``): one chat, or a whole account.

Variants read:

- single-chat export ``{name, type, id, messages:[…]}``; locators ``result.json#/messages/<i>``;
- full account export ``{about, personal_information, …, chats:{list:[…]}, left_chats:{list:[…]}}``; locators
  ``result.json#/chats/list/<j>/messages/<i>`` (and ``/left_chats/…``);
- media beside ``result.json`` (``photos/``, ``files/``, ``video_files/``, ``voice_messages/``, ``stickers/``…),
  read through ``ctx.related``; media the export settings left out (``(File not included. …)``) become omitted
  attachments without a warning, media that should be there but is not become omitted attachments with one.

How fields map: ``date_unixtime`` (absolute) is preferred; without it ``date`` is the exporting computer's wall
clock and is read as ``local-assumed`` in ``ctx.tz``. ``text`` may be a string or a list of strings and entity
objects: ``Message.text`` joins what was visible, ``Message.raw`` keeps the string itself, or for a list the
compact JSON of the list (entity links stay there). Service messages (calls, members added, pins, screenshots)
have no text of their own: ``text`` is a plain sentence built from the action and ``raw`` is the compact JSON of
the whole service record. A sticker with no text gets its emoji as text; locations, contacts and polls get a
plain line. Edits and reactions become events. The HTML export is not read.

Who is "me": in a full export, ``personal_information.user_id``; in a single personal chat the chat ``id`` is the
other person's user id (and ``name`` their name), so every other sender is the exporter; in a single group or
channel export it cannot be told (``from_me`` is None, with one warning).

Memory: the document is streamed with ``jsonread.JsonStream``; one message is held at a time, so an account export
of several GB imports in a few MB. This module must never open paths, write files or fetch anything.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO, ClassVar

from safetrail.errors import ParseError
from safetrail.importers.base import ParseContext, Probe, Record
from safetrail.importers.jsonread import JsonStream
from safetrail.model import (
    Attachment,
    Event,
    EventKind,
    Message,
    MessageKind,
    ParseWarning,
    Participant,
    Precision,
    Timestamp,
    TimestampKind,
)

__all__ = ["TelegramImporter"]

PLATFORM = "telegram"
_PERSONAL_TYPES = frozenset({"personal_chat", "bot_chat"})
# Placeholders Telegram writes instead of a path; the first two follow the user's own export settings.
_LEFT_OUT_BY_SETTINGS = ("(File not included.", "(File exceeds maximum size.", "(Photo not included.",
                         "(Photo exceeds maximum size.")
_MEDIA_FIELDS = (("photo", "photo"), ("file", "file"), ("contact_vcard", "contact card"))
_FILE_LABELS = {"sticker": "sticker", "voice_message": "voice message", "video_message": "video message",
                "animation": "animation", "video_file": "video", "audio_file": "audio file"}
_EXTENSION_TYPES = {
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp",
    "mp4": "video/mp4", "webm": "video/webm", "mov": "video/quicktime", "ogg": "audio/ogg", "oga": "audio/ogg",
    "mp3": "audio/mpeg", "m4a": "audio/mp4", "pdf": "application/pdf", "vcf": "text/vcard",
    "tgs": "application/x-tgsticker",
}
_ACTIONS = {
    "create_group": "{actor} created the group \u201c{title}\u201d",
    "create_channel": "{actor} created the channel \u201c{title}\u201d",
    "edit_group_title": "{actor} changed the group name to \u201c{title}\u201d",
    "edit_group_photo": "{actor} changed the group photo",
    "delete_group_photo": "{actor} removed the group photo",
    "invite_members": "{actor} added {members}",
    "remove_members": "{actor} removed {members}",
    "join_group_by_link": "{actor} joined the group with an invite link",
    "join_group_by_request": "{actor} joined the group after a request",
    "migrate_to_supergroup": "{actor} converted the group to a supergroup",
    "migrate_from_group": "{actor} converted the group \u201c{title}\u201d to a supergroup",
    "pin_message": "{actor} pinned a message",
    "clear_history": "{actor} cleared the chat history",
    "take_screenshot": "{actor} took a screenshot",
    "joined_telegram": "{actor} joined Telegram",
    "requested_phone_number": "{actor} asked for a phone number",
    "edit_chat_theme": "{actor} changed the chat theme",
    "set_chat_wallpaper": "{actor} changed the chat wallpaper",
    "invite_to_group_call": "{actor} invited {members} to a group call",
}


@dataclass(frozen=True, slots=True)
class _Chat:
    """One chat's name and how to tell the exporter's own messages in it."""

    conversation: str
    me_id: str | None = None  # the exporter's ``from_id``, e.g. "user5550461"
    peer_id: str | None = None  # in a single personal chat: the other person's ``from_id``
    peer_name: str | None = None
    saved: bool = False  # Saved Messages: everything is the exporter's

    def from_me(self, sender_id: str | None, sender_name: str | None) -> bool | None:
        if self.saved:
            return True
        if self.me_id is not None:
            return sender_id == self.me_id if sender_id else None
        if self.peer_id is not None and sender_id:
            return sender_id != self.peer_id
        if self.peer_name is not None and sender_name:
            return sender_name != self.peer_name
        return None

    @property
    def knows_me(self) -> bool:
        return self.saved or self.me_id is not None or self.peer_id is not None or self.peer_name is not None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _id_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, str)):
        return str(value)
    return None


def _compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _timestamp(unixtime: Any, wall: Any, ctx: ParseContext) -> Timestamp | None:
    """The absolute ``*_unixtime`` when readable, else the wall-clock text read in ``ctx.tz``."""
    seconds = _int(unixtime)
    if isinstance(unixtime, str) and unixtime.isascii() and unixtime.isdigit() and len(unixtime) <= 12:
        seconds = int(unixtime)
    if seconds is not None:
        try:
            return Timestamp(datetime.fromtimestamp(seconds, tz=UTC), TimestampKind.ABSOLUTE, Precision.SECOND,
                             as_written=str(unixtime))
        except (OverflowError, OSError, ValueError):
            pass
    if isinstance(wall, str) and 10 <= len(wall) <= 40:
        try:
            parsed = datetime.fromisoformat(wall)
        except ValueError:
            return None
        precision = Precision.DAY if len(wall) == 10 else Precision.SECOND
        try:
            if parsed.tzinfo is not None:
                return Timestamp(parsed, TimestampKind.ABSOLUTE, precision, as_written=wall)
            return Timestamp(parsed.replace(tzinfo=ctx.tz), TimestampKind.LOCAL_ASSUMED, precision,
                             zone=ctx.tz.key, as_written=wall)
        except (OverflowError, ValueError):
            return None
    return None


def _in_clock_change(timestamp: Timestamp, ctx: ParseContext) -> bool:
    """Whether a wall-clock time falls in a daylight-saving change: repeated (two instants) or skipped."""
    if timestamp.kind is not TimestampKind.LOCAL_ASSUMED or not timestamp.as_written:
        return False
    wall = datetime.fromisoformat(timestamp.as_written)
    return wall.replace(tzinfo=ctx.tz, fold=0).utcoffset() != wall.replace(tzinfo=ctx.tz, fold=1).utcoffset()


def _visible_text(value: Any) -> tuple[str, bool]:
    """The text as shown, and whether every part of it was understood."""
    if value is None:
        return "", True
    if isinstance(value, str):
        return value, True
    if not isinstance(value, list):
        return "", False
    parts: list[str] = []
    understood = True
    for item in value:
        if isinstance(item, str):
            parts.append(item)
        elif isinstance(item, dict) and isinstance(item.get("text"), str):
            parts.append(item["text"])
        else:
            understood = False
    return "".join(parts), understood


def _duration(seconds: int) -> str:
    hours, rest = divmod(max(seconds, 0), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min {secs} s"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def _call_text(rec: dict[str, Any]) -> str:
    reason = _str(rec.get("discard_reason"))
    seconds = _int(rec.get("duration_seconds"))
    if reason == "missed":
        return "Missed call"
    if reason == "busy":
        return "Declined call"
    text = "Call"
    if seconds is not None:
        text += f", {_duration(seconds)}"
    if reason:
        text += f" (ended: {reason})"
    return text


def _service_text(rec: dict[str, Any], actor: str) -> str:
    action = _str(rec.get("action"))
    info = _str(rec.get("information_text"))
    if info:
        return info
    if action == "phone_call":
        return _call_text(rec)
    if action == "group_call":
        seconds = _int(rec.get("duration"))
        return "Group call" + (f", {_duration(seconds)}" if seconds is not None else "")
    if action == "set_messages_ttl":
        period = _int(rec.get("period"))
        if not period:
            return f"{actor} turned off disappearing messages"
        return f"{actor} set messages to disappear after {_duration(period)}"
    members = rec.get("members")
    names = ", ".join(m if isinstance(m, str) else "a deleted account" for m in members) \
        if isinstance(members, list) else "someone"
    template = _ACTIONS.get(action or "")
    if template is None:
        return f"{actor}: {action}" if action else f"{actor}: a service message"
    return template.format(actor=actor, title=_str(rec.get("title")) or "", members=names or "someone")


def _extra_lines(rec: dict[str, Any]) -> list[str]:
    """Plain lines for content that has no text of its own: locations, contacts, polls, games."""
    lines: list[str] = []
    place = " ".join(p for p in (_str(rec.get("place_name")), _str(rec.get("address"))) if p)
    location = rec.get("location_information")
    if isinstance(location, dict):
        lat, lon = location.get("latitude"), location.get("longitude")
        if isinstance(lat, (int, float)) and isinstance(lon, (int, float)):
            lines.append(f"Location: {lat}, {lon}" + (f" ({place})" if place else ""))
    elif place:
        lines.append(f"Location: {place}")
    contact = rec.get("contact_information")
    if isinstance(contact, dict):
        name = " ".join(p for p in (_str(contact.get("first_name")), _str(contact.get("last_name"))) if p)
        phone = _str(contact.get("phone_number"))
        lines.append("Contact: " + ", ".join(p for p in (name, phone) if p))
    poll = rec.get("poll")
    if isinstance(poll, dict):
        lines.append(f"Poll: {_str(poll.get('question')) or ''}")
        answers = poll.get("answers")
        if isinstance(answers, list):
            lines.extend(f"- {a['text']}" for a in answers if isinstance(a, dict) and isinstance(a.get("text"), str))
    game = _str(rec.get("game_title"))
    if game:
        lines.append(f"Game: {game}")
    return lines


def _media_type(field: str, path: str, rec: dict[str, Any]) -> str | None:
    if field == "photo":
        return "image/jpeg"  # Telegram saves every photo as JPEG
    mime = _str(rec.get("mime_type"))
    if field == "file" and mime:
        return mime
    ext = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    return _EXTENSION_TYPES.get(ext)


def _is_safe_relpath(path: str) -> bool:
    normal = path.replace("\\", "/")
    return bool(normal) and not normal.startswith("/") and ":" not in normal[:3] and "\x00" not in normal \
        and all(part != ".." for part in normal.split("/"))


class _Reader:
    """One pass over one ``result.json``, yielding records in file order."""

    def __init__(self, stream: BinaryIO, ctx: ParseContext) -> None:
        self.ctx = ctx
        self.member = ctx.source.name or "result.json"
        self.json = JsonStream(stream, self.member, ctx.limits)
        self.me_id: str | None = None
        self.messages_seen = 0
        self.warned_no_me = False

    def warn(self, locator: str, reason: str) -> ParseWarning:
        return ParseWarning(self.ctx.source.sha256, locator, reason)

    def records(self) -> Iterator[Record]:
        j = self.json
        if j.peek_kind() != "object":
            raise ParseError("this is not a Telegram export: the file does not hold a JSON object", path=self.member,
                             hint="Choose the result.json that Telegram Desktop wrote (Export chat history, JSON).")
        meta: dict[str, Any] = {}
        for key in j.iter_object():
            if key == "messages" and j.peek_kind() == "array":
                chat = self.single_chat(meta)
                yield from self.chat_warnings(chat, f"{self.member}#/messages", single=True)
                yield from self.messages(chat, "/messages")
            elif key in ("chats", "left_chats") and j.peek_kind() == "object":
                for inner in j.iter_object():
                    if inner == "list" and j.peek_kind() == "array":
                        for index in j.iter_array():
                            yield from self.listed_chat(f"/{key}/list/{index}")
            elif key == "personal_information":
                info = j.read_value()
                if isinstance(info, dict):
                    user_id = _id_text(info.get("user_id"))
                    self.me_id = f"user{user_id}" if user_id else None
            elif key in ("name", "type", "id"):
                meta[key] = j.read_value()
        j.finish()
        if self.messages_seen == 0:
            yield self.warn(f"{self.member}#/", "this Telegram export holds no chat messages")

    def single_chat(self, meta: dict[str, Any]) -> _Chat:
        name, chat_type, chat_id = _str(meta.get("name")), _str(meta.get("type")), _id_text(meta.get("id"))
        conversation = self.conversation_name(name, chat_type, chat_id)
        if chat_type == "saved_messages":
            return _Chat(conversation, saved=True)
        if chat_type in _PERSONAL_TYPES:
            return _Chat(conversation, peer_id=f"user{chat_id}" if chat_id else None, peer_name=name)
        return _Chat(conversation)

    @staticmethod
    def conversation_name(name: str | None, chat_type: str | None, chat_id: str | None) -> str:
        if chat_type == "saved_messages":
            label = name or "Saved Messages"
        elif chat_type == "replies":
            label = name or "Replies"
        else:
            label = name or "Telegram chat"
        return f"{label} ({chat_id})" if chat_id else label

    def chat_warnings(self, chat: _Chat, locator: str, *, single: bool) -> Iterator[Record]:
        if chat.knows_me:
            return
        if single:
            yield self.warn(locator, "this export is of a group or channel, and it does not say which sender is "
                                     "you; please confirm who you are in this conversation")
        elif not self.warned_no_me:
            self.warned_no_me = True
            yield self.warn(locator, "this account export has no readable personal_information before its chats, "
                                     "so safetrail cannot tell which messages are yours; please confirm who you are")

    def listed_chat(self, fragment: str) -> Iterator[Record]:
        j = self.json
        if j.peek_kind() != "object":
            j.read_value()
            yield self.warn(f"{self.member}#{fragment}", "this entry in the chat list is not a chat; it was skipped")
            return
        meta: dict[str, Any] = {}
        for key in j.iter_object():
            if key == "messages" and j.peek_kind() == "array":
                name, chat_type = _str(meta.get("name")), _str(meta.get("type"))
                chat = _Chat(self.conversation_name(name, chat_type, _id_text(meta.get("id"))), me_id=self.me_id,
                             saved=chat_type == "saved_messages")
                yield from self.chat_warnings(chat, f"{self.member}#{fragment}", single=False)
                yield from self.messages(chat, f"{fragment}/messages")
            elif key in ("name", "type", "id"):
                meta[key] = j.read_value()

    def messages(self, chat: _Chat, fragment: str) -> Iterator[Record]:
        j = self.json
        for index in j.iter_array():
            locator = f"{self.member}#{fragment}/{index}"
            rec = j.read_value()
            self.messages_seen += 1
            yield from self.message(rec, locator, chat)
            if j.replaced_chars:
                yield self.warn(locator, f"{j.replaced_chars} character(s) in this message were damaged escapes "
                                         "that cannot be stored as text; each is shown as \ufffd")

    def message(self, rec: Any, locator: str, chat: _Chat) -> Iterator[Record]:
        if not isinstance(rec, dict):
            yield self.warn(locator, "this entry is not a message record; it was skipped")
            return
        record_type = _str(rec.get("type")) or "message"
        if record_type == "unsupported":
            yield self.warn(locator, "Telegram could not export this message (it marks it \u201cunsupported\u201d); "
                                     "it is not included")
            return
        timestamp = _timestamp(rec.get("date_unixtime"), rec.get("date"), self.ctx)
        if timestamp is None:
            yield self.warn(locator, "this message has no date that can be read, so it was skipped; it is still "
                                     "in the original file")
            return
        warnings: list[ParseWarning] = []
        if rec.get("date_unixtime") is not None and timestamp.kind is not TimestampKind.ABSOLUTE:
            warnings.append(self.warn(locator, "date_unixtime could not be read, so the local date was used, "
                                               f"assuming the time zone {self.ctx.tz.key}"))
        if _in_clock_change(timestamp, self.ctx):
            warnings.append(self.warn(locator, f"the local time {timestamp.as_written} falls in a clock change in "
                                               f"{self.ctx.tz.key}, so the exact instant is uncertain by an hour"))
        service = record_type == "service"
        name_key, id_key = ("actor", "actor_id") if service else ("from", "from_id")
        sender_id = _id_text(rec.get(id_key))
        sender_name = _str(rec.get(name_key))
        sender = Participant(sender_name or sender_id or "", sender_id) if (sender_name or sender_id) else None
        text_value = rec.get("text", "")
        shown, understood = _visible_text(text_value)
        if not understood:
            warnings.append(self.warn(locator, "part of this message's text is in a form safetrail does not know; "
                                               "the raw text keeps it"))
        action = _str(rec.get("action"))
        kind = MessageKind.MESSAGE
        reply_to = _id_text(rec.get("reply_to_message_id"))
        if service:
            kind = MessageKind.CALL if action in ("phone_call", "group_call") else MessageKind.SYSTEM
            text = _service_text(rec, sender_name or "Someone")
            raw = _compact_json(rec)
            if action == "pin_message":
                reply_to = _id_text(rec.get("message_id"))
        else:
            raw = text_value if isinstance(text_value, str) else _compact_json(text_value)
            text = shown
            sticker_emoji = _str(rec.get("sticker_emoji"))
            if not text and sticker_emoji:
                text = sticker_emoji
            extra = _extra_lines(rec)
            if extra:
                text = "\n".join(([text] if text else []) + extra)
        attachments: list[Attachment] = []
        for field, label in _MEDIA_FIELDS:
            attachment, warning = self.attachment(rec, field, label, locator)
            if attachment is not None:
                attachments.append(attachment)
            if warning is not None:
                warnings.append(warning)
        events = self.events(rec, locator, sender_name or sender_id)
        yield Message(
            source_sha256=self.ctx.source.sha256,
            locator=locator,
            platform=PLATFORM,
            conversation=chat.conversation,
            timestamp=timestamp,
            text=text,
            raw=raw,
            sender=sender,
            kind=kind,
            from_me=chat.from_me(sender_id, sender_name) if sender else None,
            platform_id=_id_text(rec.get("id")),
            reply_to=reply_to,
            forwarded_from=_str(rec.get("forwarded_from")),
            attachments=tuple(attachments),
            events=events,
        )
        yield from warnings

    def events(self, rec: dict[str, Any], locator: str, actor: str | None) -> tuple[Event, ...]:
        events: list[Event] = []
        if rec.get("edited") is not None or rec.get("edited_unixtime") is not None:
            edited = _timestamp(rec.get("edited_unixtime"), rec.get("edited"), self.ctx)
            events.append(Event(EventKind.EDITED, locator, actor=actor, timestamp=edited))
        reactions = rec.get("reactions")
        if isinstance(reactions, list):
            for reaction in reactions:
                if not isinstance(reaction, dict):
                    continue
                emoji = _str(reaction.get("emoji"))
                if emoji is None:
                    document = _id_text(reaction.get("document_id"))
                    emoji = f"custom emoji {document}" if document else (_str(reaction.get("type")) or "reaction")
                recent = reaction.get("recent")
                people = [r for r in recent if isinstance(r, dict)] if isinstance(recent, list) else []
                for person in people:
                    who = _str(person.get("from")) or _id_text(person.get("from_id"))
                    when = _timestamp(person.get("date_unixtime"), person.get("date"), self.ctx)
                    events.append(Event(EventKind.REACTION, locator, actor=who, timestamp=when, detail=emoji))
                count = _int(reaction.get("count"))
                if not people:
                    events.append(Event(EventKind.REACTION, locator, detail=emoji + (f" \u00d7{count}" if count
                                                                                     and count > 1 else "")))
        return tuple(events)

    def attachment(self, rec: dict[str, Any], field: str, label: str,
                   locator: str) -> tuple[Attachment | None, ParseWarning | None]:
        value = rec.get(field)
        if value is None:
            return None, None
        where = f"{locator}/{field}"
        file_name = _str(rec.get("file_name")) if field == "file" else None
        if field == "file":
            label = _FILE_LABELS.get(_str(rec.get("media_type")) or "", label)
        if not isinstance(value, str) or not value:
            return (Attachment(file_name or label, where, omitted=True),
                    self.warn(locator, f"the {label} of this message is named in a form safetrail does not know"))
        if value.startswith("(") and value.endswith(")"):
            attachment = Attachment(file_name or label, where, media_type=_media_type(field, file_name or "", rec),
                                    omitted=True)
            if value.startswith(_LEFT_OUT_BY_SETTINGS):
                return attachment, None
            return attachment, self.warn(locator, f"the {label} of this message was not saved by Telegram: {value}")
        name = file_name or value.replace("\\", "/").rsplit("/", 1)[-1]
        media_type = _media_type(field, value, rec)
        if not _is_safe_relpath(value):
            return (Attachment(name, value, media_type=media_type, omitted=True),
                    self.warn(locator, f"the {label} path {value!r} points outside the export folder, so it was "
                                       "not read"))
        data = self.ctx.related.read(value) if self.ctx.related is not None else None
        if data is None:
            return (Attachment(name, value, media_type=media_type, omitted=True),
                    self.warn(locator, f"the {label} {value!r} is named by this message but is not in the export "
                                       "folder, so it was not read"))
        return Attachment(name, value, media_type=media_type, sha256=hashlib.sha256(data).hexdigest(),
                          size=len(data), data=data), None


class TelegramImporter:
    """Telegram Desktop JSON exports (``result.json``), one chat or a whole account, with media beside them."""

    name: ClassVar[str] = "telegram"
    version: ClassVar[str] = "1"
    platform: ClassVar[str] = PLATFORM
    title: ClassVar[str] = "Telegram Desktop chat export (result.json)"
    variants: ClassVar[tuple[str, ...]] = (
        "single chat export (name, type, id, messages)",
        "full account export (personal_information, chats, left_chats)",
        "media beside result.json, or left out by the export settings",
    )

    def sniff(self, probe: Probe) -> float:
        head = probe.head.removeprefix(b"\xef\xbb\xbf").lstrip()
        if not head.startswith(b"{"):
            return 0.0
        named = probe.name.lower() == "result.json"
        score = 0.0
        has_ids = b'"from_id"' in head or b'"actor_id"' in head or b'"text_entities"' in head
        if b'"date_unixtime"' in head and has_ids:
            score = 0.85
        elif b'"personal_information"' in head and b'"user_id"' in head:
            score = 0.6  # an account export whose first 64 KiB hold only account data
        elif b'"messages"' in head and (b'"personal_chat"' in head or b'"private_group"' in head
                                         or b'"private_supergroup"' in head or b'"saved_messages"' in head):
            score = 0.6
        elif named and b'"messages"' in head:
            score = 0.4
        if named and score:
            score = min(score + 0.1, 0.95)
        return score

    def parse(self, stream: BinaryIO, ctx: ParseContext) -> Iterator[Record]:
        return _Reader(stream, ctx).records()
