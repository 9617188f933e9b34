"""Importers turn platform exports into ``safetrail.model.Message`` values. See ``base`` for the protocol."""

from __future__ import annotations

from typing import Any

__all__ = ["parse_file"]


def __getattr__(name: str) -> Any:
    # Lazy, so that importer modules can import ``safetrail.importers.base`` without loading the registry
    # (which imports every importer module).
    if name == "parse_file":
        from safetrail.importers.registry import parse_file

        return parse_file
    raise AttributeError(name)
