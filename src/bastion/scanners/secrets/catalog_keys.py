"""Rules for private keys, tokens without a vendor, database URLs and generic assignments."""

from __future__ import annotations

from bastion.scanners.finding import Severity
from bastion.scanners.secrets.rule import Rule, Validator
from bastion.scanners.secrets.shapes import BOUNDARY_AFTER, BOUNDARY_BEFORE

__all__ = ["KEY_RULES"]

_C, _H, _M = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM
# A PEM body: base64 lines, optionally RFC 1421 headers (Proc-Type, DEK-Info) before it.
_PEM_BODY = r"[A-Za-z0-9+/=\s:,\-]{64,16384}?"
_PEM_WINDOW = 20_000


def _pem(rule_id: str, title: str, label: str, *, severity: Severity = _C) -> Rule:
    return Rule(
        id=rule_id,
        title=title,
        severity=severity,
        pattern=(f"(?P<secret>-----BEGIN {label}-----\\r?\\n{_PEM_BODY}-----END {label}-----)"),
        keywords=(f"-----begin {label.lower()}-----",),
        validator=Validator.PEM,
        multiline=True,
        window=_PEM_WINDOW,
        prefilter=f"-----BEGIN {label}-----",
    )


# Shell `export`, Dockerfile `ENV`/`ARG`, csh/Windows `set` before a KEY=value line.
_DECLARE = r"(?:(?:export|env|arg|set)[ \t]+)?"
_PASSWORD_WORDS = r"(?:password|passwd|passphrase|pwd|pass)"  # noqa: S105 - key names
_SECRET_WORDS = (
    r"(?:secret|token|api[_\-.]?key|apikey|access[_\-.]?key|auth[_\-.]?key|private[_\-.]?key"  # noqa: S105
    r"|client[_\-.]?secret|credentials?|creds)"
)

