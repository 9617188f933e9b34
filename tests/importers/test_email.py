"""Email importer: .eml and mbox, quoting, whose mailbox, times and their fallbacks, bodies, attachments, damage."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from safetrail.errors import HostileInput, ParseError
from safetrail.importers.base import DEFAULT_LIMITS, Limits, ParseContext, Probe
from safetrail.importers.email import EmailImporter
from safetrail.importers.registry import available, detect, open_records
from safetrail.model import Message, ParseWarning, Source, TimestampKind

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "email"
SAMPLE = ROOT / "src" / "safetrail" / "samples" / "case" / "email" / "you-owe-me-a-conversation.eml"


def ctx(name: str = "inbox.mbox", limits: Limits = DEFAULT_LIMITS) -> ParseContext:
    return ParseContext(source=Source(sha256="ef" * 32, size=0, name=name), tz=ZoneInfo("Europe/London"),
                        limits=limits)


def parse(data: bytes, context: ParseContext | None = None) -> tuple[list[Message], list[ParseWarning]]:
    records = list(EmailImporter().parse(io.BytesIO(data), context or ctx()))
    return ([r for r in records if isinstance(r, Message)], [r for r in records if isinstance(r, ParseWarning)])


def eml(body: str = "Hello\n", **headers: str) -> bytes:
    base = {"From": "Liam Carter <liam@example.com>", "To": "priya@example.org", "Subject": "Hi",
            "Date": "Sun, 19 Apr 2026 23:12:44 +0100", "Message-ID": "<m1@example.com>"}
    base.update({k.replace("_", "-"): v for k, v in headers.items()})
    head = "".join(f"{k}: {v}\n" for k, v in base.items() if v)
    return (head + "\n" + body).encode("utf-8")


def mbox(*messages: bytes, separator: str = "From liam@example.com Sun Apr 19 22:12:44 2026") -> bytes:
    return b"".join(separator.encode() + b"\n" + m.rstrip(b"\n") + b"\n\n" for m in messages)


class Unseekable(io.RawIOBase):
    """A stream that can only be read forward, like a pipe."""

    def __init__(self, data: bytes) -> None:
        self.inner = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        chunk = self.inner.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


# -- sniffing ----------------------------------------------------------------------------------------------------


def test_sniff_claims_eml_and_mbox_by_shape() -> None:
    """GIVEN an .eml, an mbox, a headers-only file with no name hint and a chat text WHEN sniffed
    THEN the email shapes score high and the chat scores nothing."""
    importer = EmailImporter()
    assert importer.sniff(Probe("x.eml", eml())) >= 0.9
    assert importer.sniff(Probe("Inbox.mbox", mbox(eml()))) >= 0.9
    assert importer.sniff(Probe("message", b"Received: from a\nMessage-ID: <1@a>\nMIME-Version: 1.0\n\nhi")) >= 0.8
    assert importer.sniff(Probe("chat.txt", b"12/01/2024, 10:00 - Liam: hi\n")) == 0.0
    assert importer.sniff(Probe("notes.txt", b"From my point of view, it went well.\n")) == 0.0


def test_registry_picks_this_importer_for_every_golden_fixture() -> None:
    """GIVEN the golden email fixtures WHEN detected by the registry THEN the email importer wins without a tie."""
    regs = available(plugins=False)
    for fixture in GOLDEN.iterdir():
        if fixture.name.endswith(".golden.json"):
            continue
        assert detect(Probe(fixture.name, fixture.read_bytes()[:65536]), regs, path=str(fixture)).name == "email"


# -- mbox --------------------------------------------------------------------------------------------------------


def test_mbox_splits_on_separators_and_unquotes_mboxrd() -> None:
    """GIVEN an mbox whose bodies hold quoted From lines and an unquoted 'From ' sentence WHEN parsed
    THEN messages split only on real separators, text is unquoted once, raw keeps the file's quoting."""
    body = ">From the start.\n>>From then on.\nFrom my side, nothing.\n"
    messages, warnings = parse(mbox(eml(body), eml("second\n", Message_ID="<m2@example.com>")))
    assert [m.locator for m in messages] == ["inbox.mbox#message[1]", "inbox.mbox#message[2]"]
    assert messages[0].text == "From the start.\n>From then on.\nFrom my side, nothing.\n"
    assert messages[0].raw == body
    assert messages[1].text == "second\n"
    assert warnings == []


def test_mbox_with_crlf_line_ends() -> None:
    """GIVEN an mbox written with CRLF WHEN parsed THEN messages split, text uses LF and raw keeps CRLF."""
    data = mbox(eml("line one\nline two\n"), eml("next\n")).replace(b"\n", b"\r\n")
    messages, _ = parse(data)
    assert [m.text for m in messages] == ["line one\nline two\n", "next\n"]
    assert messages[0].raw == "line one\r\nline two\r\n"


