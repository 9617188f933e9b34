"""WhatsApp importer: date order, encodings, DST, hostile input, zips, who is "me", sniffing, the sample case."""

from __future__ import annotations

import contextlib
import io
import zipfile
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from safetrail.errors import AmbiguousDateOrder, HostileInput, ParseError, SafetrailError
from safetrail.importers import whatsapp, whatsapp_reading
from safetrail.importers.base import DateOrder, Limits, ParseContext, Probe
from safetrail.importers.registry import open_records
from safetrail.importers.whatsapp import WhatsAppImporter, conversation_from_filename
from safetrail.model import (
    Attachment,
    EventKind,
    Message,
    MessageKind,
    ParseWarning,
    Participant,
    Precision,
    Source,
    Timestamp,
    TimestampKind,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "src" / "safetrail" / "samples" / "case" / "WhatsApp Chat with Liam Carter.zip"
GOLDEN = ROOT / "tests" / "golden" / "whatsapp"
ANDROID = "WhatsApp Chat with Liam Carter.txt"


class DictFiles:
    """``RelatedFiles`` over a dict."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files

    def read(self, relpath: str) -> bytes | None:
        return self.files.get(relpath)


DEFAULT_LIMITS = Limits()


def ctx(name: str = ANDROID, *, tz: str = "Europe/London", order: DateOrder | None = None,
        limits: Limits = DEFAULT_LIMITS, related: DictFiles | None = None) -> ParseContext:
    return ParseContext(source=Source(sha256="cd" * 32, size=0, name=name), tz=ZoneInfo(tz), date_order=order,
                        related=related, limits=limits)


def parse(data: bytes | str, context: ParseContext | None = None) -> tuple[list[Message], list[ParseWarning]]:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    records = list(WhatsAppImporter().parse(io.BytesIO(raw), context or ctx()))
    return ([r for r in records if isinstance(r, Message)], [r for r in records if isinstance(r, ParseWarning)])


def zipped(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            zf.writestr(info, data)
    return buf.getvalue()


CHAT = """13/02/2026, 21:00 - Liam Carter: hi
13/02/2026, 21:01 - Priya Shah: hello
"""


# --- date order ------------------------------------------------------------------------------------------------------

def test_ambiguous_order_names_the_file_and_suggests_date_order() -> None:
    """GIVEN a chat where no date has a field above 12 WHEN parsed without a date order
    THEN AmbiguousDateOrder names the file, shows an example date and suggests --date-order."""
    text = "01/02/2026, 21:00 - Liam Carter: hi\n02/03/2026, 09:00 - Priya Shah: hello\n"
    with pytest.raises(AmbiguousDateOrder) as caught:
        parse(text)
    assert ANDROID in str(caught.value) and "01/02/2026" in str(caught.value)
    assert "--date-order" in caught.value.hint


@pytest.mark.parametrize(("order", "day", "month"), [(DateOrder.DMY, 1, 2), (DateOrder.MDY, 2, 1)])
def test_ambiguous_order_uses_the_answer_given(order: DateOrder, day: int, month: int) -> None:
    """GIVEN an ambiguous chat WHEN the user says the order THEN dates are read that way."""
    messages, _ = parse("01/02/2026, 21:00 - Liam Carter: hi\n", ctx(order=order))
    assert (messages[0].timestamp.utc.day, messages[0].timestamp.utc.month) == (day, month)


def test_order_is_decided_by_a_late_line() -> None:
    """GIVEN a chat whose only day above 12 is on its last line WHEN parsed
    THEN the whole file, first lines included, is read day first (the order comes from the whole file)."""
    lines = [f"0{d}/02/2026, 10:00 - Liam Carter: line {d}" for d in range(1, 10)] + [
        "25/02/2026, 10:00 - Priya Shah: last"]
    messages, _ = parse("\n".join(lines) + "\n")
    assert messages[0].timestamp.utc == datetime(2026, 2, 1, 10, 0, tzinfo=UTC)


def test_conflicting_order_is_a_parse_error_naming_both_lines() -> None:
    """GIVEN one date that must be day first and another that must be month first
    WHEN parsed THEN a ParseError names the file and both lines."""
    text = "25/01/2026, 10:00 - Liam Carter: hi\n01/25/2026, 10:00 - Priya Shah: hello\n"
    with pytest.raises(ParseError) as caught:
        parse(text)
    message = str(caught.value)
    assert ANDROID in message and "line 1" in message and "line 2" in message


def test_order_from_the_file_wins_over_a_contrary_answer_with_a_warning() -> None:
    """GIVEN a day-first file WHEN the user asked for month first THEN day first is used and a warning says so."""
    messages, warnings = parse(CHAT, ctx(order=DateOrder.MDY))
    assert messages[0].timestamp.utc.month == 2
    assert any("can only be dmy" in w.reason for w in warnings)


def test_year_month_day_needs_no_answer() -> None:
    """GIVEN y-m-d dates WHEN parsed with no date order THEN they are read without asking."""
    messages, _ = parse("2026-02-03, 21:00 - Liam Carter: hi\n")
    assert messages[0].timestamp.utc == datetime(2026, 2, 3, 21, 0, tzinfo=UTC)


# --- times -----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("stamp", "hour", "precision"), [
    ("13/02/2026, 9:05\u202fpm", 21, Precision.MINUTE),
    ("13/02/2026, 12:05 AM", 0, Precision.MINUTE),
    ("13/02/2026, 12:05\u00a0p.\u00a0m.", 12, Precision.MINUTE),
    ("13/02/2026, 21:05:33", 21, Precision.SECOND),
    ("13.02.26, 21.05", 21, Precision.MINUTE),
])
def test_time_styles(stamp: str, hour: int, precision: Precision) -> None:
    """GIVEN the time styles phones write WHEN parsed THEN hour and precision are right and as_written is exact."""
    messages, _ = parse(f"{stamp} - Liam Carter: hi\n")
    ts = messages[0].timestamp
    assert (ts.utc.hour, ts.precision, ts.as_written, ts.kind) == (hour, precision, stamp, TimestampKind.LOCAL_ASSUMED)
    assert ts.zone == "Europe/London"


def test_times_are_read_in_the_given_zone() -> None:
    """GIVEN a summer time in New York WHEN parsed with tz America/New_York THEN UTC is four hours later."""
    messages, _ = parse("13/07/2026, 21:00 - Liam Carter: hi\n", ctx(tz="America/New_York"))
    assert messages[0].timestamp.utc == datetime(2026, 7, 14, 1, 0, tzinfo=UTC)
    assert messages[0].timestamp.zone == "America/New_York"


def test_time_in_a_dst_gap_is_read_with_the_earlier_offset_and_warned() -> None:
    """GIVEN 01:30 on the night UK clocks go forward (it never happened) WHEN parsed
    THEN it is read as 01:30 GMT (fold=0) and a warning says the time did not exist."""
    text = "29/03/2026, 00:59 - Liam Carter: a\n29/03/2026, 01:30 - Liam Carter: b\n29/03/2026, 02:00 - Priya Shah: c\n"
    messages, warnings = parse(text)
    assert [m.timestamp.utc for m in messages] == [datetime(2026, 3, 29, 0, 59, tzinfo=UTC),
                                                   datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
                                                   datetime(2026, 3, 29, 1, 0, tzinfo=UTC)]
    gap = [w for w in warnings if "did not exist" in w.reason]
    assert [w.locator for w in gap] == [f"{ANDROID}#L2"]


def test_time_in_a_dst_fold_is_read_as_the_first_and_warned() -> None:
    """GIVEN 01:30 on the night UK clocks go back (it happened twice) WHEN parsed
    THEN the first 01:30 (BST) is assumed and a warning says so."""
    messages, warnings = parse("25/10/2026, 01:30 - Liam Carter: a\n")
    assert messages[0].timestamp.utc == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert any("happened twice" in w.reason for w in warnings)


def test_impossible_date_stays_in_the_message_before_with_a_warning() -> None:
    """GIVEN a line that looks like a header but has 31 February WHEN parsed
    THEN it is kept as a continuation line of the previous message and a warning names it."""
    text = "13/02/2026, 21:00 - Liam Carter: hi\n31/02/2026, 21:01 - Liam Carter: odd\n"
    messages, warnings = parse(text)
    assert len(messages) == 1 and messages[0].text == "hi\n31/02/2026, 21:01 - Liam Carter: odd"
    assert any(w.locator == f"{ANDROID}#L2" and "does not exist" in w.reason for w in warnings)


# --- text and structure ----------------------------------------------------------------------------------------------

def test_multiline_message_keeps_newlines_and_raw_keeps_crlf() -> None:
    """GIVEN a CRLF file with a three-line message WHEN parsed
    THEN text joins the lines with LF, raw keeps the CRs inside, and the locator spans the lines."""
    data = b"13/02/2026, 21:00 - Liam Carter: one\r\ntwo\r\n\r\n13/02/2026, 21:01 - Priya Shah: ok\r\n"
    messages, _ = parse(data)
    assert messages[0].text == "one\ntwo\n"
    assert messages[0].raw == "13/02/2026, 21:00 - Liam Carter: one\r\ntwo\r\n"
    assert messages[0].locator == f"{ANDROID}#L1-L3"
    assert messages[1].raw == "13/02/2026, 21:01 - Priya Shah: ok"


def test_lines_before_the_first_header_are_warned_not_dropped_silently() -> None:
    """GIVEN two junk lines before the first message WHEN parsed THEN one warning names lines 1-2 and quotes them."""
    messages, warnings = parse("junk one\njunk two\n" + CHAT)
    assert len(messages) == 2
    stray = [w for w in warnings if "before the first dated message" in w.reason]
    assert stray[0].locator == f"{ANDROID}#L1-L2" and "junk one" in stray[0].reason


def test_system_lines_have_no_sender() -> None:
    """GIVEN Android system lines (no "Name: ") WHEN parsed THEN they are SYSTEM messages without a sender."""
    messages, _ = parse("13/02/2026, 21:00 - You blocked this contact.\n" + CHAT)
    assert (messages[0].kind, messages[0].sender, messages[0].from_me) == (MessageKind.SYSTEM, None, None)
    assert messages[0].text == "You blocked this contact."


def test_utf8_bom_and_utf16_are_read() -> None:
    """GIVEN the same chat as UTF-8 with BOM and as UTF-16 LE/BE with BOM WHEN parsed
    THEN every version gives the same texts, and the BOM is not part of raw."""
    expected = [m.raw for m in parse(CHAT)[0]]
    for data in (b"\xef\xbb\xbf" + CHAT.encode(), CHAT.encode("utf-16"), b"\xfe\xff" + CHAT.encode("utf-16-be")):
        messages, warnings = parse(data)
        assert [m.raw for m in messages] == expected
        assert not [w for w in warnings if "UTF" in w.reason]


def test_invalid_utf8_is_replaced_with_a_warning_naming_the_line() -> None:
    """GIVEN a line with invalid UTF-8 bytes WHEN parsed THEN the text has U+FFFD and a warning names that line."""
    data = b"13/02/2026, 21:00 - Liam Carter: hi\n13/02/2026, 21:01 - Priya Shah: bad \xff\xfe here\n"
    messages, warnings = parse(data)
    assert messages[1].text == "bad \ufffd\ufffd here"
    assert [w.locator for w in warnings if "UTF-8" in w.reason] == [f"{ANDROID}#L2"]


def test_damaged_utf16_is_replaced_with_a_warning() -> None:
    """GIVEN UTF-16 text with a lone surrogate WHEN parsed THEN it imports with U+FFFD and a warning."""
    data = "13/02/2026, 21:00 - Liam Carter: hi\n".encode("utf-16-le") + b"\x00\xd8" + "x\n".encode("utf-16-le")
    messages, warnings = parse(b"\xff\xfe" + data)
    assert "\ufffd" in messages[0].text
    assert any("UTF-16" in w.reason for w in warnings)


def test_over_long_line_is_skipped_with_a_warning_and_the_rest_imports() -> None:
    """GIVEN a message line far longer than max_line_bytes between two normal ones WHEN parsed
    THEN that message is not imported, a warning names its line, and the others import."""
    text = ("13/02/2026, 21:00 - Liam Carter: before\n13/02/2026, 21:01 - Liam Carter: " + "x" * 5000
            + "\n13/02/2026, 21:02 - Priya Shah: after\n")
    messages, warnings = parse(text, ctx(limits=Limits(max_line_bytes=1000)))
    assert [m.text for m in messages] == ["before", "after"]
    long = [w for w in warnings if "longer than" in w.reason]
    assert long[0].locator == f"{ANDROID}#L2" and "21:01" in long[0].reason
    assert messages[1].locator == f"{ANDROID}#L3"


def test_over_long_multiline_message_is_skipped() -> None:
    """GIVEN a message whose continuation lines add up past the limit WHEN parsed THEN it is skipped with a warning."""
    text = ("13/02/2026, 21:00 - Liam Carter: start\n" + ("y" * 90 + "\n") * 40
            + "13/02/2026, 21:02 - Priya Shah: after\n")
    messages, warnings = parse(text, ctx(limits=Limits(max_line_bytes=1000)))
    assert [m.text for m in messages] == ["after"]
    assert any(w.locator == f"{ANDROID}#L1-L41" for w in warnings)


def test_huge_line_is_never_held_whole() -> None:
    """GIVEN a 20 MB line with no newline WHEN parsed with a 1 MB limit THEN the line splitter never yields more than
    the limit at once (memory stays bounded) and the result is a warning, not a crash."""
    blocks = list(whatsapp_reading.blocks(iter([b"13/02/2026, 21:00 - L: " + b"z" * (1 << 20)] * 20), 1 << 20))
    assert len(blocks) == 1 and isinstance(blocks[0], whatsapp_reading.LongLine) and blocks[0].size > 20 << 20
    huge = b"13/02/2026, 21:00 - L: " + b"z" * (3 << 20)
    messages, warnings = parse(huge, ctx(limits=Limits(max_line_bytes=1 << 20)))
    assert messages == [] and any("longer than" in w.reason for w in warnings)


def test_empty_file_gives_a_warning_and_text_without_headers_is_a_parse_error() -> None:
    """GIVEN an empty file, and a text file with no WhatsApp lines WHEN parsed
    THEN the first gives a warning only and the second a ParseError naming the file."""
    assert parse(b"") == ([], [ParseWarning("cd" * 32, f"{ANDROID}#L1", "the chat file is empty")])
    with pytest.raises(ParseError, match=ANDROID):
        parse("dear diary\nnothing here\n")


# --- placeholders and events -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("body", ["<Media omitted>", "<Medien ausgeschlossen>", "<Multimedia omitido>", "<Médias omis>",
                                  "<Media omessi>", "<Media weggelaten>", "<Mídia oculta>", "\u200eimage omitted",
                                  "\u200eBild weggelassen", "\u200eimagen omitida", "\u200eafbeelding weggelaten"])
def test_media_placeholders_become_omitted_attachments(body: str) -> None:
    """GIVEN a media placeholder in one of the supported locales WHEN parsed THEN it is an omitted attachment."""
    messages, _ = parse(f"13/02/2026, 21:00 - Liam Carter: {body}\n")
    assert messages[0].attachments == (Attachment(body.lstrip("\u200e"), f"{ANDROID}#L1", omitted=True),)


def test_typed_text_that_only_looks_like_a_placeholder_is_text() -> None:
    """GIVEN someone typing words that end in "omitted" with no U+200E WHEN parsed THEN it is plain text."""
    messages, _ = parse("13/02/2026, 21:00 - Liam Carter: the details were omitted\n")
    assert messages[0].attachments == ()


def test_deleted_and_edited_become_events_and_raw_is_kept() -> None:
    """GIVEN a deleted message and an edited one WHEN parsed
    THEN they carry DELETED / EDITED events, the marker leaves text, and raw keeps everything."""
    text = ("13/02/2026, 21:00 - Liam Carter: This message was deleted\n"
            "13/02/2026, 21:01 - Liam Carter: see you at 8 <This message was edited>\n")
    messages, _ = parse(text)
    assert [e.kind for e in messages[0].events] == [EventKind.DELETED] and messages[0].deleted
    assert messages[1].edited and messages[1].text == "see you at 8"
    assert messages[1].raw.endswith("<This message was edited>")
    assert messages[1].events[0].actor == "Liam Carter"


def test_attachment_beside_a_txt_is_read_through_related_files() -> None:
    """GIVEN an Android export unzipped into a folder WHEN the txt is parsed
    THEN the named file is read through ctx.related (never by opening a path) and hashed."""
    photo = b"\xff\xd8 not really a photo \xff\xd9"
    text = "13/02/2026, 21:00 - Liam Carter: IMG-20260213-WA0001.jpg (file attached)\nlook\n"
    messages, warnings = parse(text, ctx(related=DictFiles({"IMG-20260213-WA0001.jpg": photo})))
    (att,) = messages[0].attachments
    assert (att.name, att.size, att.media_type, att.data, att.omitted) == (
        "IMG-20260213-WA0001.jpg", len(photo), "image/jpeg", photo, False)
    assert not [w for w in warnings if "names the file" in w.reason]


# --- who is "me" -----------------------------------------------------------------------------------------------------

def test_two_person_chat_named_after_the_other_side_marks_the_exporter() -> None:
    """GIVEN 'WhatsApp Chat with Liam Carter.txt' where Liam and Priya write WHEN parsed
    THEN Priya's messages are from_me and Liam's are not, with no warning about it."""
    messages, warnings = parse(CHAT)
    assert [(m.sender_name, m.from_me) for m in messages] == [("Liam Carter", False), ("Priya Shah", True)]
    assert not [w for w in warnings if "exported" in w.reason]


@pytest.mark.parametrize("name", ["_chat.txt", "WhatsApp Chat with Someone Else.txt"])
def test_undecidable_exporter_gives_none_and_one_warning_at_line_one(name: str) -> None:
    """GIVEN a chat whose file name does not name a participant WHEN parsed
    THEN from_me is None everywhere and exactly one warning at <member>#L1 explains why."""
    messages, warnings = parse(CHAT, ctx(name))
    assert {m.from_me for m in messages} == {None}
    exporter = [w for w in warnings if "exported this chat" in w.reason]
    assert [w.locator for w in exporter] == [f"{name}#L1"]


def test_third_speaker_late_in_the_file_makes_it_a_group() -> None:
    """GIVEN a chat named after Liam where a third person writes only on the last line WHEN parsed
    THEN nobody is marked as the exporter (the first pass read the whole file)."""
    messages, _ = parse(CHAT + "13/02/2026, 23:00 - Hannah Cole: hi both\n")
    assert {m.from_me for m in messages} == {None}


def test_phone_number_names_lose_their_invisible_marks() -> None:
    """GIVEN a sender written as a number wrapped in U+202A/U+202C WHEN parsed
    THEN the sender name is the bare number, it still matches the file name, and raw keeps the marks."""
    text = "13/02/2026, 21:00 - \u202a+44 7700 900123\u202c: hi\n13/02/2026, 21:01 - Priya Shah: hello\n"
    messages, _ = parse(text, ctx("WhatsApp Chat with +44 7700 900123.txt"))
    assert messages[0].sender == Participant("+44 7700 900123") and messages[0].from_me is False
    assert "\u202a" in messages[0].raw and messages[1].from_me is True


def test_sender_name_with_colon_space_is_kept_whole() -> None:
    """GIVEN a contact saved as "Work: Chris" who writes several times WHEN parsed
    THEN the sender is "Work: Chris" and the text does not start with "Chris: "."""
    text = ("13/02/2026, 21:00 - Work: Chris: hi\n13/02/2026, 21:01 - Work: Chris: Note: bring water\n"
            "13/02/2026, 21:02 - Anna: ok\n")
    messages, _ = parse(text, ctx("WhatsApp Chat with Club.txt"))
    assert [(m.sender_name, m.text) for m in messages] == [
        ("Work: Chris", "hi"), ("Work: Chris", "Note: bring water"), ("Anna", "ok")]


@pytest.mark.parametrize(("name", "expected"), [
    ("WhatsApp Chat with Liam Carter.txt", "Liam Carter"), ("WhatsApp Chat - Liam Carter.zip", "Liam Carter"),
    ("WhatsApp-Chat mit Marie Schulz.txt", "Marie Schulz"), ("Chat de WhatsApp con Ana.txt", "Ana"),
    ("Discussion WhatsApp avec Camille.txt", "Camille"), ("WhatsApp Chat with Liam Carter (1).zip", "Liam Carter"),
    ("_chat.txt", None), ("notes.txt", None),
])
def test_conversation_from_filename(name: str, expected: str | None) -> None:
    """GIVEN export file names in several languages WHEN read THEN the chat name is found (or None)."""
    assert conversation_from_filename(name) == expected


# --- zips ------------------------------------------------------------------------------------------------------------

def test_zip_traversal_member_is_refused_with_a_warning() -> None:
    """GIVEN an export zip that also holds '../evil.sh' WHEN parsed
    THEN that member is never read, a warning names it, and the chat imports."""
    data = zipped({ANDROID: CHAT.encode(), "../evil.sh": b"rm -rf /"})
    messages, warnings = parse(data, ctx("WhatsApp Chat with Liam Carter.zip"))
    assert len(messages) == 2
    refused = [w for w in warnings if w.locator == "../evil.sh"]
    assert refused and "outside the archive" in refused[0].reason


def test_zip_links_media_by_name_and_warns_about_missing_and_unused_files() -> None:
    """GIVEN a zip with one named photo present, one named but missing, and one nobody mentions WHEN parsed
    THEN the present photo is attached with bytes and hash, the missing one is an omitted attachment with a
    warning, and the unmentioned file is reported."""
    text = ("13/02/2026, 21:00 - Liam Carter: IMG-1.jpg (file attached)\n"
            "13/02/2026, 21:01 - Liam Carter: IMG-2.jpg (file attached)\n13/02/2026, 21:02 - Priya Shah: ok\n")
    data = zipped({ANDROID: text.encode(), "IMG-1.jpg": b"one", "stray.opus": b"??"})
    messages, warnings = parse(data, ctx("WhatsApp Chat with Liam Carter.zip"))
    first, second = messages[0].attachments[0], messages[1].attachments[0]
    assert (first.locator, first.size, first.data, first.omitted) == ("IMG-1.jpg", 3, b"one", False)
    assert first.sha256 == "7692c3ad3540bb803c020b3aee66cd8887123234ea0c6e7143c0add73ff431ed"
    assert second.omitted and second.data is None
    assert any("IMG-2.jpg" in w.reason and "not in the archive" in w.reason for w in warnings)
    assert any("stray.opus" in w.reason for w in warnings)


def test_zip_without_chat_text_is_a_parse_error() -> None:
    """GIVEN a zip with only photos WHEN parsed THEN a ParseError says there is no chat text."""
    with pytest.raises(ParseError, match="no chat text"):
        parse(zipped({"IMG-1.jpg": b"x"}), ctx("photos.zip"))


def test_zip_bomb_member_is_hostile_input() -> None:
    """GIVEN a zip whose chat text inflates far beyond the compression-ratio limit WHEN parsed THEN HostileInput."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(ANDROID, CHAT.encode() + b"\n" * (8 << 20))
    with pytest.raises(HostileInput):
        parse(buf.getvalue(), ctx("bomb.zip"))


# --- sniffing and registry -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("probe", "low", "high"), [
    (Probe(ANDROID, CHAT.encode()), 0.9, 1.0),
    (Probe("_chat.txt", b"[13/02/2026, 21:00:05] Liam Carter: hi\n"), 0.9, 1.0),
    (Probe("export.txt", CHAT.encode()), 0.6, 0.7),
    (Probe("x.zip", b"PK\x03\x04", ("WhatsApp Chat with Liam Carter.txt", "IMG-1.jpg")), 0.95, 0.95),
    (Probe("x.zip", b"PK\x03\x04", ("_chat.txt", "00000001-PHOTO.jpg")), 0.9, 0.9),
    (Probe("x.zip", b"PK\x03\x04", ("result.json",)), 0.0, 0.0),
    (Probe(ANDROID, b"just some notes\nabout nothing\n"), 0.0, 0.0),
    (Probe("result.json", b'{"name": "Liam", "messages": []}'), 0.0, 0.0),
    (Probe("sms.xml", b"<?xml version='1.0'?><smses count='0'/>"), 0.0, 0.0),
])
def test_sniff_scores(probe: Probe, low: float, high: float) -> None:
    """GIVEN probes of WhatsApp exports and of other files WHEN sniffed THEN scores fall in the expected band."""
    assert low <= WhatsAppImporter().sniff(probe) <= high


def test_registry_picks_whatsapp_for_every_golden_fixture() -> None:
    """GIVEN every WhatsApp golden fixture WHEN opened through the registry THEN the WhatsApp importer is chosen."""
    fixtures = [p for p in GOLDEN.iterdir() if not p.name.endswith((".golden.json", ".options.json"))]
    assert len(fixtures) >= 12
    for fixture in fixtures:
        assert open_records(fixture, tz="Europe/London", date_order="mdy").registered.name == "whatsapp"


# --- the sample case and the fast builders ---------------------------------------------------------------------------

def test_sample_case_parses_cleanly() -> None:
    """GIVEN the embedded sample case's WhatsApp zip WHEN imported through the registry
    THEN it has 80-120 messages, no warnings, Priya as the exporter, the 14-message burst, the refusal, the
    deleted and edited messages, the photo and the block."""
    opened = open_records(SAMPLE, tz="Europe/London")
    records = list(opened.records)
    warnings = [r for r in records if isinstance(r, ParseWarning)]
    messages = [r for r in records if isinstance(r, Message)]
    assert warnings == []
    assert 80 <= len(messages) <= 120
    assert {(m.sender_name, m.from_me) for m in messages if m.sender} == {("Priya Shah", True), ("Liam Carter", False)}
    burst = [m for m in messages if datetime(2026, 2, 7, 23, 10, tzinfo=UTC) <= m.timestamp.utc
             <= datetime(2026, 2, 7, 23, 30, tzinfo=UTC)]
    assert len(burst) == 14 and {m.sender_name for m in burst} == {"Liam Carter"}
    refusal = [m for m in messages if m.text == "Please stop messaging me. I don't want any contact with you."]
    assert refusal[0].timestamp.utc == datetime(2026, 2, 1, 21, 40, tzinfo=UTC) and refusal[0].from_me
    assert sum(m.deleted for m in messages) == 1 and sum(m.edited for m in messages) == 1
    (photo,) = [a for m in messages for a in m.attachments]
    assert photo.media_type == "image/jpeg" and photo.data is not None and photo.data.startswith(b"\xff\xd8")
    assert messages[-1].text == "You blocked this contact." and messages[-1].kind is MessageKind.SYSTEM
    assert messages[-1].timestamp.utc.date() == datetime(2026, 2, 28).date()


def test_fast_builders_match_the_constructors() -> None:
    """GIVEN the draft-based builders used on the hot path WHEN they build a Message and a Timestamp
    THEN the values are real, frozen instances equal to constructor-built ones, field by field."""
    utc = datetime(2026, 2, 7, 23, 10, tzinfo=UTC)
    fast_ts = whatsapp_reading._timestamp(utc, Precision.MINUTE, "Europe/London", "07/02/2026, 23:10")
    slow_ts = Timestamp(utc, TimestampKind.LOCAL_ASSUMED, Precision.MINUTE, "Europe/London", "07/02/2026, 23:10")
    assert type(fast_ts) is Timestamp and fast_ts == slow_ts and hash(fast_ts) == hash(slow_ts)
    who = Participant("Liam Carter")
    fast = whatsapp._message("ab" * 32, "x#L1", "Liam Carter", fast_ts, "hi", "raw", who, MessageKind.MESSAGE, False)
    slow = Message("ab" * 32, "x#L1", "whatsapp", "Liam Carter", slow_ts, "hi", "raw", who, MessageKind.MESSAGE,
                   (), False)
    assert type(fast) is Message
    for f in fields(Message):
        assert getattr(fast, f.name) == getattr(slow, f.name), f.name
    assert fast == slow and fast.to_dict() == slow.to_dict()
    with pytest.raises(AttributeError):
        fast.text = "changed"  # type: ignore[misc]


def test_every_error_is_a_safetrail_error() -> None:
    """GIVEN a handful of broken inputs WHEN parsed THEN only SafetrailError subclasses escape."""
    for data in (b"PK\x03\x04garbage", b"\xff\xfe\x00", b"[", b"13/13/2026, 21:00 - x: y\n01/25/26, 10:00 - a: b\n"):
        with contextlib.suppress(SafetrailError):
            parse(data)


def test_repeated_impossible_date_is_never_a_message() -> None:
    """GIVEN the same impossible header twice (found by fuzzing: the second once hit a cache) WHEN parsed
    THEN both lines are warned about and no message carries an invalid time."""
    messages, warnings = parse("31/02/2026, 21:00 - \n31/02/2026, 21:00 - \n")
    assert messages == []
    assert sum("does not exist" in w.reason for w in warnings) == 2


def test_damaged_deflate_data_is_a_parse_error() -> None:
    """GIVEN the sample zip with one byte of its compressed chat text changed (found by fuzzing)
    WHEN parsed THEN a ParseError names the file and the member, not a zlib traceback."""
    data = bytearray(SAMPLE.read_bytes())
    data[65] ^= 1
    with pytest.raises(ParseError, match="damaged"):
        parse(bytes(data), ctx(SAMPLE.name))


def test_system_phrase_matching_stays_linear_on_crafted_lines() -> None:
    """GIVEN a huge line of repeated Dutch 'heeft ' WHEN matched against system phrases THEN it returns at once."""
    import time

    from safetrail.importers.whatsapp_phrases import SYSTEM

    line = "heeft " * 100_000
    start = time.perf_counter()
    SYSTEM.search(line)
    assert time.perf_counter() - start < 2.0
