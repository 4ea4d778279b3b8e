"""Masking of secrets and their encodings in streamed job output."""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.errors import VaultError
from bastion.vault import MASK, Masker, secret_variants

SECRET = 'Tk9"vQ2\\xLm/P4+wZ8?rN=é'
PEM = (
    "-----BEGIN TEST KEY-----\nMIIBOgIBAAJBAKj34GkxFhD9\n0Zq7Rw3Ys8Vt2Ux6PaBc\n"
    "-----END TEST KEY-----"
)


def _stream(masker: Masker, data: bytes, cuts: list[int]) -> bytes:
    out = []
    start = 0
    for cut in sorted(cuts):
        out.append(masker.feed(data[start:cut]))
        start = cut
    out.append(masker.feed(data[start:]))
    out.append(masker.flush())
    return b"".join(out)


def test_plain_value_is_masked() -> None:
    masker = Masker([SECRET])
    raw = SECRET.encode()
    assert masker.mask(b"token=" + raw + b"; again " + raw) == b"token=***; again ***"
    assert masker.mask(b"nothing secret here") == b"nothing secret here"


@pytest.mark.parametrize("altchars", [None, b"-_"])
@pytest.mark.parametrize("prefix", [b"", b"u", b"us", b"use", b"user:"])
@pytest.mark.parametrize("suffix", [b"", b"!", b"!!"])
def test_base64_in_every_alignment(altchars: bytes | None, prefix: bytes, suffix: bytes) -> None:
    raw = SECRET.encode()
    encoded = base64.b64encode(prefix + raw + suffix, altchars=altchars)
    masked = Masker([SECRET]).mask(b"Authorization: Basic " + encoded)
    assert MASK in masked
    # All but the few characters shared with the neighbouring bytes are gone.
    assert len(masked) <= len(b"Authorization: Basic ") + len(encoded) - len(raw) * 4 // 3 + 8


@pytest.mark.parametrize(
    "encoded",
    [
        SECRET.encode().hex().encode(),
        SECRET.encode().hex().upper().encode(),
        urllib.parse.quote(SECRET, safe="").encode(),
        re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(SECRET, safe="")).encode(),
        urllib.parse.quote_plus(SECRET).encode(),
        json.dumps(SECRET)[1:-1].encode(),
        json.dumps(SECRET, ensure_ascii=False)[1:-1].encode(),
        base64.b64encode(SECRET.encode()),
    ],
)
def test_other_encodings(encoded: bytes) -> None:
    masked = Masker([SECRET]).mask(b"<" + encoded + b">")
    assert masked == b"<***>"


def test_json_document_with_the_secret() -> None:
    document = json.dumps({"password": SECRET, "user": "ci"}).encode()
    assert Masker([SECRET]).mask(document) == b'{"password": "***", "user": "ci"}'


def test_each_line_of_a_multi_line_value() -> None:
    masker = Masker([PEM])
    for line in PEM.splitlines():
        assert masker.mask(b"> " + line.encode() + b" <") == b"> *** <"
    assert masker.mask(PEM.encode()) == b"***"
    assert masker.mask(PEM.replace("\n", "\r\n").encode()).count(MASK) >= 1
    assert b"MIIBOg" not in masker.mask(PEM.replace("\n", "\r\n").encode())


def test_every_two_chunk_split_of_every_variant() -> None:
    masker = Masker([SECRET])
    for variant in sorted(secret_variants(SECRET)):
        data = b"start " + variant + b" mid " + variant + variant + b" end"
        whole = masker.mask(data)
        assert variant not in whole
        for cut in range(len(data) + 1):
            assert _stream(masker, data, [cut]) == whole, (variant, cut)


def test_hold_back_is_only_a_possible_secret_start() -> None:
    masker = Masker([SECRET])
    assert masker.feed(b"ordinary text\n") == b"ordinary text\n"
    raw = SECRET.encode()
    assert masker.feed(b"token=" + raw[:5]) == b"token="
    assert masker.feed(b"x") == raw[:5] + b"x"
    hex_start = raw.hex().encode()[:-1]  # all but the last digit: not yet a match
    shown = masker.feed(b"a" * 1000 + hex_start)
    assert shown == b"a" * 1000
    assert masker.flush() == hex_start
    assert masker.flush() == b""


def test_short_secrets_are_refused_and_no_secrets_pass_through() -> None:
    with pytest.raises(VaultError, match="too short to mask safely"):
        Masker(["short"])
    empty = Masker([])
    assert empty.pattern_count == 0
    assert empty.feed(b"as is") == b"as is"
    assert empty.flush() == b""
    assert Masker([SECRET, SECRET.encode()]).pattern_count == len(secret_variants(SECRET))


_secret_text = st.text(
    alphabet=st.characters(blacklist_characters="*", blacklist_categories=["Cs"]),
    min_size=8,
    max_size=24,
)


@settings(max_examples=150, deadline=None)
@given(
    secret=_secret_text,
    data=st.data(),
    before=st.binary(max_size=40),
    after=st.binary(max_size=40),
)
def test_streaming_never_leaks_and_equals_whole(
    secret: str, data: st.DataObject, before: bytes, after: bytes
) -> None:
    masker = Masker([secret])
    variant = data.draw(st.sampled_from(sorted(secret_variants(secret))))
    text = before + variant + after + variant
    cuts = data.draw(st.lists(st.integers(min_value=0, max_value=len(text)), max_size=6))
    whole = masker.mask(text)
    streamed = _stream(masker, text, cuts)
    assert streamed == whole
    for any_variant in secret_variants(secret):
        assert any_variant not in streamed


@settings(max_examples=50, deadline=None)
@given(secrets=st.lists(_secret_text, min_size=2, max_size=5), noise=st.binary(max_size=30))
def test_many_secrets_overlapping(secrets: list[str], noise: bytes) -> None:
    masker = Masker(secrets)
    text = noise.join(s.encode() for s in secrets) + secrets[0].encode()[:5]
    masked = masker.mask(text)
    for secret in secrets:
        assert secret.encode() not in masked
    assert _stream(masker, text, [1, len(text) // 2]) == masked


LONG_SECRET = "AKIAq/7Rz+Lw9=x" + "k3VbT8pXeN2mYcQ4" * 4  # 79 bytes: base64 wraps


@pytest.mark.parametrize("width", [76, 64])
def test_line_wrapped_base64_of_a_long_value(width: int) -> None:
    # `echo "$TOKEN" | base64` wraps at 76 columns, `openssl base64` and PEM at 64.
    encoded = base64.b64encode(LONG_SECRET.encode() + b"\n")
    wrapped = b"\n".join(encoded[i : i + width] for i in range(0, len(encoded), width))
    masked = Masker([LONG_SECRET]).mask(wrapped + b"\n")
    for line in wrapped.splitlines()[:-1]:
        assert line not in masked
    assert wrapped.splitlines()[-1][:8] not in masked


@pytest.mark.parametrize(
    "encoded",
    [
        quote(LONG_SECRET).encode(),  # Python's quote() keeps "/" (its default safe)
        quote(SECRET).encode(),
        quote(SECRET + "!*'()", safe="!'()*~").encode(),  # JavaScript's encodeURIComponent
        json.dumps(SECRET)[1:-1].replace("/", "\\/").encode(),  # PHP's json_encode
        json.dumps(SECRET)[1:-1].replace("\\u00e9", "\\u00E9").encode(),  # upper-case escapes
    ],
)
def test_common_encoder_dialects(encoded: bytes) -> None:
    masker = Masker([SECRET, SECRET + "!*'()", LONG_SECRET])
    assert masker.mask(b"<" + encoded + b">") == b"<***>"
