"""The seccomp filter: every denied call answers EPERM, with the filter alone and in a job.

Each attack calls with arguments that, without the filter, fail some other way (EFAULT,
EINVAL, EBADF, ESRCH) or succeed, even as root: the control run proves it, so EPERM in the
filtered runs is the filter's doing, not a missing capability's.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pyseccomp
import pytest

from bastion.errors import SandboxError
from bastion.sandbox import BubblewrapSandbox, Limits, SandboxSpec, SyscallGroup
from bastion.sandbox.invocation import Invocation, build_command
from bastion.sandbox.seccomp import _compile, compile_filter
from bastion.sandbox.syscalls import ALWAYS_DENIED

from .conftest import RunSh

PROBE = Path(__file__).with_name("seccomp_probe.py")
SYSTEM_PYTHON = "/usr/bin/python3"
CLONE_NEWUSER = 0x10000000
CLONE_THREAD = 0x00010000
_BAD = 1  # an address nothing is mapped at: EFAULT where the kernel reads it

# label -> (system call, arguments)
ATTACKS: dict[str, tuple[str, list[int]]] = {
    "keyctl": ("keyctl", [0xFFFF, 0, 0, 0, 0]),
    "add_key": ("add_key", [_BAD, _BAD, 0, 0, 0]),
    "request_key": ("request_key", [_BAD, _BAD, 0, 0]),
    "bpf": ("bpf", [0xFFFF, 0, 0]),
    "perf_event_open": ("perf_event_open", [_BAD, 0, -1, -1, 0]),
    "userfaultfd": ("userfaultfd", [0xFFFF]),
    "io_uring_setup": ("io_uring_setup", [0, _BAD]),
    "io_uring_enter": ("io_uring_enter", [-1, 0, 0, 0, 0, 0]),
    "io_uring_register": ("io_uring_register", [-1, 0, 0, 0]),
    "kexec_load": ("kexec_load", [0, 0, 0, 0xFFFFFFFF]),
    "kexec_file_load": ("kexec_file_load", [-1, -1, 0, 0, 0xFFFFFFFF]),
    "init_module": ("init_module", [_BAD, 1, _BAD]),
    "finit_module": ("finit_module", [-1, _BAD, 0]),
    "delete_module": ("delete_module", [_BAD, 0]),
    "mount": ("mount", [_BAD, _BAD, _BAD, 0, 0]),
    "umount2": ("umount2", [_BAD, 0]),
    "pivot_root": ("pivot_root", [_BAD, _BAD]),
    "fsopen": ("fsopen", [_BAD, 0]),
    "open_tree": ("open_tree", [-1, _BAD, 0]),
    "fsmount": ("fsmount", [-1, 0, 0]),
    "move_mount": ("move_mount", [-1, _BAD, -1, _BAD, 0]),
    "lookup_dcookie": ("lookup_dcookie", [0, _BAD, 0]),
    "quotactl": ("quotactl", [0xFFFF, _BAD, 0, 0]),
    "swapon": ("swapon", [_BAD, 0]),
    "swapoff": ("swapoff", [_BAD]),
    "reboot": ("reboot", [0, 0, 0, 0]),
    "setns": ("setns", [-1, 0]),
    "chroot": ("chroot", [_BAD]),
    "acct": ("acct", [_BAD]),
    "iopl": ("iopl", [4]),
    "ioperm": ("ioperm", [0x10000, 1, 1]),
    "settimeofday": ("settimeofday", [_BAD, _BAD]),
    "clock_settime": ("clock_settime", [0xFFFF, _BAD]),
    "syslog": ("syslog", [0xFFFF, 0, 0]),
    "open_by_handle_at": ("open_by_handle_at", [-1, _BAD, 0]),
    "ptrace": ("ptrace", [16, 0x3FFFFFF0, 0, 0]),  # PTRACE_ATTACH to no process
    "process_vm_readv": ("process_vm_readv", [0x3FFFFFF0, 0, 0, 0, 0, 1]),
    "process_vm_writev": ("process_vm_writev", [0x3FFFFFF0, 0, 0, 0, 0, 1]),
    "unshare_newuser": ("unshare", [CLONE_NEWUSER]),
    "clone_newuser": ("clone", [CLONE_NEWUSER | CLONE_THREAD, 0, 0, 0, 0]),
    "personality_no_aslr": ("personality", [0x0040000]),
    "socket_vsock": ("socket", [40, 1, 0]),
    "clone3": ("clone3", [_BAD, 0]),
}


def _calls(labels: list[str]) -> str:
    native = pyseccomp.Arch.NATIVE
    rows = [[label, pyseccomp.resolve_syscall(native, ATTACKS[label][0])] for label in labels]
    return json.dumps([[label, nr, ATTACKS[label][1]] for label, nr in rows])


def _expected(label: str) -> int:
    return errno.ENOSYS if label == "clone3" else errno.EPERM


def _probe_outside(mode: str, filter_path: str, what: str) -> subprocess.CompletedProcess[str]:
    """The probe in a child of the test process (root here), with or without the filter."""
    return subprocess.run(
        [sys.executable, str(PROBE), mode, filter_path, what],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.fixture
def filter_file(tmp_path: Path) -> Path:
    path = tmp_path / "filter.bpf"
    path.write_bytes(compile_filter(frozenset()))
    return path


@pytest.fixture
def as_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("the control runs need root's capabilities, as CI has")


def test_every_hard_denial_is_attacked() -> None:
    attacked = {name for name, _ in ATTACKS.values()}
    assert set(ALWAYS_DENIED) <= attacked


@pytest.mark.usefixtures("as_root")
def test_the_filter_alone_turns_each_attack_into_eperm(filter_file: Path) -> None:
    labels = list(ATTACKS)
    control = _probe_outside("calls", "-", _calls(labels))
    assert control.returncode == 0, control.stderr
    unfiltered = json.loads(control.stdout)
    # Without the filter, root gets anything but EPERM: the arguments are harmless.
    assert {label: code for label, code in unfiltered.items() if code == errno.EPERM} == {}
    filtered = _probe_outside("calls", str(filter_file), _calls(labels))
    assert filtered.returncode == 0, filtered.stderr
    assert json.loads(filtered.stdout) == {label: _expected(label) for label in labels}


@pytest.mark.usefixtures("as_root")
@pytest.mark.parametrize("abi", ["i386", "x32"])
def test_the_filter_kills_another_abi(filter_file: Path, abi: str) -> None:
    control = _probe_outside("abi", "-", abi)
    assert control.returncode == 0, control.stderr
    assert control.stdout.strip() == "survived"
    filtered = _probe_outside("abi", str(filter_file), abi)
    assert filtered.returncode == -signal.SIGSYS
    assert "survived" not in filtered.stdout


@pytest.mark.integration
def test_a_job_gets_eperm_for_every_attack(run_sh: RunSh, workspace: Path) -> None:
    (workspace / "probe.py").write_bytes(PROBE.read_bytes())
    labels = list(ATTACKS)
    script = (
        f"grep '^Seccomp:' /proc/self/status; {SYSTEM_PYTHON} probe.py calls - '{_calls(labels)}'"
    )
    result, output = run_sh(script)
    assert result.exit_code == 0, output
    status, report = output.strip().splitlines()
    assert status.split() == ["Seccomp:", "2"]
    assert json.loads(report) == {label: _expected(label) for label in labels}


@pytest.mark.integration
def test_a_job_cannot_make_a_user_namespace(run_sh: RunSh) -> None:
    # Issue 22 point 6: a root-run Bastion's jobs could; unshare(1) uses unshare(2).
    result, output = run_sh("unshare --user --map-root-user true; echo exit=$?")
    assert "exit=1" in output, output
    assert "Operation not permitted" in output
    assert result.exit_code == 0


@pytest.mark.integration
@pytest.mark.parametrize("abi", ["i386", "x32"])
def test_a_job_is_killed_for_another_abi(run_sh: RunSh, workspace: Path, abi: str) -> None:
    (workspace / "probe.py").write_bytes(PROBE.read_bytes())
    result, output = run_sh(f"exec {SYSTEM_PYTHON} probe.py abi - {abi}")
    assert result.exit_code == 128 + signal.SIGSYS, output
    assert "survived" not in output


@pytest.mark.integration
def test_a_relaxed_group_is_given_back_and_only_it(run_sh: RunSh, workspace: Path) -> None:
    (workspace / "probe.py").write_bytes(PROBE.read_bytes())
    labels = ["ptrace", "process_vm_readv", "perf_event_open", "keyctl"]
    limits = Limits(syscalls=frozenset({SyscallGroup.PTRACE}))
    result, output = run_sh(f"{SYSTEM_PYTHON} probe.py calls - '{_calls(labels)}'", limits=limits)
    assert result.exit_code == 0, output
    report = json.loads(output)
    assert report["ptrace"] == errno.ESRCH
    assert report["process_vm_readv"] == errno.EINVAL
    assert report["perf_event_open"] == errno.EPERM
    assert report["keyctl"] == errno.EPERM


def test_the_command_hands_bwrap_the_filter(tmp_path: Path) -> None:
    spec = SandboxSpec(argv=["true"], workspace=tmp_path)
    inv = Invocation(
        bwrap="bwrap",
        prlimit="prlimit",
        status_fd=9,
        file_fds={},
        binds=(),
        hidden=(),
        seccomp_fd=7,
    )
    command = build_command(spec, inv)
    at = command.options.index("--seccomp")
    assert command.options[at + 1] == "7"


def test_no_filter_no_job(
    monkeypatch: pytest.MonkeyPatch, sandbox: BubblewrapSandbox, workspace: Path
) -> None:
    # libseccomp missing: pyseccomp cannot be imported; the job must not start.
    _compile.cache_clear()
    monkeypatch.setitem(sys.modules, "pyseccomp", None)
    spec = SandboxSpec(argv=["/bin/sh", "-c", "touch ran"], workspace=workspace)
    try:
        with pytest.raises(SandboxError, match="seccomp filter cannot be built") as raised:
            sandbox.run(spec, lambda _chunk: None)
    finally:
        _compile.cache_clear()
    assert "libseccomp" in raised.value.diagnostics()
    assert not (workspace / "ran").exists()


@pytest.mark.integration
def test_ordinary_builds_still_work(run_sh: RunSh, workspace: Path) -> None:
    """git, gcc (threads), pip and pytest (Bastion's own venv, bound read-only) under the filter."""
    _tiny_wheel(workspace / "tiny-1.0-py3-none-any.whl")
    (workspace / "test_ok.py").write_text("def test_ok() -> None:\n    assert 1 + 1 == 2\n")
    (workspace / "hello.c").write_text(
        "#include <pthread.h>\n#include <stdio.h>\n"
        "static void *run(void *arg) { return arg; }\n"
        "int main(void) { pthread_t t; pthread_create(&t, 0, run, 0); pthread_join(t, 0);"
        ' puts("hello from gcc"); return 0; }\n'
    )
    venv = Path(sys.prefix)
    script = " && ".join(
        [
            "git init -q repo",
            "git -C repo -c user.name=b -c user.email=b@example.org commit -q --allow-empty -m x",
            "git -C repo log --oneline | wc -l",
            "gcc -O1 -pthread -o hello hello.c",
            "./hello",
            f"{SYSTEM_PYTHON} -m pip install -q --no-index --no-deps --target site"
            " tiny-1.0-py3-none-any.whl",
            f"PYTHONPATH=site {SYSTEM_PYTHON} -c 'import tiny; print(tiny.VALUE)'",
            f"{venv}/bin/python -m pytest -q -p no:cacheprovider test_ok.py",
        ]
    )
    binds = (venv, Path(sys.base_prefix))
    result, output = run_sh(script, read_only_binds=binds, env={"PIP_NO_CACHE_DIR": "1"})
    assert result.exit_code == 0, output
    assert "hello from gcc" in output
    assert "tiny works" in output
    assert "1 passed" in output


def _tiny_wheel(path: Path) -> None:
    files = {
        "tiny/__init__.py": 'VALUE = "tiny works"\n',
        "tiny-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: tiny\nVersion: 1.0\n",
        "tiny-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\n"
        "Root-Is-Purelib: true\nTag: py3-none-any\n",
    }
    records = [f"{name},," for name in files] + ["tiny-1.0.dist-info/RECORD,,"]
    files["tiny-1.0.dist-info/RECORD"] = "\n".join(records) + "\n"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
