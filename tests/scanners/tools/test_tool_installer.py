"""Installing tool environments: sources, crash safety, failures that name the fix."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bastion.errors import ToolMissingError
from bastion.scanners.tools import InstallSource, Tool, ToolEnvironment, ensure_installed, install
from bastion.scanners.tools.installer import _retarget_scripts

from .tool_fakes import fake_environment


def test_install_sources_select_pip_options(tmp_path: Path) -> None:
    assert InstallSource().pip_arguments() == []
    assert InstallSource(find_links=tmp_path).pip_arguments() == [
        "--find-links",
        str(tmp_path),
        "--no-index",
    ]
    mirror = InstallSource(index_url="https://mirror.example/simple", find_links=tmp_path)
    assert mirror.pip_arguments() == [
        "--index-url",
        "https://mirror.example/simple",
        "--find-links",
        str(tmp_path),
    ]


def test_installed_environment_is_reused(tmp_path: Path) -> None:
    env = fake_environment(tmp_path, Tool.BANDIT, "exit 0")
    before = env.manifest_path.read_text()
    assert ensure_installed(env) is env
    assert install(env).created == "2026-01-01T00:00:00+00:00"
    assert env.manifest_path.read_text() == before


def test_offline_install_without_wheels_fails_naming_the_command(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    env = ToolEnvironment.for_tool(Tool.BANDIT, tmp_path / "home")
    with pytest.raises(ToolMissingError) as info:
        install(env, InstallSource(find_links=wheels))
    text = info.value.diagnostics()
    assert "pip install failed" in text
    assert "bastion tools install bandit --find-links DIR" in text
    assert not env.path.exists()
    # Nothing half-built is left behind to be mistaken for an environment.
    assert [p.name for p in env.tools_dir.iterdir()] == [".bandit.lock"]


def test_leftovers_of_a_killed_installer_are_replaced(tmp_path: Path) -> None:
    env = ToolEnvironment.for_tool(Tool.BANDIT, tmp_path)
    staging = env.tools_dir / f".staging-{env.spec.env_name}-killed"
    staging.mkdir(parents=True)
    env.path.mkdir()  # a directory without a manifest
    with pytest.raises(ToolMissingError):
        install(env, InstallSource(find_links=tmp_path / "none-such"))
    assert not staging.exists()
    assert not env.path.exists()


def test_scripts_are_retargeted_to_the_final_path(tmp_path: Path) -> None:
    staging, final = tmp_path / "stage", tmp_path / "final"
    (staging / "bin").mkdir(parents=True)
    script = staging / "bin" / "tool"
    script.write_text(f"#!{staging}/bin/python\nimport tool\n")
    long_form = staging / "bin" / "long"
    long_form.write_text("#!/bin/sh\n'" + f'\'\'exec\' "{staging}/bin/python" "$0"\n')
    other = staging / "bin" / "other"
    other.write_text("#!/bin/sh\necho hi\n")
    os.symlink("/usr/bin/python3", staging / "bin" / "python")
    _retarget_scripts(staging, final)
    assert script.read_text() == f"#!{final}/bin/python\nimport tool\n"
    assert other.read_text() == "#!/bin/sh\necho hi\n"
    assert f'"{final}/bin/python"' in long_form.read_text()
    assert str(staging) not in long_form.read_text()


@pytest.mark.integration
@pytest.mark.slow
def test_real_install_from_the_pinned_set(tmp_path: Path) -> None:
    """A real, offline install (the air-gapped path): the pinned wheels `make tools` fetched."""
    wheelhouse = Path(sys.prefix) / "wheelhouse"
    if not (wheelhouse / ".done").is_file():
        pytest.fail(f"no wheelhouse at {wheelhouse}: run `make tools` first")
    env = ToolEnvironment.for_tool(Tool.BANDIT, tmp_path)
    source = InstallSource(find_links=wheelhouse)
    manifest = install(env, source)
    assert manifest.version == env.spec.version
    assert env.is_installed()
    assert f"{env.path}/bin/python" in env.executable_path().read_text()
    assert ".staging-" not in env.executable_path().read_text()
    ran = subprocess.run([env.executable_path(), "--version"], capture_output=True, check=False)
    assert ran.returncode == 0
    assert env.spec.version.encode() in ran.stdout
    # A forced reinstall replaces the environment in place.
    assert install(env, source, force=True).requirements_sha256 == env.spec.digest
    assert env.is_installed()
