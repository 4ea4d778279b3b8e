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

__all__ = ["BASE62", "base62_crc32", "check", "shannon_entropy"]

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
}


def check(validator: Validator, secret: bytes) -> bool:
    """Whether ``secret`` has the structure ``validator`` demands (NONE accepts all)."""
    if validator is Validator.NONE:
        return True
    return _CHECKS[validator](secret)
