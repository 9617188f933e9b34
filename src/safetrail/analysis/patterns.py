"""Conversation patterns: explainable rules over a case's messages that each return a ``Finding`` listing the
messages behind it, the first and last time, figures as (name, value) pairs and one calm sentence saying what was
found and where.

Kinds (the names are a stable contract; see ``KINDS``):

- ``course_of_conduct``: one sender's conduct (messages flagged as possibly harmful, or sent after the user's first
  refusal) on at least ``min_occasions`` separate occasions (a new local day, or a gap of ``occasion_gap``).
- ``after_refusal``: messages from the other party after the user's first refusal in the conversation.
- ``unanswered_burst``: one finding per run of ``burst_min``+ messages from one sender, each within ``burst_gap`` of
  the one before, with no reply from the user.
- ``night_contact``: messages from the other party between ``night_start`` and ``night_end`` in the user's zone.
- ``escalation``: the trend in messages a day and in harm score across windows (weeks by default), when there are
  at least ``escalation_min_windows`` windows.
- ``new_identity_after_block``: a sender that first wrote after a block or refusal and shares distinctive phrases
  and sign-offs with an earlier sender (across conversations and platforms); shared pet names and emoji habits are
  reported as support.
- ``four_markers``: Fixated, Obsessive, Unwanted, Repeated, each present or not, with figures. Here a linked new
  identity's messages also count as unwanted conduct.
- ``stalking_behaviours``: which examples in the Protection from Harassment Act 1997 s.2A(3)(a)–(g) the messages
  touch, with quotations.

Who is the user: ``Message.from_me`` when the export says; otherwise a sender whose name or platform id is in ``me``.
When neither decides it for some message or call in a conversation, that conversation gives no findings at all (no
placeholder finding is made); ``unidentified_conversations`` lists such conversations so the caller can ask the
user and run again with ``me``.

Must never: state a legal conclusion (at most "may amount to"), read files, load models, or change its inputs.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from safetrail.analysis.patterns_context import DEFAULT_SETTINGS, CaseView, PatternSettings
from safetrail.analysis.patterns_identity import KIND_NEW_IDENTITY, IdentityLink, find_identity_links, identity_findings
from safetrail.analysis.patterns_markers import (
    KIND_FOUR,
    KIND_S2A,
    FourMarkers,
    StalkingBehaviours,
    assess_four_markers,
    four_markers_findings,
    map_stalking_behaviours,
    stalking_behaviours_findings,
)
from safetrail.analysis.patterns_timing import (
    KIND_AFTER_REFUSAL,
    KIND_BURST,
    KIND_COURSE,
    KIND_ESCALATION,
    KIND_NIGHT,
    after_refusal_findings,
    course_of_conduct_findings,
    escalation_findings,
    night_findings,
    unanswered_burst_findings,
)
from safetrail.model import Finding, Flag, Message

__all__ = [
    "DEFAULT_SETTINGS",
    "KINDS",
    "PatternSettings",
    "find_patterns",
    "finding_to_dict",
    "four_markers_detail",
    "identity_links",
    "stalking_behaviours_detail",
    "unidentified_conversations",
]

KINDS: tuple[str, ...] = (KIND_COURSE, KIND_AFTER_REFUSAL, KIND_BURST, KIND_NIGHT, KIND_ESCALATION,
                          KIND_NEW_IDENTITY, KIND_FOUR, KIND_S2A)


def find_patterns(messages: Sequence[Message], flags: Sequence[Flag] = (), *, tz: ZoneInfo,
                  me: Collection[str] | None = None, settings: PatternSettings = DEFAULT_SETTINGS,
                  refusal_ids: Collection[str] = ()) -> list[Finding]:
    """Every pattern finding for a case.

    ``messages`` are all the case's messages, any order, any conversations and platforms (they are sorted by time
    and grouped by platform and conversation here). ``flags`` are per-message category scores (by default every
    flag given counts; ``settings.flag_threshold`` can demand more); a refusal is a message from the user flagged
    ``refusal``, or whose id is in ``refusal_ids``. ``tz`` is the user's zone, used for days, nights and the times
    in summaries.

    Findings come conversation by conversation (in order of each conversation's first message), in the order of
    ``KINDS`` within one, then the ``new_identity_after_block`` findings.
    """
    view = CaseView(messages, flags, tz=tz, me=me, settings=settings, refusal_ids=refusal_ids)
    links = find_identity_links(view)
    findings: list[Finding] = []
    for conv in view.conversations:
        if not conv.identity_known:
            continue
        findings += course_of_conduct_findings(view, conv)
        findings += after_refusal_findings(view, conv)
        findings += unanswered_burst_findings(view, conv)
        findings += night_findings(view, conv)
        findings += escalation_findings(view, conv)
        findings += four_markers_findings(view, conv, assess_four_markers(view, conv, links))
        findings += stalking_behaviours_findings(view, map_stalking_behaviours(view, conv, links))
    findings += identity_findings(view, links)
    return findings


def four_markers_detail(messages: Sequence[Message], flags: Sequence[Flag] = (), *, tz: ZoneInfo,
                        me: Collection[str] | None = None, settings: PatternSettings = DEFAULT_SETTINGS,
                        refusal_ids: Collection[str] = ()) -> list[FourMarkers]:
    """The FOUR markers per sender with each marker's own supporting message ids (a ``Finding`` holds only their
    union). Every other sender in every identified conversation is listed, markers present or not."""
    view = CaseView(messages, flags, tz=tz, me=me, settings=settings, refusal_ids=refusal_ids)
    links = find_identity_links(view)
    return [fm for conv in view.conversations for fm in assess_four_markers(view, conv, links)]


def stalking_behaviours_detail(messages: Sequence[Message], flags: Sequence[Flag] = (), *, tz: ZoneInfo,
                               me: Collection[str] | None = None, settings: PatternSettings = DEFAULT_SETTINGS,
                               refusal_ids: Collection[str] = ()) -> list[StalkingBehaviours]:
    """The s.2A(3) examples per sender, each with its own message ids and up to three quotations."""
    view = CaseView(messages, flags, tz=tz, me=me, settings=settings, refusal_ids=refusal_ids)
    links = find_identity_links(view)
    return [sb for conv in view.conversations for sb in map_stalking_behaviours(view, conv, links)]


def identity_links(messages: Sequence[Message], flags: Sequence[Flag] = (), *, tz: ZoneInfo,
                   me: Collection[str] | None = None, settings: PatternSettings = DEFAULT_SETTINGS,
                   refusal_ids: Collection[str] = ()) -> list[IdentityLink]:
    """The links behind ``new_identity_after_block`` findings, with old/new identities and what they share."""
    view = CaseView(messages, flags, tz=tz, me=me, settings=settings, refusal_ids=refusal_ids)
    return find_identity_links(view)


def unidentified_conversations(messages: Sequence[Message], *,
                               me: Collection[str] | None = None) -> list[tuple[str, str]]:
    """(platform, conversation) for each conversation where some message's sender cannot be told to be the user or
    not; ``find_patterns`` skips these. Ask the user who they are there and pass their name in ``me``."""
    view = CaseView(messages, (), tz=ZoneInfo("UTC"), me=me, settings=DEFAULT_SETTINGS, refusal_ids=())
    return [(c.platform, c.conversation) for c in view.conversations if not c.identity_known]


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    """A finding as plain JSON-ready data; times as ISO-8601 UTC with a ``Z``."""
    def iso(t: datetime | None) -> str | None:
        return None if t is None else t.astimezone(UTC).isoformat().replace("+00:00", "Z")

    return {
        "kind": finding.kind,
        "conversation": finding.conversation,
        "summary": finding.summary,
        "counts": dict(finding.counts),
        "first": iso(finding.first),
        "last": iso(finding.last),
        "message_ids": list(finding.message_ids),
    }
