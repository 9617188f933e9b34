"""Per-message harm scores: ten categories, each a calibrated probability with the words that led to it.

For every message the classifier blends two models per category — a small neural network (one hidden layer,
shared by all categories) over the MiniLM sentence embedding (``embed``) plus word-list and phrase features
(``lexicon``), and a linear model over hashed character/word n-grams plus the same word-list features
(``charngram``) — both reading the normalised copy of the text (``normalise``), through a small logistic layer
fitted on held-out data, which makes the output a calibrated probability. A category is flagged when its
probability reaches the threshold chosen on validation data. The trained numbers live in ``models/`` as ``.npz``
plus JSON metadata (training data hashes, thresholds, metrics), written by ``training/train.py``.

A flag says "this message may contain X, here is the text". Must never: state a verdict, change or store
normalised text in place of the original, load pickled objects, or reach the network.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from safetrail.analysis.charngram import HASH_VERSION, N_FEATURES, featurise, linear_scores
from safetrail.analysis.embed import EMBEDDING_DIM, MODEL_SHA256, Embedder
from safetrail.analysis.lexicon import Lexicon, load_lexicon
from safetrail.analysis.normalise import normalise
from safetrail.errors import ModelUnavailable
from safetrail.model import Flag, Message, MessageKind

__all__ = ["CATEGORIES", "HARMFUL", "Classifier", "HeadWeights", "flag_messages", "load"]

CATEGORIES: tuple[str, ...] = (
    "insult", "threat", "sexual_harassment", "identity_hate", "stalking_surveillance", "coercion_control",
    "blackmail_sextortion", "doxxing", "self_harm_incitement", "refusal")
HARMFUL: tuple[str, ...] = CATEGORIES[:-1]  # refusal is the target saying no: a signal, not a harm
MODEL_FILE = "heads.npz"
META_FILE = "heads.json"
_CHUNK = 2048
_MAX_EVIDENCE = 400

# Which lexicon groups count as evidence for a category when choosing the sentence to quote.
_EVIDENCE_GROUPS: dict[str, frozenset[str]] = {
    "insult": frozenset({"phrase_insult", "lex_insult", "lex_identity", "lex_profane"}),
    "threat": frozenset({"phrase_threat"}),
    "sexual_harassment": frozenset({"phrase_sexual_harassment", "lex_sexual"}),
    "identity_hate": frozenset({"phrase_identity_hate", "lex_identity"}),
    "stalking_surveillance": frozenset({"phrase_stalking_surveillance"}),
    "coercion_control": frozenset({"phrase_coercion_control"}),
    "blackmail_sextortion": frozenset({"phrase_blackmail_sextortion"}),
    "doxxing": frozenset({"phrase_doxxing"}),
    "self_harm_incitement": frozenset({"phrase_self_harm_incitement"}),
    "refusal": frozenset({"phrase_refusal"}),
}
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+[\"'”’)]*|$)|[.!?]+")


@dataclass(frozen=True, slots=True)
class HeadWeights:
    """The trained numbers, exactly as stored in ``heads.npz`` (shapes: K categories, L lexicon features)."""

    mlp_w1: np.ndarray  # [384 + L, H]: hidden layer over [embedding, lexicon features]
    mlp_b1: np.ndarray  # [H]
    mlp_w2: np.ndarray  # [H, K]
    mlp_b2: np.ndarray  # [K]
    char_w: np.ndarray  # [N_FEATURES, K] (float16 on disk)
    char_lex_w: np.ndarray  # [L, K]
    char_b: np.ndarray  # [K]
    stack_w: np.ndarray  # [K, 2]: weight of the network's logit and of the n-gram logit
    stack_b: np.ndarray  # [K]
    fast_w: np.ndarray  # [K]: calibration of the n-gram logit alone (cascade stage)
    fast_b: np.ndarray  # [K]
    gates: np.ndarray  # [K]: below every gate the embedding is skipped (cascade); -inf disables
    thresholds: np.ndarray  # [K]

    @staticmethod
    def from_npz(arrays: Any) -> HeadWeights:
        names = HeadWeights.__dataclass_fields__
        return HeadWeights(**{name: np.asarray(arrays[name]) for name in names})

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in HeadWeights.__dataclass_fields__}


def _sigmoid(z: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))
    return out


@dataclass(frozen=True, slots=True)
class _Parts:
    """Intermediate values for a batch of normalised texts (used by training and evaluation too)."""

    lexicon: np.ndarray  # [n, L]
    char_logit: np.ndarray  # [n, K]
    embedding: np.ndarray | None  # [n, 384] or None when not computed


class Classifier:
    """Scores texts in the ten categories. Build with ``load()``."""

    def __init__(self, weights: HeadWeights, metadata: dict[str, Any], lexicon: Lexicon, embedder: Embedder) -> None:
        self._w = weights
        self._lexicon = lexicon
        self._embedder = embedder
        self.metadata = metadata
        self.version: str = str(metadata["version"])
        self.categories: tuple[str, ...] = CATEGORIES
        self.thresholds: dict[str, float] = {c: float(t) for c, t in zip(CATEGORIES, weights.thresholds, strict=True)}
        self.cascade: bool = bool(np.isfinite(weights.gates).any())

    # -- scoring -------------------------------------------------------------------------------------------

    def parts(self, normalised: Sequence[str], *, embed: bool = True) -> _Parts:
        lex = self._lexicon.features(normalised)
        rows = featurise(normalised)
        z_char = linear_scores(rows, self._w.char_w, self._w.char_b) + lex @ self._w.char_lex_w
        emb = self._embedder.embed(list(normalised)) if embed else None
        return _Parts(lex, z_char, emb)

    def network_logit(self, embedding: np.ndarray, lexicon: np.ndarray) -> np.ndarray:
        """The hidden-layer network's logits over ``[embedding, lexicon features]``."""
        x = np.hstack([embedding, lexicon]).astype(np.float32)
        hidden = np.maximum(x @ self._w.mlp_w1 + self._w.mlp_b1, 0.0)
        out: np.ndarray = hidden @ self._w.mlp_w2 + self._w.mlp_b2
        return out

    def combine(self, z_char: np.ndarray, embedding: np.ndarray, lexicon: np.ndarray) -> np.ndarray:
        """Calibrated probabilities from the two logits (the stacking layer)."""
        z_net = self.network_logit(embedding, lexicon)
        z = self._w.stack_w[:, 0] * z_net + self._w.stack_w[:, 1] * z_char + self._w.stack_b
        return _sigmoid(z).astype(np.float32)

    def _score_normalised(self, normalised: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(normalised), len(CATEGORIES)), dtype=np.float32)
        for start in range(0, len(normalised), _CHUNK):
            batch = normalised[start : start + _CHUNK]
            part = self.parts(batch, embed=False)
            fast = _sigmoid(self._w.fast_w * part.char_logit + self._w.fast_b).astype(np.float32)
            # Cascade: a text every category's n-gram score calls clearly harmless skips the embedding.
            need = np.flatnonzero((fast >= self._w.gates).any(axis=1)) if self.cascade else np.arange(len(batch))
            block = fast.copy()
            if need.size:
                emb = self._embedder.embed([batch[int(i)] for i in need])
                block[need] = self.combine(part.char_logit[need], emb, part.lexicon[need])
            out[start : start + len(batch)] = block
        return out

    def score(self, texts: Sequence[str]) -> np.ndarray:
        """``[len(texts), 10]`` calibrated probabilities, columns in ``categories`` order. Empty text scores 0."""
        result = np.zeros((len(texts), len(CATEGORIES)), dtype=np.float32)
        slot_of: dict[str, int] = {}
        unique: list[str] = []
        back = np.full(len(texts), -1, dtype=np.int64)
        raw_seen: dict[str, int] = {}
        for i, text in enumerate(texts):
            known = raw_seen.get(text)
            if known is None:
                norm = normalise(text) if text and text.strip() else ""
                if not norm:
                    raw_seen[text] = -1
                    continue
                known = slot_of.get(norm)
                if known is None:
                    known = slot_of[norm] = len(unique)
                    unique.append(norm)
                raw_seen[text] = known
            back[i] = known
        if unique:
            scores = self._score_normalised(unique)
            have = back >= 0
            result[have] = scores[back[have]]
        return result

    # -- evidence ------------------------------------------------------------------------------------------

    def explain(self, text: str, category: str) -> str:
        """The part of ``text`` (quoted exactly, trimmed of surrounding space) that best supports ``category``:
        the sentence holding a matching phrase or word, else the sentence the model scores highest."""
        if category not in CATEGORIES:
            raise ValueError(f"unknown category {category!r}; expected one of {', '.join(CATEGORIES)}")
        spans = [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if m.group(0).strip(" \t.!?")]
        if len(spans) <= 1:
            return _clip(text.strip())
        k = CATEGORIES.index(category)
        normalised = [normalise(text[s:e]) for s, e in spans]
        groups = _EVIDENCE_GROUPS[category]
        candidates = [i for i, n in enumerate(normalised) if any(h.group in groups for h in self._lexicon.hits(n))]
        if not candidates:
            candidates = list(range(len(spans)))
        if len(candidates) > 1:
            scores = self._score_normalised([normalised[i] or " " for i in candidates])[:, k]
            best = candidates[int(np.argmax(scores))]
        else:
            best = candidates[0]
        start, end = spans[best]
        return _clip(text[start:end].strip())


