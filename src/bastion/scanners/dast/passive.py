"""Passive checks: what the service's own answers say about it, with benign requests only.

Security headers, cookie flags, CORS, server banners, mixed content, directory listings and
verbose error pages are read from the pages the crawl fetched (plus a request for a page
that does not exist and each input left blank); exposed files are in :mod:`.exposure`.
Each problem is reported once per cause: the missing headers and the stack traces once for
the site (one server setting, one error handler), a cookie once per name.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Iterator
from urllib.parse import urlencode

from bastion.scanners.dast.client import Exchange, HttpClient
from bastion.scanners.dast.crawl import Page, Site
from bastion.scanners.dast.evidence import finding
from bastion.scanners.finding import Finding

__all__ = ["EVIL_ORIGIN", "passive_checks"]

EVIL_ORIGIN = "https://bastion-dast.invalid"
_KIND = "passive"
_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy")
_STACK_TRACE = re.compile(
    r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+, in |"
    r"\bat [\w.$]+\(\w+\.java:\d+\)|Exception in thread \"|<b>(?:Fatal error|Warning)</b>:|"
    r"Werkzeug Debugger|You're seeing this error because you have <code>DEBUG = True"
)
_LISTING = re.compile(r"<title>\s*(?:Index of /|Directory listing for /)", re.IGNORECASE)
_LISTING_DIRS = ("/static/", "/uploads/", "/files/", "/backup/", "/images/")
_VERSION = re.compile(r"\d+\.\d+")
_RESOURCE_TAGS = frozenset({"script", "img", "iframe", "link", "source", "embed", "video"})


def passive_checks(client: HttpClient, site: Site) -> list[Finding]:
    """Every passive finding over ``site`` (the crawl's pages) and a few benign requests."""
    extra = [client.get(f"/bastion-dast-missing-{secrets.token_hex(4)}", kind=_KIND)]
    for endpoint in site.endpoints.values():
        blank = urlencode([(name, "") for name, _ in endpoint.params])
        extra.append(client.get(f"{endpoint.path}?{blank}", kind=_KIND))
    listings = [client.get(path, kind=_KIND) for path in _LISTING_DIRS]
    cors = client.get("/", kind=_KIND, headers={"Origin": EVIL_ORIGIN})
    pages = [p for p in site.pages if p.status]
    return [
        *_headers(pages),
        *_cookies(pages),
        *_cors(cors),
        *_banners(pages),
        *_mixed_content(pages),
        *_listings([*pages, *listings]),
        *_verbose_errors([*pages, *extra]),
    ]


def _headers(pages: list[Exchange]) -> Iterator[Finding]:
    """One finding for the site naming every missing header: the headers are one setting of
    the server (or its proxy), so one fix, one finding, one suppression."""
    html = [p for p in pages if p.is_html and p.status < 400]
    missing: list[str] = []
    first: Exchange | None = None
    for name in (*_HEADERS, "X-Frame-Options"):
        page = next((p for p in html if _lacks(p, name)), None)
        if page is not None:
            missing.append(name)
            first = first or page
    if first is not None:
        text = f"{first.target} is sent without {', '.join(missing)}"
        yield finding("missing-security-header", first, text, "headers")


def _lacks(page: Exchange, name: str) -> bool:
    """Whether ``page`` lacks header ``name`` (CSP frame-ancestors stands for X-Frame-Options)."""
    if name == "X-Frame-Options" and "frame-ancestors" in (
        page.header("Content-Security-Policy") or ""
    ):
        return False
    return page.header(name) is None


def _cookies(pages: list[Exchange]) -> Iterator[Finding]:
    seen: set[str] = set()
    for page in pages:
        for cookie in page.all_headers("Set-Cookie"):
            name = cookie.split("=", 1)[0].strip()
            flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
            missing = [f for f in ("httponly", "secure", "samesite") if f not in flags]
            if missing and name not in seen:
                seen.add(name)
                text = f"cookie {name!r} is set without {', '.join(missing)}"
                yield finding("insecure-cookie", page, text, name, around=name)


def _cors(answer: Exchange) -> Iterator[Finding]:
    allowed = answer.header("Access-Control-Allow-Origin")
    credentials = (answer.header("Access-Control-Allow-Credentials") or "").lower() == "true"
    if allowed == EVIL_ORIGIN and credentials:
        text = "any Origin is reflected in Access-Control-Allow-Origin, with credentials"
        yield finding("cors-any-origin-with-credentials", answer, text, "reflect")
    elif allowed == "*":
        yield finding("cors-wildcard", answer, "Access-Control-Allow-Origin: *", "wildcard")


def _banners(pages: list[Exchange]) -> Iterator[Finding]:
    for name in ("Server", "X-Powered-By"):
        for page in pages:
            value = page.header(name)
            if value and (name != "Server" or _VERSION.search(value)):
                yield finding("server-banner", page, f"{name}: {value}", name)
                break


def _mixed_content(pages: list[Exchange]) -> Iterator[Finding]:
    for page in pages:
        if not page.is_html:
            continue
        for tag, _attribute, url in Page.parse(page.text).resources:
            if tag in _RESOURCE_TAGS and url.lower().startswith("http://"):
                text = f"<{tag}> loads {url} over plain http://"
                yield finding("mixed-content", page, text, url, around=url)


def _listings(answers: Iterable[Exchange]) -> Iterator[Finding]:
    seen: set[str] = set()
    for answer in answers:
        if answer.status == 200 and _LISTING.search(answer.text) and answer.target not in seen:
            seen.add(answer.target)
            yield finding("directory-listing", answer, f"{answer.target} lists its files", "list")


def _verbose_errors(answers: Iterable[Exchange]) -> Iterator[Finding]:
    """One finding naming every place that answers with a stack trace: the trace is shown by
    one error handler, so it is one flaw however many pages reach it."""
    shown = [(a, m) for a in answers if (m := _STACK_TRACE.search(a.text))]
    if not shown:
        return
    places = sorted({a.target.partition("?")[0] for a, _ in shown})
    first, match = shown[0]
    text = f"{', '.join(places)} answer with a stack trace (first: HTTP {first.status})"
    yield finding("verbose-error", first, text, "trace", around=match.group(0), place="/")
