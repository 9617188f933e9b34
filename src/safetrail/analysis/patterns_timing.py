"""Time-based pattern rules for one conversation: contact after refusal, course of conduct, unanswered bursts, night
contact and escalation. Each returns ``Finding`` values that list the messages behind them.

Who is "the other party": every sender in the conversation who is not the user. A conversation where that cannot
be told (``ConversationView.identity_known`` is false) gives no findings here.

Must never: call anything a crime or a course of conduct as fact ("may amount to" at most), count a system line as
contact, or read local wall-clock times other than by converting the UTC instant to the user's zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from safetrail.analysis.patterns_context import (
    MONTHS,
    CaseView,
    ConversationView,
    Identity,
    Side,
    duration,
    identity_of,
    is_contact,
    plural,
)
from safetrail.model import Finding, Message

__all__ = [
    "Burst",
    "after_refusal_findings",
    "after_refusal_messages",
    "conduct_messages",
    "course_of_conduct_findings",
    "escalation_findings",
    "find_bursts",
    "night_findings",
    "occasions",
    "unanswered_burst_findings",
]

KIND_AFTER_REFUSAL = "after_refusal"
KIND_COURSE = "course_of_conduct"
KIND_BURST = "unanswered_burst"
KIND_NIGHT = "night_contact"
KIND_ESCALATION = "escalation"

_NO_CONTACT = "asked for no contact"


# Contact after refusal -----------------------------------------------------------------------------------------
def after_refusal_messages(conv: ConversationView, who: Identity) -> list[Message]:
    """Messages and calls from ``who`` placed after the user's first refusal in this conversation."""
    first = conv.first_refusal
    if first is None:
        return []
    return [m for i, m in conv.from_other(who) if i > first]


def after_refusal_findings(view: CaseView, conv: ConversationView) -> list[Finding]:
    first = conv.first_refusal
    if first is None:
        return []
    refusal = conv.messages[first]
    refusals = [conv.messages[i] for i in conv.refusal_positions]
    findings = []
    for who in conv.others:
        after = after_refusal_messages(conv, who)
        if not after:
            continue
        days = {view.local_day(m) for m in after}
        span = after[-1].timestamp.utc - refusal.timestamp.utc
        repeated = len(refusals) - 1
        on_days = "on 1 day" if len(days) == 1 else f"on {len(days)} different days"
        summary = (f"{plural(len(after), 'message')} from {who.label} came after {conv.target_name} first "
                   f"{_NO_CONTACT} on {view.when(refusal.timestamp.utc)} ({duration(span)}, {on_days}).")
        if repeated:
            again = {1: "once", 2: "twice"}.get(repeated, f"{repeated} more times")
            summary += f" {conv.target_name} asked again {again}."
        findings.append(Finding(
            kind=KIND_AFTER_REFUSAL, conversation=conv.conversation, summary=summary,
            message_ids=view.ids(refusals) + view.ids(after),
            first=refusal.timestamp.utc, last=after[-1].timestamp.utc,
            counts=(("messages_after", len(after)), ("days", len(days)),
                    ("span_days", round(span.total_seconds() / 86400, 1)), ("refusals_repeated", repeated)),
        ))
    return findings


# Course of conduct ---------------------------------------------------------------------------------------------
def conduct_messages(view: CaseView, conv: ConversationView, who: Identity) -> list[Message]:
    """Messages from ``who`` that are flagged as possibly harmful (any category but refusal) or came after the
    user's first refusal."""
    first = conv.first_refusal
    return [m for i, m in conv.from_other(who)
            if view.harmful(m) or (first is not None and i > first)]


def occasions(view: CaseView, messages: list[Message]) -> list[list[Message]]:
    """Split time-ordered messages into occasions: a new one starts after a gap of at least ``occasion_gap``, or on
    a new local day when ``occasion_splits_at_midnight`` is set."""
    groups: list[list[Message]] = []
    for m in messages:
        if groups:
            prev = groups[-1][-1]
            gap = m.timestamp.utc - prev.timestamp.utc
            new_day = view.settings.occasion_splits_at_midnight and view.local_day(m) != view.local_day(prev)
            if gap < view.settings.occasion_gap and not new_day:
                groups[-1].append(m)
                continue
        groups.append([m])
    return groups


