"""A small, bounded HTTP client for the service under test (``http.client``, loopback only).

Every exchange is kept as evidence: the request line and headers sent, the status, headers
and the first bytes of the answer. The client counts requests per probe class and refuses
to send more than its budget, so a scan's cost is bounded whatever the service does.
Only ``GET``, ``HEAD`` and ``OPTIONS`` are ever sent: no probe changes data.
"""

from __future__ import annotations

import http.client
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field

from bastion.errors import GateError

__all__ = ["MAX_BODY_BYTES", "Exchange", "HttpClient", "Target"]

MAX_BODY_BYTES = 256 * 1024
_EXCERPT = 400
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True, slots=True)
class Target:
    """The service's origin, on the sandbox's own loopback."""

    host: str
    port: int

    @classmethod
    def from_url(cls, url: str) -> Target:
        """The origin of an ``http://`` loopback URL; ``ValueError`` for anything else."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "http" or parts.hostname not in _LOOPBACK:
            raise ValueError(f"{url!r} is not an http:// URL on loopback (127.0.0.1)")
        return cls(parts.hostname or "127.0.0.1", parts.port or 80)

    @property
    def origin(self) -> str:
        """``http://host:port``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and what came back (``status`` 0: no answer, ``error`` says why)."""

    method: str
    target: str
    request_headers: tuple[tuple[str, str], ...]
    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    error: str = ""

    def header(self, name: str) -> str | None:
        """The first answer header called ``name`` (any case), or None."""
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def all_headers(self, name: str) -> list[str]:
        """Every answer header called ``name`` (any case)."""
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def text(self) -> str:
        """The body decoded leniently."""
        return self.body.decode("utf-8", errors="replace")

    @property
    def is_html(self) -> bool:
        """True when the answer says it is HTML."""
        return "html" in (self.header("Content-Type") or "").lower()

    def request_text(self) -> str:
        """The request as sent, for evidence."""
        lines = [f"{self.method} {self.target} HTTP/1.1"]
        lines += [f"{k}: {v}" for k, v in self.request_headers]
        return "\n".join(lines)

    def response_excerpt(self, around: str | None = None) -> str:
        """Status, headers and a body excerpt (centred on ``around`` when it occurs)."""
        if self.status == 0:
            return f"(no answer: {self.error})"
        head = [f"HTTP {self.status}", *(f"{k}: {v}" for k, v in self.headers)]
        text = self.text
        start = max(text.find(around) - _EXCERPT // 2, 0) if around and around in text else 0
        excerpt = text[start : start + _EXCERPT]
        return "\n".join(head) + "\n\n" + ("..." if start else "") + excerpt


@dataclass
class HttpClient:
    """Sends bounded requests to ``target``; counts them per probe class."""

    target: Target
    budget: int = 2000
    timeout: float = 5.0
    sent: Counter[str] = field(default_factory=Counter)

    def get(
        self, path: str, *, kind: str, headers: dict[str, str] | None = None, method: str = "GET"
    ) -> Exchange:
        """Send ``method path`` (a safe method only); a failed connection is an exchange too."""
        if method not in _SAFE_METHODS:
            raise ValueError(f"the DAST client sends only safe methods, not {method}")
        if sum(self.sent.values()) >= self.budget:
            raise GateError(
                f"bastion/dast: the request budget ({self.budget}) is spent",
                hint="raise `max_requests` or probe fewer paths",
            )
        self.sent[kind] += 1
        sent = {"Host": f"{self.target.host}:{self.target.port}", **(headers or {})}
        connection = http.client.HTTPConnection(
            self.target.host, self.target.port, timeout=self.timeout
        )
        try:
            connection.request(method, path, headers=sent)
            answer = connection.getresponse()
            body = answer.read(MAX_BODY_BYTES)
            return Exchange(
                method, path, tuple(sent.items()), answer.status, tuple(answer.getheaders()), body
            )
        except (OSError, http.client.HTTPException) as exc:
            return Exchange(method, path, tuple(sent.items()), 0, error=str(exc) or repr(exc))
        finally:
            connection.close()

    @property
    def total(self) -> int:
        """Requests sent so far."""
        return sum(self.sent.values())
