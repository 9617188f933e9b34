"""One shared, lazily loaded classifier for the analysis tests (loading the ONNX model takes about a second)."""

from __future__ import annotations

from functools import lru_cache

from safetrail.analysis.classifier import Classifier, load


@lru_cache(maxsize=1)
def shared_classifier() -> Classifier:
    return load(threads=2)
