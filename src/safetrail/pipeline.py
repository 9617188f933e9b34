"""The steps that run over a whole vault: analysis (per-message flags, then patterns) stored with its model version.

This is where the layers meet: it reads messages from the vault, hands them to ``analysis`` and stores what comes
back. It never renders anything and never changes a message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any
from zoneinfo import ZoneInfo

from safetrail.model import Finding, Flag, Message
from safetrail.storage.vault import Vault

__all__ = ["AnalysisSummary", "analyse_vault"]

ME_FACT = "me"


@dataclass(frozen=True, slots=True)
class AnalysisSummary:
    run_id: int
    model_version: str
    messages: int
    flags: list[Flag]
    findings: list[Finding]
    unidentified: list[tuple[str, str]]


def analyse_vault(vault: Vault, *, tz: ZoneInfo, me: list[str] | None = None,
                  on_progress: Callable[[int, int], None] | None = None) -> AnalysisSummary:
    """Flag every message, find patterns across the case and store both as one analysis run."""
    from safetrail.analysis.classifier import flag_messages, load
    from safetrail.analysis.patterns import DEFAULT_SETTINGS, find_patterns, unidentified_conversations

    if me:
        vault.set_fact(ME_FACT, sorted(set(me)))
    who: list[str] = list(vault.get_fact(ME_FACT, []) or [])
    messages = list(vault.messages())
    clf = load()

    def counted(items: list[Message]) -> Iterator[Message]:
        for i, m in enumerate(items, 1):
            if on_progress and (i % 500 == 0 or i == len(items)):
                on_progress(i, len(items))
            yield m

    flags = list(flag_messages(clf, counted(messages)))
    findings = find_patterns(messages, flags, tz=tz, me=who or None)
    settings: dict[str, Any] = {"tz": tz.key, "me": who, "thresholds": dict(clf.thresholds),
                                "patterns": {k: str(v) for k, v in asdict(DEFAULT_SETTINGS).items()}}
    run_id = vault.record_analysis(clf.version, settings, len(messages), flags, findings)
    return AnalysisSummary(run_id, clf.version, len(messages), flags, findings,
                           unidentified_conversations(messages, me=who or None))