def course_of_conduct_findings(view: CaseView, conv: ConversationView) -> list[Finding]:
    findings = []
    first = conv.first_refusal
    for who in conv.others:
        conduct = conduct_messages(view, conv, who)
        groups = occasions(view, conduct)
        if len(groups) < view.settings.min_occasions:
            continue
        days = sorted({view.local_day(m) for m in conduct})
        spanned = (days[-1] - days[0]).days + 1
        flagged = sum(1 for m in conduct if view.harmful(m))
        after = len(after_refusal_messages(conv, who))
        parts = []
        if flagged:
            parts.append(f"{flagged} flagged as possibly harmful")
        if after:
            parts.append(f"{after} after {conv.target_name} first {_NO_CONTACT}")
        summary = (f"{who.label} sent {plural(len(conduct), 'message')} ({', '.join(parts)}) on "
                   f"{len(groups)} separate occasions over {plural(spanned, 'day')}, from "
                   f"{view.day(conduct[0].timestamp.utc)} to {view.day(conduct[-1].timestamp.utc)}. Conduct on two "
                   "or more occasions may amount to a course of conduct; whether it does is for the police and "
                   "courts to decide.")
        refusal_ids = (view.mid(conv.messages[first]),) if first is not None and after else ()
        findings.append(Finding(
            kind=KIND_COURSE, conversation=conv.conversation, summary=summary,
            message_ids=refusal_ids + view.ids(conduct),
            first=conduct[0].timestamp.utc, last=conduct[-1].timestamp.utc,
            counts=(("occasions", len(groups)), ("messages", len(conduct)), ("days_spanned", spanned),
                    ("distinct_days", len(days)), ("flagged", flagged), ("after_refusal", after)),
        ))
    return findings


# Unanswered bursts ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Burst:
    """Messages in a row from one sender, each within ``burst_gap`` of the one before, with no reply from the user."""

    who: Identity
    messages: tuple[Message, ...]


def find_bursts(view: CaseView, conv: ConversationView) -> list[Burst]:
    """Every unanswered burst in the conversation, in time order of their first message.

    Only a message or call from the user ends a burst early; in a group chat, other members' messages neither
    break a sender's run nor count in it. Messages known only to the day are left out: their order is unknown.
    """
    if not conv.identity_known:
        return []
    s = view.settings
    runs: dict[Identity, list[Message]] = {}
    done: list[Burst] = []

    def close(who: Identity) -> None:
        run = runs.pop(who, [])
        if len(run) >= s.burst_min:
            done.append(Burst(who, tuple(run)))

    for m, side in zip(conv.messages, conv.sides, strict=True):
        if not is_contact(m) or not view.has_clock_time(m):
            continue
        if side is Side.ME:
            for who in list(runs):
                close(who)
            continue
        who = identity_of(m)
        run = runs.get(who)
        if run and m.timestamp.utc - run[-1].timestamp.utc <= s.burst_gap:
            run.append(m)
        else:
            close(who)
            runs[who] = [m]
    for who in list(runs):
        close(who)
    done.sort(key=lambda b: b.messages[0].timestamp.utc)
    return done


