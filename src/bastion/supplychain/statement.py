"""in-toto Statement v1 documents: build them as exact bytes, and parse them back.

The payload is serialised once (sorted keys, compact) and those bytes are what gets
signed and stored; verification parses the signed bytes and never re-serialises.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bastion.errors import VerificationError
from bastion.supplychain.interface import ArtifactStoreError, Digest, parse_digest

__all__ = [
    "CYCLONEDX_PREDICATE",
    "SLSA_PROVENANCE_V1",
    "SPDX_PREDICATE",
    "STATEMENT_V1",
    "Statement",
    "Subject",
    "encode_statement",
]

STATEMENT_V1 = "https://in-toto.io/Statement/v1"
SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"
CYCLONEDX_PREDICATE = "https://cyclonedx.org/bom"
SPDX_PREDICATE = "https://spdx.dev/Document"


@dataclass(frozen=True)
class Subject:
    """A statement subject: a name and its sha256 digest."""

    name: str
    digest: Digest


def encode_statement(subjects: list[Subject], predicate_type: str, predicate: Any) -> bytes:
    """The statement as UTF-8 JSON bytes, ready to sign."""
    doc = {
        "_type": STATEMENT_V1,
        "subject": [
            {"name": s.name, "digest": {"sha256": s.digest.removeprefix("sha256:")}}
            for s in subjects
        ],
        "predicateType": predicate_type,
        "predicate": predicate,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Statement:
    """A parsed statement: its subjects, predicate type and predicate."""

    subjects: tuple[Subject, ...]
    predicate_type: str
    predicate: dict[str, Any]

    @classmethod
    def from_payload(cls, payload: bytes) -> Statement:
        """Parse signed payload bytes; raise VerificationError(``statement-malformed``)."""
        try:
            doc = json.loads(payload)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise VerificationError(
                f"statement is not JSON: {exc}", reason="statement-malformed"
            ) from exc
        if not isinstance(doc, dict) or doc.get("_type") != STATEMENT_V1:
            raise VerificationError(
                "payload is not an in-toto Statement v1", reason="statement-malformed"
            )
        predicate = doc.get("predicate")
        predicate_type = doc.get("predicateType")
        raw_subjects = doc.get("subject")
        if not isinstance(predicate, dict) or not isinstance(predicate_type, str):
            raise VerificationError("statement has no predicate", reason="statement-malformed")
        if not isinstance(raw_subjects, list) or not raw_subjects:
            raise VerificationError("statement has no subject", reason="statement-malformed")
        subjects = []
        for raw in raw_subjects:
            digest = raw.get("digest", {}) if isinstance(raw, dict) else {}
            hex_value = digest.get("sha256") if isinstance(digest, dict) else None
            if not isinstance(hex_value, str):
                continue  # a subject without sha256 cannot match our artifacts
            try:
                subjects.append(Subject(str(raw.get("name", "")), parse_digest(hex_value)))
            except ArtifactStoreError as exc:
                raise VerificationError(
                    f"statement subject digest {hex_value!r} is malformed",
                    reason="statement-malformed",
                ) from exc
        return cls(tuple(subjects), predicate_type, predicate)
