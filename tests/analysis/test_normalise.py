"""The obfuscation normaliser: spelling tricks undone in a copy, ordinary text and numbers left alone."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safetrail.analysis.normalise import match_tokens, normalise


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("K1ll urs3lf", "kill yourself"),
        ("f.u.c.k you", "fuck you"),
        ("k-y-s", "kys"),
        ("s l u t", "slut"),
        ("ѕlut", "slut"),  # Cyrillic dze
        ("ki\u200bll yourself", "kill yourself"),  # zero-width space inside the word
        ("Ｙｏｕ ａｒｅ ｕｇｌｙ", "you are ugly"),  # full-width letters
        ("stoooop messaging me", "stop messaging me"),
        ("b!tch", "bitch"),
        ("a$$hole", "asshole"),
        ("u r a loser", "you are a loser"),
        ("I’ll see you", "i'll see you"),
        ("naïve café", "naive cafe"),
    ],
)
def test_tricks_are_undone(raw: str, expected: str) -> None:
    """GIVEN a disguised word WHEN normalised THEN it reads as the plain word."""
    assert normalise(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["meet at 10pm", "call 07700 900123", "bob@example.com", "the 1st of May", "£500 by friday", "2024"],
)
def test_numbers_times_and_addresses_keep_their_digits(raw: str) -> None:
    """GIVEN text whose digits are real numbers WHEN normalised THEN the digits are kept."""
    assert normalise(raw) == raw.lower()


def test_trailing_punctuation_is_not_leet() -> None:
    """GIVEN "hello!!" WHEN normalised THEN the exclamation marks stay punctuation."""
    assert normalise("hello!!") == "hello!!"


def test_weapon_emoji_gain_a_word_and_keep_the_emoji() -> None:
    """GIVEN a knife emoji WHEN normalised THEN the emoji stays and the word "knife" is added beside it."""
    out = normalise("I'll 🔪 you")
    assert "🔪" in out and "knife" in out


def test_tokens() -> None:
    """GIVEN a normalised text WHEN split into tokens THEN apostrophes stay inside words."""
    assert match_tokens("i'll see you!") == ["i'll", "see", "you", "!"]


@settings(max_examples=200, deadline=1000)
@given(st.text(max_size=200))
def test_never_raises_and_is_idempotent_enough(text: str) -> None:
    """GIVEN any text WHEN normalised THEN no error, no control characters, and the input is unchanged."""
    before = str(text)
    out = normalise(text)
    assert text == before
    assert "\x00" not in out
    assert out == out.strip()
