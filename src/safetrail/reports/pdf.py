"""The evidence report as a PDF, rendered by typst from a template shipped in the package.

The data reaches typst as JSON through ``sys.inputs`` and is placed as text, never evaluated as markup, so a
message cannot inject formatting or code into the report. Only typst's embedded fonts are used, so the same
data gives the same PDF on every machine. This module never reads the vault: it renders what it is given.
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import regex
import typst

from safetrail import __version__
from safetrail.errors import PackError
from safetrail.model import Message, TimestampKind
from safetrail.reports.context import local_time_text

__all__ = ["MAX_TIMELINE_ROWS", "render_pdf"]

TEMPLATE = Path(__file__).resolve().parent / "templates" / "report.typ"
MAX_TIMELINE_ROWS = 5000
MAX_TEXT = 600
CONTEXT = 3
MAX_FLAGGED = 150

CATEGORY_LABELS = {
    "insult": "insults", "threat": "threats", "sexual_harassment": "unwanted sexual messages",
    "identity_hate": "hate about who someone is", "stalking_surveillance": "watching or following",
    "coercion_control": "pressure or control", "blackmail_sextortion": "blackmail or threats to share images",
    "doxxing": "sharing private details", "self_harm_incitement": "urging self-harm",
    "refusal": "asking for contact to stop",
}


_PICTOGRAPH = regex.compile(r"\p{Extended_Pictographic}|[\U0001F1E6-\U0001F1FF]")
_EMOJI_JOINERS = regex.compile(r"[\u200d\ufe0e\ufe0f\U0001F3FB-\U0001F3FF]")


def _printable(text: str) -> str:
    """Emoji named in words (``[pouting face]``): the report's fonts have no emoji, and a name reads unambiguously
    on paper. The exact characters stay in messages.jsonl and messages.csv."""
    named = _PICTOGRAPH.sub(lambda m: f"[{unicodedata.name(m.group(), 'emoji').lower()}]", text)
    return str(_EMOJI_JOINERS.sub("", named))


def _short(text: str) -> str:
    text = _printable(text)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + " … (full text in messages.csv)"


def _row(m: Message, tz: ZoneInfo, refs: dict[str, str], categories: list[str] | None = None) -> dict[str, Any]:
    body = m.text
    if m.deleted:
        body = (body + " " if body else "") + "[deleted by sender]"
    if m.edited:
        body += " [edited]"
    if m.attachments:
        body += "".join(f" [attachment: {a.name}{' — not included in the export' if a.omitted else ''}]"
                        for a in m.attachments)
    return {
        "time": local_time_text(m.timestamp.utc, tz),
        "assumed": m.timestamp.kind is TimestampKind.LOCAL_ASSUMED,
        "sender": _printable(m.sender_name) or "(system)", "kind": m.kind.value, "platform": m.platform,
        "text": _short(body), "exhibit": refs.get(m.source_sha256, ""), "id": m.id[:8],
        "categories": [CATEGORY_LABELS.get(c, c) for c in (categories or [])],
    }


def _flagged_blocks(messages: list[Message], flags: list[Any], tz: ZoneInfo,
                    refs: dict[str, str]) -> list[dict[str, Any]]:
    """Marked messages with up to three messages either side; overlapping windows are merged into one block."""
    by_id: dict[str, list[str]] = defaultdict(list)
    for f in flags:
        if f.category != "refusal":
            by_id[f.message_id].append(f.category)
    by_conv: dict[str, list[Message]] = defaultdict(list)
    for m in messages:
        by_conv[m.conversation].append(m)
    blocks: list[dict[str, Any]] = []
    for conversation, conv in by_conv.items():
        # The user's own words are context, never marked as harmful.
        marked = [i for i, m in enumerate(conv) if m.id in by_id and m.from_me is not True]
        spans: list[list[int]] = []
        for i in marked:
            lo, hi = max(0, i - CONTEXT), min(len(conv), i + CONTEXT + 1)
            if spans and lo <= spans[-1][1]:
                spans[-1][1] = hi
            else:
                spans.append([lo, hi])
        for lo, hi in spans:
            if len(blocks) >= MAX_FLAGGED:
                break
            rows = []
            for c in conv[lo:hi]:
                focus = c.id in by_id and c.from_me is not True
                rows.append(dict(_row(c, tz, refs, by_id[c.id] if focus else None), focus=focus))
            cats = sorted({cat for r in rows for cat in r["categories"]})
            blocks.append({"conversation": conversation, "exhibit": rows[0]["exhibit"], "categories": cats,
                           "context": rows})
    return blocks


def build_report_data(report: dict[str, Any]) -> dict[str, Any]:
    tz: ZoneInfo = report["tz"]
    messages: list[Message] = report["messages"]
    refs: dict[str, str] = report["refs"]
    senders = Counter(m.sender_name for m in messages if m.sender)
    first_last: dict[str, list[datetime]] = {}
    for m in messages:
        if m.sender:
            span = first_last.setdefault(m.sender_name, [m.timestamp.utc, m.timestamp.utc])
            span[0], span[1] = min(span[0], m.timestamp.utc), max(span[1], m.timestamp.utc)
    generated: datetime = report["generated_at"]
    run = report.get("run")
    flagged_ids = {f.message_id for f in report["flags"] if f.category != "refusal"}
    return {
        "title": report["title"],
        "tool": f"safetrail {__version__}",
        "generated": local_time_text(generated, tz, seconds=False),
        "zone": tz.key,
        "summary": {
            "messages": len(messages),
            "conversations": len({(m.platform, m.conversation) for m in messages}),
            "people": len(senders),
            "platforms": sorted({m.platform for m in messages}),
            "first": local_time_text(messages[0].timestamp.utc, tz, seconds=False) if messages else "",
            "last": local_time_text(messages[-1].timestamp.utc, tz, seconds=False) if messages else "",
            "exhibits": len(report["exhibits"]),
            "warnings": len(report["warnings"]),
            "flagged": len(flagged_ids),
            "assumed_times": sum(m.timestamp.kind is TimestampKind.LOCAL_ASSUMED for m in messages),
        },
        "senders": [{"name": _printable(name), "count": n,
                     "first": local_time_text(first_last[name][0], tz, seconds=False),
                     "last": local_time_text(first_last[name][1], tz, seconds=False)}
                    for name, n in senders.most_common()],
        "analysis": {"model_version": run["model_version"]} if run else None,
        "findings": [{"kind": f.kind.replace("_", " "), "conversation": f.conversation, "summary": f.summary,
                      "count": len(f.message_ids)} for f in report["findings"]],
        "flagged": _flagged_blocks(messages, report["flags"], tz, refs),
        "timeline": [_row(m, tz, refs) for m in messages[:MAX_TIMELINE_ROWS]],
        "timeline_truncated": max(0, len(messages) - MAX_TIMELINE_ROWS),
        "exhibits": [{"ref": e["ref"], "name": e["name"], "sha256": e["sha256"], "size": e["size"],
                      "importer": f"{e['importer']} {e['importer_version']}", "messages": e["messages"],
                      "path": e["path"]} for e in report["exhibits"]],
        "warnings": [{"source": s, "locator": loc, "reason": r} for s, loc, r in report["warnings"][:200]],
        "warnings_truncated": max(0, len(report["warnings"]) - 200),
        "custody": {"entries": len(report["custody"]), "root": report["merkle_root"],
                    "head": report["custody"][-1].entry_hash if report["custody"] else ""},
        "bag": report["bag"],
    }


def render_pdf(report: dict[str, Any]) -> bytes:
    data = json.dumps(build_report_data(report), ensure_ascii=False)
    try:
        pdf = typst.compile(TEMPLATE, sys_inputs={"data": data}, ignore_system_fonts=True,
                            timestamp=report["generated_at"].replace(microsecond=0))
    except (typst.TypstError, RuntimeError) as exc:
        raise PackError(f"the PDF report could not be rendered ({exc})") from exc
    assert isinstance(pdf, bytes)
    return pdf
