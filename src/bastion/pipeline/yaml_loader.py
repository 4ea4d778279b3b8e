"""Safe YAML loading that remembers where every value came from.

Why our own walk over PyYAML's node graph instead of ``yaml.safe_load``: we need the line and
column of every key and value for error messages, we must refuse duplicate keys (PyYAML keeps
the last one silently), and we cap alias expansion ourselves — PyYAML shares aliased nodes,
so a "billion laughs" document stays small as nodes but explodes when turned into objects.
Every node we build counts against ``max_nodes``, so an alias bomb stops with a clear error.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bastion.errors import PipelineError

__all__ = ["LoadLimits", "LocatedDocument", "load_yaml"]

Path_ = tuple[str | int, ...]

_BOOL_TAG = "tag:yaml.org,2002:bool"


@dataclass(frozen=True, slots=True)
class LoadLimits:
    """Caps that keep a hostile file from exhausting memory or time."""

    max_bytes: int = 1024 * 1024
    max_depth: int = 32
    max_nodes: int = 100_000


@dataclass(slots=True)
class LocatedDocument:
    """Plain Python data plus a map from each value's path to its (line, column), 1-based."""

    data: Any
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: Path_, *, key: bool = False) -> tuple[int, int] | None:
        """The position of ``path`` or of its nearest ancestor that has one."""
        table = self.key_positions if key else self.positions
        probe = tuple(path)
        while True:
            if probe in table:
                return table[probe]
            if key and probe in self.positions:
                return self.positions[probe]
            if not probe:
                return None
            probe = probe[:-1]


class _Builder:
    def __init__(self, source: str, loader: yaml.SafeLoader, limits: LoadLimits) -> None:
        self.source = source
        self.loader = loader
        self.limits = limits
        self.nodes = 0
        self.doc = LocatedDocument(data=None)

    def error(self, node: yaml.Node, message: str, hint: str | None = None) -> PipelineError:
        mark = node.start_mark
        return PipelineError(
            message, path=self.source, line=mark.line + 1, column=mark.column + 1, hint=hint
        )

    def build(self, node: yaml.Node, path: Path_, depth: int) -> Any:
        self.nodes += 1
        if self.nodes > self.limits.max_nodes:
            raise self.error(
                node,
                f"document expands to more than {self.limits.max_nodes} values",
                "remove deeply repeated aliases (&anchor / *alias); they expand on load",
            )
        if depth > self.limits.max_depth:
            raise self.error(node, f"nesting deeper than {self.limits.max_depth} levels")
        mark = node.start_mark
        self.doc.positions[path] = (mark.line + 1, mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.ScalarNode):
            try:
                return self.loader.construct_object(node, deep=True)
            except yaml.constructor.ConstructorError as exc:
                raise self.error(
                    node, f"unsupported YAML value: {exc.problem}", "use plain YAML scalars"
                ) from exc
        raise self.error(node, "unsupported YAML node")

    def _mapping(self, node: yaml.MappingNode, path: Path_, depth: int) -> dict[str, Any]:
        self.loader.flatten_mapping(node)  # resolves `<<` merge keys
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.error(key_node, "mapping keys must be plain strings")
            # Keys are always strings: YAML 1.1 would read `on:` as the boolean true.
            key = key_node.value if key_node.tag == _BOOL_TAG else self._key(key_node)
            if key in result:
                raise self.error(
                    key_node,
                    f"duplicate key '{key}'",
                    "each key may appear once in a mapping; merge the two entries",
                )
            kmark = key_node.start_mark
            self.doc.key_positions[(*path, key)] = (kmark.line + 1, kmark.column + 1)
            result[key] = self.build(value_node, (*path, key), depth + 1)
        return result

    def _key(self, node: yaml.ScalarNode) -> str:
        value: Hashable = self.loader.construct_object(node)
        return node.value if value is None else str(value)


def load_yaml(
    text: str | bytes, *, source: str, limits: LoadLimits | None = None
) -> LocatedDocument:
    """Parse one YAML document safely; :class:`PipelineError` with file:line:column if not."""
    limits = limits or LoadLimits()
    raw = text.encode() if isinstance(text, str) else text
    if len(raw) > limits.max_bytes:
        raise PipelineError(
            f"file is {len(raw)} bytes, more than the limit of {limits.max_bytes}",
            path=source,
            hint="keep pipeline files small; split large scripts into files in the repository",
        )
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PipelineError(
            f"file is not UTF-8 (byte {exc.start})", path=source, hint="save it as UTF-8"
        ) from exc
    loader = yaml.SafeLoader(decoded)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise PipelineError(
            f"invalid YAML: {exc.problem or exc.context}",
            path=source,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
            hint="check indentation and quoting at this position",
        ) from exc
    except yaml.YAMLError as exc:
        raise PipelineError(f"invalid YAML: {exc}", path=source) from exc
    finally:
        loader.dispose()
    builder = _Builder(source, loader, limits)
    if root is None:
        builder.doc.data = None
        return builder.doc
    builder.doc.data = builder.build(root, (), 0)
    return builder.doc


def load_yaml_file(path: Path, *, display: str | None = None) -> LocatedDocument:
    """Read and parse ``path``; the error names ``display`` (defaults to the path)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PipelineError(f"cannot read file: {exc.strerror}", path=display or str(path)) from exc
    return load_yaml(raw, source=display or str(path))
