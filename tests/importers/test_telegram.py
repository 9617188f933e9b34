"""Telegram Desktop JSON importer: sniffing, who is "me", text and service messages, media, hostile JSON."""

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
from safetrail.importers.jsonread import JsonStream
from safetrail.importers.meta import MetaImporter
from safetrail.importers.registry import DirectoryFiles, open_records
from safetrail.importers.telegram import TelegramImporter
from safetrail.model import EventKind, Message, MessageKind, ParseWarning, Source, TimestampKind

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "src" / "safetrail" / "samples" / "case" / "telegram" / "result.json"
GOLDEN = ROOT / "tests" / "golden" / "telegram"


DEFAULT_LIMITS = Limits()


def ctx(name: str = "result.json", related: DictFiles | None = None, limits: Limits = DEFAULT_LIMITS,
        tz: str = "Europe/London") -> ParseContext:
    return ParseContext(source=Source(sha256="ab" * 32, size=0, name=name), tz=ZoneInfo(tz), related=related,
                        limits=limits)


def tg(doc: Any) -> bytes:
    return json.dumps(doc, indent=1, ensure_ascii=False).encode("utf-8")


def parse(data: bytes, context: ParseContext | None = None) -> tuple[list[Message], list[ParseWarning]]:
    records = list(TelegramImporter().parse(io.BytesIO(data), context or ctx()))
    return ([r for r in records if isinstance(r, Message)], [r for r in records if isinstance(r, ParseWarning)])


def msg(mid: int, sender: str, sender_id: str, text: Any = "hi", **extra: Any) -> dict[str, Any]:
    return {"id": mid, "type": "message", "date": "2026-03-02T21:47:12", "date_unixtime": "1772488032",
            "from": sender, "from_id": sender_id, **extra, "text": text}


def single(messages: list[dict[str, Any]], chat_type: str = "personal_chat") -> bytes:
    return tg({"name": "L", "type": chat_type, "id": 5550002, "messages": messages})


# ----- sniffing -----

def test_sniff_is_sure_of_a_named_single_chat_export() -> None:
    """GIVEN the head of a single-chat result.json WHEN sniffed THEN Telegram claims it and Meta does not."""
    head = (GOLDEN / "single_chat.dir" / "result.json").read_bytes()[:65536]
    assert TelegramImporter().sniff(Probe("result.json", head)) == pytest.approx(0.95)
    assert TelegramImporter().sniff(Probe("renamed.json", head)) == pytest.approx(0.85)
    assert MetaImporter().sniff(Probe("result.json", head)) == 0.0


def test_sniff_recognises_an_account_export_whose_head_is_only_account_data() -> None:
    """GIVEN a full export head holding only personal_information WHEN sniffed THEN it is a likely match."""
    head = b'{\n "about": "Here is the data you requested.",\n "personal_information": {\n  "user_id": 1\n }'
    assert TelegramImporter().sniff(Probe("result.json", head)) == pytest.approx(0.7)


@pytest.mark.parametrize("head", [b"", b"[1,2]", b'{"participants": [], "messages": []}', b"\x89PNG\r\n",
                                  b'{"messages": [{"timestamp": 1}]}'])
def test_sniff_declines_other_files(head: bytes) -> None:
    """GIVEN heads of other files WHEN sniffed under another name THEN Telegram does not claim them."""
    assert TelegramImporter().sniff(Probe("data.json", head)) == 0.0


# ----- who is me, text, service messages -----

def test_single_personal_chat_tells_the_exporter_by_the_chat_id() -> None:
    """GIVEN a personal chat named after the other side WHEN parsed THEN only the other senders are from_me."""
    messages, warnings = parse(single([msg(1, "L", "user5550002"), msg(2, "Priya Shah", "user5550461")]))
    assert [m.from_me for m in messages] == [False, True]
    assert messages[0].conversation == "L (5550002)"
    assert messages[0].locator == "result.json#/messages/0" and messages[1].locator == "result.json#/messages/1"
    assert warnings == []


def test_single_group_export_does_not_guess_who_is_me() -> None:
    """GIVEN a group chat export WHEN parsed THEN from_me is None and one warning asks the user."""
    messages, warnings = parse(single([msg(1, "A", "user1"), msg(2, "B", "user2")], chat_type="private_group"))
    assert [m.from_me for m in messages] == [None, None]
    assert len(warnings) == 1 and "which sender is you" in warnings[0].reason


