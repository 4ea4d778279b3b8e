"""RFC 6962 Merkle tree hashing, inclusion and consistency proofs.

    >>> from bastion.audit.merkle import leaf_hash, PackedTree
    >>> tree = PackedTree([leaf_hash(b"a"), leaf_hash(b"b"), leaf_hash(b"c")])
    >>> len(tree.inclusion_proof(1, 3))
    2

Why our own and not ``pymerkle``: verifying a 1,000,000-event log must take seconds in
Python, and the log lives in our SQL database beside the events. Here a leaf hash is one
``hashlib.sha256`` call, interior levels are built iteratively into packed ``bytes`` (64 MB
for a million leaves, not millions of objects), appends touch only the O(log n) right edge
(:class:`CompactRange`), and proofs read only the O(log n) perfect subtrees they need from
any :class:`NodeSource` (memory or database). The functions follow RFC 6962 §2.1 for
generation and RFC 9162 §2.1.3.2/§2.1.4.2 for verification, and are tested against the
transparency-dev/merkle test vectors.

Terms: a *perfect node* ``(level, index)`` is the root of the ``2**level`` leaves starting at
``index * 2**level``; level 0 holds the leaf hashes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Protocol

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "NodeSource",
    "PackedTree",
    "ProofError",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "perfect_nodes_for_consistency",
    "perfect_nodes_for_inclusion",
    "root_from_inclusion_proof",
    "subtree_hash",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_sha256 = hashlib.sha256


class ProofError(ValueError):
    """A proof does not verify or its parameters are impossible."""


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``: the hash of one leaf."""
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``: the hash of an interior node."""
    return _sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class NodeSource(Protocol):
    """Where proof generation reads perfect nodes from."""

    def perfect(self, level: int, index: int) -> bytes:
        """The hash of perfect node ``(level, index)``."""
        ...


def subtree_hash(source: NodeSource, start: int, end: int) -> bytes:
    """MTH(D[start:end]) for ``end > start``, built from perfect nodes."""
    n = end - start
    if n & (n - 1) == 0 and start % n == 0:
        level = n.bit_length() - 1
        return source.perfect(level, start >> level)
    k = _split(n)
    return node_hash(subtree_hash(source, start, start + k), subtree_hash(source, start + k, end))


def _path(source: NodeSource, index: int, start: int, end: int) -> list[bytes]:
    if end - start == 1:
        return []
    k = _split(end - start)
    if index < start + k:
        return [*_path(source, index, start, start + k), subtree_hash(source, start + k, end)]
    return [*_path(source, index, start + k, end), subtree_hash(source, start, start + k)]


def inclusion_proof(source: NodeSource, index: int, size: int) -> list[bytes]:
    """The RFC 6962 audit path of leaf ``index`` in the tree of ``size`` leaves."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
    return _path(source, index, 0, size)


def _subproof(source: NodeSource, m: int, start: int, end: int, complete: bool) -> list[bytes]:
    n = end - start
    if m == n:
        return [] if complete else [subtree_hash(source, start, end)]
    k = _split(n)
    if m <= k:
        return [
            *_subproof(source, m, start, start + k, complete),
            subtree_hash(source, start + k, end),
        ]
    return [
        *_subproof(source, m - k, start + k, end, False),
        subtree_hash(source, start, start + k),
    ]


def consistency_proof(source: NodeSource, old_size: int, new_size: int) -> list[bytes]:
    """The RFC 6962 proof that the tree of ``old_size`` is a prefix of that of ``new_size``."""
    if not 0 <= old_size <= new_size:
        raise ProofError(f"no consistency proof from size {old_size} to size {new_size}")
    if old_size in (0, new_size):
        return []
    return _subproof(source, old_size, 0, new_size, True)


class _Recorder:
    """A NodeSource that only notes which perfect nodes are asked for (shape, not values)."""

    def __init__(self) -> None:
        self.wanted: list[tuple[int, int]] = []

    def perfect(self, level: int, index: int) -> bytes:
        self.wanted.append((level, index))
        return bytes(HASH_SIZE)


def perfect_nodes_for_inclusion(index: int, size: int) -> list[tuple[int, int]]:
    """The perfect nodes an inclusion proof reads, so a database can fetch them at once."""
    recorder = _Recorder()
    inclusion_proof(recorder, index, size)
    return recorder.wanted


