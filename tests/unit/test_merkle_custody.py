"""RFC 6962 Merkle hashing against the Certificate Transparency vectors, and the custody hash chain."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from safetrail.storage.custody import CustodyEntry, chain_problems, make_entry, merkle_root
from safetrail.storage.merkle import inclusion_proof, leaf_hash, root_from_leaf_hashes, verify_inclusion

# RFC 6962 reference inputs and roots (certificate-transparency / transparency-dev test data).
CT_LEAVES = [bytes.fromhex(h) for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                        "606162636465666768696a6b6c6d6e6f"]]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    assert root_from_leaf_hashes([]).hex() == hashlib.sha256(b"").hexdigest()


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_rfc6962_vectors(size: int) -> None:
    """GIVEN the CT reference leaves WHEN the first n are hashed THEN the root is the published one."""
    assert root_from_leaf_hashes([leaf_hash(x) for x in CT_LEAVES[:size]]).hex() == CT_ROOTS[size - 1]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 8, 13, 33])
def test_every_inclusion_proof_verifies_and_a_wrong_leaf_fails(size: int) -> None:
    hashes = [leaf_hash(f"leaf-{i}".encode()) for i in range(size)]
    root = root_from_leaf_hashes(hashes)
    for i in range(size):
        proof = inclusion_proof(i, hashes)
        assert verify_inclusion(hashes[i], i, size, proof, root)
        assert not verify_inclusion(leaf_hash(b"not in the tree"), i, size, proof, root)
        if size > 1:
            assert not verify_inclusion(hashes[i], (i + 1) % size, size, proof, root)


def _log(n: int) -> list[CustodyEntry]:
    entries: list[CustodyEntry] = []
    for i in range(n):
        entries.append(make_entry(entries[-1] if entries else None, at=f"2026-01-0{i + 1}T00:00:00Z",
                                  actor="owner", action="import", object=f"obj{i}", details={"n": i}))
    return entries


def test_intact_chain_has_no_problems() -> None:
    assert chain_problems(_log(5)) == []


def test_edit_delete_reorder_and_insert_are_all_detected() -> None:
    """GIVEN an intact log WHEN any entry is edited, removed, swapped or inserted THEN the chain names it."""
    log = _log(5)
    edited = [*log[:2], replace(log[2], details={"n": 99}), *log[3:]]
    assert "entry 3 was changed after it was written" in chain_problems(edited)
    removed = log[:2] + log[3:]
    assert chain_problems(removed)
    swapped = [log[0], log[2], log[1], *log[3:]]
    assert chain_problems(swapped)
    forged = make_entry(log[1], at="2026-01-09T00:00:00Z", actor="x", action="import", object="forged")
    assert chain_problems([*log[:2], forged, *log[2:]])
    roots = {merkle_root(x) for x in (log, edited, removed, swapped)}
    assert len(roots) == 4
