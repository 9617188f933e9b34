"""Evaluation report: metric helpers, goals on both functional suites, suite B kept to aggregates."""

from __future__ import annotations

import numpy as np
from training.datasets import Row

from safetrail.analysis import evaluate
from safetrail.analysis.classifier import CATEGORIES, HARMFUL

HARM = np.array([c in HARMFUL for c in CATEGORIES])
THRESHOLDS = np.full(len(CATEGORIES), 0.5)


def _suite(source: str) -> tuple[list[Row], np.ndarray, np.ndarray]:
    threat, refusal = CATEGORIES.index("threat"), CATEGORIES.index("refusal")
    rows, probs = [], []
    for i, (group, kind, label, score) in enumerate([
            ("threat_direct", "positive", threat, 0.9), ("threat_direct", "positive", threat, 0.2),
            ("refusal_plain", "positive", refusal, 0.8), ("idiom_nh", "lookalike", None, 0.7),
            ("idiom_nh", "lookalike", None, 0.1), ("idiom_nh", "lookalike", None, 0.1)]):
        labels = [0] * len(CATEGORIES)
        p = np.full(len(CATEGORIES), 0.01)
        if label is not None:
            labels[label] = 1
            p[label] = score
        else:
            p[threat] = score
        rows.append(Row(f"case {i}", tuple(labels), source, "test", kind=kind, group=group, extra={"id": str(i)}))
        probs.append(p)
    return rows, np.array([r.labels for r in rows], dtype=np.int8), np.array(probs)


def _report() -> dict[str, object]:
    report: dict[str, object] = {"model_version": "test", "cascade": False, "scoring": {"texts": 6, "seconds": 0},
                                 "datasets": {}}
    for name in evaluate.SUITES:
        rows, labels, probs = _suite(name)
        report[name] = evaluate._functional_suite(rows, labels, probs, THRESHOLDS, None, CATEGORIES, HARM)
    report["goals"] = evaluate._check_goals(report)
    return report


def test_suite_scores_and_goals_are_counted_per_suite() -> None:
    """GIVEN one missed threat and one idiom flagged WHEN reported THEN pass rates and goals say exactly that."""
    report = _report()
    suite = report["functional_suite"]
    assert isinstance(suite, dict)
    rates = {f: v["pass_rate"] for f, v in suite["pass_rate_per_functionality"].items()}
    assert rates == {"idiom_nh": round(2 / 3, 4), "refusal_plain": 1.0, "threat_direct": 0.5}
    goals = report["goals"]
    assert isinstance(goals, dict)
    assert goals["lookalike_pass_rate_each"]["value"] == round(2 / 3, 4)
    assert goals["suite_b_lookalike_pass_rate_each"]["met"] is False
    assert goals["refusal_f1"]["value"] == goals["suite_b_refusal_f1"]["value"] == 1.0


def test_summary_names_suite_a_functionalities_but_only_aggregates_for_suite_b() -> None:
    """GIVEN both suites WHEN summarised THEN suite A lists its functionalities and suite B prints none."""
    text = evaluate.format_summary(_report())
    part_a, part_b = text.split("functional_suite_b:")
    assert "threat_direct" in part_a and "idiom_nh" in part_a
    assert "threat_direct" not in part_b and "idiom_nh" not in part_b
    assert "macro-F1" in part_b


def test_metric_helpers_on_known_values() -> None:
    """GIVEN hand-computed cases WHEN measured THEN precision/recall/F1, AUC and thresholds match."""
    y = np.array([1, 1, 0, 0])
    assert evaluate.prf(y, np.array([1, 0, 1, 0])) == (0.5, 0.5, 0.5)
    assert evaluate.roc_auc(y, np.array([0.9, 0.8, 0.3, 0.1])) == 1.0
    assert evaluate.roc_auc(np.array([1, 1]), np.array([0.2, 0.3])) is None
    assert 0.3 < evaluate.best_threshold(y, np.array([0.9, 0.8, 0.3, 0.1])) <= 0.8