def test_full_export_uses_personal_information_and_chat_list_locators() -> None:
    """GIVEN an account export WHEN parsed THEN from_me follows personal_information.user_id."""
    doc = {"about": "x", "personal_information": {"user_id": 42, "first_name": "Me"},
           "chats": {"about": "", "list": [{"name": "K", "type": "personal_chat", "id": 7,
                                             "messages": [msg(1, "K", "user7"), msg(2, "Me", "user42")]}]},
           "left_chats": {"about": "", "list": [{"name": "Old group", "type": "private_supergroup", "id": 9,
                                                  "messages": [msg(5, "Me", "user42")]}]}}
    messages, warnings = parse(tg(doc))
    assert [m.from_me for m in messages] == [False, True, True]
    assert [m.locator for m in messages] == ["result.json#/chats/list/0/messages/0",
                                             "result.json#/chats/list/0/messages/1",
                                             "result.json#/left_chats/list/0/messages/0"]
    assert warnings == []


def test_full_export_without_personal_information_warns_once() -> None:
    """GIVEN an account export with no personal_information WHEN parsed THEN from_me is None, warned once."""
    chats = [{"name": f"C{i}", "type": "personal_chat", "id": i, "messages": [msg(1, "X", "user3")]}
             for i in range(3)]
    messages, warnings = parse(tg({"about": "x", "chats": {"about": "", "list": chats}}))
    assert [m.from_me for m in messages] == [None, None, None]
    assert len(warnings) == 1


def test_entities_join_into_visible_text_and_raw_keeps_the_list() -> None:
    """GIVEN text as a list of strings and entities WHEN parsed THEN text joins them and raw is compact JSON."""
    text = ["Meet at ", {"type": "text_link", "text": "the café", "href": "https://example.com/c"}, " \U0001F642"]
    messages, _ = parse(single([msg(1, "L", "user5550002", text)]))
    assert messages[0].text == "Meet at the café \U0001F642"
    assert messages[0].raw == ('["Meet at ",{"type":"text_link","text":"the café","href":"https://example.com/c"},'
                               '" \U0001F642"]')
    assert json.loads(messages[0].raw) == text


@pytest.mark.parametrize(("reason", "seconds", "expected"), [
    ("missed", None, "Missed call"), ("busy", None, "Declined call"),
    ("hangup", 3725, "Call, 1 h 2 min 5 s (ended: hangup)"), ("disconnect", 9, "Call, 9 s (ended: disconnect)")])
def test_phone_calls_become_call_messages(reason: str, seconds: int | None, expected: str) -> None:
    """GIVEN a phone_call service record WHEN parsed THEN it is a CALL whose text gives duration and reason."""
    rec: dict[str, Any] = {"id": 3, "type": "service", "date": "2026-03-04T22:40:18", "date_unixtime": "1772664018",
                           "actor": "L", "actor_id": "user5550002", "action": "phone_call",
                           "discard_reason": reason, "text": ""}
    if seconds is not None:
        rec["duration_seconds"] = seconds
    messages, _ = parse(single([rec]))
    assert messages[0].kind is MessageKind.CALL
    assert messages[0].text == expected
    assert json.loads(messages[0].raw)["action"] == "phone_call"
    assert messages[0].sender is not None and messages[0].sender.platform_id == "user5550002"


def test_other_service_actions_are_system_lines() -> None:
    """GIVEN invite and unknown service actions WHEN parsed THEN they are SYSTEM lines naming the actor."""
    recs = [{"id": 1, "type": "service", "date_unixtime": "1772664018", "actor": "A", "actor_id": "user1",
             "action": "invite_members", "members": ["B", None], "text": ""},
            {"id": 2, "type": "service", "date_unixtime": "1772664019", "actor": "A", "actor_id": "user1",
             "action": "brand_new_action", "text": ""}]
    messages, _ = parse(single(recs, chat_type="private_group"))
    assert [m.kind for m in messages] == [MessageKind.SYSTEM, MessageKind.SYSTEM]
    assert messages[0].text == "A added B, a deleted account"
    assert messages[1].text == "A: brand_new_action"


