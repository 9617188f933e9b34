"""What WhatsApp writes in a chat export: the shape of a message's first line, and the phrases it uses for media
placeholders, attachments, deleted and edited messages, calls and system lines, in English, German, Spanish,
French, Italian, Dutch and Portuguese; also the chat name in an export's file name.

``whatsapp.py`` reads with these: both of its passes match a header with patterns made from one template, so they
always agree on what a header is. A new locale or a new placeholder is a line in a table here.

This module only describes text. It must never read a file, keep any state, or decide anything about a particular
chat (its day/month order, who speaks, who exported it). Every line of a hostile file passes through these
patterns, so none may take more than linear time in the length of the line.
"""

from __future__ import annotations

import re
from typing import Final

from safetrail.model import MessageKind

__all__ = [
    "ANDROID_OMITTED",
    "ATTACHED",
    "DATE",
    "DATE_FIELDS",
    "DELETED",
    "DELETED_EXACT",
    "EDITED",
    "ENCRYPTION",
    "FILE_ATTACHED",
    "FILE_LABELLED",
    "HEADER",
    "HEADER_BYTES",
    "IOS_OMITTED",
    "LRM",
    "MARKS",
    "OMITTED_WORDS",
    "SPECIAL_LAST",
    "STRIP_EDGES",
    "SYSTEM",
    "TIME",
    "body_kind",
    "clean",
    "conversation_from_filename",
    "media_type",
    "same_person",
]

LRM: Final = "\u200e"
MARKS: Final = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"

# One template, instantiated for text (second pass) and bytes (first pass), so both passes agree on what a header
# is. Groups: 1 the iOS bracket, 2 the date-and-time text, 3 the date, 4 the time; then " - " or "] ".
_TEMPLATE = (r"{marks}(\[)?((\d{{1,4}}[./-]\d{{1,2}}[./-]\d{{1,4}}),?{sp}?(\d{{1,2}}[:.]\d\d(?:[:.]\d\d)?"
             r"(?:{sp2}?[AaPp]\.?{sp2}?[Mm]\.?)?))(?(1)\]{sp}|{sp}{dash}{sp})")
HEADER = re.compile(_TEMPLATE.format(marks="[\u200e\u200f\u202a-\u202e]*", sp="[ \u00a0]",
                                      sp2="[ \u00a0\u202f]", dash="[-\u2013]"))
HEADER_BYTES = re.compile(_TEMPLATE.format(
    marks=r"(?:\xe2\x80[\x8e\x8f\xaa-\xae])*", sp=r"(?: |\xc2\xa0)", sp2=r"(?: |\xc2\xa0|\xe2\x80\xaf)",
    dash=r"(?:-|\xe2\x80\x93)").encode("latin-1"))
DATE = re.compile(r"(\d{1,4})([./-])(\d{1,2})\2(\d{1,4})")
TIME = re.compile(r"(\d{1,2})[:.](\d\d)(?:[:.](\d\d))?(?:[ \u00a0\u202f]?([AaPp])\.?[ \u00a0\u202f]?[Mm]\.?)?")
DATE_FIELDS = re.compile(rb"(\d{1,4})[./-](\d{1,2})[./-]")

