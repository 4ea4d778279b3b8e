"""GitHub Actions expressions: find ``${{ … }}`` and tell who controls what they expand to.

    >>> [e.text for e in expressions("echo ${{ github.event.issue.title }} ${{ github.sha }}")]
    ['github.event.issue.title', 'github.sha']
    >>> attacker_contexts("github.event.pull_request.head.ref || 'main'")
    ['github.event.pull_request.head.ref']

A context is *attacker-controlled* when anyone who can open an issue, a pull request, a
comment or a branch chooses its text (titles, bodies, branch names, commit messages, author
names and e-mails). Numbers, SHAs, booleans and repository-owned names are not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "Expression",
    "attacker_contexts",
    "context_references",
    "expressions",
    "is_safe_context",
]

_EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
_CONTEXT = re.compile(
    r"(?<![\w.'\"-])((?:github|inputs|env|steps|needs|matrix|vars|secrets|"
    r"jobs|runner|strategy)(?:\.[\w*-]+|\[[^\]]*\])*)"
)
_STRING = re.compile(r"'(?:[^']|'')*'")

# Regular expressions over a context path (`*` stands for any array index or key).
_ATTACKER = tuple(
    re.compile(pattern)
    for pattern in (
        r"^github\.head_ref$",
        r"^github\.event(\.(issue|pull_request|comment|review|review_comment|discussion|"
        r"head_commit|commits|workflow_run|pages))?$",
        r"^github\.event\.(issue|pull_request|discussion)\.(title|body)$",
        r"^github\.event\.(comment|review|review_comment)\.body$",
        r"^github\.event\.pull_request\.head\.(ref|label)$",
        r"^github\.event\.pull_request\.head\.repo\.(default_branch|description|homepage)$",
        r"^github\.event\.pages(\.\*|\[.*\])\.page_name$",
        r"^github\.event\.(commits(\.\*|\[.*\])|head_commit)\.message$",
        r"^github\.event\.(commits(\.\*|\[.*\])|head_commit)\.(author|committer)\.(name|email)$",
        r"^github\.event\.workflow_run\.(head_branch|display_title)$",
        r"^github\.event\.workflow_run\.head_commit\.(message|author\.(name|email))$",
        r"^github\.event\.workflow_run\.pull_requests(\.\*|\[.*\])\.head\.ref$",
        r"^github\.event\.(release|milestone)\.(name|body|title|description)$",
        r"^github\.event\.(check_suite|check_run)\.head_branch$",
    )
)
_SAFE = tuple(
    re.compile(pattern)
    for pattern in (
        r"^github\.(sha|ref_type|run_id|run_number|run_attempt|repository(_id|_owner(_id)?)?|"
        r"workspace|action_path|server_url|api_url|graphql_url|job|workflow|workflow_ref|"
        r"workflow_sha|event_name|retention_days|ref|ref_name|base_ref|token|action|"
        r"repositoryUrl|event_path|env|path|output|triggering_actor|actor|actor_id|"
        r"secret_source|ref_protected)$",
        r"^github\.event\.(number|pull_request\.number|issue\.number|action)$",
        r"^github\.event\..*\.(id|sha|number|node_id|merged|draft|state|created_at|"
        r"updated_at|url|html_url|size|private|fork)$",
        r"^(secrets|vars|runner|strategy|job)\b",
        r"^matrix\.",
    )
)


@dataclass(frozen=True, slots=True)
class Expression:
    """One ``${{ … }}``: its inner text and where it starts and ends in the scalar."""

    text: str
    raw: str
    start: int
    end: int


def expressions(text: str) -> list[Expression]:
    """Every ``${{ … }}`` in ``text``, in order, inner text stripped."""
    return [
        Expression(m.group(1).strip(), m.group(0), m.start(), m.end()) for m in _EXPR.finditer(text)
    ]


def _normalise(context: str) -> str:
    context = re.sub(r"\[\s*'([\w-]+)'\s*\]", r".\1", context)
    return re.sub(r"\[[^\]]*\]", ".*", context)


def context_references(expression: str) -> list[str]:
    """Context paths an expression reads (string literals skipped), normalised."""
    code = _STRING.sub("''", expression)
    return [_normalise(m.group(1)) for m in _CONTEXT.finditer(code)]


def _attacker(context: str) -> bool:
    return any(p.match(context) for p in _ATTACKER)


def attacker_contexts(expression: str) -> list[str]:
    """The attacker-controlled contexts ``expression`` reads."""
    return [c for c in context_references(expression) if _attacker(c)]


def is_safe_context(context: str) -> bool:
    """True for a context whose value no outsider chooses (SHAs, numbers, secrets…)."""
    return not _attacker(context) and any(p.match(context) for p in _SAFE)
