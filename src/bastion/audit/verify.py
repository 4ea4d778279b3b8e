"""Recompute an audit log from its event bodies and name every way it was tampered with.

One :class:`LogChecker` serves both the database (:func:`inspect_database`, which also
checks the stored columns, Merkle nodes and head) and an outsider's export. What it can tell:

- an event whose body no longer hashes to its stored leaf hash: *changed*, at that seq;
- a stored column (actor, action, ...) that disagrees with the hashed body: *changed*;
- a gap in sequence numbers or fewer events than a signed checkpoint covers: *deleted*;
- bodies whose own ``seq`` disagrees with their row: *inserted*, *deleted* (renumbered)
  or *reordered*, told apart by the pattern of the shift;
- a body rewritten together with its leaf hash: the interior nodes stored at append time
  pin it to the smallest range they cover; failing that, the signed checkpoints pin it to
  the range between the last checkpoint that still matches and the first that does not.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import String, func, select, type_coerce
from sqlalchemy.orm import Session

from bastion.audit.event import format_time
from bastion.audit.freshness import Freshness
from bastion.audit.interface import NoteError, NoteVerifier, TamperKind
from bastion.audit.merkle import PackedTree, ProofError, verify_consistency
from bastion.audit.models import (
    AuditCheckpointRecord,
    AuditEventRecord,
    AuditHeadRecord,
    AuditNodeRecord,
)
from bastion.audit.note import Checkpoint
from bastion.audit.report import AuditVerificationReport, Problem
from bastion.audit.witness import WitnessSource
from bastion.audit.witness_check import Witnessed, check_witnessed
from bastion.store import Database

__all__ = ["MAX_PROBLEMS", "LogChecker", "StoredCheckpoint", "inspect_database"]

MAX_PROBLEMS = 100
_COLUMNS = ("actor", "action", "subject", "outcome")
_EVENT_KINDS = frozenset(
    {TamperKind.CHANGED, TamperKind.DELETED, TamperKind.INSERTED, TamperKind.REORDERED}
)
_sha256 = hashlib.sha256


@dataclass(frozen=True)
class StoredCheckpoint:
    """A checkpoint as found: its label (row id or line), the note and any parsed columns."""

    label: str
    note: str
    size: int | None = None
    root: bytes | None = None


class LogChecker:
    """Feed events in order with :meth:`feed`, then call :meth:`finish`."""

    def __init__(self, verifiers: Sequence[NoteVerifier], origin: str) -> None:
        self.verifiers = verifiers
        self.origin = origin
        self.problems: list[Problem] = []
        self.more = 0
        self._packed = bytearray()
        self._next = 0
        self._shifts: list[tuple[int, int]] = []

    def problem(
        self, kind: TamperKind, message: str, seq: int | None, end: int | None = None
    ) -> None:
        """Record a problem (beyond MAX_PROBLEMS only count it)."""
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(kind, message, seq, end))
        else:
            self.more += 1

    def feed(
        self,
        seq: int,
        body: str,
        stored_leaf: bytes | None,
        columns: tuple[object, str, str, str, str] | None = None,
    ) -> None:
        """Check one event; ``columns`` are (time, actor, action, subject, outcome) if stored."""
        if seq != self._next:
            if seq > self._next:
                self.problem(
                    TamperKind.DELETED,
                    f"{_events(self._next, seq)} deleted (missing from the sequence)",
                    self._next,
                    seq,
                )
            else:
                self.problem(TamperKind.INSERTED, f"event {seq} appears twice (inserted)", seq)
        self._next = seq + 1
        data = body.encode()
        leaf = _sha256(b"\x00" + data).digest()
        self._packed += leaf
        if stored_leaf is not None and leaf != stored_leaf:
            self.problem(
                TamperKind.CHANGED,
                f"event {seq} was changed: its content no longer matches its leaf hash",
                seq,
            )
        try:
            fields = json.loads(body)
            claimed = fields["seq"]
        except (ValueError, TypeError, KeyError):
            self.problem(TamperKind.CHANGED, f"event {seq} was changed: it is not event JSON", seq)
            return
        if claimed != seq:
            self._shifts.append((seq, claimed if isinstance(claimed, int) else -1))
        if columns is not None:
            self._compare_columns(seq, fields, columns)

    def _compare_columns(
        self, seq: int, fields: dict[str, object], columns: tuple[object, str, str, str, str]
    ) -> None:
        if fields.get("time") != _time_text(columns[0]):
            self.problem(
                TamperKind.CHANGED, f"event {seq} was changed: its time column differs", seq
            )
        found = (
            fields.get("actor"),
            fields.get("action"),
            fields.get("subject"),
            fields.get("outcome"),
        )
        if found == columns[1:]:
            return
        for name, value, hashed in zip(_COLUMNS, columns[1:], found, strict=True):
            if hashed != value:
                self.problem(
                    TamperKind.CHANGED,
                    f"event {seq} was changed: its {name} column says {value!r} "
                    f"but the hashed event says {hashed!r}",
                    seq,
                )

    @property
    def size(self) -> int:
        """Events fed so far."""
        return len(self._packed) // 32

    def tree(self) -> PackedTree:
        """The tree recomputed from the bodies fed."""
        return PackedTree.from_packed(bytes(self._packed))

    def finish(
        self,
        tree: PackedTree,
        checkpoints: Sequence[StoredCheckpoint],
        held: Sequence[str] = (),
        witnessed: Witnessed | None = None,
    ) -> AuditVerificationReport:
        """Classify renumbering, check every checkpoint and build the report.

        ``held`` are checkpoint notes kept outside the database (an earlier export), and
        ``witnessed`` the log's witness file: the only defence against someone who
        truncates the log together with its newest stored checkpoints.
        """
        self._classify_shifts()
        checked, sealed = self._check_checkpoints(tree, checkpoints)
        covered = [
            self.check_held(tree, note, f"held checkpoint {number}")
            for number, note in enumerate(held, start=1)
        ]
        if witnessed is not None:
            covered += check_witnessed(self, tree, witnessed, sealed, len(checkpoints))
        # A valid checkpoint kept outside seals its events as well as a stored one does.
        sealed = max((s for s in (sealed, *covered) if s is not None), default=None)
        # Precise event-level findings first; derived-data and signature findings after.
        self.problems.sort(key=lambda p: p.kind not in _EVENT_KINDS)
        return AuditVerificationReport(
            size=tree.size,
            root=tree.root(),
            checkpoints=checked,
            checkpoint_size=sealed,
            unsealed=tree.size - (sealed or 0),
            problems=tuple(self.problems),
            more=self.more,
            witness=None if witnessed is None else witnessed.location,
            witnessed=0 if witnessed is None else len(witnessed.notes or ()),
        )

    def _classify_shifts(self) -> None:
        if not self._shifts:
            return
        first = self._shifts[0][0]
        offsets = {c - seq for seq, c in self._shifts}
        offset = next(iter(offsets))
        if sorted(c for _, c in self._shifts) == sorted(seq for seq, _ in self._shifts):
            kind, text = TamperKind.REORDERED, f"events were reordered from seq {first}"
        elif len(offsets) == 1 and offset < 0:
            kind, first = TamperKind.INSERTED, first + offset
            text = f"{-offset} event(s) were inserted at seq {first}; later events renumbered"
        elif len(offsets) == 1:
            kind = TamperKind.DELETED
            text = f"{_events(first, first + offset)} deleted; later events renumbered"
        else:
            kind, text = TamperKind.CHANGED, "an event holds the content of another"
        seq, holds = self._shifts[0]
        self.problems.insert(0, Problem(kind, f"{text} (seq {seq} holds event {holds})", first))

    def _check_checkpoints(
        self, tree: PackedTree, checkpoints: Sequence[StoredCheckpoint]
    ) -> tuple[int, int | None]:
        good, previous, sealed = 0, None, None
        for stored in checkpoints:
            try:
                cp = Checkpoint.open(stored.note, self.verifiers, origin=self.origin)
            except NoteError as exc:
                self.problem(TamperKind.CHECKPOINT, f"checkpoint {stored.label}: {exc}", None)
                continue
            if stored.size is not None and (stored.size, stored.root) != (cp.size, cp.root):
                self.problem(
                    TamperKind.INDEX,
                    f"checkpoint {stored.label}: size/root columns differ from its signed note",
                    None,
                )
            if previous is not None and cp.size < previous.size:
                self.problem(
                    TamperKind.CHECKPOINT,
                    f"checkpoint {stored.label} (size {cp.size}) is older than the one before it",
                    cp.size,
                )
            elif cp.size > tree.size:
                self.problem(
                    TamperKind.DELETED,
                    f"{_events(tree.size, cp.size)} deleted: checkpoint {stored.label} "
                    f"signed {cp.size} events, the log holds {tree.size}",
                    tree.size,
                    cp.size,
                )
            elif tree.root(cp.size) != cp.root:
                self.problem(
                    TamperKind.CHANGED,
                    f"events in {_span(good, cp.size)} were changed: they no longer hash to "
                    f"the root signed in checkpoint {stored.label} (size {cp.size})"
                    + (f", the checkpoint of size {good} still does" if good else ""),
                    good,
                    cp.size,
                )
            else:
                if previous is not None:
                    self._check_consistency(tree, previous, cp, stored.label)
                good = sealed = cp.size
            previous = cp
        return len(checkpoints), sealed

    def check_held(self, tree: PackedTree, note: str, label: str) -> int | None:
        """Check a checkpoint kept outside the database; its size if the log matches it."""
        try:
            cp = Checkpoint.open(note, self.verifiers, origin=self.origin)
        except NoteError as exc:
            self.problem(TamperKind.CHECKPOINT, f"{label}: {exc}", None)
            return None
        if cp.size > tree.size:
            self.problem(
                TamperKind.DELETED,
                f"{_events(tree.size, cp.size)} deleted: the {label} signed {cp.size} events, "
                f"the log holds {tree.size}",
                tree.size,
                cp.size,
            )
            return None
        if tree.root(cp.size) != cp.root:
            self.problem(
                TamperKind.CHANGED,
                f"events before {cp.size} were changed: they no longer hash to the {label}",
                0,
                cp.size,
            )
            return None
        return cp.size

    def _check_consistency(
        self, tree: PackedTree, old: Checkpoint, new: Checkpoint, label: str
    ) -> None:
        try:
            proof = tree.consistency_proof(old.size, new.size)
            verify_consistency(old.size, new.size, proof, old.root, new.root)
        except ProofError as exc:
            self.problem(
                TamperKind.INCONSISTENT,
                f"checkpoint {label} is not consistent with size {old.size}: {exc}",
                old.size,
                new.size,
            )


def _time_text(value: object) -> str | None:
    """The canonical text of a stored time: a datetime, or SQLite's raw UTC text (fast path)."""
    if isinstance(value, str) and len(value) == 26:
        return f"{value[:10]}T{value[11:]}Z"
    if isinstance(value, datetime):
        return format_time(value if value.tzinfo else value.replace(tzinfo=UTC))
    return None


