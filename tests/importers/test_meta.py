"""Instagram / Facebook Messenger importer: mojibake repair, platform choice, who is "me", media, hostile JSON."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from tests.fakes import DictFiles

from safetrail.errors import HostileInput, ParseError
from safetrail.importers.base import Limits, ParseContext, Probe
from safetrail.importers.meta import MetaImporter, decide_platform, repair_mojibake
from safetrail.importers.registry import open_records
from safetrail.importers.telegram import TelegramImporter
from safetrail.model import EventKind, Message, MessageKind, ParseWarning, Source, TimestampKind

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = (ROOT / "src" / "safetrail" / "samples" / "case" / "instagram" / "messages" / "inbox" / "liamc2026_10234"
          / "message_1.json")
GOLDEN = ROOT / "tests" / "golden" / "meta"


DEFAULT_LIMITS = Limits()


def ctx(related: DictFiles | None = None, limits: Limits = DEFAULT_LIMITS) -> ParseContext:
    return ParseContext(source=Source(sha256="cd" * 32, size=0, name="message_1.json"), tz=ZoneInfo("Europe/London"),
                        related=related, limits=limits)


def mojibake(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8").decode("latin-1")
    if isinstance(value, list):
        return [mojibake(v) for v in value]
    if isinstance(value, dict):
        return {k: mojibake(v) for k, v in value.items()}
    return value


def meta(doc: dict[str, Any]) -> bytes:
    return json.dumps(mojibake(doc), indent=2).encode("ascii")


def parse(data: bytes, context: ParseContext | None = None) -> tuple[list[Message], list[ParseWarning]]:
    records = list(MetaImporter().parse(io.BytesIO(data), context or ctx()))
    return ([r for r in records if isinstance(r, Message)], [r for r in records if isinstance(r, ParseWarning)])


def thread(messages: list[Any], participants: tuple[str, ...] = ("Liam", "Priya Shah"),
           title: str = "Liam", **extra: Any) -> dict[str, Any]:
    return {"participants": [{"name": p} for p in participants], "messages": messages, "title": title,
            "is_still_participant": True, "thread_path": "inbox/liam_123", **extra}


def m(sender: str = "Liam", ms: Any = 1774124047312, **fields: Any) -> dict[str, Any]:
    return {"sender_name": sender, "timestamp_ms": ms, **fields}


# ----- mojibake -----

@pytest.mark.parametrize(("stored", "shown"), [
    ("\u00f0\u009f\u0091\u008b", "\U0001F44B"),
    ("Caf\u00c3\u00a9 \u00e2\u0080\u0099", "Caf\u00e9 \u2019"),
    ("\u00c2\u00a34.20", "\u00a34.20"),
    ("plain ascii", "plain ascii"),
])
def test_mojibake_is_repaired(stored: str, shown: str) -> None:
    """GIVEN text stored as one Latin-1 character per UTF-8 byte WHEN repaired THEN it reads as written."""
    assert repair_mojibake(stored) == shown


@pytest.mark.parametrize("genuine", ["caf\u00e9", "Zo\u00eb", "na\u00efve \u00a35", "\U0001F44B hi", "\u00c3 alone",
                                     "\u0141\u00f3d\u017a"])
def test_genuine_non_ascii_text_is_left_alone(genuine: str) -> None:
    """GIVEN genuine accented or emoji text (not mojibake) WHEN repaired THEN it is unchanged (round-trip guard)."""
    assert repair_mojibake(genuine) == genuine


def test_raw_keeps_the_mojibake_and_text_names_reactions_are_repaired() -> None:
    """GIVEN a message, sender and reaction with mojibake WHEN parsed THEN raw is as stored, the rest repaired."""
    doc = thread([m("Zo\u00eb", content="Caf\u00e9? \u2615",
                    reactions=[{"reaction": "\u2764\ufe0f", "actor": "Tom\u00e1s"}])],
                 participants=("Zo\u00eb", "Tom\u00e1s"), title="Zo\u00eb")
    messages, _ = parse(meta(doc))
    assert messages[0].raw == "Caf\u00c3\u00a9? \u00e2\u0098\u0095"
    assert messages[0].text == "Caf\u00e9? \u2615"
    assert messages[0].sender_name == "Zo\u00eb" and messages[0].conversation == "Zo\u00eb (liam_123)"
    reaction = messages[0].events[0]
    assert (reaction.kind, reaction.actor, reaction.detail) == (EventKind.REACTION, "Tom\u00e1s", "\u2764\ufe0f")


# ----- sniffing and platform -----

def test_sniff_scores() -> None:
    """GIVEN Meta, E2EE, Telegram and other heads WHEN sniffed THEN only Meta's shapes score, the name helps."""
    classic = meta(thread([m(content="hi")]))[:65536]
    e2ee = json.dumps({"participants": ["A", "B"], "threadName": "B",
                       "messages": [{"senderName": "B", "text": "x", "timestamp": 1}]}).encode()
    importer = MetaImporter()
    assert importer.sniff(Probe("message_1.json", classic)) == pytest.approx(0.95)
    assert importer.sniff(Probe("thread.json", classic)) == pytest.approx(0.85)
    assert importer.sniff(Probe("b_1.json", e2ee)) == pytest.approx(0.8)
    assert importer.sniff(Probe("result.json", b'{"name": "L", "messages": []}')) == 0.0
    assert importer.sniff(Probe("message_1.json", b"not json")) == 0.0
    assert TelegramImporter().sniff(Probe("message_1.json", classic)) == 0.0


