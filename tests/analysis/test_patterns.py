"""Conversation pattern findings on synthetic conversations whose truth is known by construction."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from safetrail.analysis.patterns import (
    KINDS,
    PatternSettings,
    find_patterns,
    finding_to_dict,
    four_markers_detail,
    identity_links,
    stalking_behaviours_detail,
    unidentified_conversations,
)
from safetrail.errors import UsageError
from safetrail.model import Finding, Flag, Message, MessageKind, Participant, Precision, Timestamp, TimestampKind

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
ME = "Priya Shah"
HIM = "Liam Carter"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


class Chat:
    """Builds one conversation's messages in order; each gets a unique locator and so a unique id."""

    def __init__(self, conversation: str = "WhatsApp Chat with Liam Carter", platform: str = "whatsapp",
                 identity: bool = True) -> None:
        self.conversation = conversation
        self.platform = platform
        self.identity = identity  # False: the export does not say who the user is
        self.messages: list[Message] = []

    def add(self, sender: str | None, when: str | datetime, text: str = "hi", *,
            kind: MessageKind = MessageKind.MESSAGE, pid: str | None = None, forwarded: str | None = None,
            precision: Precision = Precision.SECOND) -> Message:
        utc = at(when) if isinstance(when, str) else when
        from_me = (sender == ME) if self.identity and sender is not None and kind is not MessageKind.SYSTEM else None
        m = Message(
            source_sha256="ab" * 32, locator=f"{self.conversation}#{len(self.messages)}", platform=self.platform,
            conversation=self.conversation,
            timestamp=Timestamp(utc, TimestampKind.ABSOLUTE, precision), text=text, raw=text,
            sender=Participant(sender, pid) if sender is not None else None, kind=kind, from_me=from_me,
            forwarded_from=forwarded)
        self.messages.append(m)
        return m

    def series(self, sender: str, start: str, count: int, every: timedelta, text: str = "hello?") -> list[Message]:
        t0 = at(start)
        return [self.add(sender, t0 + i * every, f"{text} {i}") for i in range(count)]


def of_kind(findings: list[Finding], kind: str) -> list[Finding]:
    assert kind in KINDS
    return [f for f in findings if f.kind == kind]


def counts(f: Finding) -> dict[str, float]:
    return dict(f.counts)


def flag(m: Message, category: str, score: float = 0.9) -> Flag:
    return Flag(m.id, category, score, m.text, "test")


# Contact after refusal -----------------------------------------------------------------------------------------
def test_after_refusal_counts_only_the_other_partys_messages_after_the_first_refusal() -> None:
    """GIVEN 3 messages before a refusal, the refusal on 1 Feb 21:40, 7 of his messages after it over 3 local days
    (plus 2 of hers), and a second refusal
    WHEN patterns are found
    THEN exactly 7 messages after, on 3 days, 1 repeated refusal, spanning from the refusal to his last message."""
    c = Chat()
    c.add(HIM, "2026-02-01T20:00:00+00:00", "hey")
    c.add(ME, "2026-02-01T20:05:00+00:00", "hi")
    c.add(HIM, "2026-02-01T21:00:00+00:00", "can we talk")
    refusal = c.add(ME, "2026-02-01T21:40:00+00:00", "Please stop messaging me. I don't want any contact with you.")
    after = c.series(HIM, "2026-02-01T22:00:00+00:00", 3, timedelta(minutes=30))  # 22:00, 22:30, 23:00
    after += c.series(HIM, "2026-02-02T12:00:00+00:00", 2, timedelta(hours=1))
    second = c.add(ME, "2026-02-02T14:00:00+00:00", "Stop. I mean it.")
    c.add(ME, "2026-02-02T14:01:00+00:00", "I'm blocking you")
    after += c.series(HIM, "2026-02-05T09:00:00+00:00", 2, timedelta(minutes=1))

    findings = find_patterns(c.messages, [flag(refusal, "refusal"), flag(second, "refusal", 0.8)], tz=LONDON)

    [f] = of_kind(findings, "after_refusal")
    assert counts(f) == {"messages_after": 7, "days": 3, "span_days": 3.5, "refusals_repeated": 1}
    assert f.message_ids == (refusal.id, second.id, *[m.id for m in after])
    assert f.first == refusal.timestamp.utc and f.last == after[-1].timestamp.utc
    assert f.conversation == "WhatsApp Chat with Liam Carter"
    assert f.summary.startswith("7 messages from Liam Carter came after Priya Shah first asked for no contact on "
                                "1 Feb 2026 at 21:40 GMT (over 3 days, on 3 different days).")


def test_refusal_needs_the_threshold_or_an_explicit_id_and_must_be_the_users() -> None:
    """GIVEN a refusal-looking message scored 0.49 and his own message flagged refusal, with flag_threshold 0.5
    WHEN patterns are found without and then with the refusal id passed directly
    THEN nothing counts as a refusal until the id is passed, and his message never does; with the default
    threshold (every flag given counts) the 0.49 flag is a refusal."""
    c = Chat()
    weak = c.add(ME, "2026-02-01T10:00:00+00:00", "leave me alone")
    his = c.add(HIM, "2026-02-01T10:01:00+00:00", "stop it")
    c.series(HIM, "2026-02-01T11:00:00+00:00", 2, timedelta(minutes=20))
    flags = [flag(weak, "refusal", 0.49), flag(his, "refusal", 0.99)]
    strict = PatternSettings(flag_threshold=0.5)
    assert of_kind(find_patterns(c.messages, flags, tz=LONDON, settings=strict), "after_refusal") == []
    [f] = of_kind(find_patterns(c.messages, flags, tz=LONDON, settings=strict, refusal_ids={weak.id}),
                  "after_refusal")
    assert counts(f)["messages_after"] == 3  # "stop it" and the two after it
    # By default every flag given counts (the classifier has already applied its own thresholds).
    assert of_kind(find_patterns(c.messages, flags, tz=LONDON), "after_refusal")[0].counts == f.counts


