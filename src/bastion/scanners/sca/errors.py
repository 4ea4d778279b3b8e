"""Errors of the SCA gate; all derive from :class:`bastion.errors.GateError` (fail closed).

::

    GateError
    ├── ManifestError        a dependency file cannot be read (names file and line)
    ├── DatabaseError        the vulnerability database is missing, corrupt or unreachable
    │   └── ArchiveError     an OSV archive or record set is malformed or hostile
    └── InvalidVersionError  a version string does not follow its ecosystem's rules
"""

from __future__ import annotations

from bastion.errors import GateError

__all__ = ["ArchiveError", "DatabaseError", "InvalidVersionError", "ManifestError"]


class ManifestError(GateError):
    """A manifest or lock file is malformed; ``path`` and ``line`` locate the problem."""

    def __init__(
        self, message: str, *, path: str, line: int | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.path = path
        self.line = line

    def location(self) -> str:
        """``file:line`` (or just the file when the line is unknown)."""
        return f"{self.path}:{self.line}" if self.line is not None else self.path

    def diagnostics(self) -> str:
        text = f"{self.location()}: {self.message}"
        if self.hint:
            text += f"\n  fix: {self.hint}"
        return text


class DatabaseError(GateError):
    """The vulnerability database cannot be used, built or downloaded."""

    exit_code = 3


class ArchiveError(DatabaseError):
    """An OSV archive or record directory is malformed, too large or hostile."""


class InvalidVersionError(GateError, ValueError):
    """A version string is not valid in its ecosystem."""

    def __init__(self, ecosystem: str, version: str) -> None:
        super().__init__(f"{version!r} is not a valid {ecosystem} version")
        self.ecosystem = ecosystem
        self.version = version
