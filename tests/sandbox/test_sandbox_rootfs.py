"""A job that names its own root filesystem sees that, not the host's system directories."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bastion.errors import SandboxError
from bastion.sandbox import BubblewrapSandbox, SandboxSpec

pytestmark = pytest.mark.integration

_TOOLS = ("sh", "cat", "id", "setpriv", "prlimit", "ls")


def _copy_with_libraries(binary: Path, rootfs: Path) -> None:
    """Copy ``binary`` and every shared library ``ldd`` names to the same paths in rootfs."""
    listing = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True)
    needed = [binary, *(Path(p) for p in re.findall(r"(/\S+) \(0x", listing.stdout))]
    for path in needed:
        # Both under the name programs use (/lib64/ld-linux...) and the resolved one.
        for name in {path, path.resolve()}:
            target = rootfs / str(name).lstrip("/")
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path.resolve(), target)


@pytest.fixture(scope="module")
def rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny root filesystem: a few tools, their libraries and an /etc of its own."""
    root = tmp_path_factory.mktemp("rootfs") / "root"
    for name in ("bin", "lib", "lib64"):  # a merged-/usr layout, as Debian's
        (root / "usr" / name).mkdir(parents=True)
        (root / name).symlink_to(f"usr/{name}")
    for tool in _TOOLS:
        found = shutil.which(tool)
        assert found is not None, f"{tool} is needed to build the test rootfs"
        _copy_with_libraries(Path(found), root)
        if not (root / "usr" / "bin" / tool).exists():
            shutil.copy2(found, root / "usr" / "bin" / tool)
    (root / "etc").mkdir()
    (root / "etc" / "os-release").write_text("ID=bastion-test-rootfs\n")
    return root


def test_job_sees_the_named_rootfs(
    sandbox: BubblewrapSandbox, workspace: Path, rootfs: Path
) -> None:
    chunks: list[bytes] = []
    spec = SandboxSpec(
        argv=["/usr/bin/sh", "-c", "cat /etc/os-release; ls /etc; id -u; ls /workspace; echo end"],
        workspace=workspace,
        rootfs=rootfs,
        env={"PATH": "/usr/bin"},
    )
    (workspace / "in-workspace").write_text("x")
    result = sandbox.run(spec, chunks.append)
    output = b"".join(chunks).decode()
    assert result.exit_code == 0, output
    lines = output.split()
    assert lines[:3] == ["ID=bastion-test-rootfs", "os-release", lines[2]]
    assert "passwd" not in lines  # the host's /etc is not there
    assert "in-workspace" in lines
    assert lines[-1] == "end"


def test_rootfs_without_privilege_tools_is_refused(
    sandbox: BubblewrapSandbox, workspace: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "empty-rootfs"
    empty.mkdir()
    spec = SandboxSpec(argv=["/bin/true"], workspace=workspace, rootfs=empty)
    with pytest.raises(SandboxError, match="util-linux"):
        sandbox.run(spec, lambda _: None)
