"""Shared ground for the conversation-pattern rules: settings, who is who, flags by message, local time and wording.

Every rule in ``patterns_*`` reads the case through one ``CaseView``: messages de-duplicated by id and sorted by time
(ties keep the order they were given, which is the export's order), grouped by platform and conversation, each
message labelled as the user's (``Side.ME``), someone else's (``Side.OTHER``) or undecidable (``Side.UNKNOWN``), and
the analysis flags reduced to one score per message and category.

Must never: decide whether anything is a crime, change or re-order its inputs in place, read files, call a model, or
phrase anything as a verdict. Wording helpers here produce calm, plain, factual text only.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from safetrail.errors import UsageError
from safetrail.model import Flag, Message, MessageKind, Precision

__all__ = [
    "DEFAULT_SETTINGS",
    "MONTHS",
    "REFUSAL",
    "CaseView",
    "ConversationView",
    "Identity",
    "PatternSettings",
    "Side",
    "duration",
    "identity_of",
    "is_contact",
    "join_words",
    "plain_text",
    "platform_label",
    "plural",
    "quote_text",
]

REFUSAL = "refusal"

_SIX_HOURS = timedelta(hours=6)
_TEN_MINUTES = timedelta(minutes=10)
_ONE_WEEK = timedelta(days=7)
_NIGHT_START = time(22, 0)
_NIGHT_END = time(6, 0)


# Exports that do not know the owner's name write a word for "me" (SMS backups: "Me"); a summary reads better
# with the name the user has elsewhere, or "the account holder".
_PLACEHOLDER_NAMES = frozenset({"me", "you", "ich", "yo", "moi", "eu", "io", "ik"})


def _real_name(name: str) -> bool:
    return bool(name) and name.strip().lower() not in _PLACEHOLDER_NAMES


@dataclass(frozen=True, slots=True)
class PatternSettings:
    """Every tunable figure of the pattern rules, with its default and what it means (``describe()`` lists them)."""

    flag_threshold: float = field(default=0.0, metadata={
        "help": "A flag counts when its score is at least this (0 to 1), for harm categories and refusals. The "
                "default 0 counts every flag given: the classifier only emits a flag once its own calibrated "
                "per-category threshold is reached. Raise it to use only the surer flags."})
    occasion_gap: timedelta = field(default=_SIX_HOURS, metadata={
        "help": "Two pieces of conduct at least this far apart are separate occasions."})
    occasion_splits_at_midnight: bool = field(default=True, metadata={
        "help": "Conduct on a different local calendar day is a separate occasion even if the gap is shorter."})
    min_occasions: int = field(default=2, metadata={
        "help": "Fewest occasions for a course_of_conduct finding (the law speaks of at least two)."})
    burst_min: int = field(default=5, metadata={
        "help": "Fewest messages in a row, with no reply from the user, that make an unanswered burst."})
    burst_gap: timedelta = field(default=_TEN_MINUTES, metadata={
        "help": "Largest gap between one message of a burst and the next (a gap exactly this long still counts)."})
    night_start: time = field(default=_NIGHT_START, metadata={
        "help": "Local time (in the user's zone) at which night starts, inclusive."})
    night_end: time = field(default=_NIGHT_END, metadata={
        "help": "Local time at which night ends, exclusive."})
    escalation_window: timedelta = field(default=_ONE_WEEK, metadata={
        "help": "Length of each time window compared for escalation (whole days)."})
    escalation_min_windows: int = field(default=3, metadata={
        "help": "Fewest windows needed before a trend is reported."})
    escalation_rate_tolerance: float = field(default=0.10, metadata={
        "help": "A rate trend is rising/falling when the fitted change per window exceeds this share of the mean "
                "rate; otherwise it is steady."})
    escalation_severity_tolerance: float = field(default=0.02, metadata={
        "help": "A severity trend is rising/falling when the fitted change per window exceeds this (scores are "
                "0 to 1); otherwise it is steady."})
    identity_min_score: int = field(default=3, metadata={
        "help": "Evidence needed to link a new sender to an earlier one: a shared phrase of 3 words scores 1, "
                "of 4 or more words 2, a shared sign-off 2 (pet names and emoji are reported but do not score)."})
    identity_max_phrase_words: int = field(default=12, metadata={
        "help": "Longest shared phrase quoted when linking identities, in words."})
    emoji_habit_min: int = field(default=2, metadata={
        "help": "An emoji is a habit of a sender when it appears in at least this many of their messages."})
    fixated_min: int = field(default=2, metadata={
        "help": "Fewest messages about the user's whereabouts or relationships for the Fixated marker."})
    obsessive_daily: float = field(default=10.0, metadata={
        "help": "Unwanted messages per active day at or above which the Obsessive marker is present."})
    quote_chars: int = field(default=80, metadata={
        "help": "Longest quotation of a message in a summary, in characters."})

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not 0.0 <= self.flag_threshold <= 1.0:
            problems.append("flag_threshold must be between 0 and 1")
        for name in ("occasion_gap", "burst_gap"):
            if getattr(self, name) <= timedelta(0):
                problems.append(f"{name} must be longer than zero")
        window = self.escalation_window
        if window < timedelta(days=1) or window % timedelta(days=1):
            problems.append("escalation_window must be a whole number of days")
        if self.min_occasions < 1:
            problems.append("min_occasions must be at least 1")
        if self.burst_min < 2:
            problems.append("burst_min must be at least 2")
        if self.escalation_min_windows < 2:
            problems.append("escalation_min_windows must be at least 2")
        if self.night_start == self.night_end:
            problems.append("night_start and night_end must differ")
        if min(self.identity_min_score, self.identity_max_phrase_words - 2, self.emoji_habit_min,
               self.fixated_min, self.quote_chars - 10) < 1:
            problems.append("identity_min_score, emoji_habit_min and fixated_min must be at least 1, "
                            "identity_max_phrase_words at least 3 and quote_chars at least 11")
        if self.escalation_rate_tolerance < 0 or self.escalation_severity_tolerance < 0 or self.obsessive_daily <= 0:
            problems.append("tolerances cannot be negative and obsessive_daily must be above zero")
        if problems:
            raise UsageError("These pattern settings cannot be used: " + "; ".join(problems) + ".",
                             hint="Leave a setting out to use its default.")

    @classmethod
    def describe(cls) -> tuple[tuple[str, object, str], ...]:
        """Each setting as (name, default, help), in declaration order, for docs and ``--help`` output."""
        return tuple((f.name, f.default, str(f.metadata["help"])) for f in fields(cls))


DEFAULT_SETTINGS = PatternSettings()


class Side(Enum):
    ME = "me"
    OTHER = "other"
    UNKNOWN = "unknown"  # neither Message.from_me nor the ``me`` names decide it
    NONE = "none"  # a system line: nobody sent it


@dataclass(frozen=True, slots=True)
class Identity:
    """One sender identity: an account, number or address on one platform. Display names may vary; the key rules."""

    platform: str
    key: str
    name: str = field(compare=False)

    @property
    def label(self) -> str:
        return self.name or self.key or "an unnamed sender"


def identity_of(message: Message) -> Identity:
    sender = message.sender
    if sender is None:
        return Identity(message.platform, "", "")
    return Identity(message.platform, sender.platform_id or sender.name, sender.name or sender.platform_id or "")


def is_contact(message: Message) -> bool:
    """A message or call someone sent; system lines are not contact."""
    return message.kind in (MessageKind.MESSAGE, MessageKind.CALL)


@dataclass(frozen=True, slots=True)
class ConversationView:
    """One conversation's messages in time order and what is known about who is who in it."""

    platform: str
    conversation: str
    messages: tuple[Message, ...]
    sides: tuple[Side, ...]
    identity_known: bool
    target_name: str
    others: tuple[Identity, ...]
    refusal_positions: tuple[int, ...]
    positions: dict[Identity, tuple[int, ...]] = field(compare=False)  # each other sender's messages and calls

    def from_other(self, who: Identity) -> list[tuple[int, Message]]:
        """(position, message) for every message or call from ``who`` in this conversation."""
        return [(i, self.messages[i]) for i in self.positions.get(who, ())]

    @property
    def first_refusal(self) -> int | None:
        return self.refusal_positions[0] if self.refusal_positions else None


