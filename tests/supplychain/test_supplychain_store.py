"""The local content-addressed store: immutability, corruption, refs, promotions."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.errors import VerificationError
from bastion.supplychain import (
    ArtifactStoreError,
    AttestationKind,
    CorruptBlobError,
    LocalBlobStore,
    digest_bytes,
    parse_digest,
)

BUNDLE = "20261101T100500Z-0123456789abcdef"


def test_put_file_stores_by_digest(store: LocalBlobStore, artifact: Path) -> None:
    record = store.put_file(artifact, name="app.bin", media_type="application/octet-stream")
    data = artifact.read_bytes()
    assert record.digest == "sha256:" + hashlib.sha256(data).hexdigest()
    assert record.size == len(data)
    assert store.read(record.digest) == data
    assert store.blob_path(record.digest).name == record.digest.split(":")[1]
    assert store.record(record.digest) == record


def test_second_put_keeps_first_record(store: LocalBlobStore) -> None:
    first = store.put_bytes(b"same", name="one", media_type="text/plain")
    second = store.put_bytes(b"same", name="two", media_type="text/other")
    assert second == first
    assert not list(store.blob_path(first.digest).parent.glob(".tmp-*"))


def test_corrupted_blob_is_detected_and_never_overwritten(store: LocalBlobStore) -> None:
    record = store.put_bytes(b"original", name="a", media_type="text/plain")
    store.blob_path(record.digest).write_bytes(b"tampered")
    with pytest.raises(CorruptBlobError) as info:
        store.read(record.digest)
    assert info.value.reason == "blob-corrupt"
    with pytest.raises(CorruptBlobError):
        store.put_bytes(b"original", name="a", media_type="text/plain")
    assert store.blob_path(record.digest).read_bytes() == b"tampered"


@settings(max_examples=25, deadline=None)
@given(data=st.binary(max_size=2048))
def test_digest_of_stored_bytes_round_trips(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    store = LocalBlobStore(tmp_path_factory.mktemp("store"))
    record = store.put_bytes(data, name="blob", media_type="application/octet-stream")
    assert record.digest == digest_bytes(data)
    assert store.read(record.digest) == data


@pytest.mark.parametrize(
    ("text", "expected"),
    [("A" * 64, "sha256:" + "a" * 64), ("sha256:" + "0" * 64, "sha256:" + "0" * 64)],
)
def test_parse_digest_accepts(text: str, expected: str) -> None:
    assert parse_digest(text) == expected


@pytest.mark.parametrize("text", ["", "sha256:abc", "md5:" + "0" * 32, "sha256:" + "g" * 64])
def test_parse_digest_refuses(text: str) -> None:
    with pytest.raises(ArtifactStoreError):
        parse_digest(text)


def test_missing_artifact_is_a_clear_error(store: LocalBlobStore) -> None:
    digest = digest_bytes(b"never stored")
    assert not store.has(digest)
    with pytest.raises(ArtifactStoreError, match="no artifact"):
        store.record(digest)
    with pytest.raises(ArtifactStoreError, match="no blob"):
        store.read(digest)
    with pytest.raises(ArtifactStoreError, match="cannot attest"):
        store.put_attestation(digest, BUNDLE, AttestationKind.PROVENANCE, b"{}")
    with pytest.raises(ArtifactStoreError, match="cannot promote"):
        store.promote("prod", digest)


def test_attestations_are_written_once(store: LocalBlobStore) -> None:
    record = store.put_bytes(b"x", name="x", media_type="text/plain")
    assert store.bundles(record.digest) == []
    assert store.get_attestation(record.digest, BUNDLE, AttestationKind.SPDX) is None
    store.put_attestation(record.digest, BUNDLE, AttestationKind.SPDX, b'{"a": 1}')
    store.put_attestation(record.digest, BUNDLE, AttestationKind.SPDX, b'{"a": 1}')
    assert store.get_attestation(record.digest, BUNDLE, AttestationKind.SPDX) == b'{"a": 1}'
    with pytest.raises(ArtifactStoreError, match="already stored"):
        store.put_attestation(record.digest, BUNDLE, AttestationKind.SPDX, b'{"a": 2}')


def test_bundles_sort_newest_first_and_ignore_strays(store: LocalBlobStore) -> None:
    record = store.put_bytes(b"x", name="x", media_type="text/plain")
    newer = "20261201T000000Z-" + "1" * 16
    store.put_attestation(record.digest, BUNDLE, AttestationKind.SPDX, b"{}")
    store.put_attestation(record.digest, newer, AttestationKind.SPDX, b"{}")
    (store.root / "attestations" / "sha256" / record.digest[7:] / ".tmp-stray").mkdir()
    assert store.bundles(record.digest) == [newer, BUNDLE]


@pytest.mark.parametrize("bundle", ["../x", "latest", "20261101T000000Z-XYZ"])
def test_bad_bundle_names_are_refused(store: LocalBlobStore, bundle: str) -> None:
    record = store.put_bytes(b"x", name="x", media_type="text/plain")
    with pytest.raises(ArtifactStoreError, match="bundle"):
        store.put_attestation(record.digest, bundle, AttestationKind.SPDX, b"{}")


def test_refs_point_at_digests(store: LocalBlobStore) -> None:
    record = store.put_bytes(b"x", name="x", media_type="text/plain")
    store.set_ref("app-1.0", record.digest)
    assert store.resolve_ref("app-1.0") == record.digest
    with pytest.raises(ArtifactStoreError, match="no artifact named"):
        store.resolve_ref("other")


@pytest.mark.parametrize("name", ["../escape", ".hidden", "a/b", "", "x" * 300])
def test_unsafe_names_are_refused(store: LocalBlobStore, name: str) -> None:
    with pytest.raises(ArtifactStoreError, match="invalid ref name"):
        store.set_ref(name, digest_bytes(b""))


def test_promotions_are_appended(store: LocalBlobStore) -> None:
    one = store.put_bytes(b"1", name="1", media_type="text/plain")
    two = store.put_bytes(b"2", name="2", media_type="text/plain")
    assert store.promotions("prod") == []
    store.promote("prod", one.digest)
    store.promote("prod", two.digest)
    assert [p.digest for p in store.promotions("prod")] == [one.digest, two.digest]


def test_corrupt_promotion_log_names_the_line(store: LocalBlobStore) -> None:
    record = store.put_bytes(b"1", name="1", media_type="text/plain")
    store.promote("prod", record.digest)
    with (store.root / "promotions" / "prod.jsonl").open("a") as stream:
        stream.write("{broken\n")
    with pytest.raises(ArtifactStoreError, match=r"prod.jsonl:2"):
        store.promotions("prod")


def test_unwritable_store_raises_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ArtifactStoreError, match="cannot write"):
        LocalBlobStore(blocker).put_bytes(b"x", name="x", media_type="text/plain")


def test_corrupt_blob_error_is_a_verification_error() -> None:
    assert issubclass(CorruptBlobError, VerificationError)
