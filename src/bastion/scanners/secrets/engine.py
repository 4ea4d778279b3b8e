"""The detection engine: one Hyperscan pass over a buffer, then precise confirmation.

    >>> from bastion.scanners.secrets.engine import Engine
    >>> engine = Engine.default()
    >>> # bastion:allow secret-database-url-password a made-up doctest value
    >>> [c.rule.id for c in engine.candidates(b"db = 'postgres://app:Zq8vL2pW9x@db:5432/app'")]
    ['database-url-password']

Why Hyperscan and not one big Python ``re``: a Python alternation of 100+ patterns runs every
branch at every offset (tens of MB/s at best); Hyperscan compiles all rules into one automaton
and scans at hundreds of MB/s. Hyperscan cannot extract capture groups and rejects some
constructs, so each rule's pattern is compiled in *prefilter* mode with its bounded repeats
relaxed (a superset of the rule, and 50x cheaper to compile); a Hyperscan hit only names a
rule and an end offset. The rule's exact Python pattern then runs over that one line (or the
rule's window, for multi-line private keys), after a keyword check, and the candidate must
pass the rule's entropy floor and structural validator.

The compiled database is cached (``$XDG_CACHE_HOME/bastion``) keyed by the patterns, the
Hyperscan version and the CPU architecture; a cache file is used only when the current user
owns it and its folder and no one else can write them, and any load failure means compiling.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import stat
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import hyperscan

from bastion.errors import GateError
from bastion.scanners.secrets.catalog import load_rules
from bastion.scanners.secrets.rule import Rule
from bastion.scanners.secrets.validators import check, shannon_entropy

__all__ = [
    "Candidate",
    "Engine",
    "default_cache_dir",
    "prepare_shared_cache",
    "relax_pattern",
    "shared_cache_dir",
]

_HS_VERSION = str(getattr(hyperscan, "__version__", "0.9")).encode()

_OPTIONAL_RUN = re.compile(r"\{0,\d+\}\??")
_RANGE = re.compile(r"\{(\d+),(\d*)\}\??")
_EXACT = re.compile(r"(?<!\\)\{(\d+)\}")
_RELAX_CAP = 16


def _cache_file(expressions: list[bytes], cache_dir: Path | None) -> Path | None:
    if cache_dir is None:
        return None
    key = hashlib.sha256(b"\0".join([_HS_VERSION, platform.machine().encode(), *expressions]))
    return cache_dir / f"secrets-{key.hexdigest()[:32]}.hsdb"


def _trusted(path: Path) -> bool:
    """Only a cache file we own and nobody else can write may stand in for compiling.

    Root's files count too: in the sandbox the job's own uid owns nothing, and the cache
    the host prepared (:func:`prepare_shared_cache`) is root's, bound read-only.
    """
    try:
        info = path.stat()
    except OSError:
        return False
    owner_ok = info.st_uid in (os.getuid(), 0)
    return owner_ok and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _load_cached(expressions: list[bytes], cache_dir: Path | None) -> hyperscan.Database | None:
    path = _cache_file(expressions, cache_dir)
    if path is None or not _trusted(path) or not _trusted(path.parent):
        return None
    try:
        database: hyperscan.Database = hyperscan.loadb(path.read_bytes(), hyperscan.HS_MODE_BLOCK)
        # A deserialised database has no scratch space until one is made for it.
        database.scratch = hyperscan.Scratch(database)
    except (OSError, hyperscan.error):
        return None  # another CPU or a stale file: compiling is always correct
    return database


def shared_cache_dir(home: Path) -> Path:
    """Where the host keeps the compiled database for sandboxed scans: ``home/cache/secrets``."""
    return home / "cache" / "secrets"


def prepare_shared_cache(rules: Sequence[Rule], home: Path) -> Path:
    """Compile ``rules`` on the host into :func:`shared_cache_dir`, readable by job uids.

    A sandboxed gate runs as a fresh uid with no cache of its own and would compile the
    database (about 0.1 s) on every scan; this one is bound into the sandbox read-only.
    """
    cache = shared_cache_dir(home)
    expressions = _expressions(rules)
    path = _cache_file(expressions, cache)
    if path is not None and _trusted(path) and _trusted(cache):
        return cache
    cache.mkdir(parents=True, exist_ok=True)
    cache.chmod(0o755)  # a job uid reads it; only the owner writes
    _compile(expressions, cache, mode=0o644)
    return cache


def _expressions(rules: Sequence[Rule]) -> list[bytes]:
    return [relax_pattern(rule.scan_pattern).encode() for rule in rules]


def _compile(
    expressions: list[bytes], cache_dir: Path | None, mode: int = 0o600
) -> hyperscan.Database:
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    try:
        database.compile(
            expressions=expressions,
            ids=list(range(len(expressions))),
            elements=len(expressions),
            flags=[hyperscan.HS_FLAG_PREFILTER] * len(expressions),
        )
    except hyperscan.error as exc:
        raise GateError(
            f"the secret rules do not compile for Hyperscan: {exc}",
            hint="a rule pattern uses a construct Hyperscan rejects; fix the rule",
        ) from exc
    path = _cache_file(expressions, cache_dir)
    if path is not None:
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            temp = path.with_suffix(f".{os.getpid()}.tmp")
            temp.write_bytes(hyperscan.dumpb(database))
            temp.chmod(mode)
            temp.replace(path)
        except OSError:
            pass  # a read-only home (a sandbox) only costs the next run a compile
    return database


def default_cache_dir() -> Path | None:
    """``$XDG_CACHE_HOME/bastion`` or ``$HOME/.cache/bastion``; None without an absolute one.

    A sandbox may have neither: then every run compiles (never a cache relative to the cwd,
    which would be the scanned workspace).
    """
    xdg, home = os.environ.get("XDG_CACHE_HOME", ""), os.environ.get("HOME", "")
    if os.path.isabs(xdg):
        return Path(xdg) / "bastion"
    if os.path.isabs(home):
        return Path(home) / ".cache" / "bastion"
    return None


def relax_pattern(pattern: str) -> str:
    """A cheaper superset of ``pattern`` for the prefilter: long bounded repeats opened up.

    ``x{0,30}`` becomes ``x*`` and ``x{40,200}`` or ``x{40}`` becomes ``x{16,}``: every string
    the rule matches still matches, and the exact pattern confirms afterwards.
    """
    pattern = _OPTIONAL_RUN.sub("*", pattern)
    pattern = _RANGE.sub(lambda m: f"{{{min(int(m.group(1)), _RELAX_CAP)},}}", pattern)
    return _EXACT.sub(
        lambda m: f"{{{_RELAX_CAP},}}" if int(m.group(1)) > _RELAX_CAP else m.group(0), pattern
    )


@dataclass(frozen=True, slots=True)
class Candidate:
    """A confirmed match: the rule, the secret's byte span in the buffer, the secret."""

    rule: Rule
    start: int
    end: int
    secret: bytes
    entropy: float