def _span(start: int, end: int) -> str:
    return str(start) if end - start == 1 else f"{start}..{end - 1}"


def _events(start: int, end: int) -> str:
    return f"event {start} was" if end - start == 1 else f"events {start}..{end - 1} were"


def _check_head(checker: LogChecker, tree: PackedTree, size: int, edge: bytes) -> None:
    if size != tree.size:
        kind = TamperKind.DELETED if size > tree.size else TamperKind.INSERTED
        checker.problem(
            kind,
            f"the log head records {size} events but {tree.size} are stored",
            min(size, tree.size),
        )
    elif edge != tree.edge().to_bytes():
        checker.problem(TamperKind.INDEX, "the log head's right edge differs from the tree", None)


def _check_nodes(
    checker: LogChecker, tree: PackedTree, nodes: Iterable[tuple[int, int, bytes]]
) -> None:
    bad: list[tuple[int, int]] = []
    seen = 0
    for level, idx, value in nodes:
        if level < 1 or (idx + 1) << level > tree.size:
            checker.problem(
                TamperKind.INDEX, f"Merkle node ({level}, {idx}) lies outside the tree", None
            )
            continue
        seen += 1
        if tree.perfect(level, idx) != value:
            bad.append((level, idx))
    expected = tree.size - tree.size.bit_count()
    if seen != expected:
        checker.problem(TamperKind.INDEX, f"{expected - seen} Merkle node(s) are missing", None)
    kept: list[tuple[int, int]] = []
    for level, idx in sorted(bad):
        # Report only the smallest ranges: a changed leaf spoils every node above it.
        if not any(idx == k_idx >> (level - k_level) for k_level, k_idx in kept):
            kept.append((level, idx))
            start, end = idx << level, (idx + 1) << level
            checker.problem(
                TamperKind.CHANGED,
                f"events in {_span(start, end)} differ from when they were appended "
                f"(stored Merkle node ({level}, {idx}) no longer matches)",
                start,
                end,
            )


