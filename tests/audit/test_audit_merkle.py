"""RFC 6962 conformance (transparency-dev/merkle vectors) and properties of bastion.audit.merkle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymerkle import InmemoryTree

from bastion.audit.merkle import (
    EMPTY_ROOT,
    CompactRange,
    PackedTree,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    perfect_nodes_for_consistency,
    perfect_nodes_for_inclusion,
    verify_consistency,
    verify_inclusion,
)

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "data" / "audit" / "rfc6962_vectors.json").read_text()
)
LEAVES = [leaf_hash(bytes.fromhex(x)) for x in VECTORS["leaves_hex"]]
ROOTS = [bytes.fromhex(x) for x in VECTORS["roots_hex"]]


def _naive_mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1 MTH written as literally as possible, as an oracle."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(_naive_mth(leaves[:k]), _naive_mth(leaves[k:]))


class _DictSource:
    def __init__(self, tree: PackedTree, wanted: list[tuple[int, int]]) -> None:
        self.nodes = {(lvl, idx): tree.perfect(lvl, idx) for lvl, idx in wanted}

    def perfect(self, level: int, index: int) -> bytes:
        return self.nodes[(level, index)]


def test_empty_root_is_sha256_of_nothing() -> None:
    assert bytes.fromhex(VECTORS["empty_root_hex"]) == EMPTY_ROOT
    assert PackedTree([]).root() == EMPTY_ROOT
    assert CompactRange().root() == EMPTY_ROOT


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_vectors(size: int) -> None:
    assert PackedTree(LEAVES[:size]).root() == ROOTS[size - 1]
    assert PackedTree(LEAVES).root(size) == ROOTS[size - 1]
    compact = CompactRange()
    for leaf in LEAVES[:size]:
        compact.append(leaf)
    assert compact.root() == ROOTS[size - 1]


@pytest.mark.parametrize("case", VECTORS["inclusion"], ids=lambda c: f"{c['leaf']}of{c['size']}")
def test_inclusion_proofs_match_vectors(case: dict[str, Any]) -> None:
    index, size = case["leaf"], case["size"]
    expected = [bytes.fromhex(x) for x in case["proof"]]
    assert PackedTree(LEAVES).inclusion_proof(index, size) == expected
    verify_inclusion(index, size, LEAVES[index], expected, ROOTS[size - 1])


@pytest.mark.parametrize(
    "case", VECTORS["consistency"], ids=lambda c: f"{c['size1']}to{c['size2']}"
)
def test_consistency_proofs_match_vectors(case: dict[str, Any]) -> None:
    old, new = case["size1"], case["size2"]
    expected = [bytes.fromhex(x) for x in case["proof"]]
    assert PackedTree(LEAVES).consistency_proof(old, new) == expected
    verify_consistency(old, new, expected, ROOTS[old - 1], ROOTS[new - 1])


def _corruptions(proof: list[bytes]) -> list[list[bytes]]:
    out = [[*proof, b""], [*proof, ROOTS[0]], [ROOTS[0], *proof]]
    if proof:
        out.append(proof[:-1])
    for i in range(len(proof)):
        flipped = bytearray(proof[i])
        flipped[0] ^= 16
        out.append([*proof[:i], bytes(flipped), *proof[i + 1 :]])
    return out


@pytest.mark.parametrize(
    "case", VECTORS["inclusion"][1:], ids=lambda c: f"{c['leaf']}of{c['size']}"
)
def test_corrupted_inclusion_proofs_fail(case: dict[str, Any]) -> None:
    index, size = case["leaf"], case["size"]
    proof = [bytes.fromhex(x) for x in case["proof"]]
    root = ROOTS[size - 1]
    for bad in _corruptions(proof):
        with pytest.raises(ProofError):
            verify_inclusion(index, size, LEAVES[index], bad, root)
    for bad_index, bad_size in [(index + 1, size), (index ^ 2, size), (index, size * 2)]:
        if bad_index < bad_size:
            with pytest.raises(ProofError):
                verify_inclusion(bad_index, bad_size, LEAVES[index], proof, root)
    with pytest.raises(ProofError):
        verify_inclusion(index, size, LEAVES[index], proof, EMPTY_ROOT)
    with pytest.raises(ProofError):
        verify_inclusion(size, size, LEAVES[index], proof, root)


@pytest.mark.parametrize(
    "case", VECTORS["consistency"][1:], ids=lambda c: f"{c['size1']}to{c['size2']}"
)
def test_corrupted_consistency_proofs_fail(case: dict[str, Any]) -> None:
    old, new = case["size1"], case["size2"]
    proof = [bytes.fromhex(x) for x in case["proof"]]
    r1, r2 = ROOTS[old - 1], ROOTS[new - 1]
    for bad in [*_corruptions(proof), []]:
        with pytest.raises(ProofError):
            verify_consistency(old, new, bad, r1, r2)
    with pytest.raises(ProofError):
        verify_consistency(old, new, proof, r2, r1)
    with pytest.raises(ProofError):
        verify_consistency(new, old, proof, r1, r2)
    with pytest.raises(ProofError):
        verify_consistency(old + 1, new, proof, r1, r2)


def test_consistency_edge_cases() -> None:
    verify_consistency(0, 5, [], EMPTY_ROOT, ROOTS[4])
    verify_consistency(3, 3, [], ROOTS[2], ROOTS[2])
    with pytest.raises(ProofError):
        verify_consistency(3, 3, [], ROOTS[2], ROOTS[3])
    with pytest.raises(ProofError):
        verify_consistency(0, 3, [ROOTS[0]], EMPTY_ROOT, ROOTS[2])
    with pytest.raises(ProofError):
        consistency_proof(PackedTree(LEAVES), 5, 3)
    with pytest.raises(ProofError):
        inclusion_proof(PackedTree(LEAVES), 8, 8)
    with pytest.raises(ProofError):
        PackedTree(LEAVES).perfect(3, 1)
    with pytest.raises(ProofError):
        PackedTree([b"short"])
    with pytest.raises(ProofError):
        CompactRange(3, [LEAVES[0]])


def test_compact_range_round_trips_and_reports_completed_nodes() -> None:
    compact = CompactRange()
    completed: list[tuple[int, int, bytes]] = []
    for leaf in LEAVES[:7]:
        completed.extend(compact.append(leaf))
    tree = PackedTree(LEAVES[:7])
    assert completed == [
        (level, index, tree.perfect(level, index))
        for level, index in [(1, 0), (1, 1), (2, 0), (1, 2)]
    ]
    again = CompactRange.from_bytes(7, compact.to_bytes())
    again.append(LEAVES[7])
    assert again.root() == ROOTS[7]


@settings(max_examples=60, deadline=None)
@given(size=st.integers(1, 70), data=st.data())
def test_proofs_round_trip_for_any_size(size: int, data: st.DataObject) -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    tree = PackedTree(leaves)
    assert tree.root() == _naive_mth(leaves)
    index = data.draw(st.integers(0, size - 1))
    proof = tree.inclusion_proof(index, size)
    verify_inclusion(index, size, leaves[index], proof, tree.root())
    # The recorded node list is exactly what a database must fetch to rebuild the proof.
    fetched = _DictSource(tree, perfect_nodes_for_inclusion(index, size))
    assert inclusion_proof(fetched, index, size) == proof
    old = data.draw(st.integers(0, size))
    cproof = tree.consistency_proof(old, size)
    verify_consistency(old, size, cproof, tree.root(old), tree.root())
    fetched = _DictSource(tree, perfect_nodes_for_consistency(old, size))
    assert consistency_proof(fetched, old, size) == cproof


@settings(max_examples=40, deadline=None)
@given(entries=st.lists(st.binary(max_size=40), min_size=1, max_size=80))
def test_roots_agree_with_pymerkle(entries: list[bytes]) -> None:
    """An independent RFC 6962 implementation (pymerkle) computes the same roots."""
    peer = InmemoryTree(algorithm="sha256")
    for entry in entries:
        peer.append_entry(entry)
    tree = PackedTree([leaf_hash(e) for e in entries])
    for size in {1, len(entries) // 2 or 1, len(entries)}:
        assert tree.root(size) == peer.get_root(size)
