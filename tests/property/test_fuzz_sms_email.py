"""Fuzzing the SMS Backup & Restore and email importers: whatever the bytes, only SafetrailError, never a hang or a
crash, and everything yielded can be stored (UTF-8-encodable text, aware timestamps). Plus round trips: text written
the way each format writes it comes back exactly."""

from __future__ import annotations

import io
import json
import os
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safetrail.errors import SafetrailError
from safetrail.importers.base import Limits, ParseContext
from safetrail.importers.email import EmailImporter
from safetrail.importers.sms_xml import SmsXmlImporter
from safetrail.model import Message, ParseWarning, Source

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
SAMPLES = ROOT / "src" / "safetrail" / "samples" / "case"

SMS_FILES = sorted(GOLDEN.glob("sms_xml/*.xml")) + sorted(SAMPLES.glob("sms/*.xml"))
EMAIL_FILES = sorted(p for p in GOLDEN.glob("email/*") if not p.name.endswith(".golden.json")) \
    + sorted(SAMPLES.glob("email/*.eml"))
FIXTURES = [(SmsXmlImporter(), p.name, p.read_bytes()) for p in SMS_FILES] \
    + [(EmailImporter(), p.name, p.read_bytes()) for p in EMAIL_FILES]
IMPORTERS = (SmsXmlImporter(), EmailImporter())
LIMITS = Limits(max_attachment_bytes=1 << 20, max_line_bytes=1 << 16)
# SAFETRAIL_FUZZ_EXAMPLES raises the budget for a longer campaign; the default keeps each test to a few seconds.
FUZZ = settings(max_examples=int(os.environ.get("SAFETRAIL_FUZZ_EXAMPLES", "120")), deadline=2000,
                suppress_health_check=[HealthCheck.too_slow])


def context(name: str) -> ParseContext:
    return ParseContext(source=Source(sha256="ab" * 32, size=0, name=name), tz=ZoneInfo("Europe/London"),
                        limits=LIMITS)


def run(importer: Any, name: str, data: bytes) -> list[Any]:
    """Parse and check every record can be stored; a SafetrailError is an allowed outcome."""
    records: list[Any] = []
    try:
        for record in importer.parse(io.BytesIO(data), context(name)):
            records.append(record)
    except SafetrailError as exc:
        assert str(exc) and name in str(exc)
        return records
    for record in records:
        if isinstance(record, Message):
            record.text.encode("utf-8")
            record.raw.encode("utf-8")
            assert record.timestamp.utc.tzinfo is not None
            json.dumps(record.to_dict(), ensure_ascii=False).encode("utf-8")
        else:
            assert isinstance(record, ParseWarning)
            record.reason.encode("utf-8")
    return records


@FUZZ
@given(data=st.binary(max_size=4096), which=st.sampled_from(IMPORTERS), name=st.sampled_from(["x.xml", "x.eml",
                                                                                                "x.mbox"]))
def test_random_bytes_only_raise_safetrail_errors(data: bytes, which: Any, name: str) -> None:
    """GIVEN arbitrary bytes WHEN parsed by either importer THEN nothing but a SafetrailError escapes."""
    run(which, name, data)


@FUZZ
@given(data=st.binary(max_size=2048), which=st.sampled_from(IMPORTERS))
def test_prefixed_random_bytes_reach_the_parsers(data: bytes, which: Any) -> None:
    """GIVEN garbage after a valid-looking start WHEN parsed THEN the deeper code paths also only raise
    SafetrailError."""
    sms_start = b"<?xml version='1.0' encoding='UTF-8'?>\n<smses count=\"1\">\n<mms date=\"1\"><parts>"
    mail_start = b"From a@b Sun Apr 19 22:12:44 2026\nFrom: a@b\nDate: x\nContent-Type: multipart/mixed; boundary=q\n\n"
    start = sms_start if isinstance(which, SmsXmlImporter) else mail_start
    run(which, "x", start + data)


