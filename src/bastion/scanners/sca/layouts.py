"""Where the records sit in the trees users have: the advisory repositories they clone.

    >>> layout, prefix = detect(["README.md", "triage/false_positives.yaml",
    ...                          "vulns/requests/PYSEC-2014-13.yaml"])
    >>> layout.name, prefix, layout.holds_record("vulns/requests/PYSEC-2014-13.yaml")
    ('pypa/advisory-database', '', True)
    >>> layout.holds_record("triage/false_positives.yaml")
    False

A clone holds more than records (README, triage notes, CODEOWNERS, CI workflows, tooling and
its test data), so each known repository names its *record location*: a file there must be
an OSV record (a broken one fails the import), a file anywhere else is skipped and counted.
A tree that is none of the known repositories is read as a plain folder of OSV records (an
unpacked ``all.zip``, the ``vulns/`` folder): there every JSON/YAML file is a record.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

__all__ = ["LAYOUTS", "OSV_RECORDS", "Layout", "detect"]


@dataclass(frozen=True, slots=True)
class Layout:
    """A known tree: how to recognise it and which relative paths hold records."""

    name: str
    records: re.Pattern[str]
    # The only top-level folders the repository has (besides dot-folders); None: any.
    only_dirs: frozenset[str] | None = None

    def holds_record(self, relative: str) -> bool:
        """Whether ``relative`` (POSIX, from the tree's root) is a record location."""
        return self.records.fullmatch(relative) is not None

    def fits(self, relatives: Collection[str]) -> bool:
        """The tree has records where this layout keeps them (and no foreign folders)."""
        if self.only_dirs is not None:
            tops = {r.split("/", 1)[0] for r in relatives if "/" in r}
            if {t for t in tops if not t.startswith(".")} != self.only_dirs:
                return False
        return any(self.holds_record(r) for r in relatives)


LAYOUTS: tuple[Layout, ...] = (
    Layout("pypa/advisory-database", re.compile(r"vulns/[^/]+/[^/]+\.ya?ml")),
    # data/reports/*.yaml are Go's own report format, not OSV: only data/osv holds records.
    Layout("golang/vulndb", re.compile(r"data/osv/[^/]+\.json")),
    Layout(
        "github/advisory-database",
        # Unreviewed advisories mostly name no package, so nothing could match them.
        re.compile(r"advisories/github-reviewed/\d{4}/\d{2}/[^/]+/[^/]+\.json"),
    ),
    # The `osv` branch of rustsec/advisory-db; `crates/` alone, so that a mixed folder of
    # records that merely has a `crates` subfolder stays a plain folder of records.
    Layout(
        "rustsec/advisory-db (osv branch)",
        re.compile(r"crates/[^/]+\.json"),
        only_dirs=frozenset({"crates"}),
    ),
)

OSV_RECORDS = Layout(
    "folder of OSV records", re.compile(r"(?:[^./][^/]*/)*[^./][^/]*\.(?:json|ya?ml)")
)


def _single_root(relatives: Collection[str]) -> str | None:
    """The one folder everything sits in (a GitHub "Download ZIP" adds `<repo>-main/`)."""
    tops = {r.split("/", 1)[0] if "/" in r else "" for r in relatives}
    if len(tops) == 1 and "" not in tops:
        return next(iter(tops)) + "/"
    return None


def detect(relatives: Collection[str]) -> tuple[Layout, str]:
    """The layout of a tree given its files' relative paths, and the prefix it sits under."""
    for layout in LAYOUTS:
        if layout.fits(relatives):
            return layout, ""
    root = _single_root(relatives)
    if root is not None:
        inner = [r.removeprefix(root) for r in relatives]
        for layout in LAYOUTS:
            if layout.fits(inner):
                return layout, root
    return OSV_RECORDS, ""
