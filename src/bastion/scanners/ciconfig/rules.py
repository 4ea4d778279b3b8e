"""The ``ciconfig`` rules: id, title, severity, confidence, weakness, fix, zizmor's class.

Rule modules report a :class:`Hit`; the gate makes the Finding from this one catalogue.
``peer`` is the zizmor audit a rule answers to (None: none), for the benchmark.
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


_C, _H, _M, _L, _I = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO
_CH, _CM, _CL = Confidence.HIGH, Confidence.MEDIUM, Confidence.LOW

# fmt: off
_TABLE: tuple[tuple[str, Severity, Confidence, str, str | None, str, str], ...] = (
    ('invalid-yaml', _M, _CH, 'CWE-20', None,
     'CI file is not safe, unambiguous YAML',
     'Fix the YAML at this position: no tabs, no duplicate keys, no alias expansion bombs.'),
    ('template-injection', _H, _CH, 'CWE-94', 'template-injection',
     'Attacker-controlled expression expanded into a script',
     'Pass the value through `env:` and use it quoted as "$NAME" in the script.'),
    ('gitlab-injection', _H, _CM, 'CWE-78', 'template-injection',
     'Attacker-controlled GitLab variable evaluated by the shell',
     'Use the variable only double-quoted as a plain argument; never eval it.'),
    ('dangerous-triggers', _M, _CM, 'CWE-829', 'dangerous-triggers',
     'Workflow runs with secrets on events anyone can cause',
     'Prefer `pull_request`; split privileged work into a workflow that never runs the pull '
     "request's code."),
    ('unsafe-checkout', _H, _CH, 'CWE-829', 'unsafe-checkout',
     "Privileged trigger checks out or runs the pull request's code",
     'Do not check out the PR head in pull_request_target/workflow_run; use `pull_request` for'
     ' building untrusted code.'),
    ('unpinned-uses', _M, _CH, 'CWE-829', 'unpinned-uses',
     'Action not pinned to a full commit SHA',
     'Pin `uses:` to the full 40-character commit SHA (keep the tag in a comment).'),
    ('sha-like-ref', _H, _CM, 'CWE-706', 'ref-confusion',
     'Action ref looks like a commit SHA but is not a full one',
     'Use the full lowercase 40-character SHA; a branch or tag can carry a SHA-like name.'),
    ('excessive-permissions', _M, _CH, 'CWE-250', 'excessive-permissions',
     'Token permissions missing or broader than needed',
     'Set `permissions: {}` at the top and grant each job only what it needs.'),
    ('secrets-inherit', _M, _CH, 'CWE-200', 'secrets-inherit',
     'Every secret passed to a reusable workflow',
     'Pass only the secrets the called workflow needs under `secrets:`.'),
    ('overprovisioned-secrets', _M, _CH, 'CWE-200', 'overprovisioned-secrets',
     'The whole secrets context is exposed',
     'Reference only the secret needed: `secrets.NAME`.'),
    ('unredacted-secrets', _M, _CH, 'CWE-532', 'unredacted-secrets',
     'A field of a JSON secret escapes log masking',
     'Store each sensitive field as its own secret.'),
    ('self-hosted-runner', _H, _CM, 'CWE-269', 'self-hosted-runner',
     'Self-hosted runner reachable from pull requests',
     'Run public pull request workflows on ephemeral GitHub-hosted runners.'),
    ('artipacked', _M, _CH, 'CWE-522', 'artipacked',
     'Checkout credentials persisted where artifacts can carry them',
     'Set `persist-credentials: false` on actions/checkout.'),
    ('cache-poisoning', _H, _CM, 'CWE-349', 'cache-poisoning',
     'Cache restored in a release or publish workflow',
     'Do not restore caches when building release artifacts (`cache: false`/no cache step).'),
    ('curl-pipe-shell', _M, _CH, 'CWE-494', None,
     'Remote script piped straight into a shell',
     'Download to a file, verify its checksum or signature, then run it.'),
    ('insecure-commands', _H, _CH, 'CWE-77', 'insecure-commands',
     'Deprecated unsafe workflow commands re-enabled',
     'Remove ACTIONS_ALLOW_UNSECURE_COMMANDS; use $GITHUB_ENV / $GITHUB_PATH files.'),
    ('github-env', _H, _CM, 'CWE-74', 'github-env',
     'Untrusted data written to GITHUB_ENV, GITHUB_PATH or GITHUB_OUTPUT',
     'Never write attacker-controlled text to these files; validate it first.'),
    ('unpinned-images', _M, _CH, 'CWE-829', 'unpinned-images',
     'Container image not pinned by digest',
     'Pin the image as name@sha256:<digest>.'),
    ('hardcoded-container-credentials', _H, _CH, 'CWE-798', 'hardcoded-container-credentials',
     'Registry password written in the workflow',
     'Use `${{ secrets.NAME }}` for registry credentials.'),
    ('bot-conditions', _H, _CM, 'CWE-290', 'bot-conditions',
     'Spoofable bot check on the actor',
     'Check `github.event.pull_request.user.login`, not `github.actor`.'),
    ('known-compromised-action', _C, _CH, 'CWE-506', 'known-vulnerable-actions',
     'Action from a known supply-chain compromise',
     'Replace the action or pin a SHA published after the incident; rotate every secret the '
     'workflow could read.'),
    ('archived-uses', _L, _CH, 'CWE-1104', 'archived-uses',
     'Action repository is archived and unmaintained',
     'Replace the archived action with a maintained one.'),
    ('unsound-contains', _M, _CH, 'CWE-697', 'unsound-contains',
     'contains() against a string lets substrings through',
     'Use a list: `contains(fromJSON(\'["a", "b"]\'), github.ref)`.'),
    ('unsound-condition', _H, _CH, 'CWE-571', 'unsound-condition',
     'Condition is always true',
     'Write the condition as one bare expression, without text around `${{ }}`.'),
    ('use-trusted-publishing', _I, _CH, 'CWE-522', 'use-trusted-publishing',
     'Long-lived registry token where trusted publishing works',
     "Use the registry's OIDC trusted publishing instead of a stored token."),
    ('adhoc-packages', _L, _CM, 'CWE-1357', 'adhoc-packages',
     'Packages installed ad hoc, outside a locked manifest',
     'Install from a locked manifest, or pin exact versions.'),
    ('insecure-url-scheme', _M, _CH, 'CWE-319', 'insecure-url-scheme',
     'Download over an insecure URL scheme',
     'Use https://.'),
    ('secrets-outside-env', _L, _CL, 'CWE-200', 'secrets-outside-env',
     'Secret used by a job without a deployment environment',
     'Give jobs that use secrets an `environment:` with protection rules.'),
    ('unpinned-tools', _M, _CH, 'CWE-1357', 'unpinned-tools',
     'Setup action installs the latest tool version',
     'Give the setup action an exact version.'),
    ('obfuscation', _L, _CH, 'CWE-506', 'obfuscation',
     'Obfuscated action reference or expression',
     'Write the reference in its plain, canonical form.'),
    ('typosquat-uses', _H, _CM, 'CWE-506', 'typosquat-uses',
     'Action name one typo away from a popular action',
     'Check the owner and name; use the genuine action.'),
    ('github-app', _M, _CM, 'CWE-250', 'github-app',
     'GitHub App token minted with every permission of the app',
     'Give create-github-app-token explicit `permission-*` inputs.'),
    ('misfeature', _L, _CM, 'CWE-1188', 'misfeature',
     'Risky GitHub Actions feature',
     'Use bash or pwsh, and a single package index.'),
    ('unsound-ternary', _L, _CM, 'CWE-480', 'unsound-ternary',
     '`a && b || c` returns c when b is empty or false',
     'Make sure the middle operand can never be falsy, or use case().'),
    ('gitlab-unpinned-include', _M, _CH, 'CWE-829', None,
     'Included GitLab configuration not pinned',
     'Include `project:` files at a full commit SHA `ref:`; avoid `remote:`.'),
    ('bastion-egress-any', _H, _CH, 'CWE-923', None,
     'Bastion job may reach any host',
     'List the hosts the job needs under `network:`.'),
    ('bastion-secrets-untrusted', _H, _CM, 'CWE-200', None,
     'Bastion job with secrets runs pull request code',
     'Keep secrets for jobs that run only on pushes to protected branches.'),
    ('bastion-unpinned', _M, _CH, 'CWE-1357', None,
     'Bastion job uses an unpinned image or tool version',
     'Pin images by digest and tools to exact versions.'),
)
# fmt: on

RULES: dict[str, RuleInfo] = {
    rid: RuleInfo(rid, title, sev, conf, cwe, fix, peer)
    for rid, sev, conf, cwe, peer, title, fix in _TABLE
}
