"""Fake tool environments: a manifest that matches the shipped pins and a tiny script."""

from __future__ import annotations

import sys
from pathlib import Path

from bastion.scanners.tools import Tool, ToolEnvironment, ToolManifest


def fake_environment(home: Path, tool: Tool, script: str) -> ToolEnvironment:
    """An "installed" environment whose console script is ``script`` (a /bin/sh body)."""
    env = ToolEnvironment.for_tool(tool, home)
    (env.path / "bin").mkdir(parents=True)
    executable = env.executable_path()
    executable.write_text("#!/bin/sh\n" + script + "\n", encoding="utf-8")
    executable.chmod(0o755)
    (env.path / "pyvenv.cfg").write_text(f"home = {sys.base_prefix}/bin\n", encoding="utf-8")
    manifest = ToolManifest(
        tool=tool.value,
        version=env.spec.version,
        requirements_sha256=env.spec.digest,
        created="2026-01-01T00:00:00+00:00",
        python="3.11.7",
    )
    env.manifest_path.write_text(manifest.to_json(), encoding="utf-8")
    return env
