"""safetrail: turn unwanted online contact into a verifiable, well-kept case."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
