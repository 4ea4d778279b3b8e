"""The bubblewrap sandbox: one step in fresh namespaces, as an unprivileged user.

What a job gets (see ``invocation.py`` for the exact command and why it is shaped so):

* its workspace read-write at ``/workspace`` (and, for a gate, the scanned tree read-only at
  ``/workspace/source`` with ``.git`` and the like covered, rather than a copy); the host's
  ``/usr``, ``/bin``, ``/sbin``, ``/lib*`` and ``/etc`` read-only (or the ``rootfs`` it
  names) with every ``/etc`` entry other users cannot read hidden; declared tool
  directories read-only one by one; never ``/root``, ``/home``, ``/var``, the state
  directory or a key store;
* new PID, IPC, UTS, cgroup and network namespaces (loopback only, or the egress proxy
  through :mod:`bastion.sandbox.forwarder`; the host network only when spelled out, and then
  logged as a warning on every run);
* an unprivileged uid with no capabilities: its own host uid from :class:`JobUidPool` when
  Bastion runs as root, the user's own uid in a user namespace otherwise;
* a seccomp filter (:mod:`bastion.sandbox.syscalls`): an allow-list answering ``EPERM``
  to the rest, no new namespaces, no 32-bit ABI; relaxed only by ``Limits.syscalls``;
* a cleared environment with only what the spec declares plus ``PATH`` and ``HOME=/tmp``;
* rlimits, and a timeout or cancel that kill the whole tree: SIGKILL to the namespace's init
  (the kernel then kills every process in it, setsid'd or not) and to bwrap itself, after
  which ``run`` waits until the init is gone.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import resource
import select
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path, PurePosixPath

from bastion.errors import SandboxError
from bastion.sandbox.availability import check_sandbox_available, find_bwrap
from bastion.sandbox.cgroup import (
    REQUIRE_ENV,
    JobCgroup,
    create_job_cgroup,
    job_limits_required,
)
from bastion.sandbox.interface import NetworkMode, OutputSink, SandboxResult, SandboxSpec
from bastion.sandbox.invocation import (
    EGRESS_SOCKET,
    PROXY_LISTEN,
    SOURCE_MOUNT,
    Invocation,
    build_command,
    find_in_root,
)
from bastion.sandbox.paths import HiddenEntry, check_bind, hidden_etc_entries
from bastion.sandbox.runtime import bastion_runtime_binds, forwarder_command
from bastion.sandbox.seccomp import compile_filter
from bastion.sandbox.supervise import Outcome, supervise
from bastion.sandbox.uids import JobUidPool
from bastion.sandbox.workspace import grant_workspace

__all__ = ["BubblewrapSandbox"]

logger = logging.getLogger("bastion.sandbox")

# The inner wrapper's own complaints: it runs after bwrap's marker, just before the job.
_INNER_PREFIXES = (b"setpriv: ", b"prlimit: ")
_EXEC_FAILED = b"bwrap: execvp "
_REAP_SECONDS = 5.0
_HEAD_BYTES = 4096
# bwrap reports its init's pid right after cloning it: waiting longer means it is stuck.
_ADMIT_SECONDS = 10.0


class _Status:
    """Reads bwrap's ``--json-status-fd`` lines; holds a pidfd on the namespace's init.

    bwrap writes ``{"child-pid": N, ...}`` as soon as it has cloned the sandbox's init, and
    ``{"exit-code": N}`` only if it then finished setting the sandbox up and executed the
    inner command: that second line is the marker that the job's own program started. The
    descriptor is bwrap's alone (it closes it in the sandbox), so a job can neither write
    the marker nor hide it.
    """

    def __init__(self) -> None:
        self._buffer = b""
        self.pidfd: int | None = None
        self.child_pid: int | None = None
        self.started = False

    def feed(self, chunk: bytes) -> None:
        self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            try:
                report = json.loads(line)
            except ValueError:
                continue  # bwrap writes only JSON lines; anything else is not a report
            if not isinstance(report, dict):
                continue
            if "exit-code" in report:
                self.started = True
            if "child-pid" in report and self.child_pid is None:
                self.child_pid = int(report["child-pid"])
                with contextlib.suppress(ProcessLookupError):
                    self.pidfd = os.pidfd_open(self.child_pid)

    def kill(self) -> None:
        """SIGKILL the namespace's init: the kernel then kills every process inside."""
        if self.pidfd is not None:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)

    def wait_gone(self) -> bool:
        """Whether the init (hence every process of the namespace) has exited."""
        if self.pidfd is None:
            return True
        ready, _, _ = select.select([self.pidfd], [], [], _REAP_SECONDS)
        return bool(ready)

    def close(self) -> None:
        if self.pidfd is not None:
            os.close(self.pidfd)


