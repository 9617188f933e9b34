"""SMS Backup & Restore importer: sniffing, split emoji, MMS media, calls, damaged and hostile files, streaming."""

from __future__ import annotations

import base64
import builtins
import io
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from safetrail.errors import HostileInput, ParseError
from safetrail.importers import sms_xml
from safetrail.importers.base import DEFAULT_LIMITS, Limits, ParseContext, Probe
from safetrail.importers.registry import available, detect, open_records
from safetrail.importers.sms_xml import SmsXmlImporter
from safetrail.model import Message, MessageKind, ParseWarning, Source, TimestampKind

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "sms_xml"
SAMPLE = ROOT / "src" / "safetrail" / "samples" / "case" / "sms"
HEAD = b"<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\n"


def ctx(name: str = "sms.xml", limits: Limits = DEFAULT_LIMITS) -> ParseContext:
    return ParseContext(source=Source(sha256="cd" * 32, size=0, name=name), tz=ZoneInfo("Europe/London"),
                        limits=limits)


def parse(data: bytes, context: ParseContext | None = None) -> tuple[list[Message], list[ParseWarning]]:
    records = list(SmsXmlImporter().parse(io.BytesIO(data), context or ctx()))
    return ([r for r in records if isinstance(r, Message)], [r for r in records if isinstance(r, ParseWarning)])


def sms(body: str, *, typ: str = "1", address: str = "+447700900123", date: str = "1712366045901",
        extra: str = "") -> bytes:
    return (f'  <sms protocol="0" address="{address}" date="{date}" type="{typ}" subject="null" body="{body}" '
            f'read="1" status="-1" locked="0" contact_name="Zoë"{extra} />\n').encode()


def smses(*records: bytes, count: int | None = None) -> bytes:
    n = len(records) if count is None else count
    return HEAD + f'<smses count="{n}">\n'.encode() + b"".join(records) + b"</smses>\n"


def dump(records: list[Any]) -> list[Any]:
    return [r.to_dict() if isinstance(r, Message) else r for r in records]


# -- sniffing ----------------------------------------------------------------------------------------------------


def test_sniff_claims_sms_and_call_backups_and_nothing_else() -> None:
    """GIVEN the heads of an SMS backup, a calls backup and other files WHEN sniffed THEN only the backups score."""
    importer = SmsXmlImporter()
    assert importer.sniff(Probe("sms-20240406.xml", smses(sms("hi"))[:4096])) >= 0.9
    calls = HEAD + b'<calls count="1">\n  <call number="1" duration="0" date="1" type="3" />\n</calls>'
    assert importer.sniff(Probe("calls-20240408.xml", calls)) >= 0.9
    assert importer.sniff(Probe("notes.xml", HEAD + b"<notes><note/></notes>")) == 0.0
    assert importer.sniff(Probe("chat.txt", b"12/01/2024, 10:00 - Liam: hi")) == 0.0


def test_registry_picks_this_importer_for_every_golden_fixture() -> None:
    """GIVEN the golden SMS fixtures WHEN detected by the registry THEN the sms importer wins without a tie."""
    regs = available(plugins=False)
    for fixture in GOLDEN.glob("*.xml"):
        probe = Probe(fixture.name, fixture.read_bytes()[:65536])
        assert detect(probe, regs, path=str(fixture)).name == "sms"


# -- texts -------------------------------------------------------------------------------------------------------


def test_surrogate_pairs_join_in_text_and_stay_as_written_in_raw() -> None:
    """GIVEN an emoji written as two UTF-16 surrogate references (decimal and hex) WHEN parsed
    THEN text holds the one emoji and raw keeps both references exactly."""
    messages, warnings = parse(smses(sms("hi &#55357;&#56832; and &#xd83d;&#xDC4B;&#10;bye")))
    assert messages[0].text == "hi \U0001F600 and \U0001F44B\nbye"
    assert messages[0].raw == "hi &#55357;&#56832; and &#xd83d;&#xDC4B;\nbye"
    assert warnings == []


def test_unpaired_surrogate_becomes_replacement_character_with_a_warning() -> None:
    """GIVEN a high surrogate with no low half, and a low half alone WHEN parsed
    THEN each shows as U+FFFD, raw keeps them, and one warning names the record."""
    messages, warnings = parse(smses(sms("a &#55357; b &#56832;")))
    assert messages[0].text == "a \ufffd b \ufffd"
    assert messages[0].raw == "a &#55357; b &#56832;"
    assert [w.locator for w in warnings] == ["sms.xml#/smses/sms[1]"]
    assert "2 halves" in warnings[0].reason