def test_mailbox_owner_from_delivered_to_and_gmail_sent_label() -> None:
    """GIVEN received mail with Delivered-To and a Sent-labelled reply WHEN parsed THEN from_me is told apart."""
    received = eml(Delivered_To="priya@example.org")
    sent = eml(From="Priya <Priya@Example.org>", To="liam@example.com", X_GM_LABELS="Sent,Opened")
    messages, _ = parse(mbox(received, sent, eml(From="Other <other@example.net>")))
    assert [m.from_me for m in messages] == [False, True, False]


def test_mailbox_owner_is_the_most_frequent_to_when_nothing_else_says() -> None:
    """GIVEN an mbox with no Delivered-To or labels WHEN parsed THEN the most frequent To is the owner."""
    messages, _ = parse(mbox(eml(), eml(), eml(From="priya@example.org", To="liam@example.com")))
    assert [m.from_me for m in messages] == [False, False, True]


def test_unseekable_mbox_still_streams_without_an_owner() -> None:
    """GIVEN an mbox that can only be read forward WHEN parsed THEN every message is read and from_me is unknown."""
    stream = io.BufferedReader(Unseekable(mbox(eml(), eml("two\n"))))
    records = list(EmailImporter().parse(stream, ctx()))
    messages = [r for r in records if isinstance(r, Message)]
    assert [m.text for m in messages] == ["Hello\n", "two\n"]
    assert {m.from_me for m in messages} == {None}


def test_single_eml_owner_only_from_delivered_to() -> None:
    """GIVEN one .eml with and one without Delivered-To WHEN parsed THEN from_me is False and None."""
    (with_header,), _ = parse(eml(Delivered_To="priya@example.org"), ctx("a.eml"))
    (without,), _ = parse(eml(), ctx("b.eml"))
    assert with_header.from_me is False and without.from_me is None
    assert with_header.locator == "a.eml#message"


def test_oversized_mbox_message_is_skipped_with_a_warning() -> None:
    """GIVEN an mbox message larger than the limit WHEN parsed THEN it is reported and the next one still read."""
    small = ctx(limits=Limits(max_attachment_bytes=2000))
    messages, warnings = parse(mbox(eml("x" * 5000 + "\n"), eml("small\n")), small)
    assert [m.text for m in messages] == ["small\n"]
    assert warnings[0].locator == "inbox.mbox#message[1]" and "larger than" in warnings[0].reason


def test_oversized_single_message_is_hostile() -> None:
    """GIVEN a lone message larger than the limit WHEN parsed THEN HostileInput names the limit."""
    with pytest.raises(HostileInput):
        parse(eml("x" * 5000), ctx("big.eml", Limits(max_attachment_bytes=2000)))


# -- times -------------------------------------------------------------------------------------------------------


def test_date_with_zone_is_sender_asserted() -> None:
    """GIVEN a Date with an offset WHEN parsed THEN the instant is UTC, sender-asserted, to the second."""
    (message,), _ = parse(eml(), ctx("a.eml"))
    assert message.timestamp.kind is TimestampKind.SENDER_ASSERTED
    assert message.timestamp.iso() == "2026-04-19T22:12:44Z"
    assert message.timestamp.as_written == "Sun, 19 Apr 2026 23:12:44 +0100"


def test_minus_zero_zone_means_utc_and_missing_zone_is_assumed_with_a_warning() -> None:
    """GIVEN a Date with -0000 and one with no zone WHEN parsed THEN the first is UTC, the second local-assumed."""
    (utc,), none = parse(eml(Date="Sun, 19 Apr 2026 23:12:44 -0000"), ctx("a.eml"))
    assert utc.timestamp.iso() == "2026-04-19T23:12:44Z" and none == []
    (local,), warnings = parse(eml(Date="Sun, 19 Apr 2026 23:12:44"), ctx("b.eml"))
    assert local.timestamp.kind is TimestampKind.LOCAL_ASSUMED and local.timestamp.zone == "Europe/London"
    assert local.timestamp.iso() == "2026-04-19T22:12:44Z"
    assert "Europe/London was assumed" in warnings[0].reason


