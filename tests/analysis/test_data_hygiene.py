"""The held-out functional suite stays held out: no training example shares its normalised text."""

from __future__ import annotations

from pathlib import Path

from training.datasets import load_examples, load_functional_suite, match_key

ROOT = Path(__file__).resolve().parents[2]


def test_no_training_example_matches_a_suite_case() -> None:
    suite = load_functional_suite(ROOT / "eval" / "functional_suite.jsonl")
    examples = load_examples(ROOT / "training" / "examples")
    assert len(suite) >= 1000 and len(examples) >= 4000
    held = {match_key(r.text) for r in suite} - {""}
    leaked = sorted(r.text for r in examples if match_key(r.text) in held)
    assert leaked == []
