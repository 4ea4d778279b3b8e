"""Each tool's warm-up, and ``bastion tools install`` doing Checkov's ahead of the first run."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bastion.cli import tools as tools_cli
from bastion.scanners.iac.grammar_cache import grammar_cache_dir, warm_checkov
from bastion.scanners.tools import Tool, ToolEnvironment
from bastion.scanners.warm_ups import warm_up_for
from tests.scanners.tools.tool_fakes import fake_environment

# What Checkov's Lark parser does on start: write its compiled grammar into $TMPDIR, named
# after $USER (checked: the warm-up must run it as the fixed cache user).
FAKE_CHECKOV = (
    'test "$USER" = bastion || exit 9\n'
    'echo grammar > "$TMPDIR/.lark_cache_${USER}_abc_3_11.tmp"\n'
    "echo '[]'"
)


@pytest.mark.parametrize("tool", list(Tool))
def test_every_tool_has_its_warm_up_decided(tool: Tool) -> None:
    expected = {Tool.CHECKOV: warm_checkov, Tool.BANDIT: None, Tool.SEMGREP: None}
    assert warm_up_for(tool) is expected[tool]


def test_tools_install_warms_checkovs_grammar_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BASTION_HOME", str(tmp_path))
    monkeypatch.delenv("BASTION_TOOLS_DIR", raising=False)  # this home's own tools/
    fake_environment(tmp_path, Tool.CHECKOV, FAKE_CHECKOV)
    app = typer.Typer()
    tools_cli.register(app)
    result = CliRunner().invoke(app, ["tools", "install", "checkov"])
    assert result.exit_code == 0, result.output
    cache = grammar_cache_dir(ToolEnvironment.for_tool(Tool.CHECKOV, tmp_path))
    assert [p.name for p in cache.iterdir()] == [".lark_cache_bastion_abc_3_11.tmp"]
