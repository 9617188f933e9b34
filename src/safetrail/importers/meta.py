"""Instagram and Facebook Messenger messages from Meta's "Download your information" (JSON).

Variants read:

- ``…/messages/inbox/<thread>/message_N.json`` (Instagram and Messenger share it): ``{participants:[{name}],
  messages:[{sender_name, timestamp_ms, content, photos, videos, audio_files, gifs, files, sticker, share,
  reactions, is_unsent, call_duration, type, users, …}], title, thread_path, …}``, messages newest first;
- the Messenger end-to-end-encrypted chats download, camelCase: ``{participants:[name…], threadName,
  messages:[{senderName, timestamp, text, type, isUnsent, media:[{uri}], reactions:[{reactor|actor,
  reaction}]}]}``.

Records are yielded in file order (newest first for the classic export) with locators by index,
``message_1.json#/messages/<i>``; times are absolute milliseconds.

Mojibake: the classic export writes every string as its UTF-8 bytes, one ``\\u00XX`` escape per byte.
``repair_mojibake`` undoes that only when the string re-encodes as Latin-1 and decodes as UTF-8 (so genuine
accented text is left alone). ``Message.raw`` keeps ``content`` exactly as stored (unrepaired); ``text``, names,
reactions and shares are repaired. The encrypted-chats download has no mojibake and is not repaired.

``text`` is ``content``, then for a share the shared text and the link on their own lines (unless already in the
content); for a call, a line "Call, 3 min 12 s" or "Missed call". The shared content's owner goes in
``forwarded_from``. Unsent messages get an UNSENT event; reactions become REACTION events (actor, emoji).

Instagram or Facebook? Meta writes the same shape for both, so each file is judged on what it holds, strongest
first: media paths under ``your_instagram_activity/`` or ``your_facebook_activity/`` (also
``your_activity_across_facebook/``), shared links to instagram.com or facebook.com/messenger.com, Instagram's own
"Liked a message" / "Reacted … to your message" lines; then Messenger-only fields (``thread_type``, message
``type``, non-empty ``magic_words``); last, all participant names looking like Instagram usernames. When nothing
strong decides it, the platform is a guess and a warning says so. The encrypted-chats download is Messenger.

Who is "me": Meta lists the owner in every thread's ``participants`` and names the other side in ``title``, so in a
two-person thread the participant who is not the title is the exporter; otherwise ``from_me`` is None, with one
warning.

Media named by a ``uri`` (relative to the export root) are read through ``ctx.related``, which only reaches the
folder holding the JSON file: the part of the uri after the thread's folder is tried first, then shorter tails.
This module must never open paths, write files or fetch anything (``http`` uris are noted, never downloaded).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any, BinaryIO, ClassVar

from safetrail.errors import ParseError
from safetrail.importers.base import ParseContext, Probe, Record
from safetrail.importers.jsonread import load_document
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
    utc_from_epoch_ms,
)

__all__ = ["MetaImporter", "decide_platform", "repair_mojibake"]

_MEDIA_FIELDS = (("photos", "photo"), ("videos", "video"), ("audio_files", "audio file"), ("gifs", "GIF"),
                 ("files", "file"))
_MESSENGER_TYPES = frozenset({"Generic", "Share", "Call", "Subscribe", "Unsubscribe"})
_INSTAGRAM_USERNAME = re.compile(r"[a-z0-9._]{1,30}")
_INSTAGRAM_LINES = re.compile(r"Liked a message|Reacted .{1,16} to your message")
_INSTAGRAM_HOSTS = re.compile(r"https?://(?:www\.)?(?:instagram\.com|instagr\.am|ig\.me)/", re.IGNORECASE)
_FACEBOOK_HOSTS = re.compile(r"https?://(?:[a-z]+\.)?(?:facebook\.com|messenger\.com|fb\.watch|fb\.me|m\.me)/",
                             re.IGNORECASE)
_MESSAGE_FILE = re.compile(r"message_\d+\.json", re.IGNORECASE)
_EXTENSION_TYPES = {
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp",
    "heic": "image/heic", "mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm", "m4a": "audio/mp4",
    "aac": "audio/aac", "mp3": "audio/mpeg", "ogg": "audio/ogg", "wav": "audio/wav", "opus": "audio/opus",
    "pdf": "application/pdf", "txt": "text/plain",
}


def repair_mojibake(text: str) -> str:
    """Undo Meta's mojibake (UTF-8 bytes stored as one Latin-1 character each); anything else is returned as is."""
    if text.isascii():
        return text
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return int(value)
    return None