# Android without media; localised. Anything else of the same shape is caught by OMITTED_WORDS.
ANDROID_OMITTED = frozenset({
    "<Media omitted>", "<Medien ausgeschlossen>", "<Multimedia omitido>", "<Médias omis>", "<Media omessi>",
    "<Media weggelaten>", "<Mídia oculta>", "<Arquivo de mídia oculto>", "<Multimédia omitido>",
    "<Video note omitted>", "<View once voice message omitted>", "<View once photo omitted>",
})
# iOS without media ("‎image omitted"); the U+200E is stripped before lookup.
IOS_OMITTED = frozenset({
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
OMITTED_WORDS = re.compile(
    r"(?:omitted|weggelassen|ausgeschlossen|omitid[oa]s?|omis(?:es?)?|absente?|omess[oaie]|weggelaten|"
    r"ocultad?[oa]s?|retirée?)\W*$", re.IGNORECASE)
# Android with media: "IMG-20240301-WA0001.jpg (file attached)".
FILE_ATTACHED = re.compile(
    r"(?P<name>[^<>:\"/\\|?*\n]{1,240}?\.[A-Za-z0-9]{1,8}) \((?P<label>file attached|Datei angehängt|"
    r"archivo adjunto|fichier joint|file allegato|bestand bijgevoegd|arquivo anexado|ficheiro anexado)\)",
    re.IGNORECASE)
FILE_LABELLED = re.compile(r"(?P<name>[^<>:\"/\\|?*\n]{1,240}?\.[A-Za-z0-9]{1,8}) \((?P<label>[^()\n]{3,40})\)")
# iOS with media: "<attached: 00000012-PHOTO-2024-03-01-21-14-05.jpg>" (de "<Anhang: …>", es "<adjunto: …>"…).
ATTACHED = re.compile(r"<(?P<label>[^<>:\n]{2,30}?) ?: ?(?P<name>[^<>\n]{1,240}?\.[A-Za-z0-9]{1,8})>")
_DELETED_BY_OTHER = ("This message was deleted", "Diese Nachricht wurde gelöscht", "Se eliminó este mensaje",
                     "Este mensaje fue eliminado", "Ce message a été supprimé", "Questo messaggio è stato eliminato",
                     "Dit bericht is verwijderd", "Mensagem apagada", "Esta mensagem foi apagada")
_DELETED_BY_ME = ("You deleted this message", "Du hast diese Nachricht gelöscht", "Eliminaste este mensaje",
                  "Vous avez supprimé ce message", "Hai eliminato questo messaggio", "Je hebt dit bericht verwijderd",
                  "Você apagou esta mensagem", "Apagou esta mensagem")
DELETED: Final = frozenset(p.casefold() for p in _DELETED_BY_OTHER + _DELETED_BY_ME)
# Exact spellings, so the common path can skip normalising: as written, with a full stop, after U+200E.
DELETED_EXACT: Final = frozenset(
    pre + p + end for p in _DELETED_BY_OTHER + _DELETED_BY_ME for pre in ("", LRM) for end in ("", "."))
EDITED = re.compile(  # matched from the last "<" of a message
    r"(<(?:This message was edited|Diese Nachricht wurde bearbeitet|Se editó este mensaje|"
    r"Ce message a été modifié|Questo messaggio è stato modificato|Dit bericht is bewerkt|Mensagem editada|"
    r"Esta mensagem foi editada)\.?>)[ \u00a0]*", re.IGNORECASE)
_CALL = re.compile(
    r"(?:Missed (?:group )?(?:voice|video) call|(?:Voice|Video) call|Verpasster (?:Sprach|Video)anruf|"
    r"(?:Sprach|Video)anruf|(?:Video)?[Ll]lamada (?:de voz )?perdida|Llamada de voz|Videollamada|"
    r"Appel (?:vocal|vidéo) manqué|Appel (?:vocal|vidéo)|(?:Chiamata vocale|Videochiamata) persa|"
    r"Gemiste (?:spraak|video-)oproep|(?:Spraak|Video-)oproep|Chamada de (?:voz|vídeo) perdida|"
    r"Chamada de (?:voz|vídeo))\b", re.IGNORECASE)
ENCRYPTION = re.compile(r"Messages and calls are end-to-end encrypted|Nachrichten und Anrufe sind Ende-zu-Ende|"
                         r"Los mensajes y las llamadas están cifrados|Les messages et les appels sont chiffrés|"
                         r"I messaggi e le chiamate sono crittografati|Berichten en gesprekken worden end-to-end|"
                         r"As mensagens e as chamadas são protegidas", re.IGNORECASE)
# Phrases only the platform writes. Used where a line could be either: a "SENDER: " prefix nobody else uses, or
# an iOS body after U+200E. Android system lines need none of this: they have no "SENDER: " at all.
SYSTEM = re.compile(
    r"end-to-end|Ende-zu-Ende|extremo a extremo|de bout en bout|crittografia end-to-end|ponta a ponta|"
    r"\bcreated (?:the )?group|\bcreated this group|\badded\b|\bremoved\b|\bleft$|joined using|"
    r"changed (?:the|this group's|their|your) |changed to |security code|blocked this (?:contact|business)|"
    r"disappearing messages|\bis a contact\b|now an admin|no longer an admin|pinned a message|business account|"
    r"hat die Gruppe|hinzugefügt|verlassen$|entfernt$|Sicherheitsnummer|Sicherheitscode|hat den Betreff|"
    r"Telefonnummer|Kontakt blockiert|selbstlöschend|creó el grupo|añadió|salió del grupo|salió$|cambió|"
    r"código de seguridad|bloqueaste|a créé le groupe|a ajouté|est parti|a retiré|a changé|code de sécurité|"
    r"avez bloqué|ha creato il gruppo|ha aggiunto|è uscito|ha rimosso|ha cambiato|codice di sicurezza|"
    r"hai bloccato|heeft de groep|toegevoegd|is vertrokken|heeft [^\n]{0,80}? verwijderd|gewijzigd|beveiligingscode|"
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
SPECIAL_LAST: Final = frozenset({">", ")"})  # how placeholders and edited markers end


def conversation_from_filename(name: str) -> str | None:
    """The chat name in an export's file name (``WhatsApp Chat with NAME.txt`` and localisations), or None."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    m = _FILENAME.match(base)
    return m.group("name").strip() if m else None


def clean(name: str) -> str:
    """A display name without the invisible marks WhatsApp wraps around numbers and names."""
    return " ".join(name.translate(_STRIP_MARKS).replace("\u00a0", " ").replace("\u202f", " ").split())


_STRIP_MARKS: Final = {ord(c): None for c in MARKS}
STRIP_EDGES: Final = MARKS + " \u00a0"


def same_person(a: str, b: str) -> bool:
    return clean(a).casefold() == clean(b).casefold()


def body_kind(body: str) -> MessageKind | None:
    """For an iOS body after its U+200E: SYSTEM, CALL, or None when it is the sender's own message."""
    if (body in IOS_OMITTED or OMITTED_WORDS.search(body) or ATTACHED.fullmatch(body)
            or body.rstrip(".") in _DELETED_BY_OTHER + _DELETED_BY_ME):
        return None
    if _CALL.match(body):
        return MessageKind.CALL
    if SYSTEM.search(body):
        return MessageKind.SYSTEM
    return None


def media_type(name: str) -> str | None:
    return _MEDIA_TYPES.get(name.rsplit(".", 1)[-1].lower()) if "." in name else None
