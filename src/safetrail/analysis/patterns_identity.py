"""New sender identities after a block or refusal that write like an earlier sender (``new_identity_after_block``).

A sender identity is one account, number or address on one platform. An identity is *new* when its first message
comes after a block event or a refusal in a conversation with an earlier identity. The two are linked when they
share distinctive habits, each quoted as evidence: phrases of three or more words that hold at least two
non-function words and are not a habit of the user's own (a phrase the user wrote once is kept: people quote the
words they are reporting), and sign-offs such as "— L". A phrase scores 1, or 2 from four words on, a sign-off 2,
and the bar is 3 by default, so two habits are needed and one stock phrase such as a birthday greeting never links
two people. Shared pet names, emoji habits and a character n-gram similarity are reported as support only: they are
common among people who simply know each other.

Must never: say two accounts are the same person (it says they share habits, which is a reason to ask), link on
the user's own habits, forwarded text, deleted-message or media placeholders, or links, or treat the user as a
suspect identity.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from safetrail.analysis.patterns_context import (
    CaseView,
    ConversationView,
    Identity,
    Side,
    identity_of,
    join_words,
    plain_text,
    platform_label,
)
from safetrail.model import Finding, Message, MessageKind

__all__ = ["BlockEvent", "IdentityLink", "block_events", "find_identity_links", "identity_findings"]

KIND_NEW_IDENTITY = "new_identity_after_block"

# System lines that record the user blocking a contact. Matched on the casefolded text with invisible marks removed;
# the word boundary before "blocked"/"bloqu…" keeps "unblocked", "desbloqueaste" and the like out.
_BLOCK = re.compile(
    r"(?:^|\W)(?:"
    r"you(?:'ve| have)? blocked\b"  # WhatsApp, Signal, Messenger/Instagram, Telegram clients (en)
    r"|blocked this (?:contact|number|person|user|account|business)\b"
    r"|du hast (?:diesen kontakt|diese nummer|\S+) blockiert"  # de
    r"|vous avez bloqué\b|tu as bloqué\b"  # fr
    r"|(?:has )?bloqueado a\b|bloqueaste a\b|bloqueaste este\b"  # es
    r"|você bloqueou\b|bloqueou este\b"  # pt-BR / pt-PT
    r"|hai bloccato\b"  # it
    r"|je hebt (?:dit contact|deze \w+|\S+) geblokkeerd|u heeft .* geblokkeerd"  # nl
    r"|engellediniz\b"  # tr
    r"|вы заблокировали\b"  # ru
    r")")

# Platform placeholders and links are text nobody chose to write; shared, they would link any two people.
_PLACEHOLDER = re.compile(
    r"https?://\S+|www\.\S+|<[^>]{1,60}>|\b(?:this message was deleted|you deleted this message|"
    r"(?:image|video|audio|sticker|gif|document|contact card) omitted|missed (?:voice|video) call|"
    r"waiting for this message|\S+\.(?:jpe?g|png|gif|mp4|opus|pdf|vcf|webp) \(file attached\))", re.IGNORECASE)
# Habits show in ordinary messages; a pasted essay adds nothing but cost, so only its end (where a sign-off
# would be) is read for style.
_STYLE_CHARS = 4000
_SYSTEM_LINE_MAX = 500  # platform block notices are one short line
_TOKEN = re.compile(r"\w+(?:'\w+)*")
# "— L", "-Liam", "~J": a dash and a capitalised name or initial closing the message.
_SIGNOFF = re.compile(r"(?:^|\s)([-–—~]{1,2})\s?([^\W\d_]{1,12})\.?\s*$")
_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff]")

_STOPWORD_TEXT = """
a about after again all am an and any are aren't as at be because been before being both but by can can't cannot
could couldn't did didn't do does doesn't doing don't down during each few for from further get got had hadn't has
hasn't have haven't having he he'd he'll he's her here here's hers herself him himself his how how's i i'd i'll i'm
i've if in into is isn't it it's its itself just let's me more most mustn't my myself no nor not now of off on once
only or other ought our ours ourselves out over own same shan't she she'd she'll she's should shouldn't so some such
than that that's the their theirs them themselves then there there's these they they'd they'll they're they've this
those through to too under until up very was wasn't we we'd we'll we're we've were weren't what what's when when's
where where's which while who who's whom why why's will with won't would wouldn't you you'd you'll you're you've
your yours yourself yourselves u ur r im ok okay yeah yes oh lol like know think want going go gonna really well
also even still back one thing things something see say said tell told
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())

_PET_ANYWHERE = frozenset((
    "babe", "babes", "baby", "babygirl", "bubba", "hun", "hunny", "hon", "honey", "sweetheart", "sweetie", "darling",
    "darlin", "princess", "bae", "boo", "cutie", "treacle", "petal", "kitten", "sweetpea"))
