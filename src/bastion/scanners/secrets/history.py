"""Scanning git history, staged changes and a commit range: only lines a change added.

One ``git log -p --reverse -U0`` (or ``git diff --cached -U0``) streams every patch oldest
first; the added lines are packed into large buffers with a side table mapping each buffer
line to (commit, path, line number), and each buffer is scanned in one Hyperscan pass. A
secret (keyed by rule and salted digest) is reported once, at the first commit that added
it, with that commit's author and date; secrets deleted later are found all the same, since
the commit that added them is in the history.
"""

from __future__ import annotations

import bisect
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from bastion.errors import GateError, ToolMissingError, UsageError
from bastion.scanners.secrets.engine import Engine
from bastion.scanners.secrets.hits import Hit, make_hit
from bastion.scanners.secrets.mode import ScanMode

__all__ = [
    "HistoryResult",
    "git_patch_command",
    "scan_history",
    "scan_patch",
    "scan_since",
    "scan_staged",
    "write_git_patch",
]

_HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")
_COMMIT_MARK = b"\x01"
_FORMAT = "--format=%x01%H%x1f%an%x1f%aI"
_DIFF_OPTS = ("--no-color", "--no-renames", "--no-ext-diff", "--no-textconv", "-U0")
_BUFFER_LIMIT = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class _Origin:
    commit: str | None
    author: str | None
    date: str | None


@dataclass(slots=True)
class HistoryResult:
    """First-introduction hits, and what was scanned."""

    hits: list[Hit] = field(default_factory=list)
    commits: int = 0
    lines: int = 0
    bytes: int = 0
    skipped: Counter[str] = field(default_factory=Counter)


@dataclass(slots=True)
class _Batch:
    lines: list[bytes] = field(default_factory=list)
    where: list[tuple[_Origin, str, int]] = field(default_factory=list)
    size: int = 0


def _git(repo: Path) -> list[str]:
    git = shutil.which("git")
    if git is None:
        raise ToolMissingError("git is not installed", hint="install git to scan history")
    return [git, "-C", str(repo), "-c", "core.quotePath=false"]


