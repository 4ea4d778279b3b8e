"""What a job holding secrets may let out: masked text only, and no stored copy of a secret.

The engine hands the executor one :class:`JobMasking` per job (built from the run's released
secrets once, not per step); everything the job runner reports passes it:

- each step's output stream (:meth:`JobMasking.stream`, a fresh streaming state per step);
- the outcome's reason and the reports collected for gates (:func:`masked_outcome`), which
  land in the run record, the run table, the audit log and a gate's findings;
- Bastion's own lines about the job's caches (:func:`masked_sink`).

Bytes that would be *stored* are not masked but refused: an artifact or a cache entry
whose bytes (or path) hold any form of a released secret fails the job with
:class:`SecretRefused`, and nothing of it is kept (:func:`copy_unless_secret`). Masking a
stored file would corrupt it silently; refusing tells the person what to fix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO, Protocol

from bastion.errors import SandboxError
from bastion.executors.interface import JobEvent, JobEventKind, JobEventSink, JobOutcome, JobSpec

__all__ = [
    "JobMasking",
    "MaskingFactory",
    "NoMasking",
    "OutputFilter",
    "SecretRefused",
    "SecretScan",
    "copy_unless_secret",
    "masked_outcome",
    "masked_sink",
    "no_masking",
]

_CHUNK = 1 << 20

OutputFilter = Callable[[bytes | None], bytes]
"""Called with each chunk, then once with None at the end of a step to flush what it held."""


class SecretScan(Protocol):
    """A find-only scan of one stream of bytes (a file read piece by piece)."""

    def feed(self, chunk: bytes) -> str | None:
        """None, or which secret the stream so far holds: ``secret NAME (as base64)``."""


class JobMasking(Protocol):
    """The masking of one job, built once and used for everything the job reports."""

    def stream(self) -> OutputFilter:
        """A fresh streaming filter for one step's output."""

    def text(self, text: str) -> str:
        """``text`` (a reason, a message) with every secret replaced."""

    def data(self, data: bytes) -> bytes:
        """A whole piece of bytes (a collected report) with every secret replaced."""

    def scan(self) -> SecretScan:
        """A new find-only scan, for bytes that are stored rather than shown."""


MaskingFactory = Callable[[JobSpec], JobMasking]
"""The engine's masking for a job (the same object each time it is asked for one job)."""


class SecretRefused(SandboxError):
    """A job tried to store (as an artifact or a cache entry) the value of a secret."""


class _NoScan:
    def feed(self, chunk: bytes) -> str | None:
        return None


class NoMasking:
    """The masking of a job in a run that released no secret: everything passes as is."""

    def stream(self) -> OutputFilter:
        return lambda chunk: chunk or b""

    def text(self, text: str) -> str:
        return text

    def data(self, data: bytes) -> bytes:
        return data

    def scan(self) -> SecretScan:
        return _NoScan()


_NO_MASKING = NoMasking()


def no_masking(_spec: JobSpec) -> JobMasking:
    """The default factory: no secrets, nothing to mask."""
    return _NO_MASKING


def masked_outcome(outcome: JobOutcome, masking: JobMasking) -> JobOutcome:
    """``outcome`` with its reason and collected reports masked."""
    reason = masking.text(outcome.reason) if outcome.reason else outcome.reason
    # A report (SARIF, JSON) a job wrote may quote what it scanned; "***" keeps it valid.
    collected = {path: masking.data(data) for path, data in outcome.collected.items()}
    return replace(outcome, reason=reason, collected=collected)


def masked_sink(on_event: JobEventSink, masking: JobMasking) -> JobEventSink:
    """``on_event`` behind masking of whole messages (Bastion's own lines, not a stream)."""

    def emit(event: JobEvent) -> None:
        if event.kind is JobEventKind.OUTPUT:
            event = replace(event, data=masking.data(event.data))
        if event.details:
            details = {key: masking.text(value) for key, value in event.details.items()}
            event = replace(event, details=details)
        on_event(event)

    return emit


def refusal(what: str, found: str, verb: str) -> SecretRefused:
    """The error for a stored thing that holds a secret (names the secret, not the value)."""
    return SecretRefused(
        f"{what} contains the value of {found}; it was not {verb}",
        hint="a secret must never be stored with a build: write it to the step's "
        "environment or /run/bastion only, and keep it out of files the job keeps",
    )


def copy_unless_secret(
    source: BinaryIO, destination: Path, masking: JobMasking, what: str, name: str
) -> None:
    """Copy ``source`` to ``destination`` unless it or its path ``name`` holds a secret.

    Raises :class:`SecretRefused` (``what`` names the artifact); the partial copy is
    removed first, so a refused artifact is never left where it would be stored from.
    """
    found = masking.scan().feed(name.encode("utf-8", errors="surrogateescape"))
    if found is not None:
        raise refusal(what, f"{found} in its path", "stored")
    scan = masking.scan()
    try:
        with destination.open("wb") as out:
            while chunk := source.read(_CHUNK):
                found = scan.feed(chunk)
                if found is not None:
                    raise refusal(what, found, "stored")
                out.write(chunk)
    except BaseException:
        destination.unlink(missing_ok=True)
        raise
