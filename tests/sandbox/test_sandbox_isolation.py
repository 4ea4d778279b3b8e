"""What a job cannot see or touch: real bubblewrap, no mocks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bastion.errors import SandboxError
from bastion.sandbox import BubblewrapSandbox, SandboxResult, SandboxSpec, bastion_runtime_binds

pytestmark = pytest.mark.integration

RunSh = Callable[..., tuple[SandboxResult, str]]
FindProcesses = Callable[[str], list[int]]

SECRET = "TOP-SECRET-VALUE-4711"


@pytest.fixture
def planted(state_dir: Path) -> Iterator[list[Path]]:
    """Secret files under /root, under /var and in the state directory."""
    token = uuid.uuid4().hex
    paths = [
        Path(f"/root/bastion-test-{token}"),
        Path(f"/var/tmp/bastion-test-{token}"),
        state_dir / f"secret-{token}",
    ]
    for path in paths:
        path.write_text(SECRET)
        path.chmod(0o644)  # readable to anyone who can reach it: only reach protects it
    yield paths
    for path in paths:
        path.unlink(missing_ok=True)


def test_cannot_read_root_var_state_or_shadow(run_sh: RunSh, planted: list[Path]) -> None:
    targets = [*planted, Path("/etc/shadow"), Path("/etc/gshadow")]
    script = "; ".join(f"cat {p} 2>/dev/null && echo READ:{p}" for p in targets)
    result, output = run_sh(f"{script}; ls /root /home /var/lib 2>&1; true")
    assert result.exit_code == 0
    assert SECRET not in output
    assert "READ:" not in output
    assert "root:" not in output  # no line of a shadow file
    assert "No such file or directory" in output


def test_state_dir_and_denied_paths_cannot_be_bound(
    sandbox: BubblewrapSandbox, workspace: Path, state_dir: Path
) -> None:
    for bind in (state_dir, state_dir / "signing.key", Path("/root"), Path("/"), Path("/var")):
        spec = SandboxSpec(argv=["true"], workspace=workspace, read_only_binds=[bind])
        with pytest.raises(SandboxError):
            sandbox.run(spec, lambda _: None)


def test_no_effective_capabilities_and_unprivileged_uid(run_sh: RunSh) -> None:
    result, output = run_sh("grep -E '^Cap(Eff|Prm|Bnd|Amb):' /proc/self/status; id -u")
    lines = output.split()
    assert result.exit_code == 0
    for name in ("CapEff:", "CapPrm:", "CapBnd:", "CapAmb:"):
        assert lines[lines.index(name) + 1] == "0000000000000000"
    assert int(lines[-1]) != 0


def test_no_controlling_terminal(run_sh: RunSh) -> None:
    _result, output = run_sh(
        "cut -d' ' -f7 /proc/self/stat; (echo x > /dev/tty) 2>/dev/null || echo notty"
    )
    assert output.split() == ["0", "notty"]


def test_cannot_write_outside_workspace(run_sh: RunSh, workspace: Path) -> None:
    marker = uuid.uuid4().hex
    targets = ["/usr/" + marker, "/etc/" + marker, "/" + marker, "/run/" + marker]
    script = "; ".join(f"touch {t} 2>/dev/null && echo WROTE:{t}" for t in targets)
    result, output = run_sh(f"{script}; echo ok > /workspace/out.txt; echo tmp > /tmp/{marker}")
    assert result.exit_code == 0, output
    assert "WROTE:" not in output
    assert (workspace / "out.txt").read_text() == "ok\n"
    for target in (*targets, f"/tmp/{marker}"):
        assert not Path(target).exists()


def test_no_network_even_to_host_loopback(run_sh: RunSh) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        listener.settimeout(0.2)
        # bash, not sh: dash has no /dev/tcp, and the attempt must be real.
        _result, output = run_sh(
            f"bash -c 'exec 3<>/dev/tcp/127.0.0.1/{port}' 2>&1 && echo CONNECTED"
        )
        with pytest.raises(TimeoutError):
            listener.accept()
    assert "CONNECTED" not in output
    assert "Connection refused" in output


def test_tcp_connect_from_python_fails(sandbox: BubblewrapSandbox, workspace: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        code = (
            "import socket\n"
            "try:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=1)\n"
            "    print('CONNECTED')\n"
            "except OSError as exc:\n"
            "    print('refused', type(exc).__name__)\n"
        )
        spec = SandboxSpec(
            argv=[sys.executable, "-I", "-c", code],
            workspace=workspace,
            read_only_binds=bastion_runtime_binds(),
        )
        chunks: list[bytes] = []
        result = sandbox.run(spec, chunks.append)
        listener.settimeout(0.2)
        with pytest.raises(TimeoutError):
            listener.accept()
    assert result.exit_code == 0, chunks
    assert b"refused ConnectionRefusedError" in b"".join(chunks)


def test_environment_is_cleared(run_sh: RunSh, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASTION_TEST_LEAK", "leaked")
    _result, output = run_sh("env", env={"DECLARED": "yes"})
    variables = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
    assert variables.pop("DECLARED") == "yes"
    assert variables.pop("PWD") == "/workspace"
    assert set(variables) <= {"PATH", "HOME", "SHLVL", "_"}


def test_environment_values_never_reach_a_command_line(
    run_sh: RunSh, find_processes: FindProcesses
) -> None:
    """Any host user can read /proc/PID/cmdline: secrets in env must not be on one."""
    value = f"env-secret-{uuid.uuid4().hex}"
    seen: list[int] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen.extend(find_processes(value))
            time.sleep(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        _result, output = run_sh(
            'sleep 0.4; test "$TOKEN" = "$EXPECTED" && echo match',
            env={"TOKEN": value, "EXPECTED": value},
        )
    finally:
        done.set()
        watcher.join()
    assert output == "match\n"
    assert seen == []


def test_files_are_private_and_read_only(run_sh: RunSh) -> None:
    _result, output = run_sh(
        "cat /run/bastion/token; echo; stat -c '%a' /run/bastion/token; "
        "echo x > /run/bastion/token 2>/dev/null && echo WRITABLE",
        files={"token": b"s3cr3t"},
    )
    lines = output.splitlines()
    assert lines[0] == "s3cr3t"
    assert lines[1] in {"400", "444"}  # 444 when root-owned: no other uid is in the sandbox
    assert "WRITABLE" not in output


def test_hidden_etc_entries_are_out_of_sight(run_sh: RunSh) -> None:
    _result, output = run_sh(
        "ls -A /etc/ssl/private | wc -l; (wc -c < /etc/shadow) 2>/dev/null || echo 0"
    )
    assert output.split() == ["0", "0"]


def test_binding_etc_subtrees_keeps_secrets_hidden(run_sh: RunSh) -> None:
    # Not just unreadable (the job's uid could not read them anyway): covered over.
    script = "stat -c %F /etc/shadow; stat -f -c %T /etc/ssl/private; ls -A /etc/ssl/private"
    _, output = run_sh(script, read_only_binds=[Path("/etc/ssl"), Path("/etc/shadow")])
    assert output.splitlines() == ["character special file", "tmpfs"]


def test_subpath_of_denied_dir_can_be_bound(sandbox: BubblewrapSandbox, workspace: Path) -> None:
    spec = SandboxSpec(
        argv=[sys.executable, "-I", "-c", "import sys; print(sys.version_info[:2])"],
        workspace=workspace,
        read_only_binds=bastion_runtime_binds(),
    )
    chunks: list[bytes] = []
    result = sandbox.run(spec, chunks.append)
    assert result.exit_code == 0, chunks
    assert b"(3, 11)" in b"".join(chunks)


def test_working_directory_inside_workspace(run_sh: RunSh, workspace: Path) -> None:
    (workspace / "sub" / "dir").mkdir(parents=True)
    _result, output = run_sh("pwd", working_directory="sub/./dir")
    assert output.strip() == "/workspace/sub/dir"
    with pytest.raises(SandboxError, match="escapes the workspace"):
        run_sh("pwd", working_directory="sub/../../etc")


def test_setup_failure_is_a_sandbox_error(run_sh: RunSh) -> None:
    with pytest.raises(SandboxError, match="could not be set up"):
        run_sh("pwd", working_directory="missing-directory")


def test_missing_program_fails_like_a_shell(sandbox: BubblewrapSandbox, workspace: Path) -> None:
    chunks: list[bytes] = []
    result = sandbox.run(
        SandboxSpec(argv=["/nonexistent/prog"], workspace=workspace), chunks.append
    )
    assert result.exit_code == 127
    assert b"/nonexistent/prog" in b"".join(chunks)


def test_job_exit_code_and_output_are_reported(run_sh: RunSh) -> None:
    result, output = run_sh("echo out; echo err >&2; exit 7")
    assert result.exit_code == 7
    assert not result.succeeded
    assert "out" in output
    assert "err" in output


def test_host_network_is_logged_loudly(run_sh: RunSh, caplog: pytest.LogCaptureFixture) -> None:
    from bastion.sandbox import NetworkMode, NetworkPolicy

    with caplog.at_level("WARNING", logger="bastion.sandbox"):
        result, _output = run_sh("true", network=NetworkPolicy(NetworkMode.HOST))
    assert result.exit_code == 0
    assert "NETWORK IS THE HOST'S" in caplog.text


def test_files_with_bad_names_are_refused(run_sh: RunSh) -> None:
    for name in ("../escape", "/abs", "egress.sock", "a//b"):
        with pytest.raises(SandboxError, match="plain relative path"):
            run_sh("true", files={name: b"x"})


def test_job_runs_as_workspace_owner(run_sh: RunSh, workspace: Path) -> None:
    _result, output = run_sh("id -u; touch /workspace/made")
    made = (workspace / "made").stat()
    expected = os.geteuid() if os.geteuid() != 0 else int(output.split()[0])
    assert made.st_uid == expected


def test_unpreparable_workspace_is_a_sandbox_error(
    sandbox: BubblewrapSandbox, workspace: Path
) -> None:
    if os.geteuid() != 0:
        pytest.fail("the workspace is handed to a job uid only as root, as on CI")
    locked = workspace / "immutable"
    locked.write_text("x")
    subprocess.run(["chattr", "+i", str(locked)], check=True)
    try:
        with pytest.raises(SandboxError, match="could not prepare the sandbox"):
            sandbox.run(SandboxSpec(argv=["true"], workspace=workspace), lambda _: None)
    finally:
        subprocess.run(["chattr", "-i", str(locked)], check=True)
