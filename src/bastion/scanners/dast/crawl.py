"""Find the service's pages and their inputs: same-origin links and GET forms, bounded.

>>> page = Page.parse('<a href="/search?q=x">s</a><form action="/f"><input name="n"></form>')
>>> sorted(page.links), page.forms
(['/search?q=x'], [('/f', ('n',))])
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser

from bastion.scanners.dast.client import Exchange, HttpClient

__all__ = ["Endpoint", "Page", "Site", "crawl"]

MAX_PAGES = 40
MAX_ENDPOINTS = 40


class Page(HTMLParser):
    """Links (``href``, ``src``) and GET forms of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: set[str] = set()
        self.resources: list[tuple[str, str, str]] = []  # (tag, attribute, url)
        self.forms: list[tuple[str, tuple[str, ...]]] = []
        self._form: tuple[str, list[str]] | None = None

    @classmethod
    def parse(cls, text: str) -> Page:
        """The page read from ``text``."""
        page = cls()
        page.feed(text)
        page.close()
        page._end_form()
        return page

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Collect links, sub-resources and form inputs."""
        values = {name: value or "" for name, value in attrs}
        for attribute in ("href", "src", "action"):
            if attribute in values:
                self.resources.append((tag, attribute, values[attribute]))
        if tag == "a" and values.get("href"):
            self.links.add(values["href"])
        if tag == "form" and values.get("method", "get").lower() == "get":
            self._end_form()
            self._form = (values.get("action") or "", [])
        if tag in ("input", "select", "textarea") and self._form and values.get("name"):
            self._form[1].append(values["name"])

    def handle_endtag(self, tag: str) -> None:
        """Close a form."""
        if tag == "form":
            self._end_form()

    def _end_form(self) -> None:
        if self._form is not None:
            self.forms.append((self._form[0], tuple(self._form[1])))
            self._form = None


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A path and its query parameters with a sample value each."""

    path: str
    params: tuple[tuple[str, str], ...]


@dataclass
class Site:
    """What crawling found: every page fetched and every endpoint with inputs."""

    pages: list[Exchange] = field(default_factory=list)
    endpoints: dict[tuple[str, tuple[str, ...]], Endpoint] = field(default_factory=dict)

    def add_endpoint(self, path: str, params: Iterable[tuple[str, str]]) -> None:
        """Remember ``path`` with ``params`` (once per path and parameter names)."""
        pairs = tuple(params)
        key = (path, tuple(sorted(name for name, _ in pairs)))
        if pairs and key not in self.endpoints and len(self.endpoints) < MAX_ENDPOINTS:
            self.endpoints[key] = Endpoint(path, pairs)


def _same_origin(base: str, link: str) -> str | None:
    """``link`` resolved against ``base`` as a path?query, or None when it leaves the site."""
    joined = urllib.parse.urljoin("http://service" + base, link)
    parts = urllib.parse.urlsplit(joined)
    if parts.netloc != "service" or parts.scheme != "http":
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def crawl(client: HttpClient, seeds: Iterable[str]) -> Site:
    """Fetch ``seeds`` and the same-origin pages they link to (breadth first, bounded)."""
    site, queue, seen = Site(), list(dict.fromkeys(seeds)), set[str]()
    while queue and len(site.pages) < MAX_PAGES:
        target = queue.pop(0)
        path, _, query = target.partition("?")
        site.add_endpoint(path, urllib.parse.parse_qsl(query, keep_blank_values=True))
        if path in seen:
            continue
        seen.add(path)
        exchange = client.get(target, kind="crawl")
        if exchange.status == 0:
            continue
        site.pages.append(exchange)
        if not exchange.is_html:
            continue
        page = Page.parse(exchange.text)
        for link in sorted(page.links):
            resolved = _same_origin(path, link)
            if resolved is not None:
                queue.append(resolved)
        for action, names in page.forms:
            resolved = _same_origin(path, action or path)
            if resolved is not None:
                site.add_endpoint(resolved.partition("?")[0], [(n, "1") for n in names])
    return site
