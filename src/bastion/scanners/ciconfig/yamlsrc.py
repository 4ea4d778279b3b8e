"""CI files as located YAML trees: every key and value keeps its line and column.

    >>> doc = load_document("on: push\\njobs:\\n  a: {runs-on: ubuntu-latest}\\n", "w.yml")
    >>> doc.root.get("jobs").get("a").get("runs-on").text, doc.root.get("jobs").line
    ('ubuntu-latest', 3)

Why not ``yaml.safe_load``: a finding must point at the exact line and column, PyYAML keeps
the last of two duplicate keys silently (GitHub refuses the file; two readers disagreeing on
which step runs is how a malicious step hides), and aliases are shared nodes that explode
when expanded. The limits copy the idea of ``bastion.pipeline``'s loader (bytes, depth,
values built, aliases expanded) without importing it: a scanner imports no other package.
Any problem is a :class:`YamlProblem` with the file's line and column, never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import yaml

__all__ = [
    "YMap",
    "YNode",
    "YScalar",
    "YSeq",
    "YamlDocument",
    "YamlLimits",
    "YamlProblem",
    "load_document",
]


@dataclass(frozen=True, slots=True)
class YamlLimits:
    """Caps that keep a hostile file from exhausting memory or time."""

    max_bytes: int = 2 * 1024 * 1024
    max_depth: int = 64
    max_nodes: int = 200_000


class YamlProblem(Exception):
    """A file that cannot be read as one safe YAML document; ``line``/``column`` 1-based."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


@dataclass(frozen=True, slots=True)
class _Node:
    line: int
    column: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class YScalar(_Node):
    """A scalar as written (``text``), before any YAML 1.1 typing."""

    text: str
    style: str | None = None
    plain_null: bool = False


@dataclass(frozen=True, slots=True)
class YSeq(_Node):
    """A sequence of nodes."""

    items: tuple[YNode, ...] = ()


@dataclass(frozen=True, slots=True)
class YMap(_Node):
    """A mapping with string keys; ``keys`` keeps each key's own node."""

    entries: dict[str, YNode] = field(default_factory=dict)
    keys: dict[str, YScalar] = field(default_factory=dict)

    def get(self, key: str) -> YNode | None:
        """The value under ``key``, or None."""
        return self.entries.get(key)

    def map(self, key: str) -> YMap | None:
        """The value under ``key`` when it is a mapping."""
        value = self.entries.get(key)
        return value if isinstance(value, YMap) else None

    def scalar(self, key: str) -> YScalar | None:
        """The value under ``key`` when it is a scalar."""
        value = self.entries.get(key)
        return value if isinstance(value, YScalar) else None

    def text(self, key: str) -> str | None:
        """The scalar text under ``key``, or None."""
        value = self.scalar(key)
        return None if value is None else value.text

    def items(self) -> Iterator[tuple[str, YNode]]:
        """Keys and values in file order."""
        yield from self.entries.items()


YNode = YScalar | YSeq | YMap


@dataclass(frozen=True, slots=True)
class YamlDocument:
    """One parsed file: its text (to locate substrings of scalars) and its root node."""

    source: str
    root: YMap

    def position(self, scalar: YScalar, needle: str, nth: int = 0) -> tuple[int, int]:
        """Line and column of the ``nth`` ``needle`` inside ``scalar`` as written.

        Block scalars and plain text are found in the source itself, so the column is the
        real one; a needle the source spells differently (escapes) falls back to the scalar.
        """
        index = scalar.start - 1
        for _ in range(nth + 1):
            index = self.source.find(needle, index + 1, scalar.end)
            if index < 0:
                return scalar.line, scalar.column
        line_start = self.source.rfind("\n", 0, index) + 1
        return self.source.count("\n", 0, index) + 1, index - line_start + 1


