"""``read_secret``: a secret from stdin or a no-echo prompt, the one reader every command uses;
empty, oversized and binary values are refused with a one-line error naming the fix."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bastion.cli import approvals as approvals_cli
from bastion.cli import secrets as secrets_cli
from bastion.cli.secret_input import MAX_SECRET_CHARS, read_secret
from bastion.errors import UsageError

VALUE = "kT9vQ2xLmP4wZ8rN-input-value"
HINT = "pipe it in"
PEM = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA\n-----END PRIVATE KEY-----"


class _Terminal(io.StringIO):
    """A stdin that is a terminal (and holds text a prompt must not read)."""

    def isatty(self) -> bool:
        return True


def _stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> io.StringIO:
    stream = io.StringIO(text)
    monkeypatch.setattr(sys, "stdin", stream)
    return stream


def _answers(monkeypatch: pytest.MonkeyPatch, *answers: str) -> list[str]:
    """Answer the no-echo prompts in turn; the prompts asked are returned."""
    asked: list[str] = []
    replies = iter(answers)

    def fake_getpass(prompt: str = "Password: ", stream: object = None) -> str:
        asked.append(prompt)
        return next(replies)

    monkeypatch.setattr(sys, "stdin", _Terminal("typed ahead, never read\n"))
    monkeypatch.setattr("getpass.getpass", fake_getpass)
    return asked


@pytest.mark.parametrize("ending", ["", "\n", "\r\n"])
def test_first_line_of_stdin_without_its_newline(
    monkeypatch: pytest.MonkeyPatch, ending: str
) -> None:
    stream = _stdin(monkeypatch, f"{VALUE}{ending}second-value\n")
    assert read_secret("webhook secret", hint=HINT) == (VALUE if ending else f"{VALUE}second-value")
    if ending:  # the next value (webhooks' signing token) is still there
        assert read_secret("signing token", hint=HINT) == "second-value"
    assert stream.read() == ""


def test_whole_input_keeps_inner_lines_and_drops_one_newline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _stdin(monkeypatch, PEM + "\r\n")
    assert read_secret("value of KEY", hint=HINT, whole_input=True) == PEM
    _stdin(monkeypatch, VALUE + "\n\n")
    assert read_secret("value of KEY", hint=HINT, whole_input=True) == VALUE + "\n"


@pytest.mark.parametrize("whole_input", [False, True])
@pytest.mark.parametrize("piped", ["", "\n", "\r\n"])
def test_an_empty_value_is_refused_with_the_fix(
    monkeypatch: pytest.MonkeyPatch, whole_input: bool, piped: str
) -> None:
    _stdin(monkeypatch, piped)
    with pytest.raises(UsageError) as refused:
        read_secret("webhook secret", hint=HINT, whole_input=whole_input)
    assert refused.value.diagnostics() == f"no webhook secret on stdin\n  fix: {HINT}"


def test_a_closed_stdin_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", None)
    with pytest.raises(UsageError, match="no value of X on stdin"):
        read_secret("value of X", hint=HINT, whole_input=True)


@pytest.mark.parametrize("whole_input", [False, True])
def test_the_longest_value_passes_and_one_more_character_is_refused(
    monkeypatch: pytest.MonkeyPatch, whole_input: bool
) -> None:
    longest = "x" * MAX_SECRET_CHARS
    _stdin(monkeypatch, longest + "\r\n")
    assert read_secret("value of X", hint=HINT, whole_input=whole_input) == longest
    for piped in (longest + "y", longest + "y\n", "z" * (10 * MAX_SECRET_CHARS)):
        _stdin(monkeypatch, piped)
        with pytest.raises(UsageError, match=f"longer than {MAX_SECRET_CHARS} characters"):
            read_secret("value of X", hint=HINT, whole_input=whole_input)


def test_more_input_after_the_longest_value_is_not_cut_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _stdin(monkeypatch, "x" * MAX_SECRET_CHARS + "\r\nmore")
    with pytest.raises(UsageError, match="longer than"):
        read_secret("value of X", hint=HINT, whole_input=True)


def test_binary_input_is_a_usage_error_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    binary = io.TextIOWrapper(io.BytesIO(b"\xff\xfe\x00binary"), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", binary)
    with pytest.raises(UsageError, match="the value of X on stdin is not utf-8 text"):
        read_secret("value of X", hint=HINT, whole_input=True)


def test_a_terminal_gets_a_no_echo_prompt(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    asked = _answers(monkeypatch, VALUE)
    assert read_secret("webhook secret", hint=HINT) == VALUE
    assert asked == ["webhook secret: "]
    assert sys.stdin.read() == "typed ahead, never read\n"
    captured = capsys.readouterr()
    assert VALUE not in captured.out + captured.err


def test_confirm_asks_twice_and_refuses_two_different_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = _answers(monkeypatch, VALUE, VALUE, VALUE, VALUE + "-typo")
    assert read_secret("value of X", hint=HINT, confirm=True) == VALUE
    assert asked == ["value of X: ", "value of X again: "]
    with pytest.raises(UsageError, match="the two values differ; nothing was stored"):
        read_secret("value of X", hint=HINT, confirm=True)


def test_an_empty_answer_at_the_prompt_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _answers(monkeypatch, "", "")
    with pytest.raises(UsageError) as refused:
        read_secret("value of X", hint=HINT, confirm=True)
    assert refused.value.diagnostics() == f"no value of X given\n  fix: {HINT}"


def test_an_approval_vote_reads_its_code_from_stdin_before_any_connection() -> None:
    app = typer.Typer()
    approvals_cli.register(app)
    # Port 9 (discard) is never a Bastion server: each refusal comes before connecting.
    vote = ["approvals", "approve", "7", "--server", "http://127.0.0.1:9"]
    empty = CliRunner().invoke(app, vote, input="")
    assert isinstance(empty.exception, UsageError)
    assert empty.exception.diagnostics() == (
        "no TOTP code on stdin\n  fix: a vote needs your TOTP code: pass --code"
    )
    short = CliRunner().invoke(app, vote, input="123 45\n")
    assert isinstance(short.exception, UsageError)
    assert "six digits" in str(short.exception)


def test_secrets_rotate_names_itself_in_the_hint(tmp_path: Path) -> None:
    app = typer.Typer()
    secrets_cli.register(app)
    done = CliRunner().invoke(app, ["secrets", "rotate", "TOKEN", "--home", str(tmp_path)])
    assert isinstance(done.exception, UsageError)
    assert done.exception.hint == "pipe it in, e.g.: bastion secrets rotate TOKEN < token.txt"
