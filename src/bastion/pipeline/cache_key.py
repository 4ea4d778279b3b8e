"""A job cache's ``key:`` template, parsed when the pipeline file loads.

    key: "pip-${{ hashFiles('requirements*.txt', 'pyproject.toml') }}-${{ job }}"

Between ``${{`` and ``}}`` a template may name only:

* ``hashFiles('glob', ...)``: the sha256 over the job's source files matching the globs,
  worked out where the job's fresh workspace is (the executor), before any step runs;
* ``job``: the job's name;
* ``matrix.<name>``: a matrix value, only in a job that declares that matrix name.

Anything else is an error at load time, so a misspelt variable can never silently give
every run the same key. The literal text must already fit the key alphabet
(:data:`KEY_PATTERN`); the rendered key is checked again (:func:`check_rendered_key`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

from bastion.errors import PipelineError

__all__ = [
    "KEY_PATTERN",
    "MAX_KEY_LENGTH",
    "HashFiles",
    "KeyTemplate",
    "Variable",
    "check_cache_path",
    "check_rendered_key",
    "parse_key_template",
]

MAX_KEY_LENGTH = 200
KEY_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._+-]*")
"""A rendered key becomes a file name in the cache index: no '/', no leading '.'."""
_LITERAL = re.compile(r"[A-Za-z0-9._+-]*")
_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
_HASH_FILES = re.compile(r"hashFiles\((.*)\)", re.DOTALL)
_QUOTED = re.compile(r"\s*(?:'([^']*)'|\"([^\"]*)\")\s*(?:,|$)")
_VARIABLE = re.compile(r"job|matrix\.[A-Za-z_][A-Za-z0-9_-]*")


@dataclass(frozen=True, slots=True)
class Variable:
    """``${{ job }}`` or ``${{ matrix.<name> }}``, filled in by the engine."""

    name: str


@dataclass(frozen=True, slots=True)
class HashFiles:
    """``${{ hashFiles('a', 'b') }}``: workspace-relative globs."""

    globs: tuple[str, ...]


Part = str | Variable | HashFiles


@dataclass(frozen=True, slots=True)
class KeyTemplate:
    """A parsed key: literal text, variables and ``hashFiles`` in written order."""

    parts: tuple[Part, ...]

    def substitute(self, values: Mapping[str, str]) -> tuple[str | HashFiles, ...]:
        """Replace every variable by its value; ``hashFiles`` is left to the executor."""
        return tuple(values[p.name] if isinstance(p, Variable) else p for p in self.parts)


def _error(message: str, hint: str) -> PipelineError:
    return PipelineError(message, hint=hint)


def parse_key_template(text: str, *, matrix: Collection[str] = ()) -> KeyTemplate:
    """Parse ``text``; raise :class:`PipelineError` naming the first bad expression."""
    parts: list[Part] = []
    position = 0
    for match in _EXPRESSION.finditer(text):
        _literal(text[position : match.start()], parts)
        parts.append(_expression(match.group(1).strip(), match.start() + 1, matrix))
        position = match.end()
    _literal(text[position:], parts)
    if not parts:
        raise _error(
            "a cache key is empty", "e.g. key: \"pip-${{ hashFiles('requirements.txt') }}\""
        )
    if isinstance(parts[0], str) and parts[0].startswith("."):
        raise _error(f"cache key {text!r} starts with '.'", "start it with a letter or digit")
    return KeyTemplate(tuple(parts))


def _literal(chunk: str, parts: list[Part]) -> None:
    if "${{" in chunk or "}}" in chunk:
        raise _error(f"unclosed or stray '${{{{'/'}}}}' in {chunk!r}", "write ${{ name }}")
    if not _LITERAL.fullmatch(chunk):
        bad = next(c for c in chunk if not _LITERAL.fullmatch(c))
        raise _error(
            f"character {bad!r} is not allowed in a cache key",
            "use letters, digits and . _ + - only",
        )
    if chunk:
        parts.append(chunk)


def _expression(expr: str, column: int, matrix: Collection[str]) -> Part:
    call = _HASH_FILES.fullmatch(expr)
    if call is not None:
        return HashFiles(_globs(call.group(1)))
    if _VARIABLE.fullmatch(expr) and (expr == "job" or expr.removeprefix("matrix.") in matrix):
        return Variable(expr)
    allowed = ["hashFiles('glob', ...)", "job", *(f"matrix.{m}" for m in sorted(matrix))]
    raise _error(
        f"unknown variable {expr!r} in cache key (character {column})",
        f"a cache key may use only: {', '.join(allowed)}",
    )


def _globs(arguments: str) -> tuple[str, ...]:
    globs: list[str] = []
    position = 0
    while position < len(arguments):
        match = _QUOTED.match(arguments, position)
        if match is None or match.end() == position:
            raise _error(
                f"hashFiles({arguments}) takes quoted globs", "e.g. hashFiles('**/*.lock')"
            )
        globs.append(check_cache_path(match.group(1) or match.group(2) or "", what="glob"))
        position = match.end()
    if not globs:
        raise _error("hashFiles() needs at least one glob", "e.g. hashFiles('poetry.lock')")
    return tuple(globs)


def check_cache_path(path: str, *, what: str = "cache path") -> str:
    """``path`` if it is relative and stays inside the workspace, else a PipelineError."""
    pure = PurePosixPath(path)
    if not path or pure.is_absolute() or path.startswith("~"):
        raise _error(f"{what} {path!r} must be relative to the workspace", "e.g. .cache/pip")
    if ".." in pure.parts or "\\" in path or "\0" in path:
        raise _error(f"{what} {path!r} leaves the workspace", "remove '..' from it")
    if what == "cache path" and (pure.parts == (".",) or any(c in path for c in "*?[")):
        raise _error(f"{what} {path!r} must name one folder or file", "e.g. .cache/pip")
    return path


def check_rendered_key(key: str) -> str:
    """``key`` if it is a valid index name, else a PipelineError (after substitution)."""
    if len(key) > MAX_KEY_LENGTH or not KEY_PATTERN.fullmatch(key):
        raise _error(
            f"rendered cache key {key[:80]!r} is not 1-{MAX_KEY_LENGTH} letters, digits, . _ + -",
            "a matrix value in the key may hold other characters; shorten or change it",
        )
    return key
