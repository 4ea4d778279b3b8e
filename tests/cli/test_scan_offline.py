"""Issue 23: `bastion scan --offline` and `bastion run --offline` on a Python + JavaScript tree.

The first offline run decides with the bundled snapshot, says the data's date before its
verdict, and lists the manifests it did not judge; nothing blocks on those.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bastion.cli import run as run_cli
from bastion.cli import scan as scan_cli

LOCK = (
    '{"name": "app", "lockfileVersion": 3, "packages": {"": {"dependencies": '
    '{"left-pad": "1.3.0"}}, "node_modules/left-pad": {"version": "1.3.0"}}}'
)


def _app(module: object) -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test root so the command stays a subcommand."""

    module.register(app)  # type: ignore[attr-defined]
    return app


def _tree(tmp_path: Path, requirement: str) -> Path:
    root = tmp_path / "shop"
    root.mkdir()
    (root / "requirements.txt").write_text(requirement)
    (root / "package-lock.json").write_text(LOCK)
    (root / "pom.xml").write_text("<project/>\n")
    return root


def _scan(root: Path) -> tuple[int, str]:
    argv = ["scan", str(root), "--gate", "sca", "--unsafe-no-sandbox", "--offline"]
    result = CliRunner().invoke(_app(scan_cli), argv)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def test_offline_scan_of_python_and_js_decides_with_the_bundled_date(tmp_path: Path) -> None:
    code, output = _scan(_tree(tmp_path, "idna==3.7\n"))
    assert code == 0, output
    dated = output.index("using the bundled OSV snapshot (PyPI of 2024-10-10, npm of 2024-01-09)")
    assert "no known vulnerabilities in the bundled data (PyPI of 2024-10-10, npm of" in output
    assert "not judged: pom.xml — no Maven parser yet" in output
    assert dated < output.index("policy decision: PASS")  # the date comes before the verdict
    assert "judging PyPI with the bundled snapshot of 2024-10-10" in output


def test_offline_scan_blocks_a_vulnerable_pin_with_the_bundled_data(tmp_path: Path) -> None:
    code, output = _scan(_tree(tmp_path, "django==2.2.6\n"))
    assert code == 1
    assert "CVE-2019-19844" in output
    assert "policy decision: BLOCKED" in output


def test_run_offline_sets_offline_mode_for_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BASTION_OFFLINE", raising=False)
    # A project that does not exist stops the run early; the mode is set before anything.
    CliRunner().invoke(_app(run_cli), ["run", "-C", str(tmp_path / "absent"), "--offline"])
    assert os.environ.get("BASTION_OFFLINE") == "1"
