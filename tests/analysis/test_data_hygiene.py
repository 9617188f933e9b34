"""The held-out functional suites stay held out: no training example is the same text as a suite case or a
near copy of one (character-trigram Jaccard ≥ 0.9), and the two suites do not share cases either."""

from __future__ import annotations

from pathlib import Path

from training.datasets import load_examples, load_functional_suite, near_duplicates

from safetrail.analysis.evaluate import SUITES

ROOT = Path(__file__).resolve().parents[2]


def _suites() -> list[str]:
    suites = {name: load_functional_suite(ROOT / "eval" / f"{name}.jsonl", name) for name in SUITES}
    assert len(suites["functional_suite"]) >= 1000 and len(suites["functional_suite_b"]) >= 900
    return [r.text for rows in suites.values() for r in rows]


def test_no_training_example_matches_or_nearly_matches_a_suite_case() -> None:
    """GIVEN every own training example and both suites WHEN compared THEN no pair is the same or nearly so."""
    examples = load_examples(ROOT / "training" / "examples")
    assert len(examples) >= 4000
    assert near_duplicates([r.text for r in examples], _suites()) == []


def test_near_duplicates_finds_a_one_letter_rewording_and_ignores_emoji_only_texts() -> None:
    """GIVEN a reworded sentence, an unrelated one and emoji-only texts WHEN checked THEN only the rewording pairs."""
    held = ["you will regret ever messaging me tonight", "😡😡"]
    found = near_duplicates(["You will regret ever messaging me tonite!", "see you at the library", "👍"], held)
    assert found == [("You will regret ever messaging me tonite!", "you will regret ever messaging me tonight")]
