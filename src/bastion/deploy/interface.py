"""What a deploy needs from outside: the environment's rules, an audit sink, its errors.

Error tree (all under :class:`bastion.errors.BastionError`)::

    DeployError                 exit 3  a deploy could not be carried out (nothing half-done)
    ├── HAProxyError            exit 3  HAProxy could not be started or its runtime API failed
    ├── GitOpsError             exit 3  the GitOps repository could not be read or written
    │                                   (a push still rejected after one retry, with the reason)
    └── DeployRefusedError      exit 1  the artifact did not verify: refused before any change
        │                               (also a VerificationError, with its reason code)
        └── GitOpsRefusedError  exit 1  the GitOps commit is unsigned, signed by an unknown
                                        key, or its manifest is not for this environment
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from bastion.audit import AuditEvent
from bastion.errors import BastionError, UsageError, VerificationError

__all__ = [
    "AuditSink",
    "DeployError",
    "DeployRefusedError",
    "EnvironmentConfig",
    "GitOpsError",
    "GitOpsRefusedError",
    "HAProxyError",
    "Slot",
    "Strategy",
    "environment_dir",
]

AuditSink = Callable[[AuditEvent], None]
"""Appends one event to the audit log before the action it records goes on."""

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


class DeployError(BastionError):
    """A deploy, rollback or drift check could not be carried out."""


class HAProxyError(DeployError):
    """HAProxy could not be started, or its runtime API did not answer."""


class DeployRefusedError(DeployError, VerificationError):
    """The artifact failed ``bastion verify``: the deploy was refused before any change."""

    exit_code = 1

    def __init__(self, message: str, *, reason: str) -> None:
        VerificationError.__init__(self, message, reason=reason)


class GitOpsError(DeployError):
    """The GitOps repository could not be read or written (git's message included)."""


class GitOpsRefusedError(DeployRefusedError):
    """What the GitOps repository asks for is not trusted: nothing was changed."""


class Strategy(StrEnum):
    """How the new version takes over traffic."""

    CANARY = "canary"
    BLUE_GREEN = "blue-green"
    DIRECT = "direct"


class Slot(StrEnum):
    """The two HAProxy servers a local environment alternates between."""

    BLUE = "blue"
    GREEN = "green"

    @property
    def other(self) -> Slot:
        """The slot that is not this one."""
        return Slot.GREEN if self is Slot.BLUE else Slot.BLUE


def environment_dir(home: Path, name: str) -> Path:
    """Where environment ``name`` keeps its config, state, releases and HAProxy files."""
    if not _NAME.fullmatch(name):
        raise UsageError(f"environment name {name!r} is not [a-z0-9][a-z0-9_-]*")
    return home / "deploy" / name


@dataclass(frozen=True)
class EnvironmentConfig:
    """An environment's rules: who may build what it runs, where it listens, what is healthy.

    Read from ``<home>/deploy/<env>/environment.json``; every key but ``builder``,
    ``repository`` and ``port`` has a default.
    """

    name: str
    builder: str
    repository: str
    port: int
    ref: str | None = None
    allow_local: bool = False
    health_path: str = "/health"
    max_error_rate: float = 0.01
    probe_requests: int = 60
    policy: Path | None = None

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise UsageError(f"environment {self.name}: port {self.port} is out of range")
        if not 0.0 <= self.max_error_rate < 1.0:
            raise UsageError(f"environment {self.name}: max_error_rate must be in [0, 1)")
        if not 0 < self.probe_requests <= 10000:
            raise UsageError(f"environment {self.name}: probe_requests must be in 1..10000")
        if not self.health_path.startswith("/"):
            raise UsageError(f"environment {self.name}: health_path must start with /")

    @classmethod
    def load(cls, home: Path, name: str) -> EnvironmentConfig:
        """Read and check ``environment.json`` of ``name``; UsageError names what is wrong."""
        path = environment_dir(home, name) / "environment.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise UsageError(
                f"{path}: environment {name!r} is not configured",
                hint="write its builder, repository and port there (README, Deploy)",
            ) from exc
        except (OSError, ValueError) as exc:
            raise UsageError(f"{path}: unreadable environment config: {exc}") from exc
        return cls.from_dict(name, data)

    @classmethod
    def from_dict(cls, name: str, data: Any) -> EnvironmentConfig:
        """Build from parsed JSON, refusing unknown keys and wrong types."""
        known = {"builder", "repository", "port", "ref", "allow_local", "health_path"}
        known |= {"max_error_rate", "probe_requests", "policy"}
        if not isinstance(data, dict) or not set(data) <= known:
            raise UsageError(f"environment {name}: expected an object with keys {sorted(known)}")
        try:
            return cls(
                name=name,
                builder=_text(data, "builder"),
                repository=_text(data, "repository"),
                port=int(data["port"]),
                ref=data.get("ref"),
                allow_local=bool(data.get("allow_local", False)),
                health_path=str(data.get("health_path", "/health")),
                max_error_rate=float(data.get("max_error_rate", 0.01)),
                probe_requests=int(data.get("probe_requests", 60)),
                policy=Path(data["policy"]) if data.get("policy") else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"environment {name}: bad config: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (also what the config digest in drift checks covers)."""
        return {
            "builder": self.builder,
            "repository": self.repository,
            "port": self.port,
            "ref": self.ref,
            "allow_local": self.allow_local,
            "health_path": self.health_path,
            "max_error_rate": self.max_error_rate,
            "probe_requests": self.probe_requests,
            "policy": str(self.policy) if self.policy else None,
        }


def _text(data: dict[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} must be a non-empty string")
    return value