def mutations(data: bytes) -> st.SearchStrategy[bytes]:
    size = len(data)
    edits = st.lists(st.tuples(st.sampled_from(["flip", "insert", "delete", "dup", "cut"]),
                               st.integers(0, max(size - 1, 0)), st.integers(1, 64), st.binary(min_size=1, max_size=8)),
                     min_size=1, max_size=6)

    def apply(steps: list[tuple[str, int, int, bytes]]) -> bytes:
        out = bytearray(data)
        for kind, at, span, junk in steps:
            at = min(at, len(out))
            if kind == "flip" and out:
                out[min(at, len(out) - 1)] ^= junk[0] or 1
            elif kind == "insert":
                out[at:at] = junk
            elif kind == "delete":
                del out[at:at + span]
            elif kind == "dup":
                out[at:at] = out[at:at + span * 8]
            else:
                del out[at:]
        return bytes(out)

    return edits.map(apply)


@FUZZ
@given(case=st.sampled_from(FIXTURES).flatmap(lambda c: st.tuples(st.just(c), mutations(c[2]))))
def test_mutated_fixtures_only_raise_safetrail_errors(case: tuple[tuple[Any, str, bytes], bytes]) -> None:
    """GIVEN a real fixture with bytes flipped, inserted, deleted, duplicated or cut WHEN parsed
    THEN nothing but a SafetrailError escapes and every record can be stored."""
    (importer, name, _), data = case
    run(importer, name, data)


# -- round trips -------------------------------------------------------------------------------------------------

TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc"), max_codepoint=0x1FFFF) | st.sampled_from("\n\t"),
               max_size=60)


def as_backup_writes(text: str) -> str:
    """Escape text the way SMS Backup & Restore does: markup escaped, newlines and astral characters as
    references, the latter as two UTF-16 halves."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch in "&<>\"'":
            out.append({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"}[ch])
        elif ch in "\n\t":
            out.append(f"&#{code};")
        elif code > 0xFFFF:
            code -= 0x10000
            out.append(f"&#{0xD800 + (code >> 10)};&#{0xDC00 + (code & 0x3FF)};")
        else:
            out.append(ch)
    return "".join(out)


@settings(max_examples=int(os.environ.get("SAFETRAIL_FUZZ_EXAMPLES", "120")), deadline=2000)
@given(bodies=st.lists(TEXT, min_size=1, max_size=5))
def test_sms_text_round_trips(bodies: list[str]) -> None:
    """GIVEN any texts written as the app writes them WHEN parsed THEN each text comes back exactly, with no
    warnings."""
    records = "".join(f'<sms address="+447700900123" date="17123660459{n:02d}" type="1" '
                      f'body="{as_backup_writes(body)}" />\n' for n, body in enumerate(bodies))
    data = (f"<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\n<smses count=\"{len(bodies)}\">\n"
            f"{records}</smses>").encode()
    out = run(SmsXmlImporter(), "sms.xml", data)
    assert [r.text for r in out if isinstance(r, Message)] == [b.replace("\r", "\n") for b in bodies]
    assert [r for r in out if isinstance(r, ParseWarning)] == []


@settings(max_examples=int(os.environ.get("SAFETRAIL_FUZZ_EXAMPLES", "120")), deadline=2000)
@given(body=st.text(st.characters(blacklist_categories=("Cs", "Cc")) | st.just("\n"), max_size=200),
       subject=st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=40))
def test_email_text_round_trips(body: str, subject: str) -> None:
    """GIVEN any body and subject written by the standard library's mail writer WHEN parsed THEN they come back."""
    msg = EmailMessage(policy=default_policy)
    msg["From"] = "Liam <liam@example.com>"
    msg["To"] = "priya@example.org"
    msg["Subject"] = subject
    msg["Date"] = "Sun, 19 Apr 2026 23:12:44 +0100"
    msg.set_content(body)
    (message,) = [r for r in run(EmailImporter(), "a.eml", msg.as_bytes()) if isinstance(r, Message)]
    assert message.text.rstrip("\n") == body.rstrip("\n")
    assert (message.subject or "") == " ".join(subject.split())