class CaseView:
    """The whole case as the rules read it. Built once per ``find_patterns`` call; never mutates its inputs."""

    __slots__ = ("_harm", "_mid", "by_id", "conversations", "has_flags", "me", "messages", "refusal_ids", "scores",
                 "settings", "tz")

    def __init__(self, messages: Iterable[Message], flags: Iterable[Flag], *, tz: ZoneInfo,
                 me: Collection[str] | None, settings: PatternSettings, refusal_ids: Collection[str]) -> None:
        self.tz = tz
        self.settings = settings
        self.me = frozenset(me) if me is not None else None
        self.refusal_ids = frozenset(refusal_ids)
        # Message.id hashes on every access; the rules ask for it often, so each kept message's id is computed once
        # and looked up by object identity (the messages live as long as this view).
        self._mid: dict[int, str] = {}
        self.by_id: dict[str, Message] = {}
        for m in messages:
            mid = m.id
            if mid not in self.by_id:
                self.by_id[mid] = m
                self._mid[id(m)] = mid
        # sorted() is stable: messages at the same instant keep the export's order, which is the best order known.
        self.messages: tuple[Message, ...] = tuple(sorted(self.by_id.values(), key=lambda m: m.timestamp.utc))
        self.scores: dict[str, dict[str, float]] = {}
        has_flags = False
        for f in flags:
            has_flags = True
            per = self.scores.setdefault(f.message_id, {})
            if f.score > per.get(f.category, -math.inf):
                per[f.category] = f.score
        self.has_flags = has_flags
        self._harm = {mid: max((v for c, v in per.items() if c != REFUSAL), default=0.0)
                      for mid, per in self.scores.items()}
        self.conversations = self._group()

    def mid(self, message: Message) -> str:
        """The message's id (cached)."""
        return self._mid.get(id(message)) or message.id

    def ids(self, messages: Iterable[Message]) -> tuple[str, ...]:
        return tuple(self.mid(m) for m in messages)

    def side(self, message: Message) -> Side:
        if not is_contact(message):
            return Side.NONE
        if message.from_me is not None:
            return Side.ME if message.from_me else Side.OTHER
        if self.me is not None and message.sender is not None:
            names = {message.sender.name, message.sender.platform_id}
            return Side.ME if names & self.me else Side.OTHER
        return Side.UNKNOWN

    def _group(self) -> tuple[ConversationView, ...]:
        groups: dict[tuple[str, str], list[Message]] = {}
        for m in self.messages:
            groups.setdefault((m.platform, m.conversation), []).append(m)
        # A conversation where the user never wrote (or the export gives no name) borrows the name they use most.
        names = Counter(m.sender_name for m in self.messages
                        if _real_name(m.sender_name) and self.side(m) is Side.ME)
        case_name = names.most_common(1)[0][0] if names else "the account holder"
        views = []
        for (platform, conversation), msgs in groups.items():
            sides = tuple(self.side(m) for m in msgs)
            known = all(s is not Side.UNKNOWN for s in sides)
            others: dict[Identity, list[int]] = {}
            target_name = ""
            refusals: list[int] = []
            if known:
                for i, (m, s) in enumerate(zip(msgs, sides, strict=True)):
                    if s is Side.OTHER:
                        others.setdefault(identity_of(m), []).append(i)
                    elif s is Side.ME:
                        target_name = target_name or (m.sender_name if _real_name(m.sender_name) else "")
                        if self.is_refusal(m):
                            refusals.append(i)
            views.append(ConversationView(platform, conversation, tuple(msgs), sides, known,
                                          target_name or case_name, tuple(others), tuple(refusals),
                                          {who: tuple(pos) for who, pos in others.items()}))
        return tuple(views)

    # Flags -----------------------------------------------------------------------------------------------------
    def flagged(self, message: Message, category: str) -> bool:
        score = self.scores.get(self.mid(message), {}).get(category)
        return score is not None and score >= self.settings.flag_threshold

    def is_refusal(self, message: Message) -> bool:
        return self.mid(message) in self.refusal_ids or self.flagged(message, REFUSAL)

    def harm(self, message: Message) -> float:
        """The highest harm score on a message (any category but refusal); 0 when it has no flags."""
        return self._harm.get(self.mid(message), 0.0)

    def harmful(self, message: Message) -> bool:
        """Flagged in any category but refusal, at or above the threshold."""
        per = self.scores.get(self.mid(message))
        return per is not None and any(c != REFUSAL and v >= self.settings.flag_threshold for c, v in per.items())

    # Local time ------------------------------------------------------------------------------------------------
    def local(self, instant: datetime) -> datetime:
        """The instant on the user's wall clock; conversion from UTC is what makes DST changes come out right."""
        return instant.astimezone(self.tz)

    def local_day(self, message: Message) -> date:
        return self.local(message.timestamp.utc).date()

    def has_clock_time(self, message: Message) -> bool:
        return message.timestamp.precision is not Precision.DAY

    # Wording ---------------------------------------------------------------------------------------------------
    def when(self, instant: datetime) -> str:
        """'1 Feb 2026 at 21:40 GMT': local, with the zone's abbreviation so BST/GMT is never in doubt."""
        t = self.local(instant)
        return f"{self.day(instant)} at {t:%H:%M} {t.tzname()}"

    def clock(self, instant: datetime) -> str:
        t = self.local(instant)
        return f"{t:%H:%M} {t.tzname()}"

    def day(self, instant: datetime) -> str:
        t = self.local(instant)
        return f"{t.day} {MONTHS[t.month - 1]} {t.year}"

    def quote(self, message: Message) -> str:
        return quote_text(message.text, self.settings.quote_chars)