def test_references_that_are_not_surrogates_are_left_to_xml() -> None:
    """GIVEN ordinary character references next to the surrogate range WHEN parsed THEN XML decodes them as usual."""
    messages, _ = parse(smses(sms("&#55295;&#57344;&#128512;&amp;")))
    assert messages[0].text == messages[0].raw == "\ud7ff\ue000\U0001F600&"


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 11, 64, 4096])
def test_chunk_boundaries_change_nothing(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    """GIVEN the golden fixtures read in chunks of every awkward size WHEN parsed
    THEN the records equal those read in one go (references and media cut across chunks are rejoined)."""
    for fixture in sorted(GOLDEN.glob("*.xml")):
        data = fixture.read_bytes()
        whole = dump(list(SmsXmlImporter().parse(io.BytesIO(data), ctx(fixture.name))))
        monkeypatch.setattr(sms_xml, "_CHUNK", chunk)
        cut = dump(list(SmsXmlImporter().parse(io.BytesIO(data), ctx(fixture.name))))
        monkeypatch.undo()
        assert cut == whole, fixture.name


def test_sent_received_and_undelivered_types() -> None:
    """GIVEN received, sent, draft, failed and unknown-type texts WHEN parsed THEN direction and warnings follow
    the app's type codes."""
    messages, warnings = parse(smses(sms("in"), sms("out", typ="2"), sms("draft", typ="3"), sms("fail", typ="5"),
                                     sms("odd", typ="9")))
    assert [m.from_me for m in messages] == [False, True, True, True, None]
    assert messages[0].sender is not None and messages[0].sender.name == "Zoë"
    assert messages[1].sender is not None and messages[1].sender.name == "Me"
    assert [p.name for p in messages[1].recipients] == ["Zoë"]
    assert [w.locator.rsplit("/", 1)[1] for w in warnings] == ["sms[3]", "sms[4]", "sms[5]"]
    assert "draft" in warnings[0].reason and "failed" in warnings[1].reason


def test_conversation_is_the_normalised_address() -> None:
    """GIVEN one number written two ways WHEN parsed THEN both texts share one conversation id."""
    messages, _ = parse(smses(sms("a", address="+44 7700 900123"), sms("b", address="+44-7700-(900)123")))
    assert {m.conversation for m in messages} == {"+447700900123"}


def test_times_are_absolute_milliseconds_and_bad_ones_fall_back_or_are_reported() -> None:
    """GIVEN a normal time, a time in seconds, an unreadable time with date_sent, and no time at all
    WHEN parsed THEN the first is absolute to the millisecond, the others are read or skipped with warnings."""
    records = [sms("ms"), sms("s", date="1712366045"), sms("sent", date="soon", extra=' date_sent="1712366040000"'),
               sms("none", date="")]
    messages, warnings = parse(smses(*records))
    assert [m.text for m in messages] == ["ms", "s", "sent"]
    first = messages[0].timestamp
    assert first.kind is TimestampKind.ABSOLUTE and first.iso() == "2024-04-06T01:14:05.901000Z"
    assert first.as_written == "1712366045901"
    assert messages[1].timestamp.iso() == "2024-04-06T01:14:05Z"
    assert messages[2].timestamp.as_written == "1712366040000"
    assert [w.locator.rsplit("/", 1)[1] for w in warnings] == ["sms[2]", "sms[3]", "sms[4]"]
    assert "not imported" in warnings[2].reason


def test_count_attribute_is_checked() -> None:
    """GIVEN a root that claims more records than it holds WHEN parsed THEN a warning says both numbers."""
    _, warnings = parse(smses(sms("one"), count=3))
    assert warnings[-1].reason == "the file says 3 messages, 1 were read"
    assert warnings[-1].locator == "sms.xml#/smses"


def test_unknown_elements_are_counted_not_dropped_silently() -> None:
    """GIVEN an element the format does not define WHEN parsed THEN a warning counts it."""
    _, warnings = parse(smses(sms("x"), b'  <rcs id="1" />\n', count=2))
    assert any("<rcs>" in w.reason for w in warnings)


# -- MMS ---------------------------------------------------------------------------------------------------------


def mms(parts: bytes, *, box: str = "1", address: str = "+447700900123",
        addrs: bytes = b'<addr address="+447700900123" type="137" charset="106" />') -> bytes:
    return (f'  <mms date="1712481300000" msg_box="{box}" address="{address}" m_type="132" '
            'contact_name="Zoë">\n    <parts>\n').encode() + parts + b"    </parts>\n    <addrs>" + addrs + \
        b"</addrs>\n  </mms>\n"


def part(ct: str, **attrs: str) -> bytes:
    extra = "".join(f' {k}="{v}"' for k, v in attrs.items())
    return f'      <part seq="0" ct="{ct}" name="null" chset="null" cd="null" fn="null"{extra} />\n'.encode()


def test_mms_media_is_decoded_and_smil_is_skipped() -> None:
    """GIVEN an MMS with a SMIL layout, a JPEG and a text part WHEN parsed
    THEN the text is the body, the JPEG is an attachment with its bytes and hash, and SMIL is not kept."""
    image = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40
    data = smses(mms(part("application/smil", cl="smil.xml", text="&lt;smil/&gt;")
                     + part("image/jpeg", cl="IMG_1.jpg", data=base64.b64encode(image).decode())
                     + part("text/plain", cl="text_0.txt", text="look &#55357;&#56832;")))
    messages, warnings = parse(data)
    (message,) = messages
    assert message.text == "look \U0001F600" and message.raw == "look &#55357;&#56832;"
    (attachment,) = message.attachments
    assert attachment.data == image and attachment.size == len(image) and attachment.media_type == "image/jpeg"
    assert attachment.name == "IMG_1.jpg" and attachment.locator == "sms.xml#/smses/mms[1]/parts/part[2]"
    assert warnings == []


@pytest.mark.parametrize("chunk", [1, 3, 100, 1000])
def test_base64_cut_by_chunks_is_lifted_whole(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    """GIVEN media large enough to cross many chunks WHEN parsed in small chunks THEN the bytes come out whole."""
    image = bytes(range(256)) * 30
    monkeypatch.setattr(sms_xml, "_CHUNK", chunk)
    messages, _ = parse(smses(mms(part("image/png", cl="a.png", data=base64.b64encode(image).decode()))))
    assert messages[0].attachments[0].data == image


def test_media_that_is_not_plain_base64_goes_through_xml() -> None:
    """GIVEN base64 wrapped with line-break references, and data that is not base64 WHEN parsed
    THEN the wrapped one still decodes and the other is kept out with a warning."""
    image = bytes(range(200))
    encoded = base64.b64encode(image).decode()
    wrapped = encoded[:60] + "&#10;" + encoded[60:]
    messages, warnings = parse(smses(mms(part("image/png", cl="a.png", data=wrapped)
                                         + part("image/png", cl="b.png", data="@@not base64@@"))))
    good, bad = messages[0].attachments
    assert good.data == image
    assert bad.omitted and bad.data is None
    assert [w.locator for w in warnings] == ["sms.xml#/smses/mms[1]/parts/part[2]"]


def test_media_over_the_limit_is_left_out_with_a_warning() -> None:
    """GIVEN media larger than the attachment limit WHEN parsed THEN it is not kept and a warning says so."""
    encoded = base64.b64encode(bytes(5000)).decode()
    messages, warnings = parse(smses(mms(part("image/png", cl="big.png", data=encoded))),
                               ctx(limits=Limits(max_attachment_bytes=1000)))
    assert messages[0].attachments[0].omitted
    assert "larger than" in warnings[0].reason


def test_data_attribute_outside_a_part_is_not_mistaken_for_media() -> None:
    """GIVEN the text ' data="…"' inside a body and a comment WHEN parsed THEN the body is read exactly."""
    body = 'x data=&quot;QUJD&quot; y'
    messages, _ = parse(smses(b'<!-- <part data="QUJDRA==" /> -->\n' + sms(body)))
    assert messages[0].text == 'x data="QUJD" y'


def test_group_mms_direction_names_and_owner() -> None:
    """GIVEN a received group MMS and a sent one WHEN parsed THEN the sender, the other members by name and the
    phone owner (the address missing from the thread) are told apart."""
    addrs = (b'<addr address="+447700900777" type="137" charset="106" />'
             b'<addr address="+447700900123" type="151" charset="106" />'
             b'<addr address="+447700900461" type="151" charset="106" />')
    received = mms(part("text/plain", text="hi all"), address="+447700900123~+447700900777", addrs=addrs)
    received = received.replace(b'contact_name="Zo\xc3\xab"', b'contact_name="Zo\xc3\xab, Sam"')
    sent = mms(part("text/plain", text="hi"), box="2", address="+447700900123~+447700900777",
               addrs=b'<addr address="insert-address-token" type="137" charset="106" />'
                     b'<addr address="+447700900123" type="151" charset="106" />'
                     b'<addr address="+447700900777" type="151" charset="106" />')
    (first, second), _ = parse(smses(received, sent))
    assert first.sender is not None and first.sender.name == "Sam" and first.from_me is False
    assert [p.name for p in first.recipients] == ["Zoë", "Me"]
    assert first.conversation == second.conversation == "+447700900123~+447700900777"
    assert second.from_me is True and [p.platform_id for p in second.recipients] == ["+447700900123",
                                                                                      "+447700900777"]


# -- calls -------------------------------------------------------------------------------------------------------


def test_calls_are_call_records_with_plain_descriptions() -> None:
    """GIVEN missed, withheld, answered and unknown-type calls WHEN parsed THEN each is a CALL with a plain
    description, raw keeps every attribute, and the withheld caller is named as such."""
    data = HEAD + b'<calls count="4">\n' + b"".join(
        f'  <call number="{n}" duration="{d}" date="1712538123456" type="{t}" presentation="{p}" '
        f'contact_name="(Unknown)" />\n'.encode()
        for n, d, t, p in (("+447700900987", "0", "3", "1"), ("", "0", "3", "2"), ("+447700900987", "3725", "1", "1"),
                           ("+447700900987", "0", "42", "1"))) + b"</calls>\n"
    messages, warnings = parse(data, ctx("calls.xml"))
    assert all(m.kind is MessageKind.CALL for m in messages)
    assert [m.text for m in messages] == ["Missed call", "Missed call", "Incoming call (1 h 2 min 5 s)", "Call"]
    assert messages[1].sender is not None and messages[1].sender.name == "Withheld number"
    assert messages[1].conversation == "withheld"
    assert messages[0].raw.startswith('number="+447700900987" duration="0"')
    assert messages[0].locator == "calls.xml#/calls/call[1]"
    assert [w.locator for w in warnings] == ["calls.xml#/calls/call[4]"]


# -- damaged and hostile files -----------------------------------------------------------------------------------


def test_truncated_backup_keeps_what_came_before_and_warns_at_the_end() -> None:
    """GIVEN a backup cut off inside a record WHEN parsed THEN the complete records are yielded, then a warning
    saying where the file stops, then the count warning."""
    whole = smses(sms("one"), sms("two"), sms("three"))
    records = list(SmsXmlImporter().parse(io.BytesIO(whole[: whole.index(b"three")]), ctx()))
    assert [r.text for r in records if isinstance(r, Message)] == ["one", "two"]
    tail = [r for r in records if isinstance(r, ParseWarning)]
    assert "cut short" in tail[0].reason and "line 5, column 3" in tail[0].reason
    assert tail[1].reason == "the file says 3 messages, 2 were read"


def test_truncated_inside_an_mms_names_the_lost_record() -> None:
    """GIVEN a backup cut off inside a picture message WHEN parsed THEN the warning names that MMS."""
    data = smses(sms("one"), mms(part("text/plain", text="lost")))
    _, warnings = parse(data[: data.index(b"lost")])
    assert "mms[1]" in warnings[0].reason


def test_damage_in_the_middle_is_a_parse_error_after_the_records_before_it() -> None:
    """GIVEN garbage between records WHEN parsed THEN the records before it are yielded and then a ParseError
    names the file, line and column."""
    data = smses(sms("one"), b"  <sms \x01 />\n", sms("three"))
    seen: list[Any] = []
    with pytest.raises(ParseError) as caught:
        for record in SmsXmlImporter().parse(io.BytesIO(data), ctx()):
            seen.append(record)
    assert [r.text for r in seen] == ["one"]
    assert "sms.xml" in str(caught.value) and "line 4, column 8" in str(caught.value)


def test_error_columns_are_those_of_the_file_after_lifted_media() -> None:
    """GIVEN damage on a line after a lifted base64 value WHEN parsed THEN the column is counted in the file."""
    line = '<part seq="0" ct="image/png" cl="a.png" data="QUJD" \x01/>'
    data = HEAD + b'<smses count="1">\n<mms date="1712481300000" msg_box="1"><parts>' + line.encode()
    with pytest.raises(ParseError) as caught:
        parse(data + b"</parts></mms></smses>")
    column = len('<mms date="1712481300000" msg_box="1"><parts>') + line.index("\x01") + 1
    assert f"line 3, column {column}" in str(caught.value)


def test_not_an_sms_backup_is_a_parse_error() -> None:
    """GIVEN XML with another root, and bytes that are not XML WHEN parsed THEN each is a ParseError."""
    with pytest.raises(ParseError, match="top element"):
        parse(HEAD + b"<html><body/></html>")
    with pytest.raises(ParseError, match="not a readable SMS Backup"):
        parse(b"\x00\x01garbage")
    with pytest.raises(ParseError):
        parse(b"")


XXE = (b"<?xml version='1.0'?>\n<!DOCTYPE smses [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n"
       b'<smses count="1"><sms address="1" date="1712366045901" type="1" body="&xxe;" /></smses>')
PARAMETER = (b'<?xml version="1.0"?>\n<!DOCTYPE smses [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>\n'
             b'<smses count="0"></smses>')
LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
          + b"".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'.encode()
                     for i in range(1, 10))
          + b']>\n<smses count="1"><sms address="1" date="1712366045901" type="1" body="&lol9;" /></smses>')


