"""BagIt (RFC 8493) layout shared by the pack writer and ``verify``: names, manifest lines, safe paths.

A pack is a ZIP holding one folder (the bag): ``bagit.txt``, ``bag-info.txt``, ``manifest-sha256.txt`` (payload
under ``data/``, in the exact ``sha256sum -c`` format), ``tagmanifest-sha256.txt`` (covering the tag files),
``manifest.json`` (safetrail's own, richer manifest) and ``custody-log.jsonl``.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "BAGIT_TXT",
    "CUSTODY_NAME",
    "MANIFEST_JSON",
    "PAYLOAD_MANIFEST",
    "TAG_MANIFEST",
    "format_manifest",
    "parse_manifest",
    "safe_name",
]

BAGIT_TXT = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
PAYLOAD_MANIFEST = "manifest-sha256.txt"
TAG_MANIFEST = "tagmanifest-sha256.txt"
MANIFEST_JSON = "manifest.json"
CUSTODY_NAME = "custody-log.jsonl"

_UNSAFE = re.compile(r"[^\w.\- ()@+,=&'\[\]]", re.UNICODE)


def safe_name(name: str, limit: int = 120) -> str:
    """A file name that every unzip tool, ``sha256sum -c`` and BagIt accept unchanged (no separators, no %)."""
    name = unicodedata.normalize("NFC", name).replace("/", "_").replace("\\", "_")
    name = _UNSAFE.sub("_", name).strip(" .") or "file"
    if len(name) > limit:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: limit - len(ext) - 1] + dot + ext) if dot and len(ext) < 10 else name[:limit]
    return name


def format_manifest(entries: dict[str, str]) -> str:
    """``<sha256>  <path>`` lines, sorted by path (the format ``sha256sum -c`` reads)."""
    return "".join(f"{digest}  {path}\n" for path, digest in sorted(entries.items()))


def parse_manifest(text: str) -> dict[str, str]:
    """Path → digest; raises ValueError naming the line that does not fit the format."""
    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        digest, sep, path = line.partition("  ")
        if not sep or not re.fullmatch(r"[0-9a-f]{64}", digest) or not path:
            raise ValueError(f"line {n} is not '<sha256>  <path>'")
        path = path.removeprefix("*")
        if path in out:
            raise ValueError(f"line {n} lists {path} a second time")
        out[path] = digest
    return out
