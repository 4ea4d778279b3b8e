"""Name resolution done by the proxy, never by the job.

The proxy resolves each allowed name itself and connects to an address it checked, so a
job cannot steer a connection with its own DNS answers. :class:`Resolver` is the seam for
tests (a fake that maps a name to 127.0.0.1 shows that rebinding is refused).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping, Sequence
from typing import Protocol

from bastion.sandbox.egress.addresses import IPAddress

__all__ = ["Resolver", "StaticResolver", "SystemResolver"]


class Resolver(Protocol):
    """Turns a host name into addresses; raises ``OSError`` when it cannot."""

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Addresses of ``host`` for TCP ``port``, in preference order."""
        ...


class SystemResolver:
    """The host's resolver (``getaddrinfo``), TCP only, de-duplicated in order."""

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        seen: dict[IPAddress, None] = {}
        for _family, _type, _proto, _canon, sockaddr in infos:
            seen.setdefault(ipaddress.ip_address(sockaddr[0]), None)
        return list(seen)


class StaticResolver:
    """A fixed name -> addresses table (tests, benchmarks, pinned hosts)."""

    def __init__(self, table: Mapping[str, Sequence[str]]) -> None:
        self._table = {
            name.lower(): [ipaddress.ip_address(a) for a in addresses]
            for name, addresses in table.items()
        }

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        try:
            return list(self._table[host.lower()])
        except KeyError:
            raise OSError(f"{host}: name not known") from None
