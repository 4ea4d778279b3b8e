"""Rule files: every mistake names the file and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.monitor import RuleFileError, Severity, load_rule_file, parse_rule_file

GOOD = """\
version: 1
disabled: [new-dependency]
severity: {pipeline-changed: critical}
failed_logins: {count: 3, window_seconds: 60}
deploy_windows:
  prod: {days: [mon, fri], start: "09:00", end: "17:00"}
"""


def test_a_good_file() -> None:
    settings = parse_rule_file(GOOD)
    assert settings.disabled == frozenset({"new-dependency"})
    assert settings.severities == {"pipeline-changed": Severity.CRITICAL}
    assert (settings.login_failures, settings.login_window_seconds) == (3, 60.0)
    assert settings.deploy_windows["prod"].days == frozenset({0, 4})


def test_empty_file_is_the_defaults() -> None:
    assert parse_rule_file("").login_failures == 5


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("version: 1\ndisabled: [a\n", 3, "not valid YAML"),
        ("version: 1\nsevrity: {}\n", 2, "unknown key 'sevrity'"),
        ("disabled:\n  - pipeline-changed\n  - no-such-rule\n", 3, "unknown rule 'no-such-rule'"),
        ("severity:\n  verify-failed: urgent\n", 2, "unknown severity 'urgent'"),
        ("failed_logins: {count: -1}\n", 1, "positive number"),
        (
            "deploy_windows:\n  prod: {days: [mon], start: '18:00', end: '09:00'}\n",
            2,
            "start before",
        ),
        (
            "deploy_windows:\n  prod: {days: [someday], start: '09:00', end: '17:00'}\n",
            2,
            "unknown day",
        ),
        ("version: 2\n", 1, "only version 1"),
        ("- a list\n", 1, "must be a mapping"),
    ],
)
def test_mistakes_name_file_and_line(text: str, line: int, message: str) -> None:
    with pytest.raises(RuleFileError, match=message) as caught:
        parse_rule_file(text, "monitor.yml")
    assert caught.value.line == line
    assert caught.value.diagnostics().startswith(f"monitor.yml:{line}: ")
    assert caught.value.exit_code == 2


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match="cannot read") as caught:
        load_rule_file(tmp_path / "missing.yml")
    assert caught.value.path.endswith("missing.yml")
