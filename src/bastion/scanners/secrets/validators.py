"""Structural checks that turn a regex match into a confident finding.

Each check is a small pure function over the candidate's bytes: checksums where the format
has one (GitHub and npm tokens end in a base62 CRC32 of their random part), decoding where
the format is structured (JWT headers, PEM/DER bodies, OpenSSH keys, PyPI macaroons), and
Shannon entropy for values that only a keyword marks as secret. None of them contacts a
service: a scanner that verifies credentials live would leak them to the network.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import zlib
from collections import Counter
from collections.abc import Callable

from bastion.scanners.secrets.rule import Validator

__all__ = [
    "BASE62",
    "GENERIC_RANDOMNESS",
    "base62_crc32",
    "check",
    "generic_value",
    "shannon_entropy",
]

BASE62 = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_OPENSSH_MAGIC = b"openssh-key-v1\x00"
_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.S)


def shannon_entropy(value: bytes) -> float:
    """Bits of entropy per character of ``value`` (0 for an empty value)."""
    if not value:
        return 0.0
    total = len(value)
    return -sum(n / total * math.log2(n / total) for n in Counter(value).values())


def base62_crc32(data: bytes) -> bytes:
    """CRC32 of ``data`` in 6 base62 digits, left-padded with '0' (GitHub's token suffix)."""
    value = zlib.crc32(data)
    digits = bytearray()
    while value:
        value, rest = divmod(value, 62)
        digits.append(BASE62[rest])
    return bytes(reversed(digits)).rjust(6, b"0")


def _b64decode(text: bytes, *, urlsafe: bool = False) -> bytes | None:
    padded = text + b"=" * (-len(text) % 4)
    try:
        if urlsafe:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None


def _github_crc32(secret: bytes) -> bool:
    body = secret[secret.index(b"_") + 1 :]
    return len(body) == 36 and base62_crc32(body[:30]) == body[30:]


def _json_object(segment: bytes) -> dict[str, object] | None:
    raw = _b64decode(segment, urlsafe=True)
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _jwt(secret: bytes) -> bool:
    header_b64, payload_b64, _signature = secret.split(b".", 2)
    header = _json_object(header_b64)
    return (
        header is not None
        and isinstance(header.get("alg"), str)
        and _json_object(payload_b64) is not None
    )


def _pem_body(body: bytes) -> bytes | None:
    # RFC 1421 headers ("Proc-Type: 4,ENCRYPTED") precede a blank line, then base64.
    lines = [line.strip() for line in body.splitlines()]
    b64 = b"".join(line for line in lines if line and b":" not in line)
    return _b64decode(b64)


def _pem(secret: bytes) -> bool:
    match = _PEM_BLOCK.search(secret)
    if match is None:
        return False
    der = _pem_body(match.group(2))
    if der is None or len(der) < 32:
        return False
    if match.group(1) == b"OPENSSH PRIVATE KEY":
        return der.startswith(_OPENSSH_MAGIC)
    if b"Proc-Type:" in match.group(2):
        return True  # legacy encrypted PEM: the body is ciphertext, not DER
    return der[0] == 0x30  # an ASN.1 SEQUENCE, as PKCS#1, SEC 1, PKCS#8 all are


def _pem_json(secret: bytes) -> bool:
    return _pem(secret.replace(b"\\n", b"\n"))


def _pgp(secret: bytes) -> bool:
    lines = [line.strip() for line in secret.splitlines()[1:-1]]
    # Armour headers end at the first blank line; the CRC line starts with '='.
    body = b"".join(
        line for line in lines if line and b":" not in line and not line.startswith(b"=")
    )
    packet = _b64decode(body)
    # Secret-key packet: tag 5, old (0x94-0x97) or new (0xC5) format header.
    return packet is not None and len(packet) > 32 and (packet[0] in (0x94, 0x95, 0x96, 0x97, 0xC5))


def _putty(secret: bytes) -> bool:
    return b"Public-Lines:" in secret and b"Encryption:" in secret


def _pypi(secret: bytes) -> bool:
    raw = _b64decode(secret[len(b"pypi-") :], urlsafe=True)
    if raw is None or len(raw) < 40 or raw[:2] != b"\x02\x01":
        return False
    # Macaroon v2: version 2, field 1 (location) with a varint length, then field 2 (id).
    loc_len = raw[2]
    after = 3 + loc_len
    return raw[3:after] in (b"pypi.org", b"test.pypi.org") and raw[after : after + 1] == b"\x02"


_SLACK_SEGMENTS = {b"xoxb": 4, b"xoxp": 5, b"xapp": 5, b"xoxa": (4, 5), b"xoxr": (4, 5)}


def _slack(secret: bytes) -> bool:
    parts = secret.split(b"-")
    expected = _SLACK_SEGMENTS.get(parts[0], (4, 5))
    counts = expected if isinstance(expected, tuple) else (expected,)
    return len(parts) in counts and all(parts[1:])


def _base64_64(secret: bytes) -> bool:
    raw = _b64decode(secret)
    return raw is not None and len(raw) == 64


def _docker_auth(secret: bytes) -> bool:
    raw = _b64decode(secret)
    if raw is None:
        return False
    user, sep, password = raw.partition(b":")
    return bool(sep and user and password) and all(32 <= byte < 127 for byte in raw)


def _discord(secret: bytes) -> bool:
    raw = _b64decode(secret.split(b".", 1)[0], urlsafe=True)
    return raw is not None and raw.isdigit() and 17 <= len(raw) <= 20


def _jwt_base64(secret: bytes) -> bool:
    raw = _b64decode(secret)
    return raw is not None and raw.count(b".") == 2 and _jwt(raw.rstrip(b"\r\n"))


_UUID = re.compile(rb"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_PATH_LIKE = re.compile(
    rb"^(?:\.{1,2}/|~/|[a-z]+://)|^/[A-Za-z0-9_.\-]+/[A-Za-z0-9_./\-]*$"
    rb"|/[A-Za-z0-9_\-]+\.[A-Za-z]{1,5}$"
)
_VERSION_LIKE = re.compile(rb"^v?\d+(?:[._\-]\d+)+(?:[._\-][A-Za-z0-9]+)*$")
_HEX = frozenset(b"0123456789abcdefABCDEF")
# The share of the most a random value of that alphabet and length could reach.
GENERIC_RANDOMNESS = 0.75


def _alphabet_bits(secret: bytes) -> float:
    """log2 of the size of the smallest usual alphabet ``secret`` is drawn from."""
    if all(byte in _HEX for byte in secret):
        return 4.0
    lower = any(0x61 <= b <= 0x7A for b in secret)
    upper = any(0x41 <= b <= 0x5A for b in secret)
    if lower and upper:
        return math.log2(64)
    return math.log2(36)


def generic_value(secret: bytes) -> bool:
    """Whether a value assigned to a secret-sounding name looks like a random credential.

    Its entropy must reach :data:`GENERIC_RANDOMNESS` of what a random value of the same
    alphabet and length reaches (a fixed floor either misses hex keys, whose ceiling is 4
    bits, or lets base64 prose through); UUIDs (request ids, resource ids), file paths, URLs
    and version strings are not credentials however random they look.
    """
    if _UUID.fullmatch(secret) or _PATH_LIKE.search(secret) or _VERSION_LIKE.match(secret):
        return False
    if secret.isdigit() or secret.isalpha():
        return False  # numbers and words, however long: ids, names, not keys
    ceiling = min(math.log2(len(secret)), _alphabet_bits(secret))
    return shannon_entropy(secret) >= GENERIC_RANDOMNESS * ceiling


_CHECKS: dict[Validator, Callable[[bytes], bool]] = {
    Validator.GITHUB_CRC32: _github_crc32,
    Validator.JWT: _jwt,
    Validator.PEM: _pem,
    Validator.PEM_JSON: _pem_json,
    Validator.PGP: _pgp,
    Validator.PUTTY: _putty,
    Validator.PYPI_MACAROON: _pypi,
    Validator.SLACK: _slack,
    Validator.BASE64_64: _base64_64,
    Validator.DOCKER_AUTH: _docker_auth,
    Validator.DISCORD: _discord,
    Validator.JWT_BASE64: _jwt_base64,
    Validator.GENERIC_VALUE: generic_value,
}


def check(validator: Validator, secret: bytes) -> bool:
    """Whether ``secret`` has the structure ``validator`` demands (NONE accepts all)."""
    if validator is Validator.NONE:
        return True
    return _CHECKS[validator](secret)
