"""What manifest parsers produce: one :class:`Dependency` per package occurrence."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Dependency", "Relation"]


class Relation(enum.StrEnum):
    """How a dependency reaches the project."""

    DIRECT = "direct"
    TRANSITIVE = "transitive"
    # A lock file alone does not always say (poetry.lock, pdm.lock without their manifest).
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Dependency:
    """A package a manifest names: pinned (``version``) or constrained (``specifier``).

    ``path`` is repository-relative POSIX, ``line`` 1-based where the file has lines that say.
    """

    ecosystem: str
    name: str
    path: str
    line: int | None
    relation: Relation
    version: str | None = None
    specifier: str | None = None

    def __post_init__(self) -> None:
        if (self.version is None) == (self.specifier is None):
            raise ValueError("a dependency has exactly one of version and specifier")

    @property
    def pinned(self) -> bool:
        """True when one exact version is named."""
        return self.version is not None