def _clip(quote: str) -> str:
    if len(quote) <= _MAX_EVIDENCE:
        return quote
    cut = quote.rfind(" ", 0, _MAX_EVIDENCE)
    return quote[: cut if cut > _MAX_EVIDENCE // 2 else _MAX_EVIDENCE] + " …"


def default_model_dir() -> Path:
    return Path(str(resources.files("safetrail.analysis") / "models"))


def read_metadata(model_dir: Path | None = None) -> dict[str, Any]:
    folder = model_dir or default_model_dir()
    meta_path = folder / META_FILE
    try:
        data: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelUnavailable(f"the trained classifier heads are missing ({meta_path})",
                               hint="Train them with `make train`, or reinstall safetrail.") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelUnavailable(f"the classifier metadata {meta_path} cannot be read ({exc})",
                               hint="Train the heads again with `make train`, or reinstall safetrail.") from exc
    return data


def load_weights(model_dir: Path | None = None) -> tuple[HeadWeights, dict[str, Any]]:
    """Read and check the stored heads: the ``.npz`` must match the SHA-256 its metadata records."""
    folder = model_dir or default_model_dir()
    metadata = read_metadata(folder)
    npz_path = folder / MODEL_FILE
    try:
        blob = npz_path.read_bytes()
    except OSError as exc:
        raise ModelUnavailable(f"the trained classifier heads are missing ({npz_path})",
                               hint="Train them with `make train`, or reinstall safetrail.") from exc
    if hashlib.sha256(blob).hexdigest() != metadata.get("npz_sha256"):
        raise ModelUnavailable(f"the classifier heads {npz_path} do not match their metadata (SHA-256 differs)",
                               hint="Train them again with `make train`, or reinstall safetrail.")
    if metadata.get("hash_version") != HASH_VERSION or tuple(metadata.get("categories", ())) != CATEGORIES:
        raise ModelUnavailable("the classifier heads were trained for a different feature layout",
                               hint="Train them again with `make train`.")
    if metadata.get("embedding", {}).get("sha256") != MODEL_SHA256:
        raise ModelUnavailable("the classifier heads were trained on a different embedding model",
                               hint="Train them again with `make train`.")
    with np.load(io.BytesIO(blob), allow_pickle=False) as arrays:
        weights = HeadWeights.from_npz(arrays)
    if (weights.char_w.shape != (N_FEATURES, len(CATEGORIES)) or weights.mlp_w1.shape[0] != EMBEDDING_DIM
            + weights.char_lex_w.shape[0] or weights.mlp_w2.shape[1] != len(CATEGORIES)):
        raise ModelUnavailable("the classifier heads have unexpected shapes",
                               hint="Train them again with `make train`.")
    return weights, metadata


def load(model_dir: Path | None = None, *, threads: int = 2) -> Classifier:
    """Load the shipped heads, word lists and the embedding model (``ModelUnavailable`` if anything is missing)."""
    weights, metadata = load_weights(model_dir)
    lexicon = load_lexicon()
    if list(lexicon.feature_names) != list(metadata.get("lexicon_features", [])):
        raise ModelUnavailable("the classifier heads were trained with different word lists or phrases",
                               hint="Train them again with `make train`.")
    return Classifier(weights, metadata, lexicon, Embedder(threads=threads))


def flag_messages(clf: Classifier, messages: Iterable[Message]) -> Iterator[Flag]:
    """A ``Flag`` for every category a message reaches the threshold in, with the supporting text quoted.

    System lines, calls, messages without text and deleted or unsent messages (whose text is the platform's
    placeholder, not the sender's words) are skipped. Flags come in message order, then category order.
    """
    batch: list[Message] = []

    def drain(items: list[Message]) -> Iterator[Flag]:
        scores = clf.score([m.text for m in items])
        for message, row in zip(items, scores, strict=True):
            for k, category in enumerate(clf.categories):
                probability = float(row[k])
                if probability >= clf.thresholds[category]:
                    yield Flag(message_id=message.id, category=category, score=round(probability, 4),
                               evidence=clf.explain(message.text, category), model_version=clf.version)

    for message in messages:
        if message.kind is not MessageKind.MESSAGE or message.deleted or not message.text or not message.text.strip():
            continue
        batch.append(message)
        if len(batch) >= 512:
            yield from drain(batch)
            batch = []
    if batch:
        yield from drain(batch)