def test_same_minute_messages_keep_export_order_around_the_refusal() -> None:
    """GIVEN minute-precision messages at the same minute as the refusal, one before and one after it in the export
    WHEN patterns are found
    THEN only the one the export puts after the refusal counts."""
    c = Chat()
    c.add(HIM, "2026-02-01T21:40:00+00:00", "before", precision=Precision.MINUTE)
    refusal = c.add(ME, "2026-02-01T21:40:00+00:00", "stop", precision=Precision.MINUTE)
    later = c.add(HIM, "2026-02-01T21:40:00+00:00", "after", precision=Precision.MINUTE)
    [f] = of_kind(find_patterns(c.messages, tz=LONDON, refusal_ids={refusal.id}), "after_refusal")
    assert f.message_ids == (refusal.id, later.id)


def test_calls_are_contact_and_system_lines_are_not() -> None:
    """GIVEN after a refusal: a missed call from him, a system line, and a message
    WHEN contact after refusal is counted
    THEN 2 (the call and the message)."""
    c = Chat()
    refusal = c.add(ME, "2026-02-01T21:40:00+00:00", "stop")
    call = c.add(HIM, "2026-02-01T22:00:00+00:00", "Missed voice call", kind=MessageKind.CALL)
    c.add(None, "2026-02-01T22:01:00+00:00", "Liam Carter changed their phone number", kind=MessageKind.SYSTEM)
    text = c.add(HIM, "2026-02-01T22:02:00+00:00", "pick up")
    [f] = of_kind(find_patterns(c.messages, tz=LONDON, refusal_ids={refusal.id}), "after_refusal")
    assert f.message_ids == (refusal.id, call.id, text.id)


# Night contact -------------------------------------------------------------------------------------------------
def _night(tz: ZoneInfo, instants: list[str]) -> Finding | None:
    c = Chat()
    c.add(ME, "2026-01-01T12:00:00+00:00", "hello")
    for t in instants:
        c.add(HIM, t, "are you up")
    found = of_kind(find_patterns(c.messages, tz=tz), "night_contact")
    return found[0] if found else None


def test_night_contact_across_both_2026_dst_changes_in_london() -> None:
    """GIVEN messages either side of the 29 Mar and 25 Oct 2026 clock changes, some exactly on 22:00 and 06:00 local
    WHEN night contact is counted in Europe/London
    THEN the local hour after conversion decides: 22:00 counts, 06:00 does not, the repeated 01:xx hour counts twice."""
    night = [
        "2026-03-28T05:30:00+00:00",  # 05:30 GMT
        "2026-03-29T00:30:00+00:00",  # 00:30 GMT, night of 28 Mar
        "2026-03-29T01:30:00+00:00",  # 02:30 BST, night of 28 Mar
        "2026-03-29T04:59:00+00:00",  # 05:59 BST
        "2026-03-29T21:30:00+00:00",  # 22:30 BST, night of 29 Mar
        "2026-10-24T21:00:00+00:00",  # 22:00 BST exactly, night of 24 Oct
        "2026-10-25T00:30:00+00:00",  # 01:30 BST
        "2026-10-25T01:30:00+00:00",  # 01:30 GMT (the hour that happens twice)
        "2026-10-25T05:30:00+00:00",  # 05:30 GMT
    ]
    day = [
        "2026-03-28T21:30:00+00:00",  # 21:30 GMT
        "2026-03-29T05:00:00+00:00",  # 06:00 BST exactly
        "2026-03-29T05:30:00+00:00",  # 06:30 BST
        "2026-10-24T05:30:00+00:00",  # 06:30 BST
        "2026-10-24T20:59:00+00:00",  # 21:59 BST
        "2026-10-25T21:30:00+00:00",  # 21:30 GMT
    ]
    f = _night(LONDON, night + day)
    assert f is not None
    assert counts(f) == {"messages": 9, "total": 15, "share": 0.6, "nights": 4}  # 27, 28, 29 Mar; 24 Oct
    assert "between 22:00 and 06:00 Europe/London time" in f.summary


