"""C2SP signed notes (Go sumdb/note vector), checkpoints and the audit key file."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.audit import (
    Checkpoint,
    Ed25519NoteSigner,
    Ed25519NoteVerifier,
    NoteError,
    key_path,
    load_or_create_signer,
    load_signer,
    load_verifier,
)
from bastion.audit.note import format_checkpoint_text, open_note, sign_note
from bastion.errors import SigningError

VECTOR: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "data" / "audit" / "signed_note_vector.json").read_text()
)


def test_signing_reproduces_the_go_note_byte_for_byte() -> None:
    signer = Ed25519NoteSigner.from_skey(VECTOR["skey"])
    assert signer.verifier().vkey == VECTOR["vkey"]
    assert signer.skey() == VECTOR["skey"]
    assert sign_note(VECTOR["text"], [signer]) == VECTOR["note"]


def test_opening_the_go_note() -> None:
    verifier = Ed25519NoteVerifier.from_vkey(VECTOR["vkey"])
    assert verifier.key_id.hex() == "c74f20a3"
    text, names = open_note(VECTOR["note"], [verifier])
    assert text == VECTOR["text"]
    assert names == ["PeterNeumann"]
    with pytest.raises(NoteError, match="does not verify"):
        open_note(VECTOR["note"].replace("cryptography", "cryptographY"), [verifier])


def test_unknown_keys_are_ignored_but_one_known_signature_is_required() -> None:
    go = Ed25519NoteSigner.from_skey(VECTOR["skey"])
    other = Ed25519NoteSigner.generate("other.example/key")
    both = sign_note(VECTOR["text"], [other, go])
    assert open_note(both, [go.verifier()])[1] == ["PeterNeumann"]
    with pytest.raises(NoteError, match="not signed by a trusted key"):
        open_note(VECTOR["note"], [other.verifier()])
    with pytest.raises(NoteError, match="none given"):
        open_note(VECTOR["note"], [])


@pytest.mark.parametrize(
    ("note", "message"),
    [
        ("no blank line\n— a b\n", "no blank line"),
        ("text\n\n— a b", "no blank line"),
        ("te\x01xt\n\n— a b\n", "control characters"),
        ("text\n\n- name AAAA\n", "malformed signature line"),
        ("text\n\n— name !!!!\n", "not valid base64"),
        ("text\n\n— name AAAA\n", "too short"),
        ("text\n\n" + "— n AAAAAAAA\n" * 40, "more than"),
    ],
)
def test_malformed_notes_are_rejected(note: str, message: str) -> None:
    verifier = Ed25519NoteVerifier.from_vkey(VECTOR["vkey"])
    with pytest.raises(NoteError, match=message):
        open_note(note, [verifier])


@pytest.mark.parametrize(
    ("vkey", "message"),
    [
        ("nokey", "malformed"),
        ("a b+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "invalid key name"),
        ("PeterNeumann+zzzzzzzz+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "not hex"),
        ("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "does not match"),
        ("PeterNeumann+c74f20a3+AhpcAA==", "not an Ed25519 key"),
    ],
)
def test_malformed_verifier_keys_are_rejected(vkey: str, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        Ed25519NoteVerifier.from_vkey(vkey)


def test_malformed_signer_keys_are_rejected() -> None:
    with pytest.raises(NoteError, match="malformed signer key") as info:
        Ed25519NoteSigner.from_skey(VECTOR["vkey"])
    assert "PRIVATE+KEY+" in info.value.diagnostics()
    with pytest.raises(NoteError, match="does not match"):
        Ed25519NoteSigner.from_skey(VECTOR["skey"].replace("c74f20a3", "c74f20a4"))


def test_sign_note_refuses_bad_text() -> None:
    signer = Ed25519NoteSigner.generate("a.example/b")
    for text in ["no newline", "two\n\nparagraphs\n", "tab\there\n"]:
        with pytest.raises(NoteError):
            sign_note(text, [signer])


def test_checkpoint_round_trip_and_format() -> None:
    signer = Ed25519NoteSigner.generate("log.example/a")
    root = bytes(range(32))
    checkpoint = Checkpoint.sign("log.example/a", 42, root, signer)
    text = format_checkpoint_text("log.example/a", 42, root)
    assert checkpoint.note.startswith(text + "\n\u2014 log.example/a ")
    assert text == f"log.example/a\n42\n{base64.b64encode(root).decode()}\n"
    assert Checkpoint.open(checkpoint.note, [signer.verifier()]) == checkpoint
    with pytest.raises(NoteError, match="not 'other'"):
        Checkpoint.open(checkpoint.note, [signer.verifier()], origin="other")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("origin\n42\n", "needs origin"),
        ("origin\n042\nAAAA\n", "not a decimal"),
        ("origin\nx\nAAAA\n", "not a decimal"),
        ("origin\n1\nAAAA\n", "not 32 bytes"),
    ],
)
def test_malformed_checkpoint_bodies_are_rejected(body: str, message: str) -> None:
    signer = Ed25519NoteSigner.generate("origin")
    with pytest.raises(NoteError, match=message):
        Checkpoint.open(sign_note(body, [signer]), [signer.verifier()])
    with pytest.raises(NoteError, match="invalid checkpoint origin"):
        format_checkpoint_text("", 1, bytes(32))


@settings(max_examples=30, deadline=None)
@given(
    size=st.integers(0, 2**63),
    root=st.binary(min_size=32, max_size=32),
    name=st.from_regex(r"[a-z0-9./_-]{1,40}", fullmatch=True),
)
def test_checkpoints_round_trip(size: int, root: bytes, name: str) -> None:
    signer = Ed25519NoteSigner.generate(name)
    checkpoint = Checkpoint.sign(name, size, root, signer)
    assert Checkpoint.open(checkpoint.note, [signer.verifier()], origin=name) == checkpoint


def test_key_file_is_created_0600_and_reloaded(tmp_path: Path) -> None:
    path = key_path(tmp_path / "home")
    signer, created = load_or_create_signer(path, "bastion.local/audit")
    assert created
    assert path.stat().st_mode & 0o777 == 0o600
    assert (path.parent.stat().st_mode & 0o777) == 0o700
    again, created_again = load_or_create_signer(path, "ignored")
    assert not created_again
    assert again.verifier().vkey == signer.verifier().vkey
    assert load_verifier(path).vkey == signer.verifier().vkey
    assert signer.skey() not in repr(signer)


def test_key_file_problems_are_named(tmp_path: Path) -> None:
    path = tmp_path / "key"
    with pytest.raises(SigningError, match="no audit signing key"):
        load_signer(path)
    path.write_text("garbage\n")
    path.chmod(0o644)
    with pytest.raises(SigningError, match="readable by other users") as info:
        load_signer(path)
    assert "chmod 600" in info.value.diagnostics()
    path.chmod(0o600)
    with pytest.raises(SigningError, match=f"{path}:1: malformed signer key"):
        load_signer(path)
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SigningError, match="cannot create"):
        load_or_create_signer(blocker / "keys" / "k", "x")


def test_unreadable_key_file(tmp_path: Path) -> None:
    (tmp_path / "key").mkdir()
    with pytest.raises(SigningError, match="cannot read"):
        load_signer(tmp_path / "key")
