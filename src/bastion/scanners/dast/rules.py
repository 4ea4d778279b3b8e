"""The DAST gate's rules: one entry per thing it reports, grouped in probe classes.

>>> RULES["reflected-xss"].probe_class
<ProbeClass.XSS: 'xss'>
>>> RULES["reflected-xss"].severity.value
'high'
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bastion.scanners.finding import Severity

__all__ = ["RULES", "ProbeClass", "Rule"]


class ProbeClass(enum.StrEnum):
    """What found a finding: a passive check, an active probe or the API fuzzer."""

    HEADERS = "headers"
    COOKIES = "cookies"
    CORS = "cors"
    EXPOSED_FILES = "exposed-files"
    DIRECTORY_LISTING = "directory-listing"
    ERROR_PAGES = "error-pages"
    BANNERS = "banners"
    MIXED_CONTENT = "mixed-content"
    XSS = "xss"
    SQLI = "sqli"
    OPEN_REDIRECT = "open-redirect"
    PATH_TRAVERSAL = "path-traversal"
    SSRF = "ssrf"
    API_FUZZ = "api-fuzz"


@dataclass(frozen=True, slots=True)
class Rule:
    """What a rule reports: its class, severity, title, CWE and how to fix it."""

    probe_class: ProbeClass
    severity: Severity
    title: str
    cwe: str
    fix: str


_P = ProbeClass
_S = Severity

RULES: dict[str, Rule] = {
    "missing-security-header": Rule(
        _P.HEADERS,
        _S.LOW,
        "Security header missing",
        "CWE-693",
        "send Content-Security-Policy, X-Content-Type-Options: nosniff, "
        "X-Frame-Options (or frame-ancestors) and Referrer-Policy on every page",
    ),
    "insecure-cookie": Rule(
        _P.COOKIES,
        _S.MEDIUM,
        "Cookie without HttpOnly, Secure or SameSite",
        "CWE-1004",
        "set cookies with HttpOnly, Secure and SameSite=Lax (or Strict)",
    ),
    "cors-any-origin-with-credentials": Rule(
        _P.CORS,
        _S.HIGH,
        "CORS trusts any origin with credentials",
        "CWE-942",
        "allow only the origins you serve, never reflect the Origin header",
    ),
    "cors-wildcard": Rule(
        _P.CORS,
        _S.LOW,
        "CORS allows every origin",
        "CWE-942",
        "drop Access-Control-Allow-Origin: * unless the resource is public",
    ),
    "exposed-git": Rule(
        _P.EXPOSED_FILES,
        _S.HIGH,
        "Git repository served",
        "CWE-538",
        "never deploy .git/; serve only the build output",
    ),
    "exposed-env": Rule(
        _P.EXPOSED_FILES,
        _S.CRITICAL,
        "Environment file served",
        "CWE-538",
        "never serve .env files; keep secrets out of the web root",
    ),
    "exposed-backup": Rule(
        _P.EXPOSED_FILES,
        _S.HIGH,
        "Backup or dump file served",
        "CWE-530",
        "remove backups and dumps from the served tree",
    ),
    "directory-listing": Rule(
        _P.DIRECTORY_LISTING,
        _S.MEDIUM,
        "Directory listing enabled",
        "CWE-548",
        "turn directory listings off",
    ),
    "verbose-error": Rule(
        _P.ERROR_PAGES,
        _S.MEDIUM,
        "Stack trace or verbose error page",
        "CWE-209",
        "answer errors with a generic page; log the details on the server",
    ),
    "server-banner": Rule(
        _P.BANNERS,
        _S.LOW,
        "Server banner reveals software and version",
        "CWE-200",
        "send no version in Server or X-Powered-By",
    ),
    "mixed-content": Rule(
        _P.MIXED_CONTENT,
        _S.MEDIUM,
        "Page loads resources over plain http://",
        "CWE-319",
        "load every script, style, frame and image over https:// (or same-origin)",
    ),
    "reflected-xss": Rule(
        _P.XSS,
        _S.HIGH,
        "Reflected cross-site scripting",
        "CWE-79",
        "escape every value written into HTML (html.escape, a templating engine)",
    ),
    "sql-injection-error": Rule(
        _P.SQLI,
        _S.CRITICAL,
        "SQL injection (database error)",
        "CWE-89",
        "use parameterised queries, never string formatting",
    ),
    "sql-injection-boolean": Rule(
        _P.SQLI,
        _S.CRITICAL,
        "SQL injection (boolean condition)",
        "CWE-89",
        "use parameterised queries, never string formatting",
    ),
    "open-redirect": Rule(
        _P.OPEN_REDIRECT,
        _S.HIGH,
        "Open redirect",
        "CWE-601",
        "redirect only to same-site paths or an allow-list",
    ),
    "path-traversal": Rule(
        _P.PATH_TRAVERSAL,
        _S.HIGH,
        "Path traversal",
        "CWE-22",
        "resolve the path and refuse anything outside the served directory",
    ),
    "ssrf": Rule(
        _P.SSRF,
        _S.HIGH,
        "Server-side request forgery",
        "CWE-918",
        "fetch only allow-listed hosts; never a URL taken from the request",
    ),
    "api-server-error": Rule(
        _P.API_FUZZ,
        _S.HIGH,
        "API answered a server error",
        "CWE-755",
        "validate input and handle errors; a 5xx means an unhandled failure",
    ),
    "api-schema-violation": Rule(
        _P.API_FUZZ,
        _S.MEDIUM,
        "API answer outside its OpenAPI document",
        "CWE-1068",
        "make the answer match the document, or document what is answered",
    ),
}