def inspect_database(
    db: Database,
    verifiers: Sequence[NoteVerifier],
    origin: str,
    held: Sequence[str] = (),
    *,
    witness: WitnessSource | None = None,
    freshness: Freshness | None = None,
) -> AuditVerificationReport:
    """Check every event, column, node, the head, every checkpoint in ``db`` and ``held``.

    ``witness``: where this log's witness file is (None: not checked); ``freshness``: the
    age rule for events no checkpoint covers (None: not applied).
    """
    checker = LogChecker(verifiers, origin)
    with db.session() as session:
        tree = _feed_events(checker, session)
        n = AuditNodeRecord
        node_rows = session.connection().execute(
            select(n.level, n.idx, n.hash).execution_options(yield_per=20000)
        )
        _check_nodes(checker, tree, ((lv, ix, h) for lv, ix, h in node_rows))
        head = session.execute(
            select(AuditHeadRecord.size, AuditHeadRecord.edge).where(AuditHeadRecord.id == 1)
        ).one_or_none()
        if head is None:
            checker.problem(TamperKind.INDEX, "the log head row is missing", None)
        else:
            _check_head(checker, tree, head.size, head.edge)
        c = AuditCheckpointRecord
        stored = [
            StoredCheckpoint(f"#{cid}", note, size, root)
            for cid, note, size, root in session.execute(
                select(c.id, c.note, c.size, c.root).order_by(c.id)
            )
        ]
    first = tree.perfect(0, 0) if tree.size else None
    located = None if witness is None else witness.locate(origin, first)
    witnessed = None
    if located is not None:
        notes = located.read()
        witnessed = Witnessed(str(located.path), None if notes is None else tuple(notes))
    report = checker.finish(tree, stored, held, witnessed)
    if freshness is not None and report.unsealed:
        report = _check_freshness(db, report, freshness)
    return report


