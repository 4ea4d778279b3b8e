"""Issue 22 point 2: a job over its `limits: {memory: ...}` fails, and says why."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support import run_bastion

pytestmark = pytest.mark.integration

# Each process stays under the per-process data limit (RLIMIT_DATA); together they are
# well over the job's 64 MiB, which only the job-wide (cgroup) limit catches.
GREEDY = """
jobs:
  greedy:
    limits: {memory: 64M}
    steps:
      - run: |
          grab="import time; b = bytearray(40 << 20); b[::4096] = b'x' * 10240; time.sleep(3)"
          for i in 1 2 3 4 5 6; do python3 -c "$grab" & done
          wait
"""


def test_a_job_over_its_memory_limit_exits_1_saying_so(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".bastion").mkdir(parents=True)
    (repo / ".bastion" / "pipeline.yml").write_text(GREEDY)
    done = run_bastion("run", "-C", str(repo), "--json", env=dict(os.environ))
    assert done.returncode == 1, done.stderr
    job = json.loads(done.stdout)["jobs"]["greedy"]
    assert job["state"] == "failed"
    assert "memory limit" in job["reason"]
