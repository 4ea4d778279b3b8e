"""``bastion keys``: the local signing key and the keys ``bastion verify`` trusts."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bastion.audit import Action, AuditEvent
from bastion.cli.console import err_console, out_console
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

__all__ = ["HomeOption", "JsonOption", "default_home", "register"]

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


@keys_app.command("rotate")
def rotate_command(
    home: HomeOption = None,
    algorithm: AlgorithmOption = KeyAlgorithm.ECDSA_P256,
    as_json: JsonOption = False,
) -> None:
    """Replace the local key: trust a new one, revoke the old one from now on."""
    root = home or default_home()
    new, old = rotate_local_key(root, algorithm)
    if old is not None:
        _audit(Action.KEY_REVOKED, TrustedKeys(root).find(old.keyid), root, reason="rotated")
    _audit(Action.KEY_ADDED, TrustedKeys(root).find(new.keyid), root, source="rotated")
    if old is not None:
        err_console.print(f"revoked {old.fingerprint} (its earlier signatures stay valid)")
    err_console.print(f"new signing key in {local_key_paths(root)[0]}")
    _show(TrustedKeys(root).find(new.keyid), as_json)


def register(app: typer.Typer) -> None:
    """Add ``bastion keys`` to the app."""
    app.add_typer(keys_app, name="keys")
