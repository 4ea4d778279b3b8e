"""The egress allow-list of one job: which host names (and ports) it may reach.

Syntax of one entry (from the pipeline's ``network:`` list):

``example.com``
    exactly that name, ports 80 and 443.
``example.com:8443``
    that name on that port only (an entry with a port allows only that port).
``*.example.com``
    any subdomain, at any depth (``a.example.com``, ``a.b.example.com``), ports 80 and 443;
    **not** the apex ``example.com`` itself: list it too if needed. A wildcard needs at least
    two labels after ``*.`` (``*.com`` is refused).
``203.0.113.7``, ``203.0.113.7:8080``, ``[2001:db8::1]:443``, ``10.1.0.0/16``
    IP addresses and networks (IPv6 in brackets when a port follows). A job may connect to
    an IP literal only if it is listed; listing an address (even a private one) also lets a
    listed name resolve to it.

Names are compared case-insensitively, after IDNA encoding and without a trailing dot.
Decisions are made on the host name the job asked for; the proxy resolves it and then asks
:meth:`AllowList.check_address` about every address, which refuses non-public addresses
(:func:`~bastion.sandbox.egress.addresses.is_public`) unless they are listed.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from bastion.errors import PipelineError
from bastion.sandbox.egress.addresses import IPAddress, is_public, parse_ip

__all__ = [
    "DEFAULT_PORTS",
    "AllowEntry",
    "AllowList",
    "AllowListError",
    "EgressPolicy",
    "EntryKind",
    "Verdict",
    "normalize_host",
]

DEFAULT_PORTS = frozenset({80, 443})
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_SYNTAX_HINT = (
    "write a host name (example.com), a wildcard (*.example.com), an IP address or network "
    "(203.0.113.7, 10.0.0.0/8, [2001:db8::1]), each optionally followed by :port"
)


class AllowListError(PipelineError):
    """An allow-list entry is malformed; ``entry`` is its text, ``index`` its position."""

    def __init__(self, message: str, *, entry: str, index: int, path: str | None = None) -> None:
        super().__init__(
            f"network entry {index + 1} {entry!r}: {message}", path=path, hint=_SYNTAX_HINT
        )
        self.entry = entry
        self.index = index


class EntryKind(enum.StrEnum):
    """What an allow-list entry names."""

    NAME = "name"
    WILDCARD = "wildcard"
    ADDRESS = "address"


@dataclass(frozen=True, slots=True)
class Verdict:
    """A decision and the reason recorded with it."""

    allowed: bool
    reason: str


@dataclass(frozen=True, slots=True)
class AllowEntry:
    """One validated entry; ``host`` is the normalised name or wildcard suffix."""

    kind: EntryKind
    text: str
    ports: frozenset[int]
    host: str = ""
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None

    def allows_port(self, port: int) -> bool:
        """Whether ``port`` is covered by this entry."""
        return port in self.ports


class EgressPolicy(Protocol):
    """What the proxy asks: may this request go out, and may it go to this address?"""

    def check_request(self, host: str, port: int) -> Verdict:
        """Decide on the host (name or IP literal) and port the job asked for."""
        ...

    def check_address(self, ip: IPAddress, port: int) -> Verdict:
        """Decide on one address the proxy resolved an allowed name to."""
        ...


def normalize_host(text: str) -> str | None:
    """Lower-case ASCII (IDNA) form of a host name, or None if it is not a valid name."""
    name = text.strip().rstrip(".").lower()
    if not name or len(name) > 253:
        return None
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    labels = name.split(".")
    if not all(_LABEL.match(label) for label in labels):
        return None
    if labels[-1].isdigit() or labels[-1].startswith("0x"):
        return None  # looks like a (shorthand) IP address such as 127.1, never a name
    return name


def _split_port(text: str) -> tuple[str, frozenset[int] | None]:
    """``(host part, ports)``; ports is None when no ``:port`` is given."""
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise ValueError("an opening '[' without ']'")
        host, rest = text[1:close], text[close + 1 :]
        if not rest:
            return host, None
        if not rest.startswith(":"):
            raise ValueError("unexpected text after ']'")
        return host, _port(rest[1:])
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, _port(port)
    return text, None  # no colon, or a bare IPv6 address without a port


def _port(text: str) -> frozenset[int]:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"port {text!r} is not a number from 1 to 65535")
    return frozenset({int(text)})


def _parse_entry(text: str) -> AllowEntry:
    stripped = text.strip()
    if not stripped:
        raise ValueError("empty entry")
    host, ports = _split_port(stripped)
    effective = ports if ports is not None else DEFAULT_PORTS
    if "/" in host or parse_ip(host) is not None:
        try:
            network = ipaddress.ip_network(host, strict=True)
        except ValueError as exc:
            raise ValueError(f"not a valid IP address or network ({exc})") from exc
        return AllowEntry(EntryKind.ADDRESS, stripped, effective, network=network)
    if host.startswith("*."):
        suffix = normalize_host(host[2:])
        if suffix is None or "*" in host[2:]:
            raise ValueError("not a valid wildcard: '*.' must be followed by a host name")
        if "." not in suffix:
            raise ValueError("a wildcard needs at least two labels after '*.' (e.g. *.example.com)")
        return AllowEntry(EntryKind.WILDCARD, stripped, effective, host=suffix)
    name = normalize_host(host)
    if name is None:
        raise ValueError("not a valid host name")
    return AllowEntry(EntryKind.NAME, stripped, effective, host=name)


class AllowList:
    """A validated allow-list; made through :meth:`parse`."""

    def __init__(self, entries: tuple[AllowEntry, ...]) -> None:
        self.entries = entries

    @classmethod
    def parse(cls, entries: Iterable[str], *, path: str | None = None) -> AllowList:
        """Validate every entry; raises :class:`AllowListError` naming the first bad one."""
        parsed: list[AllowEntry] = []
        for index, text in enumerate(entries):
            try:
                parsed.append(_parse_entry(text))
            except ValueError as exc:
                raise AllowListError(str(exc), entry=text, index=index, path=path) from exc
        return cls(tuple(parsed))

    def __str__(self) -> str:
        return ", ".join(entry.text for entry in self.entries) or "(nothing)"

    def check_request(self, host: str, port: int) -> Verdict:
        """Allowed if a name entry matches the name, or an address entry the IP literal."""
        ip = parse_ip(host)
        if ip is not None:
            entry = self._address_entry(ip, port)
            if entry is None:
                return Verdict(False, f"IP address {ip} on port {port} is not in the allow-list")
            return Verdict(True, f"allowed by {entry.text!r}")
        name = normalize_host(host)
        if name is None:
            return Verdict(False, "malformed host name")
        for entry in self.entries:
            if entry.allows_port(port) and _name_matches(entry, name):
                return Verdict(True, f"allowed by {entry.text!r}")
        return Verdict(False, f"{name}:{port} is not in the allow-list")

    def check_address(self, ip: IPAddress, port: int) -> Verdict:
        """Public addresses pass; others only if an address entry lists them (and the port)."""
        if self._address_entry(ip, port) is not None:
            return Verdict(True, f"address {ip} is listed")
        if is_public(ip):
            return Verdict(True, f"public address {ip}")
        return Verdict(False, f"resolves to non-public address {ip}, which is not listed")

    def _address_entry(self, ip: IPAddress, port: int) -> AllowEntry | None:
        candidates = [ip]
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            candidates.append(ip.ipv4_mapped)
        for entry in self.entries:
            if entry.network is None or not entry.allows_port(port):
                continue
            if any(c.version == entry.network.version and c in entry.network for c in candidates):
                return entry
        return None


def _name_matches(entry: AllowEntry, name: str) -> bool:
    if entry.kind is EntryKind.NAME:
        return name == entry.host
    if entry.kind is EntryKind.WILDCARD:
        return name.endswith("." + entry.host)
    return False
