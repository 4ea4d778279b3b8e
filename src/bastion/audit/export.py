"""Export the log as JSON lines and verify such an export with nothing but a public key.

Format ``bastion-audit/v1``, one JSON object per line::

    {"type":"header","format":"bastion-audit/v1","origin":"<log origin>","leaf":"..."}
    {"type":"event","seq":0,"body":"<canonical event JSON>","leaf_hash":"<hex>"}
    ...
    {"type":"checkpoint","id":1,"note":"<C2SP signed note>"}

To check it by hand: each leaf is ``SHA-256(0x00 || UTF-8 body)``, the tree is RFC 6962's,
and each checkpoint note is an Ed25519 C2SP signed note whose body is the origin, the tree
size and the base64 root hash. :func:`verify_export` does exactly that.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import IO, Any

from sqlalchemy import select

from bastion.audit.interface import NoteVerifier
from bastion.audit.models import AuditCheckpointRecord, AuditEventRecord
from bastion.audit.report import AuditVerificationReport
from bastion.audit.verify import LogChecker, StoredCheckpoint
from bastion.errors import AuditError
from bastion.store import Database

__all__ = ["EXPORT_FORMAT", "export_database", "inspect_export", "verify_export"]

EXPORT_FORMAT = "bastion-audit/v1"
_LEAF_RULE = "SHA-256(0x00 || UTF-8 body); RFC 6962 tree; C2SP signed-note checkpoints"


def _line(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"


def export_database(db: Database, fp: IO[str], origin: str) -> int:
    """Write header, every event and every checkpoint of ``db`` to ``fp``; return lines."""
    fp.write(
        _line({"type": "header", "format": EXPORT_FORMAT, "origin": origin, "leaf": _LEAF_RULE})
    )
    count = 1
    e, c = AuditEventRecord, AuditCheckpointRecord
    with db.session() as session:
        rows = session.execute(
            select(e.seq, e.body, e.leaf_hash).order_by(e.seq).execution_options(yield_per=20000)
        )
        for seq, body, leaf in rows:
            fp.write(_line({"type": "event", "seq": seq, "body": body, "leaf_hash": leaf.hex()}))
            count += 1
        for cid, note in session.execute(select(c.id, c.note).order_by(c.id)):
            fp.write(_line({"type": "checkpoint", "id": cid, "note": note}))
            count += 1
    return count


def _field(obj: dict[str, Any], key: str, kind: type, number: int) -> Any:
    value = obj.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise AuditError(f"export line {number}: {key!r} is missing or not a {kind.__name__}")
    return value


def _leaf(obj: dict[str, Any], number: int) -> bytes:
    try:
        leaf = bytes.fromhex(_field(obj, "leaf_hash", str, number))
    except ValueError as exc:
        raise AuditError(f"export line {number}: leaf_hash is not hex") from exc
    return leaf


def inspect_export(
    lines: Iterable[str], verifiers: Sequence[NoteVerifier], held: Sequence[str] = ()
) -> AuditVerificationReport:
    """Verify an export using only its lines and the trusted keys; report every problem.

    ``held`` are checkpoint notes the verifier kept from earlier (they catch a truncated
    export). Malformed input raises AuditError naming the line.
    """
    checker: LogChecker | None = None
    checkpoints: list[StoredCheckpoint] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise AuditError(f"export line {number}: not JSON ({exc.args[0]})") from exc
        kind = obj.get("type") if isinstance(obj, dict) else None
        if checker is None:
            if kind != "header" or obj.get("format") != EXPORT_FORMAT:
                raise AuditError(
                    f"export line {number}: expected a {EXPORT_FORMAT} header",
                    hint="pass a file written by `bastion audit export`",
                )
            checker = LogChecker(verifiers, _field(obj, "origin", str, number))
        elif kind == "event":
            seq = _field(obj, "seq", int, number)
            checker.feed(seq, _field(obj, "body", str, number), _leaf(obj, number))
        elif kind == "checkpoint":
            note = _field(obj, "note", str, number)
            checkpoints.append(StoredCheckpoint(f"at line {number}", note))
        else:
            raise AuditError(f"export line {number}: unknown record type {kind!r}")
    if checker is None:
        raise AuditError(
            "the export is empty", hint="pass a file written by `bastion audit export`"
        )
    return checker.finish(checker.tree(), checkpoints, held)


def verify_export(
    lines: Iterable[str], verifiers: Sequence[NoteVerifier], held: Sequence[str] = ()
) -> AuditVerificationReport:
    """Like :func:`inspect_export` but raise AuditTamperError naming the first problem."""
    report = inspect_export(lines, verifiers, held)
    report.raise_for_problems()
    return report