@pytest.mark.parametrize(("doc", "platform", "sure"), [
    (thread([m(photos=[{"uri": "your_instagram_activity/messages/inbox/liam_123/photos/1.jpg"}])]), "instagram", True),
    (thread([m(photos=[{"uri": "your_facebook_activity/messages/inbox/liam_123/photos/1.jpg"}])]), "facebook", True),
    (thread([m(share={"link": "https://www.instagram.com/p/abc/"})]), "instagram", True),
    (thread([m(share={"link": "https://www.facebook.com/events/1/"})]), "facebook", True),
    (thread([m(content="Liked a message")]), "instagram", True),
    (thread([m(content="x", type="Generic")], thread_type="Regular"), "facebook", True),
    (thread([m(content="x")], participants=("liam.c.2026", "priya_s"), title="liam.c.2026"), "instagram", False),
    (thread([m(content="x")]), "facebook", False),
])
def test_platform_is_decided_from_what_the_file_holds(doc: dict[str, Any], platform: str, sure: bool) -> None:
    """GIVEN files with different signs of origin WHEN judged THEN the platform follows the strongest sign, and a
    guess says it is one."""
    decided, doubt = decide_platform(doc)
    assert decided == platform
    assert (doubt is None) == sure


# ----- who is me -----

def test_the_participant_who_is_not_the_title_is_the_exporter() -> None:
    """GIVEN a two-person thread titled after the other side WHEN parsed THEN from_me marks the exporter."""
    messages, warnings = parse(meta(thread([m("Priya Shah", content="no"), m("Liam", content="yes")])))
    assert [x.from_me for x in messages] == [True, False]
    assert [p.name for p in messages[0].recipients] == ["Liam"]
    assert not any("cannot tell which one is you" in w.reason for w in warnings)


def test_group_threads_ask_who_is_me_once() -> None:
    """GIVEN a thread with three participants WHEN parsed THEN from_me is None with exactly one warning."""
    doc = thread([m("A", content="1"), m("B", content="2")], participants=("A", "B", "C"), title="Group")
    messages, warnings = parse(meta(doc))
    assert [x.from_me for x in messages] == [None, None]
    assert sum("cannot tell which one is you" in w.reason for w in warnings) == 1


# ----- message shapes -----

def test_newest_first_order_and_index_locators_are_kept() -> None:
    """GIVEN messages newest first WHEN parsed THEN they come out in file order with index locators."""
    messages, _ = parse(meta(thread([m(ms=3000, content="c"), m(ms=2000, content="b"), m(ms=1000, content="a")])))
    assert [x.text for x in messages] == ["c", "b", "a"]
    assert [x.locator for x in messages] == [f"message_1.json#/messages/{i}" for i in range(3)]
    assert messages[0].timestamp.kind is TimestampKind.ABSOLUTE and messages[0].timestamp.as_written == "3000"


