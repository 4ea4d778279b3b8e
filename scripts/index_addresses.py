#!/usr/bin/env python3
"""Print the non-public addresses this machine's resolver gives for the Python package index.

`make demo` passes them as $BASTION_EGRESS_TRUSTED_ADDRESSES: on machines whose package
index is an internal mirror at a private or reserved address, Bastion's egress proxy would
otherwise (rightly) refuse it. On the public internet this prints nothing.
"""

from __future__ import annotations

import ipaddress
import socket

INDEX_HOSTS = ("pypi.org", "files.pythonhosted.org")


def index_addresses() -> list[str]:
    """The sorted non-public addresses of the index hosts (empty when unresolvable)."""
    found: set[str] = set()
    for host in INDEX_HOSTS:
        try:
            infos = socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)
        except OSError:
            continue
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]))
            if not address.is_global:
                found.add(str(address))
    return sorted(found)


if __name__ == "__main__":
    print(",".join(index_addresses()))
