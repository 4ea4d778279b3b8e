"""Each family of forms a secret is printed in is masked (issues 19 and 22).

Every test prints the secret the way a real tool does (the standard library's own encoder,
not ours), inside ordinary text, and checks no unmasked copy of the rendering is left.
"""

from __future__ import annotations

import base64
import codecs
import html
import json
import shlex
import urllib.parse
from collections.abc import Callable

import pytest

from bastion.vault import MASK, Masker
from bastion.vault.variants import FAMILIES

# A backslash, quotes, an ampersand, a slash, a space and a non-ASCII letter.
SECRET = "Tk9\"vQ2\\x L'm/P4+wZ&8<rN>é"
ASCII_SECRET = "kT9vQ2xLmP4wZ8rNbH7c"
PEM = (
    "-----BEGIN TEST KEY-----\nMIIBOgIBAAJBAKj34GkxFhD9\n0Zq7Rw3Ys8Vt2Ux6PaBc\n"
    "-----END TEST KEY-----"
)


def _hex_every_byte(fmt: str) -> Callable[[str], bytes]:
    return lambda s: "".join(fmt.format(b) for b in s.encode()).encode()


RENDERINGS: dict[str, Callable[[str], bytes]] = {
    "raw": lambda s: s.encode(),
    "hex": lambda s: s.encode().hex().upper().encode(),
    "hex-separated": lambda s: s.encode().hex(":").encode(),
    "base64": lambda s: base64.urlsafe_b64encode(s.encode()),
    "base64-wrapped": lambda s: base64.encodebytes(s.encode()),
    "base32": lambda s: base64.b32hexencode(b"user:" + s.encode()),
    "url": lambda s: urllib.parse.quote_plus(s).encode(),
    "percent-every-byte": _hex_every_byte("%{:02X}"),
    "json": lambda s: json.dumps({"token": s}).encode(),
    "json-every-char": lambda s: "".join(f"\\u{ord(c):04x}" for c in s).encode(),
    "python-repr": lambda s: repr({"token": s}).encode(),
    "html": lambda s: html.escape(s).encode(),
    "html-numeric": lambda s: "".join(f"&#{ord(c)};" for c in s).encode(),
    "shell": lambda s: shlex.quote(s).encode(),
    "c-escapes": _hex_every_byte("\\x{:02x}"),
    "octal": _hex_every_byte("\\{:03o}"),
    "reversed": lambda s: s[::-1].encode(),
    "rot13": lambda s: codecs.encode(s, "rot13").encode(),
    "utf-16": lambda s: s.encode("utf-16"),  # with its byte-order mark, as Windows tools
}


def test_every_family_has_a_rendering_test() -> None:
    assert set(RENDERINGS) == set(FAMILIES)
    assert len(FAMILIES) + 2 >= 20  # with invisible insertions and multi-line values


@pytest.mark.parametrize("family", sorted(RENDERINGS))
@pytest.mark.parametrize("secret", [SECRET, ASCII_SECRET])
def test_family_is_masked(family: str, secret: str) -> None:
    rendered = RENDERINGS[family](secret)
    masked = Masker([secret]).mask(b"log line: " + rendered + b" done\n")
    assert MASK in masked
    assert rendered not in masked
    assert secret.encode() not in masked


@pytest.mark.parametrize("family", sorted(RENDERINGS))
def test_family_is_masked_per_line_of_a_multi_line_value(family: str) -> None:
    masker = Masker([PEM])
    for line in PEM.splitlines()[1:-1]:
        rendered = RENDERINGS[family](line)
        assert rendered not in masker.mask(b"> " + rendered + b" <")


@pytest.mark.parametrize("width", [64, 76])
@pytest.mark.parametrize("offset", range(60))
def test_wrapped_base64_blob_at_every_offset(width: int, offset: int) -> None:
    # The secret inside a larger blob: its encoding crosses a line break wherever it falls.
    blob = bytes(range(offset)) + ASCII_SECRET.encode() + b"\x00trailer" * 4
    encoded = base64.b64encode(blob)
    wrapped = b"\n".join(encoded[i : i + width] for i in range(0, len(encoded), width))
    masked = Masker([ASCII_SECRET]).mask(wrapped + b"\n")
    start = (offset * 4 + 2) // 3 + 1  # the first character that is the secret's alone
    inner = encoded[start : (offset + len(ASCII_SECRET)) * 4 // 3 - 1]
    assert inner.replace(b"\n", b"") not in masked.replace(b"\n", b"")
    for piece in (inner[i : i + 6] for i in range(0, len(inner) - 6, 6)):
        assert piece not in masked.replace(b"\n", b"")


def test_wrapped_base64_with_crlf() -> None:
    encoded = base64.b64encode(b"abc" + ASCII_SECRET.encode())
    wrapped = encoded[:10] + b"\r\n" + encoded[10:]
    masked = Masker([ASCII_SECRET]).mask(wrapped)
    assert encoded[5:10] not in masked
    assert encoded[10:20] not in masked


@pytest.mark.parametrize(
    "insertion",
    [b"\x1b[31m", b"\x1b[0m", b"\x1b[1;32m", b"\xe2\x80\x8b", b"\xe2\x80\x8d", b"\xe2\x81\xa0"],
)
@pytest.mark.parametrize("where", [1, 7, len(ASCII_SECRET) - 1])
def test_invisible_insertion_in_the_middle(insertion: bytes, where: int) -> None:
    raw = ASCII_SECRET.encode()
    printed = b"token=" + raw[:where] + insertion + raw[where:] + b"\x1b[0m ok"
    masker = Masker([ASCII_SECRET])
    whole = masker.mask(printed)
    assert whole == b"token=***\x1b[0m ok"
    for cut in range(len(printed) + 1):  # an insertion split between chunks too
        out = masker.feed(printed[:cut]) + masker.feed(printed[cut:]) + masker.flush()
        assert out == whole, cut


def test_insertion_between_every_character() -> None:
    printed = "\u200b".join(ASCII_SECRET).encode() + b"\n"
    assert Masker([ASCII_SECRET]).mask(printed) == b"***\n"


def test_colour_codes_without_a_secret_are_untouched() -> None:
    masker = Masker([ASCII_SECRET])
    text = (
        b"\x1b[32mPASSED\x1b[0m tests/x.py \xe2\x80\x99quoted\xe2\x80\x99 zero\xe2\x80\x8bwidth\n"
    )
    assert masker.mask(text) == text
    assert masker.feed(text) == text
    assert masker.flush() == b""