def test_share_call_unsent_and_subscribe() -> None:
    """GIVEN a share, a call, a missed call, an unsent message and a Subscribe WHEN parsed THEN each maps as
    documented: link and shared text on their own lines, CALL with duration, UNSENT event, SYSTEM line."""
    doc = thread([
        m(content="look", share={"link": "https://www.instagram.com/p/x/", "share_text": "Caf\u00e9 brunch",
                                 "original_content_owner": "priya.art"}),
        m(content="Liam called you.", call_duration=754, type="Call"),
        m(call_duration=0, missed=True),
        m(is_unsent=True),
        m(type="Subscribe", users=[{"name": "Ffion"}]),
    ])
    share, call, missed, unsent, subscribe = parse(meta(doc))[0]
    assert share.text == "look\nCaf\u00e9 brunch\nhttps://www.instagram.com/p/x/" and share.raw == "look"
    assert share.forwarded_from == "priya.art"
    assert (call.kind, call.text) == (MessageKind.CALL, "Liam called you.\nCall, 12 min 34 s")
    assert (missed.kind, missed.text) == (MessageKind.CALL, "Missed call")
    assert unsent.deleted and unsent.events[0].kind is EventKind.UNSENT and unsent.events[0].actor == "Liam"
    assert (subscribe.kind, subscribe.text) == (MessageKind.SYSTEM, "Liam added Ffion")


def test_encrypted_chats_download_is_read_without_mojibake_repair() -> None:
    """GIVEN Messenger's camelCase encrypted-chats download WHEN parsed THEN it is Facebook, text is as stored."""
    doc = {"participants": ["Priya Shah", "Liam"], "threadName": "Liam", "messages": [
        {"isUnsent": False, "media": [{"uri": "./media/1.jpg"}], "reactions": [{"reactor": "Priya Shah",
                                                                                 "reaction": "\U0001F621"}],
         "senderName": "Liam", "text": "caf\u00e9 \u00c3", "timestamp": 1772500360250, "type": "Generic"},
        {"isUnsent": True, "media": [], "reactions": [], "senderName": "Liam", "text": "", "timestamp": 1772500360999,
         "type": "Generic"}]}
    related = DictFiles({"media/1.jpg": b"\xff\xd8\xff\xdb"})
    messages, warnings = parse(json.dumps(doc, ensure_ascii=False).encode(), ctx(related))
    first, second = messages
    assert (first.platform, first.text, first.raw, first.from_me) == ("facebook", "caf\u00e9 \u00c3",
                                                                     "caf\u00e9 \u00c3", False)
    assert first.attachments[0].data == b"\xff\xd8\xff\xdb" and first.attachments[0].media_type == "image/jpeg"
    assert (first.events[0].actor, first.events[0].detail) == ("Priya Shah", "\U0001F621")
    assert second.deleted
    assert warnings == []


# ----- media -----

def test_media_uris_are_resolved_from_the_thread_folder_down() -> None:
    """GIVEN uris rooted at the export root WHEN parsed beside the thread's folder THEN the part after the thread
    folder is read first, and nothing outside is asked for."""
    related = DictFiles({"photos/1.jpg": b"GIF89a..", "audio/2.mp4": b"...."})
    doc = thread([m(photos=[{"uri": "your_instagram_activity/messages/inbox/liam_123/photos/1.jpg"}],
                    audio_files=[{"uri": "messages/inbox/elsewhere_9/audio/2.mp4"}])])
    messages, warnings = parse(meta(doc), ctx(related))
    photo, audio = messages[0].attachments
    assert related.asked[0] == "photos/1.jpg"
    assert (photo.locator, photo.media_type, photo.omitted) == ("photos/1.jpg", "image/gif", False)
    assert (audio.locator, audio.omitted) == ("audio/2.mp4", False)
    assert warnings == []


@pytest.mark.parametrize(("uri", "why"), [("../../../etc/passwd", "outside the export folder"),
                                          ("/etc/passwd", "outside the export folder"),
                                          ("https://cdn.example.com/x.jpg", "does not download"),
                                          ("messages/stickers_used/s.png", "not found beside")])
def test_media_that_cannot_be_read_safely_is_noted(uri: str, why: str) -> None:
    """GIVEN traversal, absolute, remote and out-of-folder uris WHEN parsed THEN they are omitted with a warning,
    and traversal or remote ones are never asked for."""
    related = DictFiles({})
    messages, warnings = parse(meta(thread([m(sticker={"uri": uri})])), ctx(related))
    assert messages[0].attachments[0].omitted
    assert any(why in w.reason for w in warnings)
    assert all(".." not in a and not a.startswith("/") and "://" not in a for a in related.asked)


# ----- hostile and broken JSON -----

def test_invalid_json_names_line_and_column() -> None:
    """GIVEN a message file with a stray comma WHEN parsed THEN ParseError gives the file, line and column."""
    data = b'{\n  "participants": [],\n  "messages": [\n    {"sender_name": "A",}\n  ]\n}'
    with pytest.raises(ParseError, match=r"message_1\.json: this is not valid JSON .*line 4, column 25"):
        parse(data)


