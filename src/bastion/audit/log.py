"""The append-only audit log kept in the state database.

    >>> from bastion.store import open_database
    >>> from bastion.audit import AuditEvent, AuditLog, Ed25519NoteSigner
    >>> log = AuditLog(open_database("sqlite://"), Ed25519NoteSigner.generate("example.com/log"))
    >>> log.append(AuditEvent(actor="alice", action="run.started", subject="run/1")).seq
    0
    >>> log.checkpoint().size
    1

Each append takes the head row's write lock (SQLite's database lock, PostgreSQL's row
lock), so concurrent writers get consecutive sequence numbers and one consistent tree.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import IO, cast

from sqlalchemy import Table, and_, bindparam, or_, select, update
from sqlalchemy.orm import Session

from bastion.audit.event import AuditEntry, AuditEvent, parse_body
from bastion.audit.freshness import DEFAULT_MAX_UNSEALED_AGE, Freshness
from bastion.audit.interface import (
    AuditTamperError,
    NoteError,
    NoteSigner,
    NoteVerifier,
    TamperKind,
)
from bastion.audit.merkle import (
    CompactRange,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    perfect_nodes_for_consistency,
    perfect_nodes_for_inclusion,
    verify_consistency,
)
from bastion.audit.models import (
    AUDIT_CHAIN,
    AuditCheckpointRecord,
    AuditEventRecord,
    AuditHeadRecord,
    AuditNodeRecord,
)
from bastion.audit.note import Checkpoint
from bastion.audit.proofs import ConsistencyProof, InclusionProof
from bastion.audit.report import AuditVerificationReport
from bastion.audit.witness import WitnessDirectory, WitnessFile, WitnessSource
from bastion.errors import AuditError, SigningError
from bastion.store import Database, utcnow

__all__ = ["DEFAULT_ORIGIN", "HOME_WITNESS", "AuditLog"]

DEFAULT_ORIGIN = "bastion.local/audit"
HOME_WITNESS = WitnessDirectory()
# Core inserts: the ORM's per-object bookkeeping would halve the append rate.
_HEAD = cast(Table, AuditHeadRecord.__table__)
# Built once: constructing statements costs more than running them for a single append.
_INSERT_EVENTS = cast(Table, AuditEventRecord.__table__).insert()
_INSERT_NODES = cast(Table, AuditNodeRecord.__table__).insert()
_LOCK_HEAD = update(_HEAD).where(_HEAD.c.id == 1).values(size=_HEAD.c.size)
_READ_HEAD = select(_HEAD.c.size, _HEAD.c.edge).where(_HEAD.c.id == 1)
_WRITE_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == 1)
    .values(size=bindparam("new_size"), edge=bindparam("new_edge"))
)


class _FetchedNodes:
    """Perfect nodes read from the database for one proof."""

    def __init__(self, session: Session, wanted: Sequence[tuple[int, int]]) -> None:
        self.nodes: dict[tuple[int, int], bytes] = {}
        leaves = [idx for level, idx in wanted if level == 0]
        inner = [(level, idx) for level, idx in wanted if level > 0]
        if leaves:
            rows = session.execute(
                select(AuditEventRecord.seq, AuditEventRecord.body).where(
                    AuditEventRecord.seq.in_(leaves)
                )
            )
            # Leaves are recomputed from the bodies: a proof never vouches for a stale hash.
            self.nodes.update({(0, seq): leaf_hash(body.encode()) for seq, body in rows})
        if inner:
            clause = or_(
                *(and_(AuditNodeRecord.level == lv, AuditNodeRecord.idx == ix) for lv, ix in inner)
            )
            rows2 = session.execute(
                select(AuditNodeRecord.level, AuditNodeRecord.idx, AuditNodeRecord.hash).where(
                    clause
                )
            )
            self.nodes.update({(lv, ix): h for lv, ix, h in rows2})

    def perfect(self, level: int, index: int) -> bytes:
        node = self.nodes.get((level, index))
        if node is None:
            raise AuditTamperError(
                f"Merkle node ({level}, {index}) is missing from the database",
                reason=TamperKind.DELETED if level == 0 else TamperKind.INDEX,
                seq=index << level,
                hint="run `bastion audit verify` to locate the damage",
            )
        return node


class AuditLog:
    """Append events, sign checkpoints, prove, verify and export one Merkle log.

    ``signer`` is needed only to write checkpoints; ``verifiers`` (default: the signer's)
    are the keys whose checkpoints are trusted; ``origin`` defaults to the signer's name.
    ``witness`` is where every signed checkpoint is also appended and verification reads
    them back (default: ``$BASTION_HOME/audit-witness``); None turns both off.

    Opening a log brings the audit tables of ``db`` to their newest schema (once per
    Database; StoreError if that fails), as ``open_database`` does for the store's.
    """

    def __init__(
        self,
        db: Database,
        signer: NoteSigner | None = None,
        *,
        verifiers: Sequence[NoteVerifier] = (),
        origin: str | None = None,
        witness: WitnessSource | None = HOME_WITNESS,
    ) -> None:
        db.ensure_schema(AUDIT_CHAIN)
        self.db = db
        self.witness = witness
        self.signer = signer
        self.verifiers = list(verifiers) or ([signer.verifier()] if signer else [])
        default = signer.name if signer else (self.verifiers[0].name if self.verifiers else None)
        self.origin = origin or default or DEFAULT_ORIGIN

    # -- writing -------------------------------------------------------------------------

    def append(self, event: AuditEvent) -> AuditEntry:
        """Record one event in its own transaction."""
        return self.append_many([event])[0]

    def append_many(self, events: Iterable[AuditEvent]) -> list[AuditEntry]:
        """Record events in one transaction (all or none), in order."""
        batch = list(events)
        if not batch:
            return []
        with self.db.session() as session:
            edge = self._lock_head(session)
            now = utcnow()
            rows: list[dict[str, object]] = []
            nodes: list[dict[str, object]] = []
            entries: list[AuditEntry] = []
            for event in batch:
                seq, moment = edge.size, event.time or now
                body = event.body(seq, moment)
                leaf = leaf_hash(body.encode())
                for level, idx, node in edge.append(leaf):
                    nodes.append({"level": level, "idx": idx, "hash": node})
                rows.append(_event_row(seq, moment, event, body, leaf))
                entries.append(AuditEntry(seq, moment, event, body, leaf))
            connection = session.connection()
            connection.execute(_INSERT_EVENTS, rows)
            if nodes:
                connection.execute(_INSERT_NODES, nodes)
            connection.execute(_WRITE_HEAD, {"new_size": edge.size, "new_edge": edge.to_bytes()})
        return entries

    def checkpoint(self) -> Checkpoint:
        """Sign the current tree head (once per size) after checking it extends the last one.

        The checkpoint is then appended to the witness, after the database commit: a crash
        in between leaves the witness one behind, and the next call catches it up.
        """
        signer = self.signer
        if signer is None:
            raise SigningError("the audit log has no signing key", hint="pass a NoteSigner")
        with self.db.session() as session:
            edge = self._lock_head(session)
            latest = self._latest(session)
            witness = self._witness_file(session)
            witnessed = self._newest_witnessed(witness)
            if latest is not None and latest.size == edge.size:
                checkpoint = latest
            else:
                checkpoint = Checkpoint.sign(self.origin, edge.size, edge.root(), signer)
            # A log must never sign (nor witness) a head inconsistent with one it signed
            # before, whether the database still holds that one or only the witness does.
            for previous in (latest, witnessed):
                if previous is not None and previous is not checkpoint:
                    self._extends(session, previous, checkpoint)
            if checkpoint is not latest:
                session.add(
                    AuditCheckpointRecord(
                        size=checkpoint.size,
                        root=checkpoint.root,
                        note=checkpoint.note,
                        created_at=utcnow(),
                    )
                )
        if witness is not None and witness.last() != checkpoint.note:
            witness.append(checkpoint.note)
        return checkpoint

    def _extends(self, session: Session, previous: Checkpoint, new: Checkpoint) -> None:
        if previous.size > new.size:
            raise AuditTamperError(
                f"refusing to sign: the log holds {new.size} events but a checkpoint of "
                f"{previous.size} was signed before (events were deleted)",
                reason=TamperKind.DELETED,
                seq=new.size,
                hint="run `bastion audit verify` to locate the damage",
            )
        self._consistency(session, previous, new).verify(self.verifiers)

    def witness_file(self) -> WitnessFile | None:
        """This log's witness file (None: no witness, or the log is empty)."""
        with self.db.session() as session:
            return self._witness_file(session)

    # -- reading and proving -------------------------------------------------------------

    def size(self) -> int:
        """Number of events appended."""
        with self.db.session() as session:
            return self._read_head(session).size

    def latest_checkpoint(self) -> Checkpoint | None:
        """The newest signed checkpoint, verified; None before the first one."""
        with self.db.session() as session:
            return self._latest(session)

    def entry(self, seq: int) -> AuditEntry:
        """The recorded event ``seq``."""
        with self.db.session() as session:
            row = session.get(AuditEventRecord, seq)
            if row is None:
                raise AuditError(f"no audit event {seq}", hint="sequence numbers start at 0")
            return _entry(row)

    def entries(self, start: int = 0, stop: int | None = None) -> Iterator[AuditEntry]:
        """Recorded events ``start <= seq < stop`` in order."""
        query = select(AuditEventRecord).where(AuditEventRecord.seq >= start)
        if stop is not None:
            query = query.where(AuditEventRecord.seq < stop)
        with self.db.session() as session:
            for row in session.scalars(query.order_by(AuditEventRecord.seq)).yield_per(1000):
                yield _entry(row)

    def prove(self, seq: int, checkpoint: Checkpoint | None = None) -> InclusionProof:
        """Inclusion proof of event ``seq`` in ``checkpoint`` (default: the newest)."""
        with self.db.session() as session:
            target = checkpoint or self._latest(session)
            if target is None:
                raise AuditError("the audit log has no checkpoint yet", hint="checkpoint it first")
            if not 0 <= seq < target.size:
                raise AuditError(
                    f"event {seq} is not covered by the checkpoint of size {target.size}",
                    hint="events are covered by the checkpoint written after their run",
                )
            nodes = _FetchedNodes(session, perfect_nodes_for_inclusion(seq, target.size))
            row = session.get(AuditEventRecord, seq)
            if row is None:
                raise AuditTamperError(
                    f"event {seq} is missing", reason=TamperKind.DELETED, seq=seq
                )
            proof = InclusionProof(
                seq, row.body, tuple(inclusion_proof(nodes, seq, target.size)), target
            )
        proof.verify(self.verifiers)
        return proof

    def prove_consistency(self, old: Checkpoint, new: Checkpoint | None = None) -> ConsistencyProof:
        """Proof that the tree signed in ``old`` is a prefix of ``new`` (default: the newest)."""
        with self.db.session() as session:
            target = new or self._latest(session)
            if target is None:
                raise AuditError("the audit log has no checkpoint yet")
            proof = self._consistency(session, old, target)
        proof.verify(self.verifiers)
        return proof

    # -- verification and export ---------------------------------------------------------

    def inspect(
        self,
        held: Sequence[str] = (),
        *,
        max_unsealed_age: timedelta | None = DEFAULT_MAX_UNSEALED_AGE,
        now: datetime | None = None,
    ) -> AuditVerificationReport:
        """Recompute everything and report every problem found (never raises for tamper).

        ``held``: signed checkpoint notes kept elsewhere, checked against the log too, as
        is the witness. Events no checkpoint covers fail when older than
        ``max_unsealed_age`` at ``now`` (default: the current time; None: no age rule).
        """
        from bastion.audit.verify import inspect_database

        freshness = None
        if max_unsealed_age is not None:
            freshness = Freshness(max_unsealed_age, now or utcnow())
        return inspect_database(
            self.db, self.verifiers, self.origin, held, witness=self.witness, freshness=freshness
        )

    def verify(
        self,
        held: Sequence[str] = (),
        *,
        max_unsealed_age: timedelta | None = DEFAULT_MAX_UNSEALED_AGE,
        now: datetime | None = None,
    ) -> AuditVerificationReport:
        """Like :meth:`inspect` but raise AuditTamperError naming the first problem."""
        report = self.inspect(held, max_unsealed_age=max_unsealed_age, now=now)
        report.raise_for_problems()
        return report

    def export(self, fp: IO[str]) -> int:
        """Write events and checkpoints as JSON lines; return the number of lines."""
        from bastion.audit.export import export_database

        return export_database(self.db, fp, self.origin)

    # -- internals -----------------------------------------------------------------------

    def _lock_head(self, session: Session) -> CompactRange:
        # Writing first takes the write lock before reading, so two appenders serialize.
        session.connection().execute(_LOCK_HEAD)
        return self._read_head(session)

    def _read_head(self, session: Session) -> CompactRange:
        row = session.connection().execute(_READ_HEAD).one_or_none()
        if row is None:
            raise AuditTamperError(
                "the audit head row is missing", reason=TamperKind.INDEX, seq=None
            )
        try:
            return CompactRange.from_bytes(row.size, row.edge)
        except ProofError as exc:
            raise AuditTamperError(
                f"the audit head is corrupt: {exc}", reason=TamperKind.INDEX, seq=None
            ) from exc

    def _latest(self, session: Session) -> Checkpoint | None:
        note = session.scalars(
            select(AuditCheckpointRecord.note).order_by(AuditCheckpointRecord.id.desc()).limit(1)
        ).first()
        return None if note is None else Checkpoint.open(note, self.verifiers, origin=self.origin)

    def _witness_file(self, session: Session) -> WitnessFile | None:
        if self.witness is None:
            return None
        body = session.scalars(
            select(AuditEventRecord.body).where(AuditEventRecord.seq == 0)
        ).first()
        first = None if body is None else leaf_hash(body.encode())
        return self.witness.locate(self.origin, first)

    def _newest_witnessed(self, witness: WitnessFile | None) -> Checkpoint | None:
        """The largest witnessed checkpoint that verifies (others: ``verify`` reports them)."""
        newest: Checkpoint | None = None
        for note in (witness.read() or []) if witness is not None else []:
            try:
                cp = Checkpoint.open(note, self.verifiers, origin=self.origin)
            except NoteError:
                continue
            if newest is None or cp.size > newest.size:
                newest = cp
        return newest

    def _consistency(self, session: Session, old: Checkpoint, new: Checkpoint) -> ConsistencyProof:
        if old.size > new.size:
            raise AuditError(f"checkpoint of size {old.size} is newer than size {new.size}")
        nodes = _FetchedNodes(session, perfect_nodes_for_consistency(old.size, new.size))
        path = consistency_proof(nodes, old.size, new.size)
        try:
            verify_consistency(old.size, new.size, path, old.root, new.root)
        except ProofError as exc:
            raise AuditTamperError(
                f"the log no longer extends its checkpoint of size {old.size}: {exc}",
                reason=TamperKind.INCONSISTENT,
                seq=old.size,
                hint="run `bastion audit verify` to locate the damage",
            ) from exc
        return ConsistencyProof(old, new, tuple(path))


def _event_row(
    seq: int, moment: object, event: AuditEvent, body: str, leaf: bytes
) -> dict[str, object]:
    return {
        "seq": seq,
        "time": moment,
        "actor": event.actor,
        "action": event.action,
        "subject": event.subject,
        "outcome": event.outcome.value,
        "body": body,
        "leaf_hash": leaf,
    }


def _entry(row: AuditEventRecord) -> AuditEntry:
    _, event = parse_body(row.body)
    return AuditEntry(row.seq, row.time, event, row.body, row.leaf_hash)