class Engine:
    """All rules compiled into one Hyperscan database; reusable and fork-safe."""

    def __init__(self, rules: Sequence[Rule], *, cache_dir: Path | None = None) -> None:
        self.rules: tuple[Rule, ...] = tuple(rules)
        expressions = _expressions(self.rules)
        self._db = _load_cached(expressions, cache_dir) or _compile(expressions, cache_dir)

    @classmethod
    def default(cls) -> Engine:
        """An engine over the built-in catalog, its compiled database cached per user (or,
        in a sandbox, the one the host prepared under ``$BASTION_HOME``)."""
        rules = load_rules()
        home = os.environ.get("BASTION_HOME", "")
        if os.path.isabs(home):
            shared = shared_cache_dir(Path(home))
            if _cache_file(_expressions(rules), shared) is not None and shared.is_dir():
                return cls(rules, cache_dir=shared)
        return cls(rules, cache_dir=default_cache_dir())

    def _hits(self, data: bytes) -> list[tuple[int, int]]:
        hits: list[tuple[int, int]] = []
        append = hits.append

        def on_match(rule_index: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
            append((rule_index, end))

        callback: Callable[[int, int, int, int, object], None] = on_match
        try:
            self._db.scan(data, match_event_handler=callback)
        except hyperscan.error as exc:
            raise GateError(f"Hyperscan failed while scanning: {exc}") from exc
        return hits

    def candidates(self, data: bytes) -> list[Candidate]:
        """Every confirmed candidate in ``data``, generic ones yielding to specific overlaps."""
        hits = self._hits(data)
        if not hits:
            return []  # most files: no bookkeeping beyond the Hyperscan pass
        found: dict[tuple[str, int], Candidate] = {}
        seen: set[tuple[int, int]] = set()
        for rule_index, end in hits:
            pos = max(end - 1, 0)
            line_start = data.rfind(b"\n", 0, pos) + 1
            if (rule_index, line_start) in seen:
                continue
            seen.add((rule_index, line_start))
            rule = self.rules[rule_index]
            for candidate in self._confirm(rule, data, line_start, pos):
                found.setdefault((rule.id, candidate.start), candidate)
        return _resolve_overlaps(found.values())

    def _confirm(self, rule: Rule, data: bytes, line_start: int, pos: int) -> list[Candidate]:
        if rule.multiline:
            line_end = min(len(data), line_start + rule.window)
        else:
            line_end = data.find(b"\n", pos)
            line_end = len(data) if line_end < 0 else line_end
        window = data[line_start:line_end].lower()
        if not any(keyword.encode() in window for keyword in rule.keywords):
            return []
        out: list[Candidate] = []
        for match in rule.regex.finditer(data, line_start, line_end):
            start, stop = match.span("secret")
            secret = data[start:stop]
            entropy = shannon_entropy(secret)
            if rule.entropy is not None and entropy < rule.entropy:
                continue
            if check(rule.validator, secret):
                out.append(Candidate(rule, start, stop, secret, entropy))
        return out


def _resolve_overlaps(candidates: Iterable[Candidate]) -> list[Candidate]:
    """Drop generic candidates whose secret overlaps an already accepted candidate."""
    ordered = sorted(candidates, key=lambda c: (c.rule.generic, c.start))
    accepted: list[Candidate] = []
    for cand in ordered:
        if cand.rule.generic and any(
            cand.start < other.end and other.start < cand.end for other in accepted
        ):
            continue
        accepted.append(cand)
    return sorted(accepted, key=lambda c: c.start)