_INVISIBLE = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def plain_text(text: str) -> str:
    """A matching copy: NFKC, casefolded, invisible direction marks removed, curly apostrophes made straight."""
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", text)).casefold().replace("’", "'").replace("‘", "'")


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def quote_text(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return f"“{flat}”"


_PLATFORMS = {"whatsapp": "WhatsApp", "telegram": "Telegram", "instagram": "Instagram", "messenger": "Messenger",
              "facebook": "Facebook", "sms": "SMS", "mms": "MMS", "email": "email", "imessage": "iMessage",
              "signal": "Signal", "discord": "Discord", "x": "X", "twitter": "X", "slack": "Slack",
              "linkedin": "LinkedIn", "snapchat": "Snapchat", "google_chat": "Google Chat", "ocr": "screenshots"}


def platform_label(platform: str) -> str:
    return _PLATFORMS.get(platform.casefold(), platform)


def plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count} {word if count == 1 else (words or word + 's')}"


def duration(span: timedelta) -> str:
    """'over 26 days', 'over 3 hours', 'within an hour': rounded down, so a figure is never overstated."""
    seconds = span.total_seconds()
    if seconds >= 86400:
        return "over " + plural(int(seconds // 86400), "day")
    if seconds >= 3600:
        return "over " + plural(int(seconds // 3600), "hour")
    return "within an hour"


def join_words(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