KEY_RULES: tuple[Rule, ...] = (
    _pem("private-key-rsa", "RSA private key (PKCS#1)", "RSA PRIVATE KEY"),
    _pem("private-key-dsa", "DSA private key", "DSA PRIVATE KEY"),
    _pem("private-key-ec", "EC private key (SEC 1)", "EC PRIVATE KEY"),
    _pem("private-key-pkcs8", "Private key (PKCS#8)", "PRIVATE KEY"),
    _pem(
        "private-key-pkcs8-encrypted",
        "Encrypted private key (PKCS#8)",
        "ENCRYPTED PRIVATE KEY",
        severity=_M,
    ),
    _pem("private-key-openssh", "OpenSSH private key", "OPENSSH PRIVATE KEY"),
    Rule(
        id="private-key-pgp",
        title="PGP private key block",
        severity=_C,
        pattern=(
            r"(?P<secret>-----BEGIN PGP PRIVATE KEY BLOCK-----\r?\n[\s\S]{64,65536}?"
            r"-----END PGP PRIVATE KEY BLOCK-----)"
        ),
        keywords=("-----begin pgp private key block-----",),
        validator=Validator.PGP,
        multiline=True,
        window=70_000,
        prefilter="-----BEGIN PGP PRIVATE KEY BLOCK-----",
    ),
    Rule(
        id="private-key-putty",
        title="PuTTY private key file",
        severity=_C,
        pattern=(
            r"(?P<secret>PuTTY-User-Key-File-[23]: [a-z0-9\-]+\r?\n[\s\S]{0,2000}?"
            r"Private-Lines: \d+\r?\n[A-Za-z0-9+/=\r\n]{40,16384}?Private-MAC: [0-9a-f]{40,64})"
        ),
        keywords=("putty-user-key-file-",),
        validator=Validator.PUTTY,
        multiline=True,
        window=20_000,
        prefilter="PuTTY-User-Key-File-[23]: ",
    ),
    Rule(
        id="jwt",
        title="JSON Web Token",
        severity=_M,
        pattern=(
            f"{BOUNDARY_BEFORE}(?P<secret>eyJ[A-Za-z0-9_\\-]{{10,}}\\.eyJ[A-Za-z0-9_\\-]{{10,}}"
            f"\\.[A-Za-z0-9_\\-]{{16,}}){BOUNDARY_AFTER}"
        ),
        keywords=("eyj",),
        validator=Validator.JWT,
    ),
    Rule(
        id="database-url-password",
        title="Database URL with an embedded password",
        severity=_C,
        pattern=(
            r"(?i:\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql"
            r"|sqlserver|oracle|clickhouse|cockroachdb|couchdb|neo4j)(?:\+[a-z0-9]+)?://)"
            r"[^\s:@/\"'<>\[\]()]{1,64}:(?P<secret>[^\s@/\"'<>\[\]()]{3,128})@[^\s\"'<>]+"
        ),
        keywords=("://",),
        generic=True,
    ),
    Rule(
        id="jdbc-url-password",
        title="JDBC URL with an embedded password",
        severity=_C,
        pattern=r"jdbc:[a-z0-9]+:[^\s\"']*?[?;&](?i:password)=(?P<secret>[^\s&;\"']{3,128})",
        keywords=("jdbc:",),
        generic=True,
    ),
    Rule(
        id="connection-string-password",
        title="Connection string with a password (ADO.NET / ODBC)",
        severity=_H,
        pattern=(
            r"(?i:(?:server|data source|host)=[^;\"'\n]{1,100};[^\"'\n]{0,200}?(?:password|pwd)=)"
            r"(?P<secret>[^;\"'\s]{6,128})"
        ),
        keywords=("password=", "pwd="),
        generic=True,
        entropy=2.5,
    ),
    Rule(
        id="url-basic-auth",
        title="Credentials embedded in an HTTP(S) or FTP URL",
        severity=_H,
        pattern=(
            r"(?i:\b(?:https?|ftps?|sftp|git\+https|svn)://)[A-Za-z0-9._~%\-]{1,64}:"
            r"(?P<secret>[A-Za-z0-9._~%!$&*+,;=\-]{6,128})@[A-Za-z0-9.\-]+"
        ),
        keywords=("://",),
        generic=True,
        entropy=2.5,
    ),
    Rule(
        id="authorization-header",
        title="Credentials in an HTTP Authorization header",
        severity=_H,
        pattern=(
            r"(?i:authorization[\"']?\s{0,4}[:=]\s{0,4}[\"']?(?:basic|bearer|token)\s+)"
            r"(?P<secret>[A-Za-z0-9+/=_\-.~]{20,512})"
        ),
        keywords=("authorization",),
        generic=True,
        entropy=3.5,
    ),
    Rule(
        id="curl-user-password",
        title="Password passed to curl -u / --user",
        severity=_H,
        pattern=(
            r"\bcurl\b[^\n]{0,300}?\s(?:-u|--user)(?:=|[ \t]{1,4})[\"']?[^\s:\"'$]{1,64}:"
            r"(?P<secret>[^\s\"'@$]{6,128})[\"']?(?=\s|$)"
        ),
        keywords=("curl",),
        generic=True,
        entropy=2.5,
    ),
    Rule(
        id="netrc-password",
        title="Password in a .netrc entry",
        severity=_H,
        pattern=r"(?i:machine\s+\S+\s+login\s+\S+\s+password\s+)(?P<secret>\S{6,128})",
        keywords=("machine",),
        generic=True,
        entropy=2.5,
    ),
    Rule(
        id="generic-password",
        title="Hard-coded password",
        severity=_H,
        pattern=(
            f"(?i:[A-Za-z0-9_.\\-]{{0,30}}{_PASSWORD_WORDS}[A-Za-z0-9_.\\-]{{0,30}})"
            r"[\"']?\s{0,4}(?::=|=>|[:=]|==)\s{0,4}(?:[rbuf]?)[\"'`]"
            r"(?P<secret>[^\"'`\s$<>{}()|\\]{8,128})[\"'`]"
        ),
        keywords=("pass", "pwd"),
        generic=True,
        entropy=3.0,
    ),
    Rule(
        id="generic-password-unquoted",
        title="Hard-coded password in a configuration file",
        severity=_H,
        pattern=(
            f"(?m)(?i:^[ \\t]{{0,20}}{_DECLARE}[A-Za-z0-9_.\\-]{{0,30}}{_PASSWORD_WORDS}"
            r"[A-Za-z0-9_.\-]{0,30}[ \t]{0,4}[:=][ \t]{0,4})"
            r"(?P<secret>[^\s\"'`#$<>{}()\[\],;]{8,128})[ \t]*\r?$"
        ),
        keywords=("pass", "pwd"),
        generic=True,
        entropy=3.2,
    ),
    Rule(
        id="generic-secret",
        title="Hard-coded secret, token or API key",
        severity=_H,
        pattern=(
            f"(?i:[A-Za-z0-9_.\\-]{{0,30}}{_SECRET_WORDS}[A-Za-z0-9_.\\-]{{0,30}})"
            r"[\"']?\s{0,4}(?::=|=>|[:=])\s{0,4}[rbuf]?[\"'`]"
            r"(?P<secret>[A-Za-z0-9+/=_\-.~]{16,256})[\"'`]"
        ),
        keywords=("secret", "token", "key", "credential"),
        generic=True,
        # A cheap floor first; the validator then asks for randomness relative to the
        # value's own alphabet, so hex keys (4 bits at most) are not held to base64's bar.
        entropy=2.5,
        validator=Validator.GENERIC_VALUE,
    ),
    Rule(
        id="generic-secret-unquoted",
        title="Hard-coded secret, token or API key in a configuration file",
        severity=_H,
        pattern=(
            f"(?m)(?i:^[ \\t]{{0,20}}{_DECLARE}[A-Za-z0-9_.\\-]{{0,30}}{_SECRET_WORDS}"
            r"[A-Za-z0-9_.\-]{0,30}[ \t]{0,4}[:=][ \t]{0,4})"
            r"(?P<secret>[A-Za-z0-9+/=_\-.~]{16,256})[ \t]*\r?$"
        ),
        keywords=("secret", "token", "key", "credential"),
        generic=True,
        # A cheap floor first; the validator then asks for randomness relative to the
        # value's own alphabet, so hex keys (4 bits at most) are not held to base64's bar.
        entropy=2.5,
        validator=Validator.GENERIC_VALUE,
    ),
)
