"""The gate inside the real bubblewrap sandbox, on a tree large enough to fork workers.

Regression: ``multiprocessing.Pool`` needs a writable /dev/shm, which the sandbox lacks; the
gate crashed there (and failed closed). The forked pipe workers must work in it.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from bastion.scanners.secrets.samples import render


@pytest.mark.integration
def test_parallel_scan_runs_in_the_sandbox(tmp_path: Path) -> None:
    token = render("<<gh:ghp_>>", random.Random(31))
    for index in range(260):
        (tmp_path / f"mod{index}.py").write_text(f"VALUE = {index}\n")
    (tmp_path / "mod7.py").write_text(f'TOKEN = "{token}"\n')
    bastion = Path(sys.executable).parent / "bastion"
    proc = subprocess.run(
        [str(bastion), "scan", "--gate", "secrets", "--json", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    report = json.loads(proc.stdout)
    assert report["gates"]["secrets"]["error"] is None, report["gates"]["secrets"]["error"]
    assert report["gates"]["secrets"]["facts"]["files_scanned"] == 260
    assert [f["rule_id"] for f in report["findings"]] == ["github-pat"]
    assert token not in proc.stdout + proc.stderr
    assert proc.returncode == 1