def perfect_nodes_for_consistency(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """The perfect nodes a consistency proof reads."""
    recorder = _Recorder()
    consistency_proof(recorder, old_size, new_size)
    return recorder.wanted


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} is {len(value)} bytes, not {HASH_SIZE}")


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root an inclusion proof leads to (RFC 9162 §2.1.3.2); ProofError if malformed."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
    _check_hash(leaf, "leaf hash")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        _check_hash(p, "proof hash")
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the tree is deep")
    return r


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise ProofError unless ``proof`` shows ``leaf`` at ``index`` under ``root``."""
    if root_from_inclusion_proof(index, size, leaf, proof) != root:
        raise ProofError(f"inclusion proof of leaf {index} does not lead to the root")


def verify_consistency(
    old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes
) -> None:
    """Raise ProofError unless ``proof`` shows tree ``old_size`` is a prefix of ``new_size``.

    RFC 9162 §2.1.4.2, with the edge cases of transparency-dev/merkle: equal sizes need an
    empty proof and equal roots; an empty old tree is consistent with anything.
    """
    if not 0 <= old_size <= new_size:
        raise ProofError(f"size {old_size} cannot precede size {new_size}")
    if old_size == new_size:
        if proof or old_root != new_root:
            raise ProofError("equal sizes need equal roots and an empty proof")
        return
    if old_size == 0:
        if proof:
            raise ProofError("a proof from the empty tree must be empty")
        return
    if not proof:
        raise ProofError("empty consistency proof")
    for p in proof:
        _check_hash(p, "proof hash")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0 or fr != old_root or sr != new_root:
        raise ProofError(f"trees of size {old_size} and {new_size} are not consistent")


class CompactRange:
    """The right edge of a tree: one perfect node per set bit of ``size``, left to right.

    Enough to append in O(log n) and to compute the root without reading any leaf.
    """

    def __init__(self, size: int = 0, nodes: Iterable[bytes] = ()) -> None:
        self.size = size
        self.nodes = list(nodes)
        if len(self.nodes) != size.bit_count():
            raise ProofError(f"a range of size {size} needs {size.bit_count()} nodes")

    @classmethod
    def from_bytes(cls, size: int, packed: bytes) -> CompactRange:
        """Rebuild from :meth:`to_bytes` output."""
        nodes = [packed[i : i + HASH_SIZE] for i in range(0, len(packed), HASH_SIZE)]
        return cls(size, nodes)

    def to_bytes(self) -> bytes:
        """The nodes concatenated (32 bytes each)."""
        return b"".join(self.nodes)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf hash; return the perfect nodes ``(level, index, hash)`` it completed."""
        completed: list[tuple[int, int, bytes]] = []
        index, level, node = self.size, 0, leaf
        while index & 1:
            node = node_hash(self.nodes.pop(), node)
            index >>= 1
            level += 1
            completed.append((level, index, node))
        self.nodes.append(node)
        self.size += 1
        return completed

    def root(self) -> bytes:
        """MTH of the whole range."""
        if not self.nodes:
            return EMPTY_ROOT
        root = self.nodes[-1]
        for node in reversed(self.nodes[:-1]):
            root = node_hash(node, root)
        return root


class PackedTree:
    """Every perfect node of a tree held in memory, one packed ``bytes`` per level."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        packed = b"".join(leaves)
        if len(packed) != HASH_SIZE * len(leaves):
            raise ProofError("every leaf hash must be 32 bytes")
        self._build(packed)

    @classmethod
    def from_packed(cls, packed: bytes) -> PackedTree:
        """A tree from leaf hashes already concatenated (32 bytes each)."""
        if len(packed) % HASH_SIZE:
            raise ProofError("packed leaf hashes are not a multiple of 32 bytes")
        tree = cls.__new__(cls)
        tree._build(packed)
        return tree

    def _build(self, level: bytes) -> None:
        self.size = len(level) // HASH_SIZE
        self.levels = [level]
        while len(level) >= 2 * HASH_SIZE:
            pairs = len(level) // (2 * HASH_SIZE)
            level = b"".join(
                _sha256(b"\x01" + level[i : i + 2 * HASH_SIZE]).digest()
                for i in range(0, pairs * 2 * HASH_SIZE, 2 * HASH_SIZE)
            )
            self.levels.append(level)

    def perfect(self, level: int, index: int) -> bytes:
        """The hash of perfect node ``(level, index)``."""
        start = index * HASH_SIZE
        node = self.levels[level][start : start + HASH_SIZE]
        if len(node) != HASH_SIZE:
            raise ProofError(f"node ({level}, {index}) is outside a tree of {self.size}")
        return node

    def edge(self, size: int | None = None) -> CompactRange:
        """The compact range of the first ``size`` leaves (all by default)."""
        size = self.size if size is None else size
        nodes, start = [], 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                nodes.append(self.perfect(level, start >> level))
                start += 1 << level
        return CompactRange(size, nodes)

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` leaves (all by default)."""
        size = self.size if size is None else size
        if not 0 <= size <= self.size:
            raise ProofError(f"size {size} is outside a tree of {self.size}")
        return subtree_hash(self, 0, size) if size else EMPTY_ROOT

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """Audit path of leaf ``index`` in the first ``size`` leaves."""
        if size > self.size:
            raise ProofError(f"size {size} is outside a tree of {self.size}")
        return inclusion_proof(self, index, size)

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """Consistency proof between two prefixes of this tree."""
        if new_size > self.size:
            raise ProofError(f"size {new_size} is outside a tree of {self.size}")
        return consistency_proof(self, old_size, new_size)
