"""Rules on one GitHub Actions step (in a workflow job or a composite action).

A step is judged with a :class:`StepScope`: what the workflow around it makes of it (a
privileged trigger, a release, artifacts uploaded, environment variables that carry
attacker-controlled text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bastion.scanners.ciconfig.advisories import ActionAdvisories
from bastion.scanners.ciconfig.expressions import attacker_contexts, context_references
from bastion.scanners.ciconfig.expressions import expressions as find_expressions
from bastion.scanners.ciconfig.rules import Confidence, Hit
from bastion.scanners.ciconfig.shell import (
    adhoc_installs,
    env_file_writes,
    file_kind,
    insecure_urls,
    pipe_to_shell,
    publish_commands,
)
from bastion.scanners.ciconfig.uses import check_uses, parse_uses
from bastion.scanners.ciconfig.yamlsrc import YamlDocument, YMap, YScalar
from bastion.scanners.finding import Severity

__all__ = ["StepScope", "check_step"]

_PR_HEAD = re.compile(
    r"(pull_request\.head\.(sha|ref)|github\.head_ref|workflow_run\.head_(sha|branch)|"
    r"refs/pull/|head\.repo\.full_name|pull_requests\[0\]|merge_commit_sha)"
)
_UNTRUSTED_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
_CACHE_INPUTS = {
    "actions/setup-python": "cache",
    "actions/setup-node": "cache",
    "actions/setup-java": "cache",
    "actions/setup-dotnet": "cache",
    "astral-sh/setup-uv": "enable-cache",
}
_TOOL_VERSION = {
    "actions/setup-python": "python-version",
    "actions/setup-node": "node-version",
    "actions/setup-go": "go-version",
    "actions/setup-java": "java-version",
    "astral-sh/setup-uv": "version",
    "hashicorp/setup-terraform": "terraform_version",
}


@dataclass(frozen=True, slots=True)
class StepScope:
    """What the surrounding workflow and job make of a step."""

    doc: YamlDocument
    advisories: ActionAdvisories
    privileged_trigger: bool = False
    release: bool = False
    uploads_artifacts: bool = False
    tainted_env: frozenset[str] = frozenset()


def _at(scope: StepScope, node: YScalar, needle: str, nth: int = 0) -> tuple[int, int]:
    return scope.doc.position(node, needle, nth)


def _injections(node: YScalar, scope: StepScope, what: str) -> list[Hit]:
    hits = []
    seen: dict[str, int] = {}
    for expr in find_expressions(node.text):
        nth = seen.get(expr.raw, 0)
        seen[expr.raw] = nth + 1
        bad = attacker_contexts(expr.text)
        via_env = [
            c
            for c in context_references(expr.text)
            if c.startswith("env.") and c[4:] in scope.tainted_env
        ]
        if not bad and not via_env:
            continue
        line, col = _at(scope, node, expr.raw, nth)
        named = ", ".join(bad or via_env)
        hits.append(
            Hit(
                "template-injection",
                line,
                col,
                f"{named} is expanded into the {what} before it runs: whoever writes "
                "it writes code",
                f"{what}:{expr.text}",
                confidence=None if bad else Confidence.MEDIUM,
            )
        )
    return hits


def _env_writes(node: YScalar, scope: StepScope) -> list[Hit]:
    hits = []
    for match in env_file_writes(node.text):
        line_text = match.snippet
        kind = file_kind(line_text)
        tainted = any(attacker_contexts(e.text) for e in find_expressions(line_text))
        tainted |= any(v in scope.tainted_env for v in _UNTRUSTED_VAR.findall(line_text))
        privileged = scope.privileged_trigger and kind in {"ENV", "PATH"}
        if not tainted and not privileged:
            continue
        line, col = _at(scope, node, line_text, match.nth)
        why = "untrusted text" if tainted else "data under a privileged trigger"
        hits.append(
            Hit(
                "github-env",
                line,
                col,
                f"{why} is written to GITHUB_{kind}: later "
                "steps trust it as environment, PATH or outputs",
                f"{kind}:{line_text}",
                confidence=Confidence.HIGH if tainted else None,
            )
        )
    return hits


def _shell_idioms(node: YScalar, scope: StepScope) -> list[Hit]:
    table = (
        ("curl-pipe-shell", pipe_to_shell, "runs a script fetched over the network unverified"),
        ("adhoc-packages", adhoc_installs, "installs packages outside a locked manifest"),
        ("insecure-url-scheme", insecure_urls, "downloads over a clear-text scheme"),
        ("use-trusted-publishing", publish_commands, "publishes with a stored token"),
    )
    hits = []
    for rule, finder, what in table:
        for match in finder(node.text):
            line, col = _at(scope, node, match.snippet, match.nth)
            hits.append(Hit(rule, line, col, f"`{match.snippet}` {what}", match.snippet))
    if "--extra-index-url" in node.text:
        line, col = _at(scope, node, "--extra-index-url")
        hits.append(
            Hit(
                "misfeature",
                line,
                col,
                "--extra-index-url lets any index win a name (dependency confusion)",
                "extra-index-url",
            )
        )
    return hits


def check_run(node: YScalar, scope: StepScope, what: str = "run: script") -> list[Hit]:
    """Rules on a shell script (``run:``)."""
    return _injections(node, scope, what) + _env_writes(node, scope) + _shell_idioms(node, scope)


def _with_text(step: YMap, key: str) -> str | None:
    with_ = step.map("with")
    return None if with_ is None else with_.text(key)


def _checkout(step: YMap, uses: YScalar, scope: StepScope) -> list[Hit]:
    hits = []
    with_ = step.map("with")
    persist = (_with_text(step, "persist-credentials") or "true").strip().lower()
    if persist != "false":
        hits.append(
            Hit(
                "artipacked",
                uses.line,
                uses.column,
                "actions/checkout leaves the token in .git/config"
                + (" and this job uploads artifacts" if scope.uploads_artifacts else ""),
                "checkout-persist",
                severity=None if scope.uploads_artifacts else Severity.LOW,
                confidence=None if scope.uploads_artifacts else Confidence.LOW,
            )
        )
    if scope.privileged_trigger and with_ is not None:
        for key in ("ref", "repository"):
            value = with_.scalar(key)
            if value is not None and _PR_HEAD.search(value.text):
                hits.append(
                    Hit(
                        "unsafe-checkout",
                        value.line,
                        value.column,
                        f"checks out the pull request's code ({value.text.strip()}) "
                        "under a trigger with secrets and a write token",
                        f"checkout:{value.text}",
                    )
                )
    return hits


def _action_inputs(step: YMap, uses: YScalar, scope: StepScope) -> list[Hit]:
    action = parse_uses(uses.text).action
    hits: list[Hit] = []
    if action == "actions/checkout":
        hits += _checkout(step, uses, scope)
    if action == "actions/github-script":
        script = step.map("with").scalar("script") if step.map("with") else None  # type: ignore[union-attr]
        if script is not None:
            hits += _injections(script, scope, "github-script")
    if scope.release:
        hits += _cache_use(step, uses, action)
    version_key = _TOOL_VERSION.get(action)
    version = _with_text(step, version_key) if version_key else None
    if version_key and (version or "").strip().lower() in {"latest", "*", "x", "node"}:
        hits.append(
            Hit(
                "unpinned-tools",
                uses.line,
                uses.column,
                f"{action} installs '{version}' of its tool",
                f"{action}:{version}",
            )
        )
    if action == "actions/create-github-app-token":
        with_ = step.map("with")
        if with_ is None or not any(k.startswith("permission-") for k, _ in with_.items()):
            hits.append(
                Hit(
                    "github-app",
                    uses.line,
                    uses.column,
                    "the token gets every permission the app has",
                    action,
                )
            )
    if action == "pypa/gh-action-pypi-publish" and _with_text(step, "password"):
        hits.append(
            Hit(
                "use-trusted-publishing",
                uses.line,
                uses.column,
                "publishes to PyPI with a stored API token",
                action,
            )
        )
    return hits


def _cache_use(step: YMap, uses: YScalar, action: str) -> list[Hit]:
    cached = action in {"actions/cache", "swatinem/rust-cache"} and not uses.text.startswith(
        "actions/cache/save"
    )
    key = _CACHE_INPUTS.get(action)
    value = (_with_text(step, key) or "").strip().lower() if key else ""
    if key and value not in {"", "false"}:
        cached = True
    if action == "actions/setup-go" and (_with_text(step, "cache") or "true").lower() != "false":
        cached = True
    if not cached:
        return []
    return [
        Hit(
            "cache-poisoning",
            uses.line,
            uses.column,
            f"{action} restores a cache any earlier run (a pull request's too) could "
            "have written, into a release build",
            f"cache:{action}",
        )
    ]


def check_step(step: YMap, scope: StepScope) -> list[Hit]:
    """Every step-level rule."""
    hits: list[Hit] = []
    uses = step.scalar("uses")
    if uses is not None:
        hits += check_uses(uses, scope.advisories) + _action_inputs(step, uses, scope)
    run = step.scalar("run")
    if run is not None:
        hits += check_run(run, scope)
    shell = step.scalar("shell")
    if shell is not None and shell.text.strip().lower() == "cmd":
        hits.append(
            Hit(
                "misfeature",
                shell.line,
                shell.column,
                "cmd.exe has no fail-fast; errors pass silently",
                "shell:cmd",
            )
        )
    return hits