_PET_VOCATIVE = ("love", "angel", "beautiful", "gorgeous", "sexy", "pet", "sugar", "duck", "chick", "queen", "doll")
_VOCATIVE = re.compile(r"(?:^|[,.!?]\s*|\b(?:hey|hi|hiya|hello|morning|night|bye|oi|my)\s+)(" +
                       "|".join(_PET_VOCATIVE) + r")(?=\s*(?:[,.!?\u2600-\u27bf\U0001f000-\U0001faff]|$))")


@dataclass(frozen=True, slots=True)
class BlockEvent:
    """A block or a refusal that a new identity came after."""

    conversation: ConversationView
    message: Message
    kind: str  # "block" or "refusal"


@dataclass(frozen=True, slots=True)
class IdentityLink:
    """An identity that appeared after a block or refusal and shares habits with an earlier one."""

    old: Identity
    new: Identity
    event: BlockEvent
    new_conversation: str
    phrases: tuple[str, ...]  # quoted as the new identity wrote them
    signoffs: tuple[str, ...]
    pet_names: tuple[str, ...]
    emoji: tuple[str, ...]
    score: int
    char_similarity: float
    old_messages: int
    new_messages: int
    old_ids: tuple[str, ...]  # the old identity's messages that show a shared habit
    new_ids: tuple[str, ...]
    first_new: Message


def block_events(view: CaseView) -> list[BlockEvent]:
    """Blocks (system lines) and refusals in conversations where who is who is known, in time order."""
    events = []
    for conv in view.conversations:
        if not conv.identity_known:
            continue
        for i, m in enumerate(conv.messages):
            if m.kind is MessageKind.SYSTEM and len(m.text) <= _SYSTEM_LINE_MAX and _BLOCK.search(plain_text(m.text)):
                events.append(BlockEvent(conv, m, "block"))
            elif i in conv.refusal_positions:
                events.append(BlockEvent(conv, m, "refusal"))
    events.sort(key=lambda e: e.message.timestamp.utc)
    return events


class _Style:
    """The habits of one identity, from the text it wrote itself."""

    def __init__(self, view: CaseView, messages: list[Message]) -> None:
        self.messages = messages
        self.ids = view.ids(messages)
        self.tokens: list[list[str]] = []
        self.trigram_at: dict[tuple[str, ...], list[tuple[int, int]]] = {}
        self.signoffs: dict[str, list[str]] = {}  # normalised sign-off -> ids
        self.signoff_text: dict[str, str] = {}
        self.pets: dict[str, list[str]] = {}
        emoji_ids: dict[str, list[str]] = {}
        for mi, m in enumerate(messages):
            body = m.text[-_STYLE_CHARS:].rstrip() if len(m.text) > _STYLE_CHARS else m.text.rstrip()
            sign = _SIGNOFF.search(body)
            if sign and sign.group(2)[0].isupper():
                key = "—" + sign.group(2).casefold()
                self.signoffs.setdefault(key, []).append(self.ids[mi])
                self.signoff_text.setdefault(key, "— " + sign.group(2))
                body = body[:sign.start()]  # counted once, as a sign-off, not again as the end of a phrase
            text = plain_text(_PLACEHOLDER.sub(" ", body))
            toks = _TOKEN.findall(text)
            self.tokens.append(toks)
            for p in range(len(toks) - 2):
                self.trigram_at.setdefault(tuple(toks[p:p + 3]), []).append((mi, p))
            pets = {t for t in toks if t in _PET_ANYWHERE} | set(_VOCATIVE.findall(text))
            for pet in pets:
                self.pets.setdefault(pet, []).append(self.ids[mi])
            for e in set(_EMOJI.findall(m.text)):
                emoji_ids.setdefault(e, []).append(self.ids[mi])
        self.emoji = emoji_ids
        self.chars = Counter(_char_ngrams(" ".join(" ".join(t) for t in self.tokens)))

    def emoji_habits(self, minimum: int) -> dict[str, list[str]]:
        return {e: ids for e, ids in self.emoji.items() if len(ids) >= minimum}


def _char_ngrams(text: str) -> Iterable[str]:
    text = text[:50_000]  # plenty for a style profile; bounds the work on huge cases
    return (text[i:i + 4] for i in range(len(text) - 3))


def _cosine(a: Counter[str], b: Counter[str]) -> float:
    if not a or not b:
        return 0.0
    dot = sum(v * b[k] for k, v in a.items() if k in b)
    return dot / (math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values())))


def _content_words(phrase: tuple[str, ...]) -> int:
    return sum(1 for t in phrase if t not in _STOPWORDS and not t.isdigit() and len(t) > 1)


