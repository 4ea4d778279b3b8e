"""Checking a log against its witness: the checkpoints a database writer cannot reach.

Every witnessed checkpoint must verify and match the recomputed tree (a rewritten event
changes the root it signed; a truncated tail leaves it signing more events than remain),
and the database must still hold a checkpoint at least as new as the newest witnessed one
(deleting checkpoints cannot hide what came after them). The database may be ahead of
the witness: a crash between storing a checkpoint and witnessing it leaves it so, and the
next checkpoint catches the witness up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bastion.audit.interface import TamperKind

if TYPE_CHECKING:
    from bastion.audit.merkle import PackedTree
    from bastion.audit.verify import LogChecker

__all__ = ["NO_WITNESS_HINT", "Witnessed", "check_witnessed"]

NO_WITNESS_HINT = (
    "keep the witness file, point at a copy with --witness FILE, or pass --no-witness to "
    "accept knowingly that deleted checkpoints and a cut-off tail would go unnoticed"
)


@dataclass(frozen=True)
class Witnessed:
    """The witness as read: where (``location``) and its notes; None when it does not exist."""

    location: str
    notes: tuple[str, ...] | None


def check_witnessed(
    checker: LogChecker,
    tree: PackedTree,
    witnessed: Witnessed,
    db_sealed: int | None,
    db_checkpoints: int,
) -> list[int | None]:
    """Record every problem; return the size each witnessed checkpoint covers (None: bad)."""
    if witnessed.notes is None:
        if db_checkpoints:
            checker.problem(
                TamperKind.WITNESS,
                f"no witness of this log at {witnessed.location}, though the database holds "
                f"{db_checkpoints} checkpoint(s): {NO_WITNESS_HINT}",
                None,
            )
        return []
    covered = [
        checker.check_held(tree, note, f"witnessed checkpoint {number}")
        for number, note in enumerate(witnessed.notes, start=1)
    ]
    newest = max((size for size in covered if size is not None), default=None)
    if newest is not None and (db_sealed is None or db_sealed < newest):
        stored = "none" if db_sealed is None else f"size {db_sealed}"
        checker.problem(
            TamperKind.CHECKPOINT,
            f"checkpoints were deleted from the database: the witness holds one of size "
            f"{newest}, the newest valid one stored is {stored}",
            db_sealed or 0,
            newest,
        )
    return covered