def test_missing_date_falls_back_to_received_then_separator_then_is_skipped() -> None:
    """GIVEN messages with no Date: one with Received headers, one only in an mbox, one with nothing
    WHEN parsed THEN the newest Received time is used, then the separator's, and the last is reported, not faked."""
    received = eml(Date="", Received="from a by b; Sun, 19 Apr 2026 23:30:00 +0100")
    received = b"Received: from c by d; Sun, 19 Apr 2026 23:31:00 +0100\n" + received
    (first,), warnings = parse(received, ctx("a.eml"))
    assert first.timestamp.iso() == "2026-04-19T22:31:00Z" and first.timestamp.kind is TimestampKind.ABSOLUTE
    assert "Received" in warnings[0].reason
    gmail = "From 1795551234567890123@xxx Fri Apr 19 21:14:05 +0000 2026"
    (second,), warnings = parse(mbox(eml(Date=""), separator=gmail))
    assert second.timestamp.iso() == "2026-04-19T21:14:05Z" and "separator" in warnings[0].reason
    plain = "From liam@example.com Sun Apr 19 22:12:44 2026"
    (third,), _ = parse(mbox(eml(Date=""), separator=plain))
    assert third.timestamp.kind is TimestampKind.LOCAL_ASSUMED and third.timestamp.iso() == "2026-04-19T21:12:44Z"
    messages, warnings = parse(eml(Date="not a date"), ctx("c.eml"))
    assert messages == [] and "not imported" in warnings[0].reason


# -- headers, threads, bodies ------------------------------------------------------------------------------------


def test_encoded_words_and_raw_utf8_headers_are_decoded() -> None:
    """GIVEN RFC 2047 encoded words and raw UTF-8 in headers WHEN parsed THEN names and subject read as text."""
    data = eml(From="=?UTF-8?Q?Li=C3=A1m?= <liam@example.com>", Subject="=?utf-8?b?8J+YoSBhbnN3ZXIgbWU=?=",
               To="Príya <priya@example.org>")
    (message,), _ = parse(data, ctx("a.eml"))
    assert message.sender is not None and message.sender.name == "Liám"
    assert message.sender.platform_id == "liam@example.com"
    assert message.subject == "\U0001F621 answer me"
    assert [p.name for p in message.recipients] == ["Príya"]


def test_threads_follow_gmail_then_references_then_own_id_then_subject() -> None:
    """GIVEN a first message, a reply, a Gmail-threaded one and one without any ids WHEN parsed
    THEN the first and its reply share a thread, Gmail's id wins, and the subject is the last resort."""
    first = eml(Message_ID="<root@example.com>")
    reply = eml(Message_ID="<r@example.com>", In_Reply_To="<root@example.com>",
                References="<root@example.com> <mid@example.com>", Subject="Re: Hi")
    gmail = eml(X_GM_THRID="1795551234567890123", References="<root@example.com>")
    bare = eml(Message_ID="", Subject="RE: Fwd:  Hello   there")
    messages, _ = parse(mbox(first, reply, gmail, bare))
    assert [m.conversation for m in messages] == ["<root@example.com>", "<root@example.com>",
                                                  "gmail-thread:1795551234567890123", "subject:hello there"]
    assert messages[1].reply_to == "<root@example.com>" and messages[1].platform_id == "<r@example.com>"


def test_html_only_body_becomes_plain_text_with_links() -> None:
    """GIVEN an HTML-only message with a script, entities and a link WHEN parsed THEN text is what a reader sees."""
    html = ('<html><head><style>x{}</style></head><body><p>I saw you&nbsp;at <b>9</b>.</p>'
            '<p><a href="https://maps.example.com/?q=1">here</a><br>bye</p><script>evil()</script></body></html>')
    (message,), _ = parse(eml(html, Content_Type="text/html; charset=utf-8"), ctx("a.eml"))
    assert message.text == "I saw you at 9.\n\nhere (https://maps.example.com/?q=1)\nbye"
    assert message.raw == html


def test_alternative_prefers_plain_text_and_does_not_repeat_the_html() -> None:
    """GIVEN multipart/alternative with plain and HTML, plus an attachment WHEN parsed
    THEN the plain part is the body, the HTML twin is not listed, the attachment is."""
    body = ("--b\nContent-Type: text/plain\n\nplain words\n--b\nContent-Type: text/html\n\n<p>html words</p>\n"
            "--b--\n")
    outer = (f"--o\nContent-Type: multipart/alternative; boundary=b\n\n{body}--o\nContent-Type: text/csv\n"
             "Content-Disposition: attachment; filename=log.csv\n\na,b\n--o--\n")
    (message,), _ = parse(eml(outer, MIME_Version="1.0", Content_Type="multipart/mixed; boundary=o"), ctx("a.eml"))
    assert message.text == "plain words"
    assert [(a.name, a.locator, a.data) for a in message.attachments] == [("log.csv", "a.eml#message/part[2]",
                                                                          b"a,b")]