class _Head:
    """Passes output on while keeping its first bytes, to spot a sandbox setup failure."""

    def __init__(self, sink: OutputSink) -> None:
        self._sink = sink
        self.data = b""

    def __call__(self, chunk: bytes) -> None:
        if len(self.data) < _HEAD_BYTES:
            self.data += chunk[: _HEAD_BYTES - len(self.data)]
        self._sink(chunk)


def _file_fds(files: Mapping[str, bytes]) -> dict[str, int]:
    """One memfd per file: the data reaches bwrap without touching a disk."""
    fds: dict[str, int] = {}
    try:
        for name, data in files.items():
            path = PurePosixPath(name)
            bad = path.is_absolute() or any(p in ("", "..") for p in name.split("/"))
            if bad or "\x00" in name or PurePosixPath("/run/bastion", path) == EGRESS_SOCKET:
                raise SandboxError(f"sandbox file name {name!r} must be a plain relative path")
            fds[name] = _memfd(data)
    except BaseException:
        for fd in fds.values():
            os.close(fd)
        raise
    return fds


def _memfd(data: bytes) -> int:
    """An anonymous in-memory file holding ``data``, positioned at its start."""
    fd = os.memfd_create("bastion-sandbox", os.MFD_CLOEXEC)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _source_hidden(source: Path, relatives: Sequence[str]) -> list[HiddenEntry]:
    """Where to cover ``relatives`` inside the sandbox; refuses any path a link could redirect.

    bwrap resolves a mount point inside the new root, following links: a covered ``.git``
    that were a link to ``/workspace`` would hide the workspace instead. So each path must
    exist, lie inside ``source`` and have no link anywhere on its way.
    """
    entries: list[HiddenEntry] = []
    for relative in relatives:
        path = PurePosixPath(relative)
        if path.is_absolute() or not path.parts or ".." in path.parts or "\x00" in relative:
            raise SandboxError(f"hidden source path {relative!r} must be relative to the source")
        host = source.joinpath(*path.parts)
        if os.path.realpath(host) != str(host) or not os.path.lexists(host):
            raise SandboxError(
                f"cannot hide {relative!r} of {source}: it is missing or reached through a link"
            )
        entries.append(HiddenEntry(Path(SOURCE_MOUNT, *path.parts), host.is_dir()))
    return entries


