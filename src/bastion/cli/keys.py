"""``bastion keys``: the local signing key and the keys ``bastion verify`` trusts, and the
rotation of Bastion's own keys (``keys rotate signing|oidc --overlap 2h``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, assert_never

import typer
from rich.table import Table

from bastion.audit import Action, AuditEvent, Outcome, rotate_audit_key
from bastion.cli.console import err_console, out_console
from bastion.cli.durations import parse_duration
from bastion.cli.key_ages import key_ages, overdue_keys
from bastion.engine.audit_trail import record_actions, user_actor
from bastion.errors import UsageError
from bastion.home import bastion_home as user_home
from bastion.supplychain import (
    KeyAlgorithm,
    TrustedKey,
    TrustedKeys,
    generate_local_key,
    load_local_signer,
    rotate_local_key,
)
from bastion.supplychain.keys import local_key_paths
from bastion.vault import format_age, identity_keys_path, parse_max_age, rotate_identity_keys

__all__ = ["HomeOption", "JsonOption", "default_home", "register"]

DEFAULT_AUDIT_OVERLAP = 3600  # long enough to restart the processes holding the old key

keys_app = typer.Typer(help="Signing keys and the trusted-keys registry.", no_args_is_help=True)


def default_home() -> Path:
    """Bastion's state directory: ``$BASTION_HOME`` or ``~/.local/share/bastion``."""
    return user_home()


HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="Bastion home (default $BASTION_HOME or ~/.local/share/bastion)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
AlgorithmOption = Annotated[
    KeyAlgorithm, typer.Option("--algorithm", help="Key algorithm (ecdsa-p256 is cosign's).")
]


def _audit(action: Action, key: TrustedKey, home: Path, **details: object) -> None:
    """Every key change is an audit event."""
    event = AuditEvent(
        user_actor(),
        action.value,
        f"key/{key.fingerprint}",
        details={"label": key.label, "keyid": key.keyid, **details},
    )
    record_actions([event], home=home)


def _show(key: TrustedKey, as_json: bool) -> None:
    if as_json:
        out_console.print_json(json.dumps(key.to_dict()))
    else:
        out_console.print(f"{key.fingerprint}  keyid {key.keyid}  ({key.label})", highlight=False)


@keys_app.command("generate")
def generate_command(
    home: HomeOption = None,
    algorithm: AlgorithmOption = KeyAlgorithm.ECDSA_P256,
    as_json: JsonOption = False,
) -> None:
    """Create the local signing key (once) and trust it."""
    root = home or default_home()
    key = generate_local_key(root, algorithm)
    err_console.print(f"created a {algorithm.value} signing key in {local_key_paths(root)[0]}")
    trusted = TrustedKeys(root).find(key.keyid)
    _audit(Action.KEY_ADDED, trusted, root, source="generated")
    _show(trusted, as_json)


