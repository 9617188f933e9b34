"""Hashed character and word n-gram features, in numpy alone, for the classifier's spelling-aware linear model.

Character 2- to 5-grams (with a space added at each end of the message) and word 1- and 2-grams are hashed
into ``N_FEATURES`` buckets, counted with sublinear term frequency (1 + ln count) and scaled to unit length: the
same recipe as a scikit-learn ``HashingVectorizer`` + ``TfidfTransformer(use_idf=False, sublinear_tf=True)``, but
with a fixed, documented hash so the features are identical on every machine and need no scikit-learn at run
time. Training and scoring both call ``featurise``; the trained weights are only valid for the exact hash below
(``HASH_VERSION`` is recorded in the model metadata and checked on load).

Must never: depend on Python's salted ``hash()``, on scikit-learn or scipy, or on anything but its input.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["CHAR_NGRAMS", "HASH_VERSION", "N_FEATURES", "SparseRows", "featurise", "linear_scores"]

N_BITS = 18
N_FEATURES = 1 << N_BITS
CHAR_NGRAMS = (2, 3, 4, 5)
HASH_VERSION = "fnv-mix64/v1:c2-5+w1-2/2^18"

_PRIME = np.uint64(0x100000001B3)
_MASK = np.uint64(N_FEATURES - 1)
_MIX1 = np.uint64(0xFF51AFD7ED558CCD)
_MIX2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)
_WORD = re.compile(r"[^\W_](?:[\w*'$@]*[^\W_*'])?|[^\w\s]", re.UNICODE)


@dataclass(frozen=True, slots=True)
class SparseRows:
    """Rows in compressed sparse row form: row ``i`` has ``indices[indptr[i]:indptr[i+1]]`` with ``data`` values."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    n_rows: int


def _mix(h: np.ndarray) -> np.ndarray:
    # murmur3's 64-bit finaliser: spreads the polynomial hash over all bits before the bucket mask.
    h = h ^ (h >> _S33)
    h = h * _MIX1
    h = h ^ (h >> _S33)
    h = h * _MIX2
    out: np.ndarray = h ^ (h >> _S33)
    return out


def _char_keys(texts: Sequence[str]) -> np.ndarray:
    pieces = [" " + t.replace("\x00", " ") + " " for t in texts]
    joined = "\x00".join(pieces)
    cps = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    lengths = np.fromiter((len(p) + 1 for p in pieces), dtype=np.int64, count=len(pieces))
    doc_of_pos = np.repeat(np.arange(len(pieces), dtype=np.int64), lengths)[: len(cps)]
    sep_cum = np.concatenate(([0], np.cumsum(cps == 0)))
    keys = []
    for n in CHAR_NGRAMS:
        m = len(cps) - n + 1
        if m <= 0:
            continue
        h = np.full(m, np.uint64(0x9E3779B97F4A7C15) + np.uint64(n), dtype=np.uint64)
        for k in range(n):
            h = h * _PRIME + cps[k : k + m]
        valid = (sep_cum[n : n + m] - sep_cum[:m]) == 0
        buckets = (_mix(h[valid]) & _MASK).astype(np.int64)
        keys.append(doc_of_pos[:m][valid] * N_FEATURES + buckets)
    return np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)


def _word_keys(texts: Sequence[str]) -> np.ndarray:
    cache: dict[str, int] = {}
    hashes: list[int] = []
    docs: list[int] = []
    for i, text in enumerate(texts):
        for word in _WORD.findall(text):
            value = cache.get(word)
            if value is None:
                value = int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")
                cache[word] = value
            hashes.append(value)
            docs.append(i)
    if not hashes:
        return np.zeros(0, dtype=np.int64)
    h = np.array(hashes, dtype=np.uint64)
    d = np.array(docs, dtype=np.int64)
    uni = (_mix(h ^ np.uint64(0x5555555555555555)) & _MASK).astype(np.int64)
    same = d[1:] == d[:-1]
    bi = (_mix(h[:-1] * _PRIME + h[1:] + np.uint64(0xAAAAAAAAAAAAAAAA))[same] & _MASK).astype(np.int64)
    return np.concatenate((d * N_FEATURES + uni, d[:-1][same] * N_FEATURES + bi))


def featurise(normalised: Sequence[str]) -> SparseRows:
    """Hashed n-gram rows for already normalised texts (unit length; an empty text gives an empty row)."""
    n = len(normalised)
    if n == 0:
        return SparseRows(np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32), 0)
    keys = np.concatenate((_char_keys(normalised), _word_keys(normalised)))
    uniq, counts = np.unique(keys, return_counts=True)
    docs = uniq // N_FEATURES
    values = (1.0 + np.log(counts)).astype(np.float32)
    norms = np.sqrt(np.bincount(docs, weights=values.astype(np.float64) ** 2, minlength=n)).astype(np.float32)
    values /= norms[docs]
    indptr = np.concatenate(([0], np.cumsum(np.bincount(docs, minlength=n)))).astype(np.int64)
    return SparseRows(indptr, (uniq % N_FEATURES).astype(np.int32), values, n)


def linear_scores(rows: SparseRows, weights: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """``rows @ weights + bias`` for ``weights`` of shape ``[N_FEATURES, k]``: returns ``[n_rows, k]`` float32."""
    k = weights.shape[1]
    out = np.tile(bias.astype(np.float32), (rows.n_rows, 1))
    if rows.indices.size == 0:
        return out
    contrib = weights[rows.indices].astype(np.float32) * rows.data[:, None]
    nonempty = np.flatnonzero(np.diff(rows.indptr) > 0)
    sums = np.add.reduceat(contrib, rows.indptr[nonempty], axis=0)
    out[nonempty] += sums.reshape(len(nonempty), k)
    return out
