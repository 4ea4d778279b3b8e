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
stored Merkle nodes or checkpoints allow); an export is verifiable by anyone holding the
public key (``bastion audit vkey``); the log never signs a head inconsistent with its last
one. You must not assume: that events newer than the newest checkpoint are protected from
someone who can write the database and also rewrites the derived hashes; that a thief of
the signing key cannot forge history; or that the database alone shows a truncated tail
whose checkpoints were deleted too. Keep
checkpoints or exports elsewhere and pass them as ``held`` (``--checkpoint``) to catch that.
"""

from bastion.audit.event import Action, AuditEntry, AuditEvent, Outcome, canonical_json
from bastion.audit.export import EXPORT_FORMAT, inspect_export, verify_export
from bastion.audit.interface import (
    AuditTamperError,
    NoteError,
    NoteSigner,
    NoteVerifier,
    TamperKind,
)
from bastion.audit.keys import (
    key_path,
    load_or_create_signer,
    load_signer,
    load_verifier,
    open_local_log,
)
from bastion.audit.log import DEFAULT_ORIGIN, AuditLog
from bastion.audit.note import Checkpoint, Ed25519NoteSigner, Ed25519NoteVerifier
from bastion.audit.proofs import ConsistencyProof, InclusionProof
from bastion.audit.report import Problem, VerificationReport

__all__ = [
    "DEFAULT_ORIGIN",
    "EXPORT_FORMAT",
    "Action",
    "AuditEntry",
    "AuditEvent",
    "AuditLog",
    "AuditTamperError",
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
    "TamperKind",
    "VerificationReport",
    "canonical_json",
    "inspect_export",
    "key_path",
    "load_or_create_signer",
    "load_signer",
    "load_verifier",
    "open_local_log",
    "verify_export",
]
