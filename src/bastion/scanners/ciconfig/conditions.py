"""Rules on expressions wherever they appear: secrets exposed whole, unsound tests, bot checks.

>>> from bastion.scanners.ciconfig.yamlsrc import load_document
>>> [h.rule for h in check_expressions(load_document(
...     "x: ${{ toJSON(secrets) }}\\n", "w.yml"))]
['overprovisioned-secrets']
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bastion.scanners.ciconfig.expressions import expressions as find_expressions
from bastion.scanners.ciconfig.rules import Hit
from bastion.scanners.ciconfig.yamlsrc import YamlDocument, YMap, YNode, YScalar, YSeq

__all__ = ["check_expressions", "walk"]

_WHOLE_SECRETS = re.compile(r"\btoJSON\s*\(\s*secrets\s*\)|\bsecrets\s*\[", re.IGNORECASE)
_SECRET_FIELD = re.compile(r"\bfromJSON\s*\(\s*secrets\.[\w-]+\s*\)\s*(\.|\[)", re.IGNORECASE)
_CONTAINS = re.compile(r"\bcontains\s*\(\s*'[^']*'\s*,\s*(github|env|inputs|steps|needs)\.")
_BOT = re.compile(
    r"github\.(actor|triggering_actor)\s*[=!]=\s*'[^']*\[bot\]'|'[^']*\[bot\]'\s*[=!]=\s*"
    r"github\.(actor|triggering_actor)"
)
_TERNARY = re.compile(r"&&\s*([^|&]+?)\s*\|\|")
_TRUTHY_LITERAL = re.compile(r"^('[^']+'|\d+(\.\d+)?|true)$")


def walk(node: YNode, key: str = "") -> Iterator[tuple[str, YScalar]]:
    """Every scalar with the key it sits under (the parent's key for list items)."""
    if isinstance(node, YScalar):
        yield key, node
    elif isinstance(node, YSeq):
        for item in node.items:
            yield from walk(item, key)
    else:
        for child_key, child in node.items():
            yield from walk(child, child_key)


def _expression_hits(doc: YamlDocument, node: YScalar) -> Iterator[Hit]:
    seen: dict[str, int] = {}
    for expr in find_expressions(node.text):
        nth = seen.get(expr.raw, 0)
        seen[expr.raw] = nth + 1
        line, col = doc.position(node, expr.raw, nth)
        yield from _one_expression(expr.text, line, col)


def _one_expression(text: str, line: int, col: int) -> Iterator[Hit]:
    if _WHOLE_SECRETS.search(text):
        yield Hit(
            "overprovisioned-secrets",
            line,
            col,
            f"`{text}` hands every secret of the repository to this place",
            text,
        )
    if _SECRET_FIELD.search(text):
        yield Hit(
            "unredacted-secrets",
            line,
            col,
            f"`{text}`: a field of a JSON secret is not masked in logs",
            text,
        )
    if _CONTAINS.search(text):
        yield Hit(
            "unsound-contains",
            line,
            col,
            f"`{text}`: any substring of the string passes, e.g. a branch named 'mai'",
            text,
        )
    for middle in _TERNARY.findall(text):
        if not _TRUTHY_LITERAL.match(middle.strip()):
            yield Hit(
                "unsound-ternary",
                line,
                col,
                f"`{text}`: when `{middle.strip()}` is empty the `||` side is used",
                text,
            )


def _condition_hits(node: YScalar) -> Iterator[Hit]:
    text = node.text
    whole = text.startswith("${{") and text.endswith("}}") and text.count("${{") == 1
    if "${{" in text and not whole:
        yield Hit(
            "unsound-condition",
            node.line,
            node.column,
            "text around `${{ }}` (a block scalar's newline too) makes the condition a "
            "non-empty string: always true",
            text.strip(),
        )
    if _BOT.search(text):
        yield Hit(
            "bot-conditions",
            node.line,
            node.column,
            "github.actor names whoever triggered the latest event, which a person can "
            "arrange to be the bot",
            text,
        )


def _insecure_commands(parent: YMap) -> Iterator[Hit]:
    env = parent.map("env")
    value = env.scalar("ACTIONS_ALLOW_UNSECURE_COMMANDS") if env else None
    if value is not None and value.text.strip().lower() not in {"false", "0", ""}:
        yield Hit(
            "insecure-commands",
            value.line,
            value.column,
            "ACTIONS_ALLOW_UNSECURE_COMMANDS lets any output line set env and PATH",
            "ACTIONS_ALLOW_UNSECURE_COMMANDS",
        )


def _maps(node: YNode) -> Iterator[YMap]:
    if isinstance(node, YMap):
        yield node
        for _, child in node.items():
            yield from _maps(child)
    elif isinstance(node, YSeq):
        for item in node.items:
            yield from _maps(item)


def check_expressions(doc: YamlDocument) -> list[Hit]:
    """Expression, condition and environment rules over the whole document."""
    hits: list[Hit] = []
    for key, node in walk(doc.root):
        hits += _expression_hits(doc, node)
        if key == "if":
            hits += _condition_hits(node)
            if "${{" not in node.text:  # a bare condition is an expression too
                hits += _one_expression(node.text.strip(), node.line, node.column)
    for mapping in _maps(doc.root):
        hits += _insecure_commands(mapping)
    return hits
