"""Files a web root must never serve: ``.git/``, ``.env``, backups and dumps.

A service that answers 200 to every path (a single-page app) would look like it serves
them all, so each candidate is compared with the answer to a path that cannot exist, and
a candidate must also look like what it claims to be (a git ref, ``NAME=value`` lines, an
archive's magic bytes or SQL).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator

from bastion.scanners.dast.client import Exchange, HttpClient
from bastion.scanners.dast.crawl import Site
from bastion.scanners.dast.evidence import finding
from bastion.scanners.finding import Finding

__all__ = ["exposed_files"]

_KIND = "passive"
_GIT = re.compile(rb"\Aref: refs/|\A[0-9a-f]{40}\s*\Z|\[core\]")
_ENV = re.compile(rb"^\s*(?:export\s+)?[A-Z][A-Z0-9_]*=", re.MULTILINE)
_DUMP = re.compile(rb"\A(?:PK\x03\x04|\x1f\x8b|SQLite format 3)|CREATE TABLE|INSERT INTO")
_BACKUPS = ("/backup.zip", "/backup.tar.gz", "/backup.sql", "/dump.sql", "/db.sql", "/site.zip")
_SUFFIXES = (".bak", "~", ".old")


def _looks(pattern: re.Pattern[bytes]) -> Callable[[Exchange], bool]:
    return lambda answer: not answer.is_html and bool(pattern.search(answer.body))


_CANDIDATES: tuple[tuple[str, tuple[str, ...], Callable[[Exchange], bool]], ...] = (
    ("exposed-git", ("/.git/HEAD", "/.git/config"), _looks(_GIT)),
    ("exposed-env", ("/.env", "/.env.local", "/.env.production"), _looks(_ENV)),
    ("exposed-backup", _BACKUPS, _looks(_DUMP)),
)


def exposed_files(client: HttpClient, site: Site) -> Iterator[Finding]:
    """One finding per kind of exposed file (the first path that shows it)."""
    decoy = client.get(f"/bastion-dast-{secrets.token_hex(4)}.bak", kind=_KIND)
    pages = sorted({p.target.partition("?")[0] for p in site.pages} - {"/"})
    copies = tuple(f"{page}{suffix}" for page in pages for suffix in _SUFFIXES)
    for rule, paths, looks in (*_CANDIDATES, ("exposed-backup", copies, _copy_of(site))):
        for path in paths:
            answer = client.get(path, kind=_KIND)
            if answer.status == 200 and answer.body != decoy.body and looks(answer):
                yield finding(rule, answer, f"{path} is served ({len(answer.body)} bytes)", rule)
                break


def _copy_of(site: Site) -> Callable[[Exchange], bool]:
    """A ``page.bak`` is a leak when it is not the page itself (its source, an old copy)."""
    bodies = {page.body for page in site.pages}
    return lambda answer: bool(answer.body) and answer.body not in bodies
