"""Reading the project's own examples: which missing labels mean "no" and which mean "not judged"."""

from __future__ import annotations

import json
from pathlib import Path

from training.datasets import IDX, load_examples


def _write(path: Path, records: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def test_unlisted_labels_are_no_in_author_files_and_unknown_in_first_round_files(tmp_path: Path) -> None:
    """GIVEN the same threat positive in an author_ file and a first-round file, and a look-alike in each
    WHEN loaded THEN the author file's unlisted insult label is 0, the first-round one is -1 (not judged), and
    look-alikes are 0 for every category in both."""
    positive = {"text": "you'll regret this", "labels": ["threat"], "kind": "positive"}
    lookalike = {"text": "you'll regret that kebab", "labels": [], "kind": "lookalike", "lookalike_of": "threat"}
    _write(tmp_path / "author_a_test.jsonl", [positive, lookalike])
    _write(tmp_path / "threat.jsonl", [{**positive, "text": "you will regret this"},
                                       {**lookalike, "text": "you will regret that kebab"}])
    rows = {(r.source, r.kind): r.labels for r in load_examples(tmp_path)}
    complete, first_round = rows[("examples/author_a_test", "positive")], rows[("examples/threat", "positive")]
    assert complete[IDX["threat"]] == first_round[IDX["threat"]] == 1
    assert complete[IDX["insult"]] == 0 and first_round[IDX["insult"]] == -1
    assert set(rows[("examples/author_a_test", "lookalike")]) == set(rows[("examples/threat", "lookalike")]) == {0}
