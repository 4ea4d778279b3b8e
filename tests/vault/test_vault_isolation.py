"""A job that did not declare a secret cannot read it: not from its environment, files,
other processes' /proc entries, the workspace or the vault; and a released value never
appears on any host command line."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import pytest

from bastion.sandbox import BubblewrapSandbox, SandboxResult, SandboxSpec
from bastion.vault import Masker, Scope, open_default_vault

from .vault_support import VALUE, context

pytestmark = pytest.mark.integration

_HOLDER = """
test "$(printf %s "$DEPLOY_TOKEN" | sha256sum | cut -d' ' -f1)" = "$1" || exit 3
test "$(sha256sum < /run/bastion/DEPLOY_TOKEN | cut -d' ' -f1)" = "$1" || exit 4
touch /workspace/ready
for _ in $(seq 200); do test -e /workspace/go && exit 0; sleep 0.1; done
exit 5
"""

_SNOOP = """
echo "== env"; env
echo "== run"; ls -la /run/bastion 2>&1; cat /run/bastion/* 2>&1
echo "== proc"; ls /proc | grep -E '^[0-9]+$' | tr '\\n' ' '; echo
for p in /proc/[0-9]*; do cat "$p/environ" "$p/cmdline" 2>&1 | tr '\\0' ' '; echo; done
echo "== files"; cat "$1" "$2"/* 2>&1; grep -rl . /workspace /tmp 2>&1 | head -50
echo "== done"
"""


def _host_cmdlines_with(needle: bytes) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    if needle in handle.read():
                        found.append(int(entry))
            except OSError:
                continue
    return found


def test_undeclared_secret_is_unreachable(tmp_path: Path) -> None:
    home = tmp_path / "home"
    vault = open_default_vault(home, {})
    vault.set("DEPLOY_TOKEN", VALUE, Scope.build(branches=["main"]))
    released = vault.release(["DEPLOY_TOKEN"], context())
    assert vault.release([], context()) == {}  # the snooping job declared nothing
    sandbox = BubblewrapSandbox(state_dir=home)
    holder_ws, snoop_ws = tmp_path / "holder", tmp_path / "snoop"
    holder_ws.mkdir()
    snoop_ws.mkdir()
    digest = hashlib.sha256(VALUE.encode()).hexdigest()
    holder = SandboxSpec(
        argv=["/bin/sh", "-c", _HOLDER, "holder", digest],
        workspace=holder_ws,
        env=released,
        files={name: value.encode() for name, value in released.items()},
    )
    results: list[SandboxResult] = []
    holder_output: list[bytes] = []
    thread = threading.Thread(
        target=lambda: results.append(sandbox.run(holder, holder_output.append))
    )
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not (holder_ws / "ready").exists():
            assert time.monotonic() < deadline, b"".join(holder_output)
            assert thread.is_alive(), b"".join(holder_output)
            time.sleep(0.05)
        assert _host_cmdlines_with(VALUE.encode()) == []
        snoop = SandboxSpec(
            argv=["/bin/sh", "-c", _SNOOP, "snoop", str(vault.path), str(holder_ws)],
            workspace=snoop_ws,
        )
        chunks: list[bytes] = []
        snooped = sandbox.run(snoop, chunks.append)
    finally:
        (holder_ws / "go").touch()
        thread.join(30)
    output = b"".join(chunks)
    assert snooped.exit_code == 0, output
    assert b"== done" in output
    assert b"No such file or directory" in output  # the vault and other workspace are absent
    assert Masker([VALUE]).mask(output) == output  # no form of the value anywhere
    assert results[0].exit_code == 0, b"".join(holder_output)
