"""The PDF report's layout holds for long cases: a long run of marked messages flows onto the next pages."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from safetrail.model import Flag, Message, Participant, Precision, Timestamp, TimestampKind
from safetrail.reports.pdf import render_pdf

START = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)


def _report(count: int) -> dict[str, object]:
    messages = [Message(source_sha256="a" * 64, locator=f"chat.txt#L{i}", platform="test", conversation="Liam",
                        timestamp=Timestamp(START + timedelta(minutes=i), TimestampKind.ABSOLUTE, Precision.MINUTE),
                        sender=Participant(name="Liam"), from_me=False, text=f"row {i:03d} answer me", raw="")
                for i in range(count)]
    flags = [Flag(message_id=m.id, category="coercion_control", score=0.9, evidence=m.text, model_version="t")
             for m in messages]
    return {"title": "Layout check", "tz": ZoneInfo("Europe/London"), "messages": messages, "refs": {"a" * 64: "X/1"},
            "generated_at": START, "run": None, "flags": flags, "findings": [], "exhibits": [], "warnings": [],
            "custody": [], "merkle_root": "", "bag": "layout-check"}


def test_a_block_longer_than_a_page_flows_onto_the_next_page(tmp_path: Path) -> None:
    """GIVEN 120 consecutive marked messages (one merged block, taller than a page) WHEN rendered THEN every row
    appears exactly once and the last row is on a later page than the first (rows were once printed over each
    other at the foot of the page)."""
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(render_pdf(_report(120)))
    pages = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                           check=True).stdout.split("\f")
    section = next(i for i, p in enumerate(pages) if "Messages marked for attention, with context" in p)
    first = next(i for i, p in enumerate(pages) if i >= section and "row 000" in p)
    last = next(i for i, p in enumerate(pages) if i >= section and "row 119" in p)
    assert last > first
    marked = "".join(pages[section:])
    assert all(f"row {i:03d}" in marked for i in range(120))
