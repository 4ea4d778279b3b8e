"""Helpers for tests that drive Bastion as a user does: the `bastion` command and real git."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

__all__ = ["BASTION", "git", "home_env", "run_bastion"]

BASTION = str(Path(sys.executable).with_name("bastion"))


def git(repo: Path, *args: str) -> None:
    """Run git in ``repo`` with a fixed identity (no user configuration needed)."""
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        check=True,
        capture_output=True,
    )


def home_env(home: Path, **extra: str) -> dict[str, str]:
    """This environment with a private ``BASTION_HOME`` and no shared database URL."""
    env = {**os.environ, "BASTION_HOME": str(home), **extra}
    env.pop("BASTION_DATABASE_URL", None)
    return env


def run_bastion(
    *args: str,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``bastion`` command; never raises on a non-zero exit."""
    return subprocess.run(
        [BASTION, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=dict(env) if env is not None else None,
        cwd=cwd,
        timeout=300,
        check=False,
    )
