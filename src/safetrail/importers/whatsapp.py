"""WhatsApp "Export chat" files: the ``.txt`` transcript, or a ``.zip`` holding it and the media.

Variants read (see ``WhatsAppImporter.variants``): Android ``DATE, TIME - SENDER: TEXT`` and iOS
``[DATE, TIME] SENDER: TEXT``; dates ``d/m/y``, ``m/d/y`` or ``y-m-d`` with ``/``, ``.`` or ``-`` and two- or
four-digit years; 24-hour or 12-hour times (``pm``, ``PM``, ``p. m.``, ``a.m.``) with or without seconds and with
U+202F or NBSP before the marker; UTF-8 with or without BOM, UTF-16 with BOM; LF or CRLF; the invisible marks
WhatsApp adds (U+200E, U+202A/U+202C) are ignored for matching and kept in ``raw``. Media placeholders, deleted
and edited markers and system lines are recognised in English, German, Spanish, French, Italian, Dutch and
Portuguese (see the tables below); an unknown locale still imports, with its placeholders as plain text.

How a file is read: twice. A cheap first pass over the whole file decides the day/month order (any first field
above 12 means day first, any second field above 12 month first, both is a ``ParseError``; neither falls back
to ``ctx.date_order`` or raises ``AmbiguousDateOrder``) and learns who speaks (for ``from_me``, and for sender
names that contain ``": "``). The second pass streams: one message is held at a time, and records are yielded as
they complete, so memory stays flat on chats with millions of messages (SECURITY.md 23).

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
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO, ClassVar, Final, Protocol
from zoneinfo import ZoneInfo

from safetrail.errors import AmbiguousDateOrder, ParseError
from safetrail.importers.archive import SafeZip, is_zip
from safetrail.importers.base import DateOrder, ParseContext, Probe, Record
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

__all__ = ["WhatsAppImporter", "conversation_from_filename"]

PLATFORM: Final = "whatsapp"
_CHUNK: Final = 1 << 20
_LRM: Final = "\u200e"
_MARKS: Final = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
_CACHE: Final = 4096  # entries per lookup table before it is emptied, so hostile files cannot grow them
_MAX_SPEAKERS: Final = 2000  # beyond this the file is no chat (WhatsApp groups hold ~1,000 people)
_HEAD_KEEP: Final = 200  # bytes of an over-long line kept to say whose message it was

# --- what the lines look like ------------------------------------------------------------------------------------

# One template, instantiated for text (second pass) and bytes (first pass), so both passes agree on what a header
# is. Groups: 1 the iOS bracket, 2 the date-and-time text, 3 the date, 4 the time; then " - " or "] ".
_TEMPLATE = (r"{marks}(\[)?((\d{{1,4}}[./-]\d{{1,2}}[./-]\d{{1,4}}),?{sp}?(\d{{1,2}}[:.]\d\d(?:[:.]\d\d)?"
             r"(?:{sp2}?[AaPp]\.?{sp2}?[Mm]\.?)?))(?(1)\]{sp}|{sp}{dash}{sp})")
_HEADER = re.compile(_TEMPLATE.format(marks="[\u200e\u200f\u202a-\u202e]*", sp="[ \u00a0]",
                                      sp2="[ \u00a0\u202f]", dash="[-\u2013]"))
_HEADER_BYTES = re.compile(_TEMPLATE.format(
    marks=r"(?:\xe2\x80[\x8e\x8f\xaa-\xae])*", sp=r"(?: |\xc2\xa0)", sp2=r"(?: |\xc2\xa0|\xe2\x80\xaf)",
    dash=r"(?:-|\xe2\x80\x93)").encode("latin-1"))
_DATE = re.compile(r"(\d{1,4})([./-])(\d{1,2})\2(\d{1,4})")
_TIME = re.compile(r"(\d{1,2})[:.](\d\d)(?:[:.](\d\d))?(?:[ \u00a0\u202f]?([AaPp])\.?[ \u00a0\u202f]?[Mm]\.?)?")
_DATE_FIELDS = re.compile(rb"(\d{1,4})[./-](\d{1,2})[./-]")

# Android without media; localised. Anything else of the same shape is caught by _OMITTED_WORDS.
_ANDROID_OMITTED = frozenset({
    "<Media omitted>", "<Medien ausgeschlossen>", "<Multimedia omitido>", "<Médias omis>", "<Media omessi>",
    "<Media weggelaten>", "<Mídia oculta>", "<Arquivo de mídia oculto>", "<Multimédia omitido>",
    "<Video note omitted>", "<View once voice message omitted>", "<View once photo omitted>",
})
# iOS without media ("‎image omitted"); the U+200E is stripped before lookup.
_IOS_OMITTED = frozenset({
    "image omitted", "video omitted", "audio omitted", "sticker omitted", "GIF omitted", "document omitted",
    "Contact card omitted", "Bild weggelassen", "Video weggelassen", "Audio weggelassen", "Sticker weggelassen",
    "GIF weggelassen", "Dokument weggelassen", "Kontaktkarte weggelassen", "imagen omitida", "video omitido",
    "audio omitido", "sticker omitido", "GIF omitido", "documento omitido", "Tarjeta de contacto omitida",
    "image absente", "vidéo absente", "audio omis", "autocollant omis", "GIF retiré", "document omis",
    "immagine omessa", "video omesso", "audio omesso", "sticker omesso", "GIF omessa", "documento omesso",
    "afbeelding weggelaten", "video weggelaten", "audio weggelaten", "sticker weggelaten", "GIF weggelaten",
    "document weggelaten", "imagem ocultada", "vídeo ocultado", "áudio ocultado", "figurinha omitida",
    "GIF ocultado", "documento ocultado", "Cartão de contato omitido",
})
_OMITTED_WORDS = re.compile(
    r"(?:omitted|weggelassen|ausgeschlossen|omitid[oa]s?|omis(?:es?)?|absente?|omess[oaie]|weggelaten|"
    r"ocultad?[oa]s?|retirée?)\W*$", re.IGNORECASE)
# Android with media: "IMG-20240301-WA0001.jpg (file attached)".
_FILE_ATTACHED = re.compile(
    r"(?P<name>[^<>:\"/\\|?*\n]{1,240}?\.[A-Za-z0-9]{1,8}) \((?P<label>file attached|Datei angehängt|"
    r"archivo adjunto|fichier joint|file allegato|bestand bijgevoegd|arquivo anexado|ficheiro anexado)\)",
    re.IGNORECASE)
_FILE_LABELLED = re.compile(r"(?P<name>[^<>:\"/\\|?*\n]{1,240}?\.[A-Za-z0-9]{1,8}) \((?P<label>[^()\n]{3,40})\)")
# iOS with media: "<attached: 00000012-PHOTO-2024-03-01-21-14-05.jpg>" (de "<Anhang: …>", es "<adjunto: …>"…).
_ATTACHED = re.compile(r"<(?P<label>[^<>:\n]{2,30}?) ?: ?(?P<name>[^<>\n]{1,240}?\.[A-Za-z0-9]{1,8})>")
_DELETED_BY_OTHER = ("This message was deleted", "Diese Nachricht wurde gelöscht", "Se eliminó este mensaje",
                     "Este mensaje fue eliminado", "Ce message a été supprimé", "Questo messaggio è stato eliminato",
                     "Dit bericht is verwijderd", "Mensagem apagada", "Esta mensagem foi apagada")
_DELETED_BY_ME = ("You deleted this message", "Du hast diese Nachricht gelöscht", "Eliminaste este mensaje",
                  "Vous avez supprimé ce message", "Hai eliminato questo messaggio", "Je hebt dit bericht verwijderd",
                  "Você apagou esta mensagem", "Apagou esta mensagem")
_DELETED: Final = frozenset(p.casefold() for p in _DELETED_BY_OTHER + _DELETED_BY_ME)
# Exact spellings, so the common path can skip normalising: as written, with a full stop, after U+200E.
_DELETED_EXACT: Final = frozenset(
    pre + p + end for p in _DELETED_BY_OTHER + _DELETED_BY_ME for pre in ("", _LRM) for end in ("", "."))
_EDITED = re.compile(  # matched from the last "<" of a message
    r"(<(?:This message was edited|Diese Nachricht wurde bearbeitet|Se editó este mensaje|"
    r"Ce message a été modifié|Questo messaggio è stato modificato|Dit bericht is bewerkt|Mensagem editada|"
    r"Esta mensagem foi editada)\.?>)[ \u00a0]*", re.IGNORECASE)
_CALL = re.compile(
    r"(?:Missed (?:group )?(?:voice|video) call|(?:Voice|Video) call|Verpasster (?:Sprach|Video)anruf|"
    r"(?:Sprach|Video)anruf|(?:Video)?[Ll]lamada (?:de voz )?perdida|Llamada de voz|Videollamada|"
    r"Appel (?:vocal|vidéo) manqué|Appel (?:vocal|vidéo)|(?:Chiamata vocale|Videochiamata) persa|"
    r"Gemiste (?:spraak|video-)oproep|(?:Spraak|Video-)oproep|Chamada de (?:voz|vídeo) perdida|"
    r"Chamada de (?:voz|vídeo))\b", re.IGNORECASE)
_ENCRYPTION = re.compile(r"Messages and calls are end-to-end encrypted|Nachrichten und Anrufe sind Ende-zu-Ende|"
                         r"Los mensajes y las llamadas están cifrados|Les messages et les appels sont chiffrés|"
                         r"I messaggi e le chiamate sono crittografati|Berichten en gesprekken worden end-to-end|"
                         r"As mensagens e as chamadas são protegidas", re.IGNORECASE)
# Phrases only the platform writes. Used where a line could be either: a "SENDER: " prefix nobody else uses, or
# an iOS body after U+200E. Android system lines need none of this: they have no "SENDER: " at all.
_SYSTEM = re.compile(
    r"end-to-end|Ende-zu-Ende|extremo a extremo|de bout en bout|crittografia end-to-end|ponta a ponta|"
    r"\bcreated (?:the )?group|\bcreated this group|\badded\b|\bremoved\b|\bleft$|joined using|"
    r"changed (?:the|this group's|their|your) |changed to |security code|blocked this (?:contact|business)|"
    r"disappearing messages|\bis a contact\b|now an admin|no longer an admin|pinned a message|business account|"
    r"hat die Gruppe|hinzugefügt|verlassen$|entfernt$|Sicherheitsnummer|Sicherheitscode|hat den Betreff|"
    r"Telefonnummer|Kontakt blockiert|selbstlöschend|creó el grupo|añadió|salió del grupo|salió$|cambió|"
    r"código de seguridad|bloqueaste|a créé le groupe|a ajouté|est parti|a retiré|a changé|code de sécurité|"
    r"avez bloqué|ha creato il gruppo|ha aggiunto|è uscito|ha rimosso|ha cambiato|codice di sicurezza|"
    r"hai bloccato|heeft de groep|toegevoegd|is vertrokken|heeft .* verwijderd|gewijzigd|beveiligingscode|"
    r"geblokkeerd|criou o grupo|adicionou|saiu$|removeu|mudou|código de segurança|bloqueou",
    re.IGNORECASE)
_FILENAME = re.compile(
    r"(?:WhatsApp[ -][Cc]hat (?:with|mit|met|-)|Chat de WhatsApp con|Discussion WhatsApp avec|"
    r"Chat WhatsApp con|Conversa do WhatsApp com|Conversa de WhatsApp com) (?P<name>.+?)"
    r"(?: \(\d+\))?(?:\.(?:txt|zip))?$", re.IGNORECASE)
_MEDIA_TYPES: Final = {
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp",
    "heic": "image/heic", "mp4": "video/mp4", "3gp": "video/3gpp", "mov": "video/quicktime",
    "opus": "audio/ogg", "ogg": "audio/ogg", "m4a": "audio/mp4", "mp3": "audio/mpeg", "aac": "audio/aac",
    "wav": "audio/wav", "pdf": "application/pdf", "vcf": "text/vcard", "txt": "text/plain",
    "doc": "application/msword", "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
_SPECIAL_LAST: Final = frozenset({">", ")"})  # how placeholders and edited markers end


def conversation_from_filename(name: str) -> str | None:
    """The chat name in an export's file name (``WhatsApp Chat with NAME.txt`` and localisations), or None."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    m = _FILENAME.match(base)
    return m.group("name").strip() if m else None


