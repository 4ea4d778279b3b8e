"""Just enough HTTP/1.1 for a forwarding proxy: message heads and body framing.

Written here rather than taken from a library because the proxy relays bodies as opaque
bytes (relayed as they come, never decoded or buffered whole) and must refuse ambiguous
framing (both ``Content-Length`` and ``Transfer-Encoding``, or differing lengths) that would
let a job smuggle a second request past the allow-list. h11 would decode every body chunk
into Python objects, which the throughput target does not allow.
"""

from __future__ import annotations

from dataclasses import dataclass

from bastion.errors import SandboxError

__all__ = [
    "CHUNKED",
    "MAX_HEAD_BYTES",
    "NO_BODY",
    "UNTIL_EOF",
    "BadMessage",
    "Head",
    "body_framing",
    "encode_head",
    "parse_head",
]

MAX_HEAD_BYTES = 64 * 1024
_MAX_HEADERS = 200
NO_BODY = -1
CHUNKED = -2
UNTIL_EOF = -3


class BadMessage(SandboxError):
    """The peer sent something that is not acceptable HTTP/1.1 (answered with 400)."""


@dataclass(slots=True)
class Head:
    """A request or response head: start line parts and headers in order."""

    first: tuple[str, str, str]
    headers: list[tuple[str, str]]

    def get_all(self, name: str) -> list[str]:
        """Every value of header ``name`` (case-insensitive)."""
        lower = name.lower()
        return [value for key, value in self.headers if key.lower() == lower]

    def without(self, *names: str) -> list[tuple[str, str]]:
        """The headers minus ``names`` (case-insensitive)."""
        drop = {n.lower() for n in names}
        return [(k, v) for k, v in self.headers if k.lower() not in drop]

    def connection_tokens(self) -> set[str]:
        """Lower-cased tokens of all ``Connection`` headers."""
        return {
            token.strip().lower()
            for value in self.get_all("connection")
            for token in value.split(",")
            if token.strip()
        }


def encode_head(first: str, headers: list[tuple[str, str]]) -> bytes:
    """Serialise a head."""
    lines = [first, *(f"{key}: {value}" for key, value in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def parse_head(raw: bytes) -> Head:
    """Parse a head ending in CRLF CRLF; raises :class:`BadMessage`."""
    lines = raw.decode("latin-1").split("\r\n")[:-2]
    parts = lines[0].split(" ", 2)
    if len(parts) != 3 or not all(parts):
        raise BadMessage("malformed start line")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        key, sep, value = line.partition(":")
        if not sep or not key or any(c in key for c in " \t"):
            raise BadMessage("malformed header line")
        headers.append((key, value.strip()))
    if len(headers) > _MAX_HEADERS:
        raise BadMessage("too many headers")
    return Head((parts[0], parts[1], parts[2]), headers)


def body_framing(head: Head, *, is_request: bool, request_method: str = "") -> int:
    """Body length, or one of :data:`NO_BODY`, :data:`CHUNKED`, :data:`UNTIL_EOF`."""
    encodings = head.get_all("transfer-encoding")
    lengths = head.get_all("content-length")
    if not is_request:
        status = head.first[1]
        if request_method == "HEAD" or status.startswith("1") or status in ("204", "304"):
            return NO_BODY
    if encodings:
        if lengths:
            raise BadMessage("both Content-Length and Transfer-Encoding")
        codings = [c.strip().lower() for v in encodings for c in v.split(",")]
        if codings[-1] != "chunked":
            if is_request:
                raise BadMessage("a request body must end in chunked transfer coding")
            return UNTIL_EOF
        return CHUNKED
    if lengths:
        values = {v.strip() for value in lengths for v in value.split(",")}
        if len(values) != 1 or not next(iter(values)).isdigit():
            raise BadMessage("invalid or conflicting Content-Length")
        return int(values.pop())
    return NO_BODY if is_request else UNTIL_EOF
