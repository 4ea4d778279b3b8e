"""A located, judged candidate with the secret itself already gone.

A :class:`Hit` is what leaves a worker process: the rule, where, the redacted form, the
salted digest and the noise verdict. The clear value never crosses a process boundary.
"""

from __future__ import annotations

from dataclasses import dataclass

from bastion.scanners.finding import Severity
from bastion.scanners.secrets.engine import Candidate, Engine
from bastion.scanners.secrets.noise import Action, judge
from bastion.scanners.secrets.redact import digest, redact

__all__ = ["Hit", "hits_in_file", "make_hit"]


@dataclass(frozen=True, slots=True)
class Hit:
    """One judged candidate, located, without its secret."""

    rule_id: str
    path: str
    line: int
    column: int
    end_line: int
    redacted: str
    digest: str
    entropy: float
    action: Action
    severity: Severity
    reason: str
    commit: str | None = None
    author: str | None = None
    date: str | None = None


def make_hit(
    cand: Candidate, path: str, line: int, column: int, text: bytes, previous: bytes
) -> Hit:
    """Judge ``cand`` (found at ``path:line:column`` on line ``text``) and forget its value."""
    verdict = judge(cand.rule, cand.secret, path, text, previous)
    return Hit(
        rule_id=cand.rule.id,
        path=path,
        line=line,
        column=column,
        end_line=line + cand.secret.count(b"\n"),
        redacted=redact(cand.secret),
        # The slow salted digest only for what is reported; dropped noise needs no identity.
        digest="" if verdict.action is Action.DROP else digest(cand.rule.id, cand.secret),
        entropy=round(cand.entropy, 2),
        action=verdict.action,
        severity=verdict.severity,
        reason=verdict.reason,
    )


def hits_in_file(engine: Engine, data: bytes, path: str) -> list[Hit]:
    """Every judged candidate in one file's bytes."""
    out: list[Hit] = []
    line, counted = 1, 0
    for cand in engine.candidates(data):
        # Candidates come sorted by offset, so line numbers are counted once, forwards.
        line += data.count(b"\n", counted, cand.start)
        counted = cand.start
        start = data.rfind(b"\n", 0, cand.start) + 1
        end = data.find(b"\n", cand.start)
        previous_start = data.rfind(b"\n", 0, max(start - 1, 0)) + 1 if start else start
        out.append(
            make_hit(
                cand,
                path,
                line,
                cand.start - start + 1,
                data[start : end if end >= 0 else len(data)],
                data[previous_start : max(start - 1, previous_start)],
            )
        )
    return out
