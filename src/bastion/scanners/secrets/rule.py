"""One secret-detection rule: data that validates itself when built.

A rule is a precise Python regular expression with a named group ``secret`` (the credential
itself), the literal keywords that any match contains (a cheap prefilter before the regular
expression runs), an optional Shannon-entropy floor and an optional structural validator
(checksum, header decoding, DER/PEM structure). Rules are plain frozen dataclasses so that the
catalog is data a reviewer can read; :meth:`Rule.__post_init__` rejects a malformed rule when the
catalog is imported, so an invalid rule cannot reach a scan.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from bastion.errors import GateError
from bastion.scanners.finding import Severity

__all__ = ["Rule", "RuleError", "Validator"]

_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class RuleError(GateError):
    """A rule definition is malformed (raised while the catalog is loaded): the gate cannot
    decide with a broken rule, so it fails closed."""


class Validator(enum.StrEnum):
    """Structural checks a candidate must pass beyond its regular expression."""

    NONE = "none"
    GITHUB_CRC32 = "github-crc32"  # GitHub and npm: 30 random base62 chars + base62 CRC32
    JWT = "jwt"  # header and payload are base64url JSON objects, header names an alg
    PEM = "pem"  # a PEM/OpenSSH block whose body decodes to DER or an OpenSSH key
    PEM_JSON = "pem-json"  # the same with JSON-escaped newlines (GCP service accounts)
    PGP = "pgp"  # an ASCII-armoured PGP private key block
    PUTTY = "putty"  # a PuTTY .ppk file with its Private-Lines section
    PYPI_MACAROON = "pypi-macaroon"  # base64 of a macaroon v2 located at pypi.org
    SLACK = "slack"  # Slack token segments of the right kind and length
    BASE64_64 = "base64-64"  # base64 of exactly 64 random bytes (Azure storage keys)
    DOCKER_AUTH = "docker-auth"  # base64 of "user:password"
    DISCORD = "discord"  # first segment is the base64 of a numeric snowflake id
    JWT_BASE64 = "jwt-base64"  # standard base64 of a whole JWT (Kubernetes secrets, env files)
    GENERIC_VALUE = "generic-value"  # looks random for its alphabet; not a UUID, path or word


@dataclass(frozen=True, slots=True)
class Rule:
    """A credential type: how to find it, how sure a match is, and how bad a leak is.

        ``generic`` rules (keyword assignments, URLs with passwords) yield to a specific rule
        matching the same text and are dropped in lock files. ``multiline`` rules (private keys)
        are confirmed over ``window`` bytes from the line where ``prefilter`` matched; other rules
    over the line where their ``prefilter`` (default: the pattern itself) matched.
    """

    id: str
    title: str
    severity: Severity
    pattern: str
    keywords: tuple[str, ...]
    entropy: float | None = None
    validator: Validator = Validator.NONE
    generic: bool = False
    multiline: bool = False
    window: int = 0
    prefilter: str | None = None
    regex: re.Pattern[bytes] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise RuleError(f"rule id {self.id!r} must be lowercase words joined by '-'")
        if not self.title:
            raise RuleError(f"rule {self.id}: title is empty")
        if not self.keywords or any(not k or k != k.lower() for k in self.keywords):
            raise RuleError(f"rule {self.id}: keywords must be non-empty lowercase literals")
        if self.entropy is not None and not 0.0 < self.entropy < 8.0:
            raise RuleError(f"rule {self.id}: entropy floor {self.entropy} is not in (0, 8)")
        if self.multiline and (self.window <= 0 or self.prefilter is None):
            raise RuleError(f"rule {self.id}: multiline rules need both window and prefilter")
        if not self.multiline and self.window:
            raise RuleError(f"rule {self.id}: only multiline rules take a window")
        try:
            regex = re.compile(self.pattern.encode())
        except re.error as exc:
            raise RuleError(f"rule {self.id}: pattern does not compile: {exc}") from exc
        if "secret" not in regex.groupindex:
            raise RuleError(f"rule {self.id}: pattern needs a named group 'secret'")
        object.__setattr__(self, "regex", regex)

    @property
    def scan_pattern(self) -> str:
        """The expression the multi-pattern prefilter compiles for this rule."""
        return self.prefilter if self.prefilter is not None else self.pattern

    @property
    def tag(self) -> str:
        """The name used in inline allow comments: ``bastion:allow secret-<id> <reason>``."""
        return f"secret-{self.id}"
