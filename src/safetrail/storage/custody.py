"""The custody log's entry format: canonical bytes, the SHA-256 hash chain and the Merkle root over entries.

Each entry's canonical form is compact, key-sorted JSON holding its sequence number, time, actor, action, object,
details and the previous entry's hash; ``entry_hash`` is SHA-256 of those bytes. Changing, removing, inserting or
reordering any entry breaks the chain from that point, and changes the RFC 6962 Merkle root whose leaves are the
canonical bytes. This module is pure: storing entries is the vault's job, and a pack re-checks them with the
same code.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from safetrail.storage.merkle import leaf_hash, root_from_leaf_hashes

__all__ = ["GENESIS", "CustodyEntry", "chain_problems", "make_entry", "merkle_root"]

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class CustodyEntry:
    seq: int
    at: str  # ISO-8601 UTC
    actor: str
    action: str
    object: str
    details: dict[str, Any] = field(default_factory=dict)
    prev_hash: str = GENESIS
    entry_hash: str = ""

    def canonical(self) -> bytes:
        body = {"seq": self.seq, "at": self.at, "actor": self.actor, "action": self.action,
                "object": self.object, "details": self.details, "prev": self.prev_hash}
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "actor": self.actor, "action": self.action, "object": self.object,
                "details": self.details, "prev_hash": self.prev_hash, "entry_hash": self.entry_hash}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CustodyEntry:
        return cls(seq=int(d["seq"]), at=str(d["at"]), actor=str(d["actor"]), action=str(d["action"]),
                   object=str(d["object"]), details=dict(d.get("details") or {}),
                   prev_hash=str(d["prev_hash"]), entry_hash=str(d["entry_hash"]))


def make_entry(prev: CustodyEntry | None, *, at: str, actor: str, action: str, object: str,
               details: dict[str, Any] | None = None) -> CustodyEntry:
    """The next entry after ``prev`` (None for the first), with its hash computed."""
    draft = CustodyEntry(seq=(prev.seq + 1) if prev else 1, at=at, actor=actor, action=action, object=object,
                         details=details or {}, prev_hash=prev.entry_hash if prev else GENESIS)
    return replace(draft, entry_hash=hashlib.sha256(draft.canonical()).hexdigest())


def chain_problems(entries: Iterable[CustodyEntry]) -> list[str]:
    """Every break in the chain, in plain words; an empty list means the log is intact."""
    problems: list[str] = []
    prev_hash, expected_seq = GENESIS, 1
    for e in entries:
        if e.seq != expected_seq:
            problems.append(f"entry {e.seq} is out of place (expected entry {expected_seq})")
        if e.prev_hash != prev_hash:
            problems.append(f"entry {e.seq} does not follow the entry before it")
        if hashlib.sha256(e.canonical()).hexdigest() != e.entry_hash:
            problems.append(f"entry {e.seq} was changed after it was written")
        prev_hash, expected_seq = e.entry_hash, e.seq + 1
    return problems


def merkle_root(entries: Sequence[CustodyEntry]) -> str:
    return root_from_leaf_hashes([leaf_hash(e.canonical()) for e in entries]).hex()