def test_night_contact_across_both_2026_dst_changes_in_new_york() -> None:
    """GIVEN messages either side of the 8 Mar and 1 Nov 2026 US clock changes
    WHEN night contact is counted in America/New_York
    THEN EST/EDT are applied by date: 5 night messages of 9, on 3 nights."""
    night = [
        "2026-03-07T10:30:00+00:00",  # 05:30 EST, night of 6 Mar
        "2026-03-09T02:30:00+00:00",  # 22:30 EDT on 8 Mar
        "2026-11-01T02:30:00+00:00",  # 22:30 EDT on 31 Oct
        "2026-11-01T10:30:00+00:00",  # 05:30 EST, night of 31 Oct
        "2026-11-01T05:30:00+00:00",  # 01:30 EDT, night of 31 Oct
    ]
    day = [
        "2026-03-08T10:30:00+00:00",  # 06:30 EDT
        "2026-03-08T02:30:00+00:00",  # 21:30 EST on 7 Mar
        "2026-10-31T10:30:00+00:00",  # 06:30 EDT
        "2026-11-02T02:30:00+00:00",  # 21:30 EST on 1 Nov
    ]
    f = _night(NEW_YORK, night + day)
    assert f is not None
    assert counts(f)["messages"] == 5
    assert counts(f)["total"] == 9
    assert counts(f)["nights"] == 3  # 6 Mar, 8 Mar, 31 Oct
    # The same instants read in London pick other messages: the zone matters.
    london = _night(LONDON, night + day)
    assert london is not None and set(london.message_ids) != set(f.message_ids)


def test_day_precision_messages_are_left_out_of_night_counts() -> None:
    """GIVEN a message known only to the day (stored at 00:00 UTC) and one at 23:00
    WHEN night contact is counted
    THEN only the timed message is considered, night or not."""
    c = Chat()
    c.add(ME, "2026-01-01T12:00:00+00:00")
    c.add(HIM, "2026-01-02T00:00:00+00:00", "undated", precision=Precision.DAY)
    c.add(HIM, "2026-01-02T23:00:00+00:00", "late")
    [f] = of_kind(find_patterns(c.messages, tz=LONDON), "night_contact")
    assert counts(f) == {"messages": 1, "total": 1, "share": 1.0, "nights": 1}


# Unanswered bursts ---------------------------------------------------------------------------------------------
def test_burst_boundaries_gap_at_the_limit_and_a_reply_breaking_a_burst() -> None:
    """GIVEN 6 messages exactly 10 minutes apart (23:00-23:50); then, 10 min 1 s later, 3 more and a reply from the
    user; then 5 messages 1 minute apart and a reply; then 4 quick messages
    WHEN bursts are found
    THEN two bursts: the 6 (a gap equal to the limit stays in, one a second longer breaks it) and the 5; the 3 cut
    short by the reply and the final 4 are below burst_min."""
    c = Chat()
    c.add(ME, "2026-02-07T22:00:00+00:00", "night")
    first = c.series(HIM, "2026-02-07T23:00:00+00:00", 6, timedelta(minutes=10))
    t = first[-1].timestamp.utc + timedelta(minutes=10, seconds=1)
    cut_short = [c.add(HIM, t + timedelta(minutes=i), f"more {i}") for i in range(3)]
    c.add(ME, cut_short[-1].timestamp.utc + timedelta(seconds=30), "please stop")
    t = cut_short[-1].timestamp.utc + timedelta(minutes=1)
    second = [c.add(HIM, t + timedelta(minutes=i), f"again {i}") for i in range(5)]
    c.add(ME, second[-1].timestamp.utc + timedelta(minutes=1), "no")
    t = second[-1].timestamp.utc + timedelta(minutes=5)
    for i in range(4):
        c.add(HIM, t + timedelta(minutes=i), f"last {i}")

    bursts = of_kind(find_patterns(c.messages, tz=LONDON), "unanswered_burst")

    assert [counts(b)["messages"] for b in bursts] == [6, 5]
    assert bursts[0].message_ids == tuple(m.id for m in first)
    assert bursts[1].message_ids == tuple(m.id for m in second)
    assert (bursts[0].first, bursts[0].last) == (first[0].timestamp.utc, first[-1].timestamp.utc)
    assert [counts(b)["max_burst"] for b in bursts] == [6, 6]
    assert [counts(b)["burst_number"] for b in bursts] == [1, 2]
    assert counts(bursts[0])["minutes"] == 50
    assert bursts[0].summary == ("Liam Carter sent 6 messages in a row between 23:00 GMT and 23:50 GMT on 7 Feb 2026, "
                                 "each within 10 minutes of the one before, with no reply in between.")


def test_fourteen_message_burst_and_burst_min_setting() -> None:
    """GIVEN 14 messages between 23:10 and 23:30 (as in the sample case) and then the same with burst_min 15
    WHEN bursts are found
    THEN one burst of 14 by default and none with burst_min 15."""
    c = Chat()
    c.add(ME, "2026-02-07T20:00:00+00:00")
    msgs = c.series(HIM, "2026-02-07T23:10:00+00:00", 14, timedelta(seconds=92))
    assert msgs[-1].timestamp.utc <= at("2026-02-07T23:30:00+00:00")
    [b] = of_kind(find_patterns(c.messages, tz=LONDON), "unanswered_burst")
    assert counts(b)["messages"] == 14 and counts(b)["max_burst"] == 14
    assert of_kind(find_patterns(c.messages, tz=LONDON, settings=PatternSettings(burst_min=15)),
                   "unanswered_burst") == []


