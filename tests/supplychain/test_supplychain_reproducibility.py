"""Provenance records SOURCE_DATE_EPOCH and whether an earlier build made the same bytes."""

from __future__ import annotations

import pytest

from bastion.errors import UsageError
from bastion.supplychain.provenance import provenance_predicate
from tests.supplychain.supplychain_support import make_context

DIGEST = "sha256:" + "ab" * 32


def _internal(**overrides: object) -> dict[str, object]:
    predicate = provenance_predicate(make_context(**overrides), signed=True, subject=DIGEST)
    internal: dict[str, object] = predicate["buildDefinition"]["internalParameters"]
    return internal


def test_same_subject_as_an_earlier_build_is_verified() -> None:
    internal = _internal(source_date_epoch=1700000000, earlier_digests=frozenset({DIGEST}))
    assert internal["reproducibility"] == {
        "sourceDateEpoch": 1700000000,
        "mtimesClamped": True,
        "reproducible": "verified",
    }


def test_different_or_no_earlier_build_is_unverified() -> None:
    other = frozenset({"sha256:" + "cd" * 32})
    for earlier in (other, frozenset()):
        internal = _internal(source_date_epoch=1, earlier_digests=earlier)
        assert internal["reproducibility"]["reproducible"] == "unverified"  # type: ignore[index]


def test_without_an_epoch_nothing_is_claimed() -> None:
    assert _internal() == {"trust": "trusted", "signed": True}


def test_negative_epoch_is_refused() -> None:
    with pytest.raises(UsageError, match="source_date_epoch"):
        make_context(source_date_epoch=-1)