def test_invalid_utf8_names_line_and_column() -> None:
    """GIVEN a byte that is not UTF-8 on line 2 WHEN parsed THEN ParseError gives line and column."""
    with pytest.raises(ParseError, match=r"not valid UTF-8.*line 2, column 4"):
        parse(b'{\n  "\xc3(": 1}')


def test_deep_nesting_is_hostile() -> None:
    """GIVEN JSON nested 70 and 100,000 levels deep WHEN parsed THEN HostileInput both times."""
    for depth in (70, 100_000):
        with pytest.raises(HostileInput):
            parse(b'{"participants": [], "messages": ' + b"[" * depth + b"]" * depth + b"}")


def test_a_document_over_the_size_limit_is_hostile() -> None:
    """GIVEN a file larger than max_json_bytes WHEN parsed THEN HostileInput before decoding it."""
    with pytest.raises(HostileInput, match="larger than"):
        parse(meta(thread([m(content="x" * 3000)])), ctx(limits=Limits(max_json_bytes=2048)))


@pytest.mark.parametrize(("data", "match"), [
    (b"[1, 2]", "does not hold a JSON object"),
    (b'{"participants": []}', "no list of messages"),
    (b'{"participants": [], "participants": [], "messages": []}', "appears twice"),
    (b'{"messages": [{"timestamp_ms": Infinity}]}', "Infinity"),
    (b"", "not valid JSON"),
])
def test_malformed_files_are_parse_errors(data: bytes, match: str) -> None:
    """GIVEN a non-object, no messages, duplicate keys, Infinity or nothing WHEN parsed THEN ParseError."""
    with pytest.raises(ParseError, match=match):
        parse(data)


def test_bad_records_are_warnings_not_crashes() -> None:
    """GIVEN records of the wrong type or with unreadable times WHEN parsed THEN each is a warning at its index."""
    doc = thread([7, m(ms="soon", content="x"), m(content=["not", "text"]), m(content="ok")])
    messages, warnings = parse(meta(doc))
    assert [x.locator for x in messages] == ["message_1.json#/messages/2", "message_1.json#/messages/3"]
    assert [w.locator for w in warnings if w.locator.endswith(("/0", "/1", "/2"))] == [
        "message_1.json#/messages/0", "message_1.json#/messages/1", "message_1.json#/messages/2"]


# ----- sample case -----

def test_sample_case_instagram_thread_parses_cleanly() -> None:
    """GIVEN the embedded sample case's Instagram thread WHEN imported through the registry THEN it is read as
    Instagram with no warnings, emoji repaired, his threat, reactions, share and unsent message all present."""
    opened = open_records(SAMPLE, tz="Europe/London")
    records = list(opened.records)
    assert opened.registered.name == "meta"
    assert [r for r in records if isinstance(r, ParseWarning)] == []
    messages = [r for r in records if isinstance(r, Message)]
    assert 15 <= len(messages) <= 40
    assert all(x.platform == "instagram" for x in messages)
    assert messages[0].timestamp.utc > messages[-1].timestamp.utc  # newest first, as Meta writes it
    first, last = messages[-1].timestamp.utc.date().isoformat(), messages[0].timestamp.utc.date().isoformat()
    assert (first, last) == ("2026-03-21", "2026-04-05")
    assert all("\u00f0" not in x.text for x in messages) and any("\u00f0" in x.raw for x in messages)
    his = [x for x in messages if x.from_me is False]
    assert all(x.sender_name == "liam.c.2026" for x in his)
    texts = [x.text for x in messages]
    assert sum(t == "answer me Priya" for t in texts) >= 2
    assert sum("you can't ignore me forever" in t.lower() for t in texts) >= 2
    assert any("\u2014 L" in t for t in texts)
    assert any("The private ones" in t for t in texts) and any("Everyone you follow" in t for t in texts)
    reactions = [e for x in messages if x.from_me for e in x.events if e.kind is EventKind.REACTION]
    assert len(reactions) >= 2 and all(e.actor == "liam.c.2026" for e in reactions)
    assert any(x.forwarded_from and "instagram.com" in x.text for x in messages)
    assert any(x.deleted for x in messages)


def test_every_meta_golden_fixture_is_claimed_by_meta() -> None:
    """GIVEN each Meta golden fixture WHEN sniffed THEN Meta scores above every other importer seen here."""
    for path in GOLDEN.rglob("*.json"):
        if path.name.endswith((".golden.json", ".options.json")):
            continue
        head = path.read_bytes()[:65536]
        assert MetaImporter().sniff(Probe(path.name, head)) > TelegramImporter().sniff(Probe(path.name, head))
