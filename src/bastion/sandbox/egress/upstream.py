"""Opening a checked connection to a destination on a job's behalf.

The order is the security argument: the policy decides on the host name the job asked for;
the proxy resolves the name itself (an IP literal is used as is, and only passes the policy
if listed); every resolved address is checked again (non-public ones refused unless
listed, which defeats DNS rebinding of an allowed name to 127.0.0.1); the proxy connects to
a checked address, never re-resolving the name.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from bastion.errors import SandboxError
from bastion.sandbox.egress.addresses import IPAddress, parse_ip
from bastion.sandbox.egress.allowlist import EgressPolicy
from bastion.sandbox.egress.resolver import Resolver
from bastion.sandbox.egress.wire import NO_GROWTH, RelayBudget, Wire

__all__ = ["Denied", "Upstream", "open_upstream"]


class Denied(SandboxError):
    """The request may not go out (``status`` 403), could not (502, ``allowed`` True), or
    the job has too many connections open (503)."""

    def __init__(self, status: int, reason: str, *, allowed: bool = False) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.allowed = allowed


@dataclass(slots=True)
class Upstream:
    """An open connection to a checked address, and why it was allowed."""

    host: str
    port: int
    address: IPAddress
    wire: Wire
    reason: str


def _addresses(host: str, port: int, resolver: Resolver) -> list[IPAddress]:
    literal = parse_ip(host)
    if literal is not None:
        return [literal]
    try:
        found = resolver.resolve(host, port)
    except OSError as exc:
        raise Denied(502, f"cannot resolve {host}: {exc}", allowed=True) from exc
    if not found:
        raise Denied(502, f"{host} has no address", allowed=True)
    return found


def open_upstream(
    host: str,
    port: int,
    policy: EgressPolicy,
    resolver: Resolver,
    timeout: float,
    budget: RelayBudget = NO_GROWTH,
) -> Upstream:
    """Decide, resolve, check each address, connect; raises :class:`Denied`."""
    verdict = policy.check_request(host, port)
    if not verdict.allowed:
        raise Denied(403, verdict.reason)
    candidates: list[IPAddress] = []
    refusal = ""
    for address in _addresses(host, port, resolver):
        checked = policy.check_address(address, port)
        if checked.allowed:
            candidates.append(address)
        elif not refusal:
            refusal = f"{host} {checked.reason}"
    if not candidates:
        raise Denied(403, refusal)
    errors: list[str] = []
    for address in candidates:
        try:
            sock = socket.create_connection((str(address), port), timeout=timeout)
        except OSError as exc:
            errors.append(f"{address}: {exc.strerror or exc}")
            continue
        sock.settimeout(None)  # blocking from here on: one relay thread per direction
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return Upstream(host, port, address, Wire(sock, budget), verdict.reason)
    raise Denied(502, f"cannot connect to {host}:{port} ({'; '.join(errors)})", allowed=True)