def test_edits_replies_forwards_and_reactions_are_kept() -> None:
    """GIVEN an edited reply that was forwarded and reacted to WHEN parsed THEN each fact is on the message."""
    rec = msg(9, "L", "user5550002", "x", edited="2026-03-02T21:50:00", edited_unixtime="1772488200",
              forwarded_from="Someone", reply_to_message_id=4,
              reactions=[{"type": "emoji", "count": 3, "emoji": "\U0001F602",
                          "recent": [{"from": "Priya Shah", "from_id": "user5550461", "date": "2026-03-02T22:00:00"}]},
                         {"type": "emoji", "count": 2, "emoji": "\u2764"}])
    m = parse(single([rec]))[0][0]
    assert (m.reply_to, m.forwarded_from, m.platform_id) == ("4", "Someone", "9")
    edited = [e for e in m.events if e.kind is EventKind.EDITED]
    assert edited[0].timestamp is not None and edited[0].timestamp.iso() == "2026-03-02T21:50:00Z"
    reactions = [(e.actor, e.detail) for e in m.events if e.kind is EventKind.REACTION]
    assert reactions == [("Priya Shah", "\U0001F602"), (None, "\u2764 \u00d72")]


def test_wall_clock_date_is_local_assumed_in_the_given_zone() -> None:
    """GIVEN an older export with only ``date`` WHEN parsed in Europe/London THEN the time is local-assumed BST."""
    rec = {"id": 1, "type": "message", "date": "2026-06-01T12:00:00", "from": "L", "from_id": "user5550002",
           "text": "x"}
    m = parse(single([rec]))[0][0]
    assert m.timestamp.kind is TimestampKind.LOCAL_ASSUMED and m.timestamp.zone == "Europe/London"
    assert m.timestamp.iso() == "2026-06-01T11:00:00Z" and m.timestamp.as_written == "2026-06-01T12:00:00"


def test_a_repeated_wall_clock_hour_is_flagged() -> None:
    """GIVEN a local time in the hour repeated when clocks go back WHEN parsed THEN a warning says so."""
    rec = {"id": 1, "type": "message", "date": "2026-10-25T01:30:00", "from": "L", "from_id": "user5550002",
           "text": "x"}
    messages, warnings = parse(single([rec]))
    assert len(messages) == 1
    assert len(warnings) == 1 and "clock change" in warnings[0].reason


def test_unreadable_records_are_skipped_with_warnings() -> None:
    """GIVEN an entry that is not an object, one without a date and an 'unsupported' one WHEN parsed THEN each
    is a warning at its own locator and the good message still comes through."""
    recs: list[Any] = [42, {"id": 2, "type": "message", "text": "no date"}, {"id": 3, "type": "unsupported"},
                       msg(4, "L", "user5550002")]
    messages, warnings = parse(single(recs))
    assert [m.locator for m in messages] == ["result.json#/messages/3"]
    assert [w.locator for w in warnings] == [f"result.json#/messages/{i}" for i in range(3)]


def test_an_export_with_no_messages_says_so() -> None:
    """GIVEN an account export with no chats WHEN parsed THEN one warning says it holds no messages."""
    messages, warnings = parse(tg({"about": "x", "personal_information": {"user_id": 1}}))
    assert messages == [] and len(warnings) == 1


# ----- media -----

def test_media_is_read_beside_the_export_or_noted_as_missing() -> None:
    """GIVEN a present photo, a missing voice note and a file left out by the export settings WHEN parsed
    THEN the photo has its bytes, the voice note is omitted with a warning, the left-out file without one."""
    related = DictFiles({"photos/p.jpg": b"\xff\xd8\xff\xe0jpeg"})
    recs = [msg(1, "L", "user5550002", "", photo="photos/p.jpg", width=1, height=1),
            msg(2, "L", "user5550002", "", file="voice_messages/a.ogg", media_type="voice_message",
                mime_type="audio/ogg"),
            msg(3, "L", "user5550002", "", file="(File not included. Change data exporting settings to download.)",
                media_type="sticker", sticker_emoji="\U0001F621")]
    messages, warnings = parse(single(recs), ctx(related=related))
    photo = messages[0].attachments[0]
    assert (photo.omitted, photo.size, photo.media_type, photo.data) == (False, 8, "image/jpeg",
                                                                         b"\xff\xd8\xff\xe0jpeg")
    assert messages[1].attachments[0].omitted and messages[1].attachments[0].media_type == "audio/ogg"
    assert messages[2].attachments[0].omitted and messages[2].text == "\U0001F621"
    assert [w.locator for w in warnings] == ["result.json#/messages/1"]
    assert "voice message" in warnings[0].reason


