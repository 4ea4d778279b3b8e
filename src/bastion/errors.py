"""Bastion's error tree: one root, one family per boundary.

Every error a user can meet derives from :class:`BastionError`, carries a text for people
(:meth:`BastionError.diagnostics`) and the process exit code the CLI maps it to::

    BastionError                      exit 3 unless a family says otherwise
    ├── UsageError                    exit 2  bad command-line use or configuration
    ├── PipelineError                 exit 2  a pipeline file that cannot be loaded or planned
    ├── SandboxError                  exit 3  a job could not be isolated as required
    │   └── SandboxUnavailableError   exit 3  bubblewrap missing or namespaces refused
    ├── GateError                     exit 1  a gate could not decide: it fails closed
    │   └── ToolMissingError          exit 3  a scanner's tool environment is not installed
    ├── PolicyError                   exit 2  a policy or suppression file is malformed
    ├── SigningError                  exit 3  no key, or a signer failed
    ├── VerificationError             exit 1  an artifact failed verification (has a reason code)
    ├── AuditError                    exit 1  the audit log does not verify
    ├── VaultError                    exit 2  a secret cannot be stored or released
    ├── StoreError                    exit 3  the state database cannot be used
    ├── EngineError                   exit 3  a run could not be carried out
    └── RemoteError                   exit 3  a Bastion server could not be reached or failed
        └── RemoteRefusedError        exit 2  the server refused the request (401, 403, 404)

Errors never print or exit; the CLI maps them to exit codes and renders ``diagnostics()``.
"""

from __future__ import annotations

__all__ = [
    "AuditError",
    "BastionError",
    "EngineError",
    "GateError",
    "PipelineError",
    "PolicyError",
    "RemoteError",
    "RemoteRefusedError",
    "SandboxError",
    "SandboxUnavailableError",
    "SigningError",
    "StoreError",
    "ToolMissingError",
    "UsageError",
    "VaultError",
    "VerificationError",
]


class BastionError(Exception):
    """Root of every error Bastion raises on purpose."""

    exit_code: int = 3

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def diagnostics(self) -> str:
        """The text a person reads: what went wrong, then how to fix it."""
        if self.hint:
            return f"{self.message}\n  fix: {self.hint}"
        return self.message


class UsageError(BastionError):
    """The command line or configuration asks for something impossible."""

    exit_code = 2


class PipelineError(BastionError):
    """A pipeline file cannot be loaded, validated or planned.

    ``path``, ``line`` and ``column`` (1-based) locate the problem when known.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.path = path
        self.line = line
        self.column = column

    def location(self) -> str:
        """``file:line:column`` with whatever parts are known."""
        parts = [self.path or "<pipeline>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def diagnostics(self) -> str:
        text = f"{self.location()}: {self.message}"
        if self.hint:
            text += f"\n  fix: {self.hint}"
        return text


class SandboxError(BastionError):
    """A job could not be run with the isolation it requires."""


class SandboxUnavailableError(SandboxError):
    """bubblewrap is missing or cannot create the namespaces it needs."""


class GateError(BastionError):
    """A gate could not reach a decision; the gate fails closed."""

    exit_code = 1


class ToolMissingError(GateError):
    """A scanner's tool environment is not installed."""

    exit_code = 3


class PolicyError(BastionError):
    """A Rego policy or a suppression file is malformed."""

    exit_code = 2


class SigningError(BastionError):
    """No signing key could be used, or a signer failed."""


class VerificationError(BastionError):
    """Verification failed; ``reason`` is a machine-readable code."""

    exit_code = 1

    def __init__(self, message: str, *, reason: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.reason = reason


class AuditError(BastionError):
    """The audit log is inconsistent or cannot be written."""

    exit_code = 1


class VaultError(BastionError):
    """A secret cannot be stored, decrypted or released."""

    exit_code = 2


class StoreError(BastionError):
    """The state database cannot be opened or migrated."""


class EngineError(BastionError):
    """A run could not be carried out."""


class RemoteError(BastionError):
    """A Bastion server (``--server``) could not be reached or answered with a 5xx."""


class RemoteRefusedError(RemoteError):
    """A Bastion server refused the request: not signed in, not allowed, or no such thing."""

    exit_code = 2