class BubblewrapSandbox:
    """Runs each :class:`SandboxSpec` under bubblewrap; implements ``Sandbox``.

    ``state_dir`` and ``denied_paths`` are host paths no bind may expose (the engine passes
    Bastion's state directory and key locations). ``uid_pool`` hands out job uids when
    running as root.
    """

    shows_read_only_source = True
    """It honours ``SandboxSpec.read_only_source`` (see the interface)."""

    def __init__(
        self,
        *,
        state_dir: Path | None = None,
        denied_paths: Sequence[Path] = (),
        bwrap: str | None = None,
        uid_pool: JobUidPool | None = None,
    ) -> None:
        self._denied = tuple(denied_paths) + ((state_dir,) if state_dir else ())
        self._bwrap = bwrap
        self._uid_pool = uid_pool or JobUidPool()
        self._said_per_process = False

    def run(
        self,
        spec: SandboxSpec,
        on_output: OutputSink,
        cancel: Callable[[], bool] | None = None,
    ) -> SandboxResult:
        """Run ``spec`` to completion; see :class:`bastion.sandbox.interface.Sandbox`."""
        check_sandbox_available(self._bwrap)
        if spec.network.mode is NetworkMode.HOST:
            logger.warning(
                "SANDBOX NETWORK IS THE HOST'S: %s runs with full network access as declared",
                spec.argv[0] if spec.argv else "<nothing>",
            )
        with contextlib.ExitStack() as stack:
            try:
                job_uid = stack.enter_context(self._job_uid())
                inv = self._invocation(spec, job_uid, stack)
                if job_uid is not None:
                    grant_workspace(spec.workspace, job_uid, job_uid, keep=spec.sealed_paths)
            except OSError as exc:
                raise SandboxError(
                    f"could not prepare the sandbox for {spec.workspace}: {exc}"
                ) from exc
            # Entered after the uid: removed (everything in it killed) before it is released.
            cgroup = self._job_cgroup(spec, stack)
            return self._start(spec, inv, on_output, cancel, cgroup)

    def _job_cgroup(self, spec: SandboxSpec, stack: contextlib.ExitStack) -> JobCgroup | None:
        """The job's own cgroup (job-wide memory and process limits), removed with the sandbox.

        None where none can be made: the limits are then per process, which is said once per
        sandbox, and refused under ``BASTION_REQUIRE_JOB_LIMITS=1``.
        """
        cgroup, why = create_job_cgroup(spec.limits)
        if cgroup is not None:
            stack.callback(cgroup.remove)
            return cgroup
        if job_limits_required():
            raise SandboxError(
                f"job-wide memory and process limits are required ({REQUIRE_ENV}=1) but {why}",
                hint="run Bastion as root or in a cgroup that delegates memory and pids, "
                f"or unset {REQUIRE_ENV} to accept per-process limits",
            )
        if not self._said_per_process:
            self._said_per_process = True
            logger.warning("limits are per process, not per job: %s", why)
        return None

    @contextlib.contextmanager
    def _job_uid(self) -> Iterator[int | None]:
        if os.geteuid() != 0:
            yield None
            return
        with self._uid_pool.acquire() as uid:
            yield uid

    def _invocation(
        self, spec: SandboxSpec, job_uid: int | None, stack: contextlib.ExitStack
    ) -> Invocation:
        if not spec.workspace.is_dir():
            raise SandboxError(f"workspace {spec.workspace} is not a directory")
        check_bind(spec.workspace, denied=self._denied, what="workspace", allow_inside_denied=True)
        rootfs = None
        if spec.rootfs is not None:
            rootfs = check_bind(spec.rootfs, denied=self._denied, what="rootfs")
        binds = [check_bind(p, denied=self._denied, what="bind") for p in spec.read_only_binds]
        forwarder: list[str] = []
        if spec.network.mode is NetworkMode.PROXY:
            if rootfs is not None:
                raise SandboxError(
                    "network mode proxy with a custom rootfs is not supported: the forwarder "
                    "needs the host's Python",
                    hint="use the host system directories or network: none",
                )
            binds += [b for b in bastion_runtime_binds() if b not in binds]
            forwarder = forwarder_command(str(EGRESS_SOCKET), PROXY_LISTEN)
        source = None
        hidden = [] if rootfs else list(hidden_etc_entries())
        if spec.hidden_source_paths and spec.read_only_source is None:
            raise SandboxError("hidden_source_paths without a read_only_source hide nothing")
        if spec.read_only_source is not None:
            source = check_bind(spec.read_only_source, denied=self._denied, what="source")
            hidden += _source_hidden(source, spec.hidden_source_paths)
        inner = self._inner_tool(rootfs, job_uid)
        file_fds = _file_fds(spec.files)
        for fd in file_fds.values():
            stack.callback(os.close, fd)
        # Compiled (or refused, raising) before anything starts: no filter, no job.
        seccomp_fd = _memfd(compile_filter(spec.limits.syscalls))
        stack.callback(os.close, seccomp_fd)
        return Invocation(
            bwrap=find_bwrap(self._bwrap),
            prlimit="prlimit",
            status_fd=-1,
            file_fds=file_fds,
            binds=binds,
            hidden=hidden,
            seccomp_fd=seccomp_fd,
            job_uid=job_uid,
            inner_setpriv=inner,
            inner_prlimit=inner,
            forwarder=forwarder,
            rootfs=rootfs,
            nofile_ceiling=None if job_uid is not None else _hard_nofile(),
            source=source,
        )

    @staticmethod
    def _inner_tool(rootfs: Path | None, job_uid: int | None) -> str:
        name = "setpriv" if job_uid is not None else "prlimit"
        found = find_in_root(rootfs, [f"/usr/bin/{name}", f"/bin/{name}", f"/usr/sbin/{name}"])
        if found is None:
            raise SandboxError(
                f"{name} (util-linux) is missing from {rootfs or 'the host'}; the sandbox "
                "needs it to drop privileges and set limits",
                hint="install util-linux in that root filesystem",
            )
        return found

    def _start(
        self,
        spec: SandboxSpec,
        inv: Invocation,
        on_output: OutputSink,
        cancel: Callable[[], bool] | None,
        cgroup: JobCgroup | None,
    ) -> SandboxResult:
        status_read, status_write = os.pipe2(os.O_CLOEXEC)
        # With a cgroup, bwrap's init waits on this pipe until it and bwrap are inside: no
        # process of the job ever runs outside it (see cgroup.py).
        block_read, block_write = os.pipe2(os.O_CLOEXEC) if cgroup is not None else (-1, -1)
        block_fd = block_read if cgroup is not None else None
        try:
            process = _spawn(spec, replace(inv, status_fd=status_write, block_fd=block_fd))
        except BaseException:
            os.close(status_read)
            if cgroup is not None:
                os.close(block_write)
            raise
        finally:
            os.close(status_write)
            if cgroup is not None:
                os.close(block_read)
        status = _Status()
        head = _Head(on_output)

        def kill_tree() -> None:
            status.kill()
            if process.returncode is None:  # once reaped, its pid may belong to another
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
            if cgroup is not None:
                cgroup.kill_all()  # whatever escaped the namespace or the session

        assert process.stdout is not None  # noqa: S101 - stdout=PIPE guarantees it
        try:
            with process, contextlib.closing(status):
                if cgroup is not None:
                    _admit(process, status, status_read, cgroup, block_write, kill_tree)
                outcome = supervise(
                    process,
                    {process.stdout.fileno(): head, status_read: status.feed},
                    timeout_seconds=spec.limits.timeout_seconds,
                    cancel=cancel,
                    kill_tree=kill_tree,
                )
                if not status.wait_gone():
                    raise SandboxError("the sandbox's processes did not die after SIGKILL")
        finally:
            os.close(status_read)
        if cgroup is None:
            return _result(outcome, head.data, started=status.started)
        limit = cgroup.memory_limit_reason()
        try:
            result = _result(outcome, head.data, started=status.started)
        except SandboxError:
            if limit is None:
                raise
            # The kernel's OOM killer may pick bwrap itself, which then never writes its
            # marker: still the job's own failure (it reached its limit), not a set-up error.
            result = SandboxResult(
                outcome.exit_code, outcome.duration_seconds, signal=outcome.signal
            )
        return replace(result, limit_reached=limit, job_wide_limits=True)


