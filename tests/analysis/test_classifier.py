"""The per-message classifier: API shape, determinism, obvious cases, evidence and flags."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from tests.analysis.classifier_support import shared_classifier

from safetrail.analysis.classifier import CATEGORIES, Classifier, flag_messages
from safetrail.model import Event, EventKind, Flag, Message, MessageKind, Precision, Timestamp, TimestampKind


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return shared_classifier()


def _message(text: str, n: int, kind: MessageKind = MessageKind.MESSAGE, events: tuple[Event, ...] = ()) -> Message:
    ts = Timestamp(datetime(2026, 1, 1, 12, n, tzinfo=UTC), TimestampKind.ABSOLUTE, Precision.SECOND)
    return Message(source_sha256="0" * 64, locator=f"chat.txt#L{n}", platform="test", conversation="c",
                   timestamp=ts, text=text, raw=text, kind=kind, events=events)


def test_api_shape(clf: Classifier) -> None:
    """GIVEN the shipped model WHEN loaded THEN it exposes version, ten categories, thresholds and [n, 10] scores."""
    assert isinstance(clf.version, str) and clf.version
    assert clf.categories == CATEGORIES and len(CATEGORIES) == 10
    assert set(clf.thresholds) == set(CATEGORIES)
    assert all(0.0 < t < 1.0 for t in clf.thresholds.values())
    scores = clf.score(["hello", "", "see you later"])
    assert scores.shape == (3, 10) and scores.dtype == np.float32
    assert ((scores >= 0) & (scores <= 1)).all()
    assert not scores[1].any()  # empty text scores zero


def test_scores_are_deterministic_and_independent_of_batching(clf: Classifier) -> None:
    """GIVEN the same texts WHEN scored twice, reordered, or one by one THEN the scores are identical."""
    texts = ["you are pathetic", "I'll kill you", "can you send the notes", "please stop messaging me", "ok"]
    first = clf.score(texts)
    np.testing.assert_array_equal(first, clf.score(texts))
    np.testing.assert_allclose(first[::-1], clf.score(texts[::-1]), atol=1e-6)
    single = np.vstack([clf.score([t]) for t in texts])
    np.testing.assert_allclose(first, single, atol=1e-5)


def _fires(clf: Classifier, text: str, category: str) -> bool:
    return bool(clf.score([text])[0, CATEGORIES.index(category)] >= clf.thresholds[category])


def test_clear_threat_is_flagged(clf: Classifier) -> None:
    """GIVEN an unmistakable threat WHEN scored THEN threat reaches its threshold."""
    assert _fires(clf, "I'm going to find you and hurt you, watch your back", "threat")


def test_charger_logistics_is_not_a_threat(clf: Classifier) -> None:
    """GIVEN "I know where you live" used for a favour WHEN scored THEN threat does not fire."""
    assert not _fires(clf, "I'll drop your charger round, I know where you live", "threat")


@pytest.mark.parametrize(
    ("text", "category"),
    [("please stop messaging me, I've blocked you", "refusal"), ("kys nobody would miss you", "self_harm_incitement"),
     ("send nudes or everyone sees the pics", "blackmail_sextortion")],
)
def test_obvious_cases(clf: Classifier, text: str, category: str) -> None:
    """GIVEN a textbook example of a category WHEN scored THEN that category fires."""
    assert _fires(clf, text, category)


def test_everyday_chat_fires_nothing(clf: Classifier) -> None:
    """GIVEN ordinary friendly messages WHEN scored THEN no category fires."""
    thresholds = np.array([clf.thresholds[c] for c in CATEGORIES])
    scores = clf.score(["see you at 8 at the station x", "lol that film was so good", "can you grab milk on the way"])
    assert not (scores >= thresholds).any()


def test_explain_quotes_the_supporting_sentence(clf: Classifier) -> None:
    """GIVEN a long message with one threatening sentence WHEN explained THEN that sentence is quoted exactly."""
    text = "Had a long day at work. I know where you live and you'll regret this. Anyway the match was good."
    quote = clf.explain(text, "threat")
    assert quote in text
    assert "regret" in quote
    assert clf.explain("you're pathetic", "insult") == "you're pathetic"
    with pytest.raises(ValueError):
        clf.explain("hi", "not-a-category")


def test_flag_messages(clf: Classifier) -> None:
    """GIVEN messages, a system line, a call, an empty and a deleted message WHEN flagged THEN only harmful messages
    get flags, each with quoted evidence and the model version (a deleted message's text is a placeholder)."""
    messages = [_message("I'm going to hurt you, watch your back", 1), _message("see you at 8", 2),
                _message("I'm going to hurt you", 3, MessageKind.SYSTEM), _message("", 4),
                _message("I'll hurt you", 5, MessageKind.CALL),
                _message("This message was deleted", 6, events=(Event(EventKind.DELETED, "chat.txt#L6"),))]
    flags = list(flag_messages(clf, messages))
    assert flags and all(isinstance(f, Flag) for f in flags)
    assert {f.message_id for f in flags} == {messages[0].id}
    assert "threat" in {f.category for f in flags}
    for flag in flags:
        assert flag.model_version == clf.version
        assert flag.evidence and flag.evidence in messages[0].text
        assert flag.score >= clf.thresholds[flag.category]
