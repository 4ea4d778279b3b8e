"""Every form in which a secret commonly shows up in a log.

    >>> b"6b:54:39:76" in b"".join(secret_variants("kT9vQ2xLmP4wZ8rN"))
    True

A secret printed by a job is rarely printed raw only: tools base64 it into HTTP headers,
hex-dump it, URL-encode it into query strings, JSON-escape it into structured logs, quote it
for a shell, or print a multi-line value (a PEM key) line by line. :data:`FAMILIES` names
each form; :func:`secret_variants` returns the byte strings the masker must hide for one
secret: every family applied to the whole value and to each line of a multi-line value.
ANSI escapes and zero-width characters slipped between the characters are not a family
here: the masker strips them from a copy of the stream (:mod:`bastion.vault.masking`).

Base64 (base32) of a value embedded in a longer payload depends on where the value starts
relative to the 3-byte (5-byte) groups: for each alignment we keep only the characters
determined by the secret's bytes alone, so the variant matches whatever surrounds it. Tools
wrap base64 at 64 or 76 columns, so the line break can fall between any two characters of
the secret's part: each aligned form is also listed with a ``\\n`` or ``\\r\\n`` at every
inner position (for values up to :data:`WRAP_LIMIT` bytes; longer ones keep the lines of
their wrapped encoding alone).
"""

from __future__ import annotations

import base64
import codecs
import contextlib
import html
import json
import re
import shlex
import urllib.parse
from collections.abc import Callable

__all__ = ["FAMILIES", "MIN_VARIANT_LENGTH", "WRAP_LIMIT", "labelled_variants", "secret_variants"]

#: Fragments shorter than this (a short line of a multi-line value, a base64 tail) are too
#: likely to occur in ordinary output to be masked without drowning the log in ``***``.
MIN_VARIANT_LENGTH = 8
#: Values longer than this get no "break at every position" forms (their number grows
#: with the square of the length); the lines of their wrapped encoding are still masked.
WRAP_LIMIT = 96

_B64_WRAP_WIDTHS = (64, 76)
_BREAKS = (b"\n", b"\r\n")
# Characters URL encoders commonly leave unescaped besides the unreserved ones: Python's
# quote() keeps "/" by default, JavaScript's encodeURIComponent keeps !'()*.
_URL_SAFE_SETS = ("", "/", "!'()*")
_ESCAPE = re.compile(r"%[0-9A-F]{2}")
_JSON_UNICODE_ESCAPE = re.compile(r"\\u[0-9a-f]{4}")
# What `printf %q` (bash) backslash-escapes outside letters, digits and a few safe marks.
_SHELL_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,@%+")

Family = Callable[[bytes, str], list[bytes]]


def _both_cases(forms: list[str]) -> list[bytes]:
    """Each form as written, and with its hex digits in upper case."""
    return [f.encode() for form in forms for f in (form, form.upper())]