def _feed_events(checker: LogChecker, session: Session) -> PackedTree:
    """Feed every stored event to ``checker``; the tree recomputed from their bodies."""
    e = AuditEventRecord
    # Raw time text where the driver gives it (SQLite): parsing a million datetimes is slow.
    stamp = type_coerce(e.time, String)
    query = select(e.seq, e.body, e.leaf_hash, stamp, e.actor, e.action, e.subject, e.outcome)
    # Core rows through the session's connection: no ORM bookkeeping per row.
    rows = session.connection().execute(query.order_by(e.seq).execution_options(yield_per=20000))
    for seq, body, leaf, time, actor, action, subject, outcome in rows:
        checker.feed(seq, body, leaf, (time, actor, action, subject, outcome))
    return checker.tree()


def _check_freshness(
    db: Database, report: AuditVerificationReport, freshness: Freshness
) -> AuditVerificationReport:
    """Add a problem when events no checkpoint covers are too old (or dated ahead)."""
    start = report.size - report.unsealed
    e = AuditEventRecord
    with db.session() as session:
        oldest, newest = session.execute(
            select(func.min(e.time), func.max(e.time)).where(e.seq >= start)
        ).one()
    problem = freshness.check(start, report.size, oldest, newest)
    if problem is None:
        return report
    return replace(report, problems=(*report.problems, problem))
