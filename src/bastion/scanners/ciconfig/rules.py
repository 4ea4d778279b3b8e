"""The ``ciconfig`` rules: id, title, default severity and confidence, weakness, fix.

A rule module reports a :class:`Hit` (rule id, exact position, message, match key); the gate
turns hits into :class:`~bastion.scanners.finding.Finding` objects with this catalogue, so
the severity and the fix of a rule live in one place. ``peer`` names the zizmor audit class
a rule answers to (None: zizmor has no such class), for the side-by-side benchmark.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bastion.scanners.finding import Severity

__all__ = ["RULES", "Confidence", "Hit", "RuleInfo"]


class Confidence(enum.StrEnum):
    """How sure a rule is that a hit is exploitable, not only suspicious."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """What the catalogue says of one rule."""

    id: str
    title: str
    severity: Severity
    confidence: Confidence
    cwe: str
    fix: str
    peer: str | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    """One place a rule matched; ``key`` is the stable text the fingerprint hashes."""

    rule: str
    line: int
    column: int
    message: str
    key: str
    severity: Severity | None = None
    confidence: Confidence | None = None


_H, _M, _L, _I = Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO
_C = Severity.CRITICAL
_CH, _CM, _CL = Confidence.HIGH, Confidence.MEDIUM, Confidence.LOW

_TABLE: tuple[tuple[str, str, Severity, Confidence, str, str, str | None], ...] = (
    (
        "invalid-yaml",
        "CI file is not safe, unambiguous YAML",
        _M,
        _CH,
        "CWE-20",
        "Fix the YAML at this position: no tabs, no duplicate keys, no alias expansion bombs.",
        None,
    ),
    (
        "template-injection",
        "Attacker-controlled expression expanded into a script",
        _H,
        _CH,
        "CWE-94",
        'Pass the value through `env:` and use it quoted as "$NAME" in the script.',
        "template-injection",
    ),
    (
        "gitlab-injection",
        "Attacker-controlled GitLab variable evaluated by the shell",
        _H,
        _CM,
        "CWE-78",
        "Use the variable only double-quoted as a plain argument; never eval it.",
        "template-injection",
    ),
    (
        "dangerous-triggers",
        "Workflow runs with secrets on events anyone can cause",
        _M,
        _CM,
        "CWE-829",
        "Prefer `pull_request`; split privileged work into a workflow that never "
        "runs the pull request's code.",
        "dangerous-triggers",
    ),
    (
        "unsafe-checkout",
        "Privileged trigger checks out or runs the pull request's code",
        _H,
        _CH,
        "CWE-829",
        "Do not check out the PR head in pull_request_target/workflow_run; use "
        "`pull_request` for building untrusted code.",
        "unsafe-checkout",
    ),
    (
        "unpinned-uses",
        "Action not pinned to a full commit SHA",
        _M,
        _CH,
        "CWE-829",
        "Pin `uses:` to the full 40-character commit SHA (keep the tag in a comment).",
        "unpinned-uses",
    ),
    (
        "sha-like-ref",
        "Action ref looks like a commit SHA but is not a full one",
        _H,
        _CM,
        "CWE-706",
        "Use the full lowercase 40-character SHA; a branch or tag can carry a SHA-like name.",
        "ref-confusion",
    ),
    (
        "excessive-permissions",
        "Token permissions missing or broader than needed",
        _M,
        _CH,
        "CWE-250",
        "Set `permissions: {}` at the top and grant each job only what it needs.",
        "excessive-permissions",
    ),
    (
        "secrets-inherit",
        "Every secret passed to a reusable workflow",
        _M,
        _CH,
        "CWE-200",
        "Pass only the secrets the called workflow needs under `secrets:`.",
        "secrets-inherit",
    ),
    (
        "overprovisioned-secrets",
        "The whole secrets context is exposed",
        _M,
        _CH,
        "CWE-200",
        "Reference only the secret needed: `secrets.NAME`.",
        "overprovisioned-secrets",
    ),
    (
        "unredacted-secrets",
        "A field of a JSON secret escapes log masking",
        _M,
        _CH,
        "CWE-532",
        "Store each sensitive field as its own secret.",
        "unredacted-secrets",
    ),
    (
        "self-hosted-runner",
        "Self-hosted runner reachable from pull requests",
        _H,
        _CM,
        "CWE-269",
        "Run public pull request workflows on ephemeral GitHub-hosted runners.",
        "self-hosted-runner",
    ),
    (
        "artipacked",
        "Checkout credentials persisted where artifacts can carry them",
        _M,
        _CH,
        "CWE-522",
        "Set `persist-credentials: false` on actions/checkout.",
        "artipacked",
    ),
    (
        "cache-poisoning",
        "Cache restored in a release or publish workflow",
        _H,
        _CM,
        "CWE-349",
        "Do not restore caches when building release artifacts (`cache: false`/no cache step).",
        "cache-poisoning",
    ),
    (
        "curl-pipe-shell",
        "Remote script piped straight into a shell",
        _M,
        _CH,
        "CWE-494",
        "Download to a file, verify its checksum or signature, then run it.",
        None,
    ),
    (
        "insecure-commands",
        "Deprecated unsafe workflow commands re-enabled",
        _H,
        _CH,
        "CWE-77",
        "Remove ACTIONS_ALLOW_UNSECURE_COMMANDS; use $GITHUB_ENV / $GITHUB_PATH files.",
        "insecure-commands",
    ),
    (
        "github-env",
        "Untrusted data written to GITHUB_ENV, GITHUB_PATH or GITHUB_OUTPUT",
        _H,
        _CM,
        "CWE-74",
        "Never write attacker-controlled text to these files; validate it first.",
        "github-env",
    ),
    (
        "unpinned-images",
        "Container image not pinned by digest",
        _M,
        _CH,
        "CWE-829",
        "Pin the image as name@sha256:<digest>.",
        "unpinned-images",
    ),
    (
        "hardcoded-container-credentials",
        "Registry password written in the workflow",
        _H,
        _CH,
        "CWE-798",
        "Use `${{ secrets.NAME }}` for registry credentials.",
        "hardcoded-container-credentials",
    ),
    (
        "bot-conditions",
        "Spoofable bot check on the actor",
        _H,
        _CM,
        "CWE-290",
        "Check `github.event.pull_request.user.login`, not `github.actor`.",
        "bot-conditions",
    ),
    (
        "known-compromised-action",
        "Action from a known supply-chain compromise",
        _C,
        _CH,
        "CWE-506",
        "Replace the action or pin a SHA published after the incident; rotate every "
        "secret the workflow could read.",
        "known-vulnerable-actions",
    ),
    (
        "archived-uses",
        "Action repository is archived and unmaintained",
        _L,
        _CH,
        "CWE-1104",
        "Replace the archived action with a maintained one.",
        "archived-uses",
    ),
    (
        "unsound-contains",
        "contains() against a string lets substrings through",
        _M,
        _CH,
        "CWE-697",
        'Use a list: `contains(fromJSON(\'["a", "b"]\'), github.ref)`.',
        "unsound-contains",
    ),
    (
        "unsound-condition",
        "Condition is always true",
        _H,
        _CH,
        "CWE-571",
        "Write the condition as one bare expression, without text around `${{ }}`.",
        "unsound-condition",
    ),
    (
        "use-trusted-publishing",
        "Long-lived registry token where trusted publishing works",
        _I,
        _CH,
        "CWE-522",
        "Use the registry's OIDC trusted publishing instead of a stored token.",
        "use-trusted-publishing",
    ),
    (
        "adhoc-packages",
        "Packages installed ad hoc, outside a locked manifest",
        _L,
        _CM,
        "CWE-1357",
        "Install from a locked manifest, or pin exact versions.",
        "adhoc-packages",
    ),
    (
        "insecure-url-scheme",
        "Download over an insecure URL scheme",
        _M,
        _CH,
        "CWE-319",
        "Use https://.",
        "insecure-url-scheme",
    ),
    (
        "secrets-outside-env",
        "Secret used by a job without a deployment environment",
        _L,
        _CL,
        "CWE-200",
        "Give jobs that use secrets an `environment:` with protection rules.",
        "secrets-outside-env",
    ),
    (
        "unpinned-tools",
        "Setup action installs the latest tool version",
        _M,
        _CH,
        "CWE-1357",
        "Give the setup action an exact version.",
        "unpinned-tools",
    ),
    (
        "obfuscation",
        "Obfuscated action reference or expression",
        _L,
        _CH,
        "CWE-506",
        "Write the reference in its plain, canonical form.",
        "obfuscation",
    ),
    (
        "typosquat-uses",
        "Action name one typo away from a popular action",
        _H,
        _CM,
        "CWE-506",
        "Check the owner and name; use the genuine action.",
        "typosquat-uses",
    ),
    (
        "github-app",
        "GitHub App token minted with every permission of the app",
        _M,
        _CM,
        "CWE-250",
        "Give create-github-app-token explicit `permission-*` inputs.",
        "github-app",
    ),
    (
        "misfeature",
        "Risky GitHub Actions feature",
        _L,
        _CM,
        "CWE-1188",
        "Use bash or pwsh, and a single package index.",
        "misfeature",
    ),
    (
        "unsound-ternary",
        "`a && b || c` returns c when b is empty or false",
        _L,
        _CM,
        "CWE-480",
        "Make sure the middle operand can never be falsy, or use case().",
        "unsound-ternary",
    ),
    (
        "gitlab-unpinned-include",
        "Included GitLab configuration not pinned",
        _M,
        _CH,
        "CWE-829",
        "Include `project:` files at a full commit SHA `ref:`; avoid `remote:`.",
        None,
    ),
    (
        "bastion-egress-any",
        "Bastion job may reach any host",
        _H,
        _CH,
        "CWE-923",
        "List the hosts the job needs under `network:`.",
        None,
    ),
    (
        "bastion-secrets-untrusted",
        "Bastion job with secrets runs pull request code",
        _H,
        _CM,
        "CWE-200",
        "Keep secrets for jobs that run only on pushes to protected branches.",
        None,
    ),
    (
        "bastion-unpinned",
        "Bastion job uses an unpinned image or tool version",
        _M,
        _CH,
        "CWE-1357",
        "Pin images by digest and tools to exact versions.",
        None,
    ),
)

RULES: dict[str, RuleInfo] = {row[0]: RuleInfo(*row) for row in _TABLE}
