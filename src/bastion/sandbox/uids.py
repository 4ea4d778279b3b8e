"""A host uid of its own for each job when Bastion runs as root.

Why a uid per job and not one shared ``nobody``: ``RLIMIT_NPROC`` counts every process of a
real uid on the host, so two jobs sharing a uid would share one process budget (a fork loop in
one would starve the other), and a shared uid would let one job signal or ptrace another's
processes. Each running job holds an exclusive ``flock`` on ``<lock_dir>/<uid>.lock``; the
kernel drops the lock when the holder exits, so a crashed Bastion never leaks a uid.

The default range starts at 2,000,000,000: above the ranges ``/etc/subuid`` and
systemd-nspawn hand out, below 2**31 so no tool sees a negative uid.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bastion.errors import SandboxError

__all__ = ["DEFAULT_UID_BASE", "DEFAULT_UID_COUNT", "JobUidPool", "default_lock_dir"]

DEFAULT_UID_BASE = 2_000_000_000
DEFAULT_UID_COUNT = 4096


def default_lock_dir() -> Path:
    """Where uid locks live unless the engine names a directory.

    A fixed machine-wide path, never ``$TMPDIR``: two Bastion processes with different
    temporary directories must still see each other's locks, or they would hand the same
    job uid (and so the same process limit and file ownership) to two jobs at once.
    """
    return Path("/tmp/bastion-sandbox-uids")  # noqa: S108 - shared on purpose, see above


def _prepare_lock_dir(lock_dir: Path) -> None:
    """Create ``lock_dir`` 0700, or refuse one another user could tamper with."""
    with contextlib.suppress(FileExistsError):
        lock_dir.mkdir(mode=0o700, parents=True)
    info = lock_dir.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise SandboxError(
            f"uid lock directory {lock_dir} is not a directory owned by this user "
            "and closed to others",
            hint=f"remove {lock_dir} (someone else may have created it) and run again",
        )


@dataclass(frozen=True, slots=True)
class JobUidPool:
    """Hands out uids from ``[base, base + count)``, one running job per uid."""

    base: int = DEFAULT_UID_BASE
    count: int = DEFAULT_UID_COUNT
    lock_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.base < 1000 or self.count < 1 or self.base + self.count > 2**31 - 1:
            raise SandboxError(f"job uid range {self.base}+{self.count} is not usable")

    @contextlib.contextmanager
    def acquire(self) -> Iterator[int]:
        """Yield a uid no other job holds; it is released when the block ends."""
        lock_dir = self.lock_dir or default_lock_dir()
        _prepare_lock_dir(lock_dir)
        start = random.randrange(self.count)  # noqa: S311 - spreads contention, not security
        for offset in range(self.count):
            uid = self.base + (start + offset) % self.count
            fd = os.open(lock_dir / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            try:
                yield uid
            finally:
                os.close(fd)
            return
        raise SandboxError(
            f"all {self.count} job uids from {self.base} are in use",
            hint="run fewer jobs at once or widen the uid range",
        )