def _unquote_path(raw: bytes) -> str:
    # git ends a name containing a space with a TAB; names with a real TAB are quoted.
    text = raw.removesuffix(b"\t").decode("utf-8", "surrogateescape")
    if text.startswith('"') and text.endswith('"'):
        # git C-quotes unusual names; octal escapes are UTF-8 bytes.
        inner = text[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
        text = inner.encode("latin-1").decode("utf-8", "replace")
    return text[2:] if text.startswith("b/") else text


class _Scanner:
    """Parses a patch stream and scans added lines in large batches."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.result = HistoryResult()
        self.first: dict[tuple[str, str], Hit] = {}  # (rule, digest) -> first hit
        self.batch = _Batch()

    def feed(self, stream: Iterator[bytes]) -> None:
        origin = _Origin(None, None, None)
        path: str | None = None
        line_no = 0
        in_hunk = False
        for raw in stream:
            line = raw.rstrip(b"\n")
            if line.startswith(_COMMIT_MARK):
                sha, author, date = line[1:].decode("utf-8", "replace").split("\x1f", 2)
                origin, path, in_hunk = _Origin(sha, author, date), None, False
                self.result.commits += 1
            elif in_hunk and line.startswith(b"+"):
                if path is not None:
                    self._add(origin, path, line_no, line[1:])
                line_no += 1
            elif in_hunk and line.startswith((b"-", b" ", b"\\")):
                line_no += 1 if line.startswith(b" ") else 0
            elif line.startswith(b"@@"):
                match = _HUNK.match(line)
                in_hunk, line_no = match is not None, int(match.group(1)) if match else 0
            elif line.startswith(b"diff --git "):
                path, in_hunk = None, False
            elif line.startswith(b"+++ "):
                target = line[4:]
                path = None if target == b"/dev/null" else _unquote_path(target)
            elif line.startswith(b"Binary files "):
                self.result.skipped["binary file in a diff"] += 1
        self._flush()

    def _add(self, origin: _Origin, path: str, line_no: int, text: bytes) -> None:
        batch = self.batch
        batch.lines.append(text)
        batch.where.append((origin, path, line_no))
        batch.size += len(text) + 1
        if batch.size >= _BUFFER_LIMIT:
            self._flush()

    def _flush(self) -> None:
        batch, self.batch = self.batch, _Batch()
        if not batch.lines:
            return
        data = b"\n".join(batch.lines) + b"\n"
        self.result.lines += len(batch.lines)
        self.result.bytes += len(data)
        starts = [0]
        for text in batch.lines[:-1]:
            starts.append(starts[-1] + len(text) + 1)
        for cand in self.engine.candidates(data):
            index = bisect.bisect_right(starts, cand.start) - 1
            last = bisect.bisect_right(starts, max(cand.end - 1, cand.start)) - 1
            origin, path, line_no = batch.where[index]
            if batch.where[last][:2] != (origin, path):
                continue  # a multi-line match across two files or commits is not a secret
            previous = b""
            if index and batch.where[index - 1][:2] == (origin, path):
                previous = batch.lines[index - 1]
            hit = make_hit(
                cand, path, line_no, cand.start - starts[index] + 1, batch.lines[index], previous
            )
            key = (hit.rule_id, hit.digest or f"{hit.path}\0{hit.redacted}")
            if key not in self.first:
                self.first[key] = replace(
                    hit, commit=origin.commit, author=origin.author, date=origin.date
                )


def _finish(scanner: _Scanner) -> HistoryResult:
    result = scanner.result
    result.hits = sorted(scanner.first.values(), key=lambda h: (h.path, h.line, h.rule_id))
    return result


def _run(engine: Engine, argv: list[str]) -> HistoryResult:
    scanner = _Scanner(engine)
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
    ) as proc:
        if proc.stdout is None or proc.stderr is None:  # pragma: no cover - PIPE was asked
            raise GateError("could not read git's output")
        scanner.feed(iter(proc.stdout.readline, b""))
        error = proc.stderr.read().decode("utf-8", "replace").strip()
        code = proc.wait()
    if code != 0:
        raise GateError(f"git failed (exit {code}): {error}", hint="is this a git repository?")
    return _finish(scanner)


def _check_repo(repo: Path) -> list[str]:
    base = _git(repo)
    probe = subprocess.run(
        [*base, "rev-parse", "--git-dir"], capture_output=True, check=False, text=True
    )
    if probe.returncode != 0:
        raise UsageError(
            f"{repo} is not a git repository", hint="run from inside a repository or pass its path"
        )
    return base


def _check_ref(base: list[str], repo: Path, ref: str) -> None:
    check = subprocess.run(
        [*base, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        capture_output=True,
        check=False,
    )
    if check.returncode != 0 or ref.startswith("-"):
        raise UsageError(
            f"'{ref}' is not a commit in {repo}", hint="pass a branch, tag or commit id to --since"
        )


def git_patch_command(repo: Path, mode: ScanMode, since: str | None = None) -> list[str]:
    """The git command whose output the ``mode`` scans (repository and ref checked).

    ``history``: every commit of every ref, parents before children (so the first sighting is
    the introduction), merges diffed against their first parent (so a secret added while
    resolving a conflict is seen). ``since``: the same over ``since..HEAD``. ``staged``: the
    index against HEAD.
    """
    base = _check_repo(repo)
    if mode is ScanMode.STAGED:
        return [*base, "diff", "--cached", *_DIFF_OPTS, "--diff-filter=d", "--"]
    if mode is ScanMode.HISTORY:
        revisions = ["--all"]
    elif mode is ScanMode.SINCE and since:
        _check_ref(base, repo, since)
        revisions = [f"{since}..HEAD"]
    else:
        raise UsageError(f"mode {mode.value!r} has no git command", hint="pass --since REF")
    log = ["log", "--topo-order", "--reverse", "--diff-merges=first-parent", "-p"]
    return [*base, *log, *_DIFF_OPTS, _FORMAT, *revisions, "--"]


def scan_history(repo: Path, engine: Engine) -> HistoryResult:
    """Every secret ever added on any ref, reported once, at the commit that added it."""
    return _run(engine, git_patch_command(repo, ScanMode.HISTORY))


def scan_since(repo: Path, engine: Engine, ref: str) -> HistoryResult:
    """Secrets added by the commits in ``ref..HEAD`` (a pull request's own changes)."""
    return _run(engine, git_patch_command(repo, ScanMode.SINCE, ref))


def scan_staged(repo: Path, engine: Engine) -> HistoryResult:
    """Secrets in the lines staged for the next commit (what a pre-commit hook checks)."""
    return _run(engine, git_patch_command(repo, ScanMode.STAGED))


def write_git_patch(repo: Path, mode: ScanMode, dest: Path, since: str | None = None) -> None:
    """Save the patch stream of ``mode`` to ``dest``, for :func:`scan_patch` in a sandbox.

    The host, which has the repository, runs git; the sandboxed gate, whose workspace has no
    ``.git``, scans the file (gate options ``mode: patch``, ``patch: <path in the tree>``).
    """
    argv = git_patch_command(repo, mode, since)
    with dest.open("wb") as out:
        proc = subprocess.run(argv, stdout=out, stderr=subprocess.PIPE, check=False)
    if proc.returncode != 0:
        error = proc.stderr.decode("utf-8", "replace").strip()
        raise GateError(f"git failed (exit {proc.returncode}): {error}")


def scan_patch(path: Path, engine: Engine) -> HistoryResult:
    """Scan a patch stream saved by :func:`write_git_patch` as its mode would."""
    scanner = _Scanner(engine)
    try:
        with path.open("rb") as stream:
            scanner.feed(iter(stream.readline, b""))
    except OSError as exc:
        raise GateError(f"cannot read the patch file {path}: {exc.strerror}") from exc
    return _finish(scanner)