def _quote_phrase(phrase: tuple[str, ...], message: Message) -> str:
    """The phrase exactly as ``message`` has it (case and apostrophes kept); the matching form if it cannot be
    found (a compatibility character that normalisation changed)."""
    pattern = re.compile(r"(?<!\w)" + r"\W+".join(re.escape(t).replace("'", "['’‘]") for t in phrase) + r"(?!\w)",
                         re.IGNORECASE)
    found = pattern.search(message.text)
    return found.group(0) if found else " ".join(phrase)


def _shared_phrases(view: CaseView, old: _Style, new: _Style,
                    mine: _Style) -> list[tuple[tuple[str, ...], str, str]]:
    """Maximal phrases of 3+ words in both identities' messages: (tokens, new message id, old message id)."""
    longest = view.settings.identity_max_phrase_words
    found: dict[tuple[str, ...], tuple[str, str]] = {}
    for ni, toks in enumerate(new.tokens):
        p = 0
        while p <= len(toks) - 3:
            hits = old.trigram_at.get(tuple(toks[p:p + 3]))
            if not hits:
                p += 1
                continue
            best, best_old = 3, hits[0][0]
            for mi, q in hits[:50]:
                ot = old.tokens[mi]
                n = 3
                while n < longest and p + n < len(toks) and q + n < len(ot) and toks[p + n] == ot[q + n]:
                    n += 1
                if n > best:
                    best, best_old = n, mi
            phrase = tuple(toks[p:p + best])
            if _content_words(phrase) >= 2 and _uses(mine, phrase) < 2:
                found.setdefault(phrase, (new.ids[ni], old.ids[best_old]))
                p += best
            else:
                p += 1
    # A phrase inside a longer shared phrase adds nothing.
    keep = [ph for ph in found if not any(len(o) > len(ph) and _contains(o, ph) for o in found)]
    return [(ph, *found[ph]) for ph in keep]


def _uses(style: _Style, phrase: tuple[str, ...]) -> int:
    """How many of the identity's messages contain ``phrase``."""
    return len({mi for mi, q in style.trigram_at.get(phrase[:3], ())
                if tuple(style.tokens[mi][q:q + len(phrase)]) == phrase})


def _phrase_weight(phrase: tuple[str, ...]) -> int:
    """Longer shared word sequences are rarer by chance; one phrase alone never reaches the default bar of 3."""
    return 1 if len(phrase) == 3 else 2


def _contains(outer: tuple[str, ...], inner: tuple[str, ...]) -> bool:
    return any(outer[i:i + len(inner)] == inner for i in range(len(outer) - len(inner) + 1))


def _link(view: CaseView, o: _Style, n: _Style, mine: _Style, old: Identity, new: Identity,
          event: BlockEvent, first_new: Message, new_conversation: str) -> IdentityLink | None:
    s = view.settings
    phrases = _shared_phrases(view, o, n, mine)
    signoffs = sorted(k for k in n.signoffs if k in o.signoffs and k not in mine.signoffs)
    pets = sorted(set(n.pets) & set(o.pets))
    emoji = sorted(set(n.emoji_habits(s.emoji_habit_min)) & set(o.emoji_habits(s.emoji_habit_min)))
    score = sum(_phrase_weight(ph) for ph, _, _ in phrases) + 2 * len(signoffs)
    if score < s.identity_min_score:
        return None
    quoted = []
    new_ids: dict[str, None] = {}
    old_ids: dict[str, None] = {}
    for ph, nid, oid in phrases:
        quoted.append(_quote_phrase(ph, view.by_id[nid]))
        new_ids.setdefault(nid)
        old_ids.setdefault(oid)
    for k in signoffs:
        new_ids.update(dict.fromkeys(n.signoffs[k]))
        old_ids.update(dict.fromkeys(o.signoffs[k]))
    for pet in pets:
        new_ids.update(dict.fromkeys(n.pets[pet]))
        old_ids.update(dict.fromkeys(o.pets[pet]))
    for e in emoji:
        new_ids.update(dict.fromkeys(n.emoji[e]))
        old_ids.update(dict.fromkeys(o.emoji[e]))
    return IdentityLink(
        old=old, new=new, event=event, new_conversation=new_conversation, phrases=tuple(quoted),
        signoffs=tuple(n.signoff_text[k] for k in signoffs), pet_names=tuple(pets), emoji=tuple(emoji),
        score=score, char_similarity=round(_cosine(o.chars, n.chars), 2),
        old_messages=len(o.messages), new_messages=len(n.messages),
        old_ids=tuple(old_ids), new_ids=tuple(new_ids), first_new=first_new)


