"""Read a monitor rule file (YAML) into :class:`RuleSettings`; every mistake is a
:class:`RuleFileError` naming the file and line.

    version: 1
    disabled: [new-dependency]
    severity: {pipeline-changed: critical}
    ci_files: [".bastion.yml", ".github/workflows/*"]
    failed_logins: {count: 5, window_seconds: 300}
    deploy_windows:
      production: {days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:00"}

Unknown keys, unknown rule names and wrong types are refused rather than ignored: a typo in
a rule file must not quietly turn a rule off.
"""

from __future__ import annotations

from datetime import time
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bastion.monitor.interface import RuleFileError, Severity
from bastion.monitor.rules import RULE_NAMES
from bastion.monitor.settings import DeployWindow, RuleSettings

__all__ = ["MAX_RULE_FILE_BYTES", "compose_yaml", "load_rule_file", "parse_rule_file"]

MAX_RULE_FILE_BYTES = 256 * 1024
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Reader:
    """Typed reads of YAML nodes that fail with the file and the node's line."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, node: Node, message: str, hint: str | None = None) -> RuleFileError:
        return RuleFileError(message, path=self.path, line=node.start_mark.line + 1, hint=hint)

    def mapping(self, node: Node, what: str) -> dict[str, tuple[Node, Node]]:
        if not isinstance(node, MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        out: dict[str, tuple[Node, Node]] = {}
        for key, value in node.value:
            name = self.text(key, f"a key of {what}")
            if name in out:
                raise self.fail(key, f"{what} has {name!r} twice")
            out[name] = (key, value)
        return out

    def text(self, node: Node, what: str) -> str:
        if not isinstance(node, ScalarNode) or node.tag != "tag:yaml.org,2002:str":
            raise self.fail(node, f"{what} must be text")
        return str(node.value)

    def number(self, node: Node, what: str) -> float:
        try:
            value = float(node.value) if isinstance(node, ScalarNode) else -1.0
        except ValueError:
            value = -1.0
        if node.tag not in {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"} or value <= 0:
            raise self.fail(node, f"{what} must be a positive number")
        return value

    def flag(self, node: Node, what: str) -> bool:
        if not isinstance(node, ScalarNode) or node.tag != "tag:yaml.org,2002:bool":
            raise self.fail(node, f"{what} must be true or false")
        return str(node.value).lower() in {"true", "yes", "on"}

    def texts(self, node: Node, what: str) -> list[str]:
        if not isinstance(node, SequenceNode):
            raise self.fail(node, f"{what} must be a list")
        return [self.text(item, f"an item of {what}") for item in node.value]

    def items(self, node: Node, what: str) -> list[Node]:
        if not isinstance(node, SequenceNode):
            raise self.fail(node, f"{what} must be a list")
        return list(node.value)

    def rule(self, node: Node) -> str:
        name = self.text(node, "a rule name")
        if name not in RULE_NAMES:
            raise self.fail(node, f"unknown rule {name!r}", hint=", ".join(sorted(RULE_NAMES)))
        return name


def _severities(r: _Reader, node: Node) -> dict[str, Severity]:
    out: dict[str, Severity] = {}
    for _name, (key, value) in r.mapping(node, "severity").items():
        level = r.text(value, "a severity")
        if level not in {s.value for s in Severity}:
            raise r.fail(value, f"unknown severity {level!r}", hint="critical, high, medium, low")
        out[r.rule(key)] = Severity(level)
    return out


def _clock(r: _Reader, node: Node, what: str) -> time:
    try:
        return time.fromisoformat(r.text(node, what))
    except ValueError:
        raise r.fail(node, f"{what} must be a time like 09:00") from None


def _windows(r: _Reader, node: Node) -> dict[str, DeployWindow]:
    out: dict[str, DeployWindow] = {}
    for env, (_key, value) in r.mapping(node, "deploy_windows").items():
        fields = r.mapping(value, f"deploy window {env!r}")
        if set(fields) != {"days", "start", "end"}:
            raise r.fail(value, f"deploy window {env!r} needs exactly days, start and end")
        days_node = fields["days"][1]
        days = []
        for day in r.texts(days_node, "days"):
            if day not in _DAYS:
                raise r.fail(days_node, f"unknown day {day!r}", hint=", ".join(_DAYS))
            days.append(_DAYS.index(day))
        try:
            out[env] = DeployWindow(
                frozenset(days),
                _clock(r, fields["start"][1], "start"),
                _clock(r, fields["end"][1], "end"),
            )
        except ValueError as exc:
            raise r.fail(value, str(exc)) from None
    return out


def _logins(r: _Reader, node: Node) -> tuple[int, float]:
    fields = r.mapping(node, "failed_logins")
    if set(fields) - {"count", "window_seconds"}:
        raise r.fail(node, "failed_logins takes count and window_seconds")
    count = int(r.number(fields["count"][1], "count")) if "count" in fields else 5
    window = (
        r.number(fields["window_seconds"][1], "window_seconds")
        if "window_seconds" in fields
        else 300.0
    )
    return count, window


_KEYS = ("version", "disabled", "severity", "ci_files", "failed_logins", "deploy_windows")


def _settings(r: _Reader, root: Node) -> RuleSettings:
    fields = r.mapping(root, "the rule file")
    for name, (key, _value) in fields.items():
        if name not in _KEYS:
            raise r.fail(key, f"unknown key {name!r}", hint=", ".join(_KEYS))
    if "version" in fields and r.number(fields["version"][1], "version") != 1:
        raise r.fail(fields["version"][1], "only version 1 rule files are understood")
    defaults = RuleSettings()
    node = {name: value for name, (_key, value) in fields.items()}
    disabled = node.get("disabled")
    count, window = _logins(r, node["failed_logins"]) if "failed_logins" in node else (5, 300.0)
    return RuleSettings(
        disabled=frozenset(r.rule(item) for item in r.items(disabled, "disabled"))
        if disabled is not None
        else frozenset(),
        severities=_severities(r, node["severity"]) if "severity" in node else {},
        ci_patterns=tuple(r.texts(node["ci_files"], "ci_files"))
        if "ci_files" in node
        else defaults.ci_patterns,
        login_failures=count,
        login_window_seconds=window,
        deploy_windows=_windows(r, node["deploy_windows"]) if "deploy_windows" in node else {},
    )


def compose_yaml(text: str, path: str) -> Node | None:
    """The YAML node tree of ``text`` (None when empty); RuleFileError with the line."""
    if len(text.encode()) > MAX_RULE_FILE_BYTES:
        raise RuleFileError(f"larger than {MAX_RULE_FILE_BYTES} bytes", path=path, line=None)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise RuleFileError(f"not valid YAML: {exc.problem or exc}", path=path, line=line) from None
    except yaml.YAMLError as exc:
        raise RuleFileError(f"not valid YAML: {exc}", path=path, line=None) from None
    return root


def parse_rule_file(text: str, path: str = "<rules>") -> RuleSettings:
    """Settings from the text of a rule file (``path`` names it in errors)."""
    root = compose_yaml(text, path)
    if root is None:
        return RuleSettings()
    return _settings(_Reader(path), root)


def load_rule_file(path: Path) -> RuleSettings:
    """Settings from a rule file on disk; RuleFileError if it cannot be read or parsed."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleFileError(f"cannot read: {exc}", path=str(path), line=None) from None
    return parse_rule_file(text, str(path))
