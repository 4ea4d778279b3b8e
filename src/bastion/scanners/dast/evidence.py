"""Findings with their evidence: the request sent and an excerpt of the answer.

The evidence lands in ``Finding.properties`` (``request``, ``response``, ``probe_class``),
which the SARIF writer carries in each result's ``properties.bastion.properties``. The
location is the URL path probed (no leading slash, no query), so a finding keeps its
identity across runs on another port.
"""

from __future__ import annotations

import urllib.parse

from bastion.scanners.dast.client import Exchange
from bastion.scanners.dast.rules import RULES
from bastion.scanners.finding import Finding, Location

__all__ = ["GATE_NAME", "finding"]

GATE_NAME = "dast"


def _place(exchange: Exchange) -> str:
    return urllib.parse.urlsplit(exchange.target).path.lstrip("/")


def finding(
    rule_id: str,
    exchange: Exchange,
    message: str,
    key: str,
    *,
    around: str | None = None,
    place: str | None = None,
) -> Finding:
    """A finding of ``rule_id`` seen in ``exchange``; ``key`` names what was found (a
    header, a parameter) so the fingerprint is stable; ``around`` centres the excerpt."""
    rule = RULES[rule_id]
    place = _place(exchange) if place is None else place.lstrip("/")
    return Finding.create(
        gate=GATE_NAME,
        rule_id=rule_id,
        severity=rule.severity,
        message=message,
        location=Location(place),
        match_key=f"{place}\x1f{key}",
        title=rule.title,
        cwe=(rule.cwe,),
        fix=rule.fix,
        properties={
            "probe_class": rule.probe_class.value,
            "request": exchange.request_text(),
            "response": exchange.response_excerpt(around),
        },
    )