@pytest.mark.parametrize("document", [XXE, PARAMETER, LAUGHS], ids=["xxe", "parameter-entity", "billion-laughs"])
def test_entities_and_doctypes_are_hostile_and_nothing_is_read(monkeypatch: pytest.MonkeyPatch,
                                                               document: bytes) -> None:
    """GIVEN external entities, parameter entities or an entity bomb WHEN parsed THEN HostileInput is raised
    before any record, and no file is opened."""
    opened: list[str] = []
    real_open = builtins.open

    def spy(file: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    seen: list[Any] = []
    with pytest.raises(HostileInput):
        for record in SmsXmlImporter().parse(io.BytesIO(document), ctx()):
            seen.append(record)
    monkeypatch.undo()
    assert seen == []
    assert not any("passwd" in name for name in opened)


def test_absurd_nesting_is_hostile() -> None:
    """GIVEN elements nested thousands deep WHEN parsed THEN HostileInput, not a crash."""
    with pytest.raises(HostileInput, match="nested"):
        parse(HEAD + b"<smses>" + b"<x>" * 5000 + b"</x>" * 5000 + b"</smses>")


def test_a_record_that_never_ends_is_hostile(monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN one attribute far longer than any record allowed WHEN parsed THEN HostileInput, with bounded memory."""
    limits = Limits(max_attachment_bytes=3000, max_line_bytes=64)
    monkeypatch.setattr(sms_xml, "_CHUNK", 1024)
    data = smses(sms("x" * 100_000))
    with pytest.raises(HostileInput, match="runs past"):
        parse(data, ctx(limits=limits))


# -- the sample case ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sms-20260420.xml", "calls-20260420.xml"])
def test_sample_case_files_parse_cleanly(name: str) -> None:
    """GIVEN the sample case's SMS and call backups WHEN imported through the registry THEN they parse with no
    warnings and carry the case's beats."""
    opened = open_records(SAMPLE / name, tz="Europe/London")
    records = list(opened.records)
    assert opened.registered.name == "sms"
    assert [r for r in records if isinstance(r, ParseWarning)] == []
    messages = [r for r in records if isinstance(r, Message)]
    assert messages and all(m.timestamp.utc.year == 2026 for m in messages)
    if name.startswith("calls"):
        assert all(m.kind is MessageKind.CALL for m in messages)
        assert any(m.text == "Missed call" and m.conversation == "+447700900987" for m in messages)
        return
    texts = " ".join(m.text for m in messages)
    for phrase in ("New number. You can't block me from everything", "I know where you live now",
                   "answer me Priya", "you can't ignore me forever", "— L"):
        assert phrase in texts
    mine = [m for m in messages if m.from_me]
    assert [m.text for m in mine] == ["Stop contacting me. I have reported you to the police."]
    photos = [a for m in messages for a in m.attachments]
    assert len(photos) == 1 and photos[0].data is not None and photos[0].data.startswith(b"\xff\xd8")
    night = [m for m in messages if 2 <= m.timestamp.utc.astimezone(ZoneInfo("Europe/London")).hour < 4]
    assert len(night) >= 3