class _Builder:
    def __init__(self, limits: YamlLimits) -> None:
        self.limits = limits
        self.nodes = 0

    def build(self, node: yaml.Node, depth: int) -> YNode:
        self.nodes += 1
        mark = node.start_mark
        where = (mark.line + 1, mark.column + 1)
        if self.nodes > self.limits.max_nodes:
            raise YamlProblem(
                f"document expands to more than {self.limits.max_nodes} values (an alias bomb?)",
                *where,
            )
        if depth > self.limits.max_depth:
            raise YamlProblem(f"nesting deeper than {self.limits.max_depth} levels", *where)
        span = (*where, mark.index, node.end_mark.index)
        if isinstance(node, yaml.ScalarNode):
            null = node.style is None and node.tag == "tag:yaml.org,2002:null"
            return YScalar(*span, text=str(node.value), style=node.style, plain_null=null)
        if isinstance(node, yaml.SequenceNode):
            return YSeq(*span, items=tuple(self.build(item, depth + 1) for item in node.value))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, span, depth)
        raise YamlProblem("unsupported YAML node", *where)  # pragma: no cover (no such node)

    def _mapping(self, node: yaml.MappingNode, span: tuple[int, int, int, int], depth: int) -> YMap:
        entries: dict[str, YNode] = {}
        keys: dict[str, YScalar] = {}
        merged: list[YMap] = []
        for key_node, value_node in node.value:
            kmark = key_node.start_mark
            where = (kmark.line + 1, kmark.column + 1)
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlProblem("mapping keys must be plain strings", *where)
            key = str(key_node.value)
            if key == "<<" and key_node.style is None:
                merged.extend(self._merge_sources(value_node, depth))
                continue
            if key in entries:
                raise YamlProblem(
                    f"duplicate key '{key}' (first at line {keys[key].line}); readers "
                    "disagree on which one wins",
                    *where,
                )
            self.nodes += 1  # the key counts as a value built
            keys[key] = YScalar(
                *where, kmark.index, key_node.end_mark.index, text=key, style=key_node.style
            )
            entries[key] = self.build(value_node, depth + 1)
        for source in merged:  # `<<: *defaults`: explicit keys win, earlier merges win
            for key, value in source.items():
                if key not in entries:
                    entries[key], keys[key] = value, source.keys[key]
        return YMap(*span, entries=entries, keys=keys)

    def _merge_sources(self, node: yaml.Node, depth: int) -> list[YMap]:
        built = self.build(node, depth + 1)
        sources = list(built.items) if isinstance(built, YSeq) else [built]
        if not all(isinstance(item, YMap) for item in sources):
            raise YamlProblem("a merge key (<<) takes a mapping", built.line, built.column)
        return [item for item in sources if isinstance(item, YMap)]


def _compose(text: str) -> yaml.Node | None:
    loader = yaml.SafeLoader(text)
    try:
        return loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "unreadable"
        if "\t" in problem or "'\\t'" in problem:
            problem += " (a tab: YAML indents with spaces only)"
        raise YamlProblem(f"invalid YAML: {problem}", line, column) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()


def load_document(raw: str | bytes, source: str, limits: YamlLimits | None = None) -> YamlDocument:
    """Parse one CI file; :class:`YamlProblem` (with line and column) when it is unsafe."""
    limits = limits or YamlLimits()
    data = raw.encode() if isinstance(raw, str) else raw
    if len(data) > limits.max_bytes:
        raise YamlProblem(f"{source} is {len(data)} bytes, over the {limits.max_bytes} limit")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise YamlProblem(f"not UTF-8 (byte {exc.start})", line) from None
    if text.startswith("\ufeff"):
        text = " " + text[1:]  # keep offsets; a BOM is legal but would shift columns
    node = _compose(text)
    if node is None:
        return YamlDocument(text, YMap(1, 1, 0, 0))
    built = _Builder(limits).build(node, 0)
    if not isinstance(built, YMap):
        raise YamlProblem("the top level must be a mapping", built.line, built.column)
    return YamlDocument(text, built)
