"""Fuzzing the WhatsApp importer: whatever the bytes (random, or a real fixture mutated), only SafetrailError
escapes, nothing hangs, and everything yielded can be stored. Plus a round trip: messages written the way Android
writes them come back with the same sender, time and text."""

from __future__ import annotations

import io
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safetrail.errors import SafetrailError
from safetrail.importers.base import DateOrder, Limits, ParseContext
from safetrail.importers.whatsapp import WhatsAppImporter
from safetrail.model import Message, ParseWarning, Source

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "whatsapp"
SAMPLE = ROOT / "src" / "safetrail" / "samples" / "case" / "WhatsApp Chat with Liam Carter.zip"
FIXTURES = [(p.name, p.read_bytes()) for p in sorted(GOLDEN.iterdir())
            if not p.name.endswith((".golden.json", ".options.json"))] + [(SAMPLE.name, SAMPLE.read_bytes())]
LIMITS = Limits(max_attachment_bytes=1 << 20, max_line_bytes=4096)
# SAFETRAIL_FUZZ_EXAMPLES raises the budget for a longer campaign; the default keeps each test to a few seconds.
FUZZ = settings(max_examples=int(os.environ.get("SAFETRAIL_FUZZ_EXAMPLES", "150")), deadline=2000,
                suppress_health_check=[HealthCheck.too_slow])
IMPORTER = WhatsAppImporter()


def context(name: str, order: DateOrder | None = None) -> ParseContext:
    return ParseContext(source=Source(sha256="ef" * 32, size=0, name=name), tz=ZoneInfo("Europe/London"),
                        date_order=order, limits=LIMITS)


def run(name: str, data: bytes, order: DateOrder | None = None) -> list[Any]:
    """Parse and check every record can be stored; a SafetrailError naming the file is an allowed outcome."""
    records: list[Any] = []
    try:
        records.extend(IMPORTER.parse(io.BytesIO(data), context(name, order)))
    except SafetrailError as exc:
        assert str(exc) and name in str(exc)
        return records
    locators = set()
    for record in records:
        assert isinstance(record, Message | ParseWarning)
        if isinstance(record, Message):
            record.text.encode("utf-8")
            record.raw.encode("utf-8")
            assert record.timestamp.utc.tzinfo is not None
            json.dumps(record.to_dict(), ensure_ascii=False).encode("utf-8")
            assert record.locator not in locators, "message locators must be unique"
            locators.add(record.locator)
        else:
            record.reason.encode("utf-8")
    return records


@FUZZ
@given(st.binary(max_size=4096), st.sampled_from(["WhatsApp Chat with Liam Carter.txt", "_chat.txt", "x.zip"]),
       st.sampled_from([None, DateOrder.DMY, DateOrder.MDY]))
def test_random_bytes_never_crash(data: bytes, name: str, order: DateOrder | None) -> None:
    """GIVEN arbitrary bytes WHEN parsed as a WhatsApp export THEN only SafetrailError escapes."""
    run(name, data, order)


_LINE_PIECES = st.sampled_from([
    "13/02/2026, 21:00 - ", "2/13/26, 9:00\u202fPM - ", "[13.02.26 21:00] ", "\u200e[13/02/2026, 21:00:05] ",
    "2026-02-13, 21:00 - ", "31/02/2026, 21:00 - ", "13/02/2026, 25:61 - ", "Liam Carter: ", "Work: Chris: ",
    "\u202a+44 7700 900123\u202c: ", "<Media omitted>", "\u200eimage omitted", "IMG-1.jpg (file attached)",
    "\u200e<attached: 0001-PHOTO.jpg>", "This message was deleted", " <This message was edited>", "\r", "\ufeff",
    "hello", "\u200e", ": ", "\n", "\n\n", "x" * 300,
])


@FUZZ
@given(st.lists(_LINE_PIECES, max_size=60), st.sampled_from([None, DateOrder.DMY, DateOrder.MDY]))
def test_chat_shaped_text_never_crashes(pieces: list[str], order: DateOrder | None) -> None:
    """GIVEN text built from the pieces real exports are made of, in any order WHEN parsed
    THEN only SafetrailError escapes and every record can be stored."""
    run("WhatsApp Chat with Liam Carter.txt", "".join(pieces).encode("utf-8"), order)


@FUZZ
@given(st.sampled_from(FIXTURES), st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255),
                                                     st.sampled_from(["flip", "cut", "insert", "dup"])),
                                           min_size=1, max_size=8))
def test_mutated_fixtures_never_crash(fixture: tuple[str, bytes], edits: list[tuple[int, int, str]]) -> None:
    """GIVEN a real fixture (txt or zip) with bytes flipped, cut, inserted or duplicated WHEN parsed
    THEN only SafetrailError escapes and every record can be stored."""
    name, original = fixture
    data = bytearray(original)
    for where, value, how in edits:
        at = where % (len(data) + 1)
        if how == "flip" and data:
            data[at % len(data)] ^= value or 1
        elif how == "cut":
            del data[at:at + value]
        elif how == "insert":
            data[at:at] = bytes([value]) * (value % 7 + 1)
        else:
            data[at:at] = data[at:at + value]
    run(name, bytes(data), DateOrder.DMY)


_NAMES = st.sampled_from(["Liam Carter", "Priya Shah"])
_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\u200e\ufeff"),
                min_size=1, max_size=40).filter(lambda t: t.strip() == t and t[-1:] not in ">)")


@FUZZ
@given(st.lists(st.tuples(_NAMES, st.integers(0, 10_000), _TEXT), min_size=1, max_size=25))
def test_android_round_trip(messages: list[tuple[str, int, str]]) -> None:
    """GIVEN messages written the way Android en-GB writes them (one dated line each, a day above 12 present)
    WHEN parsed THEN every one comes back with its sender, minute and text, in order."""
    start = datetime(2026, 1, 13, 12, 0, tzinfo=UTC)  # January: GMT, so local time is UTC
    lines, expected = [], []
    for i, (sender, minutes, text) in enumerate(messages):
        when = start + timedelta(minutes=minutes + i)
        if text.startswith(tuple("0123456789[")) or "\n" in text or "\r" in text:
            continue
        lines.append(f"{when:%d/%m/%Y, %H:%M} - {sender}: {text}")
        expected.append((sender, when, text))
    records = run("WhatsApp Chat with Liam Carter.txt", ("\n".join(lines) + "\n").encode("utf-8"))
    got = [(m.sender_name, m.timestamp.utc, m.text) for m in records if isinstance(m, Message)]
    assert got == expected
