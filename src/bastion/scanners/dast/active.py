"""Safe active probes, one parameter at a time: payloads that read, never write.

Each probe sends ``GET`` requests only, with payloads that prove a flaw without using it:
a harmless made-up tag for XSS, a lone quote and always-true/always-false conditions for
SQL injection (no stacked statements, nothing that writes), a redirect to a reserved
``.invalid`` host, reads of world-readable system files for path traversal, and a URL of
the gate's own canary listener for SSRF. A parameter gives at most one finding per class.
"""

from __future__ import annotations

import re
import secrets
import urllib.parse
from collections.abc import Callable, Iterator

from bastion.scanners.dast.canary import Canary
from bastion.scanners.dast.client import Exchange, HttpClient
from bastion.scanners.dast.crawl import Endpoint
from bastion.scanners.dast.evidence import finding
from bastion.scanners.dast.rules import ProbeClass
from bastion.scanners.finding import Finding

__all__ = ["PROBES", "Probe", "ProbeContext", "active_probes"]

_SQL_ERROR = re.compile(
    r"sqlite3\.\w*Error|unrecognized token|SQL syntax|syntax error at or near|"
    r"unterminated quoted string|quoted string not properly terminated|SQLSTATE\[|ORA-\d{5}"
)
_SYSTEM_FILE = re.compile(r"root:[^:\n]*:0:0:|Linux version \d")
_TRAVERSALS = ("../" * 10 + "etc/passwd", "/etc/passwd", "....//" * 10 + "proc/version")
_BOOLEANS = (("' AND '1'='1", "' AND '1'='2"), (" AND 1=1", " AND 1=2"))
REDIRECT_HOST = "bastion-dast.invalid"


class ProbeContext:
    """One parameter of one endpoint, and how to send it a value."""

    def __init__(self, client: HttpClient, endpoint: Endpoint, name: str, canary: Canary) -> None:
        self.client, self.endpoint, self.name, self.canary = client, endpoint, name, canary
        self.sample = dict(endpoint.params)[name] or "1"
        self.baseline = self.send(self.sample, "active")

    def send(self, value: str, kind: str) -> Exchange:
        """GET the endpoint with this parameter set to ``value`` (the others at samples)."""
        pairs = [(n, value if n == self.name else v or "1") for n, v in self.endpoint.params]
        return self.client.get(f"{self.endpoint.path}?{urllib.parse.urlencode(pairs)}", kind=kind)

    def found(self, rule: str, answer: Exchange, what: str, around: str | None) -> Finding:
        """A finding on this parameter."""
        text = f"parameter {self.name!r} of {self.endpoint.path}: {what}"
        return finding(rule, answer, text, self.name, around=around)


Probe = Callable[[ProbeContext], Finding | None]


def probe_xss(ctx: ProbeContext) -> Finding | None:
    """A made-up tag that comes back unescaped in HTML."""
    tag = f"<bdx{secrets.token_hex(4)}>"
    answer = ctx.send(f'">{tag}', ProbeClass.XSS)
    if answer.is_html and tag in answer.text:
        return ctx.found("reflected-xss", answer, f"{tag} is reflected unescaped", tag)
    return None


def probe_sql_error(ctx: ProbeContext) -> Finding | None:
    """A lone quote that makes the database complain in the answer."""
    answer = ctx.send(ctx.sample + "'", ProbeClass.SQLI)
    match = _SQL_ERROR.search(answer.text)
    if match and not _SQL_ERROR.search(ctx.baseline.text):
        what = f"a quote makes the answer show a database error ({match.group(0)})"
        return ctx.found("sql-injection-error", answer, what, match.group(0))
    return None


def probe_sql_boolean(ctx: ProbeContext) -> Finding | None:
    """An always-true condition answers like the sample value, an always-false one does not."""
    base = ctx.baseline
    for true, false in _BOOLEANS:
        yes = ctx.send(ctx.sample + true, ProbeClass.SQLI)
        if (yes.status, yes.body) != (base.status, base.body) or base.status != 200:
            continue
        no = ctx.send(ctx.sample + false, ProbeClass.SQLI)
        if (no.status, no.body) != (base.status, base.body):
            what = f"{true.strip()!r} answers as the plain value, {false.strip()!r} does not"
            return ctx.found("sql-injection-boolean", no, what, None)
    return None


def probe_open_redirect(ctx: ProbeContext) -> Finding | None:
    """A redirect to a host the service has no reason to send anyone to."""
    for target in (f"https://{REDIRECT_HOST}/{secrets.token_hex(4)}", f"//{REDIRECT_HOST}/"):
        answer = ctx.send(target, ProbeClass.OPEN_REDIRECT)
        location = answer.header("Location") or ""
        if 300 <= answer.status < 400 and urllib.parse.urlsplit(location).hostname == (
            REDIRECT_HOST
        ):
            return ctx.found("open-redirect", answer, f"redirects to {location}", location)
    return None


def probe_path_traversal(ctx: ProbeContext) -> Finding | None:
    """A relative or absolute path to a system file whose content comes back."""
    for path in _TRAVERSALS:
        answer = ctx.send(path, ProbeClass.PATH_TRAVERSAL)
        match = _SYSTEM_FILE.search(answer.text)
        if match and not _SYSTEM_FILE.search(ctx.baseline.text):
            what = f"{path} reads a system file"
            return ctx.found("path-traversal", answer, what, match.group(0))
    return None


def probe_ssrf(ctx: ProbeContext) -> Finding | None:
    """A URL of the canary listener that the service fetches."""
    token = f"bastion-dast-{secrets.token_hex(6)}"
    answer = ctx.send(ctx.canary.url(token), ProbeClass.SSRF)
    if ctx.canary.heard(token):
        return ctx.found("ssrf", answer, f"the service fetched {ctx.canary.url(token)}", None)
    return None


PROBES: dict[ProbeClass, tuple[Probe, ...]] = {
    ProbeClass.XSS: (probe_xss,),
    ProbeClass.SQLI: (probe_sql_error, probe_sql_boolean),
    ProbeClass.OPEN_REDIRECT: (probe_open_redirect,),
    ProbeClass.PATH_TRAVERSAL: (probe_path_traversal,),
    ProbeClass.SSRF: (probe_ssrf,),
}


def active_probes(
    client: HttpClient,
    endpoints: list[Endpoint],
    canary: Canary,
    probes: dict[ProbeClass, tuple[Probe, ...]] = PROBES,
) -> Iterator[Finding]:
    """Every probe on every parameter; per parameter, the first finding of each class."""
    for endpoint in endpoints:
        for name, _sample in endpoint.params:
            ctx = ProbeContext(client, endpoint, name, canary)
            for chain in probes.values():
                hit = next((f for probe in chain if (f := probe(ctx)) is not None), None)
                if hit is not None:
                    yield hit