def test_in_a_group_only_the_users_reply_breaks_a_burst() -> None:
    """GIVEN a group where Sam writes between Liam's 5 quick messages, and the user never replies
    WHEN bursts are found
    THEN Liam's 5 messages are one burst and Sam's message is not part of it."""
    c = Chat("Flat group")
    c.add(ME, "2026-02-07T20:00:00+00:00")
    liam = c.series(HIM, "2026-02-07T21:00:00+00:00", 3, timedelta(minutes=2))
    c.add("Sam", "2026-02-07T21:05:00+00:00", "lol")
    liam += c.series(HIM, "2026-02-07T21:06:00+00:00", 2, timedelta(minutes=2))
    [b] = of_kind(find_patterns(c.messages, tz=LONDON), "unanswered_burst")
    assert b.message_ids == tuple(m.id for m in liam)


# Course of conduct ---------------------------------------------------------------------------------------------
def test_occasions_by_local_day_and_by_gap() -> None:
    """GIVEN a refusal, then his messages: 2 on 2 Feb (2 h apart), 1 exactly 6 h later, 1 at 23:50 and 1 at 00:10
    WHEN occasions are counted
    THEN 4 occasions by default (gap at the limit and midnight both split), 3 when midnight does not split."""
    c = Chat()
    c.add(HIM, "2026-02-01T10:00:00+00:00", "harmless before")
    refusal = c.add(ME, "2026-02-01T12:00:00+00:00", "stop")
    conduct = [c.add(HIM, t) for t in ("2026-02-02T08:00:00+00:00", "2026-02-02T10:00:00+00:00",
                                       "2026-02-02T16:00:00+00:00", "2026-02-02T23:50:00+00:00",
                                       "2026-02-03T00:10:00+00:00")]
    [f] = of_kind(find_patterns(c.messages, tz=LONDON, refusal_ids={refusal.id}), "course_of_conduct")
    assert counts(f) == {"occasions": 4, "messages": 5, "days_spanned": 2, "distinct_days": 2, "flagged": 0,
                         "after_refusal": 5}
    assert f.message_ids == (refusal.id, *[m.id for m in conduct])
    assert "may amount to a course of conduct" in f.summary
    relaxed = PatternSettings(occasion_splits_at_midnight=False)
    [g] = of_kind(find_patterns(c.messages, tz=LONDON, refusal_ids={refusal.id}, settings=relaxed),
                  "course_of_conduct")
    assert counts(g)["occasions"] == 3


def test_flagged_messages_before_any_refusal_are_conduct_and_one_occasion_is_not_enough() -> None:
    """GIVEN two threats on different days (0.9, 0.7) and a weak flag (0.3) between them, no refusal
    WHEN patterns are found with flag_threshold 0.5, then by default
    THEN 2 occasions from 2 flagged messages, then 3; with only one threat there is no course_of_conduct finding."""
    c = Chat()
    c.add(HIM, "2026-01-10T10:00:00+00:00", "morning")
    t1 = c.add(HIM, "2026-01-10T11:00:00+00:00", "you'll regret this")
    c.add(HIM, "2026-01-11T10:00:00+00:00", "sorry")
    t2 = c.add(HIM, "2026-01-12T10:00:00+00:00", "watch your back")
    c.add(ME, "2026-01-12T11:00:00+00:00", "ok")
    flags = [flag(t1, "threat"), flag(t2, "threat", 0.7), flag(c.messages[2], "threat", 0.3)]
    strict = PatternSettings(flag_threshold=0.5)
    [f] = of_kind(find_patterns(c.messages, flags, tz=LONDON, settings=strict), "course_of_conduct")
    assert counts(f)["occasions"] == 2 and counts(f)["flagged"] == 2 and counts(f)["after_refusal"] == 0
    assert f.message_ids == (t1.id, t2.id)
    assert of_kind(find_patterns(c.messages, flags[:1], tz=LONDON), "course_of_conduct") == []
    [g] = of_kind(find_patterns(c.messages, flags, tz=LONDON), "course_of_conduct")  # the 0.3 flag counts too
    assert counts(g)["occasions"] == 3


# Escalation ----------------------------------------------------------------------------------------------------
def _weekly(per_day: list[int], harm: list[float] | None = None) -> tuple[list[Message], list[Flag]]:
    """One message block per day, per_day[w] messages a day through week w; harm[w] flags each message in week w."""
    c = Chat()
    c.add(ME, "2026-01-04T09:00:00+00:00", "hi")
    flags = []
    start = at("2026-01-05T10:00:00+00:00")
    for w, n in enumerate(per_day):
        for d in range(7):
            for k in range(n):
                m = c.add(HIM, start + timedelta(days=7 * w + d, minutes=30 * k), "msg")
                if harm is not None and harm[w] > 0:
                    flags.append(flag(m, "insult", harm[w]))
    return c.messages, flags


def test_escalation_rising_falling_and_steady() -> None:
    """GIVEN 3 weeks at 1, 2, 4 messages a day (harm 0.1, 0.4, 0.8), then 4, 2, 1, then 2, 2, 2
    WHEN escalation is assessed
    THEN rising (rate and severity), falling, steady, with the window figures."""
    msgs, flags = _weekly([1, 2, 4], [0.1, 0.4, 0.8])
    [f] = of_kind(find_patterns(msgs, flags, tz=LONDON), "escalation")
    c = counts(f)
    assert (c["windows"], c["rate_trend"], c["severity_trend"]) == (3, 1, 1)
    assert (c["window_1_rate"], c["window_2_rate"], c["window_3_rate"]) == (1.0, 2.0, 4.0)
    assert (c["window_1_severity"], c["window_3_severity"]) == (0.1, 0.8)
    assert c["rate_slope"] == 1.5
    assert "was rising (first week 1.0, last week 4.0)" in f.summary

    msgs, _ = _weekly([4, 2, 1])
    [f] = of_kind(find_patterns(msgs, tz=LONDON), "escalation")
    assert counts(f)["rate_trend"] == -1 and "severity_trend" not in counts(f)
    assert "not assessed because no flags were given" in f.summary

    msgs, flags = _weekly([2, 2, 2], [0.5, 0.5, 0.5])
    [f] = of_kind(find_patterns(msgs, flags, tz=LONDON), "escalation")
    assert (counts(f)["rate_trend"], counts(f)["severity_trend"]) == (0, 0)


