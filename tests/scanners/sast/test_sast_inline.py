"""Inline markers (``# nosec``, ``# nosemgrep``) are recorded on findings, never dropped."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bastion.scanners.finding import Finding, Location, Severity
from bastion.scanners.interface import ScanRequest
from bastion.scanners.sast import SastGate
from bastion.scanners.sast.inline import INLINE_KEY, covering_marker, mark_inline_suppressions
from bastion.scanners.tools import Tool
from tests.scanners.tools.tool_fakes import fake_environment

DATA = Path(__file__).parents[2] / "data" / "sast"


def _finding(rule: str, line: int = 1, bandit: tuple[str, ...] = ()) -> Finding:
    return Finding.create(
        gate="sast",
        rule_id=rule,
        severity=Severity.HIGH,
        message="m",
        location=Location("app.py", line),
        match_key=rule,
        properties={"bandit_equivalents": list(bandit)},
    )


SHELL = _finding("py-subprocess-shell", bandit=("B602", "B604"))


@pytest.mark.parametrize(
    ("text", "finding", "covered"),
    [
        ("run(cmd, shell=True)  # nosec", SHELL, True),
        ("run(cmd, shell=True)  # nosec B602", SHELL, True),
        ("run(cmd, shell=True)  # nosec: B607, B602", SHELL, True),
        ("run(cmd, shell=True)  # nosec B602", _finding("B602"), True),
        ("run(cmd, shell=True)  # nosec B608", SHELL, False),
        ("run(cmd, shell=True)  # nosec B602", _finding("B324"), False),
        ("run(cmd, shell=True)  # nosemgrep", SHELL, True),
        ("run(cmd, shell=True)  # nosemgrep: py-subprocess-shell", SHELL, True),
        ("run(cmd, shell=True)  # nosemgrep: python.lang.py-subprocess-shell", SHELL, True),
        ("run(cmd, shell=True)  # nosemgrep: py-weak-hash", SHELL, False),
        ("run(cmd, shell=True)  # noqa: S602", SHELL, False),
        ("run(cmd, shell=True)  # see nosecurity.md", SHELL, False),
    ],
)
def test_marker_covers_only_what_it_names(text: str, finding: Finding, covered: bool) -> None:
    assert (covering_marker(text, finding) is not None) is covered


def test_nosemgrep_on_the_comment_line_above_counts_but_nosec_does_not() -> None:
    assert covering_marker("    # nosemgrep: py-subprocess-shell", SHELL, above=True)
    assert covering_marker("    # nosec", SHELL, above=True) is None
    assert covering_marker("x = 1  # nosemgrep", SHELL, above=True) is None


def test_marked_findings_keep_their_marker_and_line(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "import subprocess\nsubprocess.run(cmd, shell=True)  # nosec B602\n"
    )
    marked, plain = mark_inline_suppressions(
        tmp_path, [_finding("B602", line=2), _finding("B324", line=2)]
    )
    assert marked.properties[INLINE_KEY] == {
        "marker": "# nosec B602",
        "line": "subprocess.run(cmd, shell=True)  # nosec B602",
    }
    assert INLINE_KEY not in plain.properties


def test_gate_records_markers_and_keeps_every_finding(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(DATA / "project", project)
    handler = project / "handler.py"
    lines = handler.read_text().splitlines()
    lines[7] += "  # nosec B602"  # the shell call: Bastion's Semgrep rule and Bandit's B602
    lines[12] += "  # nosec B324"  # names another test: eval stays reported
    handler.write_text("\n".join(lines) + "\n")
    fake_environment(
        tmp_path / "home",
        Tool.BANDIT,
        f'while [ $# -gt 0 ]; do [ "$1" = "-o" ] && out="$2"; shift; done\n'
        f'cat "{DATA / "bandit-report.json"}" > "$out"\nexit 1\n',
    )
    fake_environment(tmp_path / "home", Tool.SEMGREP, f'cat "{DATA / "semgrep-output.json"}"')
    report = SastGate(tmp_path / "home").scan(ScanRequest(project))
    marks = {f.rule_id: f.properties.get(INLINE_KEY, {}).get("marker") for f in report.findings}
    assert marks == {
        "py-subprocess-shell": "# nosec B602",
        "py-weak-hash": None,
        "py-eval-dynamic": None,
    }
