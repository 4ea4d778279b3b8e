"""``bastion audit verify|prove|export|vkey|witness``: check and share the audit log.

Exit codes: 0 the log verifies, 1 it was tampered with (every problem is listed, the first
is named on stderr) or its witness is missing, 2 bad input, 3 the database or key cannot
be used.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import IO, Annotated
from urllib.parse import unquote, urlsplit

import typer

from bastion.audit import (
    AuditEvent,
    AuditLog,
    AuditVerificationReport,
    Checkpoint,
    Ed25519NoteVerifier,
    InclusionProof,
    NoteError,
    NoteVerifier,
    Outcome,
    audit_verifiers,
    inspect_export,
    key_path,
    load_verifier,
)
from bastion.audit.freshness import DEFAULT_MAX_UNSEALED_AGE
from bastion.audit.log import HOME_WITNESS
from bastion.audit.witness import WitnessFile, WitnessSource, encode_line
from bastion.cli.console import err_console, out_console
from bastion.engine.audit_trail import record_actions, user_actor
from bastion.errors import AuditError, SigningError, UsageError
from bastion.home import ensure_bastion_home
from bastion.store import default_database_url, find_repo_root, open_database

__all__ = ["register"]

audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)

ProjectOption = Annotated[Path, typer.Option("-C", "--project", help="Project directory.")]
DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (default $BASTION_DATABASE_URL or the project's)."),
]
VkeyOption = Annotated[
    str | None,
    typer.Option(
        "--vkey", help="Trusted verifier key (name+id+key), or @FILE holding one per line."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _log(
    project: Path, db: str | None, vkey: str | None, witness: WitnessSource | None = HOME_WITNESS
) -> AuditLog:
    database = open_database(db or default_database_url(find_repo_root(project)))
    return AuditLog(database, verifiers=_verifiers(vkey), witness=witness)


def _witness_target(text: str) -> WitnessFile:
    """``--witness``/``--push``: a path or a file:// URL (a mounted directory of another host)."""
    parts = urlsplit(text)
    if parts.scheme in ("http", "https"):
        raise UsageError(
            f"{text}: witnessing over HTTP(S) is not supported yet",
            hint="mount the other host's directory and pass a path or a file:// URL",
        )
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise UsageError(f"{text}: a file:// URL must name a local path")
        return WitnessFile(Path(unquote(parts.path)))
    if parts.scheme:
        raise UsageError(
            f"{text}: unsupported witness URL",
            hint="use a path (./ for one with a colon) or file:///PATH",
        )
    return WitnessFile(Path(text))


def _verifiers(vkey: str | None) -> list[NoteVerifier]:
    """The trusted keys: ``--vkey`` or the local audit key; none means checkpoints fail."""
    if vkey is None:
        try:
            return audit_verifiers(ensure_bastion_home())  # the retired keys too
        except SigningError as exc:
            err_console.print(f"warning: {exc.message}; checkpoints cannot be trusted")
            return []
    source, lines = "--vkey", [vkey]
    if vkey.startswith("@"):
        source = vkey[1:]
        try:
            lines = Path(source).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise UsageError(f"{source}: cannot read the key file: {exc.strerror}") from exc
    keys: list[NoteVerifier] = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                keys.append(Ed25519NoteVerifier.from_vkey(line))
            except NoteError as exc:
                raise UsageError(f"{source}:{number}: {exc.message}", hint=exc.hint) from exc
    return keys