def test_escalation_needs_three_windows() -> None:
    """GIVEN two weeks of messages
    WHEN escalation is assessed
    THEN no escalation finding (too little data)."""
    msgs, _ = _weekly([1, 5])
    assert of_kind(find_patterns(msgs, tz=LONDON), "escalation") == []


# New identity after a block ------------------------------------------------------------------------------------
def _whatsapp_then_block() -> Chat:
    wa = Chat()
    wa.add(HIM, "2026-01-10T18:00:00+00:00", "Hey babe 😘 — L")
    wa.add(ME, "2026-01-10T18:05:00+00:00", "hey! see you tomorrow")
    wa.add(HIM, "2026-02-03T23:10:00+00:00", "answer me Priya")
    wa.add(HIM, "2026-02-03T23:11:00+00:00", "You can't ignore me forever. — L")
    wa.add(HIM, "2026-02-04T23:11:00+00:00", "see you tomorrow 😘")
    wa.add(None, "2026-02-28T20:00:00+00:00", "\u200eYou blocked this contact. Tap to unblock.",
           kind=MessageKind.SYSTEM)
    return wa


def test_new_account_after_block_sharing_phrases_and_sign_off_is_linked() -> None:
    """GIVEN Liam on WhatsApp, a block on 28 Feb, then a new Telegram account 'L' that writes "answer me priya",
    "you can’t ignore me forever" and signs "— L" (plus a forwarded message quoting someone else)
    WHEN patterns are found
    THEN one new_identity_after_block finding names both identities and quotes the phrases as the new account
    wrote them, with the shared pet name and emoji habit as support; "see you tomorrow" is not evidence."""
    wa = _whatsapp_then_block()
    tg = Chat("L", "telegram")
    n1 = tg.add("L", "2026-03-02T19:05:00+00:00", "You can’t ignore me forever 😘", pid="user5550002")
    n2 = tg.add("L", "2026-03-02T19:06:00+00:00", "ANSWER ME PRIYA!! see you tomorrow babe 😘", pid="user5550002")
    n3 = tg.add("L", "2026-03-02T19:07:00+00:00", "— L", pid="user5550002")
    tg.add("L", "2026-03-02T19:08:00+00:00", "this message was deleted lol", pid="user5550002",
           forwarded="Liam Carter")

    findings = find_patterns(wa.messages + tg.messages, tz=LONDON)

    [f] = of_kind(findings, "new_identity_after_block")
    assert f.conversation == "L"
    c = counts(f)
    assert (c["shared_phrases"], c["shared_signoffs"], c["shared_pet_names"], c["shared_emoji"]) == (2, 1, 1, 1)
    assert c["link_score"] == 2 + 1 + 2  # 5-word phrase, 3-word phrase, sign-off; pet name and emoji only support
    assert c["new_messages"] == 3 and c["old_messages"] == 4 and c["days_after_event"] == 2.0
    assert "“You can’t ignore me forever”" in f.summary and "“ANSWER ME PRIYA”" in f.summary
    assert "sign-off “— L”" in f.summary and "see you tomorrow" not in f.summary
    assert "A new sender, L (Telegram), first wrote on 2 Mar 2026 at 19:05 GMT, after WhatsApp recorded a block of " \
           "Liam Carter on 28 Feb 2026 at 20:00 GMT" in f.summary
    assert "do not prove it" in f.summary
    assert f.message_ids[0] == wa.messages[-1].id
    assert {n1.id, n2.id, n3.id} <= set(f.message_ids)
    [link] = identity_links(wa.messages + tg.messages, tz=LONDON)
    assert (link.old.key, link.new.key, link.event.kind) == (HIM, "user5550002", "block")


def test_a_different_new_person_after_the_block_is_not_linked() -> None:
    """GIVEN the same block, then a course-mate on Instagram who writes ordinary messages, with Liam's emoji habit
    (😘 in two messages) and the same stock birthday greeting Liam once sent
    WHEN patterns are found
    THEN no new_identity_after_block finding: one stock phrase is not enough."""
    wa = _whatsapp_then_block()
    ig = Chat("Sam", "instagram")
    ig.add(ME, "2026-03-03T09:00:00+00:00", "hi Sam")
    ig.add("Sam", "2026-03-03T09:01:00+00:00", "Hey you 😘 are you coming to the lecture on Friday?")
    ig.add("Sam", "2026-03-03T09:02:00+00:00", "the group project is due next week 😘")
    ig.add("Sam", "2026-03-03T09:03:00+00:00", "see you tomorrow - Sam")
    ig.add("Sam", "2026-03-04T00:00:00+00:00", "Happy birthday Priya, hope you have a lovely day")
    wa.add(HIM, "2026-02-04T00:00:00+00:00", "happy birthday priya hope you have a lovely day")
    assert of_kind(find_patterns(wa.messages + ig.messages, tz=LONDON), "new_identity_after_block") == []


