"""End to end: a job in a real bubblewrap sandbox reaches the world only through the proxy."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bastion.sandbox import BubblewrapSandbox, NetworkMode, NetworkPolicy, SandboxSpec
from bastion.sandbox.egress import AllowList, EgressProxy, EgressRecord, StaticResolver

pytestmark = pytest.mark.integration

_JOB = """
import socket, sys, urllib.error, urllib.request
port = sys.argv[1]
body = urllib.request.urlopen(f"http://allowed.example:{port}/inside", timeout=10).read()
print("allowed", body.decode())
try:
    urllib.request.urlopen(f"http://denied.example:{port}/", timeout=10)
    print("DENIED HOST REACHED")
except urllib.error.HTTPError as exc:
    print("denied", exc.code)
try:
    socket.create_connection(("127.0.0.1", int(port)), timeout=2)
    print("DIRECT CONNECTED")
except OSError as exc:
    print("direct refused", type(exc).__name__)
"""


def test_job_uses_the_proxy_and_is_logged(
    sandbox: BubblewrapSandbox, workspace: Path, origin: int, tmp_path: Path
) -> None:
    resolver = StaticResolver({"allowed.example": ["127.0.0.1"], "denied.example": ["127.0.0.1"]})
    allow = AllowList.parse([f"allowed.example:{origin}", f"127.0.0.1:{origin}"])
    records: list[EgressRecord] = []
    socket_path = tmp_path / "job.egress.sock"
    with EgressProxy(allow, records.append, job="build", resolver=resolver) as proxy:
        proxy.start(socket_path)
        spec = SandboxSpec(
            argv=[sys.executable, "-I", "-c", _JOB, str(origin)],
            workspace=workspace,
            network=NetworkPolicy(NetworkMode.PROXY, socket_path),
        )
        chunks: list[bytes] = []
        result = sandbox.run(spec, chunks.append)
    output = b"".join(chunks).decode(errors="replace")
    assert result.exit_code == 0, output
    assert "allowed hello from /inside" in output
    assert "denied 403" in output
    assert "direct refused ConnectionRefusedError" in output
    assert sorted((r.host, r.allowed) for r in records) == [
        ("allowed.example", True),
        ("denied.example", False),
    ]
    assert all(r.job == "build" for r in records)
