"""Hashed n-gram features and the lexicon: fixed hashing, numpy scoring equal to a sparse product, phrase hits."""

from __future__ import annotations

import numpy as np
import pytest

from safetrail.analysis.charngram import HASH_VERSION, N_FEATURES, featurise, linear_scores
from safetrail.analysis.lexicon import load_lexicon
from safetrail.analysis.normalise import normalise


def test_hash_is_pinned() -> None:
    """GIVEN a fixed text WHEN featurised THEN the buckets are the documented ones (a change needs retraining)."""
    rows = featurise(["ok"])
    assert HASH_VERSION == "fnv-mix64/v1:c2-5+w1-2/2^18"
    assert rows.indices.tolist() == sorted(rows.indices.tolist())
    # " o", "ok", "k ", " ok", "ok ", " ok " and the word "ok", hashed into 2^18 buckets.
    assert rows.indices.tolist() == [592, 13523, 14848, 86348, 107607, 147743, 221624]
    assert np.isclose(float((rows.data**2).sum()), 1.0)


def test_linear_scores_match_a_sparse_product() -> None:
    """GIVEN random weights WHEN scoring with numpy THEN the result equals scipy's sparse product."""
    sp = pytest.importorskip("scipy.sparse")
    texts = [normalise(t) for t in ["you are pathetic", "", "see you at 8 😂", "I'll drop the charger round"]]
    rows = featurise(texts)
    weights = np.random.default_rng(0).standard_normal((N_FEATURES, 3)).astype(np.float32)
    bias = np.array([0.1, -0.2, 0.3], dtype=np.float32)
    matrix = sp.csr_matrix((rows.data, rows.indices, rows.indptr), shape=(rows.n_rows, N_FEATURES))
    np.testing.assert_allclose(linear_scores(rows, weights, bias), matrix @ weights + bias, rtol=1e-5, atol=1e-5)


def test_lexicon_hits_phrases_and_masked_words() -> None:
    """GIVEN messages with a threat phrase, a masked swear word and a refusal WHEN matched THEN each group hits."""
    lexicon = load_lexicon()
    groups = {h.group for h in lexicon.hits(normalise("I'm going to hurt you, watch your back"))}
    assert "phrase_threat" in groups
    assert "lex_profane" in {h.group for h in lexicon.hits(normalise("f*ck off"))}
    assert "phrase_refusal" in {h.group for h in lexicon.hits(normalise("please stop messaging me"))}
    features = lexicon.features([normalise("k1ll urs3lf"), ""])
    assert features.shape == (2, len(lexicon.feature_names))
    assert features[0, lexicon.feature_names.index("phrase_self_harm_incitement")] == 1.0
    assert not features[1].any()


def test_phrase_prefilter_never_changes_a_result() -> None:
    """GIVEN the project's example messages WHEN phrase features are computed with and without the literal
    pre-filter THEN they are identical (the pre-filter only skips patterns that cannot match)."""
    import json
    from dataclasses import replace
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "training" / "examples"
    texts = [normalise(json.loads(line)["text"]) for path in sorted(root.glob("*.jsonl"))
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip()][::4]
    texts += [normalise(t) for t in ("I'll 🔪 you", '"quoted" words', "no", "stop.", "£500 or else")]
    lexicon = load_lexicon()
    gated = lexicon.features(texts)
    for lines in lexicon._phrases.values():
        lines[:] = [replace(p, needs=frozenset()) for p in lines]
    np.testing.assert_array_equal(gated, lexicon.features(texts))