def test_the_users_own_habitual_phrases_are_not_evidence() -> None:
    """GIVEN the user twice wrote "miss our movie nights", which Liam and a new account also write, and the new
    account also writes "answer me Priya" and signs "— L"
    WHEN identity links are found
    THEN the link rests on "answer me Priya" and the sign-off only."""
    wa = _whatsapp_then_block()
    wa.add(ME, "2026-01-11T10:00:00+00:00", "I miss our movie nights")
    wa.add(ME, "2026-01-12T10:00:00+00:00", "miss our movie nights!")
    wa.add(HIM, "2026-01-13T10:00:00+00:00", "i miss our movie nights too")
    tg = Chat("L", "telegram")
    tg.add("L", "2026-03-02T19:05:00+00:00", "miss our movie nights. answer me Priya — L")
    [link] = identity_links(wa.messages + tg.messages, tz=LONDON)
    assert (link.phrases, link.signoffs, link.score) == (("answer me Priya",), ("— L",), 3)


def test_refusal_also_anchors_a_new_identity_and_old_contacts_are_not_new() -> None:
    """GIVEN a refusal (no block) on SMS, a new number after it that repeats the old number's phrases, and a third
    number that wrote before the refusal with the same phrases
    WHEN identity links are found
    THEN only the number that first wrote after the refusal is linked, on the phrase (which the user quoted once:
    still evidence) and the sign-off."""
    sms = Chat("+447700900123", "sms")
    sms.add(HIM, "2026-04-01T10:00:00+00:00", "you owe me a conversation Priya — L", pid="+447700900123")
    refusal = sms.add(ME, "2026-04-02T10:00:00+00:00", "Stop contacting me. Stop saying you owe me a conversation")
    before = Chat("+447700900555", "sms")
    before.add("+447700900555", "2026-03-01T10:00:00+00:00", "you owe me a conversation Priya — L",
               pid="+447700900555")
    new = Chat("+447700900987", "sms")
    new.add("+447700900987", "2026-04-06T02:00:00+00:00", "New number. You owe me a conversation Priya — L",
            pid="+447700900987")
    links = identity_links(sms.messages + before.messages + new.messages, tz=LONDON, refusal_ids={refusal.id})
    assert [(lk.old.key, lk.new.key, lk.event.kind) for lk in links] == [("+447700900123", "+447700900987", "refusal")]
    assert links[0].phrases == ("You owe me a conversation Priya",) and links[0].signoffs == ("— L",)


@pytest.mark.parametrize("line", [
    "\u200eYou blocked this contact. Tap to unblock.",
    "Du hast diesen Kontakt blockiert. Tippe, um die Blockierung aufzuheben.",
    "Vous avez bloqué ce contact. Appuyez pour débloquer.",
    "Bloqueaste a este contacto. Toca para desbloquear.",
    "Você bloqueou este contato. Toque para desbloquear.",
    "Hai bloccato questo contatto. Tocca per sbloccare.",
    "Je hebt dit contact geblokkeerd. Tik om te deblokkeren.",
])
def test_block_lines_in_several_locales_anchor_a_link(line: str) -> None:
    """GIVEN a block system line in a given locale and a new account repeating the old phrases
    WHEN identity links are found
    THEN the block is the event."""
    wa = Chat()
    wa.add(HIM, "2026-02-01T10:00:00+00:00", "answer me Priya")
    wa.add(HIM, "2026-02-01T10:01:00+00:00", "you can't ignore me forever")
    wa.add(None, "2026-02-02T10:00:00+00:00", line, kind=MessageKind.SYSTEM)
    tg = Chat("L", "telegram")
    tg.add("L", "2026-02-03T10:00:00+00:00", "answer me Priya. you can't ignore me forever")
    [link] = identity_links(wa.messages + tg.messages, tz=LONDON)
    assert link.event.kind == "block"


@pytest.mark.parametrize("line", ["You unblocked this contact.", "Desbloqueaste a este contacto.",
                                  "Messages and calls are end-to-end encrypted."])
def test_unblock_and_other_system_lines_are_not_blocks(line: str) -> None:
    """GIVEN an unblock or encryption line and no refusal
    WHEN identity links are found
    THEN there is no event, so no link."""
    wa = Chat()
    wa.add(HIM, "2026-02-01T10:00:00+00:00", "answer me Priya")
    wa.add(HIM, "2026-02-01T10:01:00+00:00", "you can't ignore me forever")
    wa.add(None, "2026-02-02T10:00:00+00:00", line, kind=MessageKind.SYSTEM)
    tg = Chat("L", "telegram")
    tg.add("L", "2026-02-03T10:00:00+00:00", "answer me Priya. you can't ignore me forever")
    assert identity_links(wa.messages + tg.messages, tz=LONDON) == []


