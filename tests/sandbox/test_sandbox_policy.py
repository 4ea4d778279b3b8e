"""Pure rules: which paths may be bound, what of /etc is hidden, uid pool, command shape."""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bastion.errors import SandboxError
from bastion.sandbox import JobUidPool, Limits, NetworkMode, NetworkPolicy, SandboxSpec
from bastion.sandbox.invocation import Invocation, build_argv
from bastion.sandbox.paths import (
    HiddenEntry,
    check_bind,
    hidden_etc_entries,
    resolve_working_directory,
)


def test_check_bind_rules(tmp_path: Path) -> None:
    state = tmp_path / "state"
    (state / "keys").mkdir(parents=True)
    tools = tmp_path / "tools"
    tools.mkdir()
    (tmp_path / ".ssh").mkdir()
    assert check_bind(tools, denied=[state], what="bind") == tools.resolve()
    refused = [
        Path("relative"),
        tmp_path / "missing",
        Path("/"),
        Path("/root"),
        Path("/home"),
        tmp_path,  # contains the state directory
        state,
        state / "keys",  # inside it
        tmp_path / ".ssh",
        Path("/proc/self"),
        Path("/dev/null"),
        Path("/sys/kernel"),
        Path("/run"),
    ]
    for path in refused:
        with pytest.raises(SandboxError):
            check_bind(path, denied=[state], what="bind")
    # A workspace may live inside a denied run area, never contain it.
    run_area = state / "keys"
    assert check_bind(run_area, denied=[state], what="workspace", allow_inside_denied=True)
    with pytest.raises(SandboxError):
        check_bind(state, denied=[state], what="workspace", allow_inside_denied=True)


def test_symlink_to_denied_is_resolved(tmp_path: Path) -> None:
    link = tmp_path / "innocent"
    link.symlink_to("/root")
    with pytest.raises(SandboxError, match="contains /root"):
        check_bind(link, denied=[], what="bind")


def test_subpath_of_root_is_allowed() -> None:
    python_home = Path(os.path.realpath(os.sys.base_prefix))  # type: ignore[attr-defined]
    assert check_bind(python_home, denied=[], what="bind") == python_home


@given(st.lists(st.sampled_from(["a", "b", ".", ".."]), max_size=8))
def test_working_directory_never_escapes(parts: list[str]) -> None:
    raw = "/".join(parts) or "."
    try:
        resolved = resolve_working_directory(raw)
    except SandboxError:
        depth = 0
        for part in parts:
            depth += {"..": -1, ".": 0}.get(part, 1)
            if depth < 0:
                return
        raise
    assert (
        resolved == PurePosixPath("/workspace") or PurePosixPath("/workspace") in resolved.parents
    )
    assert ".." not in resolved.parts


def test_absolute_working_directory_is_refused() -> None:
    with pytest.raises(SandboxError, match="relative"):
        resolve_working_directory("/etc")


