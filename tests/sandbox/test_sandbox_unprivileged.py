"""The sandbox run by a plain user (a developer's machine): user namespace, same guarantees.

The tests run as root on CI, so they start a separate Python as ``nobody``. The project's own
interpreter lives under /root, out of nobody's reach, hence the system ``/usr/bin/python3``
with only the standard library and Bastion's source on its path.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pyseccomp
import pytest

pytestmark = pytest.mark.integration

FindProcesses = Callable[[str], list[int]]

_SCRIPT = r"""
import json, sys, time
from pathlib import Path
from bastion.sandbox import BubblewrapSandbox, Limits, SandboxSpec

ws = Path(sys.argv[1])
sandbox = BubblewrapSandbox()
report = {}

def run(script, **fields):
    chunks = []
    spec = SandboxSpec(argv=["sh", "-c", script], workspace=ws, **fields)
    result = sandbox.run(spec, chunks.append)
    return result, b"".join(chunks).decode()

_, out = run("id -u; grep CapEff /proc/self/status; stat -c %a /run/bastion/t; "
             "cat /etc/shadow >/dev/null 2>&1 || echo noshadow", files={"t": b"x"})
report["basic"] = out.split()
result, out = run("n=0; while [ $n -lt 300 ]; do sleep 5 & n=$((n+1)); echo $n; done",
                  limits=Limits(max_processes=15, timeout_seconds=10))
report["forks"] = max(int(x) for x in out.split() if x.isdigit())
start = time.monotonic()
marker = sys.argv[2]
result, _ = run(f"setsid sh -c 'trap \"\" TERM; sleep 38.{marker}' & sleep 39.{marker}",
                limits=Limits(timeout_seconds=0.5))
report["timeout"] = [result.timed_out, time.monotonic() - start]
print(json.dumps(report))
"""


@pytest.fixture
def nobody_workspace() -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.fail("this test switches to nobody and needs root, as CI has")
    with tempfile.TemporaryDirectory(prefix="bastion-test-") as outer:
        Path(outer).chmod(0o755)
        ws = Path(outer, "ws")
        ws.mkdir()
        os.chown(ws, 65534, 65534)
        yield ws


def test_plain_user_gets_namespaced_unprivileged_limited_sandbox(
    nobody_workspace: Path, find_processes: FindProcesses
) -> None:
    src = Path(__file__).resolve().parents[2] / "src"
    argv = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]
    marker = str(uuid.uuid4().int % 10**9)
    argv += ["/usr/bin/python3", "-c", _SCRIPT, str(nobody_workspace), marker]
    # The seccomp bindings (one pure-Python module) from the venv, which nobody cannot reach.
    bindings = nobody_workspace.parent / "bindings"
    bindings.mkdir()
    shutil.copy(pyseccomp.__file__, bindings)
    done = subprocess.run(
        argv,
        capture_output=True,
        env={"PYTHONPATH": f"{src}:{bindings}", "PATH": "/usr/bin:/bin"},
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr.decode()
    report = json.loads(done.stdout)
    assert report["basic"] == ["65534", "CapEff:", "0000000000000000", "400", "noshadow"]
    assert report["forks"] < 15
    timed_out, seconds = report["timeout"]
    assert timed_out
    assert seconds < 3
    assert find_processes(f".{marker}") == []