# FOUR markers and s.2A(3) --------------------------------------------------------------------------------------
def _stalking_case() -> tuple[Chat, list[Flag], dict[str, Message]]:
    c = Chat()
    m: dict[str, Message] = {}
    m["friendly"] = c.add(HIM, "2026-01-20T12:00:00+00:00", "saw your post, your car looks great")
    m["refusal"] = c.add(ME, "2026-02-01T21:40:00+00:00", "Please stop messaging me.")
    m["library"] = c.add(HIM, "2026-02-02T21:00:00+00:00", "I know you were at the library until 9 tonight")
    m["guy"] = c.add(HIM, "2026-02-03T20:00:00+00:00", "who was that guy you were with")
    m["online"] = c.add(HIM, "2026-02-04T03:05:00+00:00", "saw you were online at 3am. who are you texting")
    m["outside"] = c.add(HIM, "2026-02-05T22:00:00+00:00", "I'm outside your hall")
    m["followed"] = c.add(HIM, "2026-02-06T18:00:00+00:00", "I followed you home")
    m["bike"] = c.add(HIM, "2026-02-06T18:30:00+00:00", "shame if something happened to your bike")
    m["address"] = c.add(HIM, "2026-02-06T19:00:00+00:00", "everyone on the group will know where you live")
    burst = c.series(HIM, "2026-02-07T23:10:00+00:00", 6, timedelta(minutes=2), "answer me")
    m.update({f"burst{i}": b for i, b in enumerate(burst)})
    flags = [flag(m["refusal"], "refusal"),
             flag(m["library"], "stalking_surveillance"), flag(m["outside"], "stalking_surveillance"),
             flag(m["followed"], "stalking_surveillance"), flag(m["bike"], "threat"),
             flag(m["address"], "doxxing"), flag(m["online"], "coercion_control")]
    return c, flags, m


def test_four_markers_each_with_its_own_evidence() -> None:
    """GIVEN a refusal then surveillance messages, a question about another man, a burst of 6, on 6 days
    WHEN the FOUR markers are assessed
    THEN all four are present with exactly the supporting ids listed below."""
    c, flags, m = _stalking_case()
    [fm] = four_markers_detail(c.messages, flags, tz=LONDON)
    markers = {k.name: k for k in fm.markers}
    assert all(k.present for k in markers.values())
    # "know where you live" is about where she lives, so it counts too.
    assert set(markers["fixated"].message_ids) == {m["library"].id, m["guy"].id, m["outside"].id, m["followed"].id,
                                                   m["address"].id}
    assert markers["obsessive"].message_ids == tuple(m[f"burst{i}"].id for i in range(6))
    assert dict(markers["obsessive"].figures)["max_burst"] == 6
    after = [x for x in c.messages[2:]]
    assert markers["unwanted"].message_ids == (m["refusal"].id, *[x.id for x in after])
    assert dict(markers["repeated"].figures) == {"occasions": 6, "conduct_messages": 13}

    [f] = of_kind(find_patterns(c.messages, flags, tz=LONDON), "four_markers")
    assert counts(f)["markers_present"] == 4
    assert "not a finding of stalking" in f.summary
    assert m["friendly"].id not in f.message_ids


def test_four_markers_absent_when_evidence_is_thin() -> None:
    """GIVEN one message after a refusal and nothing flagged
    WHEN the FOUR markers are assessed
    THEN only Unwanted is present; Fixated, Obsessive and Repeated are not."""
    c = Chat()
    refusal = c.add(ME, "2026-02-01T21:40:00+00:00", "stop")
    c.add(HIM, "2026-02-02T10:00:00+00:00", "where are you")
    [fm] = four_markers_detail(c.messages, tz=LONDON, refusal_ids={refusal.id})
    assert {k.name: k.present for k in fm.markers} == {"fixated": False, "obsessive": False, "unwanted": True,
                                                       "repeated": False}
    [f] = of_kind(find_patterns(c.messages, tz=LONDON, refusal_ids={refusal.id}), "four_markers")
    assert counts(f)["markers_present"] == 1 and "Fixated not shown (1 message" in f.summary


def test_stalking_behaviours_mapped_to_the_acts_letters() -> None:
    """GIVEN the same case
    WHEN behaviours are mapped to s.2A(3)
    THEN (a) followed, (b) contact after refusal, (c) doxxing, (d) online/texting, (e) outside, (f) bike with a
    threat, (g) watching; the friendly pre-refusal "saw your post, your car" maps to nothing."""
    c, flags, m = _stalking_case()
    [sb] = stalking_behaviours_detail(c.messages, flags, tz=LONDON)
    got = {b.letter: b.message_ids for b in sb.behaviours}
    assert got == {
        "a": (m["followed"].id,),
        "b": tuple(x.id for x in c.messages[2:]),
        "c": (m["address"].id,),
        "d": (m["online"].id,),
        "e": (m["outside"].id,),
        "f": (m["bike"].id,),
        "g": (m["library"].id,),
    }
    quotes = {b.letter: b.quotes for b in sb.behaviours}
    assert quotes["g"] == ("“I know you were at the library until 9 tonight”",)
    [f] = of_kind(find_patterns(c.messages, flags, tz=LONDON), "stalking_behaviours")
    assert counts(f) == {"behaviours": 7, "a": 1, "b": 13, "c": 1, "d": 1, "e": 1, "f": 1, "g": 1}
    assert "behaviours the Act lists as examples" in f.summary and "not a finding of stalking" in f.summary
    assert m["friendly"].id not in f.message_ids


