"""An outsider verifies an export with nothing but the public key."""

from __future__ import annotations

import io
import json

import pytest

from bastion.audit import (
    EXPORT_FORMAT,
    AuditLog,
    AuditTamperError,
    Ed25519NoteVerifier,
    TamperKind,
    inspect_export,
    verify_export,
)
from bastion.errors import AuditError

from .conftest import make_events


def exported(log: AuditLog) -> list[str]:
    log.append_many(make_events(5))
    log.checkpoint()
    log.append_many(make_events(4, start=5))
    log.checkpoint()
    log.append_many(make_events(2, start=9))  # not yet sealed by a checkpoint
    buffer = io.StringIO()
    log.export(buffer)
    return buffer.getvalue().splitlines()


def test_export_verifies_with_only_the_vkey(log: AuditLog) -> None:
    lines = exported(log)
    header = json.loads(lines[0])
    assert header["format"] == EXPORT_FORMAT
    assert header["origin"] == "test.local/audit"
    vkey = log.verifiers[0]
    assert isinstance(vkey, Ed25519NoteVerifier)
    report = verify_export(lines, [Ed25519NoteVerifier.from_vkey(vkey.vkey)])
    assert (report.size, report.checkpoints, report.checkpoint_size, report.unsealed) == (
        11,
        2,
        9,
        2,
    )
    assert report.to_json()["ok"] is True


def _tampered(lines: list[str], index: int, **changes: object) -> list[str]:
    record = json.loads(lines[index])
    record.update(changes)
    return [*lines[:index], json.dumps(record), *lines[index + 1 :]]


def test_changed_event_in_export_is_named(log: AuditLog) -> None:
    lines = exported(log)
    body = json.loads(lines[4])["body"].replace("user", "USER")
    with pytest.raises(AuditTamperError) as info:
        verify_export(_tampered(lines, 4, body=body), log.verifiers)
    assert (info.value.reason, info.value.seq) == (TamperKind.CHANGED, 3)


def test_deleted_and_duplicated_events_in_export_are_named(log: AuditLog) -> None:
    lines = exported(log)
    report = inspect_export([*lines[:3], *lines[4:]], log.verifiers)
    assert (report.problems[0].kind, report.problems[0].seq) == (TamperKind.DELETED, 2)
    report = inspect_export([*lines[:4], lines[3], *lines[4:]], log.verifiers)
    assert (report.problems[0].kind, report.problems[0].seq) == (TamperKind.INSERTED, 2)


def test_export_with_dropped_tail_is_caught_by_checkpoint(log: AuditLog) -> None:
    lines = exported(log)
    events = [line for line in lines if '"type":"event"' in line]
    checkpoints = [line for line in lines if '"type":"checkpoint"' in line]
    report = inspect_export([lines[0], *events[:7], *checkpoints], log.verifiers)
    assert (report.problems[0].kind, report.problems[0].seq) == (TamperKind.DELETED, 7)


def test_export_without_trusted_key_fails_closed(log: AuditLog) -> None:
    lines = exported(log)
    report = inspect_export(lines, [])
    assert {p.kind for p in report.problems} == {TamperKind.CHECKPOINT}


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "export is empty"),
        (["{not json"], "line 1: not JSON"),
        (['{"type":"event"}'], "line 1: expected a bastion-audit/v1 header"),
        ([f'{{"type":"header","format":"{EXPORT_FORMAT}","origin":1}}'], "'origin'"),
        (
            [f'{{"type":"header","format":"{EXPORT_FORMAT}","origin":"o"}}', "", '{"type":"x"}'],
            "line 3: unknown record type 'x'",
        ),
        (
            [
                f'{{"type":"header","format":"{EXPORT_FORMAT}","origin":"o"}}',
                '{"type":"event","seq":0,"body":"{}","leaf_hash":"zz"}',
            ],
            "line 2: leaf_hash is not hex",
        ),
        (
            [
                f'{{"type":"header","format":"{EXPORT_FORMAT}","origin":"o"}}',
                '{"type":"event","seq":true,"body":"{}","leaf_hash":"00"}',
            ],
            "line 2: 'seq'",
        ),
    ],
)
def test_malformed_exports_name_the_line(lines: list[str], message: str) -> None:
    with pytest.raises(AuditError, match=message):
        inspect_export(lines, [])
