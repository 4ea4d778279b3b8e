"""Shared fixtures for the sandbox tests: a real bubblewrap sandbox and a runner helper."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from bastion.sandbox import BubblewrapSandbox, SandboxResult, SandboxSpec

RunSh = Callable[..., tuple[SandboxResult, str]]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """An empty workspace directory for one test."""
    path = tmp_path / "workspace"
    path.mkdir()
    return path


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    """A stand-in Bastion state directory holding a key."""
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (state / "signing.key").write_text("PRIVATE KEY MATERIAL\n")
    return state


@pytest.fixture
def sandbox(state_dir: Path) -> BubblewrapSandbox:
    """The real bubblewrap sandbox, told about the state directory."""
    return BubblewrapSandbox(state_dir=state_dir)


@pytest.fixture
def run_sh(sandbox: BubblewrapSandbox, workspace: Path) -> RunSh:
    """Run a shell script in the sandbox: ``result, output = run_sh(script, **spec_fields)``."""

    def run(
        script: str, cancel: Callable[[], bool] | None = None, **spec_fields: object
    ) -> tuple[SandboxResult, str]:
        chunks: list[bytes] = []
        fields: dict[str, object] = {"workspace": workspace, **spec_fields}
        spec = SandboxSpec(argv=["/bin/sh", "-c", script], **fields)  # type: ignore[arg-type]
        result = sandbox.run(spec, chunks.append, cancel)
        return result, b"".join(chunks).decode(errors="replace")

    return run


@pytest.fixture
def find_processes() -> Callable[[str], list[int]]:
    """Host pids whose command line contains a marker (to prove a tree is gone)."""

    def find(marker: str) -> list[int]:
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    cmdline = handle.read()
            except OSError:
                continue
            if marker.encode() in cmdline:
                found.append(int(entry))
        return found

    return find
