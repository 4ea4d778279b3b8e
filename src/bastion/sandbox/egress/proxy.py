"""The host-side egress proxy of one job: HTTP CONNECT tunnels and plain HTTP forwarding.

    >>> proxy = EgressProxy(AllowList.parse(["pypi.org", "*.pythonhosted.org"]), records.append,
    ...                     job="build")
    >>> proxy.start(run_dir / "egress.sock")   # bound into the sandbox by bubblewrap
    >>> ...                                     # run the job
    >>> proxy.stop()

It listens on a Unix socket (the job's in-sandbox forwarder relays its loopback proxy port
to it). Each connection is served by its own thread with blocking sockets so bodies and
tunnels are relayed with large buffers (see :mod:`bastion.sandbox.egress.wire` for why). Each
CONNECT tunnel and each plain HTTP exchange (a keep-alive connection carries several)
becomes one :class:`~bastion.sandbox.egress.record.EgressRecord`. How destinations are
checked is described in :mod:`bastion.sandbox.egress.upstream`.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from bastion.errors import SandboxError
from bastion.sandbox.egress.allowlist import EgressPolicy
from bastion.sandbox.egress.handoff import receive_client
from bastion.sandbox.egress.http1 import BadMessage, Head, body_framing, parse_head
from bastion.sandbox.egress.record import EgressLog, EgressRecord
from bastion.sandbox.egress.resolver import Resolver, SystemResolver
from bastion.sandbox.egress.session import Exchange, forward_plain, refuse, tunnel
from bastion.sandbox.egress.upstream import Denied, Upstream, open_upstream
from bastion.sandbox.egress.wire import RelayBudget, Wire

__all__ = ["EgressProxy"]

_JOIN_TIMEOUT = 10.0
_ACCEPT_POLL = 0.2
_TURN_AWAY_WAIT = 0.05
_RELAY_BUDGET_BYTES = 32 * 1024 * 1024


class EgressProxy:
    """Serves one job's egress on a Unix socket until :meth:`stop`.

    ``log`` receives every record, from the proxy's threads (it must be thread-safe;
    ``list.append`` is). ``resolver`` defaults to the system resolver; tests pass a fake.
    """

    def __init__(
        self,
        allow: EgressPolicy,
        log: EgressLog,
        *,
        job: str = "",
        resolver: Resolver | None = None,
        connect_timeout: float = 10.0,
        idle_timeout: float = 120.0,
        max_connections: int = 256,
    ) -> None:
        self._policy = allow
        self._log = log
        self._job = job
        self._resolver: Resolver = resolver or SystemResolver()
        self._connect_timeout = connect_timeout
        self._idle_timeout = idle_timeout
        # Each connection costs a host thread (two for a tunnel): a job may not exhaust them.
        self._max_connections = max_connections
        # Relay buffers grow for bulk transfers, within this job's own budget (see ``wire``).
        self._budget = RelayBudget(_RELAY_BUDGET_BYTES)
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._wires: set[Wire] = set()
        self._threads: set[threading.Thread] = set()
        self._socket_path: Path | None = None

    @property
    def socket_path(self) -> Path | None:
        """Where the proxy listens while started."""
        return self._socket_path

    def start(self, socket_path: Path, *, mode: int = 0o666) -> None:
        """Listen on ``socket_path`` (which must not exist).

        ``mode`` lets the job's sandbox user connect; keep the socket in a directory only
        Bastion controls.
        """
        if self._listener is not None:
            raise SandboxError("the egress proxy is already started")
        if socket_path.exists() or socket_path.is_symlink():
            raise SandboxError(
                f"the egress proxy socket {socket_path} already exists",
                hint="give each job's proxy a fresh socket path",
            )
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(str(socket_path))
            os.chmod(socket_path, mode)
            listener.listen(128)
        except OSError as exc:
            listener.close()
            raise SandboxError(f"cannot listen on {socket_path}: {exc.strerror or exc}") from exc
        listener.settimeout(_ACCEPT_POLL)  # lets the acceptor notice stop() promptly
        self._listener, self._socket_path = listener, socket_path
        self._stopping.clear()
        self._acceptor = threading.Thread(
            target=self._accept_loop, name=f"egress-{self._job}", daemon=True
        )
        self._acceptor.start()

    def stop(self) -> None:
        """Close the socket and every open connection, wait for their records; idempotent."""
        if self._listener is None:
            return
        self._stopping.set()
        if self._acceptor is not None:
            self._acceptor.join(_JOIN_TIMEOUT)
        self._listener.close()
        self._listener = self._acceptor = None
        with self._lock:
            wires, threads = list(self._wires), list(self._threads)
        for wire in wires:
            wire.shutdown()
        for thread in threads:
            thread.join(_JOIN_TIMEOUT)
        if self._socket_path is not None:
            self._socket_path.unlink(missing_ok=True)
            self._socket_path = None

    def __enter__(self) -> EgressProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        listener = self._listener
        while listener is not None and not self._stopping.is_set():
            try:
                sock, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(None)
            client = Wire(sock, self._budget)
            with self._lock:
                busy = len(self._threads) >= self._max_connections
            if busy:
                self._turn_away(client)
                continue
            thread = threading.Thread(target=self._serve, args=(client,), daemon=True)
            with self._lock:
                self._threads.add(thread)
                self._wires.add(client)
            thread.start()

    def _turn_away(self, client: Wire) -> None:
        exchange = Exchange(method="?", started=datetime.now(UTC), clock=time.perf_counter())
        reason = f"more than {self._max_connections} open connections"
        # A passed connection is answered itself (the forwarder has already let go of it);
        # the wait is short because the descriptor is sent right after connecting.
        client.sock.settimeout(_TURN_AWAY_WAIT)
        answer = client
        try:
            sock, _ = receive_client(client.sock)
            answer = Wire(sock, self._budget)
        except (OSError, BadMessage):
            pass
        self._refused(answer, exchange, Denied(503, reason))
        answer.close()
        client.close()

    # -- one client connection -------------------------------------------------------

    def _track(self, wire: Wire, add: bool) -> None:
        """Remember open sockets so :meth:`stop` can wake the threads blocked on them."""
        with self._lock:
            if add:
                self._wires.add(wire)
            else:
                self._wires.discard(wire)

    def _serve(self, first: Wire) -> None:
        upstream: list[Upstream] = []  # at most one kept-alive plain-HTTP upstream
        client: Wire | None = first
        try:
            client = self._take_over(first)
            while (
                client is not None
                and not self._stopping.is_set()
                and self._one_request(client, upstream)
            ):
                pass
        except OSError:
            pass  # the job or the destination went away: nothing left to answer
        finally:
            self._drop(upstream)
            for wire in (first, client):
                if wire is not None:
                    self._track(wire, False)
                    wire.close()
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _take_over(self, first: Wire) -> Wire | None:
        """The job's own connection if the forwarder passed it (see ``handoff``), else
        ``first`` with the bytes already read; None after refusing a bad descriptor."""
        first.sock.settimeout(self._idle_timeout)
        try:
            sock, pending = receive_client(first.sock)
        except BadMessage as exc:
            exchange = Exchange(method="?", started=datetime.now(UTC), clock=time.perf_counter())
            self._refused(first, exchange, Denied(400, f"malformed request: {exc}"))
            return None
        if sock is first.sock:
            first.sock.settimeout(None)
            first.unread(pending)
            return first
        wire = Wire(sock, self._budget)
        self._track(wire, True)
        if self._stopping.is_set():
            wire.shutdown()  # passed while stop() was shutting sockets down
        return wire

    def _one_request(self, client: Wire, upstream: list[Upstream]) -> bool:
        """Serve one request; True if the client connection stays open for another."""
        exchange = Exchange(method="?", started=datetime.now(UTC), clock=time.perf_counter())
        try:
            client.sock.settimeout(self._idle_timeout)
            raw = client.read_head()
            client.sock.settimeout(None)
            if raw is None:
                return False
            head = parse_head(raw)
            exchange.method = head.first[0].upper()
            target = _target(head, exchange)
            conn = self._upstream_for(target, upstream)
        except BadMessage as exc:
            return self._refused(client, exchange, Denied(400, f"malformed request: {exc}"))
        except Denied as denied:
            return self._refused(client, exchange, denied)
        exchange.address = str(conn.address)
        keep = False
        try:
            if exchange.method == "CONNECT":
                tunnel(client, conn, exchange)
            else:
                keep = forward_plain(head, target[2], client, conn, exchange)
        except BadMessage as exc:
            exchange.note = f"; stopped: {exc}"
        except OSError as exc:
            exchange.note = f"; connection lost: {exc.strerror or exc}"
            raise
        finally:
            self._record(exchange, True, conn.reason + exchange.note)
        if not keep:
            self._drop(upstream)
        return keep

    def _refused(self, client: Wire, exchange: Exchange, denied: Denied) -> bool:
        # Recorded before the job hears of it, so the record is never missing or late.
        self._record(exchange, denied.allowed, denied.reason)
        refuse(client, denied)
        return False

    def _drop(self, upstream: list[Upstream]) -> None:
        for conn in upstream:
            self._track(conn.wire, False)
            conn.wire.close()
        upstream.clear()

    def _upstream_for(self, target: tuple[str, int, str], upstream: list[Upstream]) -> Upstream:
        host, port, _ = target
        kept = upstream[0] if upstream else None
        if kept and (kept.host, kept.port) == (host, port) and not kept.wire.is_stale():
            # Same destination, connection kept alive: the decision is still taken again.
            verdict = self._policy.check_request(host, port)
            if not verdict.allowed:
                raise Denied(403, verdict.reason)
            return kept
        self._drop(upstream)
        conn = open_upstream(
            host, port, self._policy, self._resolver, self._connect_timeout, self._budget
        )
        self._track(conn.wire, True)
        upstream.append(conn)
        if self._stopping.is_set():
            conn.wire.shutdown()  # opened while stop() was shutting sockets down
        return conn

    def _record(self, exchange: Exchange, allowed: bool, reason: str) -> None:
        self._log(
            EgressRecord(
                job=self._job,
                host=exchange.host,
                port=exchange.port,
                method=exchange.method,
                bytes_up=exchange.bytes_up,
                bytes_down=exchange.bytes_down,
                allowed=allowed,
                reason=reason,
                started=exchange.started,
                duration=time.perf_counter() - exchange.clock,
                address=exchange.address,
            )
        )


def _target(head: Head, exchange: Exchange) -> tuple[str, int, str]:
    """``(host, port, origin-form path)`` of a request; fills the exchange's host and port."""
    method, target, version = head.first
    if not version.startswith("HTTP/1."):
        raise BadMessage(f"unsupported protocol {version!r}")
    if method.upper() == "CONNECT":
        host, port = _authority(target, default_port=None)
        path = ""
    else:
        try:
            parts = urllib.parse.urlsplit(target)
        except ValueError as exc:  # e.g. an unclosed IPv6 bracket
            raise BadMessage(f"malformed URL: {exc}") from exc
        if parts.scheme.lower() != "http" or not parts.netloc:
            raise BadMessage(
                "a proxy request needs an absolute http:// URL (use CONNECT for https)"
            )
        host, port = _authority(parts.netloc.rpartition("@")[2], default_port=80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        body_framing(head, is_request=True)  # refuse ambiguous framing before connecting
    exchange.host, exchange.port = host, port
    return host, port, path


def _authority(text: str, *, default_port: int | None) -> tuple[str, int]:
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    if not host:
        raise BadMessage("empty host")
    if not port_text:
        if default_port is None:
            raise BadMessage("CONNECT needs host:port")
        return host.lower(), default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise BadMessage(f"invalid port {port_text!r}")
    return host.lower(), int(port_text)
