"""Measure the harm classifier: held-out public splits, evaluation-only suites and the functional suite.

``run_evaluation`` scores every evaluation text once with the shipped configuration (cascade included) and, on the
same texts, the ``alt-profanity-check`` baseline (binary "any harm": its probability >= 0.5 against ours: any
harmful category, i.e. every category but refusal, over its threshold). It reports per-category precision,
recall, F1, ROC-AUC and calibration error (ECE), macro-F1, functional-suite pass rates per functionality, the
OpenAI moderation ROC-AUCs and the Davidson 3-class macro-F1, and checks them against the project's goals.
The metric functions at the top are shared with training, so thresholds are chosen and reported the same way.

The datasets are read through ``training.datasets`` (a repository checkout is needed: ``make eval``); training
never sees any of these texts. Must never: train or tune anything, or depend on scikit-learn (the baseline
package brings its own copy and is only imported here).
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["GOALS", "best_threshold", "binary_report", "ece", "format_summary", "prf", "roc_auc", "run_evaluation"]


def prf(y: np.ndarray, pred: np.ndarray, weight: np.ndarray | None = None) -> tuple[float, float, float]:
    """Precision, recall and F1 of boolean predictions (0 where undefined)."""
    w = np.ones(len(y)) if weight is None else weight
    y = y.astype(bool)
    pred = pred.astype(bool)
    tp = float(w[y & pred].sum())
    fp = float(w[~y & pred].sum())
    fn = float(w[y & ~pred].sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def roc_auc(y: np.ndarray, score: np.ndarray) -> float | None:
    """Area under the ROC curve (ties count half); None when only one class is present."""
    y = y.astype(bool)
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score), dtype=np.float64)
    sorted_scores = score[order]
    i = 0
    while i < len(score):
        j = i
        while j + 1 < len(score) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def ece(y: np.ndarray, prob: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error over equal-width probability bins."""
    if len(y) == 0:
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(prob, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.mean() * abs(float(prob[mask].mean()) - float(y[mask].mean()))
    return float(total)


def best_threshold(y: np.ndarray, prob: np.ndarray, weight: np.ndarray | None = None, *,
                   precision_floor: float = 0.0, lowest: float = 0.05, highest: float = 0.95) -> float:
    """The threshold in [lowest, highest] with the best F1 among those meeting ``precision_floor`` (best F1
    overall if none does)."""
    candidates = np.unique(np.clip(np.round(prob, 4), lowest, highest))
    if candidates.size > 400:
        candidates = np.quantile(candidates, np.linspace(0, 1, 400))
    best, best_f1, best_any, best_any_f1 = 0.5, -1.0, 0.5, -1.0
    for t in candidates:
        p, _, f1 = prf(y, prob >= t, weight)
        if f1 > best_any_f1:
            best_any, best_any_f1 = float(t), f1
        if p >= precision_floor and f1 > best_f1:
            best, best_f1 = float(t), f1
    return best if best_f1 >= 0 else best_any


def binary_report(y: np.ndarray, prob: np.ndarray, threshold: float) -> dict[str, float | int | None]:
    p, r, f1 = prf(y, prob >= threshold)
    auc = roc_auc(y, prob)
    return {"n": len(y), "positives": int(y.sum()), "precision": round(p, 4), "recall": round(r, 4),
            "f1": round(f1, 4), "roc_auc": None if auc is None else round(auc, 4), "ece": round(ece(y, prob), 4)}


# ----------------------------------------------------------------------------------------------- evaluation

GOALS = {
    "functional_macro_f1": 0.85,
    "lookalike_pass_rate_each": 0.90,
    "refusal_f1": 0.90,
    "openai_harassment_auc": 0.85,
    "openai_threat_auc": 0.85,
    "davidson_3class_macro_f1": 0.75,
    "margin_over_profanity_check": 0.25,
}
_HELD_OUT_SPLITS = ("davidson", "edos", "convabuse", "guest", "hatemoji_build")


def _r(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def _any_label(labels: np.ndarray, harmful: np.ndarray) -> np.ndarray:
    """1 if any harmful label is 1, 0 if all harmful labels are 0, -1 when unknown."""
    sub = labels[:, harmful]
    out = np.full(len(labels), -1, dtype=np.int8)
    out[(sub == 1).any(axis=1)] = 1
    out[(sub == 0).all(axis=1)] = 0
    return out


def _binary_macro_f1(y: np.ndarray, pred: np.ndarray) -> float:
    return (prf(y, pred)[2] + prf(~y.astype(bool), ~pred.astype(bool))[2]) / 2.0


def _category_table(labels: np.ndarray, probs: np.ndarray, thresholds: np.ndarray,
                    categories: Sequence[str]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for k, category in enumerate(categories):
        known = labels[:, k] >= 0
        y = labels[known, k] == 1
        if not known.any() or not y.any():
            continue
        table[category] = binary_report(y, probs[known, k], float(thresholds[k]))
    f1s = [v["f1"] for v in table.values()]
    return {"per_category": table, "macro_f1": _r(float(np.mean(f1s))) if f1s else None}


def _any_harm(labels: np.ndarray, probs: np.ndarray, thresholds: np.ndarray, baseline: np.ndarray | None,
              harmful: np.ndarray) -> dict[str, Any]:
    y_any = _any_label(labels, harmful)
    known = y_any >= 0
    y = y_any[known] == 1
    if not known.any() or y.all() or not y.any():
        return {}
    ours_pred = (probs[known][:, harmful] >= thresholds[harmful]).any(axis=1)
    ours_score = probs[known][:, harmful].max(axis=1)
    out: dict[str, Any] = {"n": int(known.sum()), "positives": int(y.sum()), "ours": {
        "f1": _r(prf(y, ours_pred)[2]), "macro_f1": _r(_binary_macro_f1(y, ours_pred)),
        "precision": _r(prf(y, ours_pred)[0]), "recall": _r(prf(y, ours_pred)[1]),
        "roc_auc": _r(roc_auc(y, ours_score))}}
    if baseline is not None:
        b = baseline[known]
        out["profanity_check"] = {
            "f1": _r(prf(y, b >= 0.5)[2]), "macro_f1": _r(_binary_macro_f1(y, b >= 0.5)),
            "precision": _r(prf(y, b >= 0.5)[0]), "recall": _r(prf(y, b >= 0.5)[1]), "roc_auc": _r(roc_auc(y, b))}
    return out


def _functional_suite(rows: Sequence[Any], labels: np.ndarray, probs: np.ndarray, thresholds: np.ndarray,
                      baseline: np.ndarray | None, categories: Sequence[str], harmful: np.ndarray) -> dict[str, Any]:
    fired = probs >= thresholds
    per_func: dict[str, list[bool]] = defaultdict(list)
    lookalike_funcs: set[str] = set()
    failures: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for i, row in enumerate(rows):
        wanted = labels[i] == 1
        if row.kind == "positive":
            ok = bool(fired[i][wanted].all())
        else:
            ok = not bool(fired[i][~wanted].any())
            if row.kind == "lookalike":
                lookalike_funcs.add(row.group)
        per_func[row.group].append(ok)
        if not ok and len(failures[row.group]) < 5:
            failures[row.group].append({"id": row.extra.get("id"), "expected": [c for c, w in zip(
                categories, wanted, strict=True) if w], "fired": [c for c, f in zip(categories, fired[i],
                                                                                 strict=True) if f]})
    pass_rates = {f: {"cases": len(v), "pass_rate": _r(sum(v) / len(v)), "lookalike": f in lookalike_funcs}
                  for f, v in sorted(per_func.items())}
    table = _category_table(labels, probs, thresholds, categories)
    out: dict[str, Any] = {"cases": len(rows), "macro_f1": table["macro_f1"], "per_category": table["per_category"],
                           "pass_rate_per_functionality": pass_rates,
                           "any_harm": _any_harm(labels, probs, thresholds, baseline, harmful),
                           "failures_sample": dict(failures)}
    return out


def _davidson_3class(clf: Any, rows: Sequence[Any], normalised: Sequence[str], arrays: dict[str, np.ndarray],
                     baseline: np.ndarray | None) -> dict[str, Any]:
    from safetrail.analysis.charngram import featurise, linear_scores

    if "davidson_char_w" not in arrays:
        return {}
    parts = clf.parts(list(normalised), embed=True)
    dense = np.hstack([parts.lexicon, parts.embedding])
    logits = linear_scores(featurise(list(normalised)), arrays["davidson_char_w"], arrays["davidson_b"])
    pred = np.argmax(logits + dense @ arrays["davidson_dense_w"], axis=1)
    y = np.array([int(r.extra["davidson_class"]) for r in rows])
    per_class = {}
    for c, name in enumerate(("hate", "offensive", "neither")):
        p, r, f1 = prf(y == c, pred == c)
        per_class[name] = {"precision": _r(p), "recall": _r(r), "f1": _r(f1), "support": int((y == c).sum())}
    macro = float(np.mean([float(v["f1"] or 0.0) for v in per_class.values()]))
    out: dict[str, Any] = {"n": len(y), "macro_f1": _r(macro), "per_class": per_class,
                           "method": "3-class logistic head over the same features (hashed n-grams, lexicon, "
                                     "embedding) trained on the Davidson 80% (allowed by the brief)"}
    if baseline is not None:
        b = baseline >= 0.5
        out["profanity_check_binary_hate_or_offensive_f1"] = _r(prf(y != 2, b)[2])
    return out


def _openai(rows: Sequence[Any], probs: np.ndarray, baseline: np.ndarray | None,
            categories: Sequence[str], harmful: np.ndarray) -> dict[str, Any]:
    any_score = probs[:, harmful].max(axis=1)
    idx = {c: i for i, c in enumerate(categories)}

    def auc_for(keys: tuple[str, ...], column: str) -> dict[str, Any]:
        known = np.array([any(k in r.extra for k in keys) for r in rows])
        y = np.array([any(r.extra.get(k) == "1" for k in keys) for r in rows])[known]
        res: dict[str, Any] = {"n": int(known.sum()), "positives": int(y.sum()),
                               f"ours_{column}": _r(roc_auc(y, probs[known, idx[column]])),
                               "ours_any_harm": _r(roc_auc(y, any_score[known]))}
        if baseline is not None:
            res["profanity_check"] = _r(roc_auc(y, baseline[known]))
        return res

    return {"harassment_HR": auc_for(("HR",), "insult"), "threat_V_or_H2": auc_for(("V", "H2"), "threat"),
            "hate_H": auc_for(("H",), "identity_hate"), "self_harm_SH_vs_incitement": auc_for(("SH",),
                                                                                            "self_harm_incitement")}


def _profanity_baseline() -> Callable[[list[str]], np.ndarray] | None:
    try:
        from profanity_check import predict_prob
    except ImportError:
        return None

    def run(texts: list[str]) -> np.ndarray:
        return np.asarray(predict_prob(texts), dtype=np.float64)

    return run


# Each functional suite's name (its file is eval/<name>.jsonl) and the prefix of its goals in the report. Suite B is
# read only in aggregate, so it stays a clean check of whether gains on the first suite carry over (eval/SUITE_B.md).
SUITES = {"functional_suite": "", "functional_suite_b": "suite_b_"}
AGGREGATE_ONLY = frozenset({"functional_suite_b"})


def run_evaluation(clf: Any, data_root: Path, suite_paths: Mapping[str, Path],
                   progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Score every evaluation set with ``clf`` and the profanity baseline; return the full report."""
    from training import datasets as ds

    from safetrail.analysis.classifier import HARMFUL, load_weights
    from safetrail.analysis.normalise import normalise

    say = progress or (lambda _m: None)
    categories = list(clf.categories)
    harmful = np.array([c in HARMFUL for c in categories])
    thresholds = np.array([clf.thresholds[c] for c in categories], dtype=np.float32)
    sets: dict[str, list[Any]] = {}
    for loader in ds.PUBLIC_TRAINING:
        rows = [r for r in loader(data_root) if r.split == "test"]
        if rows:
            sets[f"{rows[0].source}_test"] = rows
    for loader in ds.EVALUATION_ONLY:
        rows = loader(data_root)
        sets[rows[0].source] = rows
    for name, path in suite_paths.items():
        suite = ds.load_functional_suite(path, name)
        if suite:
            sets[name] = suite
    texts = sorted({r.text for rows in sets.values() for r in rows})
    say(f"scoring {len(texts)} distinct evaluation texts")
    started = time.time()
    probs_all = clf.score(texts)
    seconds = time.time() - started
    baseline_fn = _profanity_baseline()
    base_all = baseline_fn(texts) if baseline_fn else None
    where = {t: i for i, t in enumerate(texts)}
    report: dict[str, Any] = {"model_version": clf.version, "thresholds": clf.thresholds,
                              "cascade": bool(getattr(clf, "cascade", False)),
                              "scoring": {"texts": len(texts), "seconds": round(seconds, 1)},
                              "baseline": "alt-profanity-check predict_prob >= 0.5 (binary any harm)"
                              if baseline_fn else "alt-profanity-check not installed", "datasets": {}}
    for name, rows in sets.items():
        idx = np.array([where[r.text] for r in rows])
        labels = np.array([r.labels for r in rows], dtype=np.int8)
        probs = probs_all[idx]
        base = base_all[idx] if base_all is not None else None
        if name in SUITES:
            report[name] = _functional_suite(rows, labels, probs, thresholds, base, categories, harmful)
            if name in AGGREGATE_ONLY:
                del report[name]["failures_sample"]
            continue
        entry: dict[str, Any] = {"rows": len(rows)}
        entry.update(_category_table(labels, probs, thresholds, categories))
        entry["any_harm"] = _any_harm(labels, probs, thresholds, base, harmful)
        if name in ("hatecheck", "hatemoji_check", "xstest"):
            fired_any = (probs[:, harmful] >= thresholds[harmful]).any(axis=1)
            by_group: dict[str, list[bool]] = defaultdict(list)
            for i, r in enumerate(rows):
                y_any = _any_label(labels[i : i + 1], harmful)[0]
                if name == "xstest" and r.labels[0] == -1:
                    continue
                if name == "hatecheck" and r.group in ("target_indiv_nh", "target_group_nh"):
                    by_group[r.group].append(not bool(probs[i, categories.index("identity_hate")]
                                                      >= thresholds[categories.index("identity_hate")]))
                    continue
                by_group[r.group].append(bool(fired_any[i]) == bool(y_any == 1))
            entry["accuracy_per_functionality"] = {g: _r(sum(v) / len(v)) for g, v in sorted(by_group.items())}
        if name == "openai_moderation":
            entry["roc_auc"] = _openai(rows, probs, base, categories, harmful)
        if name == "davidson_test":
            weights_arrays = _stored_arrays(load_weights)
            entry["three_class"] = _davidson_3class(clf, rows, [normalise(r.text) for r in rows], weights_arrays,
                                                    base)
        report["datasets"][name] = entry
    report["goals"] = _check_goals(report)
    return report


def _stored_arrays(load_weights: Callable[..., Any]) -> dict[str, np.ndarray]:
    import io

    from safetrail.analysis.classifier import MODEL_FILE, default_model_dir

    blob = (default_model_dir() / MODEL_FILE).read_bytes()
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        return {k: np.asarray(z[k]) for k in z.files}


def _suite_goals(suite: dict[str, Any], prefix: str) -> dict[str, Any]:
    goals: dict[str, Any] = {}
    goals[f"{prefix}functional_macro_f1"] = {"value": suite["macro_f1"], "goal": GOALS["functional_macro_f1"]}
    looks = {f: v["pass_rate"] for f, v in suite["pass_rate_per_functionality"].items() if v["lookalike"]}
    worst = min(looks.values()) if looks else None
    goals[f"{prefix}lookalike_pass_rate_each"] = {
        "value": worst, "goal": GOALS["lookalike_pass_rate_each"],
        "below_goal": {f: r for f, r in looks.items() if r is not None and r < GOALS["lookalike_pass_rate_each"]}}
    refusal = suite["per_category"].get("refusal", {}).get("f1")
    goals[f"{prefix}refusal_f1"] = {"value": refusal, "goal": GOALS["refusal_f1"]}
    anyh = suite.get("any_harm", {})
    if "profanity_check" in anyh:
        margin = anyh["ours"]["macro_f1"] - anyh["profanity_check"]["macro_f1"]
        goals[f"{prefix}margin_over_profanity_check"] = {
            "value": _r(margin), "goal": GOALS["margin_over_profanity_check"],
            "measure": "binary any-harm macro-F1 on the suite, ours minus alt-profanity-check"}
    return goals


def _check_goals(report: dict[str, Any]) -> dict[str, Any]:
    """The issue's goals on the functional suite, and the same goals on suite B (written later by another author
    and never read while working on the classifier, so it checks that gains on the first suite generalise)."""
    goals: dict[str, Any] = {}
    for name, prefix in SUITES.items():
        if report.get(name):
            goals.update(_suite_goals(report[name], prefix))
    openai = report["datasets"].get("openai_moderation", {}).get("roc_auc", {})
    if openai:
        goals["openai_harassment_auc"] = {"value": openai["harassment_HR"]["ours_insult"],
                                          "goal": GOALS["openai_harassment_auc"], "score": "insult"}
        goals["openai_threat_auc"] = {"value": openai["threat_V_or_H2"]["ours_threat"],
                                      "goal": GOALS["openai_threat_auc"], "score": "threat"}
    dav = report["datasets"].get("davidson_test", {}).get("three_class", {})
    if dav:
        goals["davidson_3class_macro_f1"] = {"value": dav["macro_f1"], "goal": GOALS["davidson_3class_macro_f1"]}
    for g in goals.values():
        g["met"] = g["value"] is not None and g["value"] >= g["goal"]
    return goals


def format_summary(report: dict[str, Any]) -> str:
    """A readable plain-text summary of ``run_evaluation``'s report."""
    lines = [f"model {report['model_version']} (cascade {'on' if report['cascade'] else 'off'}); "
             f"{report['scoring']['texts']} texts scored in {report['scoring']['seconds']} s"]
    for name in SUITES:
        suite = report.get(name)
        if not suite:
            continue
        lines.append(f"\n{name}: {suite['cases']} cases, macro-F1 {suite['macro_f1']}")
        for c, v in suite["per_category"].items():
            lines.append(f"  {c:22s} P {v['precision']:.3f}  R {v['recall']:.3f}  F1 {v['f1']:.3f}  "
                         f"AUC {v['roc_auc']}  ECE {v['ece']:.3f}  (n+ {v['positives']})")
        a = suite.get("any_harm", {})
        if a:
            base = a.get("profanity_check", {})
            lines.append(f"  any harm: ours F1 {a['ours']['f1']} macro-F1 {a['ours']['macro_f1']} | "
                         f"alt-profanity-check F1 {base.get('f1')} macro-F1 {base.get('macro_f1')}")
        if name in AGGREGATE_ONLY:
            continue
        lines.append("  pass rate per functionality:")
        for f, v in suite["pass_rate_per_functionality"].items():
            mark = "look-alike" if v["lookalike"] else ""
            lines.append(f"    {f:40s} {v['pass_rate']:.3f}  ({v['cases']}) {mark}")
    for name, entry in report["datasets"].items():
        a = entry.get("any_harm", {})
        base = a.get("profanity_check", {}) if a else {}
        lines.append(f"\n{name}: {entry['rows']} rows, macro-F1 {entry.get('macro_f1')}"
                     + (f"; any harm F1 ours {a['ours']['f1']} / baseline {base.get('f1')}, "
                        f"AUC ours {a['ours']['roc_auc']} / baseline {base.get('roc_auc')}" if a else ""))
        for c, v in entry.get("per_category", {}).items():
            lines.append(f"  {c:22s} P {v['precision']:.3f}  R {v['recall']:.3f}  F1 {v['f1']:.3f}  "
                         f"AUC {v['roc_auc']}  ECE {v['ece']:.3f}  (n+ {v['positives']})")
        if "roc_auc" in entry:
            for k, v in entry["roc_auc"].items():
                lines.append(f"  ROC-AUC {k}: {v}")
        if entry.get("three_class"):
            lines.append(f"  Davidson 3-class macro-F1 {entry['three_class']['macro_f1']} "
                         f"{entry['three_class']['per_class']}")
        if "accuracy_per_functionality" in entry:
            acc = entry["accuracy_per_functionality"]
            lines.append("  accuracy per functionality: " + ", ".join(f"{k} {v}" for k, v in acc.items()))
    lines.append("\ngoals:")
    for k, g in report["goals"].items():
        lines.append(f"  {'met ' if g['met'] else 'MISS'} {k}: {g['value']} (goal {g['goal']})")
    return "\n".join(lines)


def write_report(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
