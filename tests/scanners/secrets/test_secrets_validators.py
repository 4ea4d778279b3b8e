"""Checksums, structure decoding, entropy and redaction."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from bastion.scanners.secrets.redact import digest, redact
from bastion.scanners.secrets.rule import Validator
from bastion.scanners.secrets.samples import render
from bastion.scanners.secrets.validators import (
    base62_crc32,
    check,
    generic_value,
    shannon_entropy,
)


def test_github_checksum_accepts_valid_and_rejects_altered() -> None:
    rng = random.Random(5)
    good = render("<<gh:ghp_>>", rng).encode()
    bad = render("<<ghbad:ghp_>>", rng).encode()
    assert check(Validator.GITHUB_CRC32, good)
    assert not check(Validator.GITHUB_CRC32, bad)


def test_base62_crc32_is_six_base62_digits() -> None:
    assert base62_crc32(b"") == b"000000"
    assert len(base62_crc32(b"anything")) == 6


def test_jwt_needs_json_header_with_alg() -> None:
    token = render("<<jwt>>", random.Random(1)).encode()
    assert check(Validator.JWT, token)
    assert not check(Validator.JWT, b"eyJub3Rqc29u.eyJhIjoxfQ.c2lnbmF0dXJlc2lnbmF0dXJl")


def test_pem_structure() -> None:
    rng = random.Random(2)
    for kind in ("rsa", "ec", "pkcs8", "openssh", "encrypted"):
        assert check(Validator.PEM, render(f"<<pem:{kind}>>", rng).encode())
    fake = (
        b"-----BEGIN RSA PRIVATE KEY-----\nbm90IGEga2V5IGF0IGFsbCwganVzdCB0ZXh0IGxvbmcgZW5vdWdo\n"
    )
    assert not check(Validator.PEM, fake + b"-----END RSA PRIVATE KEY-----")


def test_other_structures() -> None:
    rng = random.Random(3)
    assert check(Validator.PYPI_MACAROON, render("<<pypi>>", rng).encode())
    assert not check(Validator.PYPI_MACAROON, b"pypi-AgEIcHlwaS5vcmc" + b"A" * 60)
    assert check(Validator.DOCKER_AUTH, render("<<dockerauth>>", rng).encode())
    assert not check(Validator.DOCKER_AUTH, b"bm9jb2xvbg==")
    assert check(Validator.DISCORD, render("<<discord>>", rng).encode())
    assert check(Validator.BASE64_64, render("<<b64raw:64>>", rng).encode())
    assert not check(Validator.BASE64_64, render("<<b64raw:32>>", rng).encode())
    assert check(Validator.NONE, b"anything")


def test_entropy() -> None:
    assert shannon_entropy(b"") == 0.0
    assert shannon_entropy(b"aaaa") == 0.0
    assert abs(shannon_entropy(b"abcd") - 2.0) < 1e-9


@given(st.text(min_size=1, max_size=200))
def test_redaction_never_shows_more_than_a_quarter(secret: str) -> None:
    shown = redact(secret)
    assert shown.endswith(f"({len(secret)} chars)")
    assert len(shown.split("…")[0]) <= max(0, len(secret) // 4)


def test_redacted_pem_shows_only_its_header() -> None:
    key = render("<<pem:ec>>", random.Random(4))
    assert redact(key) == f"-----BEGIN EC PRIVATE KEY-----…({len(key)} chars)"


def test_digest_is_stable_and_rule_scoped() -> None:
    assert digest("a", b"s3cret") == digest("a", b"s3cret")
    assert digest("a", b"s3cret") != digest("b", b"s3cret")
    assert b"s3cret".hex() not in digest("a", b"s3cret")


def test_generic_value_judges_randomness_by_alphabet() -> None:
    rng = random.Random(6)
    assert generic_value(render("<<hex:32>>", rng).encode())  # hex keys: 4 bits at most
    assert generic_value(render("<<b62:24>>7", rng).encode())
    assert not generic_value(render("<<uuid>>", rng).encode())
    assert not generic_value(b"/etc/ssl/private/server.key")
    assert not generic_value(b"v1.24.3-rc.1")
    assert not generic_value(b"aaaabbbbccccdddd1111")
    assert not generic_value(b"12345678901234567890")


def test_base64_jwt_is_decoded_and_checked() -> None:
    rng = random.Random(7)
    assert check(Validator.JWT_BASE64, render("<<jwtb64>>", rng).encode())
    assert not check(Validator.JWT_BASE64, render("ZXlK<<b64:80>>", rng).encode())