def _read_note(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the checkpoint: {exc}") from exc


def _render(report: AuditVerificationReport, as_json: bool) -> None:
    if as_json:
        out_console.print_json(json.dumps(report.to_json()))
    else:
        state = "OK" if report.ok else "TAMPERED"
        out_console.print(
            f"audit log {state}: {report.size} events, root {report.root.hex()}, "
            f"{report.checkpoints} checkpoints (newest valid covers "
            f"{report.checkpoint_size if report.checkpoint_size is not None else 'none'}), "
            f"{report.unsealed} not yet checkpointed",
            highlight=False,
        )
        witness = (
            f"{report.witness} ({report.witnessed} checkpoints)"
            if report.witness is not None
            else "not checked"
        )
        out_console.print(f"witness: {witness}", markup=False, highlight=False)
        for problem in report.problems:
            out_console.print(f"  {problem.kind.value}: {problem.message}", markup=False)
        if report.more:
            out_console.print(f"  ... and {report.more} more problems")
    report.raise_for_problems()


@audit_app.command("verify")
def verify_command(
    project: ProjectOption = Path(),
    db: DbOption = None,
    vkey: VkeyOption = None,
    export: Annotated[
        Path | None, typer.Option("--export", help="Verify this export file instead.")
    ] = None,
    checkpoint: Annotated[
        list[Path] | None,
        typer.Option(
            "--checkpoint", help="A signed checkpoint kept elsewhere to check too (repeatable)."
        ),
    ] = None,
    witness: Annotated[
        str | None,
        typer.Option(
            "--witness",
            help="Witness file (path or file:// URL) instead of $BASTION_HOME/audit-witness.",
        ),
    ] = None,
    no_witness: Annotated[
        bool,
        typer.Option("--no-witness", help="Accept knowingly a log whose witness is missing."),
    ] = False,
    max_unsealed_age: Annotated[
        float,
        typer.Option(
            "--max-unsealed-age",
            help="Seconds an event may wait for a checkpoint before it counts as forged.",
            envvar="BASTION_AUDIT_MAX_UNSEALED_AGE",
            min=1,
        ),
    ] = DEFAULT_MAX_UNSEALED_AGE.total_seconds(),
    as_json: JsonOption = False,
    record: Annotated[
        bool,
        typer.Option(
            "--record",
            help="Append the outcome to your audit log as audit.verified (the monitor alerts "
            "on a failure).",
        ),
    ] = False,
) -> None:
    """Recompute the whole log, check every checkpoint and the witness; exit 1 on tampering."""
    if witness is not None and no_witness:
        raise UsageError("--witness and --no-witness exclude each other")
    held = [_read_note(path) for path in checkpoint or []]
    source: WitnessSource | None = None if no_witness else HOME_WITNESS
    if witness is not None:
        source = _witness_target(witness)
    if export is not None:
        report = _verify_export(export, vkey, held, source)
    else:
        age = timedelta(seconds=max_unsealed_age)
        report = _log(project, db, vkey, source).inspect(held, max_unsealed_age=age)
    if no_witness:
        err_console.print("warning: the witness was not checked (--no-witness)")
    if record:
        _record_verification(report, str(export) if export is not None else "the state database")
    _render(report, as_json)


def _record_verification(report: AuditVerificationReport, source: str) -> None:
    """``audit.verified`` in the user's log, before the exit code says the outcome: a
    failure names its problems, which the monitor's audit-verify-failed rule alerts on."""
    details = {
        "source": source,
        "size": report.size,
        "problems": [problem.message for problem in report.problems[:20]],
        "more": report.more + max(0, len(report.problems) - 20),
    }
    outcome = Outcome.SUCCESS if report.ok else Outcome.FAILURE
    event = AuditEvent(user_actor(), "audit.verified", "audit/log", outcome, details)
    record_actions([event], home=ensure_bastion_home())


def _verify_export(
    export: Path, vkey: str | None, held: list[str], source: WitnessSource | None
) -> AuditVerificationReport:
    """An export is checked on its own; only an explicitly named witness adds notes."""
    if isinstance(source, WitnessFile):
        held = held + (source.read() or [])
    verifiers = _verifiers(vkey)
    try:
        with export.open(encoding="utf-8") as fp:
            return inspect_export(fp, verifiers, held)
    except OSError as exc:
        raise UsageError(f"{export}: cannot read the export: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"{export}: not UTF-8 text") from exc


@audit_app.command("prove")
def prove_command(
    seq: Annotated[int, typer.Argument(help="Sequence number of the event.", min=0)],
    project: ProjectOption = Path(),
    db: DbOption = None,
    vkey: VkeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Inclusion proof of one event in the newest checkpoint (verified before it is shown)."""
    log = _log(project, db, vkey)
    newest = log.latest_checkpoint()
    if newest is None or seq >= newest.size:
        covered = f"the newest checkpoint covers {newest.size} events" if newest else "none yet"
        raise UsageError(
            f"event {seq} is not covered by a signed checkpoint ({covered})",
            hint="events are covered by the checkpoint written after their run",
        )
    proof: InclusionProof = log.prove(seq, newest)
    if as_json:
        out_console.print_json(json.dumps(proof.to_json()))
        return
    out_console.print(
        f"event {proof.seq} is leaf {proof.seq} of {proof.checkpoint.size}, "
        f"root {proof.checkpoint.root.hex()}",
        highlight=False,
    )
    out_console.print(f"leaf hash {proof.leaf_hash.hex()}", highlight=False)
    for node in proof.path:
        out_console.print(f"  {node.hex()}", highlight=False)
    out_console.print(proof.body, markup=False, highlight=False)


def _export_matching(log: AuditLog, fp: IO[str], action: str | None, subject: str | None) -> int:
    """Write the events with ``action`` and ``subject`` (either may be None: any) as the
    export's event lines; returns how many."""
    count = 0
    for entry in log.entries():
        if action not in (None, entry.event.action) or subject not in (None, entry.event.subject):
            continue
        line = {"type": "event", "seq": entry.seq, "body": entry.body,
                "leaf_hash": entry.leaf_hash.hex()}  # fmt: skip
        fp.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
        count += 1
    return count


@audit_app.command("export")
def export_command(
    project: ProjectOption = Path(),
    db: DbOption = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here instead of stdout.")
    ] = None,
    action: Annotated[
        str | None, typer.Option("--action", help="Only events of this action (no checkpoints).")
    ] = None,
    subject: Annotated[
        str | None, typer.Option("--subject", help="Only events about this subject.")
    ] = None,
) -> None:
    """Write every event and checkpoint as JSON lines an outsider can verify.

    With ``--action`` or ``--subject`` only the matching event lines are written, for
    reading (which runs received secret/NAME?): such an export does not verify.
    """
    log = _log(project, db, None)
    filtered = action is not None or subject is not None

    def write(fp: IO[str]) -> int:
        return _export_matching(log, fp, action, subject) if filtered else log.export(fp)

    if output is None:
        count = write(sys.stdout)
    else:
        # Written beside the target and renamed only on success: never a half export.
        try:
            fd, tmp = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.")
        except OSError as exc:
            raise UsageError(f"{output}: cannot write the export: {exc.strerror}") from exc
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fp:
                count = write(fp)
            Path(tmp).replace(output)
        finally:
            Path(tmp).unlink(missing_ok=True)
    what = "matching events (a filtered export does not verify)" if filtered else "lines"
    err_console.print(f"exported {count} {what}")


@audit_app.command("vkey")
def vkey_command() -> None:
    """Print the public verifier key outsiders need to check checkpoints and exports."""
    verifier = load_verifier(key_path(ensure_bastion_home()))
    out_console.print(verifier.vkey, markup=False, highlight=False)


@audit_app.command("witness")
def witness_command(
    project: ProjectOption = Path(),
    db: DbOption = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Append new lines to this file.")
    ] = None,
    push: Annotated[
        str | None,
        typer.Option("--push", help="Append new lines to this file:// URL (another host)."),
    ] = None,
) -> None:
    """Print this log's witnessed checkpoints, or append them where a database writer can't."""
    if output is not None and push is not None:
        raise UsageError("-o and --push exclude each other")
    log = _log(project, db, None)
    local = log.witness_file()
    notes = None if local is None else local.read()
    if local is None or notes is None:
        where = "the log is empty" if local is None else f"{local.path} does not exist"
        raise AuditError(
            f"nothing witnessed yet: {where}",
            hint="the witness is written with every checkpoint: run a pipeline first",
        )
    for note in notes:
        # Only checkpoints of this log under a trusted key travel (NoteError otherwise).
        Checkpoint.open(note, log.verifiers, origin=log.origin)
    target = None
    if push is not None:
        target = _witness_target(push)
    elif output is not None:
        target = WitnessFile(output)
    if target is None:
        for note in notes:
            out_console.print(encode_line(note), markup=False, highlight=False, soft_wrap=True)
        return
    added = target.append_new(notes)
    err_console.print(f"appended {added} new checkpoint(s) to {target.path}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the ``audit`` command group."""
    app.add_typer(audit_app, name="audit")
