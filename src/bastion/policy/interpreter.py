"""The one seam to ``regopy`` (rego-cpp): compile modules, run a query, translate errors.

Why the low-level calls: ``regopy.Interpreter.query`` parses the output text as JSON and
crashes with a ``JSONDecodeError`` when rego-cpp reports an evaluation error as text (for
example ``Function not found``), losing the message. We call the same C entry points the
wrapper uses (``rego_query``, ``rego_output_*``) and read errors from the text or the error
node tree. The interpreter's log level is set to NONE because rego-cpp otherwise prints errors
to the process's stdout, which carries data (``bastion scan --format json``).

Checked behaviour of regopy 1.5.2 that callers must know:

- Parse errors raise at ``add_module`` with a byte offset: we turn it into ``file:line:col``.
- Conflicts (two values for one complete rule) and recursion fail at query time, without a
  location: the error names the rule; we list the files loaded.
- Built-in errors (``concat`` on a number) are made errors with ``strict_built_in_errors``
  instead of silently undefined, so a broken rule cannot quietly stop denying.
- rego-cpp does not reject unsafe variables as OPA does; such a rule never fires.

Compiled modules are kept per digest of their names and texts (a few policies at most), so
deciding again with the same policy only sets the input and queries; an interpreter that saw
an error is dropped rather than reused.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from regopy import Interpreter, LogLevel, RegoError
from regopy import rego_shared as _c

from bastion.errors import PolicyError

__all__ = ["RegoModule", "evaluate"]

_ERROR_HEAD = re.compile(r"\(error (\d+):")
_ERROR_MSG = re.compile(r"\(errormsg (\d+):")
_NODE_ERROR_MESSAGE = 1801
_NODE_ERROR_CODE = 1803
# rego-cpp node kinds (regopy.NodeKind values; plain ints keep mypy off the untyped enum).
_WRAPPERS = {1002, 1003}  # Term, Scalar
_OBJECT = 1006
_SEQUENCES = {1004, 1005, 1015}  # Array, Set, Terms
_STRING, _INT, _FLOAT, _NULL = 1010, 1008, 1009, 1013
_SCALARS = {_STRING, _INT, _FLOAT, _NULL, 1011, 1012, 1111}  # + True, False, Boolean
_PLAIN = re.compile(r'[^"\\\x00-\x1f]*')


@dataclass(frozen=True, slots=True)
class RegoModule:
    """One policy file: ``name`` is what errors show (a path), ``source`` its text."""

    name: str
    source: str


def evaluate(modules: Sequence[RegoModule], query: str, input_json: str) -> Any:
    """The JSON value of ``query`` (None when undefined); PolicyError on any error."""
    compiled = _compiled(modules)
    with compiled.lock:  # one interpreter holds one input at a time
        try:
            return _query(compiled.interp, modules, query, input_json)
        except PolicyError:
            _forget(compiled.digest)
            raise


@dataclass(frozen=True, slots=True)
class _Compiled:
    digest: str
    interp: Interpreter
    lock: threading.Lock


_CACHE_SIZE = 8
_cache: OrderedDict[str, _Compiled] = OrderedDict()
_cache_lock = threading.Lock()


def _digest(modules: Sequence[RegoModule]) -> str:
    """Names and texts, length-prefixed so no two module lists share a digest."""
    hasher = hashlib.sha256()
    for module in modules:
        for part in (module.name.encode(), module.source.encode()):
            hasher.update(len(part).to_bytes(8, "big"))
            hasher.update(part)
    return hasher.hexdigest()


def _compiled(modules: Sequence[RegoModule]) -> _Compiled:
    """The interpreter with ``modules`` added, from the cache or made (PolicyError if broken)."""
    digest = _digest(modules)
    with _cache_lock:
        found = _cache.get(digest)
        if found is not None:
            _cache.move_to_end(digest)
            return found
    interp = Interpreter()
    interp.log_level = LogLevel.NONE
    interp.strict_built_in_errors = True
    by_name = {m.name: m for m in modules}
    for module in modules:
        try:
            interp.add_module(module.name, module.source)
        except RegoError as exc:
            raise _compile_error(str(exc), by_name) from exc
    made = _Compiled(digest, interp, threading.Lock())
    with _cache_lock:
        made = _cache.setdefault(digest, made)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return made


def _forget(digest: str) -> None:
    with _cache_lock:
        _cache.pop(digest, None)


def _query(interp: Interpreter, modules: Sequence[RegoModule], query: str, input_json: str) -> Any:
    try:
        interp.set_input_term(input_json)
        # The low-level query: see the module docstring for why not Interpreter.query.
        output = _c.rego_query(interp._impl, query)
    except RegoError as exc:
        raise _compile_error(str(exc), {m.name: m for m in modules}) from exc
    try:
        return _read_output(output, modules)
    finally:
        _c.rego_free_output(output)


def _read_output(output: Any, modules: Sequence[RegoModule]) -> Any:
    files = ", ".join(m.name for m in modules)
    if not _c.rego_output_ok(output):
        messages = _node_messages(_c.rego_output_node(output))
        raise PolicyError(
            f"policy evaluation failed: {'; '.join(messages) or 'unknown error'}",
            hint=f"fix the rule named above; policy files loaded: {files}",
        )
    text = _c.rego_output_string(output)
    if text == "undefined":
        return None
    if text.lstrip().startswith("(error"):
        messages = [msg for _name, _off, msg in _parse_error_text(text)]
        raise PolicyError(
            f"policy evaluation failed: {'; '.join(messages) or text.strip()[:200]}",
            hint=f"fix the rule named above; policy files loaded: {files}",
        )
    results = _c.rego_output_node(output)
    if _c.rego_node_size(results) == 0:
        return None
    terms = _child(_child(results, 0), 0)
    if _c.rego_node_size(terms) == 0:
        return None
    return _to_python(_child(terms, 0))


def _child(node: Any, index: int) -> Any:
    return _c.rego_node_get(node, index)


def _children(node: Any) -> list[Any]:
    return [_c.rego_node_get(node, i) for i in range(_c.rego_node_size(node))]


def _to_python(node: Any) -> Any:
    """A result node as a Python value.

    Read from the node tree, not the output text, because rego-cpp 1.5.2 does not escape
    quotes that ``sprintf("%s", [literal])`` wrongly adds, which makes the text invalid JSON.
    """
    kind = _c.rego_node_type(node)
    if kind in _WRAPPERS:
        return _to_python(_child(node, 0))
    if kind == _OBJECT:
        items = (_children(item) for item in _children(node))
        return {str(_to_python(key)): _to_python(value) for key, value in items}
    if kind in _SEQUENCES:
        return [_to_python(child) for child in _children(node)]
    if kind not in _SCALARS:
        raise PolicyError(f"policy produced a value Bastion cannot read (node kind {kind})")
    return _scalar(kind, _c.rego_node_value(node))


def _scalar(kind: int, raw: str) -> Any:
    if kind == _STRING:
        return _json_string(raw)
    if kind == _INT:
        return int(raw)
    if kind == _FLOAT:
        return float(raw)
    if kind == _NULL:
        return None
    return raw == "true"


def _json_string(raw: str) -> str:
    """Decode a string node's value.

    rego-cpp keeps strings that came from input as JSON-escaped text without quotes, and
    strings built by the policy (literals, ``concat``) as a quoted JSON literal. A raw value
    cannot start with an unescaped quote, so a leading and trailing quote marks the latter.
    """
    if _PLAIN.fullmatch(raw):
        # Nothing escaped, no quote, no control character: the text is the value. The
        # common case (every fingerprint), and decoding it was a third of a decision's time.
        return raw
    text = raw if len(raw) >= 2 and raw[0] == raw[-1] == '"' else f'"{raw}"'
    try:
        value: str = json.loads(text)
    except json.JSONDecodeError:
        # sprintf("%s", [computed]) in rego-cpp 1.5.2 embeds the quoted literal unescaped:
        # escape the stray quotes inside and read it as the text the policy produced.
        inner = text[1:-1]
        try:
            value = json.loads('"' + re.sub(r'(?<!\\)"', r"\"", inner) + '"')
        except json.JSONDecodeError as exc:
            raise PolicyError(f"policy produced an unreadable string: {raw[:100]!r}") from exc
    return value


def _node_messages(node: Any) -> list[str]:
    found: list[str] = []
    stack = [node]
    while stack:
        current = stack.pop()
        kind = _c.rego_node_type(current)
        if kind == _NODE_ERROR_MESSAGE:
            found.append(_c.rego_node_value(current))
        elif kind == _NODE_ERROR_CODE and found:
            found[-1] = f"{found[-1]} ({_c.rego_node_value(current)})"
        children = [_c.rego_node_get(current, i) for i in range(_c.rego_node_size(current))]
        stack.extend(reversed(children))
    return list(dict.fromkeys(found))


def _take(text: str, pos: int, length: int) -> tuple[str, int]:
    return text[pos : pos + length], pos + length


def _parse_error_text(text: str) -> list[tuple[str | None, int | None, str]]:
    """(module name, byte offset, message) of each error in rego-cpp's error text.

    Strings in that text are length-prefixed (``13:user/x.rego``), read by length so a file
    name or message containing ``|`` or ``)`` cannot confuse the parse.
    """
    errors: list[tuple[str | None, int | None, str]] = []
    for head in _ERROR_HEAD.finditer(text):
        name, after = _take(text, head.end(), int(head.group(1)))
        offset_match = re.match(r"\|(\d+)\|", text[after:])
        offset = int(offset_match.group(1)) if offset_match else None
        msg_match = _ERROR_MSG.search(text, after)
        message = _take(text, msg_match.end(), int(msg_match.group(1)))[0] if msg_match else ""
        errors.append((name or None, offset, message))
    if not errors:
        for msg_match in _ERROR_MSG.finditer(text):
            errors.append((None, None, _take(text, msg_match.end(), int(msg_match.group(1)))[0]))
    return errors


def _compile_error(text: str, modules: dict[str, RegoModule]) -> PolicyError:
    errors = _parse_error_text(text)
    if not errors:
        return PolicyError(f"policy could not be compiled: {text.strip()[:300]}")
    name, offset, message = errors[0]
    where = name or "<policy>"
    module = modules.get(name or "")
    if module is not None and offset is not None:
        before = module.source.encode()[:offset].decode(errors="replace")
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        where = f"{where}:{line}:{column}"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return PolicyError(
        f"{where}: {message or 'invalid Rego'}{more}",
        hint="policies are Rego v1: `package bastion.gate`, `import rego.v1`, "
        "`deny contains msg if { ... }`",
    )
