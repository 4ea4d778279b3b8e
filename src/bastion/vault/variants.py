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
import json
import re
import urllib.parse

__all__ = ["MIN_VARIANT_LENGTH", "secret_variants"]

#: Fragments shorter than this (a short line of a multi-line value, a base64 tail) are too
#: likely to occur in ordinary output to be masked without drowning the log in ``***``.
MIN_VARIANT_LENGTH = 8

_B64_ALPHABETS = (None, b"-_")  # standard, then URL-safe
_ESCAPE = re.compile(r"%[0-9A-F]{2}")


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
    quoted = urllib.parse.quote(value, safe="")
    forms.append(quoted.encode())
    # Some encoders write the escapes in lower case (%2f): only the escapes change case.
    forms.append(_ESCAPE.sub(lambda m: m.group(0).lower(), quoted).encode())
    forms.append(urllib.parse.quote_plus(value, safe="").encode())
    try:
        forms.append(json.dumps(text)[1:-1].encode())
        forms.append(json.dumps(text, ensure_ascii=False)[1:-1].encode("utf-8"))
    except UnicodeEncodeError:
        # Not valid UTF-8: no JSON string can carry it unescaped differently than raw.
        pass
    return forms


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