def _aligned(value: bytes, encode: Callable[[bytes], bytes], group: int, bits: int) -> list[bytes]:
    """The characters of ``value``'s encoding that do not depend on neighbouring bytes.

    For a value starting ``k`` bytes into a group, encode it behind ``k`` filler bytes and
    keep the characters lying wholly inside the value's bits.
    """
    out: list[bytes] = []
    for k in range(group):
        encoded = encode(b"\0" * k + value).rstrip(b"=")
        first = -(-8 * k // bits)  # ceil: first character starting inside the value
        last = 8 * (k + len(value)) // bits  # characters [first, last) end inside it
        out.append(encoded[first:last])
    return out


def _raw(value: bytes, _text: str) -> list[bytes]:
    return [value]


def _hex(value: bytes, _text: str) -> list[bytes]:
    return _both_cases([value.hex()])


def _hex_separated(value: bytes, _text: str) -> list[bytes]:
    # openssl/ssh fingerprints (de:ad), `xxd`/`hexdump -C` (de ad), MAC-style (de-ad).
    return _both_cases([value.hex(sep) for sep in ":- "])


def _base64(value: bytes, _text: str) -> list[bytes]:
    forms: list[bytes] = []
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        forms += _aligned(value, encode, 3, 6)
        forms.append(encode(value))  # encoded alone: ends in "=" padding
    return forms


def _base64_wrapped(value: bytes, _text: str) -> list[bytes]:
    """Every aligned base64 form broken once at every inner position; wrapped lines."""
    forms: list[bytes] = []
    encoded = base64.b64encode(value)
    for width in _B64_WRAP_WIDTHS:
        forms += [encoded[start : start + width] for start in range(0, len(encoded), width)]
    if len(value) <= WRAP_LIMIT:
        for aligned in _aligned(value, base64.b64encode, 3, 6):
            for cut in range(1, len(aligned)):
                forms += [aligned[:cut] + brk + aligned[cut:] for brk in _BREAKS]
    return forms


def _base32(value: bytes, _text: str) -> list[bytes]:
    forms: list[bytes] = []
    for encode in (base64.b32encode, base64.b32hexencode):
        forms += _aligned(value, encode, 5, 5)
        forms.append(encode(value))
    return forms


def _url(value: bytes, _text: str) -> list[bytes]:
    forms: list[bytes] = []
    for safe in _URL_SAFE_SETS:
        quoted = urllib.parse.quote(value, safe=safe)
        forms.append(quoted.encode())
        # Some encoders write the escapes in lower case (%2f): only the escapes change case.
        forms.append(_ESCAPE.sub(lambda m: m.group(0).lower(), quoted).encode())
    forms.append(urllib.parse.quote_plus(value, safe="").encode())
    return forms


def _percent_every_byte(value: bytes, _text: str) -> list[bytes]:
    return _both_cases(["".join(f"%{b:02x}" for b in value)])


def _json(_value: bytes, text: str) -> list[bytes]:
    ascii_form = json.dumps(text)[1:-1]
    forms = [ascii_form, json.dumps(text, ensure_ascii=False)[1:-1]]
    # PHP's json_encode escapes "/" by default; some encoders write \u00E9 in upper case.
    forms += [form.replace("/", "\\/") for form in forms]
    forms.append(_JSON_UNICODE_ESCAPE.sub(lambda m: "\\u" + m.group(0)[2:].upper(), ascii_form))
    return [form.encode("utf-8") for form in forms]


def _json_every_char(_value: bytes, text: str) -> list[bytes]:
    """Every character as ``\\u005a`` (surrogate pairs beyond the BMP), either case."""
    units = text.encode("utf-16-be")
    escaped = "".join(f"\\u{units[i]:02x}{units[i + 1]:02x}" for i in range(0, len(units), 2))
    return [escaped.encode(), escaped.replace("\\u", "\\U").upper().replace("\\U", "\\u").encode()]


def _python_repr(value: bytes, text: str) -> list[bytes]:
    return [repr(text)[1:-1].encode("utf-8"), repr(value)[2:-1].encode()]


def _html(_value: bytes, text: str) -> list[bytes]:
    # html.escape writes &#x27; for "'"; older escapers write &#39; or &apos;.
    forms = [html.escape(text), html.escape(text, quote=False)]
    forms += [html.escape(text).replace("&#x27;", alt) for alt in ("&#39;", "&apos;")]
    return [form.encode("utf-8") for form in forms]


def _html_numeric(_value: bytes, text: str) -> list[bytes]:
    return [
        "".join(f"&#{ord(c)};" for c in text).encode(),
        *_both_cases(["".join(f"&#x{ord(c):x};" for c in text)]),
    ]


def _shell(_value: bytes, text: str) -> list[bytes]:
    """shlex.quote's and `printf %q`'s inner text: quotes closed and reopened, backslashes."""
    inner = shlex.quote(text)
    forms = [inner, text.replace("'", "'\\''"), text.replace("'", "'\"'\"'")]
    forms.append("".join(c if c in _SHELL_SAFE or not c.isascii() else "\\" + c for c in text))
    return [form.encode("utf-8") for form in forms]


def _c_escapes(value: bytes, _text: str) -> list[bytes]:
    return _both_cases(["".join(f"\\x{b:02x}" for b in value)])


def _octal(value: bytes, _text: str) -> list[bytes]:
    return [
        "".join(f"\\{b:03o}" for b in value).encode(),
        "".join(f"\\0{b:03o}" for b in value).encode(),  # echo -e
    ]


def _reversed(value: bytes, text: str) -> list[bytes]:
    return [text[::-1].encode("utf-8", errors="surrogateescape"), value[::-1]]


def _rot13(_value: bytes, text: str) -> list[bytes]:
    return [codecs.encode(text, "rot13").encode("utf-8", errors="surrogateescape")]


def _utf16(_value: bytes, text: str) -> list[bytes]:
    return [text.encode("utf-16-le"), text.encode("utf-16-be")]


#: Every family by name, each a test's subject in ``tests/vault/test_vault_variants.py``.
FAMILIES: dict[str, Family] = {
    "raw": _raw,
    "hex": _hex,
    "hex-separated": _hex_separated,
    "base64": _base64,
    "base64-wrapped": _base64_wrapped,
    "base32": _base32,
    "url": _url,
    "percent-every-byte": _percent_every_byte,
    "json": _json,
    "json-every-char": _json_every_char,
    "python-repr": _python_repr,
    "html": _html,
    "html-numeric": _html_numeric,
    "shell": _shell,
    "c-escapes": _c_escapes,
    "octal": _octal,
    "reversed": _reversed,
    "rot13": _rot13,
    "utf-16": _utf16,
}


def _encodings(value: bytes) -> dict[bytes, str]:
    """Each form of ``value`` and the family that made it (the first, in :data:`FAMILIES` order)."""
    text = value.decode("utf-8", errors="surrogateescape")
    forms: dict[bytes, str] = {}
    for name, family in FAMILIES.items():
        # A value that is not UTF-8 has no text forms (no JSON or UTF-16 can carry it).
        with contextlib.suppress(UnicodeEncodeError):
            for form in family(value, text):
                forms.setdefault(form, name)
    return forms


def labelled_variants(secret: str | bytes) -> dict[bytes, str]:
    """:func:`secret_variants`, each with the name of the family that makes it.

    A form of one line of a multi-line value is labelled ``"<family> of one line"``; it is
    what a refusal tells the person ("as base64"), so they know where to look.
    """
    value = secret.encode("utf-8") if isinstance(secret, str) else secret
    found = _encodings(value)
    lines = value.splitlines()
    if len(lines) > 1:
        for line in lines:
            stripped = line.strip()
            if len(stripped) >= MIN_VARIANT_LENGTH:
                for form, name in _encodings(stripped).items():
                    found.setdefault(form, f"{name} of one line")
    return {form: name for form, name in found.items() if len(form) >= MIN_VARIANT_LENGTH}


def secret_variants(secret: str | bytes) -> frozenset[bytes]:
    """All byte strings to mask for ``secret`` (at least :data:`MIN_VARIANT_LENGTH` long).

    Multi-line values add each line (and each line's encodings), since programs often print
    such values one line at a time.
    """
    return frozenset(labelled_variants(secret))
