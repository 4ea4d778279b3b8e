"""Every form in which a secret commonly shows up in a log.

A secret printed by a job is rarely printed raw only: tools base64 it into HTTP headers,
hex-dump it, URL-encode it into query strings, JSON-escape it into structured logs, or print
a multi-line value (a PEM key) line by line. :func:`secret_variants` returns the byte strings
the masker must hide for one secret.

Base64 of a value embedded in a longer payload depends on where the value starts relative to
the 3-byte groups (three "alignments"); for each alignment we keep only the characters
determined by the secret's bytes alone, so the variant matches whatever surrounds it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import urllib.parse

__all__ = ["MIN_VARIANT_LENGTH", "secret_variants"]

#: Fragments shorter than this (a short line of a multi-line value, a base64 tail) are too
#: likely to occur in ordinary output to be masked without drowning the log in ``***``.
MIN_VARIANT_LENGTH = 8

_B64_ALPHABETS = (None, b"-_")  # standard, then URL-safe
# Line widths of wrapped base64: coreutils `base64` and MIME wrap at 76, PEM and
# `openssl base64` at 64. A value encoded alone then shows up as separate lines.
_B64_WRAP_WIDTHS = (64, 76)
# Characters URL encoders commonly leave unescaped besides the unreserved ones: Python's
# quote() keeps "/" by default, JavaScript's encodeURIComponent keeps !'()*.
_URL_SAFE_SETS = ("", "/", "!'()*")
_ESCAPE = re.compile(r"%[0-9A-F]{2}")
_JSON_UNICODE_ESCAPE = re.compile(r"\\u[0-9a-f]{4}")


def _base64_aligned(value: bytes, altchars: bytes | None) -> list[bytes]:
    """The characters of ``value``'s base64 that do not depend on neighbouring bytes.

    For a value starting ``k`` bytes into a 3-byte group (k = 0, 1, 2), encode it behind
    ``k`` filler bytes and keep the 6-bit characters lying wholly inside the value's bits.
    """
    out: list[bytes] = []
    for k in range(3):
        encoded = base64.b64encode(b"\0" * k + value, altchars=altchars).rstrip(b"=")
        first_bit, end_bit = 8 * k, 8 * (k + len(value))
        first = -(-first_bit // 6)  # ceil: first character starting inside the value
        last = end_bit // 6  # characters [first, last) end inside the value
        out.append(encoded[first:last])
    return out


def _encodings(value: bytes) -> list[bytes]:
    text = value.decode("utf-8", errors="surrogateescape")
    forms = [value, value.hex().encode(), value.hex().upper().encode()]
    for altchars in _B64_ALPHABETS:
        forms.extend(_base64_aligned(value, altchars))
        # The padded full encoding too: a value encoded alone ends in "=" padding.
        forms.append(base64.b64encode(value, altchars=altchars))
    forms.extend(_base64_wrapped(value))
    forms.extend(_url_encoded(value))
    # Not valid UTF-8: no JSON string can carry it unescaped differently than raw.
    with contextlib.suppress(UnicodeEncodeError):
        forms.extend(_json_escaped(text))
    return forms


def _base64_wrapped(value: bytes) -> list[bytes]:
    """The lines of ``value``'s base64 wrapped at the usual widths, when encoded alone."""
    encoded = _base64_aligned(value, None)[0]
    return [
        encoded[start : start + width]
        for width in _B64_WRAP_WIDTHS
        if len(encoded) > width
        for start in range(0, len(encoded), width)
    ]


def _url_encoded(value: bytes) -> list[bytes]:
    forms: list[bytes] = []
    for safe in _URL_SAFE_SETS:
        quoted = urllib.parse.quote(value, safe=safe)
        forms.append(quoted.encode())
        # Some encoders write the escapes in lower case (%2f): only the escapes change case.
        forms.append(_ESCAPE.sub(lambda m: m.group(0).lower(), quoted).encode())
    forms.append(urllib.parse.quote_plus(value, safe="").encode())
    return forms


def _json_escaped(text: str) -> list[bytes]:
    """JSON string bodies of ``text`` as common encoders write them."""
    ascii_form = json.dumps(text)[1:-1]
    forms = [ascii_form, json.dumps(text, ensure_ascii=False)[1:-1]]
    # PHP's json_encode escapes "/" by default; some encoders write \u00E9 in upper case.
    forms += [form.replace("/", "\\/") for form in forms]
    forms.append(_JSON_UNICODE_ESCAPE.sub(lambda m: "\\u" + m.group(0)[2:].upper(), ascii_form))
    return [form.encode("utf-8") for form in forms]


def secret_variants(secret: str | bytes) -> frozenset[bytes]:
    """All byte strings to mask for ``secret`` (at least :data:`MIN_VARIANT_LENGTH` long).

    Multi-line values add each line (and each line's encodings), since programs often print
    such values one line at a time.
    """
    value = secret.encode("utf-8") if isinstance(secret, str) else secret
    found: set[bytes] = set(_encodings(value))
    lines = value.splitlines()
    if len(lines) > 1:
        for line in lines:
            stripped = line.strip()
            if len(stripped) >= MIN_VARIANT_LENGTH:
                found.update(_encodings(stripped))
    return frozenset(v for v in found if len(v) >= MIN_VARIANT_LENGTH)