def find_identity_links(view: CaseView) -> list[IdentityLink]:
    """For each identity that first wrote after a block or refusal involving an earlier identity, the earlier
    identity it shares the most habits with (ties: the earliest), if the shared habits reach
    ``identity_min_score``."""
    events = block_events(view)
    if not events:
        return []
    first_seen: dict[Identity, tuple[Message, str]] = {}
    written: dict[Identity, list[Message]] = {}
    my_messages: list[Message] = []
    for conv in view.conversations:
        if not conv.identity_known:
            continue
        for m, side in zip(conv.messages, conv.sides, strict=True):
            if side is Side.ME:
                my_messages.append(m)
            elif side is Side.OTHER:
                who = identity_of(m)
                seen = first_seen.get(who)
                if seen is None or m.timestamp.utc < seen[0].timestamp.utc:
                    first_seen[who] = (m, conv.conversation)
                if not m.forwarded_from and not m.deleted and m.kind is MessageKind.MESSAGE:
                    written.setdefault(who, []).append(m)
    # Styles are built only for identities in a candidate pair: most senders never are, and building is the cost.
    styles: dict[Identity, _Style] = {}

    def style(who: Identity) -> _Style:
        if who not in styles:
            styles[who] = _Style(view, written[who])
        return styles[who]

    # Only a sender someone blocked or refused can have a successor; there are few of them.
    events_of: dict[Identity, list[BlockEvent]] = {}
    for e in events:
        for who in e.conversation.others:
            events_of.setdefault(who, []).append(e)
    olds = sorted(((who, first_seen[who][0]) for who in events_of if who in written),
                  key=lambda pair: pair[1].timestamp.utc)
    mine: list[_Style] = []
    links = []
    for new, (first_new, new_conv) in sorted(first_seen.items(), key=lambda kv: kv[1][0].timestamp.utc):
        if new not in written:
            continue
        best: IdentityLink | None = None
        for old, first_old in olds:
            if first_old.timestamp.utc >= first_new.timestamp.utc:
                break
            if old == new:
                continue
            event = _latest_event(events_of[old], first_old, first_new)
            if event is None:
                continue
            if not mine:
                mine.append(_Style(view, my_messages))
            link = _link(view, style(old), style(new), mine[0], old, new, event, first_new, new_conv)
            if link is not None and (best is None or link.score > best.score):
                best = link
        if best is not None:
            links.append(best)
    return links


def _latest_event(events: list[BlockEvent], first_old: Message, first_new: Message) -> BlockEvent | None:
    """The last of ``events`` (one old sender's blocks and refusals, in time order) after that sender first wrote
    and before the new one did."""
    chosen = None
    for e in events:
        t = e.message.timestamp.utc
        if t >= first_new.timestamp.utc:
            break
        if t > first_old.timestamp.utc:
            chosen = e
    return chosen


def identity_findings(view: CaseView, links: list[IdentityLink]) -> list[Finding]:
    findings = []
    for link in links:
        e = link.event
        old_where = platform_label(link.old.platform)
        what = (f"{platform_label(e.conversation.platform)} recorded a block of {link.old.label}" if e.kind == "block"
                else f"{e.conversation.target_name} asked {link.old.label} ({old_where}) for no contact")
        shared = []
        if link.phrases:
            shared.append(("the phrase " if len(link.phrases) == 1 else "the phrases ")
                          + join_words([f"“{p}”" for p in link.phrases]))
        if link.signoffs:
            shared.append("the sign-off " + join_words([f"“{x}”" for x in link.signoffs]))
        if link.pet_names:
            shared.append("the pet name " + join_words([f"“{x}”" for x in link.pet_names]))
        if link.emoji:
            shared.append("the habit of using " + join_words(list(link.emoji)))
        gap = link.first_new.timestamp.utc - e.message.timestamp.utc
        summary = (f"A new sender, {link.new.label} ({platform_label(link.new.platform)}), first wrote on "
                   f"{view.when(link.first_new.timestamp.utc)}, after {what} on {view.when(e.message.timestamp.utc)}. "
                   f"Its messages share with those of {link.old.label} ({old_where}) "
                   f"{join_words(shared)}. Shared habits are a reason to ask whether the same person wrote both; "
                   "they do not prove it.")
        ids = (e.message.id, *link.old_ids, *(i for i in link.new_ids if i not in link.old_ids))
        times = [view.by_id[i].timestamp.utc for i in ids]
        findings.append(Finding(
            kind=KIND_NEW_IDENTITY, conversation=link.new_conversation, summary=summary, message_ids=ids,
            first=min(times), last=max(times),
            counts=(("shared_phrases", len(link.phrases)), ("shared_signoffs", len(link.signoffs)),
                    ("shared_pet_names", len(link.pet_names)), ("shared_emoji", len(link.emoji)),
                    ("link_score", link.score), ("char_similarity", link.char_similarity),
                    ("old_messages", link.old_messages), ("new_messages", link.new_messages),
                    ("days_after_event", round(gap.total_seconds() / 86400, 1))),
        ))
    return findings
