"""``monitor.yml``: defaults without a file, sinks built from it, every mistake with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.monitor import MonitorConfig, RuleFileError, load_monitor_config, parse_monitor_config


def test_no_file_means_defaults_and_no_sink(tmp_path: Path) -> None:
    config = load_monitor_config(tmp_path / "monitor.yml")
    assert config == MonitorConfig()
    assert config.sinks() == []


def test_every_sink_and_a_rule_file_beside_it(tmp_path: Path) -> None:
    (tmp_path / "rules.yml").write_text("failed_logins: {count: 3}\n", encoding="utf-8")
    (tmp_path / "monitor.yml").write_text(
        "version: 1\ninterval_seconds: 5\nretry: {base_seconds: 2, max_attempts: 3}\n"
        "rules: rules.yml\nsinks:\n"
        "  webhook: {url: 'https://hooks.example/b', secret: '0123456789abcdef'}\n"
        "  slack: {url: 'https://hooks.slack.example/x'}\n"
        "  smtp: {host: mail, port: 587, from: a@b, to: [c@d]}\n",
        encoding="utf-8",
    )
    config = load_monitor_config(tmp_path / "monitor.yml")
    assert (config.interval, config.backoff.base, config.backoff.max_attempts) == (5, 2, 3)
    assert config.rules.login_failures == 3
    assert [sink.name for sink in config.sinks()] == ["webhook", "slack", "smtp"]
    assert config.smtp is not None
    assert config.smtp.starttls
    assert "0123456789abcdef" not in repr(config)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("sinks:\n  pager: {}\n", 2, "unknown key 'pager'"),
        ("sinks:\n  webhook: {url: 'https://x', secret: short}\n", 2, "at least 16 bytes"),
        ("sinks:\n  slack: {url: 'ftp://x'}\n", 2, "http(s) URL"),
        ("interval_seconds: -1\n", 1, "positive number"),
        ("sinks:\n  smtp: {host: m, port: 25, from: a, to: [b], starttls: maybe}\n", 2, "true"),
        ("sinks: [\n", 2, "not valid YAML"),
    ],
)
def test_mistakes_name_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(RuleFileError) as caught:
        parse_monitor_config(text, "monitor.yml")
    assert caught.value.line == line
    assert message in caught.value.message


def test_a_broken_rule_file_names_that_file(tmp_path: Path) -> None:
    (tmp_path / "rules.yml").write_text("disabled: [no-such-rule]\n", encoding="utf-8")
    with pytest.raises(RuleFileError) as caught:
        parse_monitor_config("rules: rules.yml\n", "monitor.yml", tmp_path)
    assert caught.value.path == str(tmp_path / "rules.yml")
    assert caught.value.line == 1
