"""A PostgreSQL cluster of the test's own, which the test may stop and start again.

The machine's server is shared with the rest of the suite and is never stopped; this one is
made with ``initdb`` in a directory of its own under /tmp (pytest's directories are closed to
other users), run as the ``postgres`` user (initdb refuses root) through ``runuser``, and
listens only on a Unix socket in that directory (no TCP port at all).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["PrivatePostgres", "private_postgres"]

_BINARIES = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
_USER = "postgres"
_PORT = 5433  # only names the socket file; nothing listens on TCP


def _as_postgres(*argv: str, check: bool = True) -> None:
    command = ["runuser", "-u", _USER, "--", *argv] if os.geteuid() == 0 else list(argv)
    subprocess.run(command, check=check, capture_output=True, timeout=60)


@dataclass
class PrivatePostgres:
    """A stopped or running cluster in ``directory``; ``url`` reaches it over its socket."""

    directory: Path
    bin: Path

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{_USER}@/bastion?host={self.directory}&port={_PORT}"

    def start(self) -> None:
        options = f"-k {self.directory} -p {_PORT} -c listen_addresses=''"
        _as_postgres(
            str(self.bin / "pg_ctl"), "start", "-w", "-s",
            "-D", str(self.directory / "data"), "-l", str(self.directory / "log"),
            "-o", options,
        )  # fmt: skip

    def stop(self) -> None:
        """As if the machine lost power: no clean shutdown, open connections cut."""
        _as_postgres(
            str(self.bin / "pg_ctl"), "stop", "-w", "-s", "-m", "immediate",
            "-D", str(self.directory / "data"),
        )  # fmt: skip


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A new cluster with a ``bastion`` database, running; stopped and removed after."""
    if not _BINARIES:
        pytest.fail("no PostgreSQL binaries under /usr/lib/postgresql: apt-get install postgresql")
    directory = Path(tempfile.mkdtemp(prefix="bastion-postgres-"))
    shutil.chown(directory, _USER, _USER)
    cluster = PrivatePostgres(directory, _BINARIES[-1])
    try:
        _as_postgres(
            str(cluster.bin / "initdb"), "-D", str(directory / "data"),
            "-U", _USER, "--auth=trust", "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        cluster.start()
        _as_postgres(
            str(cluster.bin / "createdb"), "-h", str(directory), "-p", str(_PORT), "bastion"
        )
        yield cluster
    finally:
        _as_postgres(
            str(cluster.bin / "pg_ctl"), "stop", "-s", "-m", "immediate",
            "-D", str(directory / "data"), check=False,
        )  # fmt: skip
        shutil.rmtree(directory, ignore_errors=True)
