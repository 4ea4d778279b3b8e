"""The exact command line that runs one spec under bubblewrap (a pure function of its inputs).

Two shapes, chosen by who runs Bastion:

* **as root** (CI machines): ``prlimit LIMITS -- bwrap NAMESPACES MOUNTS -- setpriv
  --reuid JOB_UID ... -- [forwarder] ARGV``. bwrap runs privileged, so it can bind tool
  directories root can reach (``/root/.pyenv/...``) but no user namespace: a user namespace
  created by root maps the job to host root, which keeps ``/etc/shadow`` readable (NOTES.md).
  ``setpriv`` then drops to the job's own unprivileged host uid with no capabilities, empty
  bounding set and ``no_new_privs`` before the job's first instruction. Limits are set on
  the outer process; root ignores ``RLIMIT_NPROC`` but the job uid inherits and obeys it,
  and the uid is the job's alone, so the count is exactly the job's processes.
* **as a user** (a developer's laptop): ``prlimit LIMITS -- bwrap --unshare-user ... --
  prlimit --nproc=N -- [forwarder] ARGV``. ``RLIMIT_NPROC`` is set inside the new user
  namespace, where the kernel (>= 5.14) counts only that namespace's processes; set outside
  it would count every process the user runs.

Both shapes load the same seccomp filter (``--seccomp FD``, see ``seccomp.py``). It is what
keeps a root-run job from making user namespaces: ``--disable-userns`` needs bwrap's own
``--unshare-user``, which the root shape cannot have (setpriv could not then switch to a job
uid that namespace does not map), so there the filter's ``clone``/``unshare`` rule does it.

Memory is bounded with ``RLIMIT_DATA`` rather than ``RLIMIT_AS``: it counts memory a job can
write, not address space it merely reserves, which JVMs, Go and WebAssembly runtimes reserve
by the gigabyte. ``/tmp`` is a tmpfs capped at the same size so it cannot eat host memory.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from bastion.errors import SandboxError
from bastion.sandbox.interface import Limits, NetworkMode, SandboxSpec
from bastion.sandbox.paths import HiddenEntry, resolve_working_directory

__all__ = [
    "DEFAULT_PATH",
    "EGRESS_SOCKET",
    "FILES_DIR",
    "PROXY_LISTEN",
    "SOURCE_MOUNT",
    "Command",
    "Invocation",
    "build_argv",
    "build_command",
    "find_in_root",
    "limits_prefix",
]

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
FILES_DIR = PurePosixPath("/run/bastion")
EGRESS_SOCKET = FILES_DIR / "egress.sock"
PROXY_LISTEN = "127.0.0.1:3128"
SOURCE_MOUNT = PurePosixPath("/workspace/source")
_HOST_SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32", "/etc")
# Entries of a job's rootfs the sandbox provides itself.
_ROOTFS_SKIP = frozenset({"proc", "dev", "sys", "tmp", "run", "workspace"})
_DEFAULT_TMP_BYTES = 1024**3
_SANDBOX_TMP = "/tmp"  # noqa: S108 - a private tmpfs inside the sandbox, not the host's


@dataclass(frozen=True, slots=True)
class Invocation:
    """Everything besides the spec that shapes the command line."""

    bwrap: str
    prlimit: str
    status_fd: int
    file_fds: Mapping[str, int]
    binds: Sequence[Path]
    hidden: Sequence[HiddenEntry]
    # The compiled seccomp program (bastion.sandbox.seccomp), read by bwrap: required, so
    # no command can be built for a job without a filter.
    seccomp_fd: int
    job_uid: int | None = None
    inner_setpriv: str = "/usr/bin/setpriv"
    inner_prlimit: str = "/usr/bin/prlimit"
    forwarder: Sequence[str] = ()
    rootfs: Path | None = None
    nofile_ceiling: int | None = None
    source: Path | None = None
    # bwrap's ``--block-fd``: the sandbox's init waits on it (set up, but before the seccomp
    # filter and the inner command) until Bastion has put bwrap and it in the job's cgroup.
    block_fd: int | None = None


def find_in_root(root: Path | None, names: Sequence[str]) -> str | None:
    """The first of ``names`` (absolute paths inside the sandbox) present under ``root``."""
    base = root or Path("/")
    for name in names:
        if os.access(base / name.lstrip("/"), os.X_OK):
            return name
    return None


def limits_prefix(
    limits: Limits, *, prlimit: str = "prlimit", nofile: int | None = None, nproc: int | None
) -> list[str]:
    """``[nice -n N] prlimit ... --``: the niceness and rlimits of a whole process tree.

    ``nofile`` overrides the limit's open-file count (capped by a ceiling); ``nproc`` is
    given only where ``RLIMIT_NPROC`` can be set here (it counts per uid).
    """
    # nice(1) first: everything after it, down to the job, inherits the niceness.
    args = ["nice", "-n", str(limits.nice)] if limits.nice else []
    # --nice=0: no process inside may lower its niceness, whatever limit Bastion inherited.
    nofile = limits.max_open_files if nofile is None else nofile
    args += [prlimit, "--core=0", "--nice=0", f"--nofile={nofile}"]
    if limits.memory_bytes is not None:
        args.append(f"--data={limits.memory_bytes}")
    if limits.max_file_bytes is not None:
        args.append(f"--fsize={limits.max_file_bytes}")
    if nproc is not None:
        args.append(f"--nproc={nproc}")
    return [*args, "--"]


def _outer_limits(limits: Limits, inv: Invocation) -> list[str]:
    nofile = limits.max_open_files
    if inv.nofile_ceiling is not None:
        nofile = min(nofile, inv.nofile_ceiling)
    nproc = None
    if inv.job_uid is not None and limits.max_processes is not None:
        nproc = limits.max_processes + (1 if inv.forwarder else 0)
    return limits_prefix(limits, prlimit=inv.prlimit, nofile=nofile, nproc=nproc)


def _namespaces(spec: SandboxSpec, inv: Invocation) -> list[str]:
    args = ["--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try"]
    if spec.network.mode is not NetworkMode.HOST:
        args.append("--unshare-net")
    if inv.job_uid is None:
        # A user namespace owned by the user; no nested ones for the job.
        args += ["--unshare-user", "--disable-userns"]
    else:
        # Only what setpriv needs to drop to the job uid; it then drops these too.
        args += ["--cap-drop", "ALL"]
        args += [
            arg for cap in ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP") for arg in ("--cap-add", cap)
        ]
    # No --new-session: the caller starts bwrap in a session of its own, so no process of the
    # job has a controlling terminal to inject keystrokes into (TIOCSTI), and bwrap's extra
    # setsid doubled the wall time of a step here.
    return [*args, "--hostname", "bastion", "--die-with-parent"]


def _system_mounts(inv: Invocation) -> list[str]:
    args: list[str] = []
    if inv.rootfs is not None:
        entries = sorted(inv.rootfs.iterdir())
        sources = [(entry, f"/{entry.name}") for entry in entries if entry.name not in _ROOTFS_SKIP]
    else:
        sources = [(Path(name), name) for name in _HOST_SYSTEM]
    for source, dest in sources:
        if source.is_symlink():
            args += ["--symlink", os.readlink(source), dest]
        elif source.is_dir():
            args += ["--ro-bind", str(source), dest]
    return args


def _hide(inv: Invocation) -> list[str]:
    """Cover secrets; mounted after every bind, so binding ``/etc/ssl`` keeps ``private`` hidden."""
    args: list[str] = []
    for hidden in inv.hidden:
        if hidden.is_dir:
            args += ["--tmpfs", str(hidden.path), "--remount-ro", str(hidden.path)]
        else:
            args += ["--ro-bind", "/dev/null", str(hidden.path)]
    return args


def _covered(path: Path, inv: Invocation) -> bool:
    """Whether ``path`` already exists in the sandbox through a system mount."""
    if inv.rootfs is not None:
        return True  # bwrap reports a missing mount point in a rootfs itself
    return any(path == Path(top) or Path(top) in path.parents for top in _HOST_SYSTEM)


def _bind_mounts(inv: Invocation) -> list[str]:
    args: list[str] = []
    made: set[Path] = set()
    for bind in inv.binds:
        for parent in reversed(bind.parents):
            if parent == Path("/") or parent in made or _covered(parent, inv):
                continue
            # bwrap would create it 0700 for root; the job must traverse it.
            args += ["--perms", "0755", "--dir", str(parent)]
            made.add(parent)
        args += ["--ro-bind", str(bind), str(bind)]
    return args


def _scratch_mounts(spec: SandboxSpec, inv: Invocation) -> list[str]:
    tmp_size = spec.limits.memory_bytes or _DEFAULT_TMP_BYTES
    args = ["--proc", "/proc", "--dev", "/dev"]
    args += ["--perms", "1777", "--size", str(tmp_size), "--tmpfs", _SANDBOX_TMP]
    if inv.rootfs is None:
        # /var made first and traversable: bwrap would make it 0700 for root as the symlink's
        # parent, and a bind under it (a BASTION_HOME in /var/lib/bastion) would be unreachable.
        args += ["--perms", "0755", "--dir", "/var"]
        args += ["--symlink", "../tmp", f"/var{_SANDBOX_TMP}"]
    needs_run_dir = bool(inv.file_fds) or spec.network.mode is NetworkMode.PROXY
    if needs_run_dir:
        size = sum(len(data) for data in spec.files.values()) + 1024**2
        args += ["--perms", "0755", "--size", str(size), "--tmpfs", str(FILES_DIR)]
    # Root-made files are root's: 0444 there is what 0400 is for the job's own uid.
    perms = "0400" if inv.job_uid is None else "0444"
    for name, fd in sorted(inv.file_fds.items()):
        args += ["--perms", perms, "--ro-bind-data", str(fd), str(FILES_DIR / name)]
    if spec.network.mode is NetworkMode.PROXY:
        if spec.network.proxy_socket is None:
            raise SandboxError("network mode proxy needs the egress proxy's socket path")
        args += ["--bind", str(spec.network.proxy_socket), str(EGRESS_SOCKET)]
    args += ["--bind", str(spec.workspace), "/workspace"]
    if inv.source is not None:
        args += ["--ro-bind", str(inv.source), str(SOURCE_MOUNT)]
    return args


def _environment(spec: SandboxSpec) -> list[str]:
    env = {"PATH": DEFAULT_PATH, "HOME": _SANDBOX_TMP, **spec.env}
    if spec.network.mode is NetworkMode.PROXY:
        proxy = f"http://{PROXY_LISTEN}"
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
            env[name] = proxy
        env["NO_PROXY"] = env["no_proxy"] = "localhost,127.0.0.1"
    args = ["--clearenv"]
    for key, value in env.items():
        if not key or "=" in key or "\x00" in key or "\x00" in value:
            raise SandboxError(f"environment variable {key!r} has an invalid name or value")
        args += ["--setenv", key, value]
    return args


def _inner(spec: SandboxSpec, inv: Invocation) -> list[str]:
    if inv.job_uid is not None:
        uid = str(inv.job_uid)
        wrapper = [inv.inner_setpriv, "--reuid", uid, "--regid", uid, "--clear-groups"]
        wrapper += ["--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
    elif spec.limits.max_processes is not None:
        nproc = spec.limits.max_processes + (1 if inv.forwarder else 0)
        wrapper = [inv.inner_prlimit, f"--nproc={nproc}", "--"]
    else:
        wrapper = []
    return [*wrapper, *inv.forwarder, *spec.argv]


@dataclass(frozen=True, slots=True)
class Command:
    """The command in three parts.

    ``options`` go to bwrap through ``--args FD``, never on its command line: they hold the
    job's environment values, and any host user can read a process's command line.
    """

    outer: list[str]
    bwrap: str
    options: list[str]
    inner: list[str]

    def argv(self, args_fd: int) -> list[str]:
        """The argv to execute, with the options read from ``args_fd``."""
        return [*self.outer, self.bwrap, "--args", str(args_fd), "--", *self.inner]

    def options_blob(self) -> bytes:
        """The options NUL-separated, as ``bwrap --args`` reads them."""
        return b"".join(os.fsencode(option) + b"\x00" for option in self.options)


def build_command(spec: SandboxSpec, inv: Invocation) -> Command:
    """The command (outer prlimit, bwrap options, inner wrapper) that runs ``spec``."""
    if not spec.argv:
        raise SandboxError("a sandboxed step needs a command to run")
    chdir = resolve_working_directory(spec.working_directory)
    options = [
        *_namespaces(spec, inv),
        *_system_mounts(inv),
        # Scratch (/tmp, /proc, /dev, /workspace) first, so that a declared bind under /tmp
        # (a BASTION_HOME in a temporary directory, say) is not covered by the fresh tmpfs.
        *_scratch_mounts(spec, inv),
        *_bind_mounts(inv),
        *_hide(inv),
        *_environment(spec),
        "--chdir",
        str(chdir),
        # bwrap's own report: the child's pid at once, and the exit code only once it set up
        # the sandbox and ran the inner command (the job cannot write to this descriptor).
        "--json-status-fd",
        str(inv.status_fd),
        # Loaded by bwrap just before it executes the inner command, so the filter covers
        # setpriv or prlimit, the forwarder and every process of the job.
        "--seccomp",
        str(inv.seccomp_fd),
    ]
    if inv.block_fd is not None:
        options += ["--block-fd", str(inv.block_fd)]
    return Command(_outer_limits(spec.limits, inv), inv.bwrap, options, _inner(spec, inv))


def build_argv(spec: SandboxSpec, inv: Invocation) -> list[str]:
    """The same command as one flat argv with the options inline (for reading and tests)."""
    command = build_command(spec, inv)
    return [*command.outer, command.bwrap, *command.options, "--", *command.inner]
