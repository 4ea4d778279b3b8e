"""Compile a job's seccomp filter (classic BPF) with libseccomp, for ``bwrap --seccomp FD``.

    >>> from bastion.sandbox.seccomp import compile_filter
    >>> program = compile_filter(frozenset())
    >>> len(program) % 8  # struct sock_filter instructions, 8 bytes each
    0

The policy is :mod:`bastion.sandbox.syscalls`; this module only turns it into a program,
through libseccomp (the ``pyseccomp`` ctypes bindings over the system's ``libseccomp.so.2``),
which also emits what is easy to get wrong by hand:

* the architecture check: a call through another ABI (``int 0x80``, the 32-bit one on
  x86_64) kills the process, since its numbers mean other calls; so does an x32 call
  (numbers with bit 30 set), which libseccomp refuses in an x86_64 filter;
* the argument checks: ``clone`` and ``unshare`` only without a namespace flag, ``socket``
  never ``AF_VSOCK``, ``personality`` only harmless values;
* ``clone3`` answers ``ENOSYS``: its flags live in a struct seccomp cannot read, and on
  ``ENOSYS`` libc falls back to ``clone``, whose flags it can.

Everything else not allowed answers ``EPERM``. A program is compiled once per set of relaxed
groups and process (about a millisecond), then reused for every step. When libseccomp is
missing or refuses the policy, :class:`SandboxError` says so and no job runs.
"""

from __future__ import annotations

import errno
import functools
import importlib
import os
import socket
from typing import Any

from bastion.errors import SandboxError
from bastion.sandbox.syscalls import (
    ALLOWED,
    NAMESPACE_FLAGS,
    PERSONALITIES,
    SyscallGroup,
    group_syscalls,
)

__all__ = ["compile_filter"]

_HINT = "install libseccomp (Debian: apt-get install libseccomp2) and pyseccomp (make setup)"
# libseccomp's SCMP_FLTATR_CTL_OPTIMIZE=2: a binary tree over syscall numbers, so a call costs
# about eight comparisons instead of one per allowed call.
_OPTIMIZE_BINARY_TREE = 2
_AF_VSOCK = getattr(socket, "AF_VSOCK", 40)


def compile_filter(relaxed: frozenset[SyscallGroup]) -> bytes:
    """The BPF program for a job given back the ``relaxed`` groups; raises SandboxError."""
    return _compile(frozenset(SyscallGroup(group) for group in relaxed))


@functools.lru_cache(maxsize=8)
def _compile(relaxed: frozenset[SyscallGroup]) -> bytes:
    seccomp = _load_bindings()
    try:
        program = _build(seccomp, relaxed)
        return _export(program)
    except (OSError, ValueError) as exc:
        raise SandboxError(
            f"the seccomp filter could not be built by libseccomp: {exc}", hint=_HINT
        ) from exc


def _load_bindings() -> Any:
    """The pyseccomp module; it loads libseccomp when imported and raises if it cannot."""
    try:
        return importlib.import_module("pyseccomp")
    except (ImportError, RuntimeError, OSError) as exc:
        raise SandboxError(
            f"the seccomp filter cannot be built, so no job may run: {exc}", hint=_HINT
        ) from exc


def _build(seccomp: Any, relaxed: frozenset[SyscallGroup]) -> Any:
    """The libseccomp filter context holding the whole policy."""
    program = seccomp.SyscallFilter(seccomp.ERRNO(errno.EPERM))
    program.set_attr(seccomp.Attr.ACT_BADARCH, seccomp.KILL_PROCESS)
    program.set_attr(seccomp.Attr.CTL_OPTIMIZE, _OPTIMIZE_BINARY_TREE)
    allowed = list(ALLOWED)
    for group in sorted(relaxed):
        allowed += group_syscalls(group)
    for name in allowed:
        # A name this architecture lacks (libseccomp's negative pseudo-number) adds nothing.
        program.add_rule(seccomp.ALLOW, name)
    no_namespace = seccomp.Arg(0, seccomp.MASKED_EQ, NAMESPACE_FLAGS, 0)
    program.add_rule(seccomp.ALLOW, "clone", no_namespace)
    program.add_rule(seccomp.ALLOW, "unshare", no_namespace)
    program.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    program.add_rule(seccomp.ALLOW, "socket", seccomp.Arg(0, seccomp.NE, _AF_VSOCK))
    for persona in PERSONALITIES:
        program.add_rule(seccomp.ALLOW, "personality", seccomp.Arg(0, seccomp.EQ, persona))
    return program


def _export(program: Any) -> bytes:
    """The compiled program's bytes (libseccomp writes them to a descriptor)."""
    fd = os.memfd_create("bastion-seccomp", os.MFD_CLOEXEC)
    try:
        with os.fdopen(os.dup(fd), "wb") as handle:
            program.export_bpf(handle)
        size = os.lseek(fd, 0, os.SEEK_END)
        return os.pread(fd, size, 0)
    finally:
        os.close(fd)