def test_attachments_keep_bytes_hash_and_inline_images() -> None:
    """GIVEN the golden attachment fixture WHEN parsed THEN each attachment has its bytes, size and SHA-256."""
    (message,), _ = parse((GOLDEN / "attachment.eml").read_bytes(), ctx("attachment.eml"))
    png, notes = message.attachments
    assert png.data is not None and png.data.startswith(b"\x89PNG") and png.size == len(png.data)
    assert notes.name == "nótes 2024.txt" and notes.data is not None and "café".encode() in notes.data


def test_attached_email_is_kept_as_an_eml() -> None:
    """GIVEN a forwarded message attached as message/rfc822 WHEN parsed THEN it is one attachment with its text."""
    inner = "From: a@example.com\nSubject: inner\n\ninner body\n"
    outer = (f"--o\nContent-Type: text/plain\n\nsee below\n--o\nContent-Type: message/rfc822\n\n{inner}--o--\n")
    (message,), _ = parse(eml(outer, MIME_Version="1.0", Content_Type="multipart/mixed; boundary=o"), ctx("a.eml"))
    (attached,) = message.attachments
    assert attached.name == "part-2.eml" and attached.data is not None and b"inner body" in attached.data


def test_charset_problems_are_read_with_replacement_and_a_warning() -> None:
    """GIVEN an unknown charset, invalid bytes for the declared one and UTF-8 labelled ASCII WHEN parsed
    THEN text is readable and each problem is a warning at the body part."""
    cases = [(b"text/plain; charset=x-nope", "caf\u00e9\n".encode(), "café\n", "does not know"),
             (b"text/plain; charset=utf-8", b"caf\xe9\n", "caf\ufffd\n", "not valid"),
             (b"text/plain", "café\n".encode(), "café\n", "ASCII")]
    for content_type, body, text, reason in cases:
        data = eml("").replace(b"\n\n", b"\nContent-Type: " + content_type + b"\n\n") + body
        (message,), warnings = parse(data, ctx("a.eml"))
        assert message.text == text
        assert reason in warnings[0].reason and warnings[0].locator == "a.eml#message/part[1]"


def test_damaged_base64_attachment_is_kept_with_a_warning() -> None:
    """GIVEN an attachment whose base64 is damaged WHEN parsed THEN what decodes is kept and a warning says so."""
    good = base64.b64encode(b"abcdef").decode()
    outer = (f"--o\nContent-Type: text/plain\n\nhi\n--o\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n"
             f"Content-Disposition: attachment; filename=a.png\n\n{good}!!*\n--o--\n")
    (message,), warnings = parse(eml(outer, MIME_Version="1.0", Content_Type="multipart/mixed; boundary=o"),
                                 ctx("a.eml"))
    assert message.attachments[0].data == b"abcdef"
    assert [w.locator for w in warnings] == ["a.eml#message/part[2]"]


def test_deep_nesting_is_cut_with_a_warning() -> None:
    """GIVEN multiparts nested a hundred deep WHEN parsed THEN it is read to a bounded depth, with a warning."""
    body = "".join(f"--b{i}\nContent-Type: multipart/mixed; boundary=b{i + 1}\n\n" for i in range(100))
    body += "--b100\nContent-Type: text/plain\n\ndeep\n"
    messages, warnings = parse(eml(body, MIME_Version="1.0", Content_Type="multipart/mixed; boundary=b0"),
                               ctx("a.eml"))
    assert len(messages) == 1 and any("nested" in w.reason for w in warnings)


def test_files_that_are_not_email_are_parse_errors() -> None:
    """GIVEN an empty file and plain prose WHEN parsed as a single message THEN ParseError, not a crash."""
    with pytest.raises(ParseError):
        parse(b"", ctx("a.eml"))
    with pytest.raises(ParseError, match="no email headers"):
        parse(b"just some words\nand more\n", ctx("b.eml"))


# -- the sample case ---------------------------------------------------------------------------------------------


def test_sample_case_email_parses_cleanly() -> None:
    """GIVEN the sample case's email WHEN imported through the registry THEN it parses with no warnings and carries
    the subject, the threat to write to her department, the repeated phrases and the attachment."""
    opened = open_records(SAMPLE, tz="Europe/London")
    records = list(opened.records)
    assert opened.registered.name == "email"
    assert [r for r in records if isinstance(r, ParseWarning)] == []
    (message,) = [r for r in records if isinstance(r, Message)]
    assert message.subject == "You owe me a conversation"
    assert message.from_me is False and message.sender is not None
    assert message.sender.platform_id == "liam.carter.77@example.com"
    assert message.timestamp.iso() == "2026-04-19T22:12:44Z"
    for phrase in ("answer me Priya", "write to your department", "You can't ignore me forever", "— L"):
        assert phrase in message.text
    (letter,) = message.attachments
    assert letter.name == "letter-to-department.txt" and letter.data is not None and letter.size == len(letter.data)