def _clean(name: str) -> str:
    """A display name without the invisible marks WhatsApp wraps around numbers and names."""
    return " ".join(name.translate(_STRIP_MARKS).replace("\u00a0", " ").replace("\u202f", " ").split())


_STRIP_MARKS: Final = {ord(c): None for c in _MARKS}
_STRIP_EDGES: Final = _MARKS + " \u00a0"


def _same_person(a: str, b: str) -> bool:
    return _clean(a).casefold() == _clean(b).casefold()


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


class _MessageBuilder(Protocol):
    def __call__(self, sha: str, locator: str, conversation: str, ts: Timestamp, text: str, raw: str,
                 sender: Participant | None, kind: MessageKind, from_me: bool | None,
                 attachments: tuple[Attachment, ...] = (), events: tuple[Event, ...] = ()) -> Message: ...


def _draft_class(cls: type, names: tuple[str, ...]) -> type | None:
    """A mutable subclass with ``cls``'s exact memory layout, or None when ``cls`` is not as expected."""
    if tuple(f.name for f in fields(cls)) != names or set(vars(cls).get("__slots__", ())) != set(names):
        return None
    return type(f"_{cls.__name__}Draft", (cls,), {"__slots__": (), "__setattr__": object.__setattr__,
                                                  "__delattr__": object.__delattr__})