def _admit(
    process: subprocess.Popen[bytes],
    status: _Status,
    status_read: int,
    cgroup: JobCgroup,
    block_write: int,
    kill_tree: Callable[[], None],
) -> None:
    """Put bwrap and its waiting init in ``cgroup``, then release the init; closes the pipe.

    Reads bwrap's status until it names the init's pid (feeding ``status`` as ``supervise``
    would). If bwrap exits before cloning it, there is nothing to admit: supervision then
    reports the set-up failure. If the pids cannot be moved, the tree is killed before the
    pipe is closed, so the init never runs the job outside the cgroup.
    """
    try:
        deadline = time.monotonic() + _ADMIT_SECONDS
        while status.child_pid is None:
            ready, _, _ = select.select(
                [status_read], [], [], max(0.0, deadline - time.monotonic())
            )
            if not ready:
                raise SandboxError("bubblewrap did not start the sandbox's init in time")
            chunk = os.read(status_read, _HEAD_BYTES)
            if not chunk:
                return  # bwrap is gone before cloning: no init waits
            status.feed(chunk)
        try:
            cgroup.admit((process.pid, status.child_pid))
        except ProcessLookupError:
            # bwrap or its init died during set-up (a bind source missing, say) before the
            # pids could be moved: no job can run, and bwrap's own message says why. Kill
            # whatever is left and let supervision report the set-up failure.
            kill_tree()
            return
        except OSError as exc:
            raise SandboxError(f"cannot put the job in its cgroup {cgroup.memory}: {exc}") from exc
    except BaseException:
        kill_tree()
        raise
    finally:
        os.close(block_write)  # releases the init: after the admission, or after the kill