def test_behaviour_words_without_the_matching_flag_do_not_map() -> None:
    """GIVEN "I'm outside" and "your car" with no flags and no refusal
    WHEN behaviours are mapped
    THEN nothing maps (location words need a surveillance flag, property words a threat flag)."""
    c = Chat()
    c.add(ME, "2026-02-01T10:00:00+00:00", "where are you?")
    c.add(HIM, "2026-02-01T10:01:00+00:00", "I'm outside, I followed the signs. your car is blocking mine")
    assert stalking_behaviours_detail(c.messages, tz=LONDON) == []
    assert of_kind(find_patterns(c.messages, tz=LONDON), "stalking_behaviours") == []


# Who is who ----------------------------------------------------------------------------------------------------
def test_unknown_identity_gives_no_findings_until_me_is_given() -> None:
    """GIVEN a chat whose export does not say who the user is
    WHEN patterns are found without and with me={'Priya Shah'}
    THEN nothing at first (and the chat is listed as unidentified), then the after-refusal finding."""
    c = Chat(identity=False)
    refusal = c.add(ME, "2026-02-01T21:40:00+00:00", "stop")
    c.series(HIM, "2026-02-02T10:00:00+00:00", 3, timedelta(hours=1))
    assert find_patterns(c.messages, tz=LONDON, refusal_ids={refusal.id}) == []
    assert unidentified_conversations(c.messages) == [("whatsapp", c.conversation)]
    assert unidentified_conversations(c.messages, me={ME}) == []
    [f] = of_kind(find_patterns(c.messages, tz=LONDON, me={ME}, refusal_ids={refusal.id}), "after_refusal")
    assert counts(f)["messages_after"] == 3


# Output shape and settings -------------------------------------------------------------------------------------
def test_finding_to_dict_is_json_ready_with_utc_times() -> None:
    """GIVEN findings from the stalking case
    WHEN each is turned into a dict
    THEN it serialises to JSON with kind, conversation, summary, counts, Z times and ids."""
    c, flags, _ = _stalking_case()
    for f in find_patterns(c.messages, flags, tz=LONDON):
        d = finding_to_dict(f)
        json.dumps(d)
        assert set(d) == {"kind", "conversation", "summary", "counts", "first", "last", "message_ids"}
        assert d["first"].endswith("Z") and d["last"].endswith("Z")
        assert d["counts"] == dict(f.counts) and d["message_ids"] == list(f.message_ids)
        assert "harassment detected" not in f.summary.lower()


def test_inputs_unchanged_duplicates_ignored_and_order_does_not_matter() -> None:
    """GIVEN the stalking case shuffled and with every message twice
    WHEN patterns are found
    THEN the findings equal those for the case as given."""
    c, flags, _ = _stalking_case()
    shuffled = list(reversed(c.messages)) + c.messages
    before = list(shuffled)
    assert find_patterns(shuffled, flags, tz=LONDON) == find_patterns(c.messages, flags, tz=LONDON)
    assert shuffled == before


def test_no_messages_no_findings() -> None:
    """GIVEN an empty case, and a case with only system lines
    WHEN patterns are found
    THEN there are no findings and nothing fails."""
    assert find_patterns([], tz=LONDON) == []
    c = Chat()
    c.add(None, "2026-02-28T20:00:00+00:00", "You blocked this contact.", kind=MessageKind.SYSTEM)
    assert find_patterns(c.messages, tz=LONDON) == []


def test_obsessive_by_volume_without_bursts() -> None:
    """GIVEN 12 messages after a refusal on one day, each 20 minutes apart (so no burst)
    WHEN the FOUR markers are assessed
    THEN Obsessive is present from the daily volume (12 a day, at or above obsessive_daily 10) alone."""
    c = Chat()
    refusal = c.add(ME, "2026-02-01T08:00:00+00:00", "stop")
    msgs = c.series(HIM, "2026-02-01T09:00:00+00:00", 12, timedelta(minutes=20))
    [fm] = four_markers_detail(c.messages, tz=LONDON, refusal_ids={refusal.id})
    obsessive = next(k for k in fm.markers if k.name == "obsessive")
    assert obsessive.present and obsessive.message_ids == tuple(m.id for m in msgs)
    assert dict(obsessive.figures) == {"conduct_per_active_day": 12.0, "bursts": 0, "max_burst": 0}


def test_settings_are_documented_frozen_and_checked() -> None:
    """GIVEN the settings class
    WHEN described, mutated or built with nonsense
    THEN each field has help text, the instance is frozen and bad values raise UsageError."""
    described = PatternSettings.describe()
    assert len(described) >= 15 and all(help_ for _, _, help_ in described)
    with pytest.raises(FrozenInstanceError):
        PatternSettings().burst_min = 3  # type: ignore[misc]
    for bad in ({"burst_min": 1}, {"flag_threshold": 1.5}, {"escalation_window": timedelta(hours=36)},
                {"burst_gap": timedelta(0)}):
        with pytest.raises(UsageError):
            PatternSettings(**bad)


def test_placeholder_owner_names_are_not_used_in_summaries() -> None:
    """GIVEN an SMS-style export that names the owner "Me" WHEN summarised THEN the user's real name is used."""
    from safetrail.analysis.patterns_context import _real_name

    assert not _real_name("Me") and not _real_name(" me ") and _real_name("Priya Shah")