def _message_builder() -> _MessageBuilder:
    draft = _draft_class(Message, _MESSAGE_FIELDS)
    if draft is None or hasattr(Message, "__post_init__"):
        def construct(sha: str, locator: str, conversation: str, ts: Timestamp, text: str, raw: str,
                      sender: Participant | None, kind: MessageKind, from_me: bool | None,
                      attachments: tuple[Attachment, ...] = (), events: tuple[Event, ...] = ()) -> Message:
            return Message(sha, locator, PLATFORM, conversation, ts, text, raw, sender, kind, (), from_me,
                           attachments=attachments, events=events)
        return construct
    new = object.__new__

    def build(sha: str, locator: str, conversation: str, ts: Timestamp, text: str, raw: str,
              sender: Participant | None, kind: MessageKind, from_me: bool | None,
              attachments: tuple[Attachment, ...] = (), events: tuple[Event, ...] = ()) -> Message:
        m: Any = new(draft)
        m.source_sha256 = sha
        m.locator = locator
        m.platform = PLATFORM
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


_message: Final = _message_builder()
_timestamp: Final = _timestamp_builder()


# --- bytes in, lines out ------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _LongLine:
    """A line longer than the limit: never held whole; its size and first bytes say what it was."""

    size: int
    head: bytes


def _utf8(chunks: Iterator[bytes], damaged: list[int]) -> Iterator[bytes]:
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