def _spawn(spec: SandboxSpec, inv: Invocation) -> subprocess.Popen[bytes]:
    """Start prlimit/bwrap in a new session; bwrap's options travel in a memfd."""
    command = build_command(spec, inv)
    args_fd = _memfd(command.options_blob())
    try:
        return subprocess.Popen(
            command.argv(args_fd),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            pass_fds=(inv.status_fd, args_fd, inv.seccomp_fd, *_block(inv), *inv.file_fds.values()),
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        )
    except OSError as exc:
        raise SandboxError(f"bubblewrap could not be started: {exc}") from exc
    finally:
        os.close(args_fd)


def _block(inv: Invocation) -> tuple[int, ...]:
    return () if inv.block_fd is None else (inv.block_fd,)


def _hard_nofile() -> int | None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return None if hard == resource.RLIM_INFINITY else hard


def _result(outcome: Outcome, head: bytes, *, started: bool) -> SandboxResult:
    """The job's result; a job killed by signal N inside reports 128+N, as in a shell.

    Without bwrap's marker (``started``) the job never ran: a set-up failure, whatever was
    printed, except bwrap's own "execvp" complaint, a missing command (127, as in a shell).
    With it, the exit code is the job's, ``bwrap:`` lines or not; only the inner wrapper
    (setpriv or prlimit, which runs after the marker) is still told by its prefix.
    """
    exit_code = outcome.exit_code
    if not (outcome.timed_out or outcome.cancelled):
        if not started and head.startswith(_EXEC_FAILED):
            exit_code = 127  # bwrap's message: the job was never executed, so not its own
        elif not started:
            raise SandboxError(f"the sandbox could not be set up: {_first_line(head, exit_code)}")
        elif exit_code == 1 and head.startswith(_INNER_PREFIXES):
            # A job could print this itself and exit 1; it then only fails harder (exit 3).
            raise SandboxError(f"the sandbox could not be set up: {_first_line(head, exit_code)}")
    return SandboxResult(
        exit_code=exit_code,
        duration_seconds=outcome.duration_seconds,
        timed_out=outcome.timed_out,
        cancelled=outcome.cancelled,
        signal=outcome.signal,
    )


def _first_line(head: bytes, exit_code: int) -> str:
    lines = head.decode(errors="replace").strip().splitlines()
    return lines[0] if lines else f"bubblewrap exited with {exit_code} and printed nothing"