@pytest.mark.parametrize("path", ["../../etc/passwd", "/etc/passwd", "photos/../../x.jpg", "C:/x.jpg"])
def test_media_paths_outside_the_export_are_never_read(path: str) -> None:
    """GIVEN a photo path that climbs out of the export folder WHEN parsed THEN it is not asked for, and warned."""
    related = DictFiles({})
    messages, warnings = parse(single([msg(1, "L", "user5550002", "", photo=path)]), ctx(related=related))
    assert related.asked == []
    assert messages[0].attachments[0].omitted and "outside the export folder" in warnings[0].reason


# ----- hostile and broken JSON -----

def test_invalid_json_is_a_parse_error_with_line_and_column() -> None:
    """GIVEN a result.json with a missing comma WHEN parsed THEN ParseError names the file, line and column."""
    data = b'{\n "name": "L",\n "messages": [\n  {"id": 1 "type": "message"}\n ]\n}'
    with pytest.raises(ParseError) as caught:
        parse(data)
    assert "result.json" in str(caught.value) and "line 4, column 12" in str(caught.value)


def test_invalid_utf8_is_a_parse_error() -> None:
    """GIVEN bytes that are not UTF-8 WHEN parsed THEN ParseError says so, with where."""
    with pytest.raises(ParseError, match=r"not valid UTF-8.*byte offset 11"):
        parse(b'{"name": "L\xff\xfe", "messages": []}')


def test_deep_nesting_is_refused_as_hostile() -> None:
    """GIVEN a message nested 100 levels deep WHEN parsed THEN HostileInput, not a crash."""
    deep = "[" * 100 + "]" * 100
    with pytest.raises(HostileInput, match="nested more than 64"):
        parse(f'{{"name": "L", "messages": [{{"id": 1, "text": {deep}}}]}}'.encode())


def test_absurd_nesting_never_reaches_the_recursion_limit() -> None:
    """GIVEN 200,000 nested arrays WHEN parsed THEN HostileInput."""
    with pytest.raises(HostileInput):
        parse(b'{"messages": [' + b"[" * 200_000 + b"]" * 200_000 + b"]}")


@pytest.mark.parametrize(("data", "match"), [
    (b'{"name": "L", "name": "M", "messages": []}', "appears twice"),
    (b'{"messages": [{"id": 1, "id": 2}]}', "appears twice"),
    (b'{"messages": [{"id": NaN}]}', "NaN"),
    (b'{"messages": []} {"more": 1}', "more data after"),
    (b'{"messages": [{"id": ' + b"9" * 5000 + b"}]}", "too long"),
    (b'{"messages": [', "ends where a value should be"),
    (b"[]", "not a Telegram export"),
])
def test_malformed_documents_are_parse_errors(data: bytes, match: str) -> None:
    """GIVEN duplicate keys, NaN, trailing data, huge numbers, truncation or a non-object WHEN parsed
    THEN a ParseError explains it."""
    with pytest.raises(ParseError, match=match):
        parse(data)


def test_a_single_value_over_the_size_limit_is_refused() -> None:
    """GIVEN a message larger than max_json_bytes WHEN streamed THEN HostileInput, before reading it all."""
    big = b'{"messages": [{"id": 1, "text": "' + b"x" * 5000 + b'"}]}'
    with pytest.raises(HostileInput, match="larger than"):
        parse(big, ctx(limits=Limits(max_json_bytes=1000)))