def _blocks(chunks: Iterator[bytes], limit: int) -> Iterator[bytes | _LongLine]:
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
                yield _LongLine(skipping + j, head)
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
                yield _LongLine(len(rest) + j, (rest + data[:_HEAD_KEEP])[:_HEAD_KEEP])
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
        yield _LongLine(skipping, head)
    elif rest:
        yield rest


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
        plain = {c.decode("utf-8", "replace"): _clean(c.decode("utf-8", "replace")) for c in self.settled}
        longs: dict[str, str] = {}
        for c1, (count, c2) in self.candidates.items():
            first = c1.decode("utf-8", "replace")
            if c2 is not None and count >= 2:
                longs[first] = first + ": " + c2.decode("utf-8", "replace")
            else:
                plain[first] = _clean(first)
        return plain, longs


def _survey(blocks: Iterator[bytes | _LongLine]) -> _Survey:
    survey = _Survey()
    # Header prefixes seen, split as the second pass splits them: whole, date part, time part (see _stream_records).
    seen: set[bytes] = set()
    dates: set[bytes] = set()
    times: set[bytes] = set()
    match = _HEADER_BYTES.match
    width = split = 0
    lineno = 0
    found = False
    settled = survey.settled
    for block in blocks:
        if type(block) is _LongLine:
            lineno += 1
            assert isinstance(block, _LongLine)
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
    m = _DATE_FIELDS.match(date)
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
    if body.startswith(_LRM) and _body_kind(body.lstrip(_MARKS)) is MessageKind.SYSTEM:
        if survey.notice_name is None and _ENCRYPTION.search(body):
            survey.notice_name = _clean(name.decode("utf-8", "replace"))
        return
    if _SYSTEM.search(name.decode("utf-8", "replace")):
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


