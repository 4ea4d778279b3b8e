"""Configuration checks: root user, secrets in Env, labels and history, unpinned base image,
ADD from a URL, an SSH daemon, world-writable directories on PATH.

Each check returns ``(rule id, severity, message, match key, subject)`` tuples; the gate turns
them into findings. Secrets are matched by the secrets engine (through
:class:`~bastion.scanners.image.model.SecretScanner`) and by variable names that say "secret".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, NamedTuple

from bastion.scanners.finding import Severity
from bastion.scanners.image.inventory import ImageInventory
from bastion.scanners.image.model import SecretScanner

__all__ = ["Issue", "config_issues"]

_SECRET_NAME = re.compile(
    r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIALS?)$", re.I
)
_ADD_URL = re.compile(r"\bADD\s+(?:--\S+\s+)*(?:https?|ftp)://\S+", re.I)
_SSHD = ("usr/sbin/sshd", "usr/sbin/dropbear", "sbin/sshd")
_BASE_NAME = "org.opencontainers.image.base.name"
_BASE_DIGEST = "org.opencontainers.image.base.digest"


class Issue(NamedTuple):
    """One configuration problem, before it becomes a finding."""

    rule_id: str
    severity: Severity
    message: str
    match_key: str
    where: str  # config, history, a path in the image


def _config(inventory: ImageInventory) -> dict[str, Any]:
    value = inventory.config.get("config")
    return value if isinstance(value, dict) else {}


def _user(inventory: ImageInventory) -> Iterator[Issue]:
    user = str(_config(inventory).get("User") or "")
    name = user.split(":", maxsplit=1)[0]
    if name in ("", "root", "0"):
        shown = user or "unset (root)"
        yield Issue(
            "image-runs-as-root",
            Severity.HIGH,
            f"the image runs as root (User: {shown}); set a non-root USER",
            "user",
            "config",
        )


def _placeholder(value: str) -> bool:
    return (
        not value
        or value.startswith(("$", "/", "{{"))
        or value.lower() in ("changeme", "none", "null", "false", "true")
    )


def _texts(inventory: ImageInventory) -> Iterator[tuple[str, str, str]]:
    """(where, key, text) for every Env entry, label and history line."""
    for entry in _config(inventory).get("Env") or []:
        key = str(entry).partition("=")[0]
        yield "config Env", key, str(entry)
    for key, value in inventory.annotations.items():
        yield "label", key, f"{key}={value}"
    history = inventory.config.get("history")
    for n, step in enumerate(history if isinstance(history, list) else []):
        if isinstance(step, dict):
            yield "history", f"step {n}", str(step.get("created_by", ""))


def _secrets(inventory: ImageInventory, scanner: SecretScanner | None) -> Iterator[Issue]:
    for where, key, text in _texts(inventory):
        hits = scanner.scan(text.encode()) if scanner else []
        for hit in hits:
            yield Issue(
                f"image-secret-{hit.rule_id}",
                hit.severity,
                f"{hit.title} in the image's {where} ({key}): {hit.redacted}",
                f"{where}|{key}|{hit.fingerprint_key}",
                where,
            )
        name, _, value = text.partition("=")
        if (
            where == "config Env"
            and not hits
            and _SECRET_NAME.search(name)
            and not _placeholder(value)
        ):
            yield Issue(
                "image-secret-env",
                Severity.HIGH,
                f"environment variable {name} carries a value in the image "
                f"({len(value)} chars); pass secrets at run time instead",
                f"env|{name}",
                where,
            )


def _build(inventory: ImageInventory) -> Iterator[Issue]:
    base = inventory.annotations.get(_BASE_NAME)
    if base and "@sha256:" not in base and not inventory.annotations.get(_BASE_DIGEST):
        yield Issue(
            "image-base-not-pinned",
            Severity.MEDIUM,
            f"base image {base} is not pinned by digest; use FROM name@sha256:…",
            f"base|{base.rsplit(':', 1)[0]}",
            "config",
        )
    history = inventory.config.get("history")
    for step in history if isinstance(history, list) else []:
        match = _ADD_URL.search(str(step.get("created_by", ""))) if isinstance(step, dict) else None
        if match:
            yield Issue(
                "image-add-url",
                Severity.MEDIUM,
                f"a layer was built with `{match.group(0)[:200]}`: remote content "
                "unverified by digest; download with a checksum check instead",
                f"add|{match.group(0)}",
                "history",
            )


def _files(inventory: ImageInventory) -> Iterator[Issue]:
    entries = inventory.walk.entries
    for path in _SSHD:
        if path in entries:
            yield Issue(
                "image-ssh-daemon",
                Severity.MEDIUM,
                f"an SSH daemon is installed (/{path}); containers are entered with exec, not SSH",
                f"sshd|{path}",
                path,
            )
    env = dict(str(e).partition("=")[::2] for e in _config(inventory).get("Env") or [])
    for directory in env.get("PATH", "").split(":"):
        rel = directory.strip("/")
        entry = entries.get(rel)
        if entry is not None and entry.kind == "symlink":
            rel = (
                entry.link.strip("/")
                if entry.link.startswith("/")
                else f"{rel.rpartition('/')[0]}/{entry.link}".strip("/")
            )
            entry = entries.get(rel)
        if entry is not None and entry.kind == "dir" and entry.mode & 0o002:
            yield Issue(
                "image-path-world-writable",
                Severity.HIGH,
                f"{directory} on PATH is world-writable (mode {entry.mode:o}): any "
                "user can plant commands",
                f"path|{directory}",
                rel,
            )


def config_issues(inventory: ImageInventory, scanner: SecretScanner | None) -> list[Issue]:
    """Every configuration issue of ``inventory``."""
    return [
        *_user(inventory),
        *_secrets(inventory, scanner),
        *_build(inventory),
        *_files(inventory),
    ]
