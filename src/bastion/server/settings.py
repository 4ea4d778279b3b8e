"""How one server instance is configured: address, database, TLS, and its security limits.

>>> settings = ServerSettings.from_options(bind="127.0.0.1:8080", db=None)
>>> settings.port
8080
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bastion.errors import UsageError
from bastion.home import bastion_home
from bastion.trust import Trust
from bastion.vault import DEFAULT_ISSUING

__all__ = [
    "DEFAULT_BIND",
    "ServerSettings",
    "default_server_database_url",
    "parse_bind",
    "parse_log_viewers",
]

DEFAULT_BIND = "127.0.0.1:8080"


def default_server_database_url() -> str:
    """``$BASTION_DATABASE_URL``, else ``$BASTION_HOME/server.db`` (SQLite)."""
    configured = os.environ.get("BASTION_DATABASE_URL")
    if configured:
        return configured
    return f"sqlite:///{bastion_home() / 'server.db'}"


def parse_bind(bind: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port`` for IPv6) as a pair; UsageError when malformed."""
    host, sep, port_text = bind.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise UsageError(f"--bind {bind!r}: expected HOST:PORT, e.g. {DEFAULT_BIND}")
    host = host.removeprefix("[").removesuffix("]")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if host != "localhost":
            raise UsageError(f"--bind {bind!r}: the host must be an IP address") from None
    return host, int(port_text)


def parse_log_viewers(value: str) -> tuple[int, int]:
    """``PER_CALLER/TOTAL`` (``4/64``) as a pair; UsageError when malformed."""
    per_caller, sep, total = value.partition("/")
    if not sep or not per_caller.isdigit() or not total.isdigit():
        raise UsageError(f"--log-viewers {value!r}: expected PER_CALLER/TOTAL, e.g. 4/64")
    return int(per_caller), int(total)


@dataclass(frozen=True)
class ServerSettings:
    """Everything that varies between instances; the limits default to the issue's numbers."""

    host: str
    port: int
    database_url: str
    tls_cert: Path | None = None
    tls_key: Path | None = None
    session_idle: timedelta = timedelta(minutes=30)
    session_absolute: timedelta = timedelta(hours=12)
    step_up_window: timedelta = timedelta(minutes=5)
    max_body_bytes: int = 1024 * 1024
    max_token_days: int = 90
    throttle_window: timedelta = timedelta(minutes=15)
    account_failures: int = 5
    address_failures: int = 20
    setup_link_lifetime: timedelta = timedelta(hours=24)
    # The job-identity issuer's public URL (default: base_url) and the run trusts that get
    # a token (trusted and release; adding internal is the only widening allowed).
    oidc_issuer: str | None = None
    id_token_trust: frozenset[Trust] = DEFAULT_ISSUING
    # Live logs (Server-Sent Events) open at once, per caller and in all (429 beyond): each
    # holds a connection and a share of the file watching for as long as it is open.
    log_viewers_per_caller: int = 4
    log_viewers_total: int = 64

    def __post_init__(self) -> None:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise UsageError("--tls-cert and --tls-key go together")
        if not 1 <= self.log_viewers_per_caller <= self.log_viewers_total:
            raise UsageError(
                "--log-viewers PER_CALLER/TOTAL: need 1 <= PER_CALLER <= TOTAL, not "
                f"{self.log_viewers_per_caller}/{self.log_viewers_total}"
            )
        for path in (self.tls_cert, self.tls_key):
            if path is not None and not path.is_file():
                raise UsageError(f"{path}: no such file")

    @classmethod
    def from_options(
        cls,
        *,
        bind: str,
        db: str | None,
        tls_cert: Path | None = None,
        tls_key: Path | None = None,
        oidc_issuer: str | None = None,
        id_token_trust: frozenset[Trust] = DEFAULT_ISSUING,
        log_viewers: str | None = None,
    ) -> ServerSettings:
        """Settings from ``bastion serve``'s options (``log_viewers``: ``PER_CALLER/TOTAL``)."""
        host, port = parse_bind(bind)
        url = db or default_server_database_url()
        per_caller, total = parse_log_viewers(log_viewers) if log_viewers else (4, 64)
        return cls(
            host,
            port,
            url,
            tls_cert=tls_cert,
            tls_key=tls_key,
            oidc_issuer=oidc_issuer,
            id_token_trust=id_token_trust,
            log_viewers_per_caller=per_caller,
            log_viewers_total=total,
        )

    @property
    def tls(self) -> bool:
        """Served over TLS: cookies are then marked Secure and HSTS is sent."""
        return self.tls_cert is not None

    @property
    def base_url(self) -> str:
        """The address people reach this server at (for setup links)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    @property
    def issuer_url(self) -> str:
        """The ``iss`` of job identity tokens: ``oidc_issuer``, else :attr:`base_url`."""
        return (self.oidc_issuer or self.base_url).rstrip("/")