def _body_kind(body: str) -> MessageKind | None:
    """For an iOS body after its U+200E: SYSTEM, CALL, or None when it is the sender's own message."""
    if (body in _IOS_OMITTED or _OMITTED_WORDS.search(body) or _ATTACHED.fullmatch(body)
            or body.rstrip(".") in _DELETED_BY_OTHER + _DELETED_BY_ME):
        return None
    if _CALL.match(body):
        return MessageKind.CALL
    if _SYSTEM.search(body):
        return MessageKind.SYSTEM
    return None


# --- times --------------------------------------------------------------------------------------------------------

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


class _Clock:
    """Reads header dates and times into ``Timestamp`` values in ``tz``, with one zone lookup per local hour."""

    def __init__(self, tz: ZoneInfo, order: DateOrder) -> None:
        self.tz = tz
        self.zone = tz.key
        self.order = order

    def date(self, text: str, start: int) -> _Day | None:
        """The date written as ``text`` in the file's order, or None when there is no such day."""
        m = _DATE.fullmatch(text)
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
        m = _TIME.fullmatch(text)
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

    def at(self, day: _Day, time: _Time, stamp: str) -> Timestamp | _Flagged:
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
        return timestamp if warning is None else _Flagged(timestamp, warning)

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


# --- the second pass ----------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Flagged:
    """A timestamp that needs a warning (a wall-clock time a DST change made missing or doubled)."""

    timestamp: Timestamp
    warning: str


_INVALID: Final = object()  # a header whose date or time does not exist


@dataclass(slots=True)
class _Chat:
    """Everything the second pass needs besides the lines."""

    ctx: ParseContext
    member: str
    conversation: str
    clock: _Clock
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


