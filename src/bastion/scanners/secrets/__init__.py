"""The secrets gate: 240+ credential rules, one Hyperscan pass, tree, history and staged modes.

    >>> from pathlib import Path
    >>> from bastion.scanners.secrets import ScanMode, scan_secrets
    >>> report = scan_secrets(Path("examples/vulnerable-service"))  # doctest: +SKIP
    >>> [f.rule_id for f in report.findings]  # doctest: +SKIP
    ['aws-access-key-id', 'aws-secret-access-key', 'github-pat', ...]

Findings never hold a secret: messages and properties carry :func:`redact`'s form, and the
fingerprint hashes the rule with a salted digest of the value (stable across moves).

Names are imported when first used (PEP 562): the gate runs as a fresh process per scan
(``python -m bastion.scanners.secrets``, or the sandboxed runner), and a tree scan must not
pay for the git modes (``subprocess``) or the hook installer it does not use.
"""

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "GATE_NAME",
    "Engine",
    "HookResult",
    "Rule",
    "RuleError",
    "ScanMode",
    "SecretsGate",
    "Validator",
    "git_patch_command",
    "install_hook",
    "load_rules",
    "redact",
    "scan_secrets",
    "uninstall_hook",
    "write_git_patch",
]

# Each public name and the module that defines it.
_HOMES = {
    "GATE_NAME": "gate",
    "Engine": "engine",
    "HookResult": "hook",
    "Rule": "rule",
    "RuleError": "rule",
    "ScanMode": "mode",
    "SecretsGate": "gate",
    "Validator": "rule",
    "git_patch_command": "history",
    "install_hook": "hook",
    "load_rules": "catalog",
    "redact": "redact",
    "scan_secrets": "gate",
    "uninstall_hook": "hook",
    "write_git_patch": "history",
}

if TYPE_CHECKING:
    from bastion.scanners.secrets.catalog import load_rules
    from bastion.scanners.secrets.engine import Engine
    from bastion.scanners.secrets.gate import GATE_NAME, SecretsGate, scan_secrets
    from bastion.scanners.secrets.history import git_patch_command, write_git_patch
    from bastion.scanners.secrets.hook import HookResult, install_hook, uninstall_hook
    from bastion.scanners.secrets.mode import ScanMode
    from bastion.scanners.secrets.redact import redact
    from bastion.scanners.secrets.rule import Rule, RuleError, Validator


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'bastion.scanners.secrets' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"bastion.scanners.secrets.{home}"), name)
    globals()[name] = value
    return value
