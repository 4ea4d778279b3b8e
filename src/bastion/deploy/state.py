"""What Bastion believes runs in an environment: ``<home>/deploy/<env>/state.json``.

Written atomically after every change that took effect; read by status, rollback and drift.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bastion.atomic import replacing
from bastion.audit import canonical_json
from bastion.deploy.interface import DeployError, EnvironmentConfig, Slot
from bastion.supplychain import Digest, parse_digest

__all__ = ["EnvironmentState", "SlotState", "config_digest"]


def config_digest(config: EnvironmentConfig) -> str:
    """sha256 of the environment config's canonical JSON (what drift compares)."""
    return "sha256:" + hashlib.sha256(canonical_json(config.to_dict()).encode()).hexdigest()


@dataclass(frozen=True)
class SlotState:
    """One running version: its artifact digest, the release file, process id and port."""

    digest: Digest
    release: Path
    pid: int
    port: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "digest": self.digest,
            "release": str(self.release),
            "pid": self.pid,
            "port": self.port,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SlotState:
        """Read the JSON form back."""
        return cls(
            parse_digest(str(data["digest"])),
            Path(data["release"]),
            int(data["pid"]),
            int(data["port"]),
        )


@dataclass(frozen=True)
class EnvironmentState:
    """The active slot, both slots' versions, the deployed config digest, HAProxy's pid."""

    active: Slot | None = None
    slots: dict[Slot, SlotState] = field(default_factory=dict)
    config: str | None = None
    haproxy_pid: int | None = None

    def running(self) -> SlotState | None:
        """The version serving traffic, if any."""
        return self.slots.get(self.active) if self.active else None

    def with_slot(self, slot: Slot, value: SlotState | None) -> EnvironmentState:
        """A copy with ``slot`` set (or emptied when ``value`` is None)."""
        slots = {k: v for k, v in self.slots.items() if k is not slot}
        if value is not None:
            slots[slot] = value
        return replace(self, slots=slots)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "active": self.active.value if self.active else None,
            "slots": {k.value: v.to_dict() for k, v in self.slots.items()},
            "config": self.config,
            "haproxy_pid": self.haproxy_pid,
        }

    @classmethod
    def load(cls, directory: Path) -> EnvironmentState:
        """The saved state, or an empty one for an environment never deployed."""
        path = directory / "state.json"
        if not path.exists():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                active=Slot(data["active"]) if data.get("active") else None,
                slots={Slot(k): SlotState.from_dict(v) for k, v in data["slots"].items()},
                config=data.get("config"),
                haproxy_pid=data.get("haproxy_pid"),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DeployError(f"{path}: unreadable deploy state: {exc}") from exc

    def save(self, directory: Path) -> None:
        """Write atomically (a crash leaves the old or the new state, never half)."""
        directory.mkdir(parents=True, exist_ok=True)
        with replacing(directory / "state.json") as out:
            out.write(json.dumps(self.to_dict(), indent=2).encode())
