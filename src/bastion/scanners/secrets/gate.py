"""The ``secrets`` gate: a tree, the whole history, the staged changes or a commit range.

Options (the pipeline's ``with:`` or the CLI): ``mode`` (``tree`` | ``history`` | ``staged``
| ``since`` | ``patch``), ``since`` (a ref, for ``mode: since``), ``patch`` (a file in the tree
saved by :func:`~bastion.scanners.secrets.history.write_git_patch`, for ``mode: patch``),
``exclude`` (globs), ``max_file_size`` (bytes), ``jobs`` (workers; 0 = one per core).
Unknown options are an error, not ignored.

The git modes need the repository's ``.git``; a sandbox whose workspace is a copy without it
runs them as ``patch``: the host writes the stream, the gate scans it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bastion.errors import UsageError
from bastion.home import bastion_home as user_home
from bastion.scanners.finding import Finding, Location
from bastion.scanners.gate_options import check_option_keys
from bastion.scanners.interface import Gate, GateReport, ScanRequest
from bastion.scanners.secrets.catalog import load_rules
from bastion.scanners.secrets.engine import Engine, prepare_shared_cache, shared_cache_dir
from bastion.scanners.secrets.hits import Hit
from bastion.scanners.secrets.mode import ScanMode
from bastion.scanners.secrets.noise import Action
from bastion.scanners.secrets.tree import TreeOptions, scan_tree

if TYPE_CHECKING:
    from bastion.scanners.secrets.history import HistoryResult

__all__ = ["GATE_NAME", "ScanMode", "SecretsGate", "scan_secrets"]

GATE_NAME = "secrets"
_FIX = (
    "Revoke and rotate this credential now (it is exposed to everyone who can read the "
    "repository, including its history), then load it from Bastion's vault or the "
    "environment instead of the code."
)
_DROPPED_LISTED = 500
_OPTIONS = frozenset({"mode", "since", "patch", "exclude", "max_file_size", "jobs"})


def _tree_options(options: Mapping[str, Any]) -> TreeOptions:
    check_option_keys(GATE_NAME, options, _OPTIONS)
    exclude = options.get("exclude", ())
    if isinstance(exclude, str) or not all(isinstance(p, str) for p in exclude):
        raise UsageError("bastion/secrets option 'exclude' must be a list of glob strings")
    size, jobs = options.get("max_file_size", 10 * 1024 * 1024), options.get("jobs", 0)
    if not isinstance(size, int) or size <= 0 or not isinstance(jobs, int) or jobs < 0:
        raise UsageError(
            "bastion/secrets options 'max_file_size' (> 0) and 'jobs' (>= 0) must be integers"
        )
    return TreeOptions(max_file_size=size, exclude=tuple(exclude), jobs=jobs)


def _mode(options: Mapping[str, Any]) -> ScanMode:
    raw = options.get("mode", "tree")
    try:
        return ScanMode(raw)
    except ValueError:
        known = ", ".join(m.value for m in ScanMode)
        raise UsageError(
            f"unknown secrets scan mode {raw!r}", hint=f"use one of: {known}"
        ) from None


def _finding(hit: Hit, titles: Mapping[str, str]) -> Finding:
    title = titles[hit.rule_id]
    props: dict[str, Any] = {"redacted": hit.redacted, "entropy": hit.entropy}
    if hit.reason:
        props["noise"] = hit.reason
    if hit.commit:
        props.update(author=hit.author, date=hit.date)
    where = f" (added in {hit.commit[:12]} by {hit.author}, {hit.date})" if hit.commit else ""
    return Finding.create(
        gate=GATE_NAME,
        rule_id=hit.rule_id,
        severity=hit.severity,
        message=f"{title}: {hit.redacted}{where}",
        location=Location(hit.path, hit.line, hit.column, hit.end_line, hit.commit),
        # The salted digest, never the value: the same secret has one identity everywhere.
        match_key=f"{hit.rule_id}:{hit.digest}",
        title=title,
        cwe=("CWE-798",),
        fix=_FIX,
        properties=props,
    )


def _report(
    mode: ScanMode, hits: Iterable[Hit], facts: dict[str, Any], skipped: Mapping[str, int]
) -> GateReport:
    titles = {rule.id: rule.title for rule in load_rules()}
    findings, dropped = [], []
    for hit in hits:
        if hit.action is Action.DROP:
            dropped.append(
                {
                    "rule_id": hit.rule_id,
                    "path": hit.path,
                    "line": hit.line,
                    "redacted": hit.redacted,
                    "reason": hit.reason,
                    "commit": hit.commit,
                }
            )
        else:
            findings.append(_finding(hit, titles))
    notes = [f"skipped {count} path(s): {reason}" for reason, count in sorted(skipped.items())]
    if dropped:
        listed = min(len(dropped), _DROPPED_LISTED)
        notes.append(
            f"dropped {len(dropped)} candidate(s) as noise; the first {listed} with their "
            "reasons are in facts['dropped']"
        )
    facts.update(
        mode=mode.value,
        rules=len(titles),
        skipped=dict(skipped),
        dropped=dropped[:_DROPPED_LISTED],
        dropped_count=len(dropped),
    )
    return GateReport(gate=GATE_NAME, findings=tuple(findings), facts=facts, notes=tuple(notes))


def _patch_file(root: Path, name: object) -> Path:
    if not isinstance(name, str) or not name:
        raise UsageError("mode 'patch' needs the option 'patch': a file inside the scanned tree")
    path = (root / name).resolve()
    if not path.is_relative_to(root.resolve()) or not path.is_file():
        raise UsageError(f"patch file {name!r} is not a file inside {root}")
    return path


def _git_mode(
    root: Path, engine: Engine, mode: ScanMode, since: str | None, patch: object
) -> HistoryResult:
    # Imported here: a tree scan (a fresh process per run) does not need git's machinery.
    from bastion.scanners.secrets.history import scan_history, scan_patch, scan_since, scan_staged

    if mode is ScanMode.HISTORY:
        return scan_history(root, engine)
    if mode is ScanMode.STAGED:
        return scan_staged(root, engine)
    if mode is ScanMode.SINCE:
        if not since:
            raise UsageError("mode 'since' needs a ref", hint="pass --since REF")
        return scan_since(root, engine, since)
    return scan_patch(_patch_file(root, patch), engine)


def scan_secrets(
    root: Path,
    *,
    mode: ScanMode = ScanMode.TREE,
    since: str | None = None,
    options: Mapping[str, Any] | None = None,
    engine: Engine | None = None,
) -> GateReport:
    """Run the secrets gate over ``root`` in ``mode``; the one entry point for the CLI."""
    tree_options = _tree_options(options or {})
    engine = engine or Engine.default()
    started = time.perf_counter()
    if mode is ScanMode.TREE:
        tree = scan_tree(root, engine, tree_options)
        facts: dict[str, Any] = {"files_scanned": tree.files, "bytes_scanned": tree.bytes}
        hits, skipped = tree.hits, tree.skipped
    else:
        result = _git_mode(root, engine, mode, since, (options or {}).get("patch"))
        facts = {
            "commits_scanned": result.commits,
            "lines_scanned": result.lines,
            "bytes_scanned": result.bytes,
        }
        hits, skipped = result.hits, result.skipped
    facts["seconds"] = round(time.perf_counter() - started, 3)
    return _report(mode, hits, facts, skipped)


class SecretsGate(Gate):
    """The ``bastion/secrets`` gate (see the module docstring for its options)."""

    name = GATE_NAME
    option_keys = _OPTIONS
    list_option_keys = frozenset({"exclude"})

    def prepare(self) -> None:
        """Host side: compile the rules once into the shared cache the sandbox reads."""
        prepare_shared_cache(load_rules(), user_home())

    def required_binds(self) -> list[Path]:
        """The shared compiled-rules cache, read-only (nothing else: the gate needs only
        Bastion's own runtime)."""
        cache = shared_cache_dir(user_home())
        return [cache] if cache.is_dir() else []

    def prepare_workspace(
        self, source: Path, workspace: Path, options: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Host side, before a sandboxed run whose workspace has no ``.git``.

        For a git mode (``history``, ``staged``, ``since``) run git in ``source`` (the real
        repository), save the stream as a file in ``workspace`` and return options that scan
        it (``mode: patch``); other options are returned unchanged. The caller removes the
        file after the gate ran: it holds the diffs, secrets included.
        """
        mode = _mode(options)
        if mode in (ScanMode.TREE, ScanMode.PATCH):
            return dict(options)
        since = options.get("since")
        if mode is ScanMode.SINCE and not (isinstance(since, str) and since):
            raise UsageError("mode 'since' needs a ref", hint="pass --since REF")
        from bastion.scanners.secrets.history import write_git_patch  # git modes only

        name = f".bastion-secrets-{os.urandom(8).hex()}.patch"
        write_git_patch(source, mode, workspace / name, since if isinstance(since, str) else None)
        rest = {k: v for k, v in options.items() if k not in {"mode", "since"}}
        return {**rest, "mode": ScanMode.PATCH.value, "patch": name}

    def scan(self, request: ScanRequest) -> GateReport:
        """Scan ``request.root`` as ``request.options`` say."""
        options = dict(request.options)
        mode = _mode(options)
        since = options.get("since")
        if since is not None and not isinstance(since, str):
            raise UsageError("bastion/secrets option 'since' must be a ref name")
        return scan_secrets(request.root, mode=mode, since=since, options=options)
