"""``bastion run --learn-egress``: allow (almost) everything, remember where jobs went.

A :class:`LearningRecorder` is an :class:`~bastion.sandbox.egress.allowlist.EgressPolicy`
that allows every host name and port but still refuses non-public addresses (a learning
run must not become a way into the host's own network), and records each host and port a
job asked for. :func:`render_allow_list` prints the ``network:`` list to paste into the
pipeline file, with wildcards never invented: each name is listed exactly as contacted.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from bastion.sandbox.egress.addresses import IPAddress, is_public, parse_ip
from bastion.sandbox.egress.allowlist import DEFAULT_PORTS, Verdict, normalize_host

__all__ = ["LearningRecorder", "render_allow_list"]


class LearningRecorder:
    """Allows any name, refuses non-public addresses, records ``(host, port)`` pairs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: set[tuple[str, int]] = set()

    def check_request(self, host: str, port: int) -> Verdict:
        ip = parse_ip(host)
        name = str(ip) if ip is not None else normalize_host(host)
        if name is None:
            return Verdict(False, "malformed host name")
        with self._lock:
            self._seen.add((name, port))
        return Verdict(True, "learning: any host allowed")

    def check_address(self, ip: IPAddress, port: int) -> Verdict:
        if is_public(ip):
            return Verdict(True, f"learning: public address {ip}")
        return Verdict(False, f"resolves to non-public address {ip} (refused while learning)")

    @property
    def contacted(self) -> list[tuple[str, int]]:
        """Every ``(host, port)`` asked for so far, sorted."""
        with self._lock:
            return sorted(self._seen)


def _entry(host: str, port: int) -> str:
    ip = parse_ip(host)
    shown = f"[{host}]" if ip is not None and ip.version == 6 else host
    return shown if port in DEFAULT_PORTS else f"{shown}:{port}"


def render_allow_list(contacted: Iterable[tuple[str, int]], *, indent: int = 2) -> str:
    """The YAML ``network:`` block allowing exactly ``contacted`` (ports 80/443 implied).

    Returns ``network: none`` when nothing was contacted.
    """
    entries = sorted({_entry(host, port) for host, port in contacted})
    if not entries:
        return "network: none\n"
    pad = " " * indent
    return "network:\n" + "".join(f"{pad}- {_quote(entry)}\n" for entry in entries)


def _quote(entry: str) -> str:
    # A YAML plain scalar may not start with '[' or '*'; quote what needs it.
    return f'"{entry}"' if entry[:1] in "[*" or ":" in entry else entry
