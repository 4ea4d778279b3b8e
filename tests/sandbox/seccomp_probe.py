"""Makes raw system calls and reports what came of them; run by the seccomp tests.

Run as a script by the host's ``/usr/bin/python3`` (inside a sandbox it cannot import
Bastion), so it uses only the standard library:

    python3 seccomp_probe.py calls FILTER_OR_DASH '[["name", nr, [args...]], ...]'
        prints {"name": errno, ...} (0: the call succeeded)
    python3 seccomp_probe.py abi FILTER_OR_DASH i386|x32
        makes getpid through that ABI and prints "survived"; a filter kills it (SIGSYS)

With a FILTER path (a compiled BPF program) it loads that filter itself first, as bwrap does,
so the filter can be tested apart from the sandbox, here with root's capabilities.
"""

from __future__ import annotations

import ctypes
import json
import mmap
import sys

_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_X32_GETPID = 0x40000000 | 39
# mov eax, 20 (i386 getpid); int 0x80; ret
_I386_GETPID = bytes([0xB8, 20, 0, 0, 0, 0xCD, 0x80, 0xC3])

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


class _Filter(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


def _load(path: str) -> None:
    if path == "-":
        return
    with open(path, "rb") as handle:
        program = handle.read()
    buffer = ctypes.create_string_buffer(program)
    prog = _Filter(len(program) // 8, ctypes.addressof(buffer))
    if _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS")
    if _libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "PR_SET_SECCOMP")


def _call(number: int, args: list[int]) -> int:
    ctypes.set_errno(0)
    values = [ctypes.c_long(arg) for arg in args]
    result = _libc.syscall(ctypes.c_long(number), *values)
    return ctypes.get_errno() if result == -1 else 0


def _i386_getpid() -> None:
    page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    page.write(_I386_GETPID)
    address = ctypes.addressof(ctypes.c_char.from_buffer(page))
    ctypes.CFUNCTYPE(ctypes.c_int)(address)()


def main(argv: list[str]) -> int:
    """Entry point; see the module docstring."""
    mode, filter_path, what = argv
    _load(filter_path)
    if mode == "calls":
        report = {name: _call(number, args) for name, number, args in json.loads(what)}
        print(json.dumps(report))
        return 0
    if what == "i386":
        _i386_getpid()
    else:
        _call(_X32_GETPID, [])
    print("survived")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
