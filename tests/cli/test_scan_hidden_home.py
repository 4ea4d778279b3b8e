"""Issue 22, point 7: every gate works with Bastion's home in a folder the sandbox hides.

``/var`` (like ``/root`` and ``/home``) is not shown inside the sandbox, so what a gate needs
from the home (compiled-rules cache, grammar cache, vulnerability database) must be bound
explicitly, and reachable by the job's unprivileged uid through the folders bwrap makes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

BASTION = str(Path(sys.executable).with_name("bastion"))
# A folder under /var, as /var/lib/bastion would be; mkdtemp makes it 0700 like a service home.
_HIDDEN_PARENT = Path("/var/tmp")


@pytest.fixture
def hidden_home(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh, empty BASTION_HOME under /var, removed after the test."""
    home = Path(tempfile.mkdtemp(prefix="bastion-test-home-", dir=_HIDDEN_PARENT))
    monkeypatch.setenv("BASTION_HOME", str(home))
    try:
        yield home
    finally:
        shutil.rmtree(home, ignore_errors=True)


@pytest.mark.integration
# The gates that keep a cache in the home (the others read tools from $BASTION_TOOLS_DIR,
# itself under the hidden /root here, and the SCA snapshot shipped in the package).
@pytest.mark.parametrize(
    ("gate", "caches_in_home"),
    [("secrets", True), ("sast", False), ("sca", False), ("iac", True)],
)
def test_every_gate_runs_with_its_home_under_var(
    gate: str, caches_in_home: bool, hidden_home: Path, tmp_path: Path
) -> None:
    tree = tmp_path / "proj"
    tree.mkdir()
    (tree / "app.py").write_text("print('hello')\n")
    (tree / "requirements.txt").write_text("\n")
    done = subprocess.run(
        [BASTION, "scan", str(tree), "--gate", gate, "--format", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)["gates"][gate]
    assert outcome["error"] is None, done.stderr
    assert outcome["facts"], "the gate reported nothing about its scan"
    # The gate really used the home: its warmed cache lives there and was read inside.
    assert (hidden_home / "cache").is_dir() is caches_in_home
