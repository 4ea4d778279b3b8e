"""The ``bastion`` command itself: ``--version``."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

import bastion
from bastion.cli.main import app

BASTION = str(Path(sys.executable).with_name("bastion"))


def test_version_is_the_installed_package_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"bastion {importlib.metadata.version('bastion-ci')}\n"
    assert bastion.__version__ == importlib.metadata.version("bastion-ci")


def test_version_through_the_real_entry_point() -> None:
    done = subprocess.run(
        [BASTION, "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"bastion {bastion.__version__}\n"
    assert done.stderr == ""