def test_lone_surrogates_are_replaced_and_warned() -> None:
    """GIVEN text with a lone UTF-16 surrogate escape WHEN parsed THEN it becomes U+FFFD with a warning."""
    data = b'{"name": "L", "type": "personal_chat", "id": 5550002, "messages": [' \
           b'{"id": 1, "type": "message", "date_unixtime": "1772488032", "from": "L", "from_id": "user5550002", ' \
           b'"text": "bad \\ud83d here \\ud83d\\ude00"}]}'
    messages, warnings = parse(data)
    assert messages[0].text == "bad \ufffd here \U0001F600"
    messages[0].text.encode("utf-8")
    assert len(warnings) == 1 and "1 character" in warnings[0].reason


def test_stream_reader_agrees_with_json_loads_at_tiny_chunk_sizes() -> None:
    """GIVEN every Telegram fixture WHEN read by JsonStream 7 bytes at a time THEN values equal json.loads."""
    for path in [*GOLDEN.glob("*.dir/result.json"), SAMPLE]:
        data = path.read_bytes()
        reader = JsonStream(io.BytesIO(data), path.name, Limits(), chunk=7)
        rebuilt: dict[str, Any] = {}
        for key in reader.iter_object():
            if key == "messages":
                rebuilt[key] = [reader.read_value() for _ in reader.iter_array()]
            else:
                rebuilt[key] = reader.read_value()
        reader.finish()
        assert rebuilt == json.loads(data)


class CountingStream(io.BytesIO):
    """A stream that remembers how far it has been read."""

    high_water = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.high_water = self.tell()
        return data


def test_account_export_is_streamed_not_loaded_whole() -> None:
    """GIVEN a 4.8 MB account export WHEN its messages are consumed one by one THEN the reader is never more than
    a small window (well under 1 MB) ahead of the message just yielded, so memory does not grow with the file."""
    messages = [msg(i, "K", "user7", f"message {i} with some ordinary text in it \U0001F642") for i in range(20_000)]
    data = tg({"about": "x", "personal_information": {"user_id": 1},
               "chats": {"about": "", "list": [{"name": "K", "type": "personal_chat", "id": 7,
                                                "messages": messages}]}})
    assert len(data) > 4_500_000
    stream = CountingStream(data)
    ahead = 0
    seen = 0
    position = data.index(b'"messages"')
    for record in TelegramImporter().parse(stream, ctx()):
        assert isinstance(record, Message)
        position = data.index(f'"id": {seen},'.encode(), position)
        ahead = max(ahead, stream.high_water - position)
        seen += 1
    assert seen == 20_000
    assert ahead < 700_000


# ----- sample case -----

def test_sample_case_telegram_export_parses_cleanly() -> None:
    """GIVEN the embedded sample case's Telegram export WHEN imported through the registry THEN every message
    parses with no warnings, the photo is read and Priya's one message is hers."""
    opened = open_records(SAMPLE, tz="Europe/London")
    records = list(opened.records)
    assert opened.registered.name == "telegram"
    assert [r for r in records if isinstance(r, ParseWarning)] == []
    messages = [r for r in records if isinstance(r, Message)]
    assert 15 <= len(messages) <= 40
    assert {m.timestamp.utc.date().isoformat() for m in messages} <= {f"2026-03-{d:02d}" for d in range(2, 21)}
    mine = [m for m in messages if m.from_me]
    assert [m.text for m in mine] == ["Leave me alone."]
    theirs = [m for m in messages if m.from_me is False]
    assert all(m.sender is not None and m.sender.platform_id == "user5550002" for m in theirs)
    texts = [m.text for m in messages]
    assert sum("answer me Priya" in t for t in texts) >= 3
    assert sum("you can't ignore me forever" in t.lower() for t in texts) >= 2
    assert any(t.endswith("\u2014 L") for t in texts)
    assert "I saw you get off the 18 bus on Hyde Park Road" in texts
    assert any(m.forwarded_from for m in messages)
    photo = next(a for m in messages for a in m.attachments)
    assert not photo.omitted and photo.data is not None and photo.data.startswith(b"\xff\xd8\xff")


def test_directory_files_reach_the_sample_photo() -> None:
    """GIVEN the sample export folder WHEN its photo is asked for by relative path THEN the bytes come back."""
    files = DirectoryFiles(SAMPLE.parent, 1 << 20)
    assert files.read("photos/photo_1@05-03-2026_22-14-03.jpg") is not None
