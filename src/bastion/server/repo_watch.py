"""New commits of registered repositories start runs: a post-receive hook, and polling.

The hook Bastion installs in a registered repository does one thing: it touches
``bastion-push`` in the git directory. It carries no token and sends nothing: the server
reads the branch heads itself (:meth:`Repositories.advance`) when it sees the file, and
every repository's ``poll_seconds`` anyway. Why a trigger file rather than a POST to a local
endpoint with a per-repository token:

- the hook is a file in the repository, readable by everyone who may push; a token there
  would let any of them start runs through the API, and rotating it would mean rewriting
  hooks. A touched file grants nothing: the server trusts only the refs it reads.
- a push while the server is down is not lost: the file waits for the next start.
- the server needs no listener for it, and the hook no HTTP client, URL or TLS settings.

A hook already there that Bastion did not write is left alone (polling still finds pushes).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bastion.errors import BastionError
from bastion.server.launcher import Launcher, RunRequest
from bastion.server.repositories import Repositories, Repository

__all__ = [
    "HOOK_MARK",
    "TRIGGER_FILE",
    "RepoWatcher",
    "git_dir",
    "install_hook",
    "reinstall_hooks",
]

logger = logging.getLogger("bastion.server")
HOOK_MARK = "# bastion: post-receive trigger"
TRIGGER_FILE = "bastion-push"
_HOOK = f"""#!/bin/sh
{HOOK_MARK}
# Tells the Bastion server that refs changed; the server reads them itself.
: > "$(git rev-parse --absolute-git-dir)/{TRIGGER_FILE}" 2>/dev/null || true
"""


def git_dir(repository: Repository) -> Path:
    """The repository's git directory (the path itself when bare)."""
    dot_git = repository.path / ".git"
    return dot_git if dot_git.is_dir() else repository.path


def install_hook(repository: Repository) -> bool:
    """Write the post-receive hook; False when a hook Bastion did not write is there."""
    hooks = git_dir(repository) / "hooks"
    hook = hooks / "post-receive"
    if hook.is_symlink():
        return False
    if hook.exists() and HOOK_MARK not in hook.read_text("utf-8", errors="replace"):
        return False
    hooks.mkdir(exist_ok=True)
    temporary = hooks / ".post-receive.bastion"
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o755)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(_HOOK)
    os.replace(temporary, hook)
    return True


def reinstall_hooks(repositories: Repositories) -> list[str]:
    """Write the hook again in every registered repository (at start-up: a hook deleted or
    a repository restored from a backup starts runs again); the names it could not write
    in, each with the reason (polling still finds their pushes)."""
    refused = []
    for repository in repositories.all():
        try:
            if not install_hook(repository):
                refused.append(f"{repository.name}: a post-receive hook of its own is there")
        except OSError as exc:
            refused.append(f"{repository.name}: {exc.strerror or exc}")
    return refused


class RepoWatcher:
    """Checks trigger files every ``tick`` seconds, and each repository's heads every
    ``poll_seconds``; moved branches start runs (event ``push``)."""

    def __init__(
        self,
        repositories: Repositories,
        launcher: Launcher,
        *,
        tick: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._repositories, self._launcher = repositories, launcher
        self._tick, self._clock = tick, clock
        self._polled: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check_once(self) -> list[int]:
        """One pass over every repository; the runs it started."""
        started: list[int] = []
        for repository in self._repositories.all():
            if self._due(repository):
                started += self._start_moved(repository)
        return started

    def _due(self, repository: Repository) -> bool:
        trigger = git_dir(repository) / TRIGGER_FILE
        touched = trigger.exists() or trigger.is_symlink()
        if touched:
            with contextlib.suppress(OSError):
                trigger.unlink()
        now = self._clock()
        last = self._polled.get(repository.name)
        if touched or last is None or now - last >= repository.poll_seconds:
            self._polled[repository.name] = now
            return True
        return False

    def _start_moved(self, repository: Repository) -> list[int]:
        started = []
        for branch, commit in self._repositories.advance(repository.name):
            request = RunRequest(repository, branch=branch, commit=commit, event="push")
            try:
                started.append(int(self._launcher.submit(request)))
            except BastionError as exc:
                logger.warning("%s %s: no run started: %s", repository.name, branch, exc.message)
        return started

    def start(self) -> None:
        """Watch in a background thread until :meth:`stop`."""
        self._thread = threading.Thread(target=self._loop, daemon=True, name="bastion-watch")
        self._thread.start()

    def stop(self) -> None:
        """Stop watching (and wait for the thread)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self._tick):
            try:
                self.check_once()
            except BastionError as exc:
                logger.warning("watching repositories: %s", exc.message)
