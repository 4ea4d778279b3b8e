"""Gate decisions as Rego policy: Bastion's default plus the user's ``.bastion/policy/*.rego``.

The contract (also at the top of ``default.rego``): modules in ``package bastion.gate`` add
entries to ``deny`` (blocks) and ``warn`` (reported only); an entry is a string or
``{"msg": string, "fingerprints": [string]}``. Helpers live in ``package bastion.lib``
(always loaded). A user module ``package bastion.config`` with ``replace_default := true``
drops the default rules, keeping only the user's.

Failing closed: a policy file that does not compile raises :class:`PolicyError` naming the
file and line (exit 2); an evaluation error raises it too; a policy whose ``deny`` is
undefined or not a set of well-formed entries yields a *blocking* decision that says why.
There is no code path from a broken policy to a pass.

Speed: the compiled modules are cached per digest (:mod:`bastion.policy.interpreter`) and the
input is one compact JSON text holding ``input.finding_groups`` and, only for policies that
read it, ``input.findings`` (:mod:`bastion.policy.input_document`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from bastion.errors import PolicyError
from bastion.policy.input_document import input_json, reads_findings
from bastion.policy.interpreter import RegoModule, evaluate
from bastion.policy.model import Decision, PolicyInput, Reason

__all__ = ["DECISION_QUERY", "PolicyEngine"]

DECISION_QUERY = "data.bastion.gate"
_CONFIG_QUERY = "data.bastion.config.replace_default"
_MAX_POLICY_BYTES = 1024 * 1024
_V0_HINT = "write Rego v1: `deny contains msg if { ... }` (a `deny[msg] { ... }` rule is Rego v0)"


def _shipped(name: str) -> RegoModule:
    text = resources.files("bastion.policy").joinpath(name).read_text(encoding="utf-8")
    return RegoModule(f"<bastion>/{name}", text)


class PolicyEngine:
    """Compiled policy modules; build with :meth:`load` or :meth:`from_modules`."""

    def __init__(self, modules: Sequence[RegoModule], *, uses_default: bool) -> None:
        self._modules = tuple(modules)
        self.uses_default = uses_default
        self.reads_findings = reads_findings(self._modules)
        # Compile now so a broken file is reported before any gate runs.
        evaluate(self._modules, DECISION_QUERY, json.dumps(_EMPTY_INPUT))

    @property
    def sources(self) -> list[str]:
        """Names of the loaded modules, Bastion's first."""
        return [m.name for m in self._modules]

    @classmethod
    def load(
        cls, user_policy_dir: Path | None = None, replace_default: bool | None = None
    ) -> PolicyEngine:
        """Bastion's policy plus every ``*.rego`` in ``user_policy_dir`` (if it exists).

        ``replace_default`` None lets the user's ``bastion.config.replace_default`` decide.
        """
        user = _read_dir(user_policy_dir) if user_policy_dir is not None else []
        return cls.from_modules(user, replace_default=replace_default)

    @classmethod
    def from_modules(
        cls, user_modules: Sequence[RegoModule], *, replace_default: bool | None = None
    ) -> PolicyEngine:
        """Like :meth:`load`, from modules already in memory."""
        lib = _shipped("lib.rego")
        if replace_default is None:
            replace_default = _user_replaces_default([lib, *user_modules])
        default = [] if replace_default else [_shipped("default.rego")]
        return cls([lib, *default, *user_modules], uses_default=not replace_default)

    def decide(self, policy_input: PolicyInput) -> Decision:
        """Evaluate the policy; a block whenever it does not clearly allow."""
        document = input_json(policy_input, with_findings=self.reads_findings)
        value = evaluate(self._modules, DECISION_QUERY, document)
        if not isinstance(value, dict) or "deny" not in value:
            return _closed("the policy defines no `deny` rule in package bastion.gate")
        deny = _entries(value["deny"], "deny")
        if isinstance(deny, str):
            return _closed(deny)
        warn = _entries(value.get("warn", []), "warn")
        if isinstance(warn, str):
            return _closed(warn)
        return Decision(
            allowed=not deny, reasons=tuple(deny), warnings=tuple(warn), notes=self._notes()
        )

    def _notes(self) -> tuple[str, ...]:
        """Say so when the default is gone: the user's policy may be a repository's own."""
        if self.uses_default:
            return ()
        own = [m.name for m in self._modules if not m.name.startswith("<bastion>/")]
        return (f"{', '.join(own) or 'the user policy'} replaces Bastion's default policy",)


_EMPTY_INPUT: dict[str, Any] = {
    "context": {"repo": "", "ref": "", "trust": "untrusted", "event": "check", "commit": None},
    "findings": [],
    "finding_groups": [],
    "gates": {},
    "suppressions": [],
}


def _closed(why: str) -> Decision:
    return Decision(allowed=False, reasons=(Reason(f"policy gave no usable decision: {why}"),))


def _entries(value: Any, rule: str) -> list[Reason] | str:
    """The reasons in a ``deny``/``warn`` set, or a text saying why the value is unusable."""
    if isinstance(value, dict) and value and all(v is True for v in value.values()):
        return f"`{rule}` is an object, not a set; {_V0_HINT}"
    if not isinstance(value, list):
        return f"`{rule}` must be a set of messages, got {type(value).__name__}"
    reasons: list[Reason] = []
    for entry in value:
        if isinstance(entry, str):
            reasons.append(Reason(entry))
        elif isinstance(entry, dict) and isinstance(entry.get("msg"), str):
            fingerprints = entry.get("fingerprints", [])
            if not isinstance(fingerprints, list) or not all(
                isinstance(f, str) for f in fingerprints
            ):
                return f"`{rule}` entry {entry['msg']!r} has `fingerprints` that are not strings"
            reasons.append(Reason(entry["msg"], tuple(fingerprints)))
        else:
            return f"`{rule}` entry {json.dumps(entry)[:80]} is neither a string nor {{msg: ...}}"
    return sorted(reasons, key=lambda r: (r.message, r.fingerprints))


def _read_dir(directory: Path) -> list[RegoModule]:
    if not directory.exists():
        return []
    if not directory.is_dir():
        raise PolicyError(f"{directory}: policy path is not a directory")
    modules: list[RegoModule] = []
    for path in sorted(directory.glob("*.rego")):
        try:
            if path.stat().st_size > _MAX_POLICY_BYTES:
                raise PolicyError(f"{path}: policy file is larger than 1 MiB")
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyError(f"{path}: cannot read policy: {exc}") from exc
        modules.append(RegoModule(str(path), text))
    return modules


def _user_replaces_default(modules: Sequence[RegoModule]) -> bool:
    value = evaluate(modules, _CONFIG_QUERY, json.dumps(_EMPTY_INPUT))
    if value is None:
        return False
    if not isinstance(value, bool):
        raise PolicyError(
            f"bastion.config.replace_default must be true or false, got {json.dumps(value)}",
            hint="write `replace_default := true` in package bastion.config",
        )
    return value