@keys_app.command("show")
def show_command(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Show the local key's fingerprint and key id, creating it on first use."""
    root = home or default_home()
    key = load_local_signer(root, create=True)
    if key.created:
        err_console.print(f"created a signing key in {local_key_paths(root)[0]}")
    _show(TrustedKeys(root).find(key.keyid), as_json)


@keys_app.command("export")
def export_command(home: HomeOption = None) -> None:
    """Print the local public key as PEM (give it to cosign's --key or 'keys add')."""
    key = load_local_signer(home or default_home())
    out_console.file.write(key.public_pem.decode("ascii"))


@keys_app.command("list")
def list_command(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Every trusted key, with when it was added and revoked."""
    keys = TrustedKeys(home or default_home()).entries()
    if as_json:
        out_console.print_json(json.dumps([k.to_dict() for k in keys]))
        return
    table = Table(show_edge=False)
    for column in ("fingerprint", "keyid", "label", "added", "revoked"):
        table.add_column(column)
    for k in keys:
        revoked = (
            "compromised" if k.compromised else (k.revoked_at.isoformat() if k.revoked_at else "-")
        )
        table.add_row(
            k.fingerprint, k.keyid, k.label, k.added.isoformat(timespec="seconds"), revoked
        )
    out_console.print(table)


@keys_app.command("add")
def add_command(
    public_key: Annotated[Path, typer.Argument(help="A PEM public key file.")],
    label: Annotated[str | None, typer.Option("--label", help="A name for the key.")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Trust a public key (ECDSA P-256 or Ed25519, PEM)."""
    try:
        pem = public_key.read_bytes()
    except OSError as exc:
        raise UsageError(f"{public_key}: cannot read: {exc.strerror}") from exc
    root = home or default_home()
    key = TrustedKeys(root).add(pem, label=label or public_key.name)
    _audit(Action.KEY_ADDED, key, root, source=str(public_key))
    err_console.print(f"trusted {key.fingerprint}")
    _show(key, as_json)


def _parse_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(
            f"--at {text!r} is not an ISO 8601 time", hint="e.g. 2026-11-01T10:00:00+00:00"
        ) from exc
    if when.tzinfo is None:
        raise UsageError(f"--at {text!r} has no timezone", hint="add +00:00 or Z")
    return when


@keys_app.command("revoke")
def revoke_command(
    ident: Annotated[str, typer.Argument(help="Key id or fingerprint (8+ characters).")],
    at: Annotated[
        str | None, typer.Option("--at", help="Revoke from this time (default now).")
    ] = None,
    compromised: Annotated[
        bool, typer.Option("--compromised", help="Void every signature the key ever made.")
    ] = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Revoke a trusted key: its signatures from the revocation time on fail verification."""
    root = home or default_home()
    key = TrustedKeys(root).revoke(ident, at=_parse_time(at), compromised=compromised)
    _audit(Action.KEY_REVOKED, key, root, compromised=compromised, at=at)
    err_console.print(f"revoked {key.fingerprint}")
    _show(key, as_json)


class RotatedKey(StrEnum):
    """Bastion's own keys that ``keys rotate`` replaces."""

    SIGNING = "signing"
    OIDC = "oidc"
    AUDIT = "audit"


OverlapOption = Annotated[
    str | None,
    typer.Option(
        "--overlap",
        help="How long the old key stays valid, e.g. 2h or 7d (signing: none by default; "
        "oidc: tokens' lifetime plus 1h by default; audit: 1h by default).",
    ),
]


@keys_app.command("rotate")
def rotate_command(
    kind: Annotated[
        RotatedKey, typer.Argument(help="Which key: signing (default), oidc or audit.")
    ] = RotatedKey.SIGNING,
    overlap: OverlapOption = None,
    home: HomeOption = None,
    algorithm: AlgorithmOption = KeyAlgorithm.ECDSA_P256,
    as_json: JsonOption = False,
) -> None:
    """Replace one of Bastion's own keys; the old one stays valid for ``--overlap``."""
    root = home or default_home()
    window = None if overlap is None else parse_duration(overlap, "--overlap")
    match kind:
        case RotatedKey.SIGNING:
            _rotate_signing(root, algorithm, window or 0, as_json)
        case RotatedKey.OIDC:
            _rotate_oidc(root, window, as_json)
        case RotatedKey.AUDIT:
            _rotate_audit(root, DEFAULT_AUDIT_OVERLAP if window is None else window, as_json)
        case _:
            assert_never(kind)


def _rotate_audit(root: Path, overlap: int, as_json: bool) -> None:
    """A new audit checkpoint key; the old one trusted for ``overlap`` s, then only for the
    checkpoints it had signed (sealed from the witness files)."""
    new, retired = rotate_audit_key(root, timedelta(seconds=overlap))
    old_id = retired.vkey.split("+")[1]
    details = {
        "kind": RotatedKey.AUDIT.value,
        "new": new.key_id.hex(),
        "old": old_id,
        "overlap": overlap,
        "until": retired.until.isoformat(),
        "sealed": len(retired.sealed),
    }
    subject = f"key/audit/{new.key_id.hex()}"
    record_actions(
        [AuditEvent(user_actor(), Action.KEY_ROTATED.value, subject, details=details)], home=root
    )
    err_console.print(
        f"retired audit key {old_id}: trusted until {retired.until:%Y-%m-%d %H:%M:%S%z}, then "
        f"only for the {len(retired.sealed)} checkpoint(s) it had signed; restart "
        "bastion serve within that window",
        highlight=False,
    )
    if as_json:
        out_console.print_json(json.dumps(details))


def _rotate_signing(root: Path, algorithm: KeyAlgorithm, overlap: int, as_json: bool) -> None:
    """A new local signing key; the old one revoked ``overlap`` s from now."""
    new, old = rotate_local_key(root, algorithm, timedelta(seconds=overlap))
    if old is not None:
        until = old.revoked_at.isoformat() if old.revoked_at else None
        revoked = TrustedKeys(root).find(old.keyid)
        _audit(Action.KEY_REVOKED, revoked, root, reason="rotated", overlap=overlap, at=until)
    _audit(Action.KEY_ADDED, TrustedKeys(root).find(new.keyid), root, source="rotated")
    if old is not None:
        err_console.print(
            f"revoked {old.fingerprint} from {old.revoked_at:%Y-%m-%d %H:%M:%S%z} "
            "(its signatures made before then stay valid)",
            highlight=False,
        )
    err_console.print(f"new signing key in {local_key_paths(root)[0]}")
    _show(TrustedKeys(root).find(new.keyid), as_json)


def _rotate_oidc(root: Path, overlap: int | None, as_json: bool) -> None:
    """A new job-identity signing key; the old one published for its overlap window."""
    new, old = rotate_identity_keys(root, None if overlap is None else float(overlap))
    details = {
        "kind": RotatedKey.OIDC.value,
        "new": new.kid,
        "old": old.kid if old else None,
        "overlap": overlap,
    }
    subject = f"key/oidc/{new.kid}"
    event = AuditEvent(user_actor(), Action.KEY_ROTATED.value, subject, details=details)
    record_actions([event], home=root)
    if old is not None:
        err_console.print(
            f"retired {old.kid}: it stays in the JWKS until its tokens expire"
            + (f" plus {format_age(overlap)}" if overlap is not None else " plus 1h"),
            highlight=False,
        )
    err_console.print(f"new job-identity key {new.kid} in {identity_keys_path(root)}")
    if as_json:
        out_console.print_json(json.dumps(details))


@keys_app.command("due")
def due_command(
    max_age: Annotated[
        str, typer.Option("--max-age", help="Rotation schedule of every key, e.g. 90d.")
    ] = "90d",
    record: Annotated[
        bool,
        typer.Option(
            "--record",
            help="Append a key.overdue audit event per key (the monitor alerts on it).",
        ),
    ] = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """List Bastion's own keys older than --max-age; exit 1 if there are any."""
    root = home or default_home()
    limit = parse_max_age(max_age)
    now = datetime.now(UTC)
    due = overdue_keys(key_ages(root), limit, now)
    rows = [key.to_json(now, limit) for key in due]
    if record and due:
        events = [
            AuditEvent(
                user_actor(),
                Action.KEY_OVERDUE.value,
                f"key/{row['kind']}/{row['key_id']}",
                Outcome.FAILURE,
                row,
            )
            for row in rows
        ]
        record_actions(events, home=root)
    if as_json:
        out_console.print_json(json.dumps(rows))
    else:
        for row in rows:
            out_console.print(
                f"{row['kind']}: key {row['key_id']} since {row['since']}, {row['age']} old, "
                f"max age {row['max_age']}: bastion keys rotate {row['kind']}",
                highlight=False,
                markup=False,
            )
    err_console.print(f"{len(due)} keys past their maximum age", highlight=False)
    if due:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``bastion keys`` to the app."""
    app.add_typer(keys_app, name="keys")