def unanswered_burst_findings(view: CaseView, conv: ConversationView) -> list[Finding]:
    bursts = find_bursts(view, conv)
    per_sender: dict[Identity, list[Burst]] = {}
    for b in bursts:
        per_sender.setdefault(b.who, []).append(b)
    findings = []
    gap = view.settings.burst_gap
    gap_text = plural(int(gap.total_seconds() // 60), "minute") if gap % timedelta(minutes=1) == timedelta(0) \
        else plural(int(gap.total_seconds()), "second")
    number: dict[Identity, int] = {}
    for b in bursts:
        mine = per_sender[b.who]
        number[b.who] = number.get(b.who, 0) + 1
        start, end = b.messages[0].timestamp.utc, b.messages[-1].timestamp.utc
        if view.local(start).date() == view.local(end).date():
            when = f"between {view.clock(start)} and {view.clock(end)} on {view.day(start)}"
        else:
            when = f"between {view.when(start)} and {view.when(end)}"
        summary = (f"{b.who.label} sent {len(b.messages)} messages in a row {when}, each within {gap_text} of the "
                   "one before, with no reply in between.")
        findings.append(Finding(
            kind=KIND_BURST, conversation=conv.conversation, summary=summary, message_ids=view.ids(b.messages),
            first=start, last=end,
            counts=(("messages", len(b.messages)), ("burst_number", number[b.who]), ("bursts", len(mine)),
                    ("max_burst", max(len(x.messages) for x in mine)),
                    ("minutes", round((end - start).total_seconds() / 60, 1))),
        ))
    return findings


# Night contact -------------------------------------------------------------------------------------------------
def is_night(view: CaseView, instant: datetime) -> bool:
    t = view.local(instant).time()
    start, end = view.settings.night_start, view.settings.night_end
    if start > end:
        return t >= start or t < end
    return start <= t < end


def night_of(view: CaseView, instant: datetime) -> date:
    """The date the night began: 02:00 on the 8th belongs to the night of the 7th."""
    local = view.local(instant)
    if view.settings.night_start > view.settings.night_end and local.time() < view.settings.night_end:
        return local.date() - timedelta(days=1)
    return local.date()


def _day_text(d: date) -> str:
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def night_findings(view: CaseView, conv: ConversationView) -> list[Finding]:
    findings = []
    s = view.settings
    for who in conv.others:
        timed = [m for _, m in conv.from_other(who) if view.has_clock_time(m)]
        night = [m for m in timed if is_night(view, m.timestamp.utc)]
        if not night:
            continue
        nights = {night_of(view, m.timestamp.utc) for m in night}
        share = len(night) / len(timed)
        if len(timed) == 1:
            how_many = f"The one message from {who.label} came"
        elif len(night) == len(timed):
            every = "Both" if len(timed) == 2 else f"All {len(timed)}"
            how_many = f"{every} messages from {who.label} came"
        else:
            how_many = f"{len(night)} of the {len(timed)} messages from {who.label} ({share:.0%}) came"
        first_night, last_night = min(nights), max(nights)
        which = (f"on the night of {_day_text(first_night)}" if len(nights) == 1 else
                 f"on {len(nights)} nights from {_day_text(first_night)} to {_day_text(last_night)}")
        summary = (f"{how_many} between {s.night_start:%H:%M} and {s.night_end:%H:%M} {view.tz.key} time, "
                   f"{which}.")
        findings.append(Finding(
            kind=KIND_NIGHT, conversation=conv.conversation, summary=summary, message_ids=view.ids(night),
            first=night[0].timestamp.utc, last=night[-1].timestamp.utc,
            counts=(("messages", len(night)), ("total", len(timed)), ("share", round(share, 3)),
                    ("nights", len(nights))),
        ))
    return findings


# Escalation ----------------------------------------------------------------------------------------------------
def _slope(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of value over window number."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if sxx == 0:
        return 0.0
    return sum((x - mx) * (y - my) for x, y in points) / sxx


def _direction(slope: float, tolerance: float) -> int:
    return 1 if slope > tolerance else -1 if slope < -tolerance else 0


_TREND = {1: "rising", 0: "steady", -1: "falling"}


def escalation_findings(view: CaseView, conv: ConversationView) -> list[Finding]:
    """Rate (messages a day) and severity (mean of each message's highest harm score) per window, per sender.

    Windows run from local midnight of the sender's first message; the last one ends on the day of their last
    message, so its rate divides by the days it covers. Severity is only assessed when flags were given.
    """
    s = view.settings
    width = s.escalation_window.days
    findings = []
    for who in conv.others:
        msgs = [m for _, m in conv.from_other(who)]
        if not msgs:
            continue
        d0, d_last = view.local_day(msgs[0]), view.local_day(msgs[-1])
        n = (d_last - d0).days // width + 1
        if n < s.escalation_min_windows:
            continue
        buckets: list[list[Message]] = [[] for _ in range(n)]
        for m in msgs:
            buckets[(view.local_day(m) - d0).days // width].append(m)
        rates = []
        for i, bucket in enumerate(buckets):
            days = width if i < n - 1 else (d_last - d0).days - i * width + 1
            rates.append(len(bucket) / days)
        mean_rate = sum(rates) / n
        rate_slope = _slope(list(enumerate(rates)))
        rate_dir = _direction(rate_slope, s.escalation_rate_tolerance * mean_rate)
        unit = "week" if width == 7 else f"{width}-day period"
        counts: list[tuple[str, float]] = [
            ("windows", n), ("window_days", width), ("rate_trend", rate_dir), ("rate_slope", round(rate_slope, 3)),
            ("rate_first", round(rates[0], 3)), ("rate_last", round(rates[-1], 3))]
        summary = (f"Over {plural(n, unit)} from {view.day(msgs[0].timestamp.utc)} to "
                   f"{view.day(msgs[-1].timestamp.utc)}, the number of messages a day from {who.label} was "
                   f"{_TREND[rate_dir]} (first {unit} {rates[0]:.1f}, last {unit} {rates[-1]:.1f}).")
        severities = [(i, sum(view.harm(m) for m in b) / len(b)) for i, b in enumerate(buckets) if b]
        if view.has_flags and len(severities) >= 2:
            sev_slope = _slope(severities)
            sev_dir = _direction(sev_slope, s.escalation_severity_tolerance)
            counts += [("severity_trend", sev_dir), ("severity_slope", round(sev_slope, 3)),
                       ("severity_first", round(severities[0][1], 3)), ("severity_last", round(severities[-1][1], 3))]
            summary += (f" The average harm score of their messages was {_TREND[sev_dir]} (from "
                        f"{severities[0][1]:.2f} to {severities[-1][1]:.2f}).")
        else:
            summary += " Severity was not assessed because no flags were given."
        sev_by_window = dict(severities)
        for i, bucket in enumerate(buckets):
            counts += [(f"window_{i + 1}_messages", len(bucket)), (f"window_{i + 1}_rate", round(rates[i], 3))]
            if view.has_flags and i in sev_by_window:
                counts.append((f"window_{i + 1}_severity", round(sev_by_window[i], 3)))
        findings.append(Finding(
            kind=KIND_ESCALATION, conversation=conv.conversation, summary=summary, message_ids=view.ids(msgs),
            first=msgs[0].timestamp.utc, last=msgs[-1].timestamp.utc, counts=tuple(counts),
        ))
    return findings
