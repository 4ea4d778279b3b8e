"""Build a tool environment from Bastion's pinned, hashed requirement set.

    >>> from bastion.scanners.tools import Tool, ToolEnvironment, ensure_installed
    >>> env = ensure_installed(ToolEnvironment.for_tool(Tool.BANDIT))  # doctest: +SKIP

Installation runs on the host (the requirement set is trusted: every file is checked against
the hashes Bastion ships, ``pip --require-hashes --no-deps``, then ``pip check`` proves the set
is complete); scans run inside the sandbox
with the finished environment bound read-only.

Crash safety: an environment is built in a staging directory next to its final place, its
console scripts' ``#!`` lines are pointed at the final path, its manifest is written, and only
then is the directory renamed into place in one ``rename(2)``. A killed installer leaves a
staging directory that is never taken as installed and is removed by the next install. An
exclusive ``flock`` per tool serialises installers (two gates, two test workers).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bastion.errors import ToolMissingError
from bastion.scanners.tools.environment import (
    MANIFEST_NAME,
    ToolEnvironment,
    ToolManifest,
    install_command,
)

__all__ = ["InstallSource", "WarmUp", "ensure_installed", "install", "set_up"]

_log = logging.getLogger(__name__)

WarmUp = Callable[[ToolEnvironment, bool], None]
"""A tool's first-run work done ahead of time (``(env, force)``), e.g. Checkov's grammar
cache: what the first scan would otherwise pay."""

# pip resolving ~100 pinned wheels takes a minute on a slow link; an hour means it is stuck.
_INSTALL_TIMEOUT_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class InstallSource:
    """Where wheels come from: the default index, a mirror, or a local wheel folder.

    With only ``find_links`` the install is fully offline (``--no-index``).
    """

    index_url: str | None = None
    find_links: Path | None = None

    def pip_arguments(self) -> list[str]:
        """The pip options that select this source."""
        args: list[str] = []
        if self.index_url:
            args += ["--index-url", self.index_url]
        if self.find_links is not None:
            args += ["--find-links", str(self.find_links)]
            if not self.index_url:
                args.append("--no-index")
        return args


@contextlib.contextmanager
def _locked(env: ToolEnvironment) -> Iterator[None]:
    env.tools_dir.mkdir(parents=True, exist_ok=True)
    lock_path = env.tools_dir / f".{env.spec.tool.value}.lock"
    with lock_path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _run(argv: list[str], env: ToolEnvironment, what: str) -> None:
    try:
        proc = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=_INSTALL_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise _install_failed(env, f"{what} could not run: {exc}") from exc
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-8:])
        raise _install_failed(env, f"{what} failed (exit {proc.returncode}):\n{tail}")


def _install_failed(env: ToolEnvironment, detail: str) -> ToolMissingError:
    return ToolMissingError(
        f"could not install the {env.spec.tool.value} {env.spec.version} tool environment: "
        f"{detail}",
        hint=f"check network access to the package index and run "
        f"`{install_command(env.spec.tool)}`; air-gapped: "
        f"`{install_command(env.spec.tool)} --find-links DIR` with a folder of the pinned "
        "wheels, or --index-url URL for a mirror",
    )


def _retarget_scripts(staging: Path, final: Path) -> None:
    """Point console scripts at the final path before the rename.

    pip writes ``#!<env>/bin/python``, or, for an interpreter path too long for the kernel,
    a ``#!/bin/sh`` header that ``exec``s it; both name the staging path and both are fixed.
    """
    old = f"{staging}/".encode()
    new = f"{final}/".encode()
    for script in (staging / "bin").iterdir():
        if script.is_symlink() or not script.is_file():
            continue
        data = script.read_bytes()
        if data.startswith(b"#!") and old in data:
            script.write_bytes(data.replace(old, new))


def _build(env: ToolEnvironment, source: InstallSource, staging: Path) -> ToolManifest:
    requirements = staging / "bastion-requirements.txt"
    requirements.write_bytes(env.spec.requirements)
    _run([sys.executable, "-m", "venv", str(staging)], env, "creating the virtual environment")
    pip = [
        str(staging / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "--require-hashes",
        "--no-deps",
        "--only-binary=:all:",
        "-r",
        str(requirements),
        *source.pip_arguments(),
    ]
    _run(pip, env, "pip install")
    # --no-deps never resolves (so a release published after the set was locked cannot slip
    # in); pip check then proves the pinned set is the whole closure of what it installs.
    check = [str(staging / "bin" / "python"), "-m", "pip", "check", "--disable-pip-version-check"]
    _run(check, env, "pip check (is the pinned set complete?)")
    _retarget_scripts(staging, env.path)
    manifest = ToolManifest(
        tool=env.spec.tool.value,
        version=env.spec.version,
        requirements_sha256=env.spec.digest,
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        python=".".join(str(part) for part in sys.version_info[:3]),
    )
    (staging / MANIFEST_NAME).write_text(manifest.to_json(), encoding="utf-8")
    return manifest


def _clear_leftovers(env: ToolEnvironment) -> None:
    for leftover in env.tools_dir.glob(f".staging-{env.spec.env_name}-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    if env.path.exists() and not env.is_installed():
        # A directory without a matching manifest is never used; replace it.
        shutil.rmtree(env.path, ignore_errors=True)


def install(
    env: ToolEnvironment, source: InstallSource | None = None, *, force: bool = False
) -> ToolManifest:
    """Install ``env`` from the shipped requirement set; reuse a finished one unless ``force``."""
    with _locked(env):
        current = env.manifest()
        if current is not None and env.is_installed() and not force:
            return current
        _clear_leftovers(env)
        staging = Path(tempfile.mkdtemp(prefix=f".staging-{env.spec.env_name}-", dir=env.tools_dir))
        # mkdtemp makes it 0700; sandboxed jobs run as other uids and must read it.
        staging.chmod(0o755)
        try:
            _log.info("installing %s %s into %s", env.spec.tool, env.spec.version, env.path)
            manifest = _build(env, source or InstallSource(), staging)
            if env.path.exists():
                retired = env.tools_dir / f".retired-{env.spec.env_name}"
                shutil.rmtree(retired, ignore_errors=True)
                env.path.rename(retired)
                shutil.rmtree(retired, ignore_errors=True)
            staging.rename(env.path)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return manifest


def ensure_installed(env: ToolEnvironment, source: InstallSource | None = None) -> ToolEnvironment:
    """Create the environment on first use; reuse it afterwards.

    Raises :class:`ToolMissingError` naming the install command when it cannot be built.
    """
    if not env.is_installed():
        install(env, source)
    return env


def set_up(
    env: ToolEnvironment,
    source: InstallSource | None = None,
    *,
    force: bool = False,
    warm_up: WarmUp | None = None,
) -> ToolManifest:
    """Install ``env`` (see :func:`install`), then run its ``warm_up`` on the host.

    ``bastion tools install`` does this so that neither the install nor the warm-up falls
    on a first run; the warm-up runs even for an environment installed earlier (it is a
    no-op once done), and afresh with ``force``.
    """
    manifest = install(env, source, force=force)
    if warm_up is not None:
        warm_up(env, force)
    return manifest
