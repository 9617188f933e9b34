"""Evidence mapped to two published frameworks, per sender: the FOUR markers (Fixated, Obsessive, Unwanted,
Repeated) and the examples of behaviour associated with stalking in the Protection from Harassment Act 1997,
s.2A(3)(a)–(g).

"Conduct" here is a sender's messages that are flagged as possibly harmful, came after the user's first refusal in
that conversation, or came from an account that first wrote after a block or refusal and shares habits with the
earlier account (a ``new_identity_after_block`` link).

Must never: state that stalking happened, that a marker "proves" anything, or that the Act's test is met. It says
which indicators or listed behaviours the evidence touches, with the messages and figures behind each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from safetrail.analysis.patterns_context import (
    CaseView,
    ConversationView,
    Identity,
    plain_text,
    platform_label,
    plural,
)
from safetrail.analysis.patterns_identity import IdentityLink
from safetrail.analysis.patterns_timing import after_refusal_messages, find_bursts, occasions
from safetrail.model import Finding, Message

__all__ = [
    "ACT_BEHAVIOURS",
    "Behaviour",
    "FourMarkers",
    "Marker",
    "StalkingBehaviours",
    "assess_four_markers",
    "map_stalking_behaviours",
]

KIND_FOUR = "four_markers"
KIND_S2A = "stalking_behaviours"

SURVEILLANCE = "stalking_surveillance"

# Matched on plain_text(): casefolded, straight apostrophes.
_WHEREABOUTS = re.compile(
    r"\bwhere (?:are|r|were|was) (?:you|u)\b|\bwho (?:are|were|r) (?:you|u) with\b|\bwho (?:was|is) (?:that|he|she)\b"
    r"|\bwho's (?:that|he|she)\b|\byour (?:new )?(?:boyfriend|girlfriend|bf|gf|man|guy|fella|friends?|mates?|ex)\b"
    r"|\bthat (?:guy|girl|lad|bloke|man)\b|\bi know where\b|\byou were (?:at|with|in)\b|\bsaw you (?:at|with|in|on|get)"
    r"|\bi know you (?:were|went|go)\b|\bwhere you (?:live|are|were|go|work)\b")
_FOLLOW = re.compile(
    r"\bfollow(?:ed|ing)?\b|\bbehind you\b|\btrack(?:ed|ing)? (?:you|your)\b|\bwalked (?:past|behind)\b")
_LOITER = re.compile(
    r"\boutside\b|\bwaiting (?:for you|near|by|at|outside)\b|\bnear your\b|\bhang(?:ing)? around\b|\bparked\b"
    r"|\b(?:by|at) your (?:door|front door|house|flat|room|hall|halls|place|work|window)\b")
_WATCH = re.compile(
    r"\bsaw you\b|\bseen you\b|\bwatch(?:ed|ing)? (?:you|your)\b|\bi can see\b|\bi know you were\b|\byou were at\b"
    r"|\bspying\b|\bgetting off\b|\bget off the\b|\byour location\b|\bkeeping an eye\b")
_PUBLISH = re.compile(
    r"\bpost(?:ed|ing|s)?\b|\bshar(?:e|ed|ing)\b|\bupload\w*|\bpublish\w*|\bonline\b|\bput (?:it|them|this|these|those)"
    r"|\beveryone (?:will )?(?:see|sees|know|knows)\b|\bsend (?:it|them|this|these|those)\b|\bsend your\b"
    r"|\btell (?:everyone|your)\b|\bshow (?:everyone|your)\b|\bwrite to\b|\bthe group\b|\bleak\w*")
_MONITOR = re.compile(
    r"\bonline at\b|\b(?:you|u) (?:were|was) online\b|\bsaw (?:you|u) (?:were |was )?online\b|\blast seen\b"
    r"|\bwho (?:are|r) (?:you|u) (?:texting|messaging|talking to|chatting to|chatting with|on the phone)"
    r"|\bwho (?:were|was) (?:you|u) (?:texting|messaging|talking to|chatting)"
    r"|\b(?:you|u)(?:'ve| have)? read (?:it|my)\b"
    r"|\bblue ticks?\b|\bstill typing\b|\bi saw your (?:post|story|status|comment)|\bliked (?:his|her|their) \w+"
    r"|\byour (?:story|stories|posts?|instagram|insta|snap|snapchat|tiktok|facebook|profile|followers|likes)\b")
_PROPERTY = re.compile(
    r"\byour (?:bike|car|door|front door|tyres?|tires?|windows?|stuff|things|phone|laptop|house|flat|room|bag|keys"
    r"|lock|letterbox|plants?|cat|dog)\b")

# The Act's own words (s.2A(3)); the letters are the Act's.
ACT_BEHAVIOURS: tuple[tuple[str, str], ...] = (
    ("a", "following a person"),
    ("b", "contacting, or attempting to contact, a person by any means"),
    ("c", "publishing any statement or other material relating or purporting to relate to a person, or "
          "purporting to originate from a person"),
    ("d", "monitoring the use by a person of the internet, email or any other form of electronic communication"),
    ("e", "loitering in any place (whether public or private)"),
    ("f", "interfering with any property in the possession of a person"),
    ("g", "watching or spying on a person"),
)
_QUOTES = 3


@dataclass(frozen=True, slots=True)
class Marker:
    """One of the FOUR markers for one sender: whether the evidence shows it, the messages and the figures."""

    name: str  # "fixated", "obsessive", "unwanted", "repeated"
    present: bool
    message_ids: tuple[str, ...]
    figures: tuple[tuple[str, float], ...]


@dataclass(frozen=True, slots=True)
class FourMarkers:
    conversation: str
    who: Identity
    markers: tuple[Marker, ...]


@dataclass(frozen=True, slots=True)
class Behaviour:
    """One s.2A(3) example the evidence touches, with the messages and up to three quotations."""

    letter: str
    label: str
    message_ids: tuple[str, ...]
    quotes: tuple[str, ...]
    note: str  # what the evidence is, in plain words


@dataclass(frozen=True, slots=True)
class StalkingBehaviours:
    conversation: str
    who: Identity
    behaviours: tuple[Behaviour, ...]  # only those with evidence


def _linked(links: list[IdentityLink], who: Identity) -> IdentityLink | None:
    for link in links:
        if link.new == who:
            return link
    return None


def _conduct(view: CaseView, conv: ConversationView, who: Identity, link: IdentityLink | None) -> list[Message]:
    first = conv.first_refusal
    return [m for i, m in conv.from_other(who)
            if link is not None or view.harmful(m) or (first is not None and i > first)]


def assess_four_markers(view: CaseView, conv: ConversationView, links: list[IdentityLink]) -> list[FourMarkers]:
    """The FOUR markers for every other sender in one conversation (all four listed, present or not)."""
    if not conv.identity_known:
        return []
    s = view.settings
    bursts = find_bursts(view, conv)
    out = []
    for who in conv.others:
        link = _linked(links, who)
        conduct = _conduct(view, conv, who, link)
        conduct_ids = set(view.ids(conduct))
        fixated = [m for _, m in conv.from_other(who)
                   if view.flagged(m, SURVEILLANCE)
                   or (view.mid(m) in conduct_ids and _WHEREABOUTS.search(plain_text(m.text)))]
        mine = [b for b in bursts if b.who == who and any(view.mid(m) in conduct_ids for m in b.messages)]
        active_days = len({view.local_day(m) for m in conduct})
        per_day = len(conduct) / active_days if active_days else 0.0
        obsessive_ids = [m for b in mine for m in b.messages]
        if per_day >= s.obsessive_daily:
            obsessive_ids = sorted({view.mid(m): m for m in obsessive_ids + conduct}.values(),
                                   key=lambda m: m.timestamp.utc)
        after = after_refusal_messages(conv, who)
        first = conv.first_refusal
        unwanted = ([conv.messages[first]] if first is not None and after else []) + after
        if link is not None:
            unwanted = sorted({view.mid(m): m for m in unwanted + conduct}.values(), key=lambda m: m.timestamp.utc)
        groups = occasions(view, conduct)
        out.append(FourMarkers(conv.conversation, who, (
            Marker("fixated", len(fixated) >= s.fixated_min, view.ids(fixated), (("messages", len(fixated)),)),
            Marker("obsessive", bool(mine) or per_day >= s.obsessive_daily, view.ids(obsessive_ids),
                   (("conduct_per_active_day", round(per_day, 2)), ("bursts", len(mine)),
                    ("max_burst", max((len(b.messages) for b in mine), default=0)))),
            Marker("unwanted", bool(after) or link is not None, view.ids(unwanted),
                   (("messages_after_refusal", len(after)), ("after_block_elsewhere", int(link is not None)))),
            Marker("repeated", len(groups) >= s.min_occasions, view.ids(conduct),
                   (("occasions", len(groups)), ("conduct_messages", len(conduct)))),
        )))
    return out


def four_markers_findings(view: CaseView, conv: ConversationView, assessed: list[FourMarkers]) -> list[Finding]:
    findings = []
    for fm in assessed:
        present = [m for m in fm.markers if m.present]
        if not present:
            continue
        fig = {m.name: {k: int(v) for k, v in m.figures} for m in fm.markers}
        per_day = dict(next(m for m in fm.markers if m.name == "obsessive").figures)["conduct_per_active_day"]
        status = {m.name: ("present" if m.present else "not shown") for m in fm.markers}
        target = conv.target_name
        fixated = fig["fixated"]["messages"]
        obsessive = fig["obsessive"]
        bursts = (f"{plural(obsessive['bursts'], 'unanswered burst')} of up to {obsessive['max_burst']} messages"
                  if obsessive["bursts"] else "no unanswered bursts")
        unwanted = []
        if fig["unwanted"]["messages_after_refusal"]:
            unwanted.append(f"{plural(fig['unwanted']['messages_after_refusal'], 'message')} after {target} first "
                            "asked for no contact")
        if fig["unwanted"]["after_block_elsewhere"]:
            unwanted.append("this account first wrote after a block or refusal involving another account")
        parts = [
            f"Fixated {status['fixated']} ({plural(fixated, 'message') if fixated else 'no messages'} about "
            f"{target}'s whereabouts or company, or showing they were watched)",
            f"Obsessive {status['obsessive']} ({bursts}; on average {per_day:.1f} "
            "unwanted or flagged messages on each day there were any)",
            f"Unwanted {status['unwanted']} ({'; '.join(unwanted) or 'no messages after a request for no contact'})",
            f"Repeated {status['repeated']} ({plural(fig['repeated']['occasions'], 'separate occasion')})",
        ]
        summary = (f"FOUR markers for messages from {fm.who.label}: " + "; ".join(parts) + ". These markers are "
                   "indicators used in stalking risk guidance, not a finding of stalking.")
        ids = list(dict.fromkeys(i for m in fm.markers for i in m.message_ids))
        times = [view.by_id[i].timestamp.utc for i in ids]
        counts: list[tuple[str, float]] = [(m.name, int(m.present)) for m in fm.markers]
        counts.append(("markers_present", len(present)))
        counts += [(f"{m.name}_{k}" if k in ("messages",) else k, v) for m in fm.markers for k, v in m.figures]
        findings.append(Finding(
            kind=KIND_FOUR, conversation=fm.conversation, summary=summary, message_ids=tuple(ids),
            first=min(times, default=None), last=max(times, default=None), counts=tuple(counts)))
    return findings


def map_stalking_behaviours(view: CaseView, conv: ConversationView,
                            links: list[IdentityLink]) -> list[StalkingBehaviours]:
    """For every other sender in one conversation, the s.2A(3) examples that their messages touch."""
    if not conv.identity_known:
        return []
    out = []
    labels = dict(ACT_BEHAVIOURS)
    for who in conv.others:
        link = _linked(links, who)
        conduct_ids = set(view.ids(_conduct(view, conv, who, link)))
        hits: dict[str, list[Message]] = {letter: [] for letter, _ in ACT_BEHAVIOURS}
        after = after_refusal_messages(conv, who)
        # An account that first wrote after a block or refusal elsewhere: all its contact is contact after it.
        hits["b"] = [m for _, m in conv.from_other(who)] if link is not None else list(after)
        for _, m in conv.from_other(who):
            text = plain_text(m.text)
            if view.flagged(m, SURVEILLANCE):
                follow, loiter, watch = _FOLLOW.search(text), _LOITER.search(text), _WATCH.search(text)
                if follow:
                    hits["a"].append(m)
                if loiter:
                    hits["e"].append(m)
                if watch or not (follow or loiter):
                    hits["g"].append(m)
            if view.flagged(m, "doxxing") or (view.flagged(m, "blackmail_sextortion") and _PUBLISH.search(text)):
                hits["c"].append(m)
            if view.mid(m) in conduct_ids and _MONITOR.search(text):
                hits["d"].append(m)
            if view.flagged(m, "threat") and _PROPERTY.search(text):
                hits["f"].append(m)
        behaviours = []
        for letter, msgs in hits.items():
            if not msgs:
                continue
            if letter == "b" and link is not None:
                note = (f"{plural(len(msgs), 'message')} from an account that first wrote after a block or refusal "
                        f"involving {link.old.label} ({platform_label(link.old.platform)})")
                if after:
                    note += f", {len(after)} of them after {conv.target_name} first asked for no contact here"
            elif letter == "b":
                note = f"{plural(len(after), 'message')} after {conv.target_name} first asked for no contact"
            else:
                note = plural(len(msgs), "message")
            quoted = [m for m in msgs if m.text.strip()][:_QUOTES]
            behaviours.append(Behaviour(letter, labels[letter], view.ids(msgs), tuple(view.quote(m) for m in quoted),
                                        note))
        if behaviours:
            out.append(StalkingBehaviours(conv.conversation, who, tuple(behaviours)))
    return out


def stalking_behaviours_findings(view: CaseView, mapped: list[StalkingBehaviours]) -> list[Finding]:
    findings = []
    for sb in mapped:
        parts = []
        for b in sb.behaviours:
            example = f", e.g. {b.quotes[0]}" if b.quotes else ""
            parts.append(f"({b.letter}) {b.label}: {b.note}{example}")
        summary = (f"Messages from {sb.who.label} touch {plural(len(sb.behaviours), 'example')} of behaviour listed "
                   "in the Protection from Harassment Act 1997, s.2A(3): " + "; ".join(parts) + ". These are "
                   "behaviours the Act lists as examples of those associated with stalking; this is not a finding "
                   "of stalking.")
        ids = list(dict.fromkeys(i for b in sb.behaviours for i in b.message_ids))
        times = [view.by_id[i].timestamp.utc for i in ids]
        found = {b.letter: len(b.message_ids) for b in sb.behaviours}
        counts: list[tuple[str, float]] = [("behaviours", len(sb.behaviours))]
        counts += [(letter, found.get(letter, 0)) for letter, _ in ACT_BEHAVIOURS]
        findings.append(Finding(
            kind=KIND_S2A, conversation=sb.conversation, summary=summary, message_ids=tuple(ids),
            first=min(times), last=max(times), counts=tuple(counts)))
    return findings