def _stream_records(chat: _Chat, blocks: Iterator[bytes | _LongLine]) -> Iterator[Record]:
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
    match = _HEADER.match
    plain_kind = MessageKind.MESSAGE
    deleted_exact = _DELETED_EXACT
    special_last = _SPECIAL_LAST
    timestamp_type = Timestamp
    decode_utf8 = bytes.decode  # UTF-8, strict
    # Header prefix -> Timestamp, _Flagged or _INVALID; date part -> _Day or _INVALID; time part -> _Time or _INVALID.
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
        if type(block) is _LongLine:
            lineno += 1
            assert isinstance(block, _LongLine)
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
                                           f"date {line[:width].strip(_MARKS + ' -[]')!r} does not exist; it was "
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
                        if body[:1] != _LRM and body[-1:] not in special_last and body not in deleted_exact:
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
        shown = head[:60].strip(_MARKS)
        return [ParseWarning(sha, locator, f"this message is longer than the {ctx.limits.max_line_bytes:,} bytes "
                             f"safetrail reads for one message, so it was not imported (it begins {shown!r}); the "
                             "rest of the chat was")]
    warnings: list[Record] = []
    if type(info) is _Flagged:
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
            sender, body = _clean(whole), rest[len(whole) + 2:]
        elif known is not None:
            sender, body = known[0].name, rest[i + 2:]
        elif not _SYSTEM.search(first):
            sender, body = _clean(first), rest[i + 2:]
        else:
            body = rest
    else:
        body = rest
    marked = body[:1] == _LRM
    if sender is None:
        kind = MessageKind.SYSTEM
    elif marked:
        found = _body_kind(body.lstrip(_MARKS).rstrip())
        if found is MessageKind.SYSTEM:
            kind, sender = found, None
        elif found is MessageKind.CALL:
            kind = found
    text = body + tail
    events: tuple[Event, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    if sender is not None:
        if text.rstrip()[-1:] == ">":
            edited = _EDITED.fullmatch(text, text.rfind("<"))
            if edited:
                events = (Event(EventKind.EDITED, locator, actor=sender, detail=edited.group(1)),)
                text = text[:edited.start()].rstrip(" \u00a0\u200e")
        first_line = (text.partition("\n")[0] if events else body).strip(_STRIP_EDGES)
        if not tail and first_line.rstrip(".").casefold() in _DELETED:
            events += (Event(EventKind.DELETED, locator, actor=sender, detail=first_line),)
        elif marked or first_line[-1:] in _SPECIAL_LAST or first_line in _IOS_OMITTED:
            attachments = _attachments(chat, first_line, marked, locator, warnings)
    if marked:
        text = text.lstrip(_LRM)
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
    if first_line in _ANDROID_OMITTED or first_line in _IOS_OMITTED or (
            (marked or bracketed) and len(first_line) < 80 and ":" not in first_line
            and _OMITTED_WORDS.search(first_line)):
        return (Attachment(first_line, locator, omitted=True),)
    labelled = False
    if last == ")":
        m = _FILE_ATTACHED.fullmatch(first_line)
        if m is None:
            m = _FILE_LABELLED.fullmatch(first_line)
            labelled = True
    elif bracketed:
        m = _ATTACHED.fullmatch(first_line)
    else:
        return ()
    if m is None:
        return ()
    name = m.group("name").strip(_MARKS + " ")
    got = chat.fetch(name)
    sha = chat.ctx.source.sha256
    if got is None:
        if labelled:
            return ()  # "word (anything)" that names no file we have is just text
        where = "in the archive" if chat.zip_mode else "beside the chat file"
        warnings.append(ParseWarning(sha, locator, f"the message names the file {name!r}, which is not {where}; "
                                     "it was recorded as missing"))
        return (Attachment(name, locator, _media_type(name), omitted=True),)
    data, size, member = got
    chat.referenced.add(member)
    if data is None:
        warnings.append(ParseWarning(sha, locator, f"the file {name!r} is larger than the "
                                     f"{chat.ctx.limits.max_attachment_bytes:,} bytes safetrail reads for one "
                                     "attachment; it was recorded but not stored"))
        return (Attachment(name, member, _media_type(name), size=size),)
    return (Attachment(name, member, _media_type(name), hashlib.sha256(data).hexdigest(), len(data), data=data),)


def _media_type(name: str) -> str | None:
    return _MEDIA_TYPES.get(name.rsplit(".", 1)[-1].lower()) if "." in name else None


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
        hits = sum(1 for line in text.split("\n")[:40] if _HEADER.match(line))
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
    survey = _survey(_blocks(_utf8(chunks(), damaged), limit))
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
    people = set(plain.values()) | {_clean(v) for v in longs.values()}
    from_me: dict[str, bool] | None = None
    if named and not survey.overflow and len(people) == 2 and any(_same_person(p, named) for p in people):
        from_me = {p: not _same_person(p, named) for p in people}
    else:
        first.append(ParseWarning(sha, f"{member}#L1", "safetrail could not tell which participant exported this "
                                  "chat (only a one-to-one chat whose file name names the other person shows it), "
                                  "so no message is marked as yours; you can say which participant you are when "
                                  "you review the case"))
    chat = _Chat(ctx, member, conversation, _Clock(ctx.tz, order), {}, longs, from_me, fetch, zip_mode,
                 referenced if referenced is not None else set())
    chat.speakers = {written: (chat.person(name), chat.mine(name)) for written, name in plain.items()}
    return first, _stream_records(chat, _blocks(_utf8(chunks(), []), limit))
