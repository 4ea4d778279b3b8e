"""Which IP addresses a job may reach without listing them.

Only globally routable unicast addresses. Everything else (private, loopback, link-local,
shared CGNAT space, multicast, reserved, unspecified) is refused unless the address is
listed explicitly. IPv6 forms that embed an IPv4 address (v4-mapped ``::ffff:a.b.c.d``,
6to4 ``2002::/16``, NAT64 ``64:ff9b::/96``, Teredo) are judged by the embedded address too,
so ``::ffff:127.0.0.1`` cannot reach loopback.
"""

from __future__ import annotations

import ipaddress

__all__ = ["IPAddress", "is_public", "parse_ip"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _embedded_v4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if ip in _NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def _plain_public(ip: IPAddress) -> bool:
    return bool(
        ip.is_global
        and not ip.is_multicast
        and not ip.is_reserved
        and not ip.is_unspecified
        and not ip.is_loopback
        and not ip.is_link_local
    )


def is_public(ip: IPAddress) -> bool:
    """True for an address any job may reach once its host name is allowed."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_v4(ip)
        if ip.ipv4_mapped is not None:
            return _plain_public(ip.ipv4_mapped)
        if embedded:
            return all(_plain_public(v4) for v4 in embedded)
    return _plain_public(ip)


def parse_ip(text: str) -> IPAddress | None:
    """``text`` as an IP address (IPv6 with or without brackets), or None."""
    candidate = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        return ipaddress.ip_address(candidate)
    except ValueError:
        return None
