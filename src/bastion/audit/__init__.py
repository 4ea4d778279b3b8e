"""Bastion's tamper-evident audit log: an RFC 6962 Merkle log in the state database.

    >>> from bastion.store import open_database
    >>> from bastion.audit import AuditEvent, AuditLog, Ed25519NoteSigner
    >>> log = AuditLog(open_database("sqlite://"), Ed25519NoteSigner.generate("example.com/log"))
    >>> entry = log.append(AuditEvent(actor="alice", action="run.started", subject="run/1"))
    >>> checkpoint = log.checkpoint()          # the engine calls this after every run
    >>> log.prove(entry.seq).verify(log.verifiers)
    >>> log.verify().ok
    True

Every event is appended, never updated; signed checkpoints (C2SP signed notes) commit to
the tree; ``verify`` recomputes it all and names the first tampered event.

Security model. You can rely on: any change, deletion, reordering or insertion of an event
covered by a signed checkpoint is detected, and named by seq (or by the smallest range the
stored Merkle nodes or checkpoints allow); every checkpoint is also appended to a witness
file outside the database (``$BASTION_HOME/audit-witness``), so a writer of the database
who rewrites the derived hashes, deletes checkpoints or cuts off the tail is caught too; an
export is verifiable by anyone holding the public key (``bastion audit vkey``); the log
never signs a head inconsistent with one it (or its witness) signed before. You must not
assume: that events newer than the newest checkpoint and dated within the age limit
(:data:`~bastion.audit.freshness.DEFAULT_MAX_UNSEALED_AGE`) are protected; that a thief of
the signing key cannot forge history; or that someone who can write both the database and
the witness is caught: push the witness elsewhere (``bastion audit witness --push``).
"""

from bastion.audit.event import Action, AuditEntry, AuditEvent, Outcome, canonical_json
from bastion.audit.export import EXPORT_FORMAT, inspect_export, verify_export
from bastion.audit.freshness import DEFAULT_MAX_UNSEALED_AGE
from bastion.audit.interface import (
    AuditTamperError,
    NoteError,
    NoteSigner,
    NoteVerifier,
    TamperKind,
)
from bastion.audit.key_rotation import (
    RetiredAuditKey,
    audit_verifiers,
    retired_audit_keys,
    rotate_audit_key,
)
from bastion.audit.keys import (
    key_path,
    load_or_create_signer,
    load_signer,
    load_verifier,
    open_local_log,
)
from bastion.audit.log import DEFAULT_ORIGIN, HOME_WITNESS, AuditLog
from bastion.audit.note import Checkpoint, Ed25519NoteSigner, Ed25519NoteVerifier
from bastion.audit.proofs import ConsistencyProof, InclusionProof
from bastion.audit.report import AuditVerificationReport, Problem
from bastion.audit.witness import WitnessDirectory, WitnessFile, WitnessSource, encode_line

__all__ = [
    "DEFAULT_MAX_UNSEALED_AGE",
    "DEFAULT_ORIGIN",
    "EXPORT_FORMAT",
    "HOME_WITNESS",
    "Action",
    "AuditEntry",
    "AuditEvent",
    "AuditLog",
    "AuditTamperError",
    "AuditVerificationReport",
    "Checkpoint",
    "ConsistencyProof",
    "Ed25519NoteSigner",
    "Ed25519NoteVerifier",
    "InclusionProof",
    "NoteError",
    "NoteSigner",
    "NoteVerifier",
    "Outcome",
    "Problem",
    "RetiredAuditKey",
    "TamperKind",
    "WitnessDirectory",
    "WitnessFile",
    "WitnessSource",
    "audit_verifiers",
    "canonical_json",
    "encode_line",
    "inspect_export",
    "key_path",
    "load_or_create_signer",
    "load_signer",
    "load_verifier",
    "open_local_log",
    "retired_audit_keys",
    "rotate_audit_key",
    "verify_export",
]