def _ms_timestamp(value: Any) -> Timestamp | None:
    ms = _int(value)
    if ms is None:
        return None
    try:
        return Timestamp(utc_from_epoch_ms(ms), TimestampKind.ABSOLUTE, Precision.MILLISECOND, as_written=str(value))
    except (OverflowError, OSError, ValueError):
        return None


def _reaction_timestamp(value: Any) -> Timestamp | None:
    number = _int(value)
    if number is None:
        return None
    if abs(number) < 10**11:  # seconds, as Meta writes creation times; milliseconds are 13 digits today
        try:
            return Timestamp(utc_from_epoch_ms(number * 1000), TimestampKind.ABSOLUTE, Precision.SECOND,
                             as_written=str(value))
        except (OverflowError, OSError, ValueError):
            return None
    return _ms_timestamp(value)


def _duration(seconds: int) -> str:
    hours, rest = divmod(max(seconds, 0), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min {secs} s"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def _media_type(name: str, data: bytes | None) -> str | None:
    if data:
        if data.startswith(b"\xff\xd8\xff"):
            return "image/jpeg"
        if data.startswith(b"\x89PNG\r\n\x1a\n"):
            return "image/png"
        if data.startswith((b"GIF87a", b"GIF89a")):
            return "image/gif"
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return "image/webp"
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return _EXTENSION_TYPES.get(ext)


def _is_safe_relpath(path: str) -> bool:
    return not path.startswith("/") and ":" not in path[:3] and "\x00" not in path \
        and all(part != ".." for part in path.split("/"))


def _uris(messages: list[Any], doc: dict[str, Any]) -> Iterator[str]:
    image = doc.get("image")
    if isinstance(image, dict) and isinstance(image.get("uri"), str):
        yield image["uri"]
    for rec in messages:
        if not isinstance(rec, dict):
            continue
        for field in ("photos", "videos", "audio_files", "gifs", "files", "media"):
            items = rec.get(field)
            if isinstance(items, list):
                yield from (i["uri"] for i in items if isinstance(i, dict) and isinstance(i.get("uri"), str))
        sticker = rec.get("sticker")
        if isinstance(sticker, dict) and isinstance(sticker.get("uri"), str):
            yield sticker["uri"]


def decide_platform(doc: dict[str, Any]) -> tuple[str, str | None]:
    """``("instagram" | "facebook", None)`` when the file says which, or the guess and the reason it is one."""
    messages = doc.get("messages")
    messages = messages if isinstance(messages, list) else []
    instagram = facebook = 0
    for uri in _uris(messages, doc):
        start = uri.replace("\\", "/").lstrip("./")
        if start.startswith("your_instagram_activity/"):
            instagram += 3
        elif start.startswith(("your_facebook_activity/", "your_activity_across_facebook/")):
            facebook += 3
    for rec in messages:
        if not isinstance(rec, dict):
            continue
        share = rec.get("share")
        link = share.get("link") if isinstance(share, dict) else None
        if isinstance(link, str):
            instagram += 3 if _INSTAGRAM_HOSTS.match(link) else 0
            facebook += 3 if _FACEBOOK_HOSTS.match(link) else 0
        content = rec.get("content")
        if isinstance(content, str) and _INSTAGRAM_LINES.fullmatch(repair_mojibake(content)):
            instagram += 3
        if _str(rec.get("type")) in _MESSENGER_TYPES:
            facebook += 1
    if "thread_type" in doc:
        facebook += 3
    magic = doc.get("magic_words")
    if isinstance(magic, list) and magic:
        facebook += 3
    if "threadName" in doc:
        facebook += 3  # only Messenger offers the encrypted-chats download
    names = [n for n in _participant_names(doc.get("participants")) if n]
    if names and all(_INSTAGRAM_USERNAME.fullmatch(n) for n in names):
        instagram += 1
    platform = "instagram" if instagram > facebook else "facebook"
    if max(instagram, facebook) >= 3 and instagram != facebook:
        return platform, None
    if instagram == facebook:
        return platform, ("nothing in this file says whether it came from Instagram or Facebook Messenger; it was "
                          "recorded as Facebook Messenger, so please correct it if it came from Instagram")
    return platform, (f"this file was recorded as {'Instagram' if platform == 'instagram' else 'Facebook Messenger'} "
                      "from weak signs only (names or message fields); please correct it if that is wrong")


def _participant_names(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    names: list[str] = []
    for item in value:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            names.append(repair_mojibake(item["name"]))
        elif isinstance(item, str):
            names.append(item)
    return names


class _Thread:
    """One message file: its conversation, participants, platform and the records in it."""

    def __init__(self, doc: dict[str, Any], ctx: ParseContext, *, encrypted: bool) -> None:
        self.ctx = ctx
        self.member = ctx.source.name or "message_1.json"
        self.encrypted = encrypted
        self.fix = (lambda s: s) if encrypted else repair_mojibake
        self.participants = _participant_names(doc.get("participants"))
        if encrypted:
            title = _str(doc.get("threadName"))
            self.thread_dir = None
        else:
            raw_title = _str(doc.get("title"))
            title = repair_mojibake(raw_title) if raw_title is not None else None
            thread_path = _str(doc.get("thread_path"))
            self.thread_dir = thread_path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] if thread_path else None
        label = title or "Conversation"
        self.conversation = f"{label} ({self.thread_dir})" if self.thread_dir else label
        self.platform, self.platform_doubt = decide_platform(doc)
        others = [p for p in self.participants if p != title]
        self.me = others[0] if len(self.participants) == 2 and len(others) == 1 else None

    def warn(self, locator: str, reason: str) -> ParseWarning:
        return ParseWarning(self.ctx.source.sha256, locator, reason)

    def records(self, messages: list[Any], replaced: int) -> Iterator[Record]:
        head = f"{self.member}#/"
        if replaced:
            yield self.warn(head, f"{replaced} character(s) in this file were damaged escapes that cannot be stored "
                                  "as text; each is shown as \ufffd")
        if self.platform_doubt:
            yield self.warn(head, self.platform_doubt)
        if self.me is None and messages:
            count = len(self.participants)
            yield self.warn(head, f"this conversation lists {count} participant{'s' if count != 1 else ''}, so "
                                  "safetrail cannot tell which one is you; please confirm who you are")
        for index, rec in enumerate(messages):
            yield from self.message(rec, f"{self.member}#/messages/{index}")

    def message(self, rec: Any, locator: str) -> Iterator[Record]:
        if not isinstance(rec, dict):
            yield self.warn(locator, "this entry is not a message record; it was skipped")
            return
        enc = self.encrypted
        timestamp = _ms_timestamp(rec.get("timestamp" if enc else "timestamp_ms"))
        if timestamp is None:
            yield self.warn(locator, "this message has no time that can be read, so it was skipped; it is still in "
                                     "the original file")
            return
        warnings: list[ParseWarning] = []
        sender_raw = _str(rec.get("senderName" if enc else "sender_name"))
        sender_name = self.fix(sender_raw) if sender_raw is not None else None
        content = rec.get("text" if enc else "content")
        raw = content if isinstance(content, str) else ""
        if content is not None and not isinstance(content, str):
            warnings.append(self.warn(locator, "this message's text is in a form safetrail does not know; it was "
                                               "left out and is still in the original file"))
        lines = [self.fix(raw)] if raw else []
        message_type = _str(rec.get("type")) or ""
        kind = MessageKind.MESSAGE
        forwarded_from = None
        share = rec.get("share")
        if isinstance(share, dict):
            shown = "\n".join(lines)
            for key in ("share_text", "link"):
                value = _str(share.get(key))
                if value and self.fix(value) not in shown:
                    lines.append(self.fix(value))
            owner = _str(share.get("original_content_owner"))
            forwarded_from = self.fix(owner) if owner else None
        duration = _int(rec.get("call_duration"))
        if duration is not None or message_type.lower() == "call":
            kind = MessageKind.CALL
            missed = rec.get("missed") is True or duration == 0
            lines.append("Missed call" if missed else "Call" + (f", {_duration(duration)}" if duration else ""))
        if message_type.lower() in ("subscribe", "unsubscribe"):
            kind = MessageKind.SYSTEM
            if not lines:
                users = ", ".join(_participant_names(rec.get("users"))) or "someone"
                verb = "added" if message_type.lower() == "subscribe" else "removed"
                lines.append(f"{sender_name or 'Someone'} {verb} {users}")
        if rec.get("is_geoblocked_for_viewer") is True:
            warnings.append(self.warn(locator, "Meta marked this message as not viewable where the export was made; "
                                               "some of its content may be missing"))
        attachments: list[Attachment] = []
        for attachment, warning in self.attachments(rec, locator):
            attachments.append(attachment)
            if warning is not None:
                warnings.append(warning)
        sender = Participant(sender_name) if sender_name is not None else None
        yield Message(
            source_sha256=self.ctx.source.sha256,
            locator=locator,
            platform=self.platform,
            conversation=self.conversation,
            timestamp=timestamp,
            text="\n".join(lines),
            raw=raw,
            sender=sender,
            kind=kind,
            recipients=tuple(Participant(p) for p in self.participants if p != sender_name),
            from_me=(sender_name == self.me) if self.me is not None and sender_name is not None else None,
            forwarded_from=forwarded_from,
            attachments=tuple(attachments),
            events=self.events(rec, locator, sender_name),
        )
        yield from warnings

    def events(self, rec: dict[str, Any], locator: str, sender: str | None) -> tuple[Event, ...]:
        events: list[Event] = []
        if rec.get("isUnsent" if self.encrypted else "is_unsent") is True:
            events.append(Event(EventKind.UNSENT, locator, actor=sender))
        reactions = rec.get("reactions")
        if isinstance(reactions, list):
            for reaction in reactions:
                if not isinstance(reaction, dict):
                    continue
                actor = _str(reaction.get("actor")) or _str(reaction.get("reactor"))
                emoji = _str(reaction.get("reaction"))
                events.append(Event(EventKind.REACTION, locator, actor=self.fix(actor) if actor else None,
                                    timestamp=_reaction_timestamp(reaction.get("timestamp")),
                                    detail=self.fix(emoji) if emoji else None))
        return tuple(events)

    def attachments(self, rec: dict[str, Any], locator: str) -> Iterator[tuple[Attachment, ParseWarning | None]]:
        fields = (("media", "media file"),) if self.encrypted else _MEDIA_FIELDS
        for field, label in fields:
            items = rec.get(field)
            if not isinstance(items, list):
                continue
            for item in items:
                uri = item.get("uri") if isinstance(item, dict) else None
                if isinstance(uri, str) and uri:
                    yield self.media(uri, label, locator)
                else:
                    yield (Attachment(label, f"{locator}/{field}", omitted=True),
                           self.warn(locator, f"a {label} of this message has no path safetrail can read"))
        sticker = rec.get("sticker")
        if isinstance(sticker, dict) and isinstance(sticker.get("uri"), str) and sticker["uri"]:
            yield self.media(sticker["uri"], "sticker", locator)

    def media(self, uri: str, label: str, locator: str) -> tuple[Attachment, ParseWarning | None]:
        normal = uri.replace("\\", "/")
        name = normal.rstrip("/").rsplit("/", 1)[-1] or label
        if normal.lower().startswith(("http://", "https://")):
            return (Attachment(name, uri, media_type=_media_type(name, None), omitted=True),
                    self.warn(locator, f"the export links to this {label} online ({uri}) instead of including it; "
                                       "safetrail does not download it"))
        if not _is_safe_relpath(normal):
            return (Attachment(name, uri, media_type=_media_type(name, None), omitted=True),
                    self.warn(locator, f"the {label} path {uri!r} points outside the export folder, so it was "
                                       "not read"))
        parts = [p for p in normal.split("/") if p not in ("", ".")]
        candidates: list[str] = []
        if self.thread_dir and self.thread_dir in parts:
            after = len(parts) - parts[::-1].index(self.thread_dir)
            candidates.append("/".join(parts[after:]))
        candidates += ["/".join(parts[k:]) for k in range(len(parts)) if k == 0 or len(parts) - k >= 2]
        related = self.ctx.related
        for candidate in dict.fromkeys(c for c in candidates if c):
            data = related.read(candidate) if related is not None else None
            if data is not None:
                return Attachment(name, candidate, media_type=_media_type(name, data),
                                  sha256=hashlib.sha256(data).hexdigest(), size=len(data), data=data), None
        return (Attachment(name, uri, media_type=_media_type(name, None), omitted=True),
                self.warn(locator, f"the {label} {uri!r} named by this message was not found beside this "
                                   "conversation's file, so it was not read"))


class MetaImporter:
    """Instagram and Facebook Messenger ``message_N.json`` files, and Messenger's encrypted-chats download."""

    name: ClassVar[str] = "meta"
    version: ClassVar[str] = "1"
    platform: ClassVar[str] = "meta"  # each message says "instagram" or "facebook"
    title: ClassVar[str] = "Instagram and Facebook Messenger messages (Download your information, JSON)"
    variants: ClassVar[tuple[str, ...]] = (
        "message_N.json from Instagram (your_instagram_activity/messages/inbox/<thread>/)",
        "message_N.json from Facebook Messenger (messages/inbox/<thread>/)",
        "Messenger end-to-end encrypted chats download (camelCase JSON)",
        "photos, videos, audio and files beside the message file",
    )

    def sniff(self, probe: Probe) -> float:
        head = probe.head.removeprefix(b"\xef\xbb\xbf").lstrip()
        if not head.startswith(b"{") or b'"participants"' not in head:
            return 0.0
        score = 0.0
        if b'"sender_name"' in head or b'"timestamp_ms"' in head:
            score = 0.85
        elif b'"senderName"' in head or b'"threadName"' in head:
            score = 0.8
        elif b'"thread_path"' in head or b'"is_still_participant"' in head:
            score = 0.6
        if score and _MESSAGE_FILE.fullmatch(probe.name):
            score = min(score + 0.1, 0.95)
        return score

    def parse(self, stream: BinaryIO, ctx: ParseContext) -> Iterator[Record]:
        doc, replaced = load_document(stream, ctx.source.name, ctx.limits)
        if not isinstance(doc, dict):
            raise ParseError("this is not an Instagram or Messenger message file: it does not hold a JSON object",
                             path=ctx.source.name, hint="Choose a message_1.json file from the messages/inbox folder.")
        messages = doc.get("messages")
        if not isinstance(messages, list):
            raise ParseError("this file has no list of messages", path=ctx.source.name,
                             hint="Choose a message_1.json file from the messages/inbox folder.")
        encrypted = "threadName" in doc or any(isinstance(m, dict) and "senderName" in m for m in messages[:50])
        yield from _Thread(doc, ctx, encrypted=encrypted).records(messages, replaced)
