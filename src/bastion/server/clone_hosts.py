"""Which hosts a clone URL may send the server to: the server itself makes git's request, so
a URL must not turn it against its own services (Redis on 127.0.0.1, a database on
localhost) or its cloud's metadata service (169.254.169.254): server-side request forgery.

>>> check_clone_host("https://10.0.0.7/team/app.git")  # a private network: allowed
>>> check_clone_host("https://0x7f.1/app.git")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
bastion.server.clone_hosts.CloneHostError: the clone URL's host 0x7f.1 is 127.0.0.1, a lo...

Refused: loopback, link-local (fe80::/10, 169.254.0.0/16), unspecified, "this network"
(0.0.0.0/8), multicast and reserved addresses, known cloud metadata addresses, and the IPv4
forms embedded in IPv6 addresses (``::ffff:127.0.0.1``, 6to4, NAT64) judged as IPv4.
Private ranges (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7) are allowed: self-hosted
git servers live there. A host name is judged by every address it resolves to (A and
AAAA); one that does not resolve cannot be checked and is refused. Literal addresses are
read in every notation git and curl accept (``2130706433``, ``0x7f.1``, ``0177.0.0.1``,
``127.1``, ``[::1]``) without asking DNS.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from urllib.parse import urlsplit

from bastion.errors import BastionError

__all__ = [
    "CloneHostError",
    "IPAddress",
    "Resolver",
    "check_clone_host",
    "forbidden_class",
    "literal_address",
    "system_resolver",
]

IPAddress = IPv4Address | IPv6Address
Resolver = Callable[[str], Sequence[IPAddress]]

# Cloud metadata services: AWS (IPv4 and IPv6), GCP and Azure share 169.254.169.254;
# Alibaba 100.100.100.200 and Oracle 192.0.0.192 sit in ranges otherwise allowed.
_METADATA = frozenset(
    ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "192.0.0.192")
)
_THIS_NETWORK = ip_network("0.0.0.0/8")  # 0.0.0.0 reaches the host itself on Linux
_NAT64 = ip_network("64:ff9b::/96")
_NUMERIC_V4 = frozenset("0123456789abcdefx.")


class CloneHostError(BastionError):
    """The clone URL's host is one the server must not fetch from, or cannot be checked."""


def system_resolver(host: str) -> list[IPAddress]:
    """Every address ``host`` resolves to (A and AAAA); empty when it does not resolve."""
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):  # socket.gaierror is an OSError
        return []
    return [ip_address(str(info[4][0]).split("%", 1)[0]) for info in found]


def literal_address(host: str) -> IPAddress | None:
    """``host`` as an address if it is one in any notation git's resolver reads, else None."""
    try:
        return ip_address(host)
    except ValueError:
        pass
    if ":" in host or not set(host) <= _NUMERIC_V4:
        return None
    try:  # the BSD forms curl and getaddrinfo accept: 127.1, 0x7f.1, 2130706433, 0177.0.0.1
        return IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _judged(address: IPAddress) -> IPAddress:
    """The address whose class decides: the IPv4 one embedded in a mapped or NAT64 address."""
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def forbidden_class(address: IPAddress) -> str | None:
    """The class of ``address`` that the server must not fetch from, None if allowed."""
    judged = _judged(address)
    classes = (
        (judged in _METADATA, "cloud metadata"),
        (judged.is_unspecified, "unspecified"),
        (judged.is_loopback, "loopback"),
        (isinstance(judged, IPv4Address) and judged in _THIS_NETWORK, "'this network' (0/8)"),
        (judged.is_link_local, "link-local"),
        (judged.is_multicast, "multicast"),
        (judged.is_reserved, "reserved"),
    )
    found = next((name for hit, name in classes if hit), None)
    if found is None and isinstance(judged, IPv6Address) and judged.sixtofour is not None:
        return forbidden_class(judged.sixtofour)  # 2002:7f00:1:: carries 127.0.0.1
    return found


def _host(clone_url: str) -> str:
    """The host git connects to; CloneHostError where git and Python might read another."""
    try:
        parts = urlsplit(clone_url)
        host = parts.hostname or ""
    except ValueError as exc:  # brackets around something that is not an IPv6 address
        raise CloneHostError(f"the clone URL's host is malformed ({exc})") from exc
    if parts.netloc.count("@") > 1 or "\\" in parts.netloc:
        raise CloneHostError("the clone URL's host is ambiguous (a second '@' or a '\\')")
    if not host:
        raise CloneHostError("the clone URL names no host")
    if not host.isascii():
        raise CloneHostError(f"give the clone URL's host {host} in its ASCII (xn--) form")
    if "%" in host and literal_address(host) is None:
        raise CloneHostError(f"the clone URL's host {host} is percent-encoded")
    return host


def check_clone_host(clone_url: str, resolve: Resolver | None = None) -> None:
    """Return if the server may fetch from ``clone_url``'s host (a ``file:`` URL names
    none); CloneHostError naming the host, the address and its class otherwise, or saying
    the host does not resolve. ``resolve`` defaults to :func:`system_resolver`."""
    if clone_url.lower().startswith("file:"):
        return
    host = _host(clone_url)
    literal = literal_address(host)
    addresses = [literal] if literal is not None else (resolve or system_resolver)(host)
    if not addresses:
        raise CloneHostError(
            f"the clone URL's host {host} does not resolve from the server, so its "
            "addresses cannot be checked"
        )
    for address in addresses:
        found = forbidden_class(address)
        if found is not None:
            verb = "is" if literal is not None else "resolves to"
            article = "an" if found[0] in "aeiou" else "a"
            raise CloneHostError(
                f"the clone URL's host {host} {verb} {address}, {article} {found} address"
            )
