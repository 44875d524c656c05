"""RFC 6962 hashing and proofs: hand-computed small trees and properties."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from loopml.entities.governance import frontier_root, leaf_hash, node_hash, push_leaf
from loopml.governance import (
    consistency_proof,
    inclusion_proof,
    tree_root,
    verify_consistency,
    verify_inclusion,
)


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _leaves(n: int) -> list[bytes]:
    return [leaf_hash(bytes([i])) for i in range(n)]


def test_hand_computed_trees() -> None:
    a, b, c = (_h(b"\x00" + bytes([i])) for i in range(3))
    assert tree_root([]) == _h(b"")
    assert tree_root([a]) == a
    ab = _h(b"\x01" + a + b)
    assert tree_root([a, b]) == ab
    # three leaves: split at 2, so the right subtree is c alone
    assert tree_root([a, b, c]) == _h(b"\x01" + ab + c)
    assert inclusion_proof(2, [a, b, c]) == [ab]
    assert inclusion_proof(0, [a, b, c]) == [b, c]
    assert consistency_proof(2, [a, b, c]) == [c]
    assert consistency_proof(1, [a, b, c]) == [b, c]


def test_the_frontier_gives_the_same_root() -> None:
    frontier: list[bytes] = []
    leaves = _leaves(37)
    for i, leaf in enumerate(leaves):
        frontier = push_leaf(frontier, i, leaf)
        assert frontier_root(frontier) == tree_root(leaves[: i + 1])
    assert node_hash(b"a", b"b") == _h(b"\x01ab")


@given(st.integers(1, 70).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))))
def test_inclusion_proofs_verify_and_a_changed_leaf_breaks_them(case: tuple[int, int]) -> None:
    n, i = case
    leaves = _leaves(n)
    root = tree_root(leaves)
    proof = inclusion_proof(i, leaves)
    assert verify_inclusion(leaves[i], i, n, proof, root)
    assert not verify_inclusion(leaf_hash(b"changed"), i, n, proof, root)
    if n > 1:
        assert not verify_inclusion(leaves[i], (i + 1) % n, n, proof, root)


@given(st.integers(0, 70).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_consistency_proofs_verify_and_a_changed_leaf_breaks_them(case: tuple[int, int]) -> None:
    m, n = case
    leaves = _leaves(n)
    old, new = tree_root(leaves[:m]), tree_root(leaves)
    proof = consistency_proof(m, leaves)
    assert verify_consistency(m, n, old, new, proof)
    if 0 < m:
        changed = [*leaves]
        changed[m - 1] = leaf_hash(b"changed")
        assert not verify_consistency(m, n, old, tree_root(changed), consistency_proof(m, changed))