def test_hidden_etc_entries(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    (etc / "ssh").mkdir(parents=True)
    (etc / "app").mkdir()
    (etc / "locked").mkdir(mode=0o700)
    (etc / "locked" / "inner").write_text("x")
    (etc / "hostname").write_text("h")
    (etc / "app" / "password.conf").write_text("p")
    (etc / "app" / "password.conf").chmod(0o640)
    (etc / "shadow").write_text("s")  # world-readable by mistake: hidden anyway
    (etc / "ssh" / "ssh_host_ed25519_key").write_text("k")
    (etc / "ssh" / "ssh_config").write_text("c")
    (etc / "link").symlink_to("shadow")
    (etc / "locked").chmod(0o700)
    hidden = hidden_etc_entries(etc)
    assert set(hidden) == {
        HiddenEntry(etc / "app" / "password.conf", False),
        HiddenEntry(etc / "locked", True),
        HiddenEntry(etc / "shadow", False),
        HiddenEntry(etc / "ssh" / "ssh_host_ed25519_key", False),
    }


def test_real_etc_hides_shadow() -> None:
    hidden = {entry.path for entry in hidden_etc_entries()}
    assert Path("/etc/shadow") in hidden
    assert stat.S_ISREG(os.lstat("/etc/shadow").st_mode)


def test_uid_pool_hands_out_distinct_uids_and_runs_out(tmp_path: Path) -> None:
    pool = JobUidPool(base=3_000_000, count=2, lock_dir=tmp_path / "locks")
    with pool.acquire() as first, pool.acquire() as second:
        assert {first, second} == {3_000_000, 3_000_001}
        with pytest.raises(SandboxError, match="in use"), pool.acquire():
            pass
    with pool.acquire() as again:
        assert again in {3_000_000, 3_000_001}


def test_uid_pool_refuses_an_open_lock_dir(tmp_path: Path) -> None:
    locks = tmp_path / "locks"
    locks.mkdir(mode=0o777)
    locks.chmod(0o777)
    with (
        pytest.raises(SandboxError, match="closed to others"),
        JobUidPool(lock_dir=locks).acquire(),
    ):
        pass


def test_uid_pool_range_is_checked() -> None:
    with pytest.raises(SandboxError):
        JobUidPool(base=0)
    with pytest.raises(SandboxError):
        JobUidPool(base=2**31 - 10, count=100)


def _inv(**fields: object) -> Invocation:
    base: dict[str, object] = {
        "bwrap": "bwrap",
        "prlimit": "prlimit",
        "status_fd": 9,
        "file_fds": {},
        "binds": [],
        "hidden": [],
        "seccomp_fd": 8,
    }
    return Invocation(**{**base, **fields})  # type: ignore[arg-type]


def test_unprivileged_shape_uses_a_user_namespace(tmp_path: Path) -> None:
    spec = SandboxSpec(argv=["make"], workspace=tmp_path, limits=Limits(max_processes=10))
    argv = build_argv(spec, _inv(nofile_ceiling=100))
    assert "--unshare-user" in argv
    assert "--disable-userns" in argv
    assert "--unshare-net" in argv
    assert "--nofile=100" in argv
    assert not any(arg.startswith("--nproc") for arg in argv[: argv.index("bwrap")])
    assert argv[-4:] == ["/usr/bin/prlimit", "--nproc=10", "--", "make"]


def test_root_shape_drops_to_the_job_uid(tmp_path: Path) -> None:
    spec = SandboxSpec(argv=["make"], workspace=tmp_path, limits=Limits(max_processes=None))
    argv = build_argv(spec, _inv(job_uid=2_000_000_123))
    tail = argv[argv.index("--", argv.index("bwrap")) + 1 :]
    assert tail[:5] == ["/usr/bin/setpriv", "--reuid", "2000000123", "--regid", "2000000123"]
    assert "--bounding-set=-all" in tail
    assert "--no-new-privs" in tail
    assert "--unshare-user" not in argv
    assert tail[-1] == "make"


@pytest.mark.parametrize(("nice", "prefix"), [(0, []), (7, ["nice", "-n", "7"])])
def test_niceness_comes_first_and_can_never_be_lowered_inside(
    tmp_path: Path, nice: int, prefix: list[str]
) -> None:
    spec = SandboxSpec(argv=["make"], workspace=tmp_path, limits=Limits(nice=nice))
    argv = build_argv(spec, _inv(job_uid=2_000_000_123))
    outer = argv[: argv.index("prlimit")]
    assert outer == prefix  # so prlimit, bwrap and the job all inherit it
    assert "--nice=0" in argv[: argv.index("bwrap")]  # RLIMIT_NICE 0: renice -n 0 refused


def test_host_network_keeps_the_network(tmp_path: Path) -> None:
    spec = SandboxSpec(argv=["x"], workspace=tmp_path, network=NetworkPolicy(NetworkMode.HOST))
    assert "--unshare-net" not in build_argv(spec, _inv())


def test_environment_is_validated(tmp_path: Path) -> None:
    for env in ({"A=B": "x"}, {"": "x"}, {"A": "x\x00y"}):
        spec = SandboxSpec(argv=["x"], workspace=tmp_path, env=env)
        with pytest.raises(SandboxError, match="environment variable"):
            build_argv(spec, _inv())
    with pytest.raises(SandboxError, match="command"):
        build_argv(SandboxSpec(argv=[], workspace=tmp_path), _inv())


def test_rootfs_entries_replace_host_system_dirs(tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    for name in ("usr", "etc", "proc", "tmp"):
        (rootfs / name).mkdir(parents=True)
    (rootfs / "bin").symlink_to("usr/bin")
    spec = SandboxSpec(argv=["x"], workspace=tmp_path, rootfs=rootfs)
    argv = build_argv(spec, _inv(rootfs=rootfs, binds=[Path("/opt/tool")]))
    usr = argv.index(str(rootfs / "usr"))
    assert argv[usr - 1 : usr + 2] == ["--ro-bind", str(rootfs / "usr"), "/usr"]
    link = argv.index("usr/bin")
    assert argv[link - 1 : link + 2] == ["--symlink", "usr/bin", "/bin"]
    assert str(rootfs / "proc") not in argv
    assert "/var/tmp" not in argv
    assert "/usr/bin" not in [a for a in argv if a == "/usr"]
    assert "--dir" not in argv  # mount points in a rootfs are the image's business


def test_bind_parents_are_created_traversable(tmp_path: Path) -> None:
    spec = SandboxSpec(argv=["x"], workspace=tmp_path)
    binds = [Path("/root/.pyenv/versions/3.11.7"), Path("/root/.pyenv/other"), Path("/usr/lib/x")]
    argv = build_argv(spec, _inv(binds=binds))
    made = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--dir"]
    # /var first, always: bwrap would make it 0700 as the parent of /var/tmp (a home in /var)
    assert made == ["/var", "/root", "/root/.pyenv", "/root/.pyenv/versions"]
